#include "lib/tasks/mwg.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ctrnn {

std::vector<MwgTrial> MwgTrainingTrials() {
  std::vector<MwgTrial> trials;
  for (int interval : {12, 14, 16, 18}) {
    for (int t_measure = 10; t_measure < 20; ++t_measure) trials.push_back({interval, t_measure});
  }
  return trials;
}

std::vector<MwgTrial> MwgExtrapolationTrials() {
  std::vector<MwgTrial> trials;
  for (int interval = 4; interval <= 26; interval += 2) trials.push_back({interval, 15});
  return trials;
}

Batch MakeMwgBatch(const std::vector<MwgTrial>& trials, const MwgOptions& options) {
  const int t_count = options.num_bins;
  const auto b = static_cast<Eigen::Index>(trials.size());
  if (b == 0) throw std::invalid_argument("MakeMwgBatch: no trials");
  Batch batch;
  batch.bin_edges.resize(static_cast<size_t>(t_count) + 1);
  for (int k = 0; k <= t_count; ++k) batch.bin_edges[k] = k * options.bin_width;
  batch.inputs.assign(t_count, Eigen::MatrixXd::Zero(3, b));
  batch.targets.assign(t_count, Eigen::MatrixXd::Zero(1, b));
  batch.mask.assign(t_count, Eigen::MatrixXd::Ones(1, b));
  for (Eigen::Index j = 0; j < b; ++j) {
    const MwgTrial& tr = trials[static_cast<size_t>(j)];
    const int t_set = tr.t_measure + tr.interval;
    const int t_go = t_set + options.delay;
    if (tr.interval < 1 || tr.t_measure < 0 || t_go >= t_count) {
      throw std::invalid_argument("MakeMwgBatch: trial " + std::to_string(j) + " (interval " +
                                  std::to_string(tr.interval) + ", t_measure " +
                                  std::to_string(tr.t_measure) + ") does not fit in " +
                                  std::to_string(t_count) + " bins");
    }
    batch.inputs[tr.t_measure](0, j) = options.amplitude;
    batch.inputs[t_set](1, j) = options.amplitude;
    batch.inputs[t_go](2, j) = options.amplitude;
    for (int t = 0; t < t_count; ++t) {
      const double ramp = static_cast<double>(t - t_go) / tr.interval;
      batch.targets[t](0, j) = -0.5 + std::clamp(ramp, 0.0, 1.0);
    }
  }
  return batch;
}

Batch MwgBatchFromConfig(Config* task) {
  const std::string set = task->GetString("set", "train", {"train", "extrapolation"});
  MwgOptions o;
  o.num_bins = static_cast<int>(task->GetInt("num_bins", 110, 1, 1000000));
  o.amplitude = task->GetDouble("amplitude", 10.0, -1e6, 1e6);
  o.delay = static_cast<int>(task->GetInt("delay", 15, 0, 1000000));
  o.bin_width = task->GetDouble("bin_width", 1.0, 1e-9, 1e9);
  return MakeMwgBatch(set == "train" ? MwgTrainingTrials() : MwgExtrapolationTrials(), o);
}

}  // namespace ctrnn
