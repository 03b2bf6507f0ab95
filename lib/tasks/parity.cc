#include "lib/tasks/parity.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>

namespace ctrnn {
namespace {

std::string ListText(const std::vector<int>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out;
}

// The options, ns and heads a [task] table asks for (name = "parity" | "dms").
struct ParitySetup {
  ParityOptions options;
  std::vector<int> ns;
  std::vector<int> heads;
  std::string where;  // "task.ns = ..., task.heads = ..." for errors
};

ParitySetup ParitySetupFromConfig(Config* task_config) {
  Config& c = *task_config;
  const auto key = [&](const std::string& k) { return c.path().empty() ? k : c.path() + "." + k; };
  ParitySetup s;
  const std::string name = c.GetString("name", "parity", {"parity", "dms"});
  s.options.kind = name == "parity" ? SequenceTask::kParity : SequenceTask::kDms;
  const std::string ns = c.GetString("ns", "2");
  const std::string heads = c.GetString("heads", "");
  s.ns = internal::ParseIntList(ns, key("ns"));
  s.heads = internal::ParseIntList(heads, key("heads"));
  s.where = key("ns") + " = \"" + ns + "\", " + key("heads") + " = \"" + heads + "\"";
  s.options.num_heads = static_cast<int>(c.GetInt("num_heads", 100, 1, 1000000));
  s.options.random_p = c.GetBool("random_p", s.options.kind == SequenceTask::kParity);
  s.options.p = c.GetDouble("p", 0.5, 0.0, 1.0);
  s.options.length = static_cast<int>(c.GetInt("length", 0, 0, 100000000));
  s.options.plus_minus_one = c.GetString("encoding", "01", {"01", "pm1"}) == "pm1";
  s.options.bin_width = c.GetDouble("bin_width", 1.0, 1e-9, 1e9);
  return s;
}

ParityTask FromSetup(const ParitySetup& s) {
  try {
    return ParityTask(s.options, s.ns, s.heads);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(s.where + ": " + e.what());
  }
}

}  // namespace

void ParityOptions::Validate() const {
  const auto fail = [](const std::string& what) {
    throw std::invalid_argument("ParityOptions." + what);
  };
  if (num_heads < 1) fail("num_heads = " + std::to_string(num_heads) + ": must be at least 1");
  if (!(p >= 0.0 && p <= 1.0)) fail("p = " + std::to_string(p) + ": must lie in [0, 1]");
  if (length < 0) fail("length = " + std::to_string(length) + ": must be >= 0 (0: random)");
  if (!(bin_width > 0.0) || !std::isfinite(bin_width)) {
    fail("bin_width = " + std::to_string(bin_width) + ": must be positive and finite");
  }
}

int SequenceLabel(SequenceTask kind, const std::vector<int>& digits, int n) {
  const auto m = static_cast<int>(digits.size());
  const int n_min = kind == SequenceTask::kParity ? 1 : 2;
  if (n < n_min || n > m) {
    throw std::invalid_argument("SequenceLabel: N = " + std::to_string(n) + " for " +
                                std::to_string(m) + " digits (need " + std::to_string(n_min) +
                                " <= N <= digits)");
  }
  if (kind == SequenceTask::kDms) {
    return digits[static_cast<size_t>(m - n)] == digits.back() ? 1 : 0;
  }
  int sum = 0;
  for (int t = m - n; t < m; ++t) sum += digits[static_cast<size_t>(t)];
  return sum % 2;
}

ParityTask::ParityTask(const ParityOptions& options, std::vector<int> ns, std::vector<int> heads)
    : options_(options) {
  options_.Validate();
  SetActive(std::move(ns), std::move(heads));
}

ParityTask::ParityTask(Config* task_config)
    : ParityTask(FromSetup(ParitySetupFromConfig(task_config))) {}

void ParityTask::SetActive(std::vector<int> ns, std::vector<int> heads) {
  const std::string who = "ParityTask::SetActive: ";
  if (ns.empty()) throw std::invalid_argument(who + "no active N");
  const int n_min = kind() == SequenceTask::kParity ? 1 : 2;
  for (int n : ns) {
    if (n < n_min) {
      throw std::invalid_argument(who + "N = " + std::to_string(n) + " in ns = [" + ListText(ns) +
                                  "]; " + name() + " needs N >= " + std::to_string(n_min));
    }
  }
  if (std::set<int>(ns.begin(), ns.end()).size() != ns.size()) {
    throw std::invalid_argument(who + "ns = [" + ListText(ns) + "] repeats an N");
  }
  if (heads.empty()) {
    for (size_t i = 0; i < ns.size(); ++i) heads.push_back(static_cast<int>(i));
  }
  if (heads.size() != ns.size()) {
    throw std::invalid_argument(who + std::to_string(heads.size()) + " heads [" + ListText(heads) +
                                "] for " + std::to_string(ns.size()) + " active N [" +
                                ListText(ns) + "]");
  }
  for (int h : heads) {
    if (h < 0 || h >= options_.num_heads) {
      throw std::invalid_argument(
          who + "head " + std::to_string(h) + " in heads = [" + ListText(heads) +
          "] outside [0, num_heads = " + std::to_string(options_.num_heads) + ")");
    }
  }
  if (std::set<int>(heads.begin(), heads.end()).size() != heads.size()) {
    throw std::invalid_argument(who + "heads = [" + ListText(heads) + "] repeats a head");
  }
  const int n_max = *std::max_element(ns.begin(), ns.end());
  if (options_.length > 0 && options_.length < n_max) {
    throw std::invalid_argument(who + "length = " + std::to_string(options_.length) +
                                " is below N_max = " + std::to_string(n_max));
  }
  ns_ = std::move(ns);
  heads_ = std::move(heads);
}

int ParityTask::max_n() const { return *std::max_element(ns_.begin(), ns_.end()); }

std::pair<int, int> ParityTask::LengthRange() const {
  if (options_.length > 0) return {options_.length, options_.length};
  return {max_n() + 2, 4 * max_n() + 1};
}

Batch ParityTask::MakeBatch(const std::vector<std::vector<int>>& digits) const {
  const std::string who = "ParityTask::MakeBatch: ";
  if (digits.empty()) throw std::invalid_argument(who + "no trials");
  const size_t m = digits[0].size();
  for (size_t b = 0; b < digits.size(); ++b) {
    if (digits[b].size() != m) {
      throw std::invalid_argument(who + "trial " + std::to_string(b) + " has " +
                                  std::to_string(digits[b].size()) + " digits, trial 0 has " +
                                  std::to_string(m) + " (one length per batch)");
    }
    for (int s : digits[b]) {
      if (s != 0 && s != 1) {
        throw std::invalid_argument(who + "trial " + std::to_string(b) + " has digit " +
                                    std::to_string(s) + " (digits are 0 or 1)");
      }
    }
  }
  if (m < static_cast<size_t>(max_n())) {
    throw std::invalid_argument(who + std::to_string(m) +
                                " digits, fewer than N_max = " + std::to_string(max_n()));
  }
  const auto count = static_cast<Eigen::Index>(digits.size());
  const Eigen::Index outputs = output_size();
  Batch batch;
  batch.bin_edges = internal::UnitEdges(static_cast<Eigen::Index>(m), options_.bin_width);
  batch.inputs.assign(m, Eigen::MatrixXd::Zero(1, count));
  batch.targets.assign(m, Eigen::MatrixXd::Zero(outputs, count));
  batch.mask.assign(m, Eigen::MatrixXd::Zero(outputs, count));
  const double low = options_.plus_minus_one ? -1.0 : 0.0;
  for (Eigen::Index b = 0; b < count; ++b) {
    const std::vector<int>& s = digits[static_cast<size_t>(b)];
    for (size_t t = 0; t < m; ++t) batch.inputs[t](0, b) = s[t] == 1 ? 1.0 : low;
    for (size_t i = 0; i < ns_.size(); ++i) {
      batch.targets.back()(heads_[i], b) = SequenceLabel(kind(), s, ns_[i]);
      batch.mask.back()(heads_[i], b) = 1.0;
    }
  }
  return batch;
}

Batch ParityTask::Sample(Eigen::Index trials, Rng* rng) const {
  if (trials < 1) {
    throw std::invalid_argument("ParityTask::Sample: trials = " + std::to_string(trials) +
                                ": must be at least 1");
  }
  if (rng == nullptr) throw std::invalid_argument("ParityTask::Sample: rng is null");
  const auto [lo, hi] = LengthRange();
  const auto m = static_cast<size_t>(options_.length > 0 ? options_.length
                                                         : internal::UniformInt(rng, lo, hi));
  std::vector<std::vector<int>> digits(static_cast<size_t>(trials), std::vector<int>(m));
  for (std::vector<int>& s : digits) {
    const double p = options_.random_p ? rng->Uniform() : options_.p;
    for (int& d : s) d = rng->Uniform() < p ? 1 : 0;
  }
  return MakeBatch(digits);
}

LossOptions ParityTask::loss() const { return LossOptions{LossKind::kCrossEntropy, 2}; }

TaskMetrics ParityTask::Metrics(const Batch& batch,
                                const std::vector<Eigen::MatrixXd>& outputs_at_edges) const {
  const std::string who = "ParityTask::Metrics";
  internal::CheckOutputs(batch, outputs_at_edges, output_size(), who);
  if (batch.targets.size() != batch.inputs.size() || batch.mask.size() != batch.inputs.size() ||
      batch.output_size() != output_size()) {
    throw std::invalid_argument(who + ": the batch has no targets and mask for " +
                                std::to_string(output_size()) + " outputs");
  }
  const Eigen::MatrixXd& y = outputs_at_edges.back();
  const Eigen::MatrixXd& labels = batch.targets.back();
  const Eigen::MatrixXd& mask = batch.mask.back();
  const Eigen::Index count = batch.num_trials();
  TaskMetrics metrics;
  for (size_t i = 0; i < ns_.size(); ++i) {
    const Eigen::Index h = heads_[i];
    double hits = 0.0;
    for (Eigen::Index b = 0; b < count; ++b) {
      if (mask(h, b) == 0.0) {
        throw std::invalid_argument(who + ": head " + std::to_string(h) +
                                    " (N = " + std::to_string(ns_[i]) +
                                    ") is inactive in the batch: it "
                                    "was sampled with another head mapping");
      }
      const double predicted = y(2 * h + 1, b) > y(2 * h, b) ? 1.0 : 0.0;
      hits += predicted == labels(h, b) ? 1.0 : 0.0;
    }
    metrics.emplace_back("accuracy_N" + std::to_string(ns_[i]),
                         count > 0 ? 100.0 * hits / static_cast<double>(count) : 0.0);
  }
  return metrics;
}

}  // namespace ctrnn
