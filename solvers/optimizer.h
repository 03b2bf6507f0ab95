// First-order optimizers on one flat parameter vector θ (DESIGN.md §3.6): AdamW and Adam with
// optax 0.1.7 semantics (the NM-RNN paper's code), SGD with momentum / Nesterov with PyTorch
// semantics (the timescales paper's code), optional gradient clipping, and a mask of frozen
// entries.
//
// One step with gradient g, trainable entries only (t counts steps since the last reset, t ≥ 1):
//   clip_value c > 0:  g ← min(max(g, −c), c)                    element-wise (optax.clip)
//   clip_norm  c > 0:  g ← g · min(1, c / (‖g‖₂ + 1e-6))         ‖·‖ over trainable entries
//                                                                 (torch clip_grad_norm_)
//   adamw:  m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  m̂ = m/(1−β₁ᵗ),  v̂ = v/(1−β₂ᵗ)
//           θ ← θ − lr·(m̂/(√v̂ + ε) + wd·θ)                  (optax.adamw, eps_root = 0)
//   adam:   the same with wd = 0                              (optax.adam)
//   sgd:    b ← g at t = 1, else b ← μb + (1−dampening)g      (torch.optim.SGD)
//           nesterov: θ ← θ − lr·(g + μb);   else: θ ← θ − lr·b
//
// torch.optim.AdamW decays first, θ ← θ(1 − lr·wd), then takes the Adam step; since both use the
// pre-update θ, that is the same update as optax's (tests/check_optimizers_torch.py checks it).
//
// | option        | meaning                                               | default          |
// |---------------|-------------------------------------------------------|------------------|
// | kind          | adamw, adam or sgd                                    | adamw            |
// | lr            | learning rate (θ units per gradient unit)             | 1e-2             |
// | beta1, beta2  | Adam moment decay rates, in [0, 1)                    | 0.9, 0.999       |
// | eps           | Adam denominator offset, added to √v̂                  | 1e-8             |
// | weight_decay  | AdamW decoupled decay, every trainable entry          | 1e-4             |
// | momentum      | SGD momentum μ                                        | 0                |
// | nesterov      | SGD Nesterov update                                   | false            |
// | dampening     | SGD dampening                                         | 0                |
// | clip_value    | element-wise gradient clip; 0 = off                   | 0                |
// | clip_norm     | global L2 gradient clip; 0 = off                      | 0                |
// | reset_every   | k > 0: zero m, v and t after steps k, 2k, …; 0 = off  | 0                |
//
// The papers' settings: NM-RNN MWG / multitask: kind adamw, lr 1e-2 or 1e-3, clip_value 1,
// reset_every 1000 (the authors' training loop discards the optimizer state every 1000 steps;
// nmrnn.md §3.1). NM-RNN EFT: kind adam, lr 1e-2, eps 1e-7. Timescales: kind sgd, lr 0.05,
// momentum 0.1, nesterov, clip_norm 2 (timescales.md §4).
//
//   Optimizer opt(OptimizerOptions(), model.num_params());
//   const Eigen::VectorXd mask = TrainableMask(model.layout(), {"W_z", "B_z"});
//   Eigen::VectorXd theta = model.theta();
//   if (!opt.Step(gradient, mask, &theta)) { /* non-finite gradient: stop the run */ }
#ifndef CTRNN_SOLVERS_OPTIMIZER_H_
#define CTRNN_SOLVERS_OPTIMIZER_H_

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/config.h"
#include "lib/params.h"

namespace ctrnn {

enum class OptimizerKind { kAdamW, kAdam, kSgd };
// "adamw", "adam", "sgd". Parse throws std::invalid_argument naming `field` and the value.
OptimizerKind ParseOptimizerKind(const std::string& name, const std::string& field);
std::string OptimizerKindName(OptimizerKind kind);

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kAdamW;
  // Learning rate; > 0 and finite.
  double lr = 1e-2;
  // Adam and AdamW: moment decay rates in [0, 1) and the denominator offset ε ≥ 0 (ε = 0 divides
  // by zero where a gradient entry has always been zero). Ignored by sgd.
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  // AdamW only: decoupled weight decay ≥ 0, applied to every trainable entry, biases included
  // (optax.adamw's default mask). Ignored by adam and sgd.
  double weight_decay = 1e-4;
  // SGD only (PyTorch semantics): momentum μ ≥ 0 (0: plain gradient descent), Nesterov (needs
  // μ > 0 and dampening = 0, as PyTorch requires), dampening in [0, 1]. Ignored by adam(w).
  double momentum = 0.0;
  bool nesterov = false;
  double dampening = 0.0;
  // Element-wise clip of the gradient to [−clip_value, clip_value] before the update (optax.clip);
  // 0 = off, else > 0. Applied before clip_norm when both are on.
  double clip_value = 0.0;
  // Global L2 norm clip over the trainable entries, g ← g·min(1, clip_norm/(‖g‖ + 1e-6))
  // (torch.nn.utils.clip_grad_norm_); 0 = off, else > 0.
  double clip_norm = 0.0;
  // 0 = off. k > 0: after steps k, 2k, … the state (m, v, the step count t; SGD's momentum buffer)
  // is reset to zero, so step k+1 is a fresh optimizer's first step. Reproduces the NM-RNN code,
  // which discards the optax state after each lax.scan chunk of 1000 iterations.
  std::int64_t reset_every = 0;

