#include "solvers/interpolating_adjoint.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <boost/numeric/odeint.hpp>
#include <boost/numeric/odeint/external/eigen/eigen.hpp>

#include "solvers/runge_kutta.h"

namespace ctrnn {
namespace odeint = boost::numeric::odeint;

InterpolatingAdjointOptions::InterpolatingAdjointOptions() {
  forward.stepper = Stepper::kDopri5;
  forward.abs_tol = 1e-8;
  forward.rel_tol = 1e-8;
}

void InterpolatingAdjointOptions::Validate() const {
  forward.Validate();
  auto fail = [](const char* field, double value) {
    std::ostringstream msg;
    msg << "InterpolatingAdjointOptions." << field << " = " << value << ": must be positive";
    throw std::invalid_argument(msg.str());
  };
  if (!(adjoint_abs_tol > 0.0)) fail("adjoint_abs_tol", adjoint_abs_tol);
  if (!(adjoint_rel_tol > 0.0)) fail("adjoint_rel_tol", adjoint_rel_tol);
  if (!(adjoint_initial_step > 0.0)) fail("adjoint_initial_step", adjoint_initial_step);
  if (adjoint_max_steps < 1) fail("adjoint_max_steps", static_cast<double>(adjoint_max_steps));
}

std::string InterpolatingAdjointSummary::BriefReport() const {
  std::ostringstream s;
  s << gradient.BriefReport() << "; interpolating adjoint: " << adjoint_steps << " backward steps ("
    << adjoint_rejected_steps << " rejected), " << vjp_evaluations << " VJPs";
  return s.str();
}

namespace {

using State = Eigen::VectorXd;
using Dopri5 =
    odeint::runge_kutta_dopri5<State, double, State, double, odeint::vector_space_algebra>;

// The forward solution inside one bin: step-end times, states and slopes, for cubic Hermite
// interpolation.
struct BinSolution {
  std::vector<double> t;
  std::vector<Eigen::MatrixXd> x, f;

