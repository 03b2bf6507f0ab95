#include "lib/models/ctrnn.h"

#include <cmath>
#include <stdexcept>

#include "lib/random.h"

namespace ctrnn {

Ctrnn::Ctrnn(const CtrnnOptions& options) : opt_(options) {
  const Eigen::Index n = opt_.num_neurons;
  const Eigen::Index u = opt_.input_size;
  const Eigen::Index o = output_size();
  if (n < 1 || u < 1 || o < 1) throw std::invalid_argument("ctrnn: sizes must be positive");
  if (opt_.train_tau) tau_off_ = layout_.Add("tau", {n}, "raw time constant per neuron");
  w_in_off_ = layout_.Add("W_in", {n, u}, "input weights");
  if (opt_.biases) b_in_off_ = layout_.Add("b_in", {n}, "input bias");
  w_rec_off_ = layout_.Add("W_rec", {n, n}, "recurrent weights");
  if (opt_.biases) b_rec_off_ = layout_.Add("b_rec", {n}, "recurrent bias");
  w_out_off_ = layout_.Add("W_out", {o, n}, "readout weights (row = head * classes + class)");
  if (opt_.readout_bias) b_out_off_ = layout_.Add("b_out", {o}, "readout bias");
  FinishLayout();
  x0_ = Eigen::VectorXd::Constant(n, opt_.x0);
  if (opt_.train_tau) {
    theta_.segment(tau_off_, n).setConstant(std::max(opt_.tau_lo, opt_.tau_min));
  }
  Refresh();
}

std::unique_ptr<Model> Ctrnn::FromConfig(Config* c, std::uint64_t seed) {
  CtrnnOptions o;
  o.num_neurons = c->GetInt("N", 100, 1, 100000);
  o.input_size = c->GetInt("input_size", 1, 1, 100000);
  o.num_heads = c->GetInt("num_heads", 1, 1, 100000);
  o.num_classes = c->GetInt("num_classes", 1, 1, 100000);
  o.rate_form = c->GetString("form", "current", {"current", "rate"}) == "rate";
  o.phi = ParseNonlinearity(c->GetString("phi", "tanh"), c->path() + ".phi");
  o.train_tau = c->GetBool("train_tau", true);
  o.tau_min = c->GetDouble("tau_min", 1.0, 1e-6, 1e12);
  o.tau = c->GetDouble("tau", 10.0, o.tau_min, 1e12);
  o.tau_lo = c->GetDouble("tau_lo", 1.0, 1e-6, 1e12);
  o.tau_hi = c->GetDouble("tau_hi", 2.0, o.tau_lo, 1e12);
  o.zero_diagonal = c->GetBool("zero_diagonal", false);
  o.scale_by_n = c->GetBool("scale_by_N", false);
  o.biases = c->GetBool("biases", true);
  o.readout_bias = c->GetBool("readout_bias", true);
  o.init = c->GetString("init", "uniform", {"uniform", "nmrnn", "gaussian"});
  o.gain = c->GetDouble("gain", 1.0, 0.0, 1e6);
  o.x0 = c->GetDouble("x0", 0.1, -1e6, 1e6);
  auto model = std::make_unique<Ctrnn>(o);
  model->Initialize(seed);
  return model;
}

void Ctrnn::Initialize(std::uint64_t seed) {
  Rng rng(seed);
  const Eigen::Index n = opt_.num_neurons;
  const Eigen::Index u = opt_.input_size;
  const Eigen::Index o = output_size();
  const double sn = 1.0 / std::sqrt(static_cast<double>(n));
  const double su = 1.0 / std::sqrt(static_cast<double>(u));
  auto set = [&](Eigen::Index off, const Eigen::MatrixXd& m) {
    theta_.segment(off, m.size()) = Eigen::Map<const Eigen::VectorXd>(m.data(), m.size());
  };
  if (opt_.train_tau) set(tau_off_, rng.UniformMatrix(n, 1, opt_.tau_lo, opt_.tau_hi));
  if (opt_.init == "uniform") {
    set(w_in_off_, rng.UniformMatrix(n, u, -su, su));
    if (opt_.biases) set(b_in_off_, rng.UniformMatrix(n, 1, -su, su));
    set(w_rec_off_, rng.UniformMatrix(n, n, -sn, sn));
    if (opt_.biases) set(b_rec_off_, rng.UniformMatrix(n, 1, -sn, sn));
    set(w_out_off_, rng.UniformMatrix(o, n, -sn, sn));
    if (opt_.readout_bias) set(b_out_off_, rng.UniformMatrix(o, 1, -sn, sn));
  } else {
    const bool nm = opt_.init == "nmrnn";
    set(w_rec_off_, rng.NormalMatrix(n, n, nm ? 1.0 : opt_.gain * sn));
    set(w_in_off_, rng.NormalMatrix(n, u, su));
    set(w_out_off_, rng.NormalMatrix(o, n, sn));
    if (opt_.readout_bias && nm) set(b_out_off_, rng.NormalMatrix(o, 1, sn));
  }
  Refresh();
}

std::vector<StateBlock> Ctrnn::state_blocks() const { return {{"x", 0, opt_.num_neurons}}; }

Attributes Ctrnn::hyperparameters() const {
  return {{"N", opt_.num_neurons},
          {"input_size", opt_.input_size},
          {"output_size", output_size()},
          {"num_heads", opt_.num_heads},
          {"num_classes", opt_.num_classes},
          {"form", std::string(opt_.rate_form ? "rate" : "current")},
          {"phi", NonlinearityName(opt_.phi)},
          {"train_tau", std::int64_t{opt_.train_tau}},
          {"tau_min", opt_.tau_min},
          {"zero_diagonal", std::int64_t{opt_.zero_diagonal}},
          {"scale_by_N", std::int64_t{opt_.scale_by_n}}};
}

void Ctrnn::Refresh() {
  const Eigen::Index n = opt_.num_neurons;
  if (opt_.train_tau) {
    const auto raw = theta_.segment(tau_off_, n).array();
    tau_eff_ = raw.max(opt_.tau_min);
    tau_active_ = (raw > opt_.tau_min).cast<double>();
  } else {
    tau_eff_ = Eigen::VectorXd::Constant(n, opt_.tau);
    tau_active_ = Eigen::VectorXd::Zero(n);
  }
  inv_tau_ = tau_eff_.cwiseInverse();
  const double g = opt_.scale_by_n ? 1.0 / static_cast<double>(n) : 1.0;
  w_eff_ = g * BlockView(layout_.Find("W_rec"), theta_);
  if (opt_.zero_diagonal) w_eff_.diagonal().setZero();
  bias_ = Eigen::VectorXd::Zero(n);
  if (opt_.biases) bias_ = theta_.segment(b_in_off_, n) + theta_.segment(b_rec_off_, n);
}

void Ctrnn::Drive(ConstMatRef x,
                  ConstMatRef u,
                  Eigen::MatrixXd* drive,
                  Eigen::MatrixXd* pre) const {
  const auto w_in = BlockView(layout_.Find("W_in"), theta_);
  if (opt_.rate_form) {
    pre->noalias() = w_eff_ * x;
    pre->noalias() += w_in * u;
    pre->colwise() += bias_;
    drive->resize(x.rows(), x.cols());
    Apply(opt_.phi, *pre, *drive);
  } else {
    Eigen::MatrixXd phi_x(x.rows(), x.cols());
    Apply(opt_.phi, x, phi_x);
    drive->noalias() = w_eff_ * phi_x;
    drive->noalias() += w_in * u;
    drive->colwise() += bias_;
  }
}

void Ctrnn::Rhs(ConstMatRef x, ConstMatRef u, MatRef dxdt) const {
  Eigen::MatrixXd drive, pre;
  Drive(x, u, &drive, &pre);
  dxdt = inv_tau_.asDiagonal() * (drive - x);
}

void Ctrnn::Vjp(
    ConstMatRef x, ConstMatRef u, ConstMatRef lambda, MatRef lambda_x, VecRef g_theta) const {
  const Eigen::Index n = opt_.num_neurons;
  const double g = opt_.scale_by_n ? 1.0 / static_cast<double>(n) : 1.0;
  const Eigen::MatrixXd q = inv_tau_.asDiagonal() * lambda;  // λ / τ̃
  Eigen::Map<Eigen::MatrixXd> gw_rec(g_theta.data() + w_rec_off_, n, n);
  Eigen::Map<Eigen::MatrixXd> gw_in(g_theta.data() + w_in_off_, n, opt_.input_size);
  Eigen::MatrixXd p;  // gradient with respect to the drive's linear part
  if (opt_.rate_form) {
    Eigen::MatrixXd pre = w_eff_ * x;
    pre.noalias() += BlockView(layout_.Find("W_in"), theta_) * u;
    pre.colwise() += bias_;
    Eigen::MatrixXd slope(n, x.cols());
    Derivative(opt_.phi, pre, slope);
    p = slope.cwiseProduct(q);
    lambda_x.noalias() = w_eff_.transpose() * p;
    lambda_x -= q;
    gw_rec.noalias() += g * p * x.transpose();
  } else {
    Eigen::MatrixXd value(n, x.cols()), slope(n, x.cols());
    ApplyWithDerivative(opt_.phi, x, value, slope);
    p = q;
    lambda_x.noalias() = w_eff_.transpose() * q;
    lambda_x = lambda_x.cwiseProduct(slope) - q;
    gw_rec.noalias() += g * q * value.transpose();
  }
  if (opt_.zero_diagonal) {
    for (Eigen::Index i = 0; i < n; ++i) gw_rec(i, i) = 0.0;
  }
  gw_in.noalias() += p * u.transpose();
  if (opt_.biases) {
    const Eigen::VectorXd pb = p.rowwise().sum();
    g_theta.segment(b_in_off_, n) += pb;
    g_theta.segment(b_rec_off_, n) += pb;
  }
  if (opt_.train_tau) {
    // f = (D − x)/τ̃  =>  ∂f/∂τ̃ = −f/τ̃, passed through the clamp's 0/1 derivative.
    Eigen::MatrixXd f(n, x.cols());
    Rhs(x, u, f);
    g_theta.segment(tau_off_, n) -=
        tau_active_.cwiseProduct(inv_tau_).cwiseProduct(lambda.cwiseProduct(f).rowwise().sum());
  }
}

Eigen::MatrixXd Ctrnn::Jacobian(ConstVecRef x, ConstVecRef u) const {
  const Eigen::Index n = opt_.num_neurons;
  Eigen::MatrixXd jac;
  if (opt_.rate_form) {
    Eigen::VectorXd pre = w_eff_ * x + BlockView(layout_.Find("W_in"), theta_) * u + bias_;
    Eigen::VectorXd slope(n);
    Derivative(opt_.phi, pre, slope);
    jac = slope.asDiagonal() * w_eff_;
  } else {
    Eigen::VectorXd slope(n);
    Derivative(opt_.phi, x, slope);
    jac = w_eff_ * slope.asDiagonal();
  }
  jac.diagonal().array() -= 1.0;
  return inv_tau_.asDiagonal() * jac;
}

void Ctrnn::Readout(ConstMatRef x, MatRef y) const {
  y.noalias() = BlockView(layout_.Find("W_out"), theta_) * x;
  if (opt_.readout_bias) y.colwise() += theta_.segment(b_out_off_, output_size());
}

void Ctrnn::ReadoutVjp(ConstMatRef x, ConstMatRef ybar, MatRef xbar, VecRef g_theta) const {
  const Eigen::Index o = output_size();
  xbar.noalias() += BlockView(layout_.Find("W_out"), theta_).transpose() * ybar;
  Eigen::Map<Eigen::MatrixXd>(g_theta.data() + w_out_off_, o, opt_.num_neurons).noalias() +=
      ybar * x.transpose();
  if (opt_.readout_bias) g_theta.segment(b_out_off_, o) += ybar.rowwise().sum();
}

}  // namespace ctrnn
