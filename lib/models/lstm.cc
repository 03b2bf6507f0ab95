#include "lib/models/lstm.h"

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
  Eigen::MatrixXd pre;    // 4N x B  W_u u + W_h h + b
  Eigen::MatrixXd gate;   // 4N x B  i, f, g, o
  Eigen::MatrixXd slope;  // 4N x B  d gate / d pre
  Eigen::MatrixXd tc;     // N x B   tanh(c_t), then its slope
  Eigen::MatrixXd dc;     // N x B   total adjoint of c_t
  Eigen::MatrixXd delta;  // 4N x B  adjoint of pre
};

Scratch& ThreadScratch() {
  static thread_local Scratch scratch;
  return scratch;
}

// pre = W_u u + W_h h + b, then the gate values (and slopes if `slope`).
void Gates(const ConstMap& w_u,
           const ConstMap& w_h,
           const ConstMap& b,
           ConstMatRef h,
           ConstMatRef u,
           bool slope,
           Scratch* s) {
  const Eigen::Index n = w_h.cols();
  const Eigen::Index cols = h.cols();
  s->pre.resize(4 * n, cols);
  s->gate.resize(4 * n, cols);
  s->pre.noalias() = w_u * u;
  s->pre.noalias() += w_h * h;
  s->pre.colwise() += b.col(0);
  if (slope) {
    s->slope.resize(4 * n, cols);
    ApplyWithDerivative(Nonlinearity::kSigmoid,
                        s->pre.topRows(2 * n),
                        s->gate.topRows(2 * n),
                        s->slope.topRows(2 * n));
    ApplyWithDerivative(Nonlinearity::kTanh,
                        s->pre.middleRows(2 * n, n),
                        s->gate.middleRows(2 * n, n),
                        s->slope.middleRows(2 * n, n));
    ApplyWithDerivative(Nonlinearity::kSigmoid,
                        s->pre.bottomRows(n),
                        s->gate.bottomRows(n),
                        s->slope.bottomRows(n));
  } else {
    Apply(Nonlinearity::kSigmoid, s->pre.topRows(2 * n), s->gate.topRows(2 * n));
    Apply(Nonlinearity::kTanh, s->pre.middleRows(2 * n, n), s->gate.middleRows(2 * n, n));
    Apply(Nonlinearity::kSigmoid, s->pre.bottomRows(n), s->gate.bottomRows(n));
  }
}

}  // namespace

Lstm::Lstm(const Options& options, std::uint64_t seed)
    : options_(options), n_(options.hidden_size) {
  if (options.hidden_size < 1 || options.input_size < 1 || options.output_size < 1) {
    throw std::invalid_argument("lstm: N, input_size and output_size must be >= 1 (got " +
                                std::to_string(options.hidden_size) + ", " +
                                std::to_string(options.input_size) + ", " +
                                std::to_string(options.output_size) + ")");
  }
  if (options.init != "nmrnn" && options.init != "pytorch") {
    throw std::invalid_argument("lstm: init = \"" + options.init + "\": must be nmrnn or pytorch");
  }
  if (options.initial_state != "constant" && options.initial_state != "random" &&
      options.initial_state != "zeros") {
    throw std::invalid_argument("lstm: initial_state = \"" + options.initial_state +
                                "\": must be constant, random or zeros");
  }
  const Eigen::Index n = n_;
  const Eigen::Index nu = options.input_size;
  const Eigen::Index no = options.output_size;
  off_w_u_ =
      layout_.Add("W_u", {4 * n, nu}, "input weights [W_iu; W_fu; W_gu; W_ou] (gates i,f,g,o)");
  off_w_h_ = layout_.Add("W_h", {4 * n, n}, "recurrent weights [W_ih; W_fh; W_gh; W_oh]");
  off_b_ = layout_.Add("b", {4 * n}, "gate biases [b_i; b_f; b_g; b_o]");
  off_c_ = layout_.Add("C", {no, n}, "readout weights, y = C h (+ d)");
  if (options.readout_bias) off_d_ = layout_.Add("d", {no}, "readout bias");
  FinishLayout();

  // Draw order: W_u, W_h, b, C, d, then the initial state.
  Rng rng(seed);
  const double inv_sqrt_n = 1.0 / std::sqrt(static_cast<double>(n));
  Map w_u(theta_.data() + off_w_u_, 4 * n, nu);
  Map w_h(theta_.data() + off_w_h_, 4 * n, n);
  Map b(theta_.data() + off_b_, 4 * n, 1);
  Map c(theta_.data() + off_c_, no, n);
  if (options.init == "nmrnn") {
    w_u = rng.NormalMatrix(4 * n, nu, 1.0 / std::sqrt(static_cast<double>(nu)));
    w_h = rng.NormalMatrix(4 * n, n, inv_sqrt_n);
    b = rng.NormalMatrix(4 * n, 1, inv_sqrt_n);
    c = rng.NormalMatrix(no, n, inv_sqrt_n);
    // d stays 0: the NM-RNN code has no readout bias.
  } else {
    const double k = inv_sqrt_n;
    w_u = rng.UniformMatrix(4 * n, nu, -k, k);
    w_h = rng.UniformMatrix(4 * n, n, -k, k);
    b = rng.UniformMatrix(4 * n, 1, -k, k);   // b_ih
    b += rng.UniformMatrix(4 * n, 1, -k, k);  // + b_hh
    c = rng.UniformMatrix(no, n, -k, k);
    if (options.readout_bias) {
      Map(theta_.data() + off_d_, no, 1) = rng.UniformMatrix(no, 1, -k, k);
    }
  }
  b.middleRows(n, n).array() += options.forget_bias;

  if (options.initial_state == "constant") {
    x0_ = Eigen::VectorXd::Constant(2 * n, 0.1);
  } else if (options.initial_state == "random") {
    x0_ = rng.NormalMatrix(2 * n, 1, inv_sqrt_n);
  } else {
    x0_ = Eigen::VectorXd::Zero(2 * n);
  }
}

