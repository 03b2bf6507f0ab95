#include "solvers/fixed_points.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <Eigen/QR>
#include <ceres/cost_function.h>
#include <ceres/iteration_callback.h>
#include <ceres/problem.h>
#include <ceres/solver.h>
#include <ceres/types.h>

#include "lib/models/low_rank.h"
#include "lib/models/nm_rnn.h"

namespace ctrnn {
namespace {

template <typename T>
[[noreturn]] void Fail(const std::string& field, const T& value, const std::string& rule) {
  std::ostringstream msg;
  msg << "FixedPointOptions." << field << " = " << value << ": " << rule;
  throw std::invalid_argument(msg.str());
}

// The system whose zeros we seek: residual r(x) (f, F − x, or f_x at frozen s), its Jacobian
// ∂r/∂x, and how the model's own Jacobian and value follow from them (a map's J is ∂r/∂x + I and
// its F(x*) is r + x).
struct VectorField {
  Eigen::Index size = 0;
  bool discrete = false;
  // Fills r (size) and, if jac is not null, ∂r/∂x (size x size).
  std::function<void(const Eigen::VectorXd& x, Eigen::VectorXd* r, Eigen::MatrixXd* jac)> eval;
};

VectorField MakeField(const Model& model, const Eigen::VectorXd& u, const Eigen::VectorXd& s) {
  VectorField field;
  if (s.size() > 0) {
    const auto* nm = dynamic_cast<const NmRnn*>(&model);
    if (nm == nullptr) {
      throw std::invalid_argument("FindFixedPoints: frozen_s is only for kind \"nm_rnn\", not \"" +
                                  model.kind() + "\"");
    }
    if (s.size() != nm->options().rank) {
      Fail("frozen_s",
           "(" + std::to_string(s.size()) + " values)",
           "needs R = " + std::to_string(nm->options().rank) + " values");
    }
    field.size = nm->options().num_neurons;
    field.eval = [nm, u, s](const Eigen::VectorXd& x, Eigen::VectorXd* r, Eigen::MatrixXd* jac) {
      *r = nm->XRhsAtS(x, s, u);
      if (jac != nullptr) *jac = nm->XJacobianAtS(x, s, u);
    };
    return field;
  }
  field.size = model.state_size();
  if (model.is_continuous()) {
    const auto& m = static_cast<const ContinuousModel&>(model);
    field.eval = [&m, u](const Eigen::VectorXd& x, Eigen::VectorXd* r, Eigen::MatrixXd* jac) {
      r->resize(x.size());
      Eigen::Map<Eigen::MatrixXd> r_col(r->data(), x.size(), 1);
      m.Rhs(x, u, r_col);
      if (jac != nullptr) *jac = m.Jacobian(x, u);
    };
  } else {
    const auto& m = static_cast<const DiscreteModel&>(model);
    field.discrete = true;
    field.eval = [&m, u](const Eigen::VectorXd& h, Eigen::VectorXd* r, Eigen::MatrixXd* jac) {
      r->resize(h.size());
      Eigen::Map<Eigen::MatrixXd> r_col(r->data(), h.size(), 1);
      m.Step(h, u, r_col);
      *r -= h;
      if (jac != nullptr) {
        *jac = m.StepJacobian(h, u);
        jac->diagonal().array() -= 1.0;
      }
    };
  }
  return field;
}

// x = offset + basis κ. An empty basis means the identity (the full space).
struct Subspace {
  Eigen::VectorXd offset;
  Eigen::MatrixXd basis;
};

Subspace MakeSubspace(const Model& model, const Eigen::VectorXd& u, bool frozen_s) {
  Subspace sub;
  if (const auto* lr = dynamic_cast<const LowRank*>(&model)) {
    sub.offset = model.Param("B") * u;
    sub.basis = lr->left_factors();
    return sub;
  }
  if (const auto* nm = dynamic_cast<const NmRnn*>(&model)) {
    const Eigen::MatrixXd& l = nm->left_factors();
    if (frozen_s) {
      sub.offset = nm->XInputDrive(u);
      sub.basis = l;
      return sub;
    }
    const Eigen::Index m = nm->options().num_nm, n = nm->options().num_neurons;
    sub.offset = Eigen::VectorXd::Zero(m + n);
    sub.offset.tail(n) = nm->XInputDrive(u);
    sub.basis = Eigen::MatrixXd::Zero(m + n, m + l.cols());
    sub.basis.topLeftCorner(m, m).setIdentity();
    sub.basis.bottomRightCorner(n, l.cols()) = l;
    return sub;
  }
  throw std::invalid_argument(
      "FindFixedPoints: subspace search is only for kinds \"low_rank\" and \"nm_rnn\", not \"" +
      model.kind() + "\"");
}

// The residual r(offset + basis κ) and its Jacobian ∂r/∂x · basis, for Ceres. An exception from
// the model is kept and rethrown after Solve returns (Ceres is not exception-safe).
class ResidualCost final : public ceres::CostFunction {
 public:
  ResidualCost(const VectorField& field, const Subspace& sub, std::exception_ptr* error)
      : field_(field), sub_(sub), error_(error) {
    set_num_residuals(static_cast<int>(field.size));
    mutable_parameter_block_sizes()->push_back(
        static_cast<int>(sub.basis.size() == 0 ? field.size : sub.basis.cols()));
  }

