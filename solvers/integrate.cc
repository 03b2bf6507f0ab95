#include "solvers/integrate.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include <boost/numeric/odeint.hpp>
#include <boost/numeric/odeint/external/eigen/eigen.hpp>

namespace ctrnn {
namespace odeint = boost::numeric::odeint;

Stepper ParseStepper(const std::string& name, const std::string& field) {
  if (name == "euler") return Stepper::kEuler;
  if (name == "rk4") return Stepper::kRk4;
  if (name == "dopri5") return Stepper::kDopri5;
  throw std::invalid_argument(field + " = \"" + name + "\": unknown stepper (euler, rk4, dopri5)");
}

std::string StepperName(Stepper stepper) {
  switch (stepper) {
    case Stepper::kEuler:
      return "euler";
    case Stepper::kRk4:
      return "rk4";
    case Stepper::kDopri5:
      return "dopri5";
  }
  return "?";
}

std::string TerminationName(Termination termination) {
  switch (termination) {
    case Termination::kSuccess:
      return "success";
    case Termination::kNonFinite:
      return "non_finite";
    case Termination::kMaxSteps:
      return "max_steps";
    case Termination::kStepSizeUnderflow:
      return "step_size_underflow";
  }
  return "?";
}

void IntegrateOptions::Validate() const {
  auto fail = [](const std::string& field, double value, const char* rule) {
    std::ostringstream msg;
    msg << "IntegrateOptions." << field << " = " << value << ": " << rule;
    throw std::invalid_argument(msg.str());
  };
  if (!(dt > 0.0) || !std::isfinite(dt)) fail("dt", dt, "must be positive and finite");
  if (!(abs_tol > 0.0)) fail("abs_tol", abs_tol, "must be positive");
  if (!(rel_tol > 0.0)) fail("rel_tol", rel_tol, "must be positive");
  if (!(max_step > 0.0)) fail("max_step", max_step, "must be positive");
  if (!(min_step > 0.0)) fail("min_step", min_step, "must be positive");
  if (max_steps < 1) fail("max_steps", static_cast<double>(max_steps), "must be at least 1");
  if (dense_per_bin < 0) fail("dense_per_bin", dense_per_bin, "must be >= 0");
}

IntegrateOptions IntegrateOptionsFromConfig(Config* c) {
  IntegrateOptions o;
  o.stepper = ParseStepper(c->GetString("stepper", "euler", {"euler", "rk4", "dopri5"}),
                           c->path() + ".stepper");
  o.dt = c->GetDouble("dt", o.dt, 1e-12, 1e12);
  o.abs_tol = c->GetDouble("abs_tol", o.abs_tol, 1e-16, 1.0);
  o.rel_tol = c->GetDouble("rel_tol", o.rel_tol, 1e-16, 1.0);
  o.max_step = c->GetDouble("max_step", o.max_step, 1e-12, o.max_step);
  o.max_steps = c->GetInt("max_steps", o.max_steps, 1, std::int64_t{1} << 50);
  o.dense_per_bin = static_cast<int>(c->GetInt("dense_per_bin", 0, 0, 100000));
  o.Validate();
  return o;
}

std::int64_t FixedStepsInBin(double width, const IntegrateOptions& o) {
  auto n = static_cast<std::int64_t>(std::ceil(width / o.dt * (1.0 - 1e-12)));
  n = std::max<std::int64_t>(n, 1);
  const std::int64_t m = o.dense_per_bin + 1;
  return (n + m - 1) / m * m;
}

std::string IntegrateSummary::BriefReport() const {
  std::ostringstream s;
  s << "Integrate: " << TerminationName(termination) << ", " << steps << " steps ("
    << rejected_steps << " rejected), " << rhs_evaluations << " rhs evaluations, t = " << t_final;
  if (!message.empty()) s << ": " << message;
  return s.str();
}

namespace {

using State = Eigen::VectorXd;
using Dopri5 =
    odeint::runge_kutta_dopri5<State, double, State, double, odeint::vector_space_algebra>;
using Rk4 = odeint::runge_kutta4<State, double, State, double, odeint::vector_space_algebra>;

// Appends the state at time t (and its outputs and extras) to the trajectory.
class Recorder {
 public:
  Recorder(const Model& model,
           const IntegrateOptions& options,
           Eigen::Index trials,
           Trajectory* out)
      : model_(model), options_(options), trials_(trials), out_(out) {
    *out_ = Trajectory();
    if (options_.record_extras) {
      for (const std::string& name : model_.extra_names()) out_->extras[name];
    }
  }
  void Record(double t,
              const Eigen::Ref<const Eigen::MatrixXd>& x,
              const Eigen::MatrixXd& u,
              bool is_edge) {
    if (is_edge) out_->edge_index.push_back(static_cast<Eigen::Index>(out_->times.size()));
    out_->times.push_back(t);
    out_->states.emplace_back(x);
    if (options_.record_outputs) {
      Eigen::MatrixXd y(model_.output_size(), trials_);
      model_.Readout(x, y);
      out_->outputs.push_back(std::move(y));
    }
    if (options_.record_extras && !out_->extras.empty()) {
      model_.Extras(x, u, &extras_);
      const std::vector<std::string> names = model_.extra_names();
      for (size_t k = 0; k < names.size(); ++k) out_->extras[names[k]].push_back(extras_[k]);
    }
  }

