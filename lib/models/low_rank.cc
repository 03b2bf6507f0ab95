#include "lib/models/low_rank.h"

#include <cmath>
#include <stdexcept>

#include "lib/models/qr.h"
#include "lib/random.h"

namespace ctrnn {

LowRank::LowRank(const LowRankOptions& options) : opt_(options) {
  const Eigen::Index n = opt_.num_neurons;
  if (opt_.rank < 1 || opt_.rank > n) {
    throw std::invalid_argument("low_rank: R = " + std::to_string(opt_.rank) +
                                " must lie in [1, N = " + std::to_string(n) + "]");
  }
  u_off_ = layout_.Add("U", {n, opt_.rank}, "left factors before orthonormalisation");
  v_off_ = layout_.Add("V", {n, opt_.rank}, "right factors");
  b_off_ = layout_.Add("B", {n, opt_.input_size}, "input weights");
  c_off_ = layout_.Add("C", {opt_.output_size, n}, "readout weights");
  if (opt_.readout_bias) d_off_ = layout_.Add("d", {opt_.output_size}, "readout bias");
  FinishLayout();
  // A full-rank U so that the QR is defined before Initialize.
  BlockView(layout_.Find("U"), &theta_).setIdentity();
  x0_ = Eigen::VectorXd::Constant(n, opt_.x0);
  g_ = opt_.scale_by_n ? 1.0 / static_cast<double>(n) : 1.0;
  Refresh();
}

std::unique_ptr<Model> LowRank::FromConfig(Config* c, std::uint64_t seed) {
  LowRankOptions o;
  o.num_neurons = c->GetInt("N", 106, 1, 100000);
  o.rank = c->GetInt("R", 3, 1, o.num_neurons);
  o.input_size = c->GetInt("input_size", 3, 1, 100000);
  o.output_size = c->GetInt("output_size", 1, 1, 100000);
  o.tau = c->GetDouble("tau", 10.0, 1e-9, 1e12);
  o.phi = ParseNonlinearity(c->GetString("phi", "tanh"), c->path() + ".phi");
  o.orthonormalize_u = c->GetBool("orthonormalize_U", true);
  o.scale_by_n = c->GetBool("scale_by_N", true);
  o.readout_bias = c->GetBool("readout_bias", true);
  o.init = c->GetString("init", "nmrnn", {"nmrnn", "eft"});
  o.gain = c->GetDouble("gain", 1.0, 0.0, 1e6);
  o.x0 = c->GetDouble("x0", 0.1, -1e6, 1e6);
  auto model = std::make_unique<LowRank>(o);
  model->Initialize(seed);
  return model;
}

void LowRank::Initialize(std::uint64_t seed) {
  Rng rng(seed);
  const Eigen::Index n = opt_.num_neurons;
  const double sn = 1.0 / std::sqrt(static_cast<double>(n));
  const double su = 1.0 / std::sqrt(static_cast<double>(opt_.input_size));
  const double sf = opt_.init == "eft" ? opt_.gain * sn : 1.0;
  BlockView(layout_.Find("U"), &theta_) = rng.NormalMatrix(n, opt_.rank, sf);
  BlockView(layout_.Find("V"), &theta_) = rng.NormalMatrix(n, opt_.rank, sf);
  BlockView(layout_.Find("B"), &theta_) = rng.NormalMatrix(n, opt_.input_size, su);
  BlockView(layout_.Find("C"), &theta_) = rng.NormalMatrix(opt_.output_size, n, sn);
  if (opt_.readout_bias) {
    BlockView(layout_.Find("d"), &theta_) = rng.NormalMatrix(opt_.output_size, 1, sn);
  }
  Refresh();
}

std::vector<StateBlock> LowRank::state_blocks() const { return {{"x", 0, opt_.num_neurons}}; }

Attributes LowRank::hyperparameters() const {
  return {{"N", opt_.num_neurons},
          {"R", opt_.rank},
          {"input_size", opt_.input_size},
          {"output_size", opt_.output_size},
          {"tau", opt_.tau},
          {"phi", NonlinearityName(opt_.phi)},
          {"orthonormalize_U", std::int64_t{opt_.orthonormalize_u}},
          {"scale_by_N", std::int64_t{opt_.scale_by_n}}};
}

void LowRank::Refresh() {
  const auto u = BlockView(layout_.Find("U"), theta_);
  if (opt_.orthonormalize_u) {
    ThinQr(u, &l_, &r_qr_);
  } else {
    l_ = u;
  }
}

void LowRank::Rhs(ConstMatRef x, ConstMatRef u, MatRef dxdt) const {
  Eigen::MatrixXd phi_x(x.rows(), x.cols());
  Apply(opt_.phi, x, phi_x);
  const Eigen::MatrixXd h = BlockView(layout_.Find("V"), theta_).transpose() * phi_x;
  dxdt.noalias() = g_ * l_ * h;
  dxdt.noalias() += BlockView(layout_.Find("B"), theta_) * u;
  dxdt = (dxdt - x) / opt_.tau;
}

void LowRank::Vjp(
    ConstMatRef x, ConstMatRef u, ConstMatRef lambda, MatRef lambda_x, VecRef g_theta) const {
  const Eigen::Index n = opt_.num_neurons;
  const Eigen::Index r = opt_.rank;
  const auto v = BlockView(layout_.Find("V"), theta_);
  Eigen::MatrixXd value(n, x.cols()), slope(n, x.cols());
  ApplyWithDerivative(opt_.phi, x, value, slope);
  const Eigen::MatrixXd q = lambda / opt_.tau;
  const Eigen::MatrixXd e = l_.transpose() * q;  // R x B
  const Eigen::MatrixXd h = v.transpose() * value;
  lambda_x.noalias() = g_ * v * e;
  lambda_x = lambda_x.cwiseProduct(slope) - q;
  const Eigen::MatrixXd l_bar = g_ * q * h.transpose();
  Eigen::Map<Eigen::MatrixXd> gu(g_theta.data() + u_off_, n, r);
  if (opt_.orthonormalize_u) {
    gu += ThinQrBackward(l_, r_qr_, l_bar);
  } else {
    gu += l_bar;
  }
  Eigen::Map<Eigen::MatrixXd>(g_theta.data() + v_off_, n, r).noalias() +=
      g_ * value * e.transpose();
  Eigen::Map<Eigen::MatrixXd>(g_theta.data() + b_off_, n, opt_.input_size).noalias() +=
      q * u.transpose();
}

Eigen::MatrixXd LowRank::Jacobian(ConstVecRef x, ConstVecRef /*u*/) const {
  Eigen::VectorXd slope(x.size());
  Derivative(opt_.phi, x, slope);
  Eigen::MatrixXd jac =
      g_ * l_ * (BlockView(layout_.Find("V"), theta_).transpose() * slope.asDiagonal());
  jac.diagonal().array() -= 1.0;
  return jac / opt_.tau;
}

void LowRank::Readout(ConstMatRef x, MatRef y) const {
  y.noalias() = BlockView(layout_.Find("C"), theta_) * x;
  if (opt_.readout_bias) y.colwise() += theta_.segment(d_off_, opt_.output_size);
}

void LowRank::ReadoutVjp(ConstMatRef x, ConstMatRef ybar, MatRef xbar, VecRef g_theta) const {
  xbar.noalias() += BlockView(layout_.Find("C"), theta_).transpose() * ybar;
  Eigen::Map<Eigen::MatrixXd>(g_theta.data() + c_off_, opt_.output_size, opt_.num_neurons)
      .noalias() += ybar * x.transpose();
  if (opt_.readout_bias) g_theta.segment(d_off_, opt_.output_size) += ybar.rowwise().sum();
}

}  // namespace ctrnn
