#include "lib/batch.h"

#include <stdexcept>
#include <string>

namespace ctrnn {
namespace {

void CheckShape(const std::vector<Eigen::MatrixXd>& ms,
                const char* what,
                Eigen::Index rows,
                Eigen::Index cols) {
  for (size_t k = 0; k < ms.size(); ++k) {
    if (ms[k].rows() != rows || ms[k].cols() != cols) {
      throw std::invalid_argument(std::string("Batch: ") + what + "[" + std::to_string(k) +
                                  "] is " + std::to_string(ms[k].rows()) + "x" +
                                  std::to_string(ms[k].cols()) + ", expected " +
                                  std::to_string(rows) + "x" + std::to_string(cols));
    }
  }
}

}  // namespace

void Batch::Validate() const {
  const size_t t = inputs.size();
  if (t == 0) throw std::invalid_argument("Batch: no input bins");
  if (bin_edges.size() != t + 1) {
    throw std::invalid_argument("Batch: " + std::to_string(bin_edges.size()) + " bin edges for " +
                                std::to_string(t) + " bins (need bins + 1)");
  }
  for (size_t k = 0; k < t; ++k) {
    if (!(bin_edges[k + 1] > bin_edges[k])) {
      throw std::invalid_argument("Batch: bin edges must increase; edge " + std::to_string(k + 1) +
                                  " is not above edge " + std::to_string(k));
    }
  }
  CheckShape(inputs, "inputs", input_size(), num_trials());
  for (size_t k = 0; k < t; ++k) {
    if (!inputs[k].allFinite()) {
      throw std::invalid_argument("Batch: inputs[" + std::to_string(k) + "] holds a NaN or Inf");
    }
  }
  if (!targets.empty()) {
    if (targets.size() != t) {
      throw std::invalid_argument("Batch: " + std::to_string(targets.size()) + " target bins for " +
                                  std::to_string(t) + " input bins");
    }
    CheckShape(targets, "targets", output_size(), num_trials());
  }
  if (!mask.empty()) {
    if (mask.size() != t) {
      throw std::invalid_argument("Batch: " + std::to_string(mask.size()) + " mask bins for " +
                                  std::to_string(t) + " input bins");
    }
    CheckShape(mask, "mask", output_size(), num_trials());
  }
}

Batch Batch::Trials(Eigen::Index first, Eigen::Index count) const {
  if (first < 0 || count < 0 || first + count > num_trials()) {
    throw std::invalid_argument("Batch::Trials: trials [" + std::to_string(first) + ", " +
                                std::to_string(first + count) + ") outside a batch of " +
                                std::to_string(num_trials()));
  }
  Batch out;
  out.bin_edges = bin_edges;
  for (const auto& m : inputs) out.inputs.push_back(m.middleCols(first, count));
  for (const auto& m : targets) out.targets.push_back(m.middleCols(first, count));
  for (const auto& m : mask) out.mask.push_back(m.middleCols(first, count));
  return out;
}

Batch Batch::Gather(const std::vector<Eigen::Index>& indices) const {
  const Eigen::Index b = num_trials();
  for (Eigen::Index i : indices) {
    if (i < 0 || i >= b) {
      throw std::invalid_argument("Batch::Gather: trial " + std::to_string(i) +
                                  " outside a batch of " + std::to_string(b));
    }
  }
  auto gather = [&](const std::vector<Eigen::MatrixXd>& from, std::vector<Eigen::MatrixXd>* to) {
    to->resize(from.size());
    for (size_t k = 0; k < from.size(); ++k) {
      (*to)[k].resize(from[k].rows(), static_cast<Eigen::Index>(indices.size()));
      for (size_t j = 0; j < indices.size(); ++j) {
        (*to)[k].col(static_cast<Eigen::Index>(j)) = from[k].col(indices[j]);
      }
    }
  };
  Batch out;
  out.bin_edges = bin_edges;
  gather(inputs, &out.inputs);
  gather(targets, &out.targets);
  gather(mask, &out.mask);
  return out;
}

}  // namespace ctrnn
