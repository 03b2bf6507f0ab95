// GRU baseline (timescales spec §1.3, §8.9: the LSTM script with nn.GRU),
// with PyTorch's equations (torch.nn.GRU, one layer). A discrete-time map, one
// step per input bin, state h (S = N).
//
//   r   = σ(W_ir u_t + b_ir + W_hr h_{t-1} + b_hr)
//   z   = σ(W_iz u_t + b_iz + W_hz h_{t-1} + b_hz)
//   n   = tanh(W_in u_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
//   h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}   (computed as n + z ⊙ (h_{t-1} − n),
//                                      as PyTorch does)
//   y_t = C h_t + d                    (d only with readout_bias)
//
// The gates are stored stacked in PyTorch's order r, z, n (rows [kN, (k+1)N)
// belong to gate k), so one step is two matrix products. Both bias vectors are
// kept because b_hn sits inside r ⊙ (·).
//
// Parameters, 3(NU + N² + 2N) + ON (+ O) in all:
//
//   name shape   meaning                      init "pytorch"      init "nmrnn"
//   W_u  3N x U  input [W_ir; W_iz; W_in]     U(−k, k), k = 1/√N  N(0,1)/√U
//   W_h  3N x N  recurrent [W_hr; W_hz; W_hn] U(−k, k)            N(0,1)/√N
//   b_u  3N      [b_ir; b_iz; b_in]           U(−k, k)            N(0,1)/√N
//   b_h  3N      [b_hr; b_hz; b_hn]           U(−k, k)            N(0,1)/√N
//   C    O x N   readout weights              U(−k, k)            N(0,1)/√N
//   d    O       readout bias (optional)      U(−k, k)            0
//
// Config ([model], kind = "gru"): key, type, default, meaning.
//   N              int     500        hidden units (timescales spec: 500)
//   input_size     int     1          U
//   output_size    int     2          O (one 2-class head; 100 heads: 200)
//   readout_bias   bool    true       add d (nn.Linear has it)
//   init           string  "pytorch"  "pytorch" | "nmrnn" (table above)
//   initial_state  string  "zeros"    "zeros": h0 = 0 (timescales §1.3) |
//                                     "constant": 0.1 | "random": N(0,1)/√N
//                                     per entry, drawn once from the seed
#ifndef CTRNN_LIB_MODELS_GRU_H_
#define CTRNN_LIB_MODELS_GRU_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/config.h"
#include "lib/model.h"

namespace ctrnn {

class Gru final : public DiscreteModel {
 public:
  struct Options {
    Eigen::Index hidden_size = 500;  // hidden units, >= 1
    Eigen::Index input_size = 1;     // U, >= 1
    Eigen::Index output_size = 2;    // O, >= 1
    bool readout_bias = true;
    std::string init = "pytorch";         // "pytorch" | "nmrnn"
    std::string initial_state = "zeros";  // "zeros" | "constant" | "random"
  };

  // Builds the layout and draws theta and (for "random") the initial state from
  // `seed`. Throws std::invalid_argument on a non-positive size or an unknown
  // init / initial_state.
  Gru(const Options& options, std::uint64_t seed);

  // Reads the options above from `model_config` (recording every resolved
  // value).
  static std::unique_ptr<Model> FromConfig(Config* model_config, std::uint64_t seed);

  std::string kind() const override { return "gru"; }
  Eigen::Index state_size() const override { return n_; }
  Eigen::Index input_size() const override { return options_.input_size; }
  Eigen::Index output_size() const override { return options_.output_size; }
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

 private:
  Options options_;
  Eigen::Index n_;
  // Offsets of the blocks in theta (and in gradients), fixed by the
  // constructor.
  Eigen::Index off_w_u_, off_w_h_, off_b_u_, off_b_h_, off_c_, off_d_ = -1;
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_MODELS_GRU_H_