  // Throws std::invalid_argument naming the field and value ("OptimizerOptions.lr = -1: ...").
  void Validate() const;
};

// Options from an [optimizer] table. Keys: kind ("adamw"), lr (1e-2), clip_value (0),
// clip_norm (0), reset_every (0); for adam and adamw also beta1 (0.9), beta2 (0.999), eps (1e-8);
// for adamw weight_decay (1e-4); for sgd momentum (0), nesterov (false), dampening (0). Keys of
// another kind are not read, so Config::CheckAllUsed() rejects them (e.g. weight_decay with adam).
// A wrong type or an out-of-range value throws std::invalid_argument naming the key and value.
OptimizerOptions OptimizerOptionsFromConfig(Config* optimizer);

// 1 for every entry of θ in the named blocks, 0 elsewhere; an empty list makes every entry
// trainable. Throws std::invalid_argument naming an unknown block and listing the known ones.
Eigen::VectorXd TrainableMask(const ParamLayout& layout,
                              const std::vector<std::string>& trainable_blocks);

// The state of one optimizer run over a θ of fixed size. Copyable; not thread-safe.
class Optimizer {
 public:
  // Throws std::invalid_argument on invalid options or num_params < 0.
  Optimizer(const OptimizerOptions& options, Eigen::Index num_params);

  // One update of *theta with `gradient` (both of length num_params). `trainable` holds 1 for an
  // entry to update and 0 for a frozen one: a frozen entry of θ, m and v is left untouched bit for
  // bit (no decay, no moment update) and does not count towards clip_norm's norm; its gradient is
  // never read, so it may be anything. Returns true after a step. Returns false, leaving θ and the
  // optimizer state (including the step count) untouched, if a trainable gradient entry is NaN or
  // ±Inf: the training loop should stop with a non-finite termination. Throws
  // std::invalid_argument on a size mismatch or a mask entry other than 0 or 1.
  bool Step(const Eigen::Ref<const Eigen::VectorXd>& gradient,
            const Eigen::Ref<const Eigen::VectorXd>& trainable,
            Eigen::VectorXd* theta);
  // The same with every entry trainable.
  bool Step(const Eigen::Ref<const Eigen::VectorXd>& gradient, Eigen::VectorXd* theta);

  // Zeros m, v and the step count (a fresh optimizer).
  void Reset();

  const OptimizerOptions& options() const { return options_; }
  Eigen::Index num_params() const { return m_.size(); }
  // Steps since construction or the last reset (Reset(), reset_every, SetState): the t of the
  // bias correction. 0 before the first step.
  std::int64_t steps() const { return steps_; }
  // State for checkpoints. Adam(W): the first and second moments m, v. SGD: the momentum buffer b
  // is the first moment; the second moment stays zero.
  const Eigen::VectorXd& first_moment() const { return m_; }
  const Eigen::VectorXd& second_moment() const { return v_; }
  // Restores a checkpointed state. Throws std::invalid_argument if steps < 0, steps ≥ reset_every
  // (when reset_every > 0; the state is reset right after step k), or m, v are not num_params long.
  void SetState(std::int64_t steps, const Eigen::VectorXd& m, const Eigen::VectorXd& v);

 private:
  OptimizerOptions options_;
  std::int64_t steps_ = 0;
  Eigen::VectorXd m_;
  Eigen::VectorXd v_;
  Eigen::VectorXd clipped_;   // scratch: the clipped gradient
  Eigen::VectorXd all_ones_;  // the mask of Step(gradient, theta)
};

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_OPTIMIZER_H_
