#include "lib/models/qr.h"

#include <stdexcept>

#include <Eigen/Dense>

namespace ctrnn {

void ThinQr(const Eigen::Ref<const Eigen::MatrixXd>& a, Eigen::MatrixXd* q, Eigen::MatrixXd* r) {
  const Eigen::Index n = a.rows();
  const Eigen::Index k = a.cols();
  if (n < k) throw std::invalid_argument("ThinQr: needs rows >= cols");
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  *q = qr.householderQ() * Eigen::MatrixXd::Identity(n, k);
  *r = qr.matrixQR().topRows(k).triangularView<Eigen::Upper>();
  for (Eigen::Index j = 0; j < k; ++j) {
    if ((*r)(j, j) == 0.0) throw std::domain_error("ThinQr: rank-deficient matrix");
    if ((*r)(j, j) < 0.0) {  // flip the sign of column j of Q and row j of R
      q->col(j) *= -1.0;
      r->row(j) *= -1.0;
    }
  }
}

Eigen::MatrixXd ThinQrBackward(const Eigen::Ref<const Eigen::MatrixXd>& q,
                               const Eigen::Ref<const Eigen::MatrixXd>& r,
                               const Eigen::Ref<const Eigen::MatrixXd>& q_bar) {
  const Eigen::MatrixXd m = -q_bar.transpose() * q;
  Eigen::MatrixXd c = m;
  for (Eigen::Index i = 0; i < c.rows(); ++i) {
    for (Eigen::Index j = i + 1; j < c.cols(); ++j) c(i, j) = m(j, i);
  }
  // Ā = B R^{-T}  <=>  Ā Rᵀ = B  <=>  R Āᵀ = Bᵀ.
  const Eigen::MatrixXd b = q_bar + q * c;
  return r.triangularView<Eigen::Upper>().solve(b.transpose()).transpose();
}

}  // namespace ctrnn
