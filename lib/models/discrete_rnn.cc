#include "lib/models/discrete_rnn.h"

#include <cmath>
#include <stdexcept>

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
  Eigen::MatrixXd a;     // N x B  drive W_rec h + b_rec + W_in u + b_in
  Eigen::MatrixXd v;     // N x B  (1 − α) ⊙ h + α ⊙ a, the argument of φ
  Eigen::MatrixXd dv;    // N x B  adjoint of v (first φ'(v))
  Eigen::MatrixXd da;    // N x B  adjoint of a
  Eigen::VectorXd diag;  // N      saved gradient diagonal (zero_diagonal)
};

Scratch& ThreadScratch() {
  static thread_local Scratch scratch;
  return scratch;
}

}  // namespace

DiscreteRnn::DiscreteRnn(const Options& options, std::uint64_t seed)
    : options_(options), n_(options.num_neurons) {
  if (options.num_neurons < 1 || options.input_size < 1 || options.num_heads < 1 ||
      options.num_classes < 1) {
    throw std::invalid_argument(
        "discrete_rnn: N, input_size, num_heads and num_classes must be >= 1");
  }
  if (!(options.tau_min > 0.0) || (!options.train_tau && !(options.tau > 0.0))) {
    throw std::invalid_argument(
        "discrete_rnn: tau and tau_min must be > 0 (got tau = " + std::to_string(options.tau) +
        ", tau_min = " + std::to_string(options.tau_min) + ")");
  }
  if (options.initial_state != "uniform" && options.initial_state != "zeros") {
    throw std::invalid_argument("discrete_rnn: initial_state = \"" + options.initial_state +
                                "\": must be uniform or zeros");
  }
  const Eigen::Index n = n_;
  const Eigen::Index nu = options.input_size;
  const Eigen::Index no = output_size();
  if (options.train_tau) {
    off_tau_ = layout_.Add("tau", {n}, "time constants in steps (clamped at tau_min)");
  }
  off_w_in_ = layout_.Add("W_in", {n, nu}, "input weights");
  off_b_in_ = layout_.Add("b_in", {n}, "input bias");
  off_w_rec_ = layout_.Add(
      "W_rec",
      {n, n},
      options.zero_diagonal ? "recurrent weights (diagonal masked to 0)" : "recurrent weights");
  off_b_rec_ = layout_.Add("b_rec", {n}, "recurrent bias");
  off_w_out_ = layout_.Add("W_out", {no, n}, "readout heads, row = head * num_classes + class");
  off_b_out_ = layout_.Add("b_out", {no}, "readout biases");
  FinishLayout();

  // nn.Linear's bounds. Draw order: tau, W_in, b_in, W_rec, b_rec, W_out,
  // b_out, then h0.
  Rng rng(seed);
  const double k_in = 1.0 / std::sqrt(static_cast<double>(nu));
  const double k_n = 1.0 / std::sqrt(static_cast<double>(n));
  if (options.train_tau) {
    Map(theta_.data() + off_tau_, n, 1) = rng.UniformMatrix(n, 1, 1.0, 2.0);
  }
  Map(theta_.data() + off_w_in_, n, nu) = rng.UniformMatrix(n, nu, -k_in, k_in);
  Map(theta_.data() + off_b_in_, n, 1) = rng.UniformMatrix(n, 1, -k_in, k_in);
  Map w_rec(theta_.data() + off_w_rec_, n, n);
  w_rec = rng.UniformMatrix(n, n, -k_n, k_n);
  if (options.zero_diagonal) w_rec.diagonal().setZero();
  Map(theta_.data() + off_b_rec_, n, 1) = rng.UniformMatrix(n, 1, -k_n, k_n);
  Map(theta_.data() + off_w_out_, no, n) = rng.UniformMatrix(no, n, -k_n, k_n);
  Map(theta_.data() + off_b_out_, no, 1) = rng.UniformMatrix(no, 1, -k_n, k_n);

  if (options.initial_state == "uniform") {
    x0_ = rng.UniformMatrix(n, 1, 0.0, 0.1);
  } else {
    x0_ = Eigen::VectorXd::Zero(n);
  }
  Refresh();
}

