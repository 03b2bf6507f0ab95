// The timescales paper's leaky RNN in its discrete "Variant A" form
// (timescales spec §1.1, authors' src/models/RNN_Stack.py): the nonlinearity
// wraps the whole leaky update, one step per input digit. (Variant B, φ on the
// drive only, is the Euler step of the continuous model: ctrnn, form "rate".)
//
//   τ̃   = max(τ, tau_min)           (dτ̃/dτ = 0 where τ < tau_min)
//   a_t = W_rec h_{t−1} + b_rec + W_in u_t + b_in
//   h_t = φ((1 − 1/τ̃) ⊙ h_{t−1} + (1/τ̃) ⊙ a_t)
//   y_t = W_out h_t + b_out          (all heads; row o = head·K + class)
//
// With zero_diagonal the diagonal of W_rec is masked out of the dynamics (the
// authors zero it at the start of every forward): it is 0 after init, ignored
// by Step, and its gradient is exactly 0. torch.clamp passes the gradient
// where τ >= tau_min (equality included), and so does this model; a τ that
// falls below tau_min therefore stays there.
//
// Parameters (PyTorch nn.Linear init U(−1/√fan_in, 1/√fan_in); U = 1 gives
// U(−1, 1) for the input layer):
//
//   name   shape      meaning                           default init
//   tau    N          time constants, steps (train_tau) U[1, 2)
//   W_in   N x U      input weights                     U(−1/√U, 1/√U)
//   b_in   N          input bias                        U(−1/√U, 1/√U)
//   W_rec  N x N      recurrent weights (diag. masked)  U(−1/√N, 1/√N)
//   b_rec  N          recurrent bias                    U(−1/√N, 1/√N)
//   W_out  H·K x N    readout heads, stacked            U(−1/√N, 1/√N)
//   b_out  H·K        readout biases                    U(−1/√N, 1/√N)
//
// Initial state: h0 = 0.1·U(0, 1) per neuron, drawn ONCE from the seed. The
// authors redraw h0 for every sequence on every forward call (spec §1.1,
// §8.7); reproducing that is the task's / rollout's business
// (set_initial_state, or a per-trial initial state), not the model's.
//
// Config ([model], kind = "discrete_rnn"): key, type, default, meaning.
//   N              int     500           hidden units
//   input_size     int     1             U
//   num_heads      int     1             H readout heads (the paper: 100)
//   num_classes    int     2             K classes per head
//   output_size    int     H·K           derived; a given value must match
//   phi            string  "leaky_relu"  φ: leaky_relu (slope 0.01) | relu |
//                                        tanh | sigmoid | linear
//   zero_diagonal  bool    true          mask W_rec's diagonal
//   train_tau      bool    true          false: no tau block; every neuron
//                                        uses the fixed `tau`
//   tau            double  1             the fixed τ (read only when
//                                        train_tau = false)
//   tau_min        double  1             lower clamp of τ
//   initial_state  string  "uniform"     "uniform": 0.1·U(0, 1), drawn once |
//                                        "zeros" (the older model)
#ifndef CTRNN_LIB_MODELS_DISCRETE_RNN_H_
#define CTRNN_LIB_MODELS_DISCRETE_RNN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/config.h"
#include "lib/model.h"
#include "lib/nonlinearity.h"

namespace ctrnn {

class DiscreteRnn final : public DiscreteModel {
 public:
  struct Options {
    Eigen::Index num_neurons = 500;  // hidden units, >= 1
    Eigen::Index input_size = 1;     // U, >= 1
    Eigen::Index num_heads = 1;      // H, >= 1
    Eigen::Index num_classes = 2;    // K, >= 1
    Nonlinearity phi = Nonlinearity::kLeakyRelu;
    bool zero_diagonal = true;
    bool train_tau = true;
    double tau = 1.0;                       // fixed time constant when !train_tau (steps, > 0)
    double tau_min = 1.0;                   // clamp, > 0
    std::string initial_state = "uniform";  // "uniform" | "zeros"
  };

  // Builds the layout and draws theta and the initial state from `seed`.
  // Throws std::invalid_argument on a non-positive size or time constant, or an
  // unknown initial_state.
  DiscreteRnn(const Options& options, std::uint64_t seed);

  // Reads the options above from `model_config` (recording every resolved
  // value).
  static std::unique_ptr<Model> FromConfig(Config* model_config, std::uint64_t seed);

  std::string kind() const override { return "discrete_rnn"; }
  Eigen::Index state_size() const override { return n_; }
  Eigen::Index input_size() const override { return options_.input_size; }
  Eigen::Index output_size() const override { return options_.num_heads * options_.num_classes; }
  // {"h", 0, N}.
  std::vector<StateBlock> state_blocks() const override;
  Attributes hyperparameters() const override;

  // h_next may alias h (the state is read completely before it is written).
  void Step(ConstMatRef h, ConstMatRef u, MatRef h_next) const override;
  void StepVjp(ConstMatRef h,
               ConstMatRef u,
               ConstMatRef lambda_next,
               MatRef lambda,
               VecRef g_theta) const override;
  Eigen::MatrixXd StepJacobian(ConstVecRef h, ConstVecRef u) const override;

  void Readout(ConstMatRef x, MatRef y) const override;
  void ReadoutVjp(ConstMatRef x, ConstMatRef ybar, MatRef xbar, VecRef g_theta) const override;

  // The effective time constants τ̃ = max(τ, tau_min) (length N).
  Eigen::VectorXd effective_tau() const { return alpha_.cwiseInverse(); }
  const Options& options() const { return options_; }

 protected:
  void Refresh() override;

 private:
  Options options_;
  Eigen::Index n_;
  // Offsets of the blocks in theta (and in gradients); off_tau_ = -1 without
  // train_tau.
  Eigen::Index off_tau_ = -1, off_w_in_, off_b_in_, off_w_rec_, off_b_rec_, off_w_out_, off_b_out_;
  // Derived from theta by Refresh().
  Eigen::MatrixXd w_rec_;            // W_rec with the diagonal masked (zero_diagonal)
  Eigen::VectorXd alpha_;            // 1/τ̃
  Eigen::VectorXd one_minus_alpha_;  // 1 − 1/τ̃
  Eigen::VectorXd dalpha_dtau_;      // −1/τ² where τ >= tau_min, else 0
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_MODELS_DISCRETE_RNN_H_
