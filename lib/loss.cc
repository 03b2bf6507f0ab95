#include "lib/loss.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace ctrnn {

LossKind ParseLossKind(const std::string& name, const std::string& field) {
  if (name == "mse") return LossKind::kMaskedMse;
  if (name == "final_mse") return LossKind::kFinalMse;
  if (name == "cross_entropy") return LossKind::kCrossEntropy;
  throw std::invalid_argument(field + " = \"" + name +
                              "\": unknown loss (mse, final_mse, cross_entropy)");
}

std::string LossKindName(LossKind kind) {
  switch (kind) {
    case LossKind::kMaskedMse:
      return "mse";
    case LossKind::kFinalMse:
      return "final_mse";
    case LossKind::kCrossEntropy:
      return "cross_entropy";
  }
  return "?";
}

void LossOptions::Validate() const {
  if (num_classes < 1) {
    throw std::invalid_argument("LossOptions.num_classes = " + std::to_string(num_classes) +
                                ": must be >= 1");
  }
}

namespace {

std::string Where(const char* field, size_t k, Eigen::Index row, Eigen::Index col) {
  std::ostringstream s;
  s << "batch." << field << "[" << k << "](" << row << ", " << col << ")";
  return s.str();
}

std::string Prefix(const LossOptions& options) {
  return "loss '" + LossKindName(options.kind) + "': ";
}

// The mask weight of entry (o, b) of bin k: 1 without a mask.
double Weight(const Batch& batch, size_t k, Eigen::Index o, Eigen::Index b) {
  return batch.mask.empty() ? 1.0 : batch.mask[k](o, b);
}

}  // namespace

void ValidateLossInputs(const Batch& batch, Eigen::Index output_size, const LossOptions& options) {
  options.Validate();
  const std::string pre = Prefix(options);
  const size_t t = batch.inputs.size();
  const Eigen::Index trials = batch.num_trials();
  if (t == 0) throw std::invalid_argument(pre + "batch has no bins");
  if (batch.targets.empty()) {
    throw std::invalid_argument(pre + "batch has no targets (needs targets[k], " +
                                std::to_string(output_size) + " x " + std::to_string(trials) +
                                " per bin)");
  }
  if (batch.targets.size() != t) {
    throw std::invalid_argument(pre + "batch has " + std::to_string(batch.targets.size()) +
                                " target bins for " + std::to_string(t) + " input bins");
  }
  if (!batch.mask.empty() && batch.mask.size() != t) {
    throw std::invalid_argument(pre + "batch has " + std::to_string(batch.mask.size()) +
                                " mask bins for " + std::to_string(t) + " input bins");
  }
  auto check_shape = [&](const Eigen::MatrixXd& m, const char* field, size_t k) {
    if (m.rows() != output_size || m.cols() != trials) {
      throw std::invalid_argument(pre + "batch." + field + "[" + std::to_string(k) + "] is " +
                                  std::to_string(m.rows()) + "x" + std::to_string(m.cols()) +
                                  ", expected " + std::to_string(output_size) + "x" +
                                  std::to_string(trials) + " (outputs x trials)");
    }
  };
  for (size_t k = 0; k < t; ++k) {
    check_shape(batch.targets[k], "targets", k);
    if (!batch.mask.empty()) check_shape(batch.mask[k], "mask", k);
  }
  // Only the bins the loss reads are checked entry by entry.
  const size_t first = options.kind == LossKind::kMaskedMse ? 0 : t - 1;
  Eigen::Index rows = output_size;
  if (options.kind == LossKind::kCrossEntropy) {
    if (output_size % options.num_classes != 0) {
      throw std::invalid_argument(
          pre + std::to_string(output_size) +
          " outputs are not heads of num_classes = " + std::to_string(options.num_classes));
    }
    rows = output_size / options.num_classes;
  }
  double total_weight = 0.0;
  for (size_t k = first; k < t; ++k) {
    for (Eigen::Index b = 0; b < trials; ++b) {
      for (Eigen::Index o = 0; o < rows; ++o) {
        const double w = Weight(batch, k, o, b);
        if (!(std::isfinite(w) && w >= 0.0)) {
          throw std::invalid_argument(pre + Where("mask", k, o, b) + " = " + std::to_string(w) +
                                      ": mask weights must be finite and >= 0");
        }
        if (w == 0.0) continue;
        total_weight += w;
        const double y = batch.targets[k](o, b);
        if (!std::isfinite(y)) {
          throw std::invalid_argument(pre + Where("targets", k, o, b) +
                                      " is NaN or Inf where the mask is not 0");
        }
        if (options.kind == LossKind::kCrossEntropy &&
            (y != std::floor(y) || y < 0.0 || y >= static_cast<double>(options.num_classes))) {
          throw std::invalid_argument(pre + Where("targets", k, o, b) + " = " + std::to_string(y) +
                                      " is not a class label in [0, " +
                                      std::to_string(options.num_classes) + ")");
        }
      }
    }
  }
  if (!(total_weight > 0.0)) {
    throw std::invalid_argument(pre + "the mask is 0 on every entry the loss reads");
  }
}

