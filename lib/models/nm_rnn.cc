#include "lib/models/nm_rnn.h"

#include <cmath>
#include <stdexcept>

#include "lib/models/qr.h"
#include "lib/nonlinearity.h"
#include "lib/random.h"

namespace ctrnn {

struct NmRnn::Work {
  Eigen::MatrixXd a, a_slope;        // tanh(z), 1 − tanh(z)²   (M x B)
  Eigen::MatrixXd phi_x, phi_slope;  // φ(x), φ'(x)             (N x B)
  Eigen::MatrixXd z_drive;           // W_z a + B_z u [+ W_zx φ(x) + b_zx]
  Eigen::MatrixXd s;                 // σ(A_z z + b_z)          (R x B)
  Eigen::MatrixXd h;                 // Vᵀ φ(x)                 (R x B)
};

NmRnn::NmRnn(const NmRnnOptions& options) : opt_(options) {
  const Eigen::Index n = opt_.num_neurons, m = opt_.num_nm, r = opt_.rank;
  const Eigen::Index u = opt_.input_size, o = opt_.output_size;
  if (n < 1 || m < 1 || r < 1 || u < 1 || o < 1) {
    throw std::invalid_argument("nm_rnn: N, M, R, input_size and output_size must be positive");
  }
  if (r > n) {
    throw std::invalid_argument("nm_rnn: R = " + std::to_string(r) +
                                " exceeds N = " + std::to_string(n));
  }
  if (opt_.x_input_size < 1 || opt_.x_input_size > u) {
    throw std::invalid_argument("nm_rnn: x_input_size = " + std::to_string(opt_.x_input_size) +
                                " must lie in [1, input_size = " + std::to_string(u) + "]");
  }
  u_off_ = layout_.Add("U", {n, r}, "left factors before orthonormalisation (row_factors)");
  if (!opt_.linear_symmetric) v_off_ = layout_.Add("V", {n, r}, "right factors (column_factors)");
  bx_off_ = layout_.Add("B_x", {n, opt_.x_input_size}, "input weights of x (input_weights)");
  c_off_ = layout_.Add("C", {o, n}, "readout weights (readout_weights)");
  if (opt_.readout_bias) d_off_ = layout_.Add("d", {o}, "readout bias (readout_bias)");
  wz_off_ = layout_.Add("W_z", {m, m}, "neuromodulatory recurrence (nm_rec_weight)");
  bz_off_ = layout_.Add("B_z", {m, u}, "neuromodulatory input weights (nm_input_weight)");
  az_off_ = layout_.Add("A_z", {r, m}, "z -> s weights (nm_sigmoid_weight)");
  b_off_ = layout_.Add("b_z", {r}, "z -> s bias (nm_sigmoid_intercept)");
  if (opt_.feedback) {
    wzx_off_ = layout_.Add("W_zx", {m, n}, "x -> z feedback weights");
    bzx_off_ = layout_.Add("b_zx", {m}, "x -> z feedback bias");
  }
  FinishLayout();
  BlockView(layout_.Find("U"), &theta_).setIdentity();
  if (!opt_.linear_symmetric) BlockView(layout_.Find("V"), &theta_).setIdentity();
  x0_.resize(m + n);
  x0_.head(m).setConstant(opt_.z0);
  x0_.tail(n).setConstant(opt_.x0);
  g_ = opt_.scale_by_n ? 1.0 / static_cast<double>(n) : 1.0;
  Refresh();
}

std::unique_ptr<Model> NmRnn::FromConfig(Config* c, std::uint64_t seed) {
  NmRnnOptions o;
  o.num_neurons = c->GetInt("N", 100, 1, 100000);
  o.num_nm = c->GetInt("M", 5, 1, 100000);
  o.rank = c->GetInt("R", 3, 1, o.num_neurons);
  o.input_size = c->GetInt("input_size", 3, 1, 100000);
  o.x_input_size = c->GetInt("x_input_size", o.input_size, 1, o.input_size);
  o.output_size = c->GetInt("output_size", 1, 1, 100000);
  o.tau_x = c->GetDouble("tau_x", 10.0, 1e-9, 1e12);
  o.tau_z = c->GetDouble("tau_z", 100.0, 1e-9, 1e12);
  o.orthonormalize_u = c->GetBool("orthonormalize_U", true);
  o.scale_by_n = c->GetBool("scale_by_N", false);
  o.feedback = c->GetBool("feedback", false);
  o.linear_symmetric = c->GetBool("linear_symmetric", false);
  o.readout_bias = c->GetBool("readout_bias", true);
  o.init = c->GetString("init", "nmrnn", {"nmrnn", "eft"});
  o.random_initial_state =
      c->GetString("initial_state", "constant", {"constant", "random"}) == "random";
  o.x0 = c->GetDouble("x0", 0.1, -1e6, 1e6);
  o.z0 = c->GetDouble("z0", 0.1, -1e6, 1e6);
  o.sequential_euler =
      c->GetString("euler_order", "sequential", {"sequential", "simultaneous"}) == "sequential";
  auto model = std::make_unique<NmRnn>(o);
  model->Initialize(seed);
  return model;
}

void NmRnn::Initialize(std::uint64_t seed) {
  Rng rng(seed);
  const Eigen::Index n = opt_.num_neurons, m = opt_.num_nm, r = opt_.rank;
  const Eigen::Index u = opt_.input_size, o = opt_.output_size;
  auto inv_sqrt = [](Eigen::Index k) { return 1.0 / std::sqrt(static_cast<double>(k)); };
  const bool eft = opt_.init == "eft";
  auto set = [&](const char* name, const Eigen::MatrixXd& value) {
    BlockView(layout_.Find(name), &theta_) = value;
  };
  set("U", rng.NormalMatrix(n, r, eft ? inv_sqrt(r) : 1.0));
  if (!opt_.linear_symmetric) set("V", rng.NormalMatrix(n, r, eft ? inv_sqrt(r) : 1.0));
  // The authors draw B_x for all inputs and crop it to the x inputs (multitask form, §1.3).
  set("B_x", rng.NormalMatrix(n, u, inv_sqrt(u)).leftCols(opt_.x_input_size));
  set("C", rng.NormalMatrix(o, n, inv_sqrt(n)));
  if (opt_.readout_bias) set("d", rng.NormalMatrix(o, 1, inv_sqrt(n)));
  set("W_z", rng.NormalMatrix(m, m, eft ? inv_sqrt(m) : 0.1));
  set("B_z", rng.NormalMatrix(m, u, inv_sqrt(u)));
  set("A_z", rng.NormalMatrix(r, m, eft ? inv_sqrt(m) : 0.1));
  set("b_z", rng.NormalMatrix(r, 1, eft ? inv_sqrt(r) : 0.1));
  if (opt_.feedback) {
    set("W_zx", rng.NormalMatrix(m, n, eft ? inv_sqrt(n) : 0.1 * inv_sqrt(n)));
    set("b_zx", eft ? rng.NormalMatrix(m, 1, inv_sqrt(m)) : Eigen::MatrixXd::Zero(m, 1));
  }
  if (opt_.random_initial_state) {
    x0_.head(m) = rng.NormalMatrix(m, 1, inv_sqrt(m));
    x0_.tail(n) = rng.NormalMatrix(n, 1, inv_sqrt(n));
  }
  Refresh();
}

std::vector<StateBlock> NmRnn::state_blocks() const {
  return {{"z", 0, opt_.num_nm}, {"x", opt_.num_nm, opt_.num_neurons}};
}

Attributes NmRnn::hyperparameters() const {
  return {{"N", opt_.num_neurons},
          {"M", opt_.num_nm},
          {"R", opt_.rank},
          {"input_size", opt_.input_size},
          {"x_input_size", opt_.x_input_size},
          {"output_size", opt_.output_size},
          {"tau_x", opt_.tau_x},
          {"tau_z", opt_.tau_z},
          {"orthonormalize_U", std::int64_t{opt_.orthonormalize_u}},
          {"scale_by_N", std::int64_t{opt_.scale_by_n}},
          {"feedback", std::int64_t{opt_.feedback}},
          {"linear_symmetric", std::int64_t{opt_.linear_symmetric}},
          {"euler_order", std::string(opt_.sequential_euler ? "sequential" : "simultaneous")}};
}

void NmRnn::Refresh() {
  const auto u = BlockView(layout_.Find("U"), theta_);
  if (opt_.orthonormalize_u) {
    ThinQr(u, &l_, &r_qr_);
  } else {
    l_ = u;
  }
  if (!opt_.linear_symmetric) v_ = BlockView(layout_.Find("V"), theta_);
}

void NmRnn::XPieces(ConstMatRef x, Work* w) const {
  w->phi_x.resize(x.rows(), x.cols());
  w->phi_slope.resize(x.rows(), x.cols());
  if (opt_.linear_symmetric) {
    w->phi_x = x;
    w->phi_slope.setOnes();
  } else {
    ApplyWithDerivative(Nonlinearity::kTanh, x, w->phi_x, w->phi_slope);
  }
  w->h.noalias() = VEff().transpose() * w->phi_x;
}

void NmRnn::ZDrive(ConstMatRef z, ConstMatRef /*x*/, ConstMatRef u, Work* w) const {
  const Eigen::Index m = opt_.num_nm;
  w->a.resize(z.rows(), z.cols());
  w->a_slope.resize(z.rows(), z.cols());
  ApplyWithDerivative(Nonlinearity::kTanh, z, w->a, w->a_slope);
  w->z_drive.noalias() = Block(wz_off_, m, m) * w->a;
  w->z_drive.noalias() += Block(bz_off_, m, opt_.input_size) * u;
  if (opt_.feedback) {
    w->z_drive.noalias() += Block(wzx_off_, m, opt_.num_neurons) * w->phi_x;
    w->z_drive.colwise() += theta_.segment(bzx_off_, m);
  }
}

void NmRnn::Gates(ConstMatRef z, Work* w) const {
  Eigen::MatrixXd pre = Block(az_off_, opt_.rank, opt_.num_nm) * z;
  pre.colwise() += theta_.segment(b_off_, opt_.rank);
  w->s.resize(pre.rows(), pre.cols());
  Apply(Nonlinearity::kSigmoid, pre, w->s);
}

void NmRnn::Rhs(ConstMatRef state, ConstMatRef u, MatRef dxdt) const {
  const Eigen::Index m = opt_.num_nm, n = opt_.num_neurons;
  const auto z = state.topRows(m);
  const auto x = state.bottomRows(n);
  Work w;
  XPieces(x, &w);
  ZDrive(z, x, u, &w);
  Gates(z, &w);
  dxdt.topRows(m) = (w.z_drive - z) / opt_.tau_z;
  auto dx = dxdt.bottomRows(n);
  dx.noalias() = g_ * l_ * w.s.cwiseProduct(w.h);
  dx.noalias() += Block(bx_off_, n, opt_.x_input_size) * u.topRows(opt_.x_input_size);
  dx = (dx - x) / opt_.tau_x;
}

void NmRnn::EulerStep(ConstMatRef state, ConstMatRef u, double dt, MatRef next) const {
  if (!opt_.sequential_euler) {
    ContinuousModel::EulerStep(state, u, dt, next);
    return;
  }
  const Eigen::Index m = opt_.num_nm, n = opt_.num_neurons;
  const auto z = state.topRows(m);
  const auto x = state.bottomRows(n);
  Work w;
  XPieces(x, &w);
  ZDrive(z, x, u, &w);
  auto z_next = next.topRows(m);
  z_next = z + (dt / opt_.tau_z) * (w.z_drive - z);
  Gates(z_next, &w);  // s from the updated z, as the authors' scan does
  auto x_next = next.bottomRows(n);
  x_next.noalias() = g_ * l_ * w.s.cwiseProduct(w.h);
  x_next.noalias() += Block(bx_off_, n, opt_.x_input_size) * u.topRows(opt_.x_input_size);
  x_next = x + (dt / opt_.tau_x) * (x_next - x);
}

void NmRnn::PullBackX(ConstMatRef /*x*/,
                      ConstMatRef u,
                      ConstMatRef q,
                      const Work& w,
                      MatRef lambda_x,
                      Eigen::MatrixXd* p,
                      VecRef g_theta) const {
  // Adjoint q on the x drive g L (s ⊙ h) + B_x u_x.
  const Eigen::Index n = opt_.num_neurons, r = opt_.rank;
  const Eigen::MatrixXd e = l_.transpose() * q;  // R x B
  const Eigen::MatrixXd h_bar = g_ * w.s.cwiseProduct(e);
  Eigen::MatrixXd l_bar = g_ * q * w.s.cwiseProduct(w.h).transpose();
  if (opt_.linear_symmetric) {
    l_bar.noalias() += w.phi_x * h_bar.transpose();
  } else {
    Eigen::Map<Eigen::MatrixXd>(g_theta.data() + v_off_, n, r).noalias() +=
        w.phi_x * h_bar.transpose();
  }
  Eigen::Map<Eigen::MatrixXd> gu(g_theta.data() + u_off_, n, r);
  if (opt_.orthonormalize_u) {
    gu += ThinQrBackward(l_, r_qr_, l_bar);
  } else {
    gu += l_bar;
  }
  Eigen::Map<Eigen::MatrixXd>(g_theta.data() + bx_off_, n, opt_.x_input_size).noalias() +=
      q * u.topRows(opt_.x_input_size).transpose();
  lambda_x.noalias() = VEff() * h_bar;
  lambda_x = lambda_x.cwiseProduct(w.phi_slope);
  // s̄ = g h ⊙ e, then through the sigmoid.
  *p = (g_ * w.h.cwiseProduct(e)).cwiseProduct(w.s - w.s.cwiseProduct(w.s));
}

void NmRnn::PullBackZ(ConstMatRef /*z*/,
                      ConstMatRef u,
                      ConstMatRef r,
                      const Work& w,
                      MatRef lambda_z,
                      MatRef lambda_x,
                      VecRef g_theta) const {
  // Adjoint r on the z drive W_z tanh(z) + B_z u [+ W_zx φ(x) + b_zx].
  const Eigen::Index m = opt_.num_nm, n = opt_.num_neurons;
  lambda_z.noalias() = Block(wz_off_, m, m).transpose() * r;
  lambda_z = lambda_z.cwiseProduct(w.a_slope);
  Eigen::Map<Eigen::MatrixXd>(g_theta.data() + wz_off_, m, m).noalias() += r * w.a.transpose();
  Eigen::Map<Eigen::MatrixXd>(g_theta.data() + bz_off_, m, opt_.input_size).noalias() +=
      r * u.transpose();
  if (opt_.feedback) {
    Eigen::Map<Eigen::MatrixXd>(g_theta.data() + wzx_off_, m, n).noalias() +=
        r * w.phi_x.transpose();
    g_theta.segment(bzx_off_, m) += r.rowwise().sum();
    lambda_x.array() += (Block(wzx_off_, m, n).transpose() * r).array() * w.phi_slope.array();
  }
}

void NmRnn::Vjp(
    ConstMatRef state, ConstMatRef u, ConstMatRef lambda, MatRef lambda_out, VecRef g_theta) const {
  const Eigen::Index m = opt_.num_nm, n = opt_.num_neurons, r = opt_.rank;
  const auto z = state.topRows(m);
  const auto x = state.bottomRows(n);
  Work w;
  XPieces(x, &w);
  ZDrive(z, x, u, &w);
  Gates(z, &w);
  const Eigen::MatrixXd q = lambda.bottomRows(n) / opt_.tau_x;
  const Eigen::MatrixXd rz = lambda.topRows(m) / opt_.tau_z;
  auto lambda_x = lambda_out.bottomRows(n);
  auto lambda_z = lambda_out.topRows(m);
  Eigen::MatrixXd p;
  PullBackX(x, u, q, w, lambda_x, &p, g_theta);
  lambda_x -= q;
  Eigen::Map<Eigen::MatrixXd>(g_theta.data() + az_off_, r, m).noalias() += p * z.transpose();
  g_theta.segment(b_off_, r) += p.rowwise().sum();
  PullBackZ(z, u, rz, w, lambda_z, lambda_x, g_theta);
  lambda_z -= rz;
  lambda_z.noalias() += Block(az_off_, r, m).transpose() * p;
}

void NmRnn::EulerStepVjp(ConstMatRef state,
                         ConstMatRef u,
                         double dt,
                         ConstMatRef lambda_next,
                         MatRef lambda,
                         VecRef g_theta) const {
  if (!opt_.sequential_euler) {
    ContinuousModel::EulerStepVjp(state, u, dt, lambda_next, lambda, g_theta);
    return;
  }
  const Eigen::Index m = opt_.num_nm, n = opt_.num_neurons, r = opt_.rank;
  const auto z = state.topRows(m);
  const auto x = state.bottomRows(n);
  Work w;
  XPieces(x, &w);
  ZDrive(z, x, u, &w);
  const Eigen::MatrixXd z_next = z + (dt / opt_.tau_z) * (w.z_drive - z);
  Gates(z_next, &w);
  // x step: x' = x + (dt/τx)(drive_x − x), with s = s(z').
  const Eigen::MatrixXd q = (dt / opt_.tau_x) * lambda_next.bottomRows(n);
  auto lambda_x = lambda.bottomRows(n);
  auto lambda_z = lambda.topRows(m);
  Eigen::MatrixXd p;
  PullBackX(x, u, q, w, lambda_x, &p, g_theta);
  lambda_x += lambda_next.bottomRows(n) - q;
  Eigen::Map<Eigen::MatrixXd>(g_theta.data() + az_off_, r, m).noalias() += p * z_next.transpose();
  g_theta.segment(b_off_, r) += p.rowwise().sum();
  Eigen::MatrixXd lz_next = lambda_next.topRows(m);
  lz_next.noalias() += Block(az_off_, r, m).transpose() * p;
  // z step: z' = z + (dt/τz)(drive_z − z).
  const Eigen::MatrixXd rz = (dt / opt_.tau_z) * lz_next;
  PullBackZ(z, u, rz, w, lambda_z, lambda_x, g_theta);
  lambda_z += lz_next - rz;
}

Eigen::MatrixXd NmRnn::Jacobian(ConstVecRef state, ConstVecRef u) const {
  const Eigen::Index m = opt_.num_nm, n = opt_.num_neurons, r = opt_.rank;
  const Eigen::VectorXd z = state.head(m);
  const Eigen::VectorXd x = state.tail(n);
  Work w;
  XPieces(x, &w);
  ZDrive(z, x, u, &w);
  Gates(z, &w);
  Eigen::MatrixXd jac = Eigen::MatrixXd::Zero(m + n, m + n);
  jac.topLeftCorner(m, m) = Block(wz_off_, m, m) * w.a_slope.col(0).asDiagonal();
  jac.topLeftCorner(m, m).diagonal().array() -= 1.0;
  if (opt_.feedback) {
    jac.topRightCorner(m, n) = Block(wzx_off_, m, n) * w.phi_slope.col(0).asDiagonal();
  }
  jac.topRows(m) /= opt_.tau_z;
  const Eigen::VectorXd s = w.s.col(0);
  const Eigen::VectorXd ds = (w.h.col(0).array() * s.array() * (1.0 - s.array())).matrix();
  jac.bottomLeftCorner(n, m) = g_ * l_ * ds.asDiagonal() * Block(az_off_, r, m);
  jac.bottomRightCorner(n, n) =
      g_ * l_ * s.asDiagonal() * VEff().transpose() * w.phi_slope.col(0).asDiagonal();
  jac.bottomRightCorner(n, n).diagonal().array() -= 1.0;
  jac.bottomRows(n) /= opt_.tau_x;
  return jac;
}

void NmRnn::Readout(ConstMatRef state, MatRef y) const {
  const Eigen::Index n = opt_.num_neurons, o = opt_.output_size;
  y.noalias() = Block(c_off_, o, n) * state.bottomRows(n);
  if (opt_.readout_bias) y.colwise() += theta_.segment(d_off_, o);
}

void NmRnn::ReadoutVjp(ConstMatRef state, ConstMatRef ybar, MatRef xbar, VecRef g_theta) const {
  const Eigen::Index n = opt_.num_neurons, o = opt_.output_size;
  xbar.bottomRows(n).noalias() += Block(c_off_, o, n).transpose() * ybar;
  Eigen::Map<Eigen::MatrixXd>(g_theta.data() + c_off_, o, n).noalias() +=
      ybar * state.bottomRows(n).transpose();
  if (opt_.readout_bias) g_theta.segment(d_off_, o) += ybar.rowwise().sum();
}

void NmRnn::Extras(ConstMatRef state,
                   ConstMatRef /*u*/,
                   std::vector<Eigen::MatrixXd>* extras) const {
  Work w;
  Gates(state.topRows(opt_.num_nm), &w);
  extras->assign(1, w.s);
}

}  // namespace ctrnn
