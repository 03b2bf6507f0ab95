// Neuromodulated low-rank RNN (NM-RNN; Costacurta et al. 2024; spec nmrnn.md §1.2–1.4, §1.8).
//
//   τ_z dz/dt = −z + W_z tanh(z) + B_z u [+ W_zx φ(x) + b_zx]          z ∈ R^M  (neuromodulatory)
//   s(z)      = σ(A_z z + b_z)                                         s ∈ (0,1)^R
//   τ_x dx/dt = −x + g L diag(s) Vᵀ φ(x) + B_x u_x                     x ∈ R^N  (output network)
//   y         = C x + d
//
// L = Q of the thin QR of U (diag R > 0) if orthonormalize_U, else U; g = 1/N if scale_by_N.
// u_x is the first x_input_size input channels (the multitask "context" form feeds the context
// cues to z only). The linear-symmetric form (§1.8) sets V := L and φ(x) = x. The state is
// [z; x] (rows 0..M−1 are z). s(t) is recorded beside the trajectory as the extra "s".
//
// Forward Euler updates z first and then x with s from the updated z (euler_order "sequential"),
// which at dt = 1 is exactly the authors' discrete update; "simultaneous" is plain Euler.
//
// clang-format off
// | block | shape   | meaning (authors' key)                  | init "nmrnn" (§1.2) | init "eft" (§1.4) |
// |-------|---------|-----------------------------------------|---------------------|-------------------|
// | U     | N x R   | left factors before QR (row_factors)    | N(0,1)              | N(0,1)/√R         |
// | V     | N x R   | right factors (column_factors); absent if linear_symmetric | N(0,1) | N(0,1)/√R |
// | B_x   | N x Ux  | input weights of x (input_weights)      | N(0,1)/√U           | N(0,1)/√U         |
// | C     | O x N   | readout (readout_weights)               | N(0,1)/√N           | N(0,1)/√N         |
// | d     | O       | readout bias (readout_bias), optional   | N(0,1)/√N           | —                 |
// | W_z   | M x M   | NM recurrence (nm_rec_weight)           | 0.1 N(0,1)          | N(0,1)/√M         |
// | B_z   | M x U   | NM input weights (nm_input_weight)      | N(0,1)/√U           | N(0,1)/√U         |
// | A_z   | R x M   | NM → s weights (nm_sigmoid_weight)      | 0.1 N(0,1)          | N(0,1)/√M         |
// | b_z   | R       | NM → s bias (nm_sigmoid_intercept)      | 0.1 N(0,1)          | N(0,1)/√R         |
// | W_zx  | M x N   | x → z feedback (if feedback)            | 0.1 N(0,1)/√N       | N(0,1)/√N         |
// | b_zx  | M       | feedback bias (if feedback)             | 0                   | N(0,1)/√M         |
// clang-format on
//
// Options ([model], kind = "nm_rnn"): N (100), M (5), R (3), input_size (3), x_input_size
// (= input_size), output_size (1), tau_x (10), tau_z (100), orthonormalize_U (true), scale_by_N
// (false), feedback (false), linear_symmetric (false), readout_bias (true), init ("nmrnn"),
// initial_state ("constant": x0 = z0 = 0.1 | "random": N(0,1)/√N and N(0,1)/√M from the seed),
// x0 (0.1), z0 (0.1), euler_order ("sequential").
#ifndef CTRNN_LIB_MODELS_NM_RNN_H_
#define CTRNN_LIB_MODELS_NM_RNN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lib/config.h"
#include "lib/model.h"

namespace ctrnn {

struct NmRnnOptions {
  Eigen::Index num_neurons = 100;  // N
  Eigen::Index num_nm = 5;         // M
  Eigen::Index rank = 3;           // R (= K, one s_k per rank-one component)
  Eigen::Index input_size = 3;
  Eigen::Index x_input_size = 3;
  Eigen::Index output_size = 1;
  double tau_x = 10.0;
  double tau_z = 100.0;
  bool orthonormalize_u = true;
  bool scale_by_n = false;
  bool feedback = false;
  bool linear_symmetric = false;
  bool readout_bias = true;
  std::string init = "nmrnn";
  bool random_initial_state = false;
  double x0 = 0.1;
  double z0 = 0.1;
  bool sequential_euler = true;
  // Ablation view (spec §4.2, §6.11): (k, value) holds s_k ≡ value (k < R, value in [0, 1]) in
  // every function of the model, with zero derivative; not a config key (solvers/perturb.h).
  std::vector<std::pair<Eigen::Index, double>> clamped_s;
};

class NmRnn final : public ContinuousModel {
 public:
  explicit NmRnn(const NmRnnOptions& options);
  static std::unique_ptr<Model> FromConfig(Config* config, std::uint64_t seed);
  void Initialize(std::uint64_t seed);

