#include "solvers/curriculum.h"

#include <algorithm>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace ctrnn {

CurriculumKind ParseCurriculumKind(const std::string& name, const std::string& field) {
  if (name == "none") return CurriculumKind::kNone;
  if (name == "single") return CurriculumKind::kSingle;
  if (name == "cumulative") return CurriculumKind::kCumulative;
  if (name == "sliding") return CurriculumKind::kSliding;
  if (name == "single_nocurr") return CurriculumKind::kSingleNoCurriculum;
  throw std::invalid_argument(field + " = \"" + name +
                              "\": expected none, single, cumulative, sliding or single_nocurr");
}

std::string CurriculumKindName(CurriculumKind kind) {
  switch (kind) {
    case CurriculumKind::kNone:
      return "none";
    case CurriculumKind::kSingle:
      return "single";
    case CurriculumKind::kCumulative:
      return "cumulative";
    case CurriculumKind::kSliding:
      return "sliding";
    case CurriculumKind::kSingleNoCurriculum:
      return "single_nocurr";
  }
  return "none";
}

std::vector<int> CurriculumOptions::InitialNs() const {
  int count = 1;
  if (kind == CurriculumKind::kCumulative) count = initial_heads;
  if (kind == CurriculumKind::kSliding) count = std::max(initial_heads, slide);
  std::vector<int> ns(static_cast<size_t>(count));
  std::iota(ns.begin(), ns.end(), initial_n);
  return ns;
}

void CurriculumOptions::Validate() const {
  auto fail = [](const std::string& field, const std::string& value, const std::string& why) {
    throw std::invalid_argument("CurriculumOptions." + field + " = " + value + ": " + why);
  };
  if (initial_n < 1) fail("initial_n", std::to_string(initial_n), "must be >= 1");
  if (initial_heads < 1) fail("initial_heads", std::to_string(initial_heads), "must be >= 1");
  if (add_heads < 1) fail("add_heads", std::to_string(add_heads), "must be >= 1");
  if (slide < 1) fail("slide", std::to_string(slide), "must be >= 1");
  if (!(threshold >= 0.0 && threshold <= 100.0)) {
    fail("threshold", std::to_string(threshold), "must lie in [0, 100]");
  }
  if (epoch_iterations < 1) {
    fail("epoch_iterations", std::to_string(epoch_iterations), "must be >= 1");
  }
  if (test_batches < 1) fail("test_batches", std::to_string(test_batches), "must be >= 1");
  if (test_batch_size < 1) {
    fail("test_batch_size", std::to_string(test_batch_size), "must be >= 1");
  }
  if (target_n < 0) fail("target_n", std::to_string(target_n), "must be >= 0");
}

CurriculumOptions CurriculumOptionsFromConfig(Config* c) {
  CurriculumOptions o;
  o.kind = ParseCurriculumKind(
      c->GetString("kind", "none", {"none", "single", "cumulative", "sliding", "single_nocurr"}),
      c->path() + ".kind");
  if (o.enabled()) {
    o.initial_n = static_cast<int>(c->GetInt("initial_n", o.initial_n, 1, 1 << 20));
    if (o.kind == CurriculumKind::kCumulative || o.kind == CurriculumKind::kSliding) {
      o.initial_heads = static_cast<int>(c->GetInt("initial_heads", o.initial_heads, 1, 1 << 20));
    }
    if (o.kind == CurriculumKind::kCumulative) {
      o.add_heads = static_cast<int>(c->GetInt("add_heads", o.add_heads, 1, 1 << 20));
    }
    if (o.kind == CurriculumKind::kSliding) {
      o.slide = static_cast<int>(c->GetInt("slide", o.slide, 1, 1 << 20));
    }
    o.threshold = c->GetDouble("threshold", o.threshold, 0.0, 100.0);
    o.epoch_iterations =
        c->GetInt("epoch_iterations", o.epoch_iterations, 1, std::int64_t{1} << 40);
    o.test_batches = c->GetInt("test_batches", o.test_batches, 1, 1 << 20);
    o.test_batch_size = c->GetInt("test_batch_size", o.test_batch_size, 1, 1 << 20);
    o.target_n = static_cast<int>(c->GetInt("target_n", o.target_n, 0, 1 << 20));
  }
  o.Validate();
  return o;
}

bool AdvanceRuleFires(const std::vector<double>& accuracy, double threshold) {
  if (accuracy.empty()) return false;
  const double mean =
      std::accumulate(accuracy.begin(), accuracy.end(), 0.0) / static_cast<double>(accuracy.size());
  return mean > threshold && accuracy.back() > threshold;
}

CurriculumDecision DecideCurriculum(const CurriculumOptions& options,
                                    const std::vector<int>& ns,
                                    const std::vector<double>& accuracy,
                                    int num_heads) {
  if (ns.empty() || accuracy.size() != ns.size()) {
    throw std::invalid_argument("DecideCurriculum: " + std::to_string(accuracy.size()) +
                                " accuracies for " + std::to_string(ns.size()) + " active N");
  }
  CurriculumDecision d;
  d.ns = ns;
  if (!options.enabled() || !AdvanceRuleFires(accuracy, options.threshold)) return d;
  const int n_max = ns.back();
  std::vector<int> next;
  switch (options.kind) {
    case CurriculumKind::kNone:
      return d;
    case CurriculumKind::kSingleNoCurriculum:
      d.finished = true;
      d.reason = "solved N = " + std::to_string(n_max) + " (single_nocurr: no curriculum)";
      return d;
    case CurriculumKind::kSingle:
      next = {n_max + 1};
      break;
    case CurriculumKind::kCumulative:
      next = ns;
      for (int i = 1; i <= options.add_heads; ++i) next.push_back(n_max + i);
      break;
    case CurriculumKind::kSliding: {
      const size_t drop = std::min(ns.size(), static_cast<size_t>(options.slide));
      next.assign(ns.begin() + static_cast<std::ptrdiff_t>(drop), ns.end());
      for (int i = 1; i <= options.slide; ++i) next.push_back(n_max + i);
      break;
    }
  }
  if (static_cast<int>(next.size()) > num_heads) {
    d.finished = true;
    d.reason = "solved N = " + std::to_string(n_max) + "; the next set needs " +
               std::to_string(next.size()) + " heads, the task has " + std::to_string(num_heads) +
               " (the head cap)";
    return d;
  }
  d.advanced = true;
  d.ns = next;
  if (options.target_n > 0 && n_max >= options.target_n) {
    d.finished = true;
    d.reason = "solved N = " + std::to_string(n_max) + " >= target_n";
  }
  return d;
}

}  // namespace ctrnn