  void At(double time, Eigen::MatrixXd* out) const {
    // The step [t_j, t_{j+1}] holding `time` (clamped to the bin).
    auto it = std::upper_bound(t.begin(), t.end(), time);
    size_t j = it == t.begin() ? 0 : static_cast<size_t>(it - t.begin()) - 1;
    j = std::min(j, t.size() - 2);
    const double h = t[j + 1] - t[j];
    const double s = std::clamp((time - t[j]) / h, 0.0, 1.0);
    const double s2 = s * s, s3 = s2 * s;
    const double h00 = 2 * s3 - 3 * s2 + 1, h10 = s3 - 2 * s2 + s;
    const double h01 = -2 * s3 + 3 * s2, h11 = s3 - s2;
    *out = h00 * x[j] + (h10 * h) * f[j] + h01 * x[j + 1] + (h11 * h) * f[j + 1];
  }
};

void Fail(Termination termination, const std::string& message, InterpolatingAdjointSummary* s) {
  s->gradient.termination = termination;
  s->gradient.message = message;
}

}  // namespace

InterpolatingAdjointSummary InterpolatingAdjointGradient(const Model& model,
                                                         const Batch& batch,
                                                         const LossOptions& loss,
                                                         const InterpolatingAdjointOptions& options,
                                                         Eigen::VectorXd* gradient) {
  options.Validate();
  if (gradient == nullptr)
    throw std::invalid_argument("InterpolatingAdjointGradient: gradient is null");
  if (!model.is_continuous()) {
    throw std::invalid_argument("InterpolatingAdjointGradient: model '" + model.kind() +
                                "' is discrete; use the discrete adjoint (LossAndGradient)");
  }
  batch.Validate();
  ValidateLossInputs(batch, model.output_size(), loss);
  const auto& cm = static_cast<const ContinuousModel&>(model);
  const Eigen::Index s_size = model.state_size(), trials = batch.num_trials();
  const Eigen::Index p = model.num_params(), n_lambda = s_size * trials;
  gradient->setConstant(p, std::numeric_limits<double>::quiet_NaN());
  InterpolatingAdjointSummary summary;

  // Forward: the bin-edge states are the checkpoints; the step plan is kept for the recomputation.
  IntegrateOptions fwd = options.forward;
  fwd.record_steps = true;
  fwd.record_outputs = true;
  fwd.record_extras = false;
  fwd.dense_per_bin = 0;
  Trajectory traj;
  const IntegrateSummary forward = Integrate(model, batch, fwd, &traj);
  summary.gradient.forward_steps = forward.steps;
  summary.gradient.rejected_steps = forward.rejected_steps;
  summary.gradient.stored_states = static_cast<std::int64_t>(traj.states.size());
  if (!forward.ok()) {
    Fail(forward.termination, "forward: " + forward.message, &summary);
    return summary;
  }
  const StepPlan plan = StepPlanFromSummary(forward, batch.bin_edges);
  summary.gradient.plan = plan;
  const LossValue value = EvaluateLoss(batch, traj.outputs, loss);
  summary.gradient.loss = value.loss;
  if (!std::isfinite(value.loss)) {
    Fail(Termination::kNonFinite, "the loss is not finite", &summary);
    return summary;
  }

  // Backward: a = [λ (S x B, column-major); θ̄].
  State a = State::Zero(n_lambda + p);
  const Eigen::Index bins = batch.num_bins();
  {
    Eigen::Map<Eigen::MatrixXd> lambda(a.data(), s_size, trials);
    model.ReadoutVjp(traj.states[bins], value.dl_dy[bins], lambda, a.tail(p));
  }
  std::vector<std::int64_t> first_step(static_cast<size_t>(bins) + 1, 0);
  for (Eigen::Index k = 0; k < bins; ++k) first_step[k + 1] = first_step[k] + plan.bin_steps[k];
  std::unique_ptr<ExplicitRungeKutta> rk;
  if (fwd.stepper == Stepper::kRk4) {
    rk = std::make_unique<ExplicitRungeKutta>(ClassicRk4Tableau(), s_size, trials);
  } else if (fwd.stepper == Stepper::kDopri5) {
    rk = std::make_unique<ExplicitRungeKutta>(DormandPrince5Tableau(), s_size, trials);
  }
  auto controlled =
      odeint::make_controlled(options.adjoint_abs_tol, options.adjoint_rel_tol, Dopri5());
  BinSolution bin;
  Eigen::MatrixXd x_at(s_size, trials);
  State dadt(a.size());
  for (Eigen::Index k = bins - 1; k >= 0; --k) {
    const Eigen::MatrixXd& u = batch.inputs[k];
    const double t0 = batch.bin_edges[k], t1 = batch.bin_edges[k + 1];
    // Recompute the bin's forward steps from its checkpoint.
    const std::int64_t n_steps = plan.bin_steps[k];
    bin.t.assign(1, t0);
    bin.x.assign(1, traj.states[k]);
    bin.f.assign(1, Eigen::MatrixXd(s_size, trials));
    cm.Rhs(bin.x[0], u, bin.f[0]);
    for (std::int64_t j = 0; j < n_steps; ++j) {
      const double h = plan.step_sizes[first_step[k] + j];
      Eigen::MatrixXd next(s_size, trials), slope(s_size, trials);
      if (rk) {
        rk->Step(cm, bin.x.back(), u, h, next);
      } else {
        cm.EulerStep(bin.x.back(), u, h, next);
      }
      cm.Rhs(next, u, slope);
      bin.t.push_back(j + 1 == n_steps ? t1 : bin.t.back() + h);
      bin.x.push_back(std::move(next));
      bin.f.push_back(std::move(slope));
    }
    // Solve the adjoint system in reversed time σ = t1 − t over [0, t1 − t0].
    auto system = [&](const State& state, State& d, double sigma) {
      d.resize(state.size());
      bin.At(t1 - sigma, &x_at);
      Eigen::Map<const Eigen::MatrixXd> lambda(state.data(), s_size, trials);
      Eigen::Map<Eigen::MatrixXd> lambda_dot(d.data(), s_size, trials);
      d.tail(p).setZero();
      cm.Vjp(x_at, u, lambda, lambda_dot, d.tail(p));
      ++summary.vjp_evaluations;
    };
    const double width = t1 - t0;
    double sigma = 0.0, h = std::min(options.adjoint_initial_step, width);
    system(a, dadt, sigma);
    while (sigma < width) {
      if (summary.adjoint_steps >= options.adjoint_max_steps) {
        Fail(Termination::kMaxSteps,
             "adjoint: reached adjoint_max_steps = " + std::to_string(options.adjoint_max_steps),
             &summary);
        return summary;
      }
      const bool to_edge = h >= width - sigma;
      double h_try = to_edge ? width - sigma : h;
      if (controlled.try_step(system, a, dadt, sigma, h_try) == odeint::fail) {
        ++summary.adjoint_rejected_steps;
        h = h_try;
        if (h < 1e-12 * std::max(1.0, std::abs(t1))) {
          std::ostringstream msg;
          msg << "adjoint: step size " << h << " collapsed at t = " << t1 - sigma;
          Fail(Termination::kStepSizeUnderflow, msg.str(), &summary);
          return summary;
        }
        continue;
      }
      ++summary.adjoint_steps;
      if (to_edge) sigma = width;
      h = h_try;
      if (!a.allFinite()) {
        std::ostringstream msg;
        msg << "adjoint: λ or θ̄ became NaN or Inf at t = " << t1 - sigma;
        Fail(Termination::kNonFinite, msg.str(), &summary);
        return summary;
      }
    }
    Eigen::Map<Eigen::MatrixXd> lambda(a.data(), s_size, trials);
    model.ReadoutVjp(traj.states[k], value.dl_dy[k], lambda, a.tail(p));
  }
  *gradient = a.tail(p);
  return summary;
}

}  // namespace ctrnn