  std::string kind() const override { return "nm_rnn"; }
  Eigen::Index state_size() const override { return opt_.num_nm + opt_.num_neurons; }
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
  void EulerStep(ConstMatRef x, ConstMatRef u, double dt, MatRef x_next) const override;
  void EulerStepVjp(ConstMatRef x,
                    ConstMatRef u,
                    double dt,
                    ConstMatRef lambda_next,
                    MatRef lambda,
                    VecRef g_theta) const override;
  void Readout(ConstMatRef x, MatRef y) const override;
  void ReadoutVjp(ConstMatRef x, ConstMatRef ybar, MatRef xbar, VecRef g_theta) const override;
  std::vector<std::string> extra_names() const override { return {"s"}; }
  void Extras(ConstMatRef x, ConstMatRef u, std::vector<Eigen::MatrixXd>* extras) const override;

  const NmRnnOptions& options() const { return opt_; }
  // The left factors L in use (Q of the QR, or U itself).
  const Eigen::MatrixXd& left_factors() const { return l_; }

  // The output network alone at a frozen modulation s (R values, normally in (0, 1)), for one
  // state x (N) and input u (input_size): the x-network "at a given neuromodulatory state", whose
  // fixed points and spectra analyses ask for.
  //   f_x(x; s, u) = (−x + g L diag(s) V_effᵀ φ(x) + B_x u_x) / τ_x                (N)
  //   ∂f_x/∂x      = (−I + g L diag(s) V_effᵀ diag(φ'(x))) / τ_x                   (N x N)
  // Both throw std::invalid_argument naming the argument when a size is wrong.
  Eigen::VectorXd XRhsAtS(ConstVecRef x, ConstVecRef s, ConstVecRef u) const;
  Eigen::MatrixXd XJacobianAtS(ConstVecRef x, ConstVecRef s, ConstVecRef u) const;
  // B_x u_x (N): the x-network's input drive. Every fixed point of the x-network under constant
  // input u (at any s, and of the full (z, x) system) lies in the affine subspace
  // B_x u_x + span(L). Throws std::invalid_argument if u has the wrong size.
  Eigen::VectorXd XInputDrive(ConstVecRef u) const;

 private:
  void Refresh() override;
  // Scratch of the forward pieces and their adjoints, one per thread (the model is const and may
  // be shared by threads), sized once per batch shape: the step functions allocate nothing.
  struct Work;
  static Work& Scratch();
  // φ(x) (and φ'(x) if slope), h = V_effᵀ φ(x).
  void XPieces(ConstMatRef x, bool slope, Work* w) const;
  // tanh(z) (and its slope), the z drive.
  void ZPieces(ConstMatRef z, ConstMatRef u, bool slope, Work* w) const;
  // s = σ(A_z z + b_z) from zᵀ.
  void Gates(ConstMatRef z_t, Work* w) const;
  // drive = L (g s ⊙ h) + B_x u_x.
  void XDrive(ConstMatRef u, Work* w, MatRef drive) const;
  void PullBackX(ConstMatRef u,
                 ConstMatRef lambda,
                 double c,
                 bool identity,
                 Work* w,
                 MatRef lambda_x,
                 VecRef g_theta) const;
  void PullBackZ(Work* w, MatRef lambda_x, VecRef g_theta) const;
  Eigen::Map<const Eigen::MatrixXd> Block(Eigen::Index off,
                                          Eigen::Index rows,
                                          Eigen::Index cols) const {
    return {theta_.data() + off, rows, cols};
  }
  const Eigen::MatrixXd& VEff() const { return opt_.linear_symmetric ? l_ : v_; }
  // L and V_eff as the top rows of copies whose columns are padded to whole packets (aligned).
  Eigen::Block<const Eigen::MatrixXd> LAligned() const {
    return l_padded_.topRows(opt_.num_neurons);
  }
  Eigen::Block<const Eigen::MatrixXd> VEffAligned() const {
    return (opt_.linear_symmetric ? l_padded_ : v_padded_).topRows(opt_.num_neurons);
  }

  NmRnnOptions opt_;
  Eigen::Index u_off_, v_off_ = -1, bx_off_, c_off_, d_off_ = -1, wz_off_, bz_off_, az_off_, b_off_,
                       wzx_off_ = -1, bzx_off_ = -1;
  Eigen::MatrixXd l_, r_qr_, v_;
  // Transposes of W_z, B_z, A_z (W_zx) for products along the trials, and of C for products along
  // the neurons (refreshed with θ).
  Eigen::MatrixXd w_z_t_, b_z_t_, a_z_t_, w_zx_t_, c_t_;
  Eigen::MatrixXd l_padded_, v_padded_;
  double g_ = 1.0;
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_MODELS_NM_RNN_H_
