// Integrate a model over a batch with piecewise-constant inputs (DESIGN.md §3.1–3.3, §3.9).
//
// Continuous models: forward Euler (the model's EulerStep, so dt = 1 reproduces the papers'
// discrete updates), classic RK4, or adaptive Dormand–Prince 5(4) with dense output (Boost.Odeint).
// Every bin edge is a step boundary; within a bin the input is constant. Discrete models take one
// Step per bin, whatever the stepper. The trajectory holds the state (and outputs and extras) at
// every bin edge t_0..t_T, plus `dense_per_bin` equally spaced interior points per bin if asked.
//
//   IntegrateOptions options;             // Euler, dt = 1
//   options.stepper = Stepper::kDopri5;
//   Trajectory traj;
//   IntegrateSummary s = Integrate(model, batch, options, &traj);
//   if (!s.ok()) std::cerr << s.BriefReport();   // non-finite state, step collapse, max steps
#ifndef CTRNN_SOLVERS_INTEGRATE_H_
#define CTRNN_SOLVERS_INTEGRATE_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "lib/batch.h"
#include "lib/config.h"
#include "lib/model.h"

namespace ctrnn {

enum class Stepper { kEuler, kRk4, kDopri5 };
// "euler" | "rk4" | "dopri5"; throws std::invalid_argument naming `field` otherwise.
Stepper ParseStepper(const std::string& name, const std::string& field);
std::string StepperName(Stepper stepper);

struct IntegrateOptions {
  Stepper stepper = Stepper::kEuler;
  // Euler/RK4: largest step; each bin is cut into ceil(width / dt) equal steps (rounded up to a
  // multiple of dense_per_bin + 1 so dense points are step ends). Dopri5: the first trial step.
  // Time units are the model's (τ and t share a unit). Must be > 0.
  double dt = 1.0;
  // Dopri5 error tolerances (odeint's per-component max-norm test). Must be > 0.
  double abs_tol = 1e-6;
  double rel_tol = 1e-6;
  // Dopri5: largest step allowed (default: no limit besides the bin width).
  double max_step = std::numeric_limits<double>::infinity();
  // Dopri5: a step below min_step * max(1, |t|) ends the run with kStepSizeUnderflow.
  double min_step = 1e-12;
  // All steppers: accepted steps before giving up with kMaxSteps.
  std::int64_t max_steps = 100'000'000;
  // Interior output points per bin, equally spaced (0: bin edges only).
  int dense_per_bin = 0;
  bool record_outputs = true;
  bool record_extras = true;
  // Record the accepted steps (start time and size), e.g. for replaying Dopri5 in an adjoint.
  bool record_steps = false;

  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

// The number of equal Euler/RK4 steps Integrate takes across a bin of `width`: ceil(width / dt),
// rounded up to a multiple of dense_per_bin + 1 so that dense points are step ends.
std::int64_t FixedStepsInBin(double width, const IntegrateOptions& options);

enum class Termination { kSuccess, kNonFinite, kMaxSteps, kStepSizeUnderflow };
std::string TerminationName(Termination termination);

struct IntegrateSummary {
  Termination termination = Termination::kSuccess;
  std::string message;
  std::int64_t steps = 0;           // accepted steps
  std::int64_t rejected_steps = 0;  // Dopri5 only
  std::int64_t rhs_evaluations = 0;
  double t_final = 0.0;             // last time reached
  std::vector<double> step_starts;  // if record_steps
  std::vector<double> step_sizes;   // if record_steps

  bool ok() const { return termination == Termination::kSuccess; }
  std::string BriefReport() const;
};

// Options from an [integrator] table: stepper ("euler"), dt (1), abs_tol (1e-6), rel_tol (1e-6),
// max_step (inf), max_steps (1e8), dense_per_bin (0). Errors name the key.
IntegrateOptions IntegrateOptionsFromConfig(Config* integrator);

// Integrates from x0 (S x B, one column per trial) over the batch. Throws std::invalid_argument on
// wrong shapes (naming them) or invalid options; numerical failure is a termination, and `out`
// then holds the trajectory up to the last finite recorded time.
IntegrateSummary Integrate(const Model& model,
                           const Batch& batch,
                           const Eigen::MatrixXd& x0,
                           const IntegrateOptions& options,
                           Trajectory* out);
// Same, from the model's initial state in every trial.
IntegrateSummary Integrate(const Model& model,
                           const Batch& batch,
                           const IntegrateOptions& options,
                           Trajectory* out);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_INTEGRATE_H_
