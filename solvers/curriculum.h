// Curricula for the N-parity and N-DMS tasks (timescales spec §3; authors' code training/train.py
// `train()`): which N are active, and when to move on.
//
// Training runs in epochs of `epoch_iterations` iterations. After each epoch the network is tested
// on `test_batches` fresh batches of `test_batch_size` sequences (each batch with its own length
// M, redrawn every epoch) and the advance rule is checked once:
//
//   mean over active heads of accuracy > threshold  and  accuracy of the largest N > threshold
//
// (percent, strict). When it fires, the active N change (at most one advance per epoch; the
// optimizer's state carries over, nothing is re-initialised):
//
// clang-format off
//   | kind          | initial Ns                        | when the rule fires                          |
//   |---------------|-----------------------------------|----------------------------------------------|
//   | none          | the task's own                    | nothing (the rule is not tested)             |
//   | single        | [n0]                              | Ns = [N + 1]                                 |
//   | cumulative    | [n0 … n0 + heads − 1]             | Ns += [Nmax + 1 … Nmax + add]                |
//   | sliding       | [n0 … n0 + max(heads, slide) − 1] | Ns = Ns[slide:] + [Nmax + 1 … Nmax + slide]  |
//   | single_nocurr | [n0]                              | stop: solved                                 |
// clang-format on
//
// The head of each N is its position in Ns (spec: single: always head 0; cumulative: head i <-> N
// = n0 + i; sliding: head 0 = the current smallest N). A set that would need more heads than the
// task has ends training (the spec's cap: N <= 101 with 100 heads), as does reaching target_n.
#ifndef CTRNN_SOLVERS_CURRICULUM_H_
#define CTRNN_SOLVERS_CURRICULUM_H_

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/config.h"

namespace ctrnn {

enum class CurriculumKind { kNone, kSingle, kCumulative, kSliding, kSingleNoCurriculum };
// "none" | "single" | "cumulative" | "sliding" | "single_nocurr"; throws naming `field`.
CurriculumKind ParseCurriculumKind(const std::string& name, const std::string& field);
std::string CurriculumKindName(CurriculumKind kind);

struct CurriculumOptions {
  CurriculumKind kind = CurriculumKind::kNone;
  int initial_n = 2;      // n0 (the authors' -ni)
  int initial_heads = 1;  // cumulative and sliding: INIT_HEADS
  int add_heads = 1;      // cumulative: NUM_ADD (-dh)
  int slide = 5;          // sliding: F (-fh)
  double threshold = 98.0;
  std::int64_t epoch_iterations = 600;
  Eigen::Index test_batches = 50;
  Eigen::Index test_batch_size = 256;
  int target_n = 0;  // stop once an advance makes N_max exceed this (0: never)

  bool enabled() const { return kind != CurriculumKind::kNone; }
  // The active N at the start.
  std::vector<int> InitialNs() const;
  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

// [curriculum] keys: kind ("none"), initial_n (2), initial_heads (1), add_heads (1), slide (5),
// threshold (98), epoch_iterations (600), test_batches (50), test_batch_size (256), target_n (0).
CurriculumOptions CurriculumOptionsFromConfig(Config* curriculum);

// The advance rule on accuracies (percent) listed in the order of Ns (the last is the largest N).
bool AdvanceRuleFires(const std::vector<double>& accuracy, double threshold);

struct CurriculumDecision {
  bool advanced = false;  // the rule fired and Ns changed
  bool finished = false;  // training ends here
  std::vector<int> ns;    // the active N from now on (unchanged if not advanced)
  std::string reason;     // why it finished, e.g. "solved N = 7 (single_nocurr)"
};

// What happens after an epoch whose test gave `accuracy` (one per entry of `ns`), with a task of
// `num_heads` heads.
CurriculumDecision DecideCurriculum(const CurriculumOptions& options,
                                    const std::vector<int>& ns,
                                    const std::vector<double>& accuracy,
                                    int num_heads);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_CURRICULUM_H_
