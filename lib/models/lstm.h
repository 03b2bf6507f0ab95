// LSTM baseline (NM-RNN spec nmrnn.md §1.7; timescales spec §1.3): a
// discrete-time map, one step per input bin, state x = [h; c] (S = 2N).
//
//   i   = σ(W_iu u_t + W_ih h_{t-1} + b_i)
//   f   = σ(W_fu u_t + W_fh h_{t-1} + b_f)
//   g   = tanh(W_gu u_t + W_gh h_{t-1} + b_g)
//   o   = σ(W_ou u_t + W_oh h_{t-1} + b_o)
//   c_t = f ⊙ c_{t-1} + i ⊙ g
//   h_t = o ⊙ tanh(c_t)
//   y_t = C h_t                      (+ d with readout_bias)
//
// The gates are stored stacked in PyTorch's gate order i, f, g, o, so one step
// is two matrix products (W_u u + W_h h) instead of eight: rows [kN, (k+1)N)
// of W_u, W_h and b belong to gate k (W_u = [W_iu; W_fu; W_gu; W_ou]). One
// bias per gate, as in the NM-RNN code; PyTorch's b_ih + b_hh is their sum.
//
// Parameters, 4(NU + N² + N) + ON (+ O) in all (MWG, N=15 U=3 O=1: 1155):
//
//   name shape   meaning                  init "nmrnn"  init "pytorch"
//   W_u  4N x U  input weights, i,f,g,o   N(0,1)/√U     U(−k, k), k = 1/√N
//   W_h  4N x N  recurrent weights        N(0,1)/√N     U(−k, k)
//   b    4N      gate biases b_i..b_o     N(0,1)/√N     U(−k, k) + U(−k, k)
//   C    O x N   readout weights          N(0,1)/√N     U(−k, k)
//   d    O       readout bias (optional)  0             U(−k, k)
//
// The "pytorch" bias is the sum of two independent draws, the distribution of
// PyTorch's b_ih + b_hh, so timescales §1.3's tau_bias = 1/(1 − σ(b_if + b_hf))
// reads 1/(1 − σ(b_f)) here. forget_bias is added to b_f after either init
// (the "forget-gate = 1" variant; both papers use 0).
//
// Config ([model], kind = "lstm"): key, type, default, meaning.
//   N              int     15          hidden units
//   input_size     int     3           U
//   output_size    int     1           O
//   readout_bias   bool    false       add d (the NM-RNN code has none)
//   init           string  "nmrnn"     "nmrnn" | "pytorch" (table above)
//   forget_bias    double  0           added to b_f after the init
//   initial_state  string  "constant"  "constant": h0 = c0 = 0.1 (MWG and
//                                      multitask scripts) | "random":
//                                      N(0,1)/√N per entry of [h0; c0], drawn
//                                      once from the seed (EFT, nmrnn §6.10)
//                                      | "zeros" (timescales §1.3)
#ifndef CTRNN_LIB_MODELS_LSTM_H_
#define CTRNN_LIB_MODELS_LSTM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/config.h"
#include "lib/model.h"

namespace ctrnn {

class Lstm final : public DiscreteModel {
 public:
  struct Options {
    Eigen::Index hidden_size = 15;  // hidden units, >= 1
    Eigen::Index input_size = 3;    // U, >= 1
    Eigen::Index output_size = 1;   // O, >= 1
    bool readout_bias = false;
    std::string init = "nmrnn";              // "nmrnn" | "pytorch"
    double forget_bias = 0.0;                // added to b_f at init
    std::string initial_state = "constant";  // "constant" | "random" | "zeros"
  };

  // Builds the layout and draws theta and (for "random") the initial state from
  // `seed`. Throws std::invalid_argument on a non-positive size or an unknown
  // init / initial_state.
  Lstm(const Options& options, std::uint64_t seed);

  // Reads the options above from `model_config` (recording every resolved
  // value).
  static std::unique_ptr<Model> FromConfig(Config* model_config, std::uint64_t seed);

  std::string kind() const override { return "lstm"; }
  Eigen::Index state_size() const override { return 2 * n_; }
  Eigen::Index input_size() const override { return options_.input_size; }
  Eigen::Index output_size() const override { return options_.output_size; }
  // {"h", 0, N}, {"c", N, N}.
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

 private:
  Options options_;
  Eigen::Index n_;
  // Offsets of the blocks in theta (and in gradients), fixed by the
  // constructor.
  Eigen::Index off_w_u_, off_w_h_, off_b_, off_c_, off_d_ = -1;
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_MODELS_LSTM_H_
