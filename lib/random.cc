#include "lib/random.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace ctrnn {

double Rng::Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

std::uint64_t Rng::Below(std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("Rng::Below: n must be at least 1");
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t r = engine_();
  while (r >= limit) r = engine_();
  return r % n;
}

std::string Rng::State() const {
  std::ostringstream out;
  out << engine_ << " " << (has_spare_ ? 1 : 0) << " ";
  out.precision(17);
  out << std::hexfloat << spare_;
  return out.str();
}

void Rng::SetState(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 engine;
  int spare_flag = 0;
  std::string spare_text;
  in >> engine >> spare_flag >> spare_text;
  if (in.fail() || (spare_flag != 0 && spare_flag != 1)) {
    throw std::invalid_argument("Rng::SetState: not a generator state");
  }
  engine_ = engine;
  has_spare_ = spare_flag == 1;
  spare_ = std::strtod(spare_text.c_str(), nullptr);
}

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
