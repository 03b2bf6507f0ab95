#include "lib/nonlinearity.h"

#include <stdexcept>

namespace ctrnn {
namespace {

// Cephes' rational approximation of tanh on |x| < 0.625 (relative error ~1e-16); outside it
// 1 - 2/(e^{2|x|} + 1) loses no relative accuracy because |tanh| > 0.55 there.
constexpr double kP0 = -9.64399179425052238628e-1;
constexpr double kP1 = -9.92877231001918586564e1;
constexpr double kP2 = -1.61468768441708447952e3;
constexpr double kQ1 = 1.12811678491632931402e2;
constexpr double kQ2 = 2.23548839060100448583e3;
constexpr double kQ3 = 4.84406305325125486048e3;
constexpr double kLeak = 0.01;

}  // namespace

Nonlinearity ParseNonlinearity(const std::string& name, const std::string& field) {
  if (name == "tanh") return Nonlinearity::kTanh;
  if (name == "leaky_relu") return Nonlinearity::kLeakyRelu;
  if (name == "relu") return Nonlinearity::kRelu;
  if (name == "softplus") return Nonlinearity::kSoftplus;
  if (name == "sigmoid") return Nonlinearity::kSigmoid;
  if (name == "linear") return Nonlinearity::kLinear;
  throw std::invalid_argument(
      field + " = \"" + name +
      "\": unknown nonlinearity (tanh, leaky_relu, relu, softplus, sigmoid, "
      "linear)");
}

std::string NonlinearityName(Nonlinearity phi) {
  switch (phi) {
    case Nonlinearity::kTanh:
      return "tanh";
    case Nonlinearity::kLeakyRelu:
      return "leaky_relu";
    case Nonlinearity::kRelu:
      return "relu";
    case Nonlinearity::kSoftplus:
      return "softplus";
    case Nonlinearity::kSigmoid:
      return "sigmoid";
    case Nonlinearity::kLinear:
      return "linear";
  }
  return "?";
}

namespace internal {

void FastTanh(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::Ref<Eigen::MatrixXd> out) {
  // Column by column so the expression templates fuse without heap temporaries.
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    const auto xc = x.col(j).array();
    const auto a = xc.abs();
    const auto z = xc * xc;
    const auto small =
        xc + xc * z * (((kP0 * z + kP1) * z + kP2) / (((z + kQ1) * z + kQ2) * z + kQ3));
    const auto big = 1.0 - 2.0 / ((2.0 * a).exp() + 1.0);
    out.col(j).array() = (a < 0.625).select(small, (xc < 0.0).select(-big, big));
  }
}

void FastSigmoid(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::Ref<Eigen::MatrixXd> out) {
  // e^{-|x|} never overflows; the two branches are the same function.
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    const auto xc = x.col(j).array();
    const auto e = (-xc.abs()).exp();
    out.col(j).array() = (xc >= 0.0).select(1.0 / (1.0 + e), e / (1.0 + e));
  }
}

}  // namespace internal

void Apply(Nonlinearity phi,
           const Eigen::Ref<const Eigen::MatrixXd>& x,
           Eigen::Ref<Eigen::MatrixXd> out) {
  switch (phi) {
    case Nonlinearity::kTanh:
      internal::FastTanh(x, out);
      return;
    case Nonlinearity::kLeakyRelu:
      out.array() = (x.array() > 0.0).select(x.array(), kLeak * x.array());
      return;
    case Nonlinearity::kRelu:
      out.array() = x.array().max(0.0);
      return;
    case Nonlinearity::kSoftplus:
      // log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}).
      out.array() = x.array().max(0.0) + (-x.array().abs()).exp().log1p();
      return;
    case Nonlinearity::kSigmoid:
      internal::FastSigmoid(x, out);
      return;
    case Nonlinearity::kLinear:
      out = x;
      return;
  }
}

void Derivative(Nonlinearity phi,
                const Eigen::Ref<const Eigen::MatrixXd>& x,
                Eigen::Ref<Eigen::MatrixXd> out) {
  switch (phi) {
    case Nonlinearity::kTanh:
      internal::FastTanh(x, out);
      out.array() = 1.0 - out.array().square();
      return;
    case Nonlinearity::kLeakyRelu:
      out.array() = (x.array() > 0.0).select(1.0, kLeak + 0.0 * x.array());
      return;
    case Nonlinearity::kRelu:
      out.array() = (x.array() > 0.0).select(1.0, 0.0 * x.array());
      return;
    case Nonlinearity::kSoftplus:
      internal::FastSigmoid(x, out);
      return;
    case Nonlinearity::kSigmoid:
      internal::FastSigmoid(x, out);
      out.array() = out.array() * (1.0 - out.array());
      return;
    case Nonlinearity::kLinear:
      out.setOnes();
      return;
  }
}

void ApplyWithDerivative(Nonlinearity phi,
                         const Eigen::Ref<const Eigen::MatrixXd>& x,
                         Eigen::Ref<Eigen::MatrixXd> value,
                         Eigen::Ref<Eigen::MatrixXd> slope) {
  switch (phi) {
    case Nonlinearity::kTanh:
      internal::FastTanh(x, value);
      slope.array() = 1.0 - value.array().square();
      return;
    case Nonlinearity::kSigmoid:
      internal::FastSigmoid(x, value);
      slope.array() = value.array() * (1.0 - value.array());
      return;
    default:
      Apply(phi, x, value);
      Derivative(phi, x, slope);
      return;
  }
}

}  // namespace ctrnn
