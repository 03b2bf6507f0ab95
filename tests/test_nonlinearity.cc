#include <cmath>

#include <catch2/catch.hpp>

#include "lib/nonlinearity.h"
#include "tests/testing.h"

namespace ctrnn {
namespace {

TEST_CASE("the vectorised tanh and sigmoid agree with libm to a few ulp", "[model]") {
  Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(400001, -25.0, 25.0);
  Eigen::VectorXd small = Eigen::VectorXd::LinSpaced(20001, -1e-3, 1e-3);
  Eigen::VectorXd all(x.size() + small.size() + 4);
  all << x, small, 1e-300, -1e-20, 800.0, -900.0;
  Eigen::VectorXd t(all.size()), s(all.size());
  internal::FastTanh(all, t);
  internal::FastSigmoid(all, s);
  double worst_t = 0.0, worst_s = 0.0;
  for (Eigen::Index i = 0; i < all.size(); ++i) {
    const double rt = std::tanh(all(i)), rs = 1.0 / (1.0 + std::exp(-all(i)));
    if (rt != 0.0) worst_t = std::max(worst_t, std::abs(t(i) - rt) / std::abs(rt));
    if (rs != 0.0) worst_s = std::max(worst_s, std::abs(s(i) - rs) / std::abs(rs));
  }
  CHECK(worst_t < 1e-15);
  CHECK(worst_s < 1e-14);
}

TEST_CASE("every nonlinearity's derivative matches central differences", "[model]") {
  const Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(40, -3.05, 3.05);  // avoids the kinks at 0
  for (const char* name : {"tanh", "leaky_relu", "relu", "softplus", "sigmoid", "linear"}) {
    const Nonlinearity phi = ParseNonlinearity(name, "phi");
    Eigen::VectorXd d(x.size()), v(x.size()), s(x.size());
    Derivative(phi, x, d);
    ApplyWithDerivative(phi, x, v, s);
    const double h = 1e-6;
    Eigen::VectorXd p(x.size()), m(x.size());
    Apply(phi, (x.array() + h).matrix(), p);
    Apply(phi, (x.array() - h).matrix(), m);
    INFO(name);
    CHECK(testing::RelErr(d, (p - m) / (2 * h)) < 1e-8);
    CHECK(s == d);
  }
  Eigen::VectorXd big(2), out(2);
  big << 800.0, -800.0;
  Apply(Nonlinearity::kSoftplus, big, out);
  CHECK(out(0) == 800.0);
  CHECK(out(1) >= 0.0);
}

}  // namespace
}  // namespace ctrnn
