#include "lib/random.h"

#include <cmath>

namespace ctrnn {

double Rng::Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Rng::Normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = Uniform();
  while (u1 <= 0.0) u1 = Uniform();
  const double u2 = Uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * M_PI * u2;
  spare_ = r * std::sin(angle);
  has_spare_ = true;
  return r * std::cos(angle);
}

Eigen::MatrixXd Rng::NormalMatrix(Eigen::Index rows, Eigen::Index cols, double scale) {
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j) {
    for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = scale * Normal();
  }
  return m;
}

Eigen::MatrixXd Rng::UniformMatrix(Eigen::Index rows, Eigen::Index cols, double lo, double hi) {
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j) {
    for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = Uniform(lo, hi);
  }
  return m;
}

}  // namespace ctrnn
