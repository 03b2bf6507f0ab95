// Ablation and perturbation as model views (DESIGN.md §3.6): each function returns a modified
// copy of a model and leaves the original untouched (timescales spec §5.5–§5.6, nmrnn spec §4.2).
//
//   | view                      | models                         | what changes |
//   |---------------------------|--------------------------------|----------------------------------|
//   | ClampModulation(k, v)     | nm_rnn                         | s_k(t) ≡ v (zero derivative) |
//   | AblateNeuron(i, heads)    | ctrnn, discrete_rnn            | W_rec row i and column i, W_in |
//   |                           |                                | row i, column i of W_out in the
//   | |                           |                                | given heads; biases and τ kept
//   | | PerturbRecurrentWeights   | ctrnn, discrete_rnn            | W ← W + ε‖W‖_F D/‖D‖_F, | | |
//   | D_ij ~ N(0, 1)                   | | PerturbTimeConstants      | ctrnn, discrete_rnn with a
//   | τ ← τ + ε‖τ‖_2 |D|/‖D‖_2,         | |                           | trained τ block | D_i ~
//   N(0, 1): τ only grows      |
//
// The perturbations act on the raw parameter blocks (θ), as the authors' code does: a masked
// diagonal of W_rec is perturbed in θ and still ignored by the dynamics, and τ is clamped at
// tau_min after the kick. The relative accuracy of spec §5.5–5.6 is
// rel = (acc − chance)/(baseline − chance): baseline = max of the unablated accuracies (ablation)
// or their mean at ε = 0 (perturbation).
#ifndef CTRNN_SOLVERS_PERTURB_H_
#define CTRNN_SOLVERS_PERTURB_H_

#include <memory>
#include <vector>

#include "lib/model.h"
#include "lib/random.h"

namespace ctrnn {

// A copy with the same options, θ and initial state. Throws std::invalid_argument for a kind
// without a copy (lstm, gru, low_rank), naming it.
std::unique_ptr<Model> CloneModel(const Model& model);

// The NM-RNN with s_k ≡ value added to its clamps (0 <= k < R, value in [0, 1]; the paper's
// ablation uses 0). Throws std::invalid_argument for another kind or an invalid k or value.
std::unique_ptr<Model> ClampModulation(const Model& model, Eigen::Index k, double value);

// Neuron i removed (spec §5.5): row i and column i of W_rec, row i of W_in and column i of the
// readout rows of every head in `heads` (empty: every head) are zero. Throws
// std::invalid_argument for another kind, i or a head out of range.
std::unique_ptr<Model> AblateNeuron(const Model& model,
                                    Eigen::Index i,
                                    const std::vector<Eigen::Index>& heads);

// W_rec + eps·‖W_rec‖_F·D/‖D‖_F with D drawn from rng (column by column): ‖ΔW‖_F = eps·‖W‖_F
// exactly (to round-off). eps >= 0. Throws std::invalid_argument for another kind or eps < 0.
std::unique_ptr<Model> PerturbRecurrentWeights(const Model& model, double eps, Rng* rng);

// τ + eps·‖τ‖_2·|D|/‖D‖_2 with D drawn from rng: every τ_i grows, ‖Δτ‖_2 = eps·‖τ‖_2. Throws
// std::invalid_argument for another kind, a model without a trained τ block, or eps < 0.
std::unique_ptr<Model> PerturbTimeConstants(const Model& model, double eps, Rng* rng);

// (accuracy − chance)/(baseline − chance). Throws std::invalid_argument if baseline == chance.
double RelativeAccuracy(double accuracy, double baseline, double chance = 0.5);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_PERTURB_H_
