#include "solvers/perturb.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "lib/models/ctrnn.h"
#include "lib/models/discrete_rnn.h"
#include "lib/models/nm_rnn.h"

namespace ctrnn {
namespace {

void CopyState(const Model& from, Model* to) {
  to->SetTheta(from.theta());
  to->set_initial_state(from.initial_state());
}

// The readout layout of the two full-rank kinds: heads × classes rows of W_out.
void HeadsAndClasses(const Model& model, Eigen::Index* heads, Eigen::Index* classes) {
  if (const auto* c = dynamic_cast<const Ctrnn*>(&model)) {
    *heads = c->options().num_heads;
    *classes = c->options().num_classes;
  } else if (const auto* d = dynamic_cast<const DiscreteRnn*>(&model)) {
    *heads = d->options().num_heads;
    *classes = d->options().num_classes;
  } else {
    throw std::invalid_argument("model kind '" + model.kind() +
                                "' has no W_rec/W_in/W_out view (ctrnn and discrete_rnn do)");
  }
}

}  // namespace

std::unique_ptr<Model> CloneModel(const Model& model) {
  std::unique_ptr<Model> copy;
  if (const auto* c = dynamic_cast<const Ctrnn*>(&model)) {
    copy = std::make_unique<Ctrnn>(c->options());
  } else if (const auto* d = dynamic_cast<const DiscreteRnn*>(&model)) {
    copy = std::make_unique<DiscreteRnn>(d->options(), 0);
  } else if (const auto* nm = dynamic_cast<const NmRnn*>(&model)) {
    copy = std::make_unique<NmRnn>(nm->options());
  } else {
    throw std::invalid_argument("CloneModel: model kind '" + model.kind() +
                                "' cannot be copied (ctrnn, discrete_rnn and nm_rnn can)");
  }
  CopyState(model, copy.get());
  return copy;
}

std::unique_ptr<Model> ClampModulation(const Model& model, Eigen::Index k, double value) {
  const auto* nm = dynamic_cast<const NmRnn*>(&model);
  if (nm == nullptr) {
    throw std::invalid_argument("ClampModulation: model kind '" + model.kind() +
                                "' has no modulation s (nm_rnn has)");
  }
  NmRnnOptions options = nm->options();
  options.clamped_s.emplace_back(k, value);  // the constructor checks k and value
  auto copy = std::make_unique<NmRnn>(options);
  CopyState(model, copy.get());
  return copy;
}

std::unique_ptr<Model> AblateNeuron(const Model& model,
                                    Eigen::Index i,
                                    const std::vector<Eigen::Index>& heads) {
  Eigen::Index num_heads = 0, classes = 0;
  try {
    HeadsAndClasses(model, &num_heads, &classes);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("AblateNeuron: ") + e.what());
  }
  const Eigen::Index n = model.state_size();
  if (i < 0 || i >= n) {
    throw std::invalid_argument("AblateNeuron: neuron " + std::to_string(i) + " is not in [0, " +
                                std::to_string(n) + ")");
  }
  for (const Eigen::Index h : heads) {
    if (h < 0 || h >= num_heads) {
      throw std::invalid_argument("AblateNeuron: head " + std::to_string(h) + " is not in [0, " +
                                  std::to_string(num_heads) + ")");
    }
  }
  auto copy = CloneModel(model);
  Eigen::MatrixXd w_rec = model.Param("W_rec");
  w_rec.row(i).setZero();
  w_rec.col(i).setZero();
  copy->SetParam("W_rec", w_rec);
  Eigen::MatrixXd w_in = model.Param("W_in");
  w_in.row(i).setZero();
  copy->SetParam("W_in", w_in);
  Eigen::MatrixXd w_out = model.Param("W_out");
  if (heads.empty()) {
    w_out.col(i).setZero();
  } else {
    for (const Eigen::Index h : heads) w_out.block(h * classes, i, classes, 1).setZero();
  }
  copy->SetParam("W_out", w_out);
  return copy;
}

std::unique_ptr<Model> PerturbRecurrentWeights(const Model& model, double eps, Rng* rng) {
  Eigen::Index heads = 0, classes = 0;
  try {
    HeadsAndClasses(model, &heads, &classes);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("PerturbRecurrentWeights: ") + e.what());
  }
  if (!(eps >= 0.0) || !std::isfinite(eps)) {
    throw std::invalid_argument("PerturbRecurrentWeights: eps = " + std::to_string(eps) +
                                " must be >= 0");
  }
  if (rng == nullptr) throw std::invalid_argument("PerturbRecurrentWeights: rng is null");
  const Eigen::MatrixXd w = model.Param("W_rec");
  const Eigen::MatrixXd d = rng->NormalMatrix(w.rows(), w.cols(), 1.0);
  auto copy = CloneModel(model);
  copy->SetParam("W_rec", w + (eps * w.norm() / d.norm()) * d);
  return copy;
}

std::unique_ptr<Model> PerturbTimeConstants(const Model& model, double eps, Rng* rng) {
  Eigen::Index heads = 0, classes = 0;
  try {
    HeadsAndClasses(model, &heads, &classes);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("PerturbTimeConstants: ") + e.what());
  }
  if (!model.layout().Has("tau")) {
    throw std::invalid_argument("PerturbTimeConstants: model kind '" + model.kind() +
                                "' has no trained tau block (train_tau = false)");
  }
  if (!(eps >= 0.0) || !std::isfinite(eps)) {
    throw std::invalid_argument("PerturbTimeConstants: eps = " + std::to_string(eps) +
                                " must be >= 0");
  }
  if (rng == nullptr) throw std::invalid_argument("PerturbTimeConstants: rng is null");
  const Eigen::MatrixXd tau = model.Param("tau");
  const Eigen::MatrixXd d = rng->NormalMatrix(tau.rows(), tau.cols(), 1.0);
  auto copy = CloneModel(model);
  copy->SetParam("tau", tau + (eps * tau.norm() / d.norm()) * d.cwiseAbs());
  return copy;
}

double RelativeAccuracy(double accuracy, double baseline, double chance) {
  if (baseline == chance) {
    throw std::invalid_argument("RelativeAccuracy: baseline = chance = " + std::to_string(chance) +
                                ": the relative accuracy is undefined");
  }
  return (accuracy - chance) / (baseline - chance);
}

}  // namespace ctrnn
