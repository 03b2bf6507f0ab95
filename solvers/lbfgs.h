// Full-batch minimisation of a smooth loss L(θ) by L-BFGS with a Wolfe line search (Ceres'
// GradientProblemSolver), over the trainable entries of θ only: frozen entries stay bit-identical.
//
//   min over θ_T of L(θ),   θ = (θ_T trainable, θ_F frozen at their initial values)
//   θ_T ← θ_T + α·d,   d = −H·∇_T L  (H: the L-BFGS inverse-Hessian estimate from the last
//                                     `memory` steps), α chosen to satisfy the strong Wolfe
//                                     conditions
//
// Stops when max_i |∂L/∂θ_i| ≤ gradient_tolerance (trainable i), when |ΔL| ≤ function_tolerance·L,
// when ‖Δθ‖ ≤ parameter_tolerance·(‖θ‖ + parameter_tolerance) (all: kConverged), after
// max_iterations (kMaxIterations), when the line search fails (kFailure), or when the callback
// says stop (kStoppedByCallback). A NaN or Inf loss or gradient inside the line search makes Ceres
// try a shorter step; at the starting point it ends the run with kNonFinite. Ceres 2.1 reports a
// line search that can no longer move (e.g. a gradient inconsistent with the loss) as converged
// on the parameter tolerance with a zero step: LbfgsSummary::message says which criterion fired.
//
//   LbfgsOptions options;
//   options.trainable = TrainableMask(model.layout(), {"U", "V"});   // solvers/optimizer.h
//   LbfgsSummary s = MinimizeLbfgs(
//       [&](const Eigen::VectorXd& theta, Eigen::VectorXd* g) { ... return loss; }, options,
//       &theta);
#ifndef CTRNN_SOLVERS_LBFGS_H_
#define CTRNN_SOLVERS_LBFGS_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include <Eigen/Core>

namespace ctrnn {

enum class LbfgsTermination {
  kConverged,
  kMaxIterations,
  kFailure,
  kNonFinite,
  kStoppedByCallback
};
// "converged", "max iterations", "failure", "non-finite", "stopped by callback".
std::string LbfgsTerminationName(LbfgsTermination termination);

// What the callback sees after each iteration (iteration 0 is the starting point).
struct LbfgsIteration {
  std::int64_t iteration = 0;
  double loss = 0.0;
  double gradient_max_norm = 0.0;  // max |∂L/∂θ_i| over the trainable entries
  double step_size = 0.0;          // α of the line search (0 at iteration 0)
};

// The loss at theta (the full θ, frozen entries included). If gradient is not null, it must be
// resized to theta.size() and filled with ∂L/∂θ (frozen entries may hold anything). May return
// NaN or Inf (and non-finite gradients): the point is then rejected.
using LbfgsObjective =
    std::function<double(const Eigen::VectorXd& theta, Eigen::VectorXd* gradient)>;

struct LbfgsOptions {
  // Iterations (accepted steps) at most; ≥ 1.
  std::int64_t max_iterations = 1000;
  // Converged when max_i |∂L/∂θ_i| over trainable entries falls to this; ≥ 0 (units of L per θ).
  double gradient_tolerance = 1e-10;
  // Converged when one iteration lowers L by at most this fraction of L; ≥ 0.
  double function_tolerance = 1e-6;
  // Converged when ‖Δθ‖ ≤ parameter_tolerance·(‖θ‖ + parameter_tolerance); ≥ 0.
  double parameter_tolerance = 1e-8;
  // L-BFGS rank: how many past steps shape the inverse-Hessian estimate; ≥ 1.
  int memory = 20;
  // Empty: every entry is trainable. Otherwise one 0 (frozen) or 1 (trainable) per entry of θ,
  // e.g. TrainableMask(layout, blocks).
  Eigen::VectorXd trainable;
  // Called after every iteration; return false to stop (kStoppedByCallback, θ = that iterate).
  std::function<bool(const LbfgsIteration&)> callback;

  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

struct LbfgsSummary {
  LbfgsTermination termination = LbfgsTermination::kFailure;
  std::string message;  // Ceres' explanation of the termination
  std::int64_t iterations = 0;
  std::int64_t evaluations = 0;             // objective calls, with or without gradient
  std::int64_t non_finite_evaluations = 0;  // of those, how many returned NaN or Inf
  std::int64_t num_trainable = 0;
  double initial_loss = std::numeric_limits<double>::quiet_NaN();
  double final_loss = std::numeric_limits<double>::quiet_NaN();

  // kConverged, or kStoppedByCallback: θ holds a usable iterate.
  bool ok() const {
    return termination == LbfgsTermination::kConverged ||
           termination == LbfgsTermination::kStoppedByCallback;
  }
  std::string BriefReport() const;
};

// Minimises objective from *theta, leaving the best iterate in *theta (kConverged,
// kMaxIterations, kStoppedByCallback; after kFailure the last accepted iterate; after kNonFinite
// the start, untouched). Frozen entries are never changed, and the gradient's frozen entries are
// never read. Throws std::invalid_argument on invalid options, a null theta, a mask whose size
// differs from theta's or an entry other than 0 or 1, or a gradient of the wrong size. With no
// trainable entry it evaluates L once and reports kConverged.
LbfgsSummary MinimizeLbfgs(const LbfgsObjective& objective,
                           const LbfgsOptions& options,
                           Eigen::VectorXd* theta);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_LBFGS_H_