  bool Evaluate(double const* const* parameters,
                double* residuals,
                double** jacobians) const override {
    if (*error_) return false;
    const int p = parameter_block_sizes()[0];
    const Eigen::Map<const Eigen::VectorXd> kappa(parameters[0], p);
    try {
      if (sub_.basis.size() == 0) {
        x_ = kappa;
      } else {
        x_ = sub_.offset;
        x_.noalias() += sub_.basis * kappa;
      }
      const bool want_jac = jacobians != nullptr && jacobians[0] != nullptr;
      field_.eval(x_, &r_, want_jac ? &jac_ : nullptr);
      if (!r_.allFinite()) return false;
      Eigen::Map<Eigen::VectorXd>(residuals, field_.size) = r_;
      if (want_jac) {
        // Ceres' Jacobian blocks are row-major.
        Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> out(
            jacobians[0], field_.size, p);
        if (sub_.basis.size() == 0) {
          out = jac_;
        } else {
          out.noalias() = jac_ * sub_.basis;
        }
        if (!out.allFinite()) return false;
      }
    } catch (...) {
      *error_ = std::current_exception();
      return false;
    }
    return true;
  }

 private:
  const VectorField& field_;
  const Subspace& sub_;
  std::exception_ptr* error_;
  mutable Eigen::VectorXd x_, r_;
  mutable Eigen::MatrixXd jac_;
};

// Stops LM as soon as q ≤ tol_q, and remembers the last successful step's decrease of q.
class StopAtTolerance final : public ceres::IterationCallback {
 public:
  explicit StopAtTolerance(double tol_q) : tol_q_(tol_q) {}
  ceres::CallbackReturnType operator()(const ceres::IterationSummary& s) override {
    if (s.iteration > 0 && s.step_is_successful) last_dq = std::abs(s.cost_change);
    return s.cost <= tol_q_ ? ceres::SOLVER_TERMINATE_SUCCESSFULLY : ceres::SOLVER_CONTINUE;
  }
  double last_dq = 0.0;

