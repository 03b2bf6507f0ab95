// Full-rank continuous-time RNN with one time constant per neuron.
//
//   form "current" (NM-RNN paper's vanilla RNN, §1.6):
//       τ̃ ⊙ dx/dt = −x + g W_rec φ(x) + W_in u + b_rec + b_in
//   form "rate" (timescales paper's Variant B, §1.1: φ on the drive):
//       τ̃ ⊙ dx/dt = −x + φ(W_rec x + b_rec + W_in u + b_in)
//   y = W_out x + b_out,   τ̃ = max(τ, tau_min),   g = 1/N if scale_by_N else 1.
//
// Forward Euler with dt = 1 is the papers' discrete update x_t = (1 − 1/τ̃) x_{t−1} + (1/τ̃)(…).
// τ̃ is the timescales paper's clamp: its gradient is 0 where τ < tau_min.
//
// clang-format off
// | block | shape    | meaning                              | init "uniform" (PyTorch nn.Linear) | init "nmrnn"   | init "gaussian"  |
// |-------|----------|--------------------------------------|------------------------------------|----------------|------------------|
// | tau   | N        | raw time constants (if train_tau)    | U[tau_lo, tau_hi)                  | same           | same             |
// | W_in  | N x U    | input weights                        | U(±1/√U)                           | N(0,1)/√U      | N(0,1)/√U        |
// | b_in  | N        | input bias (if biases)               | U(±1/√U)                           | 0              | 0                |
// | W_rec | N x N    | recurrent weights (diag masked if zero_diagonal) | U(±1/√N)               | N(0,1)         | N(0,1) gain/√N   |
// | b_rec | N        | recurrent bias (if biases)           | U(±1/√N)                           | 0              | 0                |
// | W_out | O x N    | readout (O = num_heads·num_classes; row = head·classes + class) | U(±1/√N) | N(0,1)/√N | N(0,1)/√N       |
// | b_out | O        | readout bias (if readout_bias)       | U(±1/√N)                           | N(0,1)/√N      | 0                |
// clang-format on
//
// Options ([model], kind = "ctrnn"): N (100), input_size (1), num_heads (1), num_classes (1),
// form ("current"), phi ("tanh"), train_tau (true), tau (10: the fixed value when train_tau is
// false), tau_lo/tau_hi (1, 2: initial U[lo, hi) when trained), tau_min (1), zero_diagonal (false),
// scale_by_N (false), biases (true), readout_bias (true), init ("uniform"), gain (1), x0 (0.1).
#ifndef CTRNN_LIB_MODELS_CTRNN_H_
#define CTRNN_LIB_MODELS_CTRNN_H_

#include <cstdint>
#include <memory>
#include <string>

#include "lib/config.h"
#include "lib/model.h"
#include "lib/nonlinearity.h"

namespace ctrnn {

struct CtrnnOptions {
  Eigen::Index num_neurons = 100;
  Eigen::Index input_size = 1;
  Eigen::Index num_heads = 1;
  Eigen::Index num_classes = 1;
  bool rate_form = false;  // "rate" (Variant B) when true, "current" otherwise
  Nonlinearity phi = Nonlinearity::kTanh;
  bool train_tau = true;
  double tau = 10.0;
  double tau_lo = 1.0;
  double tau_hi = 2.0;
  double tau_min = 1.0;
  bool zero_diagonal = false;
  bool scale_by_n = false;
  bool biases = true;
  bool readout_bias = true;
  std::string init = "uniform";
  double gain = 1.0;
  double x0 = 0.1;
};

class Ctrnn final : public ContinuousModel {
 public:
  explicit Ctrnn(const CtrnnOptions& options);
  static std::unique_ptr<Model> FromConfig(Config* config, std::uint64_t seed);
  void Initialize(std::uint64_t seed);

  std::string kind() const override { return "ctrnn"; }
  Eigen::Index state_size() const override { return opt_.num_neurons; }
  Eigen::Index input_size() const override { return opt_.input_size; }
  Eigen::Index output_size() const override { return opt_.num_heads * opt_.num_classes; }
  std::vector<StateBlock> state_blocks() const override;
  Attributes hyperparameters() const override;

  void Rhs(ConstMatRef x, ConstMatRef u, MatRef dxdt) const override;
  void Vjp(ConstMatRef x,
           ConstMatRef u,
           ConstMatRef lambda,
           MatRef lambda_x,
           VecRef g_theta) const override;
  Eigen::MatrixXd Jacobian(ConstVecRef x, ConstVecRef u) const override;
  void Readout(ConstMatRef x, MatRef y) const override;
  void ReadoutVjp(ConstMatRef x, ConstMatRef ybar, MatRef xbar, VecRef g_theta) const override;

  // The effective time constants τ̃ and recurrent weights (diagonal masked) in use.
  const Eigen::VectorXd& effective_tau() const { return tau_eff_; }
  const Eigen::MatrixXd& effective_w() const { return w_eff_; }
  const CtrnnOptions& options() const { return opt_; }

 private:
  void Refresh() override;
  // The drive D (so that f = (−x + D)/τ̃), and for the rate form the pre-activation a.
  void Drive(ConstMatRef x, ConstMatRef u, Eigen::MatrixXd* drive, Eigen::MatrixXd* pre) const;

  CtrnnOptions opt_;
  Eigen::Index tau_off_ = -1, w_in_off_, b_in_off_ = -1, w_rec_off_, b_rec_off_ = -1, w_out_off_,
               b_out_off_ = -1;
  Eigen::VectorXd tau_eff_, inv_tau_;
  Eigen::VectorXd tau_active_;  // 1 where τ > tau_min (gradient passes), else 0
  Eigen::MatrixXd w_eff_;       // g · W_rec with the diagonal masked
  Eigen::VectorXd bias_;        // b_rec + b_in
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_MODELS_CTRNN_H_
