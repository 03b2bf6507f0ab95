// N-parity and N-DMS, the binary memory tasks of the timescales paper (timescales spec §2;
// authors' code src/tasks/tasks.py), with several active N at once on separate readout heads
// (the curricula of spec §3 choose which N are active and which head each uses).
//
// Time grid: one sequence length M per batch (shared by all trials, redrawn for every batch),
// uniform over the integers [N_max + 2, 4·N_max + 1], N_max = the largest active N; M unit bins,
// edges {0, w, …, M·w}. Input (U = 1): digit s_t (t = 1..M) in bin t − 1, encoded 0/1 (or −1/+1
// with encoding "pm1", the LSTM/GRU scripts' form).
//
//   | task   | digits                                        | label for N                       |
//   |--------|-----------------------------------------------|-----------------------------------|
//   | parity | per sequence p ~ U(0,1), s_t ~ Bernoulli(p)   | (s_{M−N+1} + … + s_M) mod 2        |
//   | dms    | s_t ~ Bernoulli(0.5)                          | 1 if s_{M−N+1} == s_M, else 0      |
//
// (random_p = false draws every digit with the fixed p instead: p = 0.5 for the ablation and
// perturbation tests; DMS's default.) The last digit counts: the readout is after it.
//
// Outputs (O = 2·num_heads): head h is the pair of logits in rows 2h, 2h + 1 (the models' row
// o = h·C + c layout, C = 2). Targets and mask are used at the last bin only (lib/loss.h
// cross-entropy): targets[M−1](heads[i], b) = label of ns[i] for trial b, mask[M−1](heads[i], b)
// = 1 for every active head, and 0 for every other entry of every bin (targets 0 there).
// Loss: lib/loss.h kCrossEntropy (C = 2): the sum over active heads of each head's mean
// cross-entropy over the batch, the paper's loss.
//
// Head mapping (spec §3: "the head index is the position in Ns"): by default heads[i] = i, which
// is head 0 for the single-head curriculum, head N − 2 for the cumulative one started at N = 2,
// and head 0 = the smallest N for the sliding one. Heads must be distinct and below num_heads
// (100: the paper's cap, N <= 101 for the cumulative curriculum).
//
// Memory: targets and mask are O×B at every bin, so a batch holds 2·M·(2·num_heads)·B doubles
// (about 330 MB at N_max = 101, M = 405, B = 256, 100 heads).
#ifndef CTRNN_LIB_TASKS_PARITY_H_
#define CTRNN_LIB_TASKS_PARITY_H_

#include <utility>
#include <vector>

#include "lib/batch.h"
#include "lib/config.h"
#include "lib/random.h"
#include "lib/tasks/task.h"

namespace ctrnn {

enum class SequenceTask { kParity, kDms };

struct ParityOptions {
  SequenceTask kind = SequenceTask::kParity;
  int num_heads = 100;   // H; the model has 2·H outputs
  bool random_p = true;  // true: p ~ U(0,1) per sequence (parity); false: p fixed (DMS, ablation)
  double p = 0.5;        // P(s_t = 1) when random_p is false
  int length = 0;        // 0: M uniform in [N_max + 2, 4·N_max + 1] per batch; > 0: M fixed
  bool plus_minus_one = false;  // inputs −1/+1 instead of 0/1
  double bin_width = 1.0;       // time units per bin

  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

// The label of the last `n` digits of `digits` (values 0/1; 1 <= n <= digits.size(), n >= 2 for
// DMS). Throws std::invalid_argument otherwise.
int SequenceLabel(SequenceTask kind, const std::vector<int>& digits, int n);

// N-parity / N-DMS as a Task. Keys of the [task] table (name = "parity" | "dms"):
//
//   | key       | default            | meaning                                                    |
//   |-----------|--------------------|------------------------------------------------------------|
//   | ns        | "2"                | active N, comma-separated ("2,3,4")                        |
//   | heads     | "" (= positions)   | head of each N, comma-separated, same length as ns         |
//   | num_heads | 100                |                                                            |
//   | random_p  | parity: true; dms: false | p ~ U(0,1) per sequence, else p                  |
//   | p         | 0.5                | used when random_p = false                                 |
//   | length    | 0                  | 0: M drawn per batch; > 0: fixed M (>= N_max)              |
//   | encoding  | "01"               | "01" \| "pm1"                                              |
//   | bin_width | 1.0                |                                                            |
//
// Sample draws, in order: M (unless fixed), then per trial p (if random_p) and its M digits.
// Metrics: "accuracy_N<n>" for each active N, in percent: the trials whose argmax over head
// heads[i]'s two logits at the last edge (ties -> class 0, as torch.argmax) equals the label.
class ParityTask : public Task {
 public:
  // ns: the active N (each >= 1, >= 2 for DMS, distinct); heads: one per N, or empty for positions.
  ParityTask(const ParityOptions& options, std::vector<int> ns, std::vector<int> heads = {});
  explicit ParityTask(Config* task_config);

  std::string name() const override { return kind() == SequenceTask::kParity ? "parity" : "dms"; }
  Eigen::Index input_size() const override { return 1; }
  Eigen::Index output_size() const override { return 2 * options_.num_heads; }
  Batch Sample(Eigen::Index trials, Rng* rng) const override;
  LossOptions loss() const override;
  TaskMetrics Metrics(const Batch& batch,
                      const std::vector<Eigen::MatrixXd>& outputs_at_edges) const override;

  // The curriculum's setters: the active N and the head of each (empty heads: positions). Throws
  // std::invalid_argument (the old setting kept) for an empty or invalid ns, a length mismatch,
  // repeated or out-of-range heads, or a fixed length below the new N_max.
  void SetActive(std::vector<int> ns, std::vector<int> heads = {});
  const std::vector<int>& ns() const { return ns_; }
  const std::vector<int>& heads() const { return heads_; }
  int max_n() const;
  // The range M is drawn from: [N_max + 2, 4·N_max + 1] (or [length, length]).
  std::pair<int, int> LengthRange() const;
  SequenceTask kind() const { return options_.kind; }
  const ParityOptions& options() const { return options_; }

  // The batch of these digit sequences (each 0/1, all of one length >= N_max), labelled for the
  // active N. Throws std::invalid_argument otherwise.
  Batch MakeBatch(const std::vector<std::vector<int>>& digits) const;

 private:
  ParityOptions options_;
  std::vector<int> ns_;
  std::vector<int> heads_;
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_TASKS_PARITY_H_