 private:
  double tol_q_;
};

struct Candidate {
  Eigen::Index seed = 0;
  Eigen::VectorXd x;
  double q = 0.0;
  double dq = 0.0;
  std::int64_t iterations = 0;
};

}  // namespace

void FixedPointOptions::Validate() const {
  if (!(tol_q > 0.0) || !std::isfinite(tol_q)) Fail("tol_q", tol_q, "must be finite and > 0");
  if (!(slow_q_threshold >= tol_q)) {
    Fail("slow_q_threshold", slow_q_threshold, "must be >= tol_q = " + std::to_string(tol_q));
  }
  if (max_iterations < 1) Fail("max_iterations", max_iterations, "must be >= 1");
  if (!(function_tolerance >= 0.0)) Fail("function_tolerance", function_tolerance, "must be >= 0");
  if (!(tol_unique >= 0.0) || !std::isfinite(tol_unique)) {
    Fail("tol_unique", tol_unique, "must be finite and >= 0");
  }
  if (!(outlier_distance_scale > 0.0)) {
    Fail("outlier_distance_scale", outlier_distance_scale, "must be > 0");
  }
  if (!frozen_s.allFinite()) Fail("frozen_s", "(non-finite)", "must be finite");
}

std::string FixedPointSummary::BriefReport() const {
  std::ostringstream out;
  out << "fixed points: " << num_fixed << " fixed, " << num_slow << " slow from " << num_seeds
      << " seeds (dropped: " << num_above_slow << " above the slow threshold, " << num_duplicates
      << " duplicates, " << num_outliers << " outliers); " << total_iterations
      << " LM iterations in dimension " << search_dimension << "; max q " << max_q;
  return out.str();
}

FixedPointSummary FindFixedPoints(const Model& model,
                                  const Eigen::VectorXd& u,
                                  const Eigen::MatrixXd& initial_states,
                                  const FixedPointOptions& options,
                                  FixedPoints* out) {
  options.Validate();
  if (out == nullptr) throw std::invalid_argument("FindFixedPoints: out is null");
  if (u.size() != model.input_size()) {
    throw std::invalid_argument("FindFixedPoints: u has " + std::to_string(u.size()) +
                                " entries, the model's input_size is " +
                                std::to_string(model.input_size()));
  }
  if (!u.allFinite()) throw std::invalid_argument("FindFixedPoints: u is not finite");
  const VectorField field = MakeField(model, u, options.frozen_s);
  if (initial_states.rows() != field.size || initial_states.cols() < 1) {
    throw std::invalid_argument(
        "FindFixedPoints: initial_states is " + std::to_string(initial_states.rows()) + " x " +
        std::to_string(initial_states.cols()) + ", expected " + std::to_string(field.size) +
        " x K with K >= 1" + (options.frozen_s.size() > 0 ? " (x alone, frozen_s is set)" : ""));
  }
  if (!initial_states.allFinite()) {
    throw std::invalid_argument("FindFixedPoints: initial_states is not finite");
  }
  Subspace sub;
  if (options.subspace) sub = MakeSubspace(model, u, options.frozen_s.size() > 0);

  FixedPointSummary summary;
  summary.num_seeds = initial_states.cols();
  summary.search_dimension = sub.basis.size() == 0 ? field.size : sub.basis.cols();

  // Seeds in the search coordinates: the least-squares projection κ0 = argmin ‖Mκ − (x0 − c)‖.
  Eigen::MatrixXd starts = initial_states;
  if (sub.basis.size() > 0) {
    const Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(sub.basis);
    starts = qr.solve(initial_states.colwise() - sub.offset);
  }

  std::exception_ptr error;
  ResidualCost cost(field, sub, &error);
  ceres::Solver::Options solver;
  solver.minimizer_type = ceres::TRUST_REGION;
  solver.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  solver.linear_solver_type = options.linear_solver == FixedPointLinearSolver::kDenseQr
                                  ? ceres::DENSE_QR
                                  : ceres::DENSE_NORMAL_CHOLESKY;
  solver.max_num_iterations = static_cast<int>(
      std::min<std::int64_t>(options.max_iterations, std::numeric_limits<int>::max()));
  solver.function_tolerance = options.function_tolerance;
  // Start as Gauss–Newton (damping μ = 1/radius): fixed points are zero-residual problems, where
  // Gauss–Newton converges quadratically, and a strongly damped start would take tiny steps along
  // slow directions (J's small singular values, e.g. near a line attractor) that look like
  // stagnation to the function tolerance. Failed steps shrink the radius as usual.
  solver.initial_trust_region_radius = 1e16;
  solver.max_trust_region_radius = 1e16;
  // q ≤ tol_q is the success test (the callback); a slow point ends on function_tolerance, a
  // vanishing step or max_iterations. Ceres' gradient test (max |Jᵀr|) has no natural scale here.
  solver.gradient_tolerance = 0.0;
  solver.parameter_tolerance = 1e-15;
  solver.num_threads = 1;
  solver.logging_type = ceres::SILENT;
  solver.minimizer_progress_to_stdout = false;

  std::vector<Candidate> candidates;
  candidates.reserve(static_cast<std::size_t>(starts.cols()));
  for (Eigen::Index k = 0; k < starts.cols(); ++k) {
    Eigen::VectorXd kappa = starts.col(k);
    ceres::Problem::Options problem_options;
    problem_options.cost_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
    ceres::Problem problem(problem_options);
    problem.AddResidualBlock(&cost, nullptr, kappa.data());
    StopAtTolerance stop(options.tol_q);
    ceres::Solver::Options per_seed = solver;
    per_seed.callbacks.push_back(&stop);
    ceres::Solver::Summary s;
    ceres::Solve(per_seed, &problem, &s);
    if (error) std::rethrow_exception(error);

    Candidate c;
    c.seed = k;
    c.x = sub.basis.size() == 0 ? kappa : Eigen::VectorXd(sub.offset + sub.basis * kappa);
    Eigen::VectorXd r;
    field.eval(c.x, &r, nullptr);
    c.q = 0.5 * r.squaredNorm();
    c.dq = stop.last_dq;
    c.iterations = std::max<std::int64_t>(0, static_cast<std::int64_t>(s.iterations.size()) - 1);
    summary.total_iterations += c.iterations;
    if (std::isfinite(c.q) && c.q <= options.slow_q_threshold) {
      candidates.push_back(std::move(c));
    } else {
      ++summary.num_above_slow;
    }
  }

  // Lowest q first (ties: seed order), then greedy de-duplication in the max-norm.
  std::stable_sort(candidates.begin(),
                   candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.q < b.q; });
  std::vector<Candidate> unique;
  for (Candidate& c : candidates) {
    bool duplicate = false;
    for (const Candidate& kept : unique) {
      if ((c.x - kept.x).lpNorm<Eigen::Infinity>() < options.tol_unique) {
        duplicate = true;
        break;
      }
    }
    if (duplicate) {
      ++summary.num_duplicates;
    } else {
      unique.push_back(std::move(c));
    }
  }

