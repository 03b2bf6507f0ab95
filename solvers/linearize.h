// Linearisation at fixed points: the eigen-decomposition of each Jacobian, stability and the
// timescales of the linearised modes (DESIGN.md §1 "Linearize (eigen-timescales)").
//
//   continuous time   J = ∂f/∂x at x*,  modes e^{λ t}:   stable iff max Re λ < 0,
//                     τ_i = −1 / Re λ_i
//   discrete map      J = ∂F/∂h at h*,  modes μ^k:       stable iff max |μ| < 1,
//                     τ_i = −dt / ln |μ_i|   (dt: the time one step of the map stands for)
//
// τ is in the model's time unit; it is positive for a decaying mode, negative for a growing one,
// +inf for a marginal one (Re λ = 0 or |μ| = 1). Eigenvalues are sorted slowest first: by Re λ
// descending (continuous) or |μ| descending (map); a conjugate pair is ordered by Im descending.
// Eigenvectors (columns, unit norm) follow the same order. The convention string states all this
// and is stored beside the numbers.
#ifndef CTRNN_SOLVERS_LINEARIZE_H_
#define CTRNN_SOLVERS_LINEARIZE_H_

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace ctrnn {

struct LinearizeOptions {
  // The Jacobians are of a map h ↦ F(h) (true) or of a vector field f (false). Default false.
  bool discrete = false;
  // The time one step of the map stands for (maps only), in the model's time unit; > 0.
  // Default 1.
  double dt = 1.0;

  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

struct Linearization {
  std::vector<Eigen::VectorXcd> eigenvalues;   // per point, S values, slowest first
  std::vector<Eigen::MatrixXcd> eigenvectors;  // per point, S x S, column i for eigenvalue i
  std::vector<Eigen::VectorXd> timescales;     // per point, S values (see above)
  std::vector<bool> is_stable;
  std::string convention;  // the formulas and ordering in words
};

struct LinearizeSummary {
  std::int64_t num_points = 0;
  std::int64_t num_stable = 0;
  // Points whose eigen-decomposition did not converge (their values are NaN, is_stable false).
  std::int64_t num_failed = 0;
  std::string message;

  bool ok() const { return num_failed == 0; }
  std::string BriefReport() const;
};

// The convention string for these options (also in Linearization::convention).
std::string LinearizeConvention(const LinearizeOptions& options);

// Decomposes every (square) Jacobian. Throws std::invalid_argument for invalid options or a
// non-square or non-finite Jacobian (naming its index); a decomposition that fails to converge is
// counted in the summary.
LinearizeSummary Linearize(const std::vector<Eigen::MatrixXd>& jacobians,
                           const LinearizeOptions& options,
                           Linearization* out);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_LINEARIZE_H_
