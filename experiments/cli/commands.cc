#include "experiments/cli/commands.h"

#include <chrono>
#include <iostream>
#include <stdexcept>

#include "lib/archive.h"
#include "lib/config.h"
#include "lib/loss.h"
#include "lib/models/factory.h"
#include "lib/random.h"
#include "lib/tasks/task.h"
#include "solvers/gradient.h"
#include "solvers/integrate.h"
#include "solvers/interpolating_adjoint.h"

namespace ctrnn::cli {

const char kDefaultSimulateConfig[] =
    R"(# ctrnn built-in default: the NM-RNN of the Measure-Wait-Go experiment on its 40 training trials.
seed = 0

[model]
kind = "nm_rnn"
N = 100
M = 5
R = 3
input_size = 3
output_size = 1
tau_x = 10.0
tau_z = 100.0

[task]
name = "mwg"
set = "train"

[integrator]
stepper = "euler"
dt = 1.0
)";

namespace {

// What every command builds from a config: the model, the task batch and the integrator. The
// caller reads its own sections and then calls config.CheckAllUsed().
struct Setup {
  Config config;
  std::uint64_t seed = 0;
  Config* model_config = nullptr;
  std::unique_ptr<Model> model;
  std::unique_ptr<Task> task;
  Batch batch;
  IntegrateOptions integrate;
};

Setup LoadSetup(const std::string& config_path,
                const std::optional<std::int64_t>& seed,
                const std::optional<std::string>& stepper) {
  Setup s;
  s.config = config_path.empty() ? Config::ParseString(kDefaultSimulateConfig, "built-in default")
                                 : Config::ParseFile(config_path);
  if (seed) s.config.Set("seed", *seed);
  if (stepper) s.config.Sub("integrator").Set("stepper", *stepper);
  s.seed = static_cast<std::uint64_t>(s.config.GetInt("seed", 0, 0, std::int64_t{1} << 62));
  s.model_config = &s.config.Sub("model");
  s.model = MakeModel(s.model_config, s.seed);
  s.task = MakeTask(&s.config.Sub("task"));
  if (s.task->fixed()) {
    s.batch = s.task->Sample(1, nullptr);
  } else {
    Config& batch = s.config.Sub("batch");
    Rng rng(s.seed ^ 0x5851f42d4c957f2dULL);
    s.batch = s.task->Sample(batch.GetInt("trials", 64, 1, 1 << 24), &rng);
  }
  s.integrate = IntegrateOptionsFromConfig(&s.config.Sub("integrator"));
  return s;
}

}  // namespace

int Simulate(const SimulateArgs& args) {
  Setup setup = LoadSetup(args.config_path, args.seed, args.stepper);
  Config& config = setup.config;
  const std::uint64_t seed = setup.seed;
  Config& model_config = *setup.model_config;
  const std::unique_ptr<Model>& model = setup.model;
  const Batch& batch = setup.batch;
  const IntegrateOptions& options = setup.integrate;
  config.CheckAllUsed();  // every key was read: anything left is a typo

  const auto start = std::chrono::steady_clock::now();
  Trajectory trajectory;
  const IntegrateSummary summary = Integrate(*model, batch, options, &trajectory);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  RunRecord record;
  record.command = args.command_line;
  record.seed = seed;
  record.config = &config;
  record.model_config = &model_config;
  record.model = model.get();
  record.batch = &batch;
  record.trajectory = &trajectory;
  record.extra_meta = {{"integrate_termination", TerminationName(summary.termination)},
                       {"integrate_steps", summary.steps},
                       {"integrate_seconds", seconds}};
  WriteRun(args.output, record);
  std::cout << model->kind() << ": " << model->num_params() << " parameters, " << batch.num_trials()
            << " trials x " << batch.num_bins() << " bins\n"
            << summary.BriefReport() << " (" << seconds * 1e3 << " ms)\n"
            << "wrote " << args.output << "\n";
  return summary.ok() ? 0 : 3;
}