  std::string outlier_note;
  if (options.exclude_distance_outliers && !unique.empty()) {
    const Eigen::VectorXd centroid = initial_states.rowwise().mean();
    const double mean_distance = (initial_states.colwise() - centroid).colwise().norm().mean();
    if (mean_distance > 0.0) {
      std::vector<Candidate> near;
      for (Candidate& c : unique) {
        if ((c.x - centroid).norm() / mean_distance <= options.outlier_distance_scale) {
          near.push_back(std::move(c));
        } else {
          ++summary.num_outliers;
        }
      }
      unique = std::move(near);
    } else {
      outlier_note = "; outlier exclusion skipped: the seeds have no spread";
    }
  }

  const auto k = static_cast<Eigen::Index>(unique.size());
  const Eigen::Index n = field.size;
  FixedPoints& fps = *out;
  fps = FixedPoints();
  fps.discrete = field.discrete;
  fps.xstar.resize(n, k);
  fps.x_init.resize(n, k);
  fps.F_xstar.resize(n, k);
  fps.qstar.resize(k);
  fps.dq.resize(k);
  for (Eigen::Index j = 0; j < k; ++j) {
    const Candidate& c = unique[static_cast<std::size_t>(j)];
    Eigen::VectorXd r;
    Eigen::MatrixXd jac;
    field.eval(c.x, &r, &jac);
    if (field.discrete) {
      r += c.x;
      jac.diagonal().array() += 1.0;
    }
    fps.xstar.col(j) = c.x;
    fps.x_init.col(j) = initial_states.col(c.seed);
    fps.F_xstar.col(j) = r;
    fps.qstar(j) = c.q;
    fps.dq(j) = c.dq;
    fps.n_iters.push_back(c.iterations);
    fps.is_fixed.push_back(c.q <= options.tol_q);
    fps.J_xstar.push_back(std::move(jac));
    if (c.q <= options.tol_q) {
      ++summary.num_fixed;
    } else {
      ++summary.num_slow;
    }
    summary.max_q = std::max(summary.max_q, c.q);
  }
  std::ostringstream msg;
  msg << (options.frozen_s.size() > 0 ? "x-network at frozen s" : model.kind())
      << (field.discrete ? " (map: residual F(h) - h)" : "")
      << (options.subspace ? ", low-rank subspace search" : ", full-space search") << outlier_note;
  summary.message = msg.str();
  return summary;
}

Eigen::MatrixXd SampleStates(const Trajectory& trajectory,
                             Eigen::Index count,
                             double noise_stddev,
                             Rng* rng) {
  if (rng == nullptr) throw std::invalid_argument("SampleStates: rng is null");
  if (count < 1)
    throw std::invalid_argument("SampleStates: count = " + std::to_string(count) + " must be >= 1");
  if (!(noise_stddev >= 0.0) || !std::isfinite(noise_stddev)) {
    throw std::invalid_argument("SampleStates: noise_stddev = " + std::to_string(noise_stddev) +
                                " must be finite and >= 0");
  }
  if (trajectory.states.empty() || trajectory.states[0].size() == 0) {
    throw std::invalid_argument("SampleStates: the trajectory has no states");
  }
  const Eigen::Index s = trajectory.states[0].rows(), b = trajectory.states[0].cols();
  const auto pairs =
      static_cast<std::uint64_t>(trajectory.states.size()) * static_cast<std::uint64_t>(b);
  Eigen::MatrixXd seeds(s, count);
  for (Eigen::Index k = 0; k < count; ++k) {
    const std::uint64_t i = rng->Below(pairs);
    const auto t = static_cast<std::size_t>(i / static_cast<std::uint64_t>(b));
    const auto trial = static_cast<Eigen::Index>(i % static_cast<std::uint64_t>(b));
    seeds.col(k) = trajectory.states[t].col(trial);
  }
  if (noise_stddev > 0.0) {
    for (Eigen::Index k = 0; k < count; ++k) {
      for (Eigen::Index i = 0; i < s; ++i) seeds(i, k) += noise_stddev * rng->Normal();
    }
  }
  return seeds;
}

}  // namespace ctrnn
