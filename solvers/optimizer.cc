#include "solvers/optimizer.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace ctrnn {
namespace {

// torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing.
constexpr double kClipNormOffset = 1e-6;

template <typename T>
[[noreturn]] void Fail(const std::string& field, const T& value, const std::string& rule) {
  std::ostringstream msg;
  msg << "OptimizerOptions." << field << " = " << value << ": " << rule;
  throw std::invalid_argument(msg.str());
}

bool IsFiniteNonNegative(double x) { return std::isfinite(x) && x >= 0.0; }

}  // namespace

OptimizerKind ParseOptimizerKind(const std::string& name, const std::string& field) {
  if (name == "adamw") return OptimizerKind::kAdamW;
  if (name == "adam") return OptimizerKind::kAdam;
  if (name == "sgd") return OptimizerKind::kSgd;
  throw std::invalid_argument(field + " = \"" + name + "\": expected adamw, adam or sgd");
}

std::string OptimizerKindName(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kAdamW:
      return "adamw";
    case OptimizerKind::kAdam:
      return "adam";
    case OptimizerKind::kSgd:
      return "sgd";
  }
  return "unknown";
}

void OptimizerOptions::Validate() const {
  if (!(lr > 0.0) || !std::isfinite(lr)) Fail("lr", lr, "must be positive and finite");
  if (!(beta1 >= 0.0 && beta1 < 1.0)) Fail("beta1", beta1, "must lie in [0, 1)");
  if (!(beta2 >= 0.0 && beta2 < 1.0)) Fail("beta2", beta2, "must lie in [0, 1)");
  if (!IsFiniteNonNegative(eps)) Fail("eps", eps, "must be >= 0 and finite");
  if (!IsFiniteNonNegative(weight_decay)) {
    Fail("weight_decay", weight_decay, "must be >= 0 and finite");
  }
  if (!IsFiniteNonNegative(momentum)) Fail("momentum", momentum, "must be >= 0 and finite");
  if (!(dampening >= 0.0 && dampening <= 1.0)) Fail("dampening", dampening, "must lie in [0, 1]");
  if (kind == OptimizerKind::kSgd && nesterov && (momentum <= 0.0 || dampening != 0.0)) {
    std::ostringstream rule;
    rule << "needs momentum > 0 and dampening = 0 (momentum = " << momentum
         << ", dampening = " << dampening << ")";
    Fail("nesterov", "true", rule.str());
  }
  if (!IsFiniteNonNegative(clip_value)) {
    Fail("clip_value", clip_value, "must be >= 0 (0 = off) and finite");
  }
  if (!IsFiniteNonNegative(clip_norm)) {
    Fail("clip_norm", clip_norm, "must be >= 0 (0 = off) and finite");
  }
  if (reset_every < 0) Fail("reset_every", reset_every, "must be >= 0 (0 = off)");
}

OptimizerOptions OptimizerOptionsFromConfig(Config* c) {
  OptimizerOptions o;
  o.kind = ParseOptimizerKind(c->GetString("kind", "adamw", {"adamw", "adam", "sgd"}),
                              c->path() + ".kind");
  o.lr = c->GetDouble("lr", o.lr, 1e-12, 1e3);
  if (o.kind == OptimizerKind::kSgd) {
    o.momentum = c->GetDouble("momentum", o.momentum, 0.0, 1.0);
    o.nesterov = c->GetBool("nesterov", o.nesterov);
    o.dampening = c->GetDouble("dampening", o.dampening, 0.0, 1.0);
  } else {
    // Largest double below 1: beta = 1 would make the bias correction divide by zero.
    const double below_one = std::nextafter(1.0, 0.0);
    o.beta1 = c->GetDouble("beta1", o.beta1, 0.0, below_one);
    o.beta2 = c->GetDouble("beta2", o.beta2, 0.0, below_one);
    o.eps = c->GetDouble("eps", o.eps, 0.0, 1.0);
  }
  o.weight_decay = o.kind == OptimizerKind::kAdamW
                       ? c->GetDouble("weight_decay", o.weight_decay, 0.0, 1e3)
                       : 0.0;
  o.clip_value = c->GetDouble("clip_value", o.clip_value, 0.0, 1e12);
  o.clip_norm = c->GetDouble("clip_norm", o.clip_norm, 0.0, 1e12);
  o.reset_every = c->GetInt("reset_every", o.reset_every, 0, std::int64_t{1} << 50);
  o.Validate();
  return o;
}

Eigen::VectorXd TrainableMask(const ParamLayout& layout,
                              const std::vector<std::string>& trainable_blocks) {
  if (trainable_blocks.empty()) return Eigen::VectorXd::Ones(layout.size());
  Eigen::VectorXd mask = Eigen::VectorXd::Zero(layout.size());
  for (const std::string& name : trainable_blocks) {
    try {
      const ParamBlock& block = layout.Find(name);
      mask.segment(block.offset, block.size()).setOnes();
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("TrainableMask: ") + e.what());
    }
  }
  return mask;
}

