#include "solvers/pca.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include <Eigen/Eigenvalues>

namespace ctrnn {

void PcaOptions::Validate() const {
  if (num_components < 0) {
    throw std::invalid_argument("PcaOptions.num_components = " + std::to_string(num_components) +
                                ": must be >= 0");
  }
  if (!(threshold > 0.0 && threshold <= 1.0)) {
    throw std::invalid_argument("PcaOptions.threshold = " + std::to_string(threshold) +
                                ": must lie in (0, 1]");
  }
}

std::string PcaSummary::BriefReport() const {
  std::ostringstream s;
  s << "Pca: " << samples << " samples of " << units << " units, total variance " << total_variance
    << ", d_90 = " << dimensionality;
  return s.str();
}

PcaSummary Pca(const std::vector<Eigen::MatrixXd>& states,
               const PcaOptions& options,
               PcaResult* result) {
  options.Validate();
  if (result == nullptr) throw std::invalid_argument("Pca: result is null");
  if (states.empty()) throw std::invalid_argument("Pca: no states");
  const Eigen::Index s = states[0].rows();
  Eigen::Index m = 0;
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(s);
  for (std::size_t t = 0; t < states.size(); ++t) {
    if (states[t].rows() != s) {
      throw std::invalid_argument("Pca: states[" + std::to_string(t) + "] has " +
                                  std::to_string(states[t].rows()) + " rows, states[0] " +
                                  std::to_string(s));
    }
    if (!states[t].allFinite()) {
      throw std::invalid_argument("Pca: states[" + std::to_string(t) + "] is not finite");
    }
    m += states[t].cols();
    sum += states[t].rowwise().sum();
  }
  if (m < 2 || s < 1) {
    throw std::invalid_argument("Pca: need at least 2 samples of at least 1 unit (got " +
                                std::to_string(m) + " of " + std::to_string(s) + ")");
  }
  // Two passes (mean, then centred products) for accuracy.
  const Eigen::VectorXd mean = sum / static_cast<double>(m);
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(s, s);
  for (const auto& block : states) {
    const Eigen::MatrixXd centred = block.colwise() - mean;
    cov.selfadjointView<Eigen::Lower>().rankUpdate(centred);
  }
  cov.triangularView<Eigen::StrictlyUpper>() = cov.transpose();
  cov /= static_cast<double>(m - 1);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  if (eig.info() != Eigen::Success) {
    throw std::runtime_error("Pca: the eigendecomposition of the covariance did not converge");
  }
  // Eigen sorts ascending; reverse, and clip round-off negatives of a singular covariance.
  const Eigen::VectorXd lambda = eig.eigenvalues().reverse().cwiseMax(0.0);
  const Eigen::MatrixXd vectors = eig.eigenvectors().rowwise().reverse();
  const double total = lambda.sum();
  const Eigen::VectorXd ratio =
      total > 0.0 ? Eigen::VectorXd(lambda / total) : Eigen::VectorXd::Zero(s);
  Eigen::Index d = s;
  double cumulative = 0.0;
  for (Eigen::Index k = 0; k < s; ++k) {
    cumulative += ratio(k);
    if (cumulative > options.threshold) {
      d = k + 1;
      break;
    }
  }
  const Eigen::Index keep = options.num_components == 0 ? s : std::min(options.num_components, s);
  result->mean = mean;
  result->components = vectors.leftCols(keep).transpose();
  for (Eigen::Index k = 0; k < keep; ++k) {
    Eigen::Index arg = 0;
    result->components.row(k).cwiseAbs().maxCoeff(&arg);
    if (result->components(k, arg) < 0.0) result->components.row(k) *= -1.0;
  }
  result->explained_variance = lambda.head(keep);
  result->explained_variance_ratio = ratio.head(keep);
  result->dimensionality = d;

  PcaSummary summary;
  summary.samples = m;
  summary.units = s;
  summary.total_variance = total;
  summary.dimensionality = d;
  return summary;
}

}  // namespace ctrnn
