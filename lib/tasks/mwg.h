// Measure-Wait-Go timing task (NM-RNN spec §2.1).
//
// T = 110 unit bins. Three one-hot pulse channels (measure, set, go) of amplitude 10 at single
// bins: measure at t_m, set at t_m + I, go at t_go = t_m + I + delay (delay = 15). The target (one
// output) is y*(t) = −0.5 + clip((t − t_go)/I, 0, 1): −0.5 until the go cue, a linear ramp to +0.5
// over I bins, then 0.5. The mask is all ones. targets[t] is compared with the output at bin end t
// + 1.
//
// Training set: I ∈ {12, 14, 16, 18}, t_m ∈ {10, …, 19}: 40 trials, trial j has I = intervals[j /
// 10] and t_m = 10 + j % 10. Extrapolation set: I = 4, 6, …, 26 with t_m = 15 (12 trials; short
// 0–3, trained 4–7, long 8–11).
#ifndef CTRNN_LIB_TASKS_MWG_H_
#define CTRNN_LIB_TASKS_MWG_H_

#include <vector>

#include "lib/batch.h"
#include "lib/config.h"

namespace ctrnn {

struct MwgOptions {
  int num_bins = 110;
  double amplitude = 10.0;
  int delay = 15;
  double bin_width = 1.0;  // time units per bin (1 = the papers' discrete steps)
};

struct MwgTrial {
  int interval;
  int t_measure;
};

// The trials of a set in order, and the batch built from any list of trials.
std::vector<MwgTrial> MwgTrainingTrials();
std::vector<MwgTrial> MwgExtrapolationTrials();
// Throws std::invalid_argument if a trial's ramp would not fit in num_bins.
Batch MakeMwgBatch(const std::vector<MwgTrial>& trials, const MwgOptions& options);
// The batch a [task] table with name = "mwg" asks for: set ("train" | "extrapolation"),
// num_bins (110), amplitude (10), delay (15), bin_width (1).
Batch MwgBatchFromConfig(Config* task);

}  // namespace ctrnn

#endif  // CTRNN_LIB_TASKS_MWG_H_