Optimizer::Optimizer(const OptimizerOptions& options, Eigen::Index num_params) : options_(options) {
  options_.Validate();
  if (num_params < 0) {
    throw std::invalid_argument("Optimizer: num_params = " + std::to_string(num_params) +
                                ": must be >= 0");
  }
  m_ = Eigen::VectorXd::Zero(num_params);
  v_ = Eigen::VectorXd::Zero(num_params);
  clipped_ = Eigen::VectorXd::Zero(num_params);
  all_ones_ = Eigen::VectorXd::Ones(num_params);
}

void Optimizer::Reset() {
  steps_ = 0;
  m_.setZero();
  v_.setZero();
}

void Optimizer::SetState(std::int64_t steps, const Eigen::VectorXd& m, const Eigen::VectorXd& v) {
  const Eigen::Index n = num_params();
  if (m.size() != n || v.size() != n) {
    throw std::invalid_argument("Optimizer::SetState: moments have " + std::to_string(m.size()) +
                                " and " + std::to_string(v.size()) + " entries, expected " +
                                std::to_string(n));
  }
  if (steps < 0 || (options_.reset_every > 0 && steps >= options_.reset_every)) {
    throw std::invalid_argument("Optimizer::SetState: steps = " + std::to_string(steps) +
                                ": must lie in [0, reset_every) (reset_every = " +
                                std::to_string(options_.reset_every) + ", 0 = no bound)");
  }
  steps_ = steps;
  m_ = m;
  v_ = v;
}

bool Optimizer::Step(const Eigen::Ref<const Eigen::VectorXd>& gradient, Eigen::VectorXd* theta) {
  return Step(gradient, all_ones_, theta);
}

bool Optimizer::Step(const Eigen::Ref<const Eigen::VectorXd>& gradient,
                     const Eigen::Ref<const Eigen::VectorXd>& trainable,
                     Eigen::VectorXd* theta) {
  const Eigen::Index n = num_params();
  if (theta == nullptr || gradient.size() != n || trainable.size() != n || theta->size() != n) {
    throw std::invalid_argument(
        "Optimizer::Step: gradient, trainable and theta must have num_params = " +
        std::to_string(n) + " entries (got " + std::to_string(gradient.size()) + ", " +
        std::to_string(trainable.size()) + ", " +
        (theta == nullptr ? std::string("null") : std::to_string(theta->size())) + ")");
  }
  // Check everything before changing anything, so a rejected step leaves no trace.
  for (Eigen::Index i = 0; i < n; ++i) {
    if (trainable(i) != 0.0 && trainable(i) != 1.0) {
      throw std::invalid_argument("Optimizer::Step: trainable(" + std::to_string(i) +
                                  ") = " + std::to_string(trainable(i)) + ": must be 0 or 1");
    }
    if (trainable(i) != 0.0 && !std::isfinite(gradient(i))) return false;
  }

  const OptimizerOptions& o = options_;
  double sum_sq = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (trainable(i) == 0.0) continue;
    double g = gradient(i);
    if (o.clip_value > 0.0) g = std::clamp(g, -o.clip_value, o.clip_value);
    clipped_(i) = g;
    sum_sq += g * g;
  }
  // Frozen entries take no part in the norm: freezing a block must not change how the others clip
  // (they are simply not handed to the optimizer in the papers' code).
  const double scale =
      o.clip_norm > 0.0 ? std::min(1.0, o.clip_norm / (std::sqrt(sum_sq) + kClipNormOffset)) : 1.0;

  ++steps_;
  Eigen::VectorXd& x = *theta;
  if (o.kind == OptimizerKind::kSgd) {
    for (Eigen::Index i = 0; i < n; ++i) {
      if (trainable(i) == 0.0) continue;
      const double g = clipped_(i) * scale;
      // PyTorch starts the buffer at the first gradient itself, undamped.
      m_(i) = steps_ == 1 ? g : o.momentum * m_(i) + (1.0 - o.dampening) * g;
      const double d = o.nesterov ? g + o.momentum * m_(i) : m_(i);
      x(i) -= o.lr * d;
    }
  } else {
    const double t = static_cast<double>(steps_);
    const double correction1 = 1.0 - std::pow(o.beta1, t);
    const double correction2 = 1.0 - std::pow(o.beta2, t);
    const double decay = o.kind == OptimizerKind::kAdamW ? o.weight_decay : 0.0;
    for (Eigen::Index i = 0; i < n; ++i) {
      if (trainable(i) == 0.0) continue;
      const double g = clipped_(i) * scale;
      m_(i) = o.beta1 * m_(i) + (1.0 - o.beta1) * g;
      v_(i) = o.beta2 * v_(i) + (1.0 - o.beta2) * (g * g);
      const double m_hat = m_(i) / correction1;
      const double v_hat = v_(i) / correction2;
      // optax: the decay term is added to the Adam direction and scaled by lr with it.
      x(i) -= o.lr * (m_hat / (std::sqrt(v_hat) + o.eps) + decay * x(i));
    }
  }
  if (o.reset_every > 0 && steps_ == o.reset_every) Reset();
  return true;
}

}  // namespace ctrnn
