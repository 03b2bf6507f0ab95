#include "lib/tasks/eft.h"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ctrnn {
namespace {

EftOptions EftOptionsFromConfig(Config* task_config) {
  Config& c = *task_config;
  EftOptions o;
  o.seq_len = static_cast<int>(c.GetInt("seq_len", 25, 1, 1000000));
  o.bound = static_cast<int>(c.GetInt("bound", 10, 0, 1000000000));
  const std::string key = c.path().empty() ? "queries" : c.path() + ".queries";
  const std::string list = c.GetString("queries", "");
  o.queries = internal::ParseIntList(list, key);
  for (int q : o.queries) {
    if (q < 0 || q >= o.seq_len) {
      throw std::invalid_argument(key + " = \"" + list + "\": query " + std::to_string(q) +
                                  " outside [0, " + std::to_string(o.seq_len) + ")");
    }
  }
  o.fix_value = c.GetBool("fix_value", false);
  o.value = static_cast<int>(c.GetInt("value", 0, -1000000000, 1000000000));
  o.bin_width = c.GetDouble("bin_width", 1.0, 1e-9, 1e9);
  return o;
}

}  // namespace

void EftOptions::Validate() const {
  const auto fail = [](const std::string& what) {
    throw std::invalid_argument("EftOptions." + what);
  };
  if (seq_len < 1) fail("seq_len = " + std::to_string(seq_len) + ": must be at least 1");
  if (bound < 0) fail("bound = " + std::to_string(bound) + ": must be >= 0");
  for (int q : queries) {
    if (q < 0 || q >= seq_len) {
      fail("queries: " + std::to_string(q) + " outside [0, " + std::to_string(seq_len) + ")");
    }
  }
  if (!(bin_width > 0.0) || !std::isfinite(bin_width)) {
    fail("bin_width = " + std::to_string(bin_width) + ": must be positive and finite");
  }
}

EftTrial DrawEftTrial(const EftOptions& options, Rng* rng) {
  if (rng == nullptr) throw std::invalid_argument("DrawEftTrial: rng is null");
  EftTrial trial;
  trial.values.resize(static_cast<size_t>(options.seq_len));
  for (int& v : trial.values) {
    v = static_cast<int>(internal::UniformInt(rng, -options.bound, options.bound));
  }
  if (options.queries.empty()) {
    trial.query = static_cast<int>(internal::UniformInt(rng, 0, options.seq_len - 1));
  } else {
    const auto n = static_cast<std::int64_t>(options.queries.size());
    trial.query = options.queries[static_cast<size_t>(internal::UniformInt(rng, 0, n - 1))];
  }
  if (options.fix_value) trial.values[static_cast<size_t>(trial.query)] = options.value;
  return trial;
}

Batch MakeEftBatch(const std::vector<EftTrial>& trials, const EftOptions& options) {
  options.Validate();
  const auto count = static_cast<Eigen::Index>(trials.size());
  if (count == 0) throw std::invalid_argument("MakeEftBatch: no trials");
  const int t_count = options.seq_len + 1;
  Batch batch;
  batch.bin_edges = internal::UnitEdges(t_count, options.bin_width);
  batch.inputs.assign(static_cast<size_t>(t_count), Eigen::MatrixXd::Zero(1, count));
  batch.targets.assign(static_cast<size_t>(t_count), Eigen::MatrixXd::Zero(1, count));
  batch.mask.assign(static_cast<size_t>(t_count), Eigen::MatrixXd::Zero(1, count));
  batch.mask.back().setOnes();
  for (Eigen::Index b = 0; b < count; ++b) {
    const EftTrial& trial = trials[static_cast<size_t>(b)];
    if (static_cast<int>(trial.values.size()) != options.seq_len || trial.query < 0 ||
        trial.query >= options.seq_len) {
      throw std::invalid_argument("MakeEftBatch: trial " + std::to_string(b) + " has " +
                                  std::to_string(trial.values.size()) + " values and query " +
                                  std::to_string(trial.query) + "; need " +
                                  std::to_string(options.seq_len) + " values and a query in [0, " +
                                  std::to_string(options.seq_len) + ")");
    }
    batch.inputs[0](0, b) = trial.query;
    for (int k = 0; k < options.seq_len; ++k) {
      batch.inputs[static_cast<size_t>(k) + 1](0, b) = trial.values[static_cast<size_t>(k)];
    }
    batch.targets.back()(0, b) = trial.values[static_cast<size_t>(trial.query)];
  }
  return batch;
}

EftTask::EftTask(const EftOptions& options) : options_(options) { options_.Validate(); }

EftTask::EftTask(Config* task_config) : EftTask(EftOptionsFromConfig(task_config)) {}

Batch EftTask::Sample(Eigen::Index trials, Rng* rng) const {
  if (trials < 1) {
    throw std::invalid_argument("EftTask::Sample: trials = " + std::to_string(trials) +
                                ": must be at least 1");
  }
  if (rng == nullptr) throw std::invalid_argument("EftTask::Sample: rng is null");
  std::vector<EftTrial> list;
  list.reserve(static_cast<size_t>(trials));
  for (Eigen::Index b = 0; b < trials; ++b) list.push_back(DrawEftTrial(options_, rng));
  return MakeEftBatch(list, options_);
}

LossOptions EftTask::loss() const { return LossOptions{LossKind::kFinalMse, 2}; }

TaskMetrics EftTask::Metrics(const Batch& batch,
                             const std::vector<Eigen::MatrixXd>& outputs_at_edges) const {
  internal::CheckOutputs(batch, outputs_at_edges, 1, "EftTask::Metrics");
  if (batch.targets.size() != batch.inputs.size() || batch.output_size() != 1) {
    throw std::invalid_argument("EftTask::Metrics: the batch has no 1-output targets");
  }
  const Eigen::Index count = batch.num_trials();
  const Eigen::ArrayXd error =
      (outputs_at_edges.back().row(0) - batch.targets.back().row(0)).array().abs().transpose();
  const double hits = (error < 0.5).cast<double>().sum();
  return {{"percent_within_half", count > 0 ? 100.0 * hits / static_cast<double>(count) : 0.0}};
}

}  // namespace ctrnn