std::unique_ptr<Model> Lstm::FromConfig(Config* model_config, std::uint64_t seed) {
  Options o;
  o.hidden_size = model_config->GetInt("N", o.hidden_size, 1, 1000000);
  o.input_size = model_config->GetInt("input_size", o.input_size, 1, 1000000);
  o.output_size = model_config->GetInt("output_size", o.output_size, 1, 1000000);
  o.readout_bias = model_config->GetBool("readout_bias", o.readout_bias);
  o.init = model_config->GetString("init", o.init, {"nmrnn", "pytorch"});
  o.forget_bias = model_config->GetDouble("forget_bias", o.forget_bias, -1e3, 1e3);
  o.initial_state =
      model_config->GetString("initial_state", o.initial_state, {"constant", "random", "zeros"});
  return std::make_unique<Lstm>(o, seed);
}

std::vector<StateBlock> Lstm::state_blocks() const { return {{"h", 0, n_}, {"c", n_, n_}}; }

Attributes Lstm::hyperparameters() const {
  return {{"N", std::int64_t{n_}},
          {"input_size", std::int64_t{options_.input_size}},
          {"output_size", std::int64_t{options_.output_size}},
          {"readout_bias", std::int64_t{options_.readout_bias ? 1 : 0}},
          {"init", options_.init},
          {"forget_bias", options_.forget_bias},
          {"initial_state", options_.initial_state}};
}

void Lstm::Step(ConstMatRef h, ConstMatRef u, MatRef h_next) const {
  const Eigen::Index n = n_;
  const ConstMap w_u(theta_.data() + off_w_u_, 4 * n, options_.input_size);
  const ConstMap w_h(theta_.data() + off_w_h_, 4 * n, n);
  const ConstMap b(theta_.data() + off_b_, 4 * n, 1);
  Scratch& s = ThreadScratch();
  Gates(w_u, w_h, b, h.topRows(n), u, /*slope=*/false, &s);
  const auto i = s.gate.topRows(n).array();
  const auto f = s.gate.middleRows(n, n).array();
  const auto g = s.gate.middleRows(2 * n, n).array();
  const auto o = s.gate.bottomRows(n).array();
  // c_t = f ⊙ c_{t-1} + i ⊙ g is elementwise: it may overwrite c_{t-1}.
  h_next.bottomRows(n).array() = f * h.bottomRows(n).array() + i * g;
  s.tc.resize(n, h.cols());
  Apply(Nonlinearity::kTanh, h_next.bottomRows(n), s.tc);
  h_next.topRows(n).array() = o * s.tc.array();
}

void Lstm::StepVjp(
    ConstMatRef h, ConstMatRef u, ConstMatRef lambda_next, MatRef lambda, VecRef g_theta) const {
  const Eigen::Index n = n_;
  const Eigen::Index nu = options_.input_size;
  const ConstMap w_u(theta_.data() + off_w_u_, 4 * n, nu);
  const ConstMap w_h(theta_.data() + off_w_h_, 4 * n, n);
  const ConstMap b(theta_.data() + off_b_, 4 * n, 1);
  Scratch& s = ThreadScratch();
  const auto h_part = h.topRows(n);
  const auto c_prev = h.bottomRows(n).array();
  Gates(w_u, w_h, b, h_part, u, /*slope=*/true, &s);
  const auto i = s.gate.topRows(n).array();
  const auto f = s.gate.middleRows(n, n).array();
  const auto g = s.gate.middleRows(2 * n, n).array();
  const auto o = s.gate.bottomRows(n).array();

  // tanh(c_t) is recomputed: the caller keeps only the state.
  s.tc.resize(n, h.cols());
  s.tc.array() = f * c_prev + i * g;
  Apply(Nonlinearity::kTanh, s.tc, s.tc);
  const auto tc = s.tc.array();
  const auto lh = lambda_next.topRows(n).array();
  const auto lc = lambda_next.bottomRows(n).array();

  // dL/dc_t: the direct adjoint plus the path through h_t = o ⊙ tanh(c_t).
  s.dc.resize(n, h.cols());
  s.dc.array() = lc + lh * o * (1.0 - tc.square());
  const auto dc = s.dc.array();
  s.delta.resize(4 * n, h.cols());
  s.delta.topRows(n).array() = dc * g * s.slope.topRows(n).array();
  s.delta.middleRows(n, n).array() = dc * c_prev * s.slope.middleRows(n, n).array();
  s.delta.middleRows(2 * n, n).array() = dc * i * s.slope.middleRows(2 * n, n).array();
  s.delta.bottomRows(n).array() = lh * tc * s.slope.bottomRows(n).array();

  // Parameter adjoints before lambda is written (it may alias lambda_next).
  Map(g_theta.data() + off_w_u_, 4 * n, nu).noalias() += s.delta * u.transpose();
  Map(g_theta.data() + off_w_h_, 4 * n, n).noalias() += s.delta * h_part.transpose();
  Map(g_theta.data() + off_b_, 4 * n, 1) += s.delta.rowwise().sum();

  lambda.bottomRows(n).array() = dc * f;
  lambda.topRows(n).noalias() = w_h.transpose() * s.delta;
}

