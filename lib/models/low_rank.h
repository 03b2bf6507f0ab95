// Low-rank RNN (NM-RNN spec §1.5): recurrent weights W = g L Vᵀ of rank R.
//
//   τ dx/dt = −x + g L Vᵀ φ(x) + B u,    y = C x + d,
//   L = Q from the thin QR of U (diag R > 0) if orthonormalize_U, else L = U;  g = 1/N if
//   scale_by_N.
//
// clang-format off
// | block | shape | meaning                       | init "nmrnn" (§1.5) | init "eft" (§1.5, EFT form) |
// |-------|-------|-------------------------------|---------------------|-----------------------------|
// | U     | N x R | left factors (before the QR)  | N(0,1)              | N(0,1)·gain/√N              |
// | V     | N x R | right factors                 | N(0,1)              | N(0,1)·gain/√N              |
// | B     | N x U | input weights                 | N(0,1)/√U           | N(0,1)/√U                   |
// | C     | O x N | readout                       | N(0,1)/√N           | N(0,1)/√N                   |
// | d     | O     | readout bias (if readout_bias)| N(0,1)/√N           | —                           |
// clang-format on
//
// Options ([model], kind = "low_rank"): N (106), R (3), input_size (3), output_size (1), tau (10),
// phi ("tanh"), orthonormalize_U (true), scale_by_N (true), readout_bias (true), init ("nmrnn"),
// gain (1), x0 (0.1).
#ifndef CTRNN_LIB_MODELS_LOW_RANK_H_
#define CTRNN_LIB_MODELS_LOW_RANK_H_

#include <cstdint>
#include <memory>
#include <string>

#include "lib/config.h"
#include "lib/model.h"
#include "lib/nonlinearity.h"

namespace ctrnn {

struct LowRankOptions {
  Eigen::Index num_neurons = 106;
  Eigen::Index rank = 3;
  Eigen::Index input_size = 3;
  Eigen::Index output_size = 1;
  double tau = 10.0;
  Nonlinearity phi = Nonlinearity::kTanh;
  bool orthonormalize_u = true;
  bool scale_by_n = true;
  bool readout_bias = true;
  std::string init = "nmrnn";
  double gain = 1.0;
  double x0 = 0.1;
};

class LowRank final : public ContinuousModel {
 public:
  explicit LowRank(const LowRankOptions& options);
  static std::unique_ptr<Model> FromConfig(Config* config, std::uint64_t seed);
  void Initialize(std::uint64_t seed);

  std::string kind() const override { return "low_rank"; }
  Eigen::Index state_size() const override { return opt_.num_neurons; }
  Eigen::Index input_size() const override { return opt_.input_size; }
  Eigen::Index output_size() const override { return opt_.output_size; }
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

  // The left factors L in use (Q of the QR, or U itself).
  const Eigen::MatrixXd& left_factors() const { return l_; }

 private:
  void Refresh() override;

  LowRankOptions opt_;
  Eigen::Index u_off_, v_off_, b_off_, c_off_, d_off_ = -1;
  Eigen::MatrixXd l_, r_qr_;  // L and the QR's R factor
  double g_ = 1.0;
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_MODELS_LOW_RANK_H_