LossValue EvaluateLoss(const Batch& batch,
                       const std::vector<Eigen::MatrixXd>& outputs_at_edges,
                       const LossOptions& options) {
  LossValue out;
  EvaluateLoss(batch, outputs_at_edges, options, &out);
  return out;
}

void EvaluateLoss(const Batch& batch,
                  const std::vector<Eigen::MatrixXd>& outputs_at_edges,
                  const LossOptions& options,
                  LossValue* out) {
  if (out == nullptr) throw std::invalid_argument("EvaluateLoss: out is null");
  const size_t t = batch.inputs.size();
  const Eigen::Index o_size = batch.targets.empty() ? 0 : batch.targets[0].rows();
  const Eigen::Index trials = batch.num_trials();
  ValidateLossInputs(batch, o_size, options);
  const std::string pre = Prefix(options);
  if (outputs_at_edges.size() != t + 1) {
    throw std::invalid_argument(pre + std::to_string(outputs_at_edges.size()) + " outputs for " +
                                std::to_string(t + 1) + " bin edges (need one per edge t_0..t_T)");
  }
  for (size_t k = 0; k <= t; ++k) {
    const Eigen::MatrixXd& y = outputs_at_edges[k];
    if (y.rows() != o_size || y.cols() != trials) {
      throw std::invalid_argument(pre + "outputs_at_edges[" + std::to_string(k) + "] is " +
                                  std::to_string(y.rows()) + "x" + std::to_string(y.cols()) +
                                  ", expected " + std::to_string(o_size) + "x" +
                                  std::to_string(trials) + " like the targets");
    }
  }
  out->dl_dy.resize(t + 1);
  for (Eigen::MatrixXd& g : out->dl_dy) g.setZero(o_size, trials);

  switch (options.kind) {
    case LossKind::kMaskedMse:
    case LossKind::kFinalMse: {
      const size_t first = options.kind == LossKind::kMaskedMse ? 0 : t - 1;
      // Σ m (y − y*)² / Σ m; entries with m = 0 are skipped, not multiplied by 0 (NaN targets).
      double sum = 0.0, weight = 0.0;
      for (size_t k = first; k < t; ++k) {
        const Eigen::MatrixXd& y = outputs_at_edges[k + 1];
        const Eigen::MatrixXd& target = batch.targets[k];
        Eigen::MatrixXd& g = out->dl_dy[k + 1];
        if (batch.mask.empty()) {
          g = y - target;
          sum += g.squaredNorm();
          weight += static_cast<double>(g.size());
          continue;
        }
        const Eigen::MatrixXd& m = batch.mask[k];
        for (Eigen::Index b = 0; b < trials; ++b) {
          for (Eigen::Index o = 0; o < o_size; ++o) {
            const double w = m(o, b);
            if (w == 0.0) continue;
            const double r = y(o, b) - target(o, b);
            sum += w * r * r;
            weight += w;
            g(o, b) = w * r;
          }
        }
      }
      out->loss = sum / weight;
      const double scale = 2.0 / weight;
      for (size_t k = first; k < t; ++k) out->dl_dy[k + 1] *= scale;
      break;
    }
    case LossKind::kCrossEntropy: {
      const Eigen::Index c = options.num_classes, heads = o_size / c;
      const Eigen::MatrixXd& y = outputs_at_edges[t];
      const Eigen::MatrixXd& labels = batch.targets[t - 1];
      Eigen::MatrixXd& g = out->dl_dy[t];
      double loss = 0.0;
      for (Eigen::Index h = 0; h < heads; ++h) {
        double weight = 0.0;
        for (Eigen::Index b = 0; b < trials; ++b) weight += Weight(batch, t - 1, h, b);
        if (weight == 0.0) continue;  // inactive head
        double head_loss = 0.0;
        for (Eigen::Index b = 0; b < trials; ++b) {
          const double w = Weight(batch, t - 1, h, b);
          if (w == 0.0) continue;
          const Eigen::Ref<const Eigen::VectorXd> z = y.col(b).segment(h * c, c);
          // log Σ exp z = z_max + log Σ exp(z − z_max): no overflow, and the largest term is 1.
          const double z_max = z.maxCoeff();
          const double sum_exp = (z.array() - z_max).exp().sum();
          const double lse = z_max + std::log(sum_exp);
          const auto label = static_cast<Eigen::Index>(labels(h, b));
          head_loss += w * (lse - z(label));
          // ∂CE/∂z = softmax(z) − e_label.
          Eigen::Ref<Eigen::VectorXd> gz = g.col(b).segment(h * c, c);
          gz = ((z.array() - z_max).exp() / sum_exp).matrix();
          gz(label) -= 1.0;
          gz *= w / weight;
        }
        loss += head_loss / weight;
      }
      out->loss = loss;
      break;
    }
  }
}

LossOptions LossOptionsFromConfig(Config* c, const LossOptions& defaults) {
  LossOptions o = defaults;
  o.kind = ParseLossKind(
      c->GetString("kind", LossKindName(defaults.kind), {"mse", "final_mse", "cross_entropy"}),
      c->path() + ".kind");
  if (o.kind == LossKind::kCrossEntropy) {
    o.num_classes = c->GetInt("num_classes", defaults.num_classes, 1, 1 << 20);
  }
  return o;
}

}  // namespace ctrnn
