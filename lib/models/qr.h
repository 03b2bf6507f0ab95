// Thin QR with a positive-diagonal R, and its backward pass (NM-RNN spec §1.2).
//
//   A = Q R,  A: N x K (N >= K, full column rank), Q: N x K with QᵀQ = I, R: K x K upper
//   triangular, diag(R) > 0 (the Gram–Schmidt convention; LAPACK leaves the signs free).
//
// Backward, given Q̄ (R̄ = 0):  M = -Q̄ᵀQ,  C = copyltu(M) (C_ij = M_ij for j <= i, M_ji above),
//   Ā = (Q̄ + Q C) R^{-T}.
#ifndef CTRNN_LIB_MODELS_QR_H_
#define CTRNN_LIB_MODELS_QR_H_

#include <Eigen/Core>

namespace ctrnn {

// Throws std::domain_error if A is rank deficient (a zero diagonal of R).
void ThinQr(const Eigen::Ref<const Eigen::MatrixXd>& a, Eigen::MatrixXd* q, Eigen::MatrixXd* r);

// Returns Ā for the loss gradient Q̄ with respect to Q.
Eigen::MatrixXd ThinQrBackward(const Eigen::Ref<const Eigen::MatrixXd>& q,
                               const Eigen::Ref<const Eigen::MatrixXd>& r,
                               const Eigen::Ref<const Eigen::MatrixXd>& q_bar);

}  // namespace ctrnn

#endif  // CTRNN_LIB_MODELS_QR_H_