 private:
  const Model& model_;
  const IntegrateOptions& options_;
  Eigen::Index trials_;
  Trajectory* out_;
  std::vector<Eigen::MatrixXd> extras_;
};

bool Finite(const Eigen::Ref<const Eigen::MatrixXd>& x) { return x.allFinite(); }

void NonFinite(double t, IntegrateSummary* s) {
  s->termination = Termination::kNonFinite;
  std::ostringstream msg;
  msg << "state became NaN or Inf at t = " << t;
  s->message = msg.str();
}

void RunDiscrete(const DiscreteModel& model,
                 const Batch& batch,
                 const Eigen::MatrixXd& x0,
                 const IntegrateOptions& options,
                 Recorder* rec,
                 IntegrateSummary* s) {
  Eigen::MatrixXd x = x0, next(x0.rows(), x0.cols());
  rec->Record(batch.bin_edges[0], x, batch.inputs[0], true);
  for (Eigen::Index k = 0; k < batch.num_bins(); ++k) {
    model.Step(x, batch.inputs[k], next);
    x.swap(next);
    ++s->steps;
    s->t_final = batch.bin_edges[k + 1];
    if (options.record_steps) {
      s->step_starts.push_back(batch.bin_edges[k]);
      s->step_sizes.push_back(batch.bin_edges[k + 1] - batch.bin_edges[k]);
    }
    if (!Finite(x)) return NonFinite(s->t_final, s);
    rec->Record(s->t_final, x, batch.inputs[k], true);
  }
}

void RunFixed(const ContinuousModel& model,
              const Batch& batch,
              const Eigen::MatrixXd& x0,
              const IntegrateOptions& options,
              Recorder* rec,
              IntegrateSummary* s) {
  const Eigen::Index rows = x0.rows(), cols = x0.cols();
  State x = Eigen::Map<const State>(x0.data(), x0.size());
  State next(x.size());
  Rk4 rk4;
  rec->Record(batch.bin_edges[0], x0, batch.inputs[0], true);
  for (Eigen::Index k = 0; k < batch.num_bins(); ++k) {
    const Eigen::MatrixXd& u = batch.inputs[k];
    const double t0 = batch.bin_edges[k], t1 = batch.bin_edges[k + 1];
    const std::int64_t n = FixedStepsInBin(t1 - t0, options);
    const double h = (t1 - t0) / static_cast<double>(n);
    const std::int64_t per_point = n / (options.dense_per_bin + 1);
    auto system = [&](const State& xs, State& dxdt, double /*t*/) {
      dxdt.resize(xs.size());
      Eigen::Map<Eigen::MatrixXd> d(dxdt.data(), rows, cols);
      model.Rhs(Eigen::Map<const Eigen::MatrixXd>(xs.data(), rows, cols), u, d);
    };
    for (std::int64_t i = 0; i < n; ++i) {
      if (s->steps >= options.max_steps) {
        s->termination = Termination::kMaxSteps;
        s->message = "reached max_steps = " + std::to_string(options.max_steps);
        return;
      }
      const double t = t0 + static_cast<double>(i) * h;
      if (options.stepper == Stepper::kEuler) {
        model.EulerStep(Eigen::Map<const Eigen::MatrixXd>(x.data(), rows, cols),
                        u,
                        h,
                        Eigen::Map<Eigen::MatrixXd>(next.data(), rows, cols));
        x.swap(next);
        s->rhs_evaluations += 1;
      } else {
        rk4.do_step(system, x, t, h);
        s->rhs_evaluations += 4;
      }
      ++s->steps;
      if (options.record_steps) {
        s->step_starts.push_back(t);
        s->step_sizes.push_back(h);
      }
      const bool at_edge = i + 1 == n;
      const double t_end = at_edge ? t1 : t0 + static_cast<double>(i + 1) * h;
      s->t_final = t_end;
      if (!x.allFinite()) return NonFinite(t_end, s);
      if (at_edge || (i + 1) % per_point == 0) {
        rec->Record(t_end, Eigen::Map<const Eigen::MatrixXd>(x.data(), rows, cols), u, at_edge);
      }
    }
  }
}

void RunDopri5(const ContinuousModel& model,
               const Batch& batch,
               const Eigen::MatrixXd& x0,
               const IntegrateOptions& options,
               Recorder* rec,
               IntegrateSummary* s) {
  const Eigen::Index rows = x0.rows(), cols = x0.cols();
  auto controlled = odeint::make_controlled(options.abs_tol, options.rel_tol, Dopri5());
  State x = Eigen::Map<const State>(x0.data(), x0.size());
  State dxdt(x.size()), x_old, dxdt_old, x_dense(x.size());
  rec->Record(batch.bin_edges[0], x0, batch.inputs[0], true);
  double h = std::min(options.dt, options.max_step);
  for (Eigen::Index k = 0; k < batch.num_bins(); ++k) {
    const Eigen::MatrixXd& u = batch.inputs[k];
    const double t0 = batch.bin_edges[k], t1 = batch.bin_edges[k + 1];
    auto system = [&](const State& xs, State& d, double /*t*/) {
      d.resize(xs.size());
      Eigen::Map<Eigen::MatrixXd> dm(d.data(), rows, cols);
      model.Rhs(Eigen::Map<const Eigen::MatrixXd>(xs.data(), rows, cols), u, dm);
      ++s->rhs_evaluations;
    };
    // The input jumps at the edge: the FSAL derivative of the last bin is stale.
    system(x, dxdt, t0);
    std::vector<double> dense_times;
    for (int j = 1; j <= options.dense_per_bin; ++j) {
      dense_times.push_back(t0 + (t1 - t0) * j / (options.dense_per_bin + 1));
    }
    size_t next_dense = 0;
    double t = t0;
    while (t < t1) {
      if (s->steps >= options.max_steps) {
        s->termination = Termination::kMaxSteps;
        s->message = "reached max_steps = " + std::to_string(options.max_steps);
        return;
      }
      const bool to_edge = h >= t1 - t;
      double h_try = to_edge ? t1 - t : h;
      const double t_start = t;
      x_old = x;
      dxdt_old = dxdt;
      const odeint::controlled_step_result result = controlled.try_step(system, x, dxdt, t, h_try);
      if (result == odeint::fail) {
        ++s->rejected_steps;
        h = h_try;  // the controller's reduced step
        if (h < options.min_step * std::max(1.0, std::abs(t))) {
          s->termination = Termination::kStepSizeUnderflow;
          std::ostringstream msg;
          msg << "step size " << h << " below min_step at t = " << t;
          s->message = msg.str();
          return;
        }
        continue;
      }
      ++s->steps;
      if (to_edge) t = t1;  // land exactly on the edge
      if (options.record_steps) {
        s->step_starts.push_back(t_start);
        s->step_sizes.push_back(t - t_start);
      }
      s->t_final = t;
      if (!x.allFinite()) return NonFinite(t, s);
      // h_try now holds the controller's proposal for the next step.
      h = std::min(h_try, options.max_step);
      while (next_dense < dense_times.size() && dense_times[next_dense] <= t) {
        controlled.stepper().calc_state(
            dense_times[next_dense], x_dense, x_old, dxdt_old, t_start, x, dxdt, t);
        rec->Record(dense_times[next_dense],
                    Eigen::Map<const Eigen::MatrixXd>(x_dense.data(), rows, cols),
                    u,
                    false);
        ++next_dense;
      }
    }
    rec->Record(t1, Eigen::Map<const Eigen::MatrixXd>(x.data(), rows, cols), u, true);
  }
}

}  // namespace

IntegrateSummary Integrate(const Model& model,
                           const Batch& batch,
                           const Eigen::MatrixXd& x0,
                           const IntegrateOptions& options,
                           Trajectory* out) {
  options.Validate();
  batch.Validate();
  if (batch.input_size() != model.input_size()) {
    throw std::invalid_argument("Integrate: batch has " + std::to_string(batch.input_size()) +
                                " input channels, model '" + model.kind() + "' expects " +
                                std::to_string(model.input_size()));
  }
  if (x0.rows() != model.state_size() || x0.cols() != batch.num_trials()) {
    throw std::invalid_argument("Integrate: x0 is " + std::to_string(x0.rows()) + "x" +
                                std::to_string(x0.cols()) + ", expected " +
                                std::to_string(model.state_size()) + "x" +
                                std::to_string(batch.num_trials()) + " (state x trials)");
  }
  if (out == nullptr) throw std::invalid_argument("Integrate: out is null");
  IntegrateSummary summary;
  summary.t_final = batch.bin_edges.front();
  Recorder rec(model, options, batch.num_trials(), out);
  if (!model.is_continuous()) {
    if (options.dense_per_bin > 0) {
      throw std::invalid_argument("Integrate: dense_per_bin needs a continuous model; '" +
                                  model.kind() + "' is discrete");
    }
    RunDiscrete(static_cast<const DiscreteModel&>(model), batch, x0, options, &rec, &summary);
    return summary;
  }
  const auto& cm = static_cast<const ContinuousModel&>(model);
  if (options.stepper == Stepper::kDopri5) {
    RunDopri5(cm, batch, x0, options, &rec, &summary);
  } else {
    RunFixed(cm, batch, x0, options, &rec, &summary);
  }
  return summary;
}

IntegrateSummary Integrate(const Model& model,
                           const Batch& batch,
                           const IntegrateOptions& options,
                           Trajectory* out) {
  if (batch.num_trials() < 1) throw std::invalid_argument("Integrate: empty batch");
  const Eigen::MatrixXd x0 = model.initial_state().replicate(1, batch.num_trials());
  return Integrate(model, batch, x0, options, out);
}

}  // namespace ctrnn
