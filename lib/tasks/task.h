// The task interface: what a training loop or an analysis asks of a task (DESIGN.md §1: Task ──►
// Batch), the factory that builds one from a [task] config table, and the MWG task as a Task.
//
// A task makes batches (lib/batch.h): T bins [t_k, t_{k+1}) with bin_edges = {0, w, 2w, …, T·w}
// (w = bin_width, 1 = the papers' discrete steps), inputs[k] U×B constant on bin k, and targets[k]
// and mask[k] O×B compared with the model's output at edge t_{k+1}, i.e. after the input of bin k
// ("the input at step t already affects y_t"). Each task's header documents its channels, targets,
// mask and time grid.
//
//   name         header                  U                O            T           loss
//   "mwg"        lib/tasks/mwg.h         3                1            110         mse
//   "multitask"  lib/tasks/multitask.h   3 + n_ctx (+ 1)  3            100         mse
//   "eft"        lib/tasks/eft.h         1                1            26          final_mse
//   "parity"     lib/tasks/parity.h      1                2·num_heads  M (random)  cross_entropy
//   "dms"        lib/tasks/parity.h      1                2·num_heads  M (random)  cross_entropy
//
// Randomness comes only from the Rng passed to Sample (or, for a fixed pool, from a seed in the
// config), so one seed always gives the same batches on every platform.
#ifndef CTRNN_LIB_TASKS_TASK_H_
#define CTRNN_LIB_TASKS_TASK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "lib/batch.h"
#include "lib/config.h"
#include "lib/loss.h"
#include "lib/random.h"

namespace ctrnn {

// A named task metric, e.g. {"percent_correct_atan2", 97.5}.
using TaskMetrics = std::vector<std::pair<std::string, double>>;

class Task {
 public:
  virtual ~Task() = default;

  // The factory name ("mwg", "multitask", "eft", "parity", "dms").
  virtual std::string name() const = 0;
  // U: input channels of every batch this task makes.
  virtual Eigen::Index input_size() const = 0;
  // O: outputs the model must have (rows of targets and mask).
  virtual Eigen::Index output_size() const = 0;

  // A fresh batch of `trials` trials (>= 1) drawn with `rng`. A fixed task (fixed() == true)
  // returns its fixed set every time and ignores `trials` and `rng` (rng may then be null).
  // Throws std::invalid_argument for trials < 1 or a null rng where one is needed.
  virtual Batch Sample(Eigen::Index trials, Rng* rng) const = 0;
  // True when Sample always returns the same set (MWG, a fixed multitask pool, the paper's
  // test trials): a training loop then minibatches from it instead of sampling.
  virtual bool fixed() const { return false; }

  // The loss the papers train this task with (lib/loss.h), for a loop that is not told otherwise.
  virtual LossOptions loss() const = 0;

  // Task metrics of a model's outputs on `batch` (which this task made): outputs_at_edges holds
  // y_0..y_T (T + 1 matrices of O×B), as the loss takes them. Percentages are in [0, 100].
  // May be empty. Throws std::invalid_argument when the shapes do not match the batch.
  virtual TaskMetrics Metrics(const Batch& batch,
                              const std::vector<Eigen::MatrixXd>& outputs_at_edges) const = 0;
};

// The task a [task] table asks for. `name` is one of "mwg" (the default) | "multitask" | "eft" |
// "parity" | "dms"; the other keys are the task's options, listed in its header. Every key read
// is recorded in the table (for the archive). Throws std::invalid_argument naming the key and
// value for an unknown name or a bad option, and std::runtime_error naming the file for a data
// file that cannot be read (the multitask test sets).
std::unique_ptr<Task> MakeTask(Config* task_config);

// Measure-Wait-Go as a Task (lib/tasks/mwg.h: channels, target, mask, time grid). Fixed: Sample
// returns the set chosen at construction ("train": 40 trials, "extrapolation": 12) and ignores
// its arguments. Loss: masked MSE (mask all ones).
//
// Metrics (the spec §2.1 "produced interval"): for each trial, t_go is the bin of the go pulse
// (channel 2), I the bins from the measure pulse (channel 0) to the set pulse (channel 1), and
// the produced interval is the first bin t with y_t > 0.9·max_t y_t, minus t_go (y_t = the output
// at edge t + 1). "interval_error" is the mean of |produced − I| in bins over the trials where
// it is defined; "interval_undefined" counts the trials where it is not (no pulse found, or no
// bin above 0.9·max, which happens only when max y <= 0).
class MwgTask : public Task {
 public:
  // Reads the MWG keys of lib/tasks/mwg.h (set, num_bins, amplitude, delay, bin_width).
  explicit MwgTask(Config* task_config);

  std::string name() const override { return "mwg"; }
  Eigen::Index input_size() const override { return 3; }
  Eigen::Index output_size() const override { return 1; }
  Batch Sample(Eigen::Index trials, Rng* rng) const override;
  bool fixed() const override { return true; }
  LossOptions loss() const override;
  TaskMetrics Metrics(const Batch& batch,
                      const std::vector<Eigen::MatrixXd>& outputs_at_edges) const override;

 private:
  Batch batch_;
};

namespace internal {

// An integer uniform on [lo, hi] (lo <= hi) from rng's 64-bit stream, without modulo bias.
std::int64_t UniformInt(Rng* rng, std::int64_t lo, std::int64_t hi);

// The items of a comma-separated list ("2, 3,4" -> {"2", "3", "4"}), whitespace trimmed; "" gives
// no items. Throws std::invalid_argument naming `where` for an empty item ("2,,3").
std::vector<std::string> SplitList(const std::string& text, const std::string& where);
// The same list as integers; throws naming `where` and the item that is not an integer.
std::vector<int> ParseIntList(const std::string& text, const std::string& where);

// bin_edges {0, w, …, T·w}.
std::vector<double> UnitEdges(Eigen::Index num_bins, double bin_width);

// Throws std::invalid_argument (prefixed with `who`) unless outputs_at_edges has
// batch.num_bins() + 1 matrices of rows x batch.num_trials().
void CheckOutputs(const Batch& batch,
                  const std::vector<Eigen::MatrixXd>& outputs_at_edges,
                  Eigen::Index rows,
                  const std::string& who);

}  // namespace internal
}  // namespace ctrnn

#endif  // CTRNN_LIB_TASKS_TASK_H_
