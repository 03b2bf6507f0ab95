// The model interface: a network is an ODE  dx/dt = f(x, u; theta)  on a batch of trials
// (ContinuousModel), or a map  h_t = F(h_{t-1}, u_t; theta)  (DiscreteModel: LSTM, GRU, the
// timescales paper's Variant A). DESIGN.md §3.1, §3.5.
//
// Batches are matrices: a batch of B trials of a model with S state variables is an S x B matrix,
// one column per trial; inputs are U x B, outputs O x B. Every model owns its parameters as one
// flat theta with named blocks (lib/params.h), its constraints as parametrisations (e.g. tau >=
// tau_min, zero diagonal, orthonormalised factors), and its derivatives.
#ifndef CTRNN_LIB_MODEL_H_
#define CTRNN_LIB_MODEL_H_

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <Eigen/Core>

#include "lib/params.h"

namespace ctrnn {

using ConstMatRef = const Eigen::Ref<const Eigen::MatrixXd>&;
using MatRef = Eigen::Ref<Eigen::MatrixXd>;
using ConstVecRef = const Eigen::Ref<const Eigen::VectorXd>&;
using VecRef = Eigen::Ref<Eigen::VectorXd>;

// One named part of the state vector (e.g. "z" rows [0, M) and "x" rows [M, M + N) of the NM-RNN).
struct StateBlock {
  std::string name;
  Eigen::Index offset;
  Eigen::Index size;
};

// A hyperparameter as archived under /model attributes.
using AttrValue = std::variant<std::int64_t, double, std::string>;
using Attributes = std::vector<std::pair<std::string, AttrValue>>;

class Model {
 public:
  virtual ~Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // "ctrnn", "low_rank", "nm_rnn", "lstm", "gru", "discrete_rnn".
  virtual std::string kind() const = 0;
  virtual bool is_continuous() const = 0;
  virtual Eigen::Index state_size() const = 0;
  virtual Eigen::Index input_size() const = 0;
  virtual Eigen::Index output_size() const = 0;
  // Named parts of the state, in the order a trajectory archive splits them.
  virtual std::vector<StateBlock> state_blocks() const = 0;
  // Sizes, time constants and flags for /model attributes.
  virtual Attributes hyperparameters() const = 0;

  const ParamLayout& layout() const { return layout_; }
  const Eigen::VectorXd& theta() const { return theta_; }
  Eigen::Index num_params() const { return layout_.size(); }
  // Replaces all parameters. Throws std::invalid_argument if the size differs from num_params().
  void SetTheta(ConstVecRef theta);
  // A block of theta with its mathematical shape (throws if the name is unknown).
  Eigen::Map<const Eigen::MatrixXd> Param(const std::string& name) const;
  // Writes one block (shape-checked) and refreshes derived quantities.
  void SetParam(const std::string& name, ConstMatRef value);

  // The fixed initial state x(t0), shared by all trials (length state_size()).
  const Eigen::VectorXd& initial_state() const { return x0_; }
  void set_initial_state(ConstVecRef x0);

  // Readout y = C x_part + d on a batch (x: S x B, y: O x B).
  virtual void Readout(ConstMatRef x, MatRef y) const = 0;
  // xbar += (dy/dx)^T ybar;  g_theta += sum over trials of (dy/dtheta)^T ybar.
  virtual void ReadoutVjp(ConstMatRef x, ConstMatRef ybar, MatRef xbar, VecRef g_theta) const = 0;

  // Named per-time quantities recorded beside the state (e.g. {"s"} for the NM-RNN).
  virtual std::vector<std::string> extra_names() const { return {}; }
  // extras->at(k) is (size of extra k) x B at state x with input u.
  virtual void Extras(ConstMatRef /*x*/,
                      ConstMatRef /*u*/,
                      std::vector<Eigen::MatrixXd>* extras) const {
    extras->clear();
  }

 protected:
  Model() = default;
  // Recomputes quantities derived from theta (clamped tau, Q = qr(U), masked W, ...).
  virtual void Refresh() {}
  // For constructors: sizes theta to the layout (zeros) after all blocks are added.
  void FinishLayout();

  ParamLayout layout_;
  Eigen::VectorXd theta_;
  Eigen::VectorXd x0_;
};

// tau (.) dx/dt = -x + ...: the network ODE f(x, u; theta).
class ContinuousModel : public Model {
 public:
  bool is_continuous() const final { return true; }

  // dxdt = f(x, u) for a batch (x: S x B, u: U x B).
  virtual void Rhs(ConstMatRef x, ConstMatRef u, MatRef dxdt) const = 0;
  // lambda_x = (df/dx)^T lambda (overwritten), g_theta += sum_b (df/dtheta)^T lambda_b.
  virtual void Vjp(
      ConstMatRef x, ConstMatRef u, ConstMatRef lambda, MatRef lambda_x, VecRef g_theta) const = 0;
  // df/dx for one state (S x S), for fixed points and spectra.
  virtual Eigen::MatrixXd Jacobian(ConstVecRef x, ConstVecRef u) const = 0;

  // One forward-Euler step of size dt. The default is x + dt f(x, u). A model whose papers update
  // its state blocks in sequence (the NM-RNN: z first, then x with s from the updated z) overrides
  // this so that dt = 1 reproduces the published discrete update exactly.
  virtual void EulerStep(ConstMatRef x, ConstMatRef u, double dt, MatRef x_next) const;
  // The exact reverse of EulerStep: lambda = (d x_next / d x)^T lambda_next (overwritten),
  // g_theta += (d x_next / d theta)^T lambda_next.
  virtual void EulerStepVjp(ConstMatRef x,
                            ConstMatRef u,
                            double dt,
                            ConstMatRef lambda_next,
                            MatRef lambda,
                            VecRef g_theta) const;
};

// h_t = F(h_{t-1}, u_t; theta): discrete-time baselines (one step per input bin).
class DiscreteModel : public Model {
 public:
  bool is_continuous() const final { return false; }

  virtual void Step(ConstMatRef h, ConstMatRef u, MatRef h_next) const = 0;
  // lambda = (dF/dh)^T lambda_next (overwritten); g_theta += (dF/dtheta)^T lambda_next.
  virtual void StepVjp(ConstMatRef h,
                       ConstMatRef u,
                       ConstMatRef lambda_next,
                       MatRef lambda,
                       VecRef g_theta) const = 0;
  // dF/dh for one state (S x S).
  virtual Eigen::MatrixXd StepJacobian(ConstVecRef h, ConstVecRef u) const = 0;
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_MODEL_H_
