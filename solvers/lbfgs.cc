#include "solvers/lbfgs.h"

#include <array>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include <ceres/first_order_function.h>
#include <ceres/gradient_problem.h>
#include <ceres/gradient_problem_solver.h>
#include <ceres/iteration_callback.h>
#include <ceres/types.h>

namespace ctrnn {
namespace {

// What the objective wrapper learns while Ceres runs; owned by MinimizeLbfgs, so it outlives the
// wrapper, which ceres::GradientProblem owns and deletes.
struct EvaluationRecord {
  std::int64_t evaluations = 0;
  std::int64_t non_finite = 0;
  bool first_done = false;
  bool first_finite = false;
  double first_loss = std::numeric_limits<double>::quiet_NaN();
  // An exception from the objective or a wrong gradient size: rethrown after Ceres returns.
  std::exception_ptr error;
  // The last few points evaluated and their losses. The final iterate is always among them, so
  // the final loss needs no extra objective call (and does not depend on how Ceres fills its
  // Summary::final_cost, which is only set for usable solutions).
  static constexpr int kCached = 4;
  std::array<std::pair<Eigen::VectorXd, double>, kCached> recent;
  int next = 0;
};

// L restricted to the trainable entries: Ceres sees a vector of num_trainable values, scattered
// into a copy of the full θ whose frozen entries never change.
class TrainableSubsetFunction final : public ceres::FirstOrderFunction {
 public:
  TrainableSubsetFunction(const LbfgsObjective& objective,
                          const Eigen::VectorXd& theta0,
                          const std::vector<Eigen::Index>& index,
                          EvaluationRecord* record)
      : objective_(objective), full_(theta0), index_(index), record_(record) {}

  bool Evaluate(const double* parameters, double* cost, double* gradient) const override {
    EvaluationRecord& r = *record_;
    if (r.error) return false;  // already failed hard: refuse quickly until Ceres gives up
    const auto n = static_cast<Eigen::Index>(index_.size());
    for (Eigen::Index k = 0; k < n; ++k) full_(index_[k]) = parameters[k];
    double loss = 0.0;
    try {
      loss = objective_(full_, gradient != nullptr ? &full_gradient_ : nullptr);
      if (gradient != nullptr && full_gradient_.size() != full_.size()) {
        throw std::invalid_argument("MinimizeLbfgs: the objective's gradient has " +
                                    std::to_string(full_gradient_.size()) + " entries, theta " +
                                    std::to_string(full_.size()));
      }
    } catch (...) {
      r.error = std::current_exception();
      return false;
    }
    ++r.evaluations;
    bool finite = std::isfinite(loss);
    if (gradient != nullptr) {
      for (Eigen::Index k = 0; k < n; ++k) {
        gradient[k] = full_gradient_(index_[k]);
        finite = finite && std::isfinite(gradient[k]);
      }
    }
    if (!r.first_done) {
      r.first_done = true;
      r.first_finite = finite;
      r.first_loss = loss;
    }
    if (!finite) {
      // Ceres treats a failed evaluation inside the line search as "step too long".
      ++r.non_finite;
      return false;
    }
    auto& slot = r.recent[static_cast<std::size_t>(r.next)];
    slot.first = Eigen::Map<const Eigen::VectorXd>(parameters, n);
    slot.second = loss;
    r.next = (r.next + 1) % EvaluationRecord::kCached;
    *cost = loss;
    return true;
  }

  int NumParameters() const override { return static_cast<int>(index_.size()); }

 private:
  const LbfgsObjective& objective_;
  mutable Eigen::VectorXd full_;
  mutable Eigen::VectorXd full_gradient_;
  const std::vector<Eigen::Index>& index_;
  EvaluationRecord* record_;
};

class Callback final : public ceres::IterationCallback {
 public:
  Callback(const LbfgsOptions& options, const EvaluationRecord* record)
      : options_(options), record_(record) {}

