#include "lib/tasks/task.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "lib/tasks/eft.h"
#include "lib/tasks/multitask.h"
#include "lib/tasks/mwg.h"
#include "lib/tasks/parity.h"

namespace ctrnn {
namespace internal {

std::int64_t UniformInt(Rng* rng, std::int64_t lo, std::int64_t hi) {
  if (rng == nullptr) throw std::invalid_argument("UniformInt: rng is null");
  if (lo > hi) {
    throw std::invalid_argument("UniformInt: empty range [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "]");
  }
  const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  if (span == std::numeric_limits<std::uint64_t>::max()) {
    return static_cast<std::int64_t>(rng->NextU64());
  }
  const std::uint64_t n = span + 1;
  // Reject the top partial block of the 64-bit range so every residue is equally likely.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t r = rng->NextU64();
  while (r >= limit) r = rng->NextU64();
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + r % n);
}

std::vector<std::string> SplitList(const std::string& text, const std::string& where) {
  std::vector<std::string> items;
  const auto blank = [](const std::string& s) {
    for (char c : s) {
      if (!std::isspace(static_cast<unsigned char>(c))) return false;
    }
    return true;
  };
  if (blank(text)) return items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    const size_t first = item.find_first_not_of(" \t");
    const size_t last = item.find_last_not_of(" \t");
    if (first == std::string::npos) {
      throw std::invalid_argument(where + " = \"" + text + "\": empty item in the list");
    }
    items.push_back(item.substr(first, last - first + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

std::vector<int> ParseIntList(const std::string& text, const std::string& where) {
  std::vector<int> out;
  for (const std::string& item : SplitList(text, where)) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || v < std::numeric_limits<int>::min() ||
        v > std::numeric_limits<int>::max()) {
      throw std::invalid_argument(where + " = \"" + text + "\": \"" + item +
                                  "\" is not an integer");
    }
    out.push_back(static_cast<int>(v));
  }
  return out;
}

std::vector<double> UnitEdges(Eigen::Index num_bins, double bin_width) {
  std::vector<double> edges(static_cast<size_t>(num_bins) + 1);
  for (size_t k = 0; k < edges.size(); ++k) edges[k] = static_cast<double>(k) * bin_width;
  return edges;
}

void CheckOutputs(const Batch& batch,
                  const std::vector<Eigen::MatrixXd>& outputs_at_edges,
                  Eigen::Index rows,
                  const std::string& who) {
  const size_t want = static_cast<size_t>(batch.num_bins()) + 1;
  if (outputs_at_edges.size() != want) {
    throw std::invalid_argument(who + ": " + std::to_string(outputs_at_edges.size()) +
                                " output matrices for a batch of " +
                                std::to_string(batch.num_bins()) + " bins (need bins + 1)");
  }
  for (size_t k = 0; k < want; ++k) {
    const Eigen::MatrixXd& y = outputs_at_edges[k];
    if (y.rows() != rows || y.cols() != batch.num_trials()) {
      throw std::invalid_argument(who + ": outputs_at_edges[" + std::to_string(k) + "] is " +
                                  std::to_string(y.rows()) + "x" + std::to_string(y.cols()) +
                                  ", expected " + std::to_string(rows) + "x" +
                                  std::to_string(batch.num_trials()));
    }
  }
}

}  // namespace internal

MwgTask::MwgTask(Config* task_config) : batch_(MwgBatchFromConfig(task_config)) {}

Batch MwgTask::Sample(Eigen::Index /*trials*/, Rng* /*rng*/) const { return batch_; }

LossOptions MwgTask::loss() const { return LossOptions{LossKind::kMaskedMse, 2}; }

TaskMetrics MwgTask::Metrics(const Batch& batch,
                             const std::vector<Eigen::MatrixXd>& outputs_at_edges) const {
  internal::CheckOutputs(batch, outputs_at_edges, 1, "MwgTask::Metrics");
  if (batch.input_size() != 3) {
    throw std::invalid_argument("MwgTask::Metrics: the batch has " +
                                std::to_string(batch.input_size()) + " input channels, not 3");
  }
  const Eigen::Index t_count = batch.num_bins();
  // The bin of the first nonzero input of `channel` in trial b, or -1.
  const auto pulse = [&](Eigen::Index channel, Eigen::Index b) -> Eigen::Index {
    for (Eigen::Index t = 0; t < t_count; ++t) {
      if (batch.inputs[t](channel, b) != 0.0) return t;
    }
    return -1;
  };
  double error_sum = 0.0;
  int defined = 0;
  int undefined = 0;
  for (Eigen::Index b = 0; b < batch.num_trials(); ++b) {
    const Eigen::Index t_measure = pulse(0, b);
    const Eigen::Index t_set = pulse(1, b);
    const Eigen::Index t_go = pulse(2, b);
    double y_max = -std::numeric_limits<double>::infinity();
    for (Eigen::Index t = 0; t < t_count; ++t)
      y_max = std::max(y_max, outputs_at_edges[t + 1](0, b));
    Eigen::Index t_cross = -1;
    for (Eigen::Index t = 0; t < t_count && t_cross < 0; ++t) {
      if (outputs_at_edges[t + 1](0, b) > 0.9 * y_max) t_cross = t;
    }
    if (t_measure < 0 || t_set < 0 || t_go < 0 || t_cross < 0) {
      ++undefined;
      continue;
    }
    const double produced = static_cast<double>(t_cross - t_go);
    error_sum += std::abs(produced - static_cast<double>(t_set - t_measure));
    ++defined;
  }
  const double mean_error =
      defined > 0 ? error_sum / defined : std::numeric_limits<double>::quiet_NaN();
  return {{"interval_error", mean_error}, {"interval_undefined", static_cast<double>(undefined)}};
}

std::unique_ptr<Task> MakeTask(Config* task_config) {
  if (task_config == nullptr) throw std::invalid_argument("MakeTask: task_config is null");
  // "mwg" by default: the CLI's configs predate the other tasks.
  const std::string name =
      task_config->GetString("name", "mwg", {"mwg", "multitask", "eft", "parity", "dms"});
  if (name == "mwg") return std::make_unique<MwgTask>(task_config);
  if (name == "multitask") return std::make_unique<MultitaskTask>(task_config);
  if (name == "eft") return std::make_unique<EftTask>(task_config);
  return std::make_unique<ParityTask>(task_config);  // "parity" | "dms"
}

}  // namespace ctrnn