Eigen::MatrixXd Lstm::StepJacobian(ConstVecRef h, ConstVecRef u) const {
  const Eigen::Index n = n_;
  const ConstMap w_u(theta_.data() + off_w_u_, 4 * n, options_.input_size);
  const ConstMap w_h(theta_.data() + off_w_h_, 4 * n, n);
  const ConstMap b(theta_.data() + off_b_, 4 * n, 1);
  Scratch s;
  Gates(w_u, w_h, b, h.head(n), u, /*slope=*/true, &s);
  const Eigen::ArrayXd i = s.gate.col(0).segment(0, n);
  const Eigen::ArrayXd f = s.gate.col(0).segment(n, n);
  const Eigen::ArrayXd g = s.gate.col(0).segment(2 * n, n);
  const Eigen::ArrayXd o = s.gate.col(0).segment(3 * n, n);
  const Eigen::ArrayXd si = s.slope.col(0).segment(0, n);
  const Eigen::ArrayXd sf = s.slope.col(0).segment(n, n);
  const Eigen::ArrayXd sg = s.slope.col(0).segment(2 * n, n);
  const Eigen::ArrayXd so = s.slope.col(0).segment(3 * n, n);
  const Eigen::ArrayXd c_prev = h.tail(n);
  Eigen::MatrixXd c_next = (f * c_prev + i * g).matrix();
  Eigen::MatrixXd tc(n, 1);
  Apply(Nonlinearity::kTanh, c_next, tc);
  const Eigen::ArrayXd t = tc.col(0).array();

  // dc_t/dh = diag(c ⊙ f') W_fh + diag(g ⊙ i') W_ih + diag(i ⊙ g') W_gh,
  // dc_t/dc = diag(f),
  // dh_t/dx = diag(o ⊙ (1 − tanh² c_t)) dc_t/dx + diag(tanh c_t ⊙ o') [W_oh 0].
  const Eigen::MatrixXd dc_dh = (c_prev * sf).matrix().asDiagonal() * w_h.middleRows(n, n) +
                                (g * si).matrix().asDiagonal() * w_h.topRows(n) +
                                (i * sg).matrix().asDiagonal() * w_h.middleRows(2 * n, n);
  const Eigen::ArrayXd dh_dc = o * (1.0 - t.square());
  Eigen::MatrixXd jac(2 * n, 2 * n);
  jac.bottomLeftCorner(n, n) = dc_dh;
  jac.bottomRightCorner(n, n) = f.matrix().asDiagonal();
  jac.topLeftCorner(n, n) =
      dh_dc.matrix().asDiagonal() * dc_dh + (t * so).matrix().asDiagonal() * w_h.bottomRows(n);
  jac.topRightCorner(n, n) = (dh_dc * f).matrix().asDiagonal();
  return jac;
}

void Lstm::Readout(ConstMatRef x, MatRef y) const {
  const ConstMap c(theta_.data() + off_c_, options_.output_size, n_);
  y.noalias() = c * x.topRows(n_);
  if (options_.readout_bias) {
    y.colwise() += ConstMap(theta_.data() + off_d_, options_.output_size, 1).col(0);
  }
}

void Lstm::ReadoutVjp(ConstMatRef x, ConstMatRef ybar, MatRef xbar, VecRef g_theta) const {
  const Eigen::Index no = options_.output_size;
  const ConstMap c(theta_.data() + off_c_, no, n_);
  xbar.topRows(n_).noalias() += c.transpose() * ybar;
  Map(g_theta.data() + off_c_, no, n_).noalias() += ybar * x.topRows(n_).transpose();
  if (options_.readout_bias) {
    Map(g_theta.data() + off_d_, no, 1) += ybar.rowwise().sum();
  }
}

}  // namespace ctrnn