int Gradient(const GradientArgs& args) {
  Setup setup = LoadSetup(args.config_path, args.seed, args.stepper);
  Config& config = setup.config;
  const LossOptions loss = LossOptionsFromConfig(&config.Sub("loss"), setup.task->loss());
  Config& grad_config = config.Sub("gradient");
  if (args.method) grad_config.Set("method", *args.method);
  const std::string method =
      grad_config.GetString("method", "discrete", {"discrete", "interpolating"});
  GradientOptions discrete;
  discrete.integrate = setup.integrate;
  discrete.checkpoint_every_bins = grad_config.GetInt("checkpoint_every_bins", 0, 0, 1 << 30);
  discrete.threads = grad_config.GetInt("threads", 1, 1, 1024);
  discrete.trial_blocks = grad_config.GetInt("trial_blocks", 0, 0, 1 << 20);
  InterpolatingAdjointOptions interpolating;
  if (method == "interpolating") {
    interpolating.forward = setup.integrate;
    interpolating.adjoint_abs_tol = grad_config.GetDouble("adjoint_abs_tol", 1e-8, 1e-16, 1.0);
    interpolating.adjoint_rel_tol = grad_config.GetDouble("adjoint_rel_tol", 1e-8, 1e-16, 1.0);
  }
  config.CheckAllUsed();
  const Model& model = *setup.model;

  const auto start = std::chrono::steady_clock::now();
  Eigen::VectorXd gradient;
  GradientSummary summary;
  std::string report;
  if (method == "discrete") {
    summary = LossAndGradient(model, setup.batch, loss, discrete, &gradient);
    report = summary.BriefReport();
  } else {
    const InterpolatingAdjointSummary s =
        InterpolatingAdjointGradient(model, setup.batch, loss, interpolating, &gradient);
    summary = s.gradient;
    report = s.BriefReport();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << model.kind() << ": " << model.num_params() << " parameters, "
            << setup.batch.num_trials() << " trials x " << setup.batch.num_bins() << " bins, "
            << method << " adjoint, " << StepperName(setup.integrate.stepper) << "\n"
            << report << " (" << seconds * 1e3 << " ms)\n";
  if (!summary.ok()) {
    std::cout << "no gradient written: " << TerminationName(summary.termination) << "\n";
    return 3;
  }

  // Central differences of the loss of the same numerical solution (the forward step plan is
  // replayed, so an adaptive solver takes the same steps at every θ).
  Eigen::VectorXd fd;
  if (args.check) {
    GradientOptions replay = discrete;
    replay.checkpoint_every_bins = 0;
    replay.replay = summary.plan;
    std::unique_ptr<Model> probe;
    {
      Config copy = Config::ParseString(setup.model_config->ToToml(), "model copy");
      probe = MakeModel(&copy, setup.seed);
    }
    fd.resize(model.num_params());
    const Eigen::VectorXd theta = model.theta();
    auto loss_at = [&](Eigen::Index i, double delta) {
      Eigen::VectorXd shifted = theta;
      shifted(i) += delta;
      probe->SetTheta(shifted);
      return LossAndGradient(*probe, setup.batch, loss, replay, nullptr).loss;
    };
    // Richardson-extrapolated central differences: truncation O(h^4), round-off ~ eps L / h.
    for (Eigen::Index i = 0; i < theta.size(); ++i) {
      const double h = 1e-3 * std::max(1.0, std::abs(theta(i)));
      const double d1 = (loss_at(i, h) - loss_at(i, -h)) / (2 * h);
      const double d2 = (loss_at(i, h / 2) - loss_at(i, -h / 2)) / h;
      fd(i) = (4 * d2 - d1) / 3;
    }
    double worst = 0.0;
    std::string worst_block;
    for (const ParamBlock& b : model.layout().blocks()) {
      const double num =
          (gradient.segment(b.offset, b.size()) - fd.segment(b.offset, b.size())).norm();
      const double den = std::max(fd.segment(b.offset, b.size()).norm(), 1e-12);
      if (num / den > worst) {
        worst = num / den;
        worst_block = b.name;
      }
    }
    std::cout << "check: worst relative error against central differences " << worst << " (block "
              << worst_block << "); overall " << (gradient - fd).norm() / fd.norm() << "\n";
  }

  RunRecord record;
  record.command = args.command_line;
  record.seed = setup.seed;
  record.config = &config;
  record.model_config = setup.model_config;
  record.model = &model;
  record.batch = &setup.batch;
  record.scalars = {{"loss", summary.loss}};
  record.theta_like = {{"gradient", &gradient}};
  if (args.check) record.theta_like.push_back({"finite_difference", &fd});
  record.extra_meta = {{"gradient_method", AttrValue(method)},
                       {"stepper", AttrValue(StepperName(setup.integrate.stepper))},
                       {"gradient_seconds", AttrValue(seconds)}};
  WriteRun(args.output, record);
  std::cout << "loss " << summary.loss << ", |gradient| " << gradient.norm() << "\nwrote "
            << args.output << "\n";
  return 0;
}

int Info(const std::string& path) {
  std::cout << DescribeRun(path);
  return 0;
}

}  // namespace ctrnn::cli