  ceres::CallbackReturnType operator()(const ceres::IterationSummary& s) override {
    if (record_->error) return ceres::SOLVER_ABORT;
    if (options_.callback) {
      LbfgsIteration it;
      it.iteration = s.iteration;
      it.loss = s.cost;
      it.gradient_max_norm = s.gradient_max_norm;
      it.step_size = s.step_size;
      if (!options_.callback(it)) return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
    }
    return ceres::SOLVER_CONTINUE;
  }

 private:
  const LbfgsOptions& options_;
  const EvaluationRecord* record_;
};

template <typename T>
[[noreturn]] void Fail(const std::string& field, const T& value, const std::string& rule) {
  std::ostringstream msg;
  msg << "LbfgsOptions." << field << " = " << value << ": " << rule;
  throw std::invalid_argument(msg.str());
}

}  // namespace

std::string LbfgsTerminationName(LbfgsTermination termination) {
  switch (termination) {
    case LbfgsTermination::kConverged:
      return "converged";
    case LbfgsTermination::kMaxIterations:
      return "max iterations";
    case LbfgsTermination::kFailure:
      return "failure";
    case LbfgsTermination::kNonFinite:
      return "non-finite";
    case LbfgsTermination::kStoppedByCallback:
      return "stopped by callback";
  }
  return "unknown";
}

void LbfgsOptions::Validate() const {
  // Ceres counts iterations in an int.
  if (max_iterations < 1 || max_iterations > std::numeric_limits<int>::max()) {
    Fail("max_iterations", max_iterations, "must lie in [1, 2^31 - 1]");
  }
  if (!(gradient_tolerance >= 0.0) || !std::isfinite(gradient_tolerance)) {
    Fail("gradient_tolerance", gradient_tolerance, "must be >= 0 and finite");
  }
  if (!(function_tolerance >= 0.0) || !std::isfinite(function_tolerance)) {
    Fail("function_tolerance", function_tolerance, "must be >= 0 and finite");
  }
  if (!(parameter_tolerance >= 0.0) || !std::isfinite(parameter_tolerance)) {
    Fail("parameter_tolerance", parameter_tolerance, "must be >= 0 and finite");
  }
  if (memory < 1) Fail("memory", memory, "must be >= 1");
  for (Eigen::Index i = 0; i < trainable.size(); ++i) {
    if (trainable(i) != 0.0 && trainable(i) != 1.0) {
      Fail("trainable(" + std::to_string(i) + ")", trainable(i), "must be 0 or 1");
    }
  }
}

std::string LbfgsSummary::BriefReport() const {
  std::ostringstream s;
  s << "L-BFGS: " << LbfgsTerminationName(termination) << " after " << iterations << " iterations ("
    << evaluations << " evaluations, " << non_finite_evaluations << " non-finite), "
    << num_trainable << " trainable, loss " << initial_loss << " -> " << final_loss;
  if (!message.empty()) s << ": " << message;
  return s.str();
}

LbfgsSummary MinimizeLbfgs(const LbfgsObjective& objective,
                           const LbfgsOptions& options,
                           Eigen::VectorXd* theta) {
  options.Validate();
  if (theta == nullptr) throw std::invalid_argument("MinimizeLbfgs: theta is null");
  if (!objective) throw std::invalid_argument("MinimizeLbfgs: objective is empty");
  const Eigen::Index size = theta->size();
  if (options.trainable.size() != 0 && options.trainable.size() != size) {
    throw std::invalid_argument("MinimizeLbfgs: LbfgsOptions.trainable has " +
                                std::to_string(options.trainable.size()) + " entries, theta " +
                                std::to_string(size));
  }
  std::vector<Eigen::Index> index;
  for (Eigen::Index i = 0; i < size; ++i) {
    if (options.trainable.size() == 0 || options.trainable(i) != 0.0) index.push_back(i);
  }
  if (index.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw std::invalid_argument("MinimizeLbfgs: more than 2^31 - 1 trainable entries");
  }

  LbfgsSummary summary;
  summary.num_trainable = static_cast<std::int64_t>(index.size());
  if (index.empty()) {
    // Nothing to optimise; Ceres does not accept an empty problem.
    const double loss = objective(*theta, nullptr);
    summary.evaluations = 1;
    summary.non_finite_evaluations = std::isfinite(loss) ? 0 : 1;
    summary.initial_loss = summary.final_loss = loss;
    summary.termination =
        std::isfinite(loss) ? LbfgsTermination::kConverged : LbfgsTermination::kNonFinite;
    summary.message = "no trainable entries";
    return summary;
  }

  Eigen::VectorXd x(static_cast<Eigen::Index>(index.size()));
  for (std::size_t k = 0; k < index.size(); ++k) {
    x(static_cast<Eigen::Index>(k)) = (*theta)(index[k]);
  }
  EvaluationRecord record;
  // GradientProblem takes ownership of the function.
  ceres::GradientProblem problem(new TrainableSubsetFunction(objective, *theta, index, &record));
  Callback callback(options, &record);

  ceres::GradientProblemSolver::Options ceres_options;
  ceres_options.line_search_direction_type = ceres::LBFGS;
  ceres_options.line_search_type = ceres::WOLFE;
  ceres_options.max_lbfgs_rank = options.memory;
  ceres_options.max_num_iterations = static_cast<int>(options.max_iterations);
  ceres_options.gradient_tolerance = options.gradient_tolerance;
  ceres_options.function_tolerance = options.function_tolerance;
  ceres_options.parameter_tolerance = options.parameter_tolerance;
  ceres_options.logging_type = ceres::SILENT;  // solvers/ never print (DESIGN.md §3.8)
  ceres_options.minimizer_progress_to_stdout = false;
  // Ceres copies the solution back only for usable terminations; updating every iteration also
  // keeps the last accepted iterate after a line-search failure.
  ceres_options.update_state_every_iteration = true;
  ceres_options.callbacks.push_back(&callback);
  std::string invalid;
  if (!ceres_options.IsValid(&invalid)) {
    throw std::invalid_argument("MinimizeLbfgs: Ceres rejects the options: " + invalid);
  }

  ceres::GradientProblemSolver::Summary ceres_summary;
  ceres::Solve(ceres_options, problem, x.data(), &ceres_summary);
  if (record.error) std::rethrow_exception(record.error);

  summary.message = ceres_summary.message;
  summary.evaluations = record.evaluations;
  summary.non_finite_evaluations = record.non_finite;
  summary.initial_loss = record.first_loss;
  summary.iterations =
      ceres_summary.iterations.empty() ? 0 : ceres_summary.iterations.back().iteration;
  switch (ceres_summary.termination_type) {
    case ceres::CONVERGENCE:
      summary.termination = LbfgsTermination::kConverged;
      break;
    case ceres::NO_CONVERGENCE:
      summary.termination = LbfgsTermination::kMaxIterations;
      break;
    case ceres::USER_SUCCESS:
      summary.termination = LbfgsTermination::kStoppedByCallback;
      break;
    default:
      summary.termination = LbfgsTermination::kFailure;
      break;
  }
  if (record.first_done && !record.first_finite) {
    summary.termination = LbfgsTermination::kNonFinite;
    summary.message = "the loss or its gradient is not finite at the starting point";
    return summary;  // theta untouched
  }

  for (std::size_t k = 0; k < index.size(); ++k) {
    (*theta)(index[k]) = x(static_cast<Eigen::Index>(k));
  }
  for (const auto& [point, loss] : record.recent) {
    if (point.size() == x.size() && point == x) summary.final_loss = loss;
  }
  if (std::isnan(summary.final_loss)) {
    summary.final_loss = objective(*theta, nullptr);
    ++summary.evaluations;
  }
  return summary;
}

}  // namespace ctrnn
