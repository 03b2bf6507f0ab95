// A training run's state in its run file (data/SCHEMA.md: /training and /checkpoint), so that
// `ctrnn train --resume` continues exactly where a run stopped.
//
//   /training              attributes: termination, message, iterations, total_iterations,
//                          best_loss, best_iteration, seconds; datasets iteration, loss, seconds
//   /training/eval         datasets iteration and one per metric (loss, percent_correct_..., ...)
//   /checkpoint            attributes: iteration, stage, stage_iteration, optimizer_steps,
//                          batch_rng, batch_rng_restart; datasets theta, optimizer_m, optimizer_v,
//                          best_theta; curriculum_ns (attribute, "2,3,4") under a curriculum
//   /training/curriculum   attribute ns; datasets iteration, n_max, mean_accuracy,
//                          accuracy_n_max, advanced (one entry per tested epoch)
//   /training/curriculum/snapshots   one theta per advance, "rnn_N<min>_N<max>" (the solved set)
#ifndef CTRNN_SOLVERS_TRAIN_IO_H_
#define CTRNN_SOLVERS_TRAIN_IO_H_

#include <string>
#include <vector>

#include "lib/archive.h"
#include "solvers/train.h"

namespace ctrnn {

// The groups to add to a RunRecord. `summary` may be null (a checkpoint during training: the
// termination is then "running").
std::vector<ArchiveGroup> TrainStateGroups(const TrainState& state,
                                           std::int64_t total_iterations,
                                           const TrainSummary* summary);

// The state saved in a run file. Throws std::runtime_error naming the file when it has no
// /checkpoint or /training group, or they are incomplete.
TrainState ReadTrainState(const std::string& path);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_TRAIN_IO_H_
