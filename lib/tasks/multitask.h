// The four-task multitask set after Duncker et al. 2020 (NM-RNN spec §2.2): DelayPro, DelayAnti,
// MemoryPro, MemoryAnti; the held-out MemoryAnti retraining data; the paper's 100 fixed test
// trials; and the percent-correct metric in its legacy (arctan) and atan2 forms.
//
// Time grid: T = num_bins (100) unit bins, edges {0, w, …, T·w}. A trial's epochs are drawn in
// abstract seconds, cumulatively (all U(a, b) draws):
//
//   delay_pro    θ_out = θ      stim_on = U(0.3, 0.7); fix_off = stim_on + U(0.2, 1.5);
//                               end = fix_off + U(0.3, 0.7)
//   delay_anti   θ_out = θ + π  as delay_pro
//   memory_pro   θ_out = θ      stim_on = U(0.3, 0.7); stim_off = stim_on + U(0.2, 1.6);
//                               fix_off = stim_off + U(0.2, 1.6); end = fix_off + U(0.3, 0.7)
//   memory_anti  θ_out = θ + π  as memory_pro
//
// with θ ~ U[0, 2π). Every boundary b is rescaled to b' = b / end · T (not rounded), and bin
// t ∈ {0..T−1} is "before" b' iff t < b', "after" iff t >= b'.
//
// Inputs (U = 3 + n_ctx; n_ctx = num_context, default 3):
//   0            fixation: 1 for t < fix_off', else 0
//   1, 2         stimulus (sin θ, cos θ) for t >= stim_on' (delay tasks: to the end; memory
//                tasks: while t < stim_off'), else 0
//   3 + k        context cue: 1 at every bin in the channel of the trial's task, whose canonical
//                index k is delay_pro 0, delay_anti 1, memory_pro 2, memory_anti 3; 0 elsewhere
// plus, optionally, i.i.d. N(0, σ²) noise (σ = input_noise) on every channel, bin and trial.
// The cue channel is the task's canonical index, not its position in the configured task list
// (the authors' code uses the position; the two agree for the default list and for the paper's
// test file, whose channels 3..6 are delay_pro, delay_anti, memory_pro, memory_anti).
//
// Targets (O = 3), compared with the output after the input of bin t (edge t + 1):
//   0 fixation   0.8 for t < fix_off', else 0
//   1, 2         response (sin θ_out, cos θ_out) for t >= fix_off', else 0
// Mask: all ones (MSE over all bins and all three outputs). Loss: masked MSE.
//
// Held-out MemoryAnti retraining data (authors' code scripts/train_*_multitask_plus_retrain.py):
// memory_anti trials with U = 3 + n_ctx + 1 channels: 0..2 the task inputs (+ input noise);
// 3..3+n_ctx−1 (the old cues) old_context_noise·N(0,1) at every bin; channel 3 + n_ctx the new
// cue, 1 at every bin (+ input noise). With n_ctx = 3 that is the paper's 7 channels.
//
// Percent correct (authors' code nmrnn/util.py percent_correct): a trial is correct iff
//   1. the fixation output y_0(t) > 0.5 at every t < t_fo, where t_fo = the first bin with input
//      fixation < 0.5 (0 if there is none, as the code's argmax gives: the check is then empty);
//   2. at the last bin t = T − 1, the decoded angles of target and output differ by less than π/10,
//      with d wrapped as min(|d|, 2π − |d|).
// Decoding: kLegacy = arctan(sin/cos), the paper's (angles compare modulo π, so a "pro" answer to
// an "anti" trial counts as correct); kAtan2 = atan2(sin, cos), the correct form. A NaN angle
// (0/0) is never correct.
#ifndef CTRNN_LIB_TASKS_MULTITASK_H_
#define CTRNN_LIB_TASKS_MULTITASK_H_

#include <string>
#include <vector>

#include "lib/batch.h"
#include "lib/config.h"
#include "lib/random.h"
#include "lib/tasks/task.h"

namespace ctrnn {

// The canonical task index is the enum value (the context channel is 3 + index).
enum class MultitaskKind { kDelayPro = 0, kDelayAnti = 1, kMemoryPro = 2, kMemoryAnti = 3 };

// "delay_pro" | "delay_anti" | "memory_pro" | "memory_anti".
std::string MultitaskKindName(MultitaskKind kind);
// The inverse; throws std::invalid_argument naming `where` and the value otherwise.
MultitaskKind ParseMultitaskKind(const std::string& name, const std::string& where);
bool IsMemoryTask(MultitaskKind kind);
bool IsAntiTask(MultitaskKind kind);

// One trial, with its epoch boundaries in abstract seconds (before rescaling to T bins).
struct MultitaskTrial {
  MultitaskKind kind = MultitaskKind::kDelayPro;
  double theta = 0.0;     // stimulus direction θ, radians; θ_out = θ (pro) or θ + π (anti)
  double stim_on = 0.5;   // stimulus onset
  double stim_off = 0.0;  // stimulus offset; memory tasks only (delay tasks ignore it)
  double fix_off = 1.0;   // fixation off = the go cue
  double end = 1.5;       // end of the response epoch = t_total
};

// A random trial of `kind`: θ, then the epoch durations in table order, each one Uniform draw.
MultitaskTrial DrawMultitaskTrial(MultitaskKind kind, Rng* rng);

struct MultitaskOptions {
  int num_bins = 100;      // T
  double bin_width = 1.0;  // time units per bin (1 = the papers' discrete steps)
  int num_context = 3;     // n_ctx context channels; every task used needs index < n_ctx
  // σ of the N(0, σ²) input noise on all channels (0: none). Spec §6.7 Choice: 0.1 for all models;
  // the NM-RNN script's own default is 0 ("code_default").
  double input_noise = 0.1;
  // Tasks drawn uniformly with replacement for each trial (the paper's training set).
  std::vector<MultitaskKind> tasks = {
      MultitaskKind::kDelayPro, MultitaskKind::kDelayAnti, MultitaskKind::kMemoryPro};