std::unique_ptr<Model> DiscreteRnn::FromConfig(Config* model_config, std::uint64_t seed) {
  Options o;
  o.num_neurons = model_config->GetInt("N", o.num_neurons, 1, 1000000);
  o.input_size = model_config->GetInt("input_size", o.input_size, 1, 1000000);
  o.num_heads = model_config->GetInt("num_heads", o.num_heads, 1, 1000000);
  o.num_classes = model_config->GetInt("num_classes", o.num_classes, 1, 1000000);
  // output_size is derived; a given value must agree with it (and is recorded
  // either way).
  const std::int64_t num_outputs = o.num_heads * o.num_classes;
  model_config->GetInt("output_size", num_outputs, num_outputs, num_outputs);
  const std::string phi = model_config->GetString(
      "phi", NonlinearityName(o.phi), {"leaky_relu", "relu", "tanh", "sigmoid", "linear"});
  o.phi = ParseNonlinearity(phi, model_config->path() + ".phi");
  o.zero_diagonal = model_config->GetBool("zero_diagonal", o.zero_diagonal);
  o.train_tau = model_config->GetBool("train_tau", o.train_tau);
  o.tau_min = model_config->GetDouble("tau_min", o.tau_min, 1e-12, 1e12);
  // Only a fixed-tau model reads `tau`, so a stray `tau` beside train_tau =
  // true is reported as unused by Config::CheckAllUsed() instead of being
  // silently ignored.
  if (!o.train_tau) o.tau = model_config->GetDouble("tau", o.tau, 1e-12, 1e12);
  o.initial_state = model_config->GetString("initial_state", o.initial_state, {"uniform", "zeros"});
  return std::make_unique<DiscreteRnn>(o, seed);
}

void DiscreteRnn::Refresh() {
  const Eigen::Index n = n_;
  w_rec_ = ConstMap(theta_.data() + off_w_rec_, n, n);
  if (options_.zero_diagonal) w_rec_.diagonal().setZero();
  alpha_.resize(n);
  dalpha_dtau_.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double tau = options_.train_tau ? theta_[off_tau_ + i] : options_.tau;
    // torch.clamp(tau, min) passes the gradient where tau >= min.
    const bool pass = tau >= options_.tau_min;
    alpha_[i] = 1.0 / (pass ? tau : options_.tau_min);
    dalpha_dtau_[i] = pass ? -alpha_[i] * alpha_[i] : 0.0;
  }
  one_minus_alpha_ = (1.0 - alpha_.array()).matrix();
}

std::vector<StateBlock> DiscreteRnn::state_blocks() const { return {{"h", 0, n_}}; }

Attributes DiscreteRnn::hyperparameters() const {
  Attributes a = {
      {"N", std::int64_t{n_}},
      {"input_size", std::int64_t{options_.input_size}},
      {"num_heads", std::int64_t{options_.num_heads}},
      {"num_classes", std::int64_t{options_.num_classes}},
      {"output_size", std::int64_t{output_size()}},
      {"phi", NonlinearityName(options_.phi)},
      {"zero_diagonal", std::int64_t{options_.zero_diagonal ? 1 : 0}},
      {"train_tau", std::int64_t{options_.train_tau ? 1 : 0}},
  };
  if (!options_.train_tau) a.emplace_back("tau", options_.tau);
  a.emplace_back("tau_min", options_.tau_min);
  a.emplace_back("initial_state", options_.initial_state);
  return a;
}

void DiscreteRnn::Step(ConstMatRef h, ConstMatRef u, MatRef h_next) const {
  const Eigen::Index n = n_;
  const ConstMap w_in(theta_.data() + off_w_in_, n, options_.input_size);
  const ConstMap b_in(theta_.data() + off_b_in_, n, 1);
  const ConstMap b_rec(theta_.data() + off_b_rec_, n, 1);
  Scratch& s = ThreadScratch();
  s.a.resize(n, h.cols());
  s.a.noalias() = w_rec_ * h;
  s.a.noalias() += w_in * u;
  s.a.colwise() += b_rec.col(0);
  s.a.colwise() += b_in.col(0);
  s.v.resize(n, h.cols());
  s.v.array() =
      h.array().colwise() * one_minus_alpha_.array() + s.a.array().colwise() * alpha_.array();
  Apply(options_.phi, s.v, h_next);
}

