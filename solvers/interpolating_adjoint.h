// The continuous interpolating adjoint (DESIGN.md §3.4): the gradient of the loss of the exact ODE
// solution, approximated to a tolerance, for continuous models.
//
//   dλ/dt = −(∂f/∂x)ᵀ λ,   dθ̄/dt = −(∂f/∂θ)ᵀ λ,   integrated backwards from t_T to t_0,
//   with the jumps λ(t_k) += (∂y_k/∂x)ᵀ ∂L/∂y_k and θ̄ += (∂y_k/∂θ)ᵀ ∂L/∂y_k at the bin edges.
//
// x(t) is never integrated backwards (the backsolve adjoint's failure mode: for leaky networks its
// error grows like e^{T/τ}). The forward solution is kept only at the bin edges (checkpoints); in
// the backward pass each bin's forward steps are recomputed from its left edge and x(t) inside a
// step is the cubic Hermite interpolant of the step's end states and slopes (fourth order). The
// backward system [λ; θ̄] is solved by adaptive Dormand–Prince (Boost.Odeint) with its own
// tolerances, bin by bin, so the inputs' jumps are step boundaries in both directions.
//
// Accuracy: the result differs from the exact gradient by terms of the order of the forward and
// adjoint tolerances (and of the Hermite interpolation error of the forward steps); it is not the
// derivative of the numerical solution: for that use LossAndGradient (the discrete adjoint).
#ifndef CTRNN_SOLVERS_INTERPOLATING_ADJOINT_H_
#define CTRNN_SOLVERS_INTERPOLATING_ADJOINT_H_

#include "lib/batch.h"
#include "lib/loss.h"
#include "lib/model.h"
#include "solvers/gradient.h"

namespace ctrnn {

struct InterpolatingAdjointOptions {
  // The forward solve (default: Dormand–Prince with abs_tol = rel_tol = 1e-8). Euler and RK4 are
  // accepted: their steps are then the interpolation nodes.
  IntegrateOptions forward;
  // Error tolerances of the backward solve of [λ; θ̄] (odeint's max-norm test). Must be > 0.
  double adjoint_abs_tol = 1e-8;
  double adjoint_rel_tol = 1e-8;
  // The first trial step of the backward solve in each bin (time units). Must be > 0.
  double adjoint_initial_step = 0.1;
  // Accepted backward steps before giving up with kMaxSteps.
  std::int64_t adjoint_max_steps = 10'000'000;

  InterpolatingAdjointOptions();
  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

struct InterpolatingAdjointSummary {
  GradientSummary gradient;        // termination, loss, forward steps (and the forward plan)
  std::int64_t adjoint_steps = 0;  // accepted backward steps, all bins
  std::int64_t adjoint_rejected_steps = 0;
  std::int64_t vjp_evaluations = 0;
  bool ok() const { return gradient.ok(); }
  std::string BriefReport() const;
};

// L and ∂L/∂θ (gradient resized to num_params, overwritten). Throws std::invalid_argument for a
// discrete model (use LossAndGradient), invalid options or a batch that does not fit the model or
// the loss. Numerical failure (non-finite state, loss or adjoint; step-size collapse; max steps) is
// a termination in the summary; the gradient is then NaN.
InterpolatingAdjointSummary InterpolatingAdjointGradient(const Model& model,
                                                         const Batch& batch,
                                                         const LossOptions& loss,
                                                         const InterpolatingAdjointOptions& options,
                                                         Eigen::VectorXd* gradient);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_INTERPOLATING_ADJOINT_H_