  // Throws std::invalid_argument naming the field and value (num_bins < 1, bin_width <= 0,
  // num_context < 0, input_noise < 0 or not finite, no tasks, a task whose cue channel does not
  // exist).
  void Validate() const;
};

// The batch of these trials (one column each, in order), noise-free. Throws
// std::invalid_argument for invalid options, a trial whose cue does not fit num_context, or
// boundaries that are not 0 < stim_on (< stim_off) <= fix_off < end.
Batch MakeMultitaskBatch(const std::vector<MultitaskTrial>& trials,
                         const MultitaskOptions& options);
// `trials` random trials: for each, the task uniformly from options.tasks, then
// DrawMultitaskTrial; then the input noise (if any), bin by bin.
Batch SampleMultitaskBatch(Eigen::Index trials, const MultitaskOptions& options, Rng* rng);
// `trials` random held-out MemoryAnti retraining trials (see above; U = 3 + n_ctx + 1;
// options.tasks is not used). Throws std::invalid_argument for old_context_noise < 0.
Batch SampleMemoryAntiRetrainBatch(Eigen::Index trials,
                                   const MultitaskOptions& options,
                                   double old_context_noise,
                                   Rng* rng);
// Adds σ·N(0,1) to every input, bin by bin, column by column.
void AddInputNoise(double sigma, Rng* rng, Batch* batch);

enum class AngleDecode { kLegacy, kAtan2 };

// Per trial: correct or not (see above). Needs input channel 0 = fixation, outputs and targets
// rows 0 (fixation), 1 (sin), 2 (cos). Throws std::invalid_argument on wrong shapes.
std::vector<bool> MultitaskTrialsCorrect(const Batch& batch,
                                         const std::vector<Eigen::MatrixXd>& outputs_at_edges,
                                         AngleDecode decode);
// 100 · (correct trials) / (trials).
double MultitaskPercentCorrect(const Batch& batch,
                               const std::vector<Eigen::MatrixXd>& outputs_at_edges,
                               AngleDecode decode);

// The paper's fixed test trials (data/README: nmrnn_multitask_test_trials.h5, from the authors'
// scripts/test_*.npy): datasets inputs (100, 100, 7), targets (100, 100, 3), labels (100,),
// 25 noise-free trials of each task in canonical order. kThreeTask = trials 0..74 with input
// channels 0..5 (the three-task test); kHeldOut = trials 75..99 with all 7 channels (the held-out
// MemoryAnti test); kAll = all 100 with 7 channels. Unit bins, mask all ones.
enum class MultitaskTestSet { kThreeTask, kHeldOut, kAll };
// `labels` (optional) receives each returned trial's canonical task index. Throws
// std::runtime_error naming the file and dataset when the file cannot be read or a dataset is
// missing or has an unexpected shape, or when the labels are not those of the slice.
Batch LoadMultitaskTestTrials(const std::string& path,
                              MultitaskTestSet set,
                              std::vector<int>* labels);

// The multitask set as a Task. Keys of the [task] table (name = "multitask"):
//
//   set                "train" (default) | "retrain" | "test" | "test_heldout"
//   tasks              train: comma-separated task list; "delay_pro,delay_anti,memory_pro"
//   num_bins           train, retrain: T; 100
//   bin_width          train, retrain: time units per bin; 1.0
//   num_context        train, retrain: n_ctx; 3
//   input_noise        train, retrain: σ on all channels; 0.1
//   old_context_noise  retrain: σ on the old cue channels; 0.1
//   pool_size          train, retrain: 0 (default) = fresh trials at every Sample; > 0 = a fixed
//                      pool of that many trials drawn once with pool_seed (then fixed() is true).
//                      The paper's pools (3000 for training, 1000 for retraining) can come from
//                      here or from the training loop's own pool mode.
//   pool_seed          train, retrain: seed of the fixed pool; 13 (the authors' keyind)
//   test_file          test, test_heldout: the HDF5 file, relative to the working directory;
//                      "data/nmrnn_multitask_test_trials.h5"
//
// "test" is the 75 three-task trials (U = 6), "test_heldout" the 25 held-out trials (U = 7); both
// are fixed. Metrics: "percent_correct_legacy" and "percent_correct_atan2".
class MultitaskTask : public Task {
 public:
  explicit MultitaskTask(Config* task_config);

  std::string name() const override { return "multitask"; }
  Eigen::Index input_size() const override { return input_size_; }
  Eigen::Index output_size() const override { return 3; }
  Batch Sample(Eigen::Index trials, Rng* rng) const override;
  bool fixed() const override { return fixed_; }
  LossOptions loss() const override;
  TaskMetrics Metrics(const Batch& batch,
                      const std::vector<Eigen::MatrixXd>& outputs_at_edges) const override;

  const std::string& set() const { return set_; }
  const MultitaskOptions& options() const { return options_; }

 private:
  Batch Draw(Eigen::Index trials, Rng* rng) const;

  std::string set_;
  MultitaskOptions options_;
  double old_context_noise_ = 0.1;
  Eigen::Index input_size_ = 0;
  bool fixed_ = false;
  Batch pool_;  // the fixed set when fixed_
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_TASKS_MULTITASK_H_
