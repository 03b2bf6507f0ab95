// One explicit Runge–Kutta step from a Butcher tableau (a, b, c), and its exact reverse: the
// building block of the discrete adjoint for RK4 and replayed Dormand–Prince (DESIGN.md §3.4).
//
// Forward, for a model dx/dt = f(x, u; θ) with u constant over the step (s stages):
//   X_i = x + h Σ_{j<i} a_ij k_j,   k_i = f(X_i, u),   x_next = x + h Σ_i b_i k_i
// Reverse (vector–Jacobian product), given λ_next = ∂L/∂x_next, for i = s down to 1:
//   k̄_i = h (b_i λ_next + Σ_{j>i} a_ji X̄_j),   X̄_i = (∂f/∂x at X_i)ᵀ k̄_i,
//   θ̄ += (∂f/∂θ at X_i)ᵀ k̄_i;          then λ = λ_next + Σ_i X̄_i.
// The reverse recomputes the stages from x (s − 1 evaluations of f) rather than storing them.
//
// | tableau             | s | order | notes                                                  |
// |---------------------|---|-------|--------------------------------------------------------|
// | ClassicRk4Tableau   | 4 | 4     | odeint's runge_kutta4                                  |
// | DormandPrince5Tableau | 6 | 5   | odeint's runge_kutta_dopri5 solution (weights b of the  |
// |                     |   |       | 5th-order result); the FSAL 7th stage only estimates    |
// |                     |   |       | the error and is not part of the step                   |
#ifndef CTRNN_SOLVERS_RUNGE_KUTTA_H_
#define CTRNN_SOLVERS_RUNGE_KUTTA_H_

#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/model.h"

namespace ctrnn {

struct ButcherTableau {
  std::string name;
  Eigen::MatrixXd a;  // s x s, strictly lower triangular (explicit)
  Eigen::VectorXd b;  // s solution weights
  Eigen::VectorXd c;  // s nodes (for the record: the models are autonomous on a step, u fixed)

  Eigen::Index stages() const { return b.size(); }
  // Throws std::invalid_argument if the shapes disagree, a is not strictly lower triangular, or
  // an entry is not finite.
  void Validate() const;
};

const ButcherTableau& ClassicRk4Tableau();
const ButcherTableau& DormandPrince5Tableau();

// The workspace for steps of one tableau on S x B batches: construct once, step many times; Step
// and StepVjp allocate nothing (beyond what the model's Rhs and Vjp do).
class ExplicitRungeKutta {
 public:
  // Throws std::invalid_argument if the tableau is invalid or a size is negative.
  ExplicitRungeKutta(const ButcherTableau& tableau, Eigen::Index state_size, Eigen::Index trials);

  const ButcherTableau& tableau() const { return tableau_; }

  // x_next = x + h Σ b_i k_i (x, x_next: S x B, u: U x B; x_next must not alias x).
  void Step(const ContinuousModel& model, ConstMatRef x, ConstMatRef u, double h, MatRef x_next);
  // lambda = (∂x_next/∂x)ᵀ lambda_next (overwritten), g_theta += (∂x_next/∂θ)ᵀ lambda_next, for
  // the step from x. lambda must not alias lambda_next.
  void StepVjp(const ContinuousModel& model,
               ConstMatRef x,
               ConstMatRef u,
               double h,
               ConstMatRef lambda_next,
               MatRef lambda,
               VecRef g_theta);

 private:
  // Stage states X_i (i >= 1; X_0 is x itself) and slopes k_i; the slope of the last stage only
  // when `last_slope` (the reverse pass never reads it).
  void Stages(
      const ContinuousModel& model, ConstMatRef x, ConstMatRef u, double h, bool last_slope);

  ButcherTableau tableau_;
  std::vector<Eigen::MatrixXd> stage_x_, slope_, stage_bar_;
  Eigen::MatrixXd slope_bar_;
  // needed_[i]: k̄_i can be nonzero (b_i ≠ 0 or a later needed stage reads k_i).
  std::vector<bool> needed_;
};

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_RUNGE_KUTTA_H_
