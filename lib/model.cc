#include "lib/model.h"

#include <stdexcept>

namespace ctrnn {

void Model::FinishLayout() { theta_ = Eigen::VectorXd::Zero(layout_.size()); }

void Model::SetTheta(ConstVecRef theta) {
  if (theta.size() != layout_.size()) {
    throw std::invalid_argument(kind() + ": SetTheta: theta has " + std::to_string(theta.size()) +
                                " entries, the model has " + std::to_string(layout_.size()));
  }
  theta_ = theta;
  Refresh();
}

Eigen::Map<const Eigen::MatrixXd> Model::Param(const std::string& name) const {
  return BlockView(layout_.Find(name), theta_);
}

void Model::SetParam(const std::string& name, ConstMatRef value) {
  const ParamBlock& b = layout_.Find(name);
  if (value.rows() != b.rows() || value.cols() != b.cols()) {
    throw std::invalid_argument(kind() + ": SetParam: block '" + name + "' is " +
                                std::to_string(b.rows()) + "x" + std::to_string(b.cols()) +
                                ", value is " + std::to_string(value.rows()) + "x" +
                                std::to_string(value.cols()));
  }
  BlockView(b, &theta_) = value;
  Refresh();
}

void Model::set_initial_state(ConstVecRef x0) {
  if (x0.size() != state_size()) {
    throw std::invalid_argument(kind() + ": initial state has " + std::to_string(x0.size()) +
                                " entries, the state has " + std::to_string(state_size()));
  }
  x0_ = x0;
}

void ContinuousModel::EulerStep(ConstMatRef x, ConstMatRef u, double dt, MatRef x_next) const {
  Rhs(x, u, x_next);
  x_next = x + dt * x_next;
}

void ContinuousModel::EulerStepVjp(ConstMatRef x,
                                   ConstMatRef u,
                                   double dt,
                                   ConstMatRef lambda_next,
                                   MatRef lambda,
                                   VecRef g_theta) const {
  // x_next = x + dt f(x): lambda = lambda_next + dt (df/dx)^T lambda_next. The scaled adjoint lives
  // in per-thread scratch (a const model may be shared by threads), so a step allocates nothing
  // once the batch shape has been seen.
  static thread_local Eigen::MatrixXd scaled;
  scaled = dt * lambda_next;
  Vjp(x, u, scaled, lambda, g_theta);
  lambda += lambda_next;
}

}  // namespace ctrnn
