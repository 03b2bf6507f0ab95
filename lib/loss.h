// Training losses on the outputs at the bin edges, with their gradient ∂L/∂y (DESIGN.md §3.3:
// losses live at bin edges and enter the adjoint as jumps in λ).
//
// A batch of T bins has outputs y_0..y_T at the edges t_0..t_T (O x B each); targets[k] and mask[k]
// (O x B) are compared with y_{k+1}. With m = mask (all ones when the batch has no mask):
//
//   kMaskedMse     L = Σ_k Σ_{o,b} m_k (y_{k+1} − y*_k)² / Σ_k Σ_{o,b} m_k        (NM-RNN spec §3)
//   kFinalMse      L = Σ_{o,b} m_{T−1} (y_T − y*_{T−1})² / Σ_{o,b} m_{T−1}         (Element Finder)
//   kCrossEntropy  L = Σ_{h active} Σ_b w_hb CE_hb / Σ_b w_hb,                    (timescales §2)
//                  CE_hb = logsumexp(z_hb) − z_hb[ℓ_hb],  z_hb = y_T rows [hC, hC + C), column b
//
// Cross-entropy layout: the O = H·C outputs are H heads of C = num_classes logits (row o = h·C + c,
// the models' readout layout). The label of head h in trial b is ℓ_hb = targets[T−1](h, b), an
// integer-valued double in [0, C); its weight is w_hb = mask[T−1](h, b) (1 without a mask). A head
// whose weights are all 0 is inactive and contributes nothing; with 0/1 weights each active head's
// CE is the mean over its trials, so a full mask row gives the paper's "mean over the batch".
// Rows H..O−1 of targets and mask are not read by the cross-entropy. Entries with m = 0 are never
// read either (a target there may be NaN).
#ifndef CTRNN_LIB_LOSS_H_
#define CTRNN_LIB_LOSS_H_

#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/batch.h"
#include "lib/config.h"

namespace ctrnn {

enum class LossKind { kMaskedMse, kFinalMse, kCrossEntropy };
// "mse" | "final_mse" | "cross_entropy"; throws std::invalid_argument naming `field` otherwise.
LossKind ParseLossKind(const std::string& name, const std::string& field);
std::string LossKindName(LossKind kind);

struct LossOptions {
  LossKind kind = LossKind::kMaskedMse;
  // kCrossEntropy: logits per head, C >= 1; it must divide the number of outputs O.
  Eigen::Index num_classes = 2;

  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

// Options from a [loss] table: kind ("mse" | "final_mse" | "cross_entropy") and, for the
// cross-entropy, num_classes; both default to `defaults` (usually the task's own loss). A wrong
// value throws std::invalid_argument naming the key.
LossOptions LossOptionsFromConfig(Config* loss_table, const LossOptions& defaults);

struct LossValue {
  double loss = 0.0;
  // ∂L/∂y_k for every edge k = 0..T (O x B each), zero where nothing is observed (always at k = 0).
  std::vector<Eigen::MatrixXd> dl_dy;
};

// Checks that `batch` can feed the loss of a model with `output_size` outputs: targets present,
// O x B in every bin, mask (if any) finite and >= 0, targets finite where the mask is not 0, and
// for the cross-entropy C dividing O and labels integers in [0, C) where the weight is not 0, and
// at least one nonzero weight. Throws std::invalid_argument naming the batch field, bin and entry.
void ValidateLossInputs(const Batch& batch, Eigen::Index output_size, const LossOptions& options);

// L and ∂L/∂y from the outputs y_0..y_T at the edges (T + 1 matrices of O x B). Throws
// std::invalid_argument on wrong shapes or inputs (ValidateLossInputs). Non-finite outputs are not
// an error: they give a non-finite loss, for the caller to report as a numerical outcome.
LossValue EvaluateLoss(const Batch& batch,
                       const std::vector<Eigen::MatrixXd>& outputs_at_edges,
                       const LossOptions& options);
// Same, writing into `out` and reusing its storage (no allocation once it has the right shapes).
void EvaluateLoss(const Batch& batch,
                  const std::vector<Eigen::MatrixXd>& outputs_at_edges,
                  const LossOptions& options,
                  LossValue* out);

}  // namespace ctrnn

#endif  // CTRNN_LIB_LOSS_H_
