// Principal component analysis of trajectories: states pooled over trials and times (timescales
// spec §5.3, nmrnn spec §4.2; scikit-learn's centred PCA).
//
//   X        m x S samples (one row per trial and time), μ = column means
//   C        = (X − μ)ᵀ(X − μ)/(m − 1)                      (S x S sample covariance)
//   C        = Σ_k λ_k v_k v_kᵀ,  λ_1 ≥ λ_2 ≥ … ≥ 0          components v_k, explained variance λ_k
//   ratio_k  = λ_k / Σ_j λ_j
//   d_90     = the fewest components whose ratios sum to more than the threshold (0.9)
//
// The spec's "dim" is the 0-based index np.where(cumsum(ratio) > 0.9)[0][0], i.e. d_90 − 1. Each
// component's sign is fixed so that its entry of largest magnitude is positive.
#ifndef CTRNN_SOLVERS_PCA_H_
#define CTRNN_SOLVERS_PCA_H_

#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/model.h"

namespace ctrnn {

struct PcaOptions {
  // Components kept in the result (0: all S). d_90 is computed from all of them either way.
  Eigen::Index num_components = 0;
  // Cumulative explained-variance ratio that d_90 must exceed; in (0, 1].
  double threshold = 0.9;

  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

struct PcaResult {
  Eigen::VectorXd mean;                      // S
  Eigen::MatrixXd components;                // K x S, one component per row (sklearn's layout)
  Eigen::VectorXd explained_variance;        // K, λ_k (descending)
  Eigen::VectorXd explained_variance_ratio;  // K, λ_k / Σ λ
  Eigen::Index dimensionality = 0;           // d_90
};

struct PcaSummary {
  Eigen::Index samples = 0;  // m
  Eigen::Index units = 0;    // S
  double total_variance = 0.0;
  Eigen::Index dimensionality = 0;
  std::string BriefReport() const;
};

// PCA of the states pooled over all times and trials: `states[t]` is S x B (a Trajectory's
// states, or any list of sample blocks with one column per sample). Throws std::invalid_argument
// for invalid options, no samples, fewer than 2 samples, blocks of different row counts, or a
// non-finite value.
PcaSummary Pca(const std::vector<Eigen::MatrixXd>& states,
               const PcaOptions& options,
               PcaResult* result);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_PCA_H_
