#include "lib/models/gru.h"

#include <cmath>
#include <stdexcept>

#include "lib/nonlinearity.h"
#include "lib/random.h"

namespace ctrnn {
namespace {

using ConstMap = Eigen::Map<const Eigen::MatrixXd>;
using Map = Eigen::Map<Eigen::MatrixXd>;

// Work arrays of one step. Step and StepVjp run once per time bin, possibly
// from several threads on one const model (DESIGN.md §3.7), so the buffers
// are per thread rather than mutable members; resize() is free when the batch
// shape repeats.
struct Scratch {
  Eigen::MatrixXd au;     // 3N x B  W_u u + b_u, then the gate pre-activations
  Eigen::MatrixXd ah;     // 3N x B  W_h h + b_h
  Eigen::MatrixXd gate;   // 3N x B  r, z, n
  Eigen::MatrixXd slope;  // 3N x B  d gate / d pre-activation
  Eigen::MatrixXd dau;    // 3N x B  adjoint of W_u u + b_u
  Eigen::MatrixXd dah;    // 3N x B  adjoint of W_h h + b_h
};

Scratch& ThreadScratch() {
  static thread_local Scratch scratch;
  return scratch;
}

// The gate values r, z, n (and slopes if `slope`); keeps ah = W_h h + b_h.
void Gates(const ConstMap& w_u,
           const ConstMap& w_h,
           const ConstMap& b_u,
           const ConstMap& b_h,
           ConstMatRef h,
           ConstMatRef u,
           bool slope,
           Scratch* s) {
  const Eigen::Index n = w_h.cols();
  const Eigen::Index cols = h.cols();
  s->au.resize(3 * n, cols);
  s->ah.resize(3 * n, cols);
  s->gate.resize(3 * n, cols);
  s->au.noalias() = w_u * u;
  s->au.colwise() += b_u.col(0);
  s->ah.noalias() = w_h * h;
  s->ah.colwise() += b_h.col(0);
  s->au.topRows(2 * n) += s->ah.topRows(2 * n);
  if (slope) {
    s->slope.resize(3 * n, cols);
    ApplyWithDerivative(Nonlinearity::kSigmoid,
                        s->au.topRows(2 * n),
                        s->gate.topRows(2 * n),
                        s->slope.topRows(2 * n));
  } else {
    Apply(Nonlinearity::kSigmoid, s->au.topRows(2 * n), s->gate.topRows(2 * n));
  }
  s->au.bottomRows(n).array() += s->gate.topRows(n).array() * s->ah.bottomRows(n).array();
  if (slope) {
    ApplyWithDerivative(
        Nonlinearity::kTanh, s->au.bottomRows(n), s->gate.bottomRows(n), s->slope.bottomRows(n));
  } else {
    Apply(Nonlinearity::kTanh, s->au.bottomRows(n), s->gate.bottomRows(n));
  }
}

}  // namespace

Gru::Gru(const Options& options, std::uint64_t seed) : options_(options), n_(options.hidden_size) {
  if (options.hidden_size < 1 || options.input_size < 1 || options.output_size < 1) {
    throw std::invalid_argument("gru: N, input_size and output_size must be >= 1 (got " +
                                std::to_string(options.hidden_size) + ", " +
                                std::to_string(options.input_size) + ", " +
                                std::to_string(options.output_size) + ")");
  }
  if (options.init != "pytorch" && options.init != "nmrnn") {
    throw std::invalid_argument("gru: init = \"" + options.init + "\": must be pytorch or nmrnn");
  }
  if (options.initial_state != "zeros" && options.initial_state != "constant" &&
      options.initial_state != "random") {
    throw std::invalid_argument("gru: initial_state = \"" + options.initial_state +
                                "\": must be zeros, constant or random");
  }
  const Eigen::Index n = n_;
  const Eigen::Index nu = options.input_size;
  const Eigen::Index no = options.output_size;
  off_w_u_ = layout_.Add("W_u", {3 * n, nu}, "input weights [W_ir; W_iz; W_in] (gates r,z,n)");
  off_w_h_ = layout_.Add("W_h", {3 * n, n}, "recurrent weights [W_hr; W_hz; W_hn]");
  off_b_u_ = layout_.Add("b_u", {3 * n}, "input biases [b_ir; b_iz; b_in]");
  off_b_h_ = layout_.Add("b_h", {3 * n}, "hidden biases [b_hr; b_hz; b_hn]");
  off_c_ = layout_.Add("C", {no, n}, "readout weights, y = C h (+ d)");
  if (options.readout_bias) off_d_ = layout_.Add("d", {no}, "readout bias");
  FinishLayout();

  // Draw order: W_u, W_h, b_u, b_h, C, d, then the initial state.
  Rng rng(seed);
  const double inv_sqrt_n = 1.0 / std::sqrt(static_cast<double>(n));
  Map w_u(theta_.data() + off_w_u_, 3 * n, nu);
  Map w_h(theta_.data() + off_w_h_, 3 * n, n);
  Map b_u(theta_.data() + off_b_u_, 3 * n, 1);
  Map b_h(theta_.data() + off_b_h_, 3 * n, 1);
  Map c(theta_.data() + off_c_, no, n);
  if (options.init == "pytorch") {
    const double k = inv_sqrt_n;
    w_u = rng.UniformMatrix(3 * n, nu, -k, k);
    w_h = rng.UniformMatrix(3 * n, n, -k, k);
    b_u = rng.UniformMatrix(3 * n, 1, -k, k);
    b_h = rng.UniformMatrix(3 * n, 1, -k, k);
    c = rng.UniformMatrix(no, n, -k, k);
    if (options.readout_bias) {
      Map(theta_.data() + off_d_, no, 1) = rng.UniformMatrix(no, 1, -k, k);
    }
  } else {
    w_u = rng.NormalMatrix(3 * n, nu, 1.0 / std::sqrt(static_cast<double>(nu)));
    w_h = rng.NormalMatrix(3 * n, n, inv_sqrt_n);
    b_u = rng.NormalMatrix(3 * n, 1, inv_sqrt_n);
    b_h = rng.NormalMatrix(3 * n, 1, inv_sqrt_n);
    c = rng.NormalMatrix(no, n, inv_sqrt_n);
  }

  if (options.initial_state == "constant") {
    x0_ = Eigen::VectorXd::Constant(n, 0.1);
  } else if (options.initial_state == "random") {
    x0_ = rng.NormalMatrix(n, 1, inv_sqrt_n);
  } else {
    x0_ = Eigen::VectorXd::Zero(n);
  }
}

std::unique_ptr<Model> Gru::FromConfig(Config* model_config, std::uint64_t seed) {
  Options o;
  o.hidden_size = model_config->GetInt("N", o.hidden_size, 1, 1000000);
  o.input_size = model_config->GetInt("input_size", o.input_size, 1, 1000000);
  o.output_size = model_config->GetInt("output_size", o.output_size, 1, 1000000);
  o.readout_bias = model_config->GetBool("readout_bias", o.readout_bias);
  o.init = model_config->GetString("init", o.init, {"pytorch", "nmrnn"});
  o.initial_state =
      model_config->GetString("initial_state", o.initial_state, {"zeros", "constant", "random"});
  return std::make_unique<Gru>(o, seed);
}

std::vector<StateBlock> Gru::state_blocks() const { return {{"h", 0, n_}}; }

Attributes Gru::hyperparameters() const {
  return {{"N", std::int64_t{n_}},
          {"input_size", std::int64_t{options_.input_size}},
          {"output_size", std::int64_t{options_.output_size}},
          {"readout_bias", std::int64_t{options_.readout_bias ? 1 : 0}},
          {"init", options_.init},
          {"initial_state", options_.initial_state}};
}

void Gru::Step(ConstMatRef h, ConstMatRef u, MatRef h_next) const {
  const Eigen::Index n = n_;
  const ConstMap w_u(theta_.data() + off_w_u_, 3 * n, options_.input_size);
  const ConstMap w_h(theta_.data() + off_w_h_, 3 * n, n);
  const ConstMap b_u(theta_.data() + off_b_u_, 3 * n, 1);
  const ConstMap b_h(theta_.data() + off_b_h_, 3 * n, 1);
  Scratch& s = ThreadScratch();
  Gates(w_u, w_h, b_u, b_h, h, u, /*slope=*/false, &s);
  const auto z = s.gate.middleRows(n, n).array();
  const auto cand = s.gate.bottomRows(n).array();  // the new gate n
  h_next.array() = cand + z * (h.array() - cand);
}

void Gru::StepVjp(
    ConstMatRef h, ConstMatRef u, ConstMatRef lambda_next, MatRef lambda, VecRef g_theta) const {
  const Eigen::Index n = n_;
  const Eigen::Index nu = options_.input_size;
  const ConstMap w_u(theta_.data() + off_w_u_, 3 * n, nu);
  const ConstMap w_h(theta_.data() + off_w_h_, 3 * n, n);
  const ConstMap b_u(theta_.data() + off_b_u_, 3 * n, 1);
  const ConstMap b_h(theta_.data() + off_b_h_, 3 * n, 1);
  Scratch& s = ThreadScratch();
  Gates(w_u, w_h, b_u, b_h, h, u, /*slope=*/true, &s);
  const auto r = s.gate.topRows(n).array();
  const auto z = s.gate.middleRows(n, n).array();
  const auto cand = s.gate.bottomRows(n).array();
  const auto ln = lambda_next.array();

  // h_t = n + z ⊙ (h − n): dh_t/dn = 1 − z, dh_t/dz = h − n, and z directly
  // on h. n = tanh(a_n + r ⊙ ah_n): the adjoint of n's pre-activation feeds
  // a_n directly, ah_n through r, and r through ah_n.
  const Eigen::Index cols = h.cols();
  s.dau.resize(3 * n, cols);
  s.dah.resize(3 * n, cols);
  s.dau.bottomRows(n).array() = ln * (1.0 - z) * s.slope.bottomRows(n).array();
  s.dah.bottomRows(n).array() = s.dau.bottomRows(n).array() * r;
  s.dau.topRows(n).array() =
      s.dau.bottomRows(n).array() * s.ah.bottomRows(n).array() * s.slope.topRows(n).array();
  s.dau.middleRows(n, n).array() = ln * (h.array() - cand) * s.slope.middleRows(n, n).array();
  s.dah.topRows(2 * n) = s.dau.topRows(2 * n);

  Map(g_theta.data() + off_w_u_, 3 * n, nu).noalias() += s.dau * u.transpose();
  Map(g_theta.data() + off_b_u_, 3 * n, 1) += s.dau.rowwise().sum();
  Map(g_theta.data() + off_w_h_, 3 * n, n).noalias() += s.dah * h.transpose();
  Map(g_theta.data() + off_b_h_, 3 * n, 1) += s.dah.rowwise().sum();

  // Elementwise first, so lambda may alias lambda_next.
  lambda.array() = ln * z;
  lambda.noalias() += w_h.transpose() * s.dah;
}

Eigen::MatrixXd Gru::StepJacobian(ConstVecRef h, ConstVecRef u) const {
  const Eigen::Index n = n_;
  const ConstMap w_u(theta_.data() + off_w_u_, 3 * n, options_.input_size);
  const ConstMap w_h(theta_.data() + off_w_h_, 3 * n, n);
  const ConstMap b_u(theta_.data() + off_b_u_, 3 * n, 1);
  const ConstMap b_h(theta_.data() + off_b_h_, 3 * n, 1);
  Scratch s;
  Gates(w_u, w_h, b_u, b_h, h, u, /*slope=*/true, &s);
  const Eigen::ArrayXd r = s.gate.col(0).segment(0, n);
  const Eigen::ArrayXd z = s.gate.col(0).segment(n, n);
  const Eigen::ArrayXd cand = s.gate.col(0).segment(2 * n, n);
  const Eigen::ArrayXd sr = s.slope.col(0).segment(0, n);
  const Eigen::ArrayXd sz = s.slope.col(0).segment(n, n);
  const Eigen::ArrayXd sn = s.slope.col(0).segment(2 * n, n);
  const Eigen::ArrayXd ah_n = s.ah.col(0).segment(2 * n, n);
  const Eigen::ArrayXd dn = (1.0 - z) * sn;  // d h_t / d(pre-activation of n)

  // J = diag(z) + diag(dn ⊙ ah_n ⊙ r') W_hr + diag((h − n) ⊙ z') W_hz
  //     + diag(dn ⊙ r) W_hn.
  Eigen::MatrixXd jac = (dn * ah_n * sr).matrix().asDiagonal() * w_h.topRows(n);
  jac += ((h.array() - cand) * sz).matrix().asDiagonal() * w_h.middleRows(n, n);
  jac += (dn * r).matrix().asDiagonal() * w_h.bottomRows(n);
  jac.diagonal() += z.matrix();
  return jac;
}

void Gru::Readout(ConstMatRef x, MatRef y) const {
  const ConstMap c(theta_.data() + off_c_, options_.output_size, n_);
  y.noalias() = c * x;
  if (options_.readout_bias) {
    y.colwise() += ConstMap(theta_.data() + off_d_, options_.output_size, 1).col(0);
  }
}

void Gru::ReadoutVjp(ConstMatRef x, ConstMatRef ybar, MatRef xbar, VecRef g_theta) const {
  const Eigen::Index no = options_.output_size;
  const ConstMap c(theta_.data() + off_c_, no, n_);
  xbar.noalias() += c.transpose() * ybar;
  Map(g_theta.data() + off_c_, no, n_).noalias() += ybar * x.transpose();
  if (options_.readout_bias) {
    Map(g_theta.data() + off_d_, no, 1) += ybar.rowwise().sum();
  }
}

}  // namespace ctrnn
