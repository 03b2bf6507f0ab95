// Element Finder Task (EFT; NM-RNN spec §2.3; authors' code nmlrrnn_vs_lstm/
// eft_datageneration_and_training): a query index q, then a sequence; report the element at q.
//
// Time grid: T = seq_len + 1 unit bins (26), edges {0, w, …, T·w}. One input channel (U = 1):
//
//   | bin k         | input                                                                 |
//   |---------------|-----------------------------------------------------------------------|
//   | 0             | the query q, raw (not normalised, not one-hot), q ∈ {0..seq_len−1}     |
//   | 1..seq_len    | the sequence values seq[0..seq_len−1], raw integers uniform in [−bound,
//   bound] |
//
// One output (O = 1), read at the final bin only: targets[T−1] = seq[q] (the element that arrived
// at bin q + 1), compared with the output after the last input (edge T, the code's y[:, −1, 0]);
// targets[k] = 0 for k < T−1. Mask: 1 at bin T−1, 0 at every earlier bin. Loss: final MSE (mean
// over the batch of (y_T − seq[q])²). Chance (predict 0): Var(U{−10..10}) = 36.67.
//
// Variants (for analysis): the query drawn from a given set (`queries`, the code's
// generate_sequences_and_selected_inds) or fixed (one query: generate_sequences_and_fixed_query),
// optionally with seq[q] forced to a fixed value.
#ifndef CTRNN_LIB_TASKS_EFT_H_
#define CTRNN_LIB_TASKS_EFT_H_

#include <vector>

#include "lib/batch.h"
#include "lib/config.h"
#include "lib/random.h"
#include "lib/tasks/task.h"

namespace ctrnn {

struct EftOptions {
  int seq_len = 25;          // sequence length; T = seq_len + 1
  int bound = 10;            // values are integers uniform in [−bound, bound]
  std::vector<int> queries;  // empty: q uniform in {0..seq_len−1}; else q uniform over this list
  bool fix_value = false;    // true: seq[q] = value in every trial (fixed-query variant)
  int value = 0;
  double bin_width = 1.0;  // time units per bin

  // Throws std::invalid_argument naming the field and value (seq_len < 1, bound < 0, a query
  // outside [0, seq_len), bin_width <= 0).
  void Validate() const;
};

struct EftTrial {
  int query = 0;
  std::vector<int> values;  // seq_len values
};

// A random trial: the values (seq_len Uniform draws, in order), then the query; then, with
// fix_value, seq[q] = value.
EftTrial DrawEftTrial(const EftOptions& options, Rng* rng);
// The batch of these trials, one column each. Throws std::invalid_argument for a trial with the
// wrong number of values or a query outside [0, seq_len).
Batch MakeEftBatch(const std::vector<EftTrial>& trials, const EftOptions& options);

// EFT as a Task. Keys of the [task] table (name = "eft"): seq_len (25), bound (10), queries
// ("": all; else a comma-separated list, e.g. "3" for the fixed-query variant), fix_value (false),
// value (0), bin_width (1.0). Metrics: "percent_within_half" = 100 · the fraction of trials with
// |y_T − seq[q]| < 0.5 (the rounded answer is right).
class EftTask : public Task {
 public:
  explicit EftTask(const EftOptions& options);
  explicit EftTask(Config* task_config);

  std::string name() const override { return "eft"; }
  Eigen::Index input_size() const override { return 1; }
  Eigen::Index output_size() const override { return 1; }
  Batch Sample(Eigen::Index trials, Rng* rng) const override;
  LossOptions loss() const override;
  TaskMetrics Metrics(const Batch& batch,
                      const std::vector<Eigen::MatrixXd>& outputs_at_edges) const override;

  const EftOptions& options() const { return options_; }

 private:
  EftOptions options_;
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_TASKS_EFT_H_
