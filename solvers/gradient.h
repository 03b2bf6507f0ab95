// The loss of a model on a batch and its exact gradient in θ by the discrete adjoint of the stepper
// actually used (DESIGN.md §3.3, §3.4): the gradient of the numerical solution, to round-off.
//
// Forward, with x_0 = the model's initial state in every trial and one map Φ per step j (inputs
// constant on each bin, every bin edge a step boundary):
//   x_{j+1} = Φ_j(x_j; θ),   y_k = C(x at edge k),   L = L(y_0..y_T)          (lib/loss.h)
// Reverse, from λ = 0 after the last step, walking the steps backwards:
//   at each edge k:  λ += (∂y_k/∂x)ᵀ ∂L/∂y_k,   θ̄ += (∂y_k/∂θ)ᵀ ∂L/∂y_k      (jumps, ReadoutVjp)
//   per step j:      θ̄ += (∂Φ_j/∂θ)ᵀ λ,   λ ← (∂Φ_j/∂x_j)ᵀ λ
//
// clang-format off
// | stepper         | Φ_j                                      | reverse                                   |
// |-----------------|------------------------------------------|-------------------------------------------|
// | euler           | model.EulerStep (Integrate's steps)      | model.EulerStepVjp                        |
// | rk4             | classic RK4 (runge_kutta.h)              | ExplicitRungeKutta::StepVjp               |
// | dopri5          | the accepted steps of an adaptive        | the same steps, reversed exactly; the     |
// |                 | Integrate run, replayed as fixed         | tolerances choose the steps but are not   |
// |                 | Dormand–Prince 5th-order steps           | differentiated (step sizes are constants) |
// | discrete models | model.Step, one per bin                  | model.StepVjp                             |
// clang-format on
//
// Euler and RK4 cut each bin into the same equal steps as Integrate, so the trajectory matches
// Integrate's (Euler: the same calls; RK4 and Dopri5: round-off, the sums are ordered differently).
// Memory: every step's state is stored once (checkpoint_every_bins = 0), or only the states at
// every k-th bin edge with the steps inside a segment recomputed in the backward pass; both give
// bit-identical results.
//
//   GradientOptions options;               // Euler, dt = 1, store every step
//   Eigen::VectorXd g;
//   GradientSummary s = LossAndGradient(model, batch, LossOptions(), options, &g);
//   if (!s.ok()) std::cerr << s.BriefReport();   // non-finite state or loss, Dopri5 failure
#ifndef CTRNN_SOLVERS_GRADIENT_H_
#define CTRNN_SOLVERS_GRADIENT_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/batch.h"
#include "lib/loss.h"
#include "lib/model.h"
#include "solvers/integrate.h"

namespace ctrnn {

// The steps of a solve, bin by bin: bin k takes bin_steps[k] steps whose sizes are the next
// bin_steps[k] entries of step_sizes. The last step of a bin ends exactly on its edge.
struct StepPlan {
  std::vector<std::int64_t> bin_steps;
  std::vector<double> step_sizes;

  bool empty() const { return bin_steps.empty(); }
  // Throws std::invalid_argument unless there is one count per bin (>= 1 each), the counts add up
  // to the number of sizes, every size is positive and finite, and each bin's sizes add up to its
  // width (relative 1e-8).
  void Validate(const std::vector<double>& bin_edges) const;
};

// The plan of an Integrate run made with record_steps = true (steps grouped by the bin they start
// in). Throws std::invalid_argument if the steps do not tile the bins.
StepPlan StepPlanFromSummary(const IntegrateSummary& summary, const std::vector<double>& bin_edges);

struct GradientOptions {
  // The stepper and its settings, as for Integrate: stepper (euler), dt (1: Euler/RK4 step bound,
  // Dopri5 first trial step), abs_tol/rel_tol/max_step/min_step (Dopri5 step selection), max_steps,
  // dense_per_bin (only through Integrate's rounding of Euler/RK4 step counts). The record_* fields
  // are ignored. Discrete models ignore the stepper: one Step per bin.
  IntegrateOptions integrate;
  // 0: store the state after every step (memory: one S x B state per step). k > 0: store only the
  // states at bin edges 0, k, 2k, ..., and recompute the steps of a segment of k bins in the
  // backward pass (memory: one state per k-th edge plus the steps of one segment; time: about one
  // extra forward pass). Must be >= 0.
  std::int64_t checkpoint_every_bins = 0;
  // Continuous models: if not empty, take exactly these steps (with the chosen stepper's formula)
  // instead of choosing them; e.g. GradientSummary::plan of an earlier call, to get the loss of
  // the same numerical scheme at another θ. Ignored by discrete models.
  StepPlan replay;
  // The trials are cut into `trial_blocks` contiguous blocks of columns (0: one per thread), and
  // `threads` threads run the blocks' forward and backward passes (solvers/parallel.h); the loss
  // is evaluated once on the whole batch and the blocks' gradients are added in block order. The
  // numbers depend on the blocks only: the same blocks give bit-identical results with any
  // number of threads. One block is the plain whole-batch computation. Dopri5's step selection
  // runs on the whole batch, so that every block replays the same steps. Both must be >= 0
  // (threads 0 counts as 1).
  std::int64_t threads = 1;
  std::int64_t trial_blocks = 0;

  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

struct GradientSummary {
  Termination termination = Termination::kSuccess;
  std::string message;
  double loss = std::numeric_limits<double>::quiet_NaN();
  std::int64_t forward_steps = 0;     // steps of the solution (one per bin for discrete models)
  std::int64_t recomputed_steps = 0;  // steps recomputed in the backward pass (checkpointing)
  std::int64_t stored_states = 0;     // most S x B states held at once
  std::int64_t rejected_steps = 0;    // Dopri5 step selection
  StepPlan plan;                      // the steps taken (continuous models)

  bool ok() const { return termination == Termination::kSuccess; }
  std::string BriefReport() const;
};

// L and, if gradient is not null, ∂L/∂θ (resized to model.num_params() and overwritten). The
// initial state is fixed (no gradient). Throws std::invalid_argument on invalid options, a batch
// that does not fit the model (input size, shapes) or the loss (targets missing, wrong shape, bad
// labels; ValidateLossInputs). A numerical failure is a termination in the summary, never an
// abort: a state or loss that becomes NaN or Inf (kNonFinite), a failed Dopri5 step selection
// (kStepSizeUnderflow, kMaxSteps), more than integrate.max_steps steps (kMaxSteps); the gradient
// is then filled with NaN and the loss is NaN unless it was computed.
GradientSummary LossAndGradient(const Model& model,
                                const Batch& batch,
                                const LossOptions& loss,
                                const GradientOptions& options,
                                Eigen::VectorXd* gradient);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_GRADIENT_H_
