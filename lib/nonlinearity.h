// Elementwise nonlinearities phi and their derivatives, applied to whole batches.
//
//   name        phi(x)                      phi'(x)
//   tanh        tanh(x)                     1 - tanh(x)^2
//   leaky_relu  x if x > 0 else 0.01 x      1 or 0.01
//   relu        max(x, 0)                   1 if x > 0 else 0   (0 at x = 0)
//   softplus    log(1 + e^x)                sigmoid(x)
//   sigmoid     1 / (1 + e^-x)              sigmoid(x)(1 - sigmoid(x))
//   linear      x                           1
//
// tanh and sigmoid go through Eigen's vectorised exp (DESIGN.md §5: Eigen 3.4's double tanh is
// scalar and dominated the forward + backward pass); tests bound their error against std::tanh.
#ifndef CTRNN_LIB_NONLINEARITY_H_
#define CTRNN_LIB_NONLINEARITY_H_

#include <string>

#include <Eigen/Core>

namespace ctrnn {

enum class Nonlinearity { kTanh, kLeakyRelu, kRelu, kSoftplus, kSigmoid, kLinear };

// Throws std::invalid_argument naming `field` and the accepted names.
Nonlinearity ParseNonlinearity(const std::string& name, const std::string& field);
std::string NonlinearityName(Nonlinearity phi);

// out = phi(x) elementwise (out may alias x).
void Apply(Nonlinearity phi,
           const Eigen::Ref<const Eigen::MatrixXd>& x,
           Eigen::Ref<Eigen::MatrixXd> out);
// out = phi'(x) elementwise.
void Derivative(Nonlinearity phi,
                const Eigen::Ref<const Eigen::MatrixXd>& x,
                Eigen::Ref<Eigen::MatrixXd> out);
// Both at once; value and slope may not alias x.
void ApplyWithDerivative(Nonlinearity phi,
                         const Eigen::Ref<const Eigen::MatrixXd>& x,
                         Eigen::Ref<Eigen::MatrixXd> value,
                         Eigen::Ref<Eigen::MatrixXd> slope);

namespace internal {
// Vectorised tanh, |error| <= 1e-15 relative for all finite x (tested).
void FastTanh(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::Ref<Eigen::MatrixXd> out);
void FastSigmoid(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::Ref<Eigen::MatrixXd> out);
}  // namespace internal

}  // namespace ctrnn

#endif  // CTRNN_LIB_NONLINEARITY_H_