void DiscreteRnn::StepVjp(
    ConstMatRef h, ConstMatRef u, ConstMatRef lambda_next, MatRef lambda, VecRef g_theta) const {
  const Eigen::Index n = n_;
  const Eigen::Index nu = options_.input_size;
  const ConstMap w_in(theta_.data() + off_w_in_, n, nu);
  const ConstMap b_in(theta_.data() + off_b_in_, n, 1);
  const ConstMap b_rec(theta_.data() + off_b_rec_, n, 1);
  Scratch& s = ThreadScratch();
  const Eigen::Index cols = h.cols();
  s.a.resize(n, cols);
  s.a.noalias() = w_rec_ * h;
  s.a.noalias() += w_in * u;
  s.a.colwise() += b_rec.col(0);
  s.a.colwise() += b_in.col(0);
  s.v.resize(n, cols);
  s.v.array() =
      h.array().colwise() * one_minus_alpha_.array() + s.a.array().colwise() * alpha_.array();
  s.dv.resize(n, cols);
  Derivative(options_.phi, s.v, s.dv);
  s.dv.array() *= lambda_next.array();
  s.da.resize(n, cols);
  s.da.array() = s.dv.array().colwise() * alpha_.array();

  Map(g_theta.data() + off_w_in_, n, nu).noalias() += s.da * u.transpose();
  Map(g_theta.data() + off_b_in_, n, 1) += s.da.rowwise().sum();
  Map(g_theta.data() + off_b_rec_, n, 1) += s.da.rowwise().sum();
  Map g_w_rec(g_theta.data() + off_w_rec_, n, n);
  if (options_.zero_diagonal) s.diag = g_w_rec.diagonal();
  g_w_rec.noalias() += s.da * h.transpose();
  // Restoring the saved diagonal (not subtracting) keeps it exactly as it was.
  if (options_.zero_diagonal) g_w_rec.diagonal() = s.diag;
  if (options_.train_tau) {
    // dv/dα = a − h, dα/dτ = −1/τ² (0 below the clamp).
    Map(g_theta.data() + off_tau_, n, 1).array() +=
        (s.dv.array() * (s.a.array() - h.array())).rowwise().sum() * dalpha_dtau_.array();
  }

  // Elementwise first, so lambda may alias lambda_next.
  lambda.array() = s.dv.array().colwise() * one_minus_alpha_.array();
  lambda.noalias() += w_rec_.transpose() * s.da;
}

Eigen::MatrixXd DiscreteRnn::StepJacobian(ConstVecRef h, ConstVecRef u) const {
  const Eigen::Index n = n_;
  const ConstMap w_in(theta_.data() + off_w_in_, n, options_.input_size);
  const ConstMap b_in(theta_.data() + off_b_in_, n, 1);
  const ConstMap b_rec(theta_.data() + off_b_rec_, n, 1);
  const Eigen::VectorXd a = w_rec_ * h + b_rec.col(0) + w_in * u + b_in.col(0);
  Eigen::MatrixXd v = (one_minus_alpha_.array() * h.array() + alpha_.array() * a.array()).matrix();
  Eigen::MatrixXd slope(n, 1);
  Derivative(options_.phi, v, slope);
  // J = diag(φ'(v)) (diag(1 − α) + diag(α) W_rec).
  Eigen::MatrixXd jac = (slope.col(0).array() * alpha_.array()).matrix().asDiagonal() * w_rec_;
  jac.diagonal().array() += slope.col(0).array() * one_minus_alpha_.array();
  return jac;
}

void DiscreteRnn::Readout(ConstMatRef x, MatRef y) const {
  const Eigen::Index no = output_size();
  y.noalias() = ConstMap(theta_.data() + off_w_out_, no, n_) * x;
  y.colwise() += ConstMap(theta_.data() + off_b_out_, no, 1).col(0);
}

void DiscreteRnn::ReadoutVjp(ConstMatRef x, ConstMatRef ybar, MatRef xbar, VecRef g_theta) const {
  const Eigen::Index no = output_size();
  xbar.noalias() += ConstMap(theta_.data() + off_w_out_, no, n_).transpose() * ybar;
  Map(g_theta.data() + off_w_out_, no, n_).noalias() += ybar * x.transpose();
  Map(g_theta.data() + off_b_out_, no, 1) += ybar.rowwise().sum();
}

}  // namespace ctrnn
