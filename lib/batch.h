// A batch of trials and the trajectory a model produces on it (DESIGN.md §1, §3.3).
//
// Time is cut into T bins [t_k, t_{k+1}), k = 0..T-1, with bin_edges = {t_0, ..., t_T}. The input
// is constant on each bin: inputs[k] is U x B. Targets and masks live at the bin ends: targets[k]
// and mask[k] (O x B) are compared with the output at t_{k+1}. With unit bins and forward Euler at
// dt = 1 this is the papers' alignment "y_t = C x_{t+1} + d: the input at step t already affects
// y_t".
#ifndef CTRNN_LIB_BATCH_H_
#define CTRNN_LIB_BATCH_H_

#include <map>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace ctrnn {

struct Batch {
  std::vector<double> bin_edges;         // T + 1 increasing times
  std::vector<Eigen::MatrixXd> inputs;   // T matrices, U x B
  std::vector<Eigen::MatrixXd> targets;  // T matrices, O x B (may be empty: no targets)
  std::vector<Eigen::MatrixXd> mask;     // T matrices, O x B (empty means all ones)

  Eigen::Index num_bins() const { return static_cast<Eigen::Index>(inputs.size()); }
  Eigen::Index num_trials() const { return inputs.empty() ? 0 : inputs[0].cols(); }
  Eigen::Index input_size() const { return inputs.empty() ? 0 : inputs[0].rows(); }
  Eigen::Index output_size() const { return targets.empty() ? 0 : targets[0].rows(); }

  // Throws std::invalid_argument naming the first inconsistency (edge count, non-increasing edges,
  // a matrix of the wrong shape, a non-finite input).
  void Validate() const;
  // Trials [first, first + count) as a batch of their own.
  Batch Trials(Eigen::Index first, Eigen::Index count) const;
  // The trials at `indices` (repeats allowed), in that order. Throws on an index out of range.
  Batch Gather(const std::vector<Eigen::Index>& indices) const;
};

// States (and outputs and extras) at the recorded times, one matrix per time, columns = trials.
struct Trajectory {
  std::vector<double> times;
  std::vector<Eigen::MatrixXd> states;   // S x B per time
  std::vector<Eigen::MatrixXd> outputs;  // O x B per time
  // Named extras per time (e.g. "s": R x B), same times as states.
  std::map<std::string, std::vector<Eigen::MatrixXd>> extras;
  // Index into `times` of each bin edge t_0..t_T (equal to 0..T when no denser grid was asked for).
  std::vector<Eigen::Index> edge_index;
};

}  // namespace ctrnn

#endif  // CTRNN_LIB_BATCH_H_
