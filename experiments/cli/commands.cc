#include "experiments/cli/commands.h"

#include <chrono>
#include <iostream>
#include <stdexcept>

#include "lib/archive.h"
#include "lib/config.h"
#include "lib/models/factory.h"
#include "lib/tasks/mwg.h"
#include "solvers/integrate.h"

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

int Simulate(const SimulateArgs& args) {
  Config config = args.config_path.empty()
                      ? Config::ParseString(kDefaultSimulateConfig, "built-in default")
                      : Config::ParseFile(args.config_path);
  if (args.seed) config.Set("seed", *args.seed);
  if (args.stepper) config.Sub("integrator").Set("stepper", *args.stepper);
  const auto seed = static_cast<std::uint64_t>(config.GetInt("seed", 0, 0, std::int64_t{1} << 62));
  Config& model_config = config.Sub("model");
  std::unique_ptr<Model> model = MakeModel(&model_config, seed);
  Config& task = config.Sub("task");
  task.GetString("name", "mwg", {"mwg"});
  const Batch batch = MwgBatchFromConfig(&task);
  const IntegrateOptions options = IntegrateOptionsFromConfig(&config.Sub("integrator"));
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

int Info(const std::string& path) {
  std::cout << DescribeRun(path);
  return 0;
}

}  // namespace ctrnn::cli
