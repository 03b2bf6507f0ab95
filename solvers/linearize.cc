#include "solvers/linearize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include <Eigen/Eigenvalues>

namespace ctrnn {

void LinearizeOptions::Validate() const {
  if (!(dt > 0.0) || !std::isfinite(dt)) {
    std::ostringstream msg;
    msg << "LinearizeOptions.dt = " << dt << ": must be finite and > 0";
    throw std::invalid_argument(msg.str());
  }
}

std::string LinearizeConvention(const LinearizeOptions& options) {
  std::ostringstream out;
  if (options.discrete) {
    out << "discrete map: J = dF/dh at h*; eigenvalues mu sorted by |mu| descending (conjugate "
           "pairs by Im descending), eigenvectors as columns; stable iff max |mu| < 1; timescale "
           "tau_i = -dt/ln|mu_i| with dt = "
        << options.dt << " (model time units; negative: growing mode, inf: |mu| = 1)";
  } else {
    out << "continuous time: J = df/dx at x*; eigenvalues lambda sorted by Re(lambda) descending "
           "(conjugate pairs by Im descending), eigenvectors as columns; stable iff max "
           "Re(lambda) < 0; timescale tau_i = -1/Re(lambda_i) (model time units; negative: "
           "growing mode, inf: Re(lambda) = 0)";
  }
  return out.str();
}

std::string LinearizeSummary::BriefReport() const {
  std::ostringstream out;
  out << "linearization: " << num_stable << " of " << num_points << " points stable";
  if (num_failed > 0) out << ", " << num_failed << " eigen-decompositions failed";
  if (!message.empty()) out << " (" << message << ")";
  return out.str();
}

LinearizeSummary Linearize(const std::vector<Eigen::MatrixXd>& jacobians,
                           const LinearizeOptions& options,
                           Linearization* out) {
  options.Validate();
  if (out == nullptr) throw std::invalid_argument("Linearize: out is null");
  for (std::size_t k = 0; k < jacobians.size(); ++k) {
    const Eigen::MatrixXd& j = jacobians[k];
    if (j.rows() != j.cols() || j.rows() == 0) {
      throw std::invalid_argument("Linearize: Jacobian " + std::to_string(k) + " is " +
                                  std::to_string(j.rows()) + " x " + std::to_string(j.cols()) +
                                  ", expected a non-empty square matrix");
    }
    if (!j.allFinite()) {
      throw std::invalid_argument("Linearize: Jacobian " + std::to_string(k) + " is not finite");
    }
  }
  Linearization& lin = *out;
  lin = Linearization();
  lin.convention = LinearizeConvention(options);
  LinearizeSummary summary;
  summary.num_points = static_cast<std::int64_t>(jacobians.size());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const Eigen::MatrixXd& j : jacobians) {
    const Eigen::Index n = j.rows();
    Eigen::EigenSolver<Eigen::MatrixXd> solver(j, /*computeEigenvectors=*/true);
    if (solver.info() != Eigen::Success) {
      ++summary.num_failed;
      lin.eigenvalues.push_back(Eigen::VectorXcd::Constant(n, {nan, nan}));
      lin.eigenvectors.push_back(Eigen::MatrixXcd::Constant(n, n, {nan, nan}));
      lin.timescales.push_back(Eigen::VectorXd::Constant(n, nan));
      lin.is_stable.push_back(false);
      continue;
    }
    const Eigen::VectorXcd values = solver.eigenvalues();
    const Eigen::MatrixXcd vectors = solver.eigenvectors();
    // The key that orders the modes slowest first, and decides stability.
    auto key = [&](Eigen::Index i) {
      return options.discrete ? std::abs(values(i)) : values(i).real();
    };
    std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) {
      if (key(a) != key(b)) return key(a) > key(b);
      return values(a).imag() > values(b).imag();
    });
    Eigen::VectorXcd sorted_values(n);
    Eigen::MatrixXcd sorted_vectors(n, n);
    Eigen::VectorXd tau(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      const Eigen::Index src = order[static_cast<std::size_t>(i)];
      sorted_values(i) = values(src);
      sorted_vectors.col(i) = vectors.col(src);
      if (options.discrete) {
        const double log_abs = std::log(std::abs(values(src)));
        tau(i) = log_abs == 0.0 ? std::numeric_limits<double>::infinity() : -options.dt / log_abs;
      } else {
        const double re = values(src).real();
        tau(i) = re == 0.0 ? std::numeric_limits<double>::infinity() : -1.0 / re;
      }
    }
    const bool stable = options.discrete ? key(order[0]) < 1.0 : key(order[0]) < 0.0;
    if (stable) ++summary.num_stable;
    lin.eigenvalues.push_back(std::move(sorted_values));
    lin.eigenvectors.push_back(std::move(sorted_vectors));
    lin.timescales.push_back(std::move(tau));
    lin.is_stable.push_back(stable);
  }
  summary.message = options.discrete ? "discrete map" : "continuous time";
  return summary;
}

}  // namespace ctrnn
