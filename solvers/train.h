// Training: staged gradient descent on a task, with checkpoints that resume to the same numbers.
//
//   for each stage s (fresh optimizer, only its trainable blocks move):
//     for i in 1..iterations_s:
//       batch  = the task's fixed set | a minibatch drawn from a fixed pool | a fresh sample
//       L, g   = LossAndGradient(model, batch)           (exact discrete adjoint,
//       solvers/gradient.h) θ      ← optimizer step on the trainable entries  (solvers/optimizer.h)
//
// Everything random (pool, minibatches, fresh batches) comes from generators seeded by
// TrainOptions.seed whose states are part of the checkpoint (TrainState), so an interrupted run
// resumed from its last checkpoint continues with exactly the numbers of an uninterrupted one.
// A non-finite loss or gradient stops training with Termination::kNonFinite; the parameters are
// then the last good ones (the offending update is never applied).
#ifndef CTRNN_SOLVERS_TRAIN_H_
#define CTRNN_SOLVERS_TRAIN_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/loss.h"
#include "lib/model.h"
#include "lib/tasks/task.h"
#include "solvers/curriculum.h"
#include "solvers/gradient.h"
#include "solvers/optimizer.h"

namespace ctrnn {

struct StageOptions {
  std::string name = "all";
  std::int64_t iterations = 1000;      // > 0
  std::vector<std::string> trainable;  // parameter blocks that move; empty = all
  OptimizerOptions optimizer;
};

enum class BatchMode {
  kFull,   // the task's fixed set every iteration (e.g. the 40 MWG training trials)
  kPool,   // minibatches of batch_size drawn with replacement from a pool sampled once
  kFresh,  // a new sample of batch_size trials every iteration
};

struct TrainOptions {
  std::vector<StageOptions> stages{StageOptions()};
  LossOptions loss;
  GradientOptions gradient;  // stepper, dt, tolerances, checkpointing of the adjoint
  BatchMode batch_mode = BatchMode::kFull;
  Eigen::Index batch_size = 100;
  Eigen::Index pool_size = 3000;
  // kPool: restart the minibatch sequence every k iterations (0 = never): with the optimizer's
  // reset_every, the NM-RNN code's quirk (spec nmrnn.md §3.1).
  std::int64_t repeat_batches_every = 0;
  std::int64_t log_every = 100;  // curve point + progress callback every k iterations
  std::int64_t eval_every = 0;   // task metrics on the evaluation batch (0 = only at the end)
  Eigen::Index eval_trials = 0;  // size of the evaluation batch (0: the task's fixed set or 256)
  std::int64_t checkpoint_every =
      1000;  // checkpoint callback every k iterations (0 = only at the end)
  std::uint64_t seed = 0;
  // Parity / DMS curricula (solvers/curriculum.h); needs batch_mode = fresh. The epoch tests
  // replace the periodic evaluation: at every epoch end the accuracies are recorded as eval
  // metrics, and eval_every is ignored.
  CurriculumOptions curriculum;

  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

// Everything a checkpoint holds; Train continues from it when iteration > 0.
struct TrainState {
  std::int64_t iteration = 0;        // iterations done, all stages
  std::int64_t stage = 0;            // current stage
  std::int64_t stage_iteration = 0;  // iterations done in the current stage
  Eigen::VectorXd theta;
  std::int64_t optimizer_steps = 0;
  Eigen::VectorXd optimizer_m, optimizer_v;
  std::string batch_rng;          // generator states (lib/random.h)
  std::string batch_rng_restart;  // the minibatch generator's state at the last restart
  Eigen::VectorXd best_theta;
  double best_loss = 0.0;  // valid when best_theta is not empty
  std::int64_t best_iteration = -1;
  double seconds = 0.0;  // wall-clock spent training, all sessions
  // Curves: one point every log_every iterations (and the last).
  std::vector<double> curve_iteration, curve_loss, curve_seconds;
  // Task metrics at each evaluation: name -> values, aligned with eval_iteration.
  std::vector<double> eval_iteration;
  std::map<std::string, std::vector<double>> eval_metrics;
  // Curriculum: the active N now; per tested epoch the iteration, the largest active N, the mean
  // accuracy over active heads, the accuracy of the largest N and whether the rule fired; and the
  // parameters at each advance, named like the authors' checkpoints ("rnn_N2_N7": the set that was
  // solved).
  std::vector<int> curriculum_ns;
  std::vector<double> epoch_iteration, epoch_n_max, epoch_mean_accuracy, epoch_accuracy_n_max,
      epoch_advanced;
  std::vector<std::pair<std::string, Eigen::VectorXd>> snapshots;
};

struct TrainProgress {
  std::int64_t iteration = 0, total_iterations = 0;
  std::string stage;
  double loss = 0.0;
  double iterations_per_second = 0.0;
  double eta_seconds = 0.0;
  std::vector<std::pair<std::string, double>> metrics;  // at evaluations only
};

struct TrainCallbacks {
  std::function<void(const TrainProgress&)> progress;  // every log_every iterations
  std::function<void(const TrainState&)> checkpoint;   // every checkpoint_every and at the end
};

struct TrainSummary {
  Termination termination = Termination::kSuccess;
  std::string message;
  std::int64_t iterations = 0;
  double final_loss = 0.0;
  double best_loss = 0.0;
  double seconds = 0.0;
  bool ok() const { return termination == Termination::kSuccess; }
  std::string BriefReport() const;
};

// Options from a run config (the root table): [loss] kind (mse), num_classes; [gradient]
// checkpoint_every_bins, threads (1), trial_blocks (0: one per thread); [integrator]
// (IntegrateOptionsFromConfig); [train] batch_mode ("full" | "pool" | "fresh"), batch_size,
// pool_size, repeat_batches_every, log_every, eval_every, eval_trials, checkpoint_every, stages
// (["all"]); and per stage [stage.<name>] iterations (1000), trainable ([]: all) and
// [stage.<name>.optimizer] (OptimizerOptionsFromConfig). `seed` is the root's seed; [curriculum]
// (CurriculumOptionsFromConfig). [loss] defaults to `task_loss` (the task's own loss) when the
// config names none.
TrainOptions TrainOptionsFromConfig(Config* root, std::uint64_t seed, const LossOptions& task_loss);

// Trains `model` in place (its theta ends at the last parameters; state->best_theta holds the
// best). `state` is read (resume when state->iteration > 0) and updated. Throws
// std::invalid_argument on invalid options, an unknown trainable block, or a state that does not
// fit the model and options.
TrainSummary Train(Model* model,
                   const Task& task,
                   const TrainOptions& options,
                   const TrainCallbacks& callbacks,
                   TrainState* state);

// Loss and task metrics of the model on a batch (evaluation, no gradient).
std::vector<std::pair<std::string, double>> Evaluate(const Model& model,
                                                     const Task& task,
                                                     const Batch& batch,
                                                     const LossOptions& loss,
                                                     const IntegrateOptions& integrate);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_TRAIN_H_
