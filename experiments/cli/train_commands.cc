// ctrnn train / evaluate / run: training from a config with checkpoints and resume, evaluation of
// a trained run file, and the README's main job.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "experiments/cli/commands.h"
#include "lib/archive.h"
#include "lib/config.h"
#include "lib/models/factory.h"
#include "lib/tasks/task.h"
#include "solvers/integrate.h"
#include "solvers/perturb.h"
#include "solvers/train.h"
#include "solvers/train_io.h"

namespace ctrnn::cli {

// The training part of the built-in default run; the model, task and integrator are those of
// kDefaultSimulateConfig (the MWG NM-RNN on its 40 training trials, Euler at dt = 1).
const char kDefaultTraining[] = R"(
[train]
batch_mode = "full"
log_every = 100
eval_every = 500
checkpoint_every = 500
stages = ["all"]

[stage.all]
iterations = 1000

[stage.all.optimizer]
kind = "adamw"
lr = 0.01
clip_value = 1.0
)";

namespace {

std::string FormatSeconds(double s) {
  std::ostringstream out;
  if (s < 120) {
    out << std::fixed << std::setprecision(1) << s << " s";
  } else {
    out << std::fixed << std::setprecision(1) << s / 60 << " min";
  }
  return out.str();
}

std::string ConfigText(const std::string& run_file) {
  const std::optional<ArchiveGroup> config = ReadGroup(run_file, "config");
  if (config) {
    for (const auto& [name, value] : config->attributes) {
      if (name == "toml") return std::get<std::string>(value);
    }
  }
  throw std::runtime_error("'" + run_file + "': /config has no attribute 'toml'");
}

// [init] from = "RUN.h5" (with "{seed}" replaced by the run's seed and "{dir}" by the directory of
// the run file being written, so a sweep's retraining finds its own trained runs): start from a
// trained run's parameters instead of the model's initialisation, e.g. to retrain a network on a
// new task with an extra input channel (NM-RNN spec §2.2: the new column of the input weights is
// new_columns = 0.1). Every block of the trained run must exist in the new model with the same
// rows and at most as many columns; its leading columns are copied and any further columns are set
// to new_columns (or keep the new model's initialisation if new_columns is not given). Blocks the
// trained run lacks keep their initialisation; the initial state is copied when the sizes agree.
// With apply = false (a resumed run, whose checkpoint already holds the parameters) the keys are
// only read.
void InitFrom(
    Config* root, std::uint64_t seed, const std::string& output, Model* model, bool apply) {
  if (!root->Has("init")) return;
  Config& init = root->Sub("init");
  std::string path = init.GetString("from", "");
  const bool fill = init.Has("new_columns");
  const double value = fill ? init.GetDouble("new_columns", 0.0, -1e12, 1e12) : 0.0;
  if (path.empty()) throw std::invalid_argument("init.from: the trained run file is missing");
  if (!apply) return;
  for (size_t at; (at = path.find("{seed}")) != std::string::npos;) {
    path.replace(at, 6, std::to_string(seed));
  }
  std::string dir = std::filesystem::path(output).parent_path().string();
  if (dir.empty()) dir = ".";
  for (size_t at; (at = path.find("{dir}")) != std::string::npos;) path.replace(at, 5, dir);
  const std::unique_ptr<Model> trained = ReadModel(path);
  for (const ParamBlock& b : trained->layout().blocks()) {
    if (!model->layout().Has(b.name)) {
      throw std::invalid_argument("init.from '" + path + "': block '" + b.name +
                                  "' is not a parameter of the new " + model->kind());
    }
    const auto old_value = trained->Param(b.name);
    Eigen::MatrixXd next = model->Param(b.name);
    if (next.rows() != old_value.rows() || next.cols() < old_value.cols()) {
      throw std::invalid_argument(
          "init.from '" + path + "': block '" + b.name + "' is " +
          std::to_string(old_value.rows()) + " x " + std::to_string(old_value.cols()) +
          " there and " + std::to_string(next.rows()) + " x " + std::to_string(next.cols()) +
          " in the new model (same rows and at least as many columns needed)");
    }
    next.leftCols(old_value.cols()) = old_value;
    if (fill) next.rightCols(next.cols() - old_value.cols()).setConstant(value);
    model->SetParam(b.name, next);
  }
  if (trained->state_size() == model->state_size()) {
    model->set_initial_state(trained->initial_state());
  }
}

struct TrainRun {
  Config config;
  std::uint64_t seed = 0;
  Config* model_config = nullptr;
  std::unique_ptr<Model> model;
  std::unique_ptr<Task> task;
  TrainOptions options;
  TrainState state;
};

}  // namespace

int Train(const TrainArgs& args) {
  TrainRun run;
  if (args.resume_path.empty()) {
    run.config = args.config_path.empty()
                     ? Config::ParseString(std::string(kDefaultSimulateConfig) + kDefaultTraining,
                                           "built-in default")
                     : Config::ParseFile(args.config_path);
  } else {
    if (!args.config_path.empty()) {
      throw std::invalid_argument(
          "ctrnn train: give a config or --resume, not both (the run file "
          "holds its config)");
    }
    run.config = Config::ParseString(ConfigText(args.resume_path), args.resume_path + ":/config");
  }
  if (args.seed) run.config.Set("seed", *args.seed);
  if (args.threads) run.config.Sub("gradient").Set("threads", *args.threads);
  run.seed = static_cast<std::uint64_t>(run.config.GetInt("seed", 0, 0, std::int64_t{1} << 62));
  run.model_config = &run.config.Sub("model");
  run.model = MakeModel(run.model_config, run.seed);
  InitFrom(&run.config, run.seed, args.output, run.model.get(), args.resume_path.empty());
  run.task = MakeTask(&run.config.Sub("task"));
  run.options = TrainOptionsFromConfig(&run.config, run.seed, run.task->loss());
  if (args.iterations) {
    if (run.options.stages.size() != 1) {
      throw std::invalid_argument("--iterations needs a single-stage config");
    }
    run.options.stages[0].iterations = *args.iterations;
    run.config.Sub("stage").Sub(run.options.stages[0].name).Record("iterations", *args.iterations);
  }
  run.config.CheckAllUsed();
  if (!args.resume_path.empty()) {
    const std::unique_ptr<Model> saved = ReadModel(args.resume_path);
    run.state = ReadTrainState(args.resume_path);
    if (saved->kind() != run.model->kind() || saved->num_params() != run.model->num_params()) {
      throw std::invalid_argument("'" + args.resume_path +
                                  "': its model does not match its config");
    }
    run.model->set_initial_state(saved->initial_state());
  }
  const std::string output = args.output.empty() ? args.resume_path : args.output;
  if (output.empty()) throw std::invalid_argument("ctrnn train: -o FILE.h5 is required");
  std::int64_t total = 0;
  for (const StageOptions& s : run.options.stages) total += s.iterations;

  std::cout << run.model->kind() << ": " << run.model->num_params() << " parameters; task "
            << run.task->name() << "; " << total << " iterations in " << run.options.stages.size()
            << " stage(s)";
  if (run.state.iteration > 0) std::cout << "; resuming at iteration " << run.state.iteration;
  std::cout << "\n";

  auto write = [&](const TrainState& state, const TrainSummary* summary) {
    // The file's /model holds the parameters of the state being saved.
    std::unique_ptr<Model> snapshot;
    {
      Config copy = Config::ParseString(run.model_config->ToToml(), "model");
      snapshot = MakeModel(&copy, run.seed);
    }
    snapshot->SetTheta(state.theta);
    snapshot->set_initial_state(run.model->initial_state());
    RunRecord record;
    record.command = args.command_line;
    record.seed = run.seed;
    record.config = &run.config;
    record.model_config = run.model_config;
    record.model = snapshot.get();
    record.groups = TrainStateGroups(state, total, summary);
    if (state.best_theta.size() == run.model->num_params()) {
      record.theta_like = {{"best_params", &state.best_theta}};
    }
    record.extra_meta = {{"wall_clock_s", AttrValue(state.seconds)}};
    WriteRun(output, record);
  };
  TrainCallbacks callbacks;
  callbacks.progress = [&](const TrainProgress& p) {
    std::cout << "iter " << std::setw(7) << p.iteration << "/" << p.total_iterations << "  ["
              << p.stage << "]  loss " << std::scientific << std::setprecision(4) << p.loss
              << std::defaultfloat;
    for (const auto& [name, value] : p.metrics) {
      if (name != "loss") std::cout << "  " << name << " " << std::setprecision(4) << value;
    }
    std::cout << "  " << std::fixed << std::setprecision(0) << p.iterations_per_second
              << " it/s  ETA " << FormatSeconds(p.eta_seconds) << std::defaultfloat << "\n"
              << std::flush;
  };
  // Checkpoints during training carry termination "running"; the final file, with the summary,
  // is written once Train returns (the end-of-run checkpoint call is skipped as redundant).
  callbacks.checkpoint = [&](const TrainState& state) {
    if (state.iteration < total) write(state, nullptr);
  };
  const TrainSummary summary =
      ctrnn::Train(run.model.get(), *run.task, run.options, callbacks, &run.state);
  write(run.state, &summary);
  std::cout << summary.BriefReport() << "\nwrote " << output << "\n";
  return summary.ok() ? 0 : 3;
}

int Evaluate(const EvaluateArgs& args) {
  std::unique_ptr<Model> model = ReadModel(args.run_path);
  Config config = Config::ParseString(ConfigText(args.run_path), args.run_path + ":/config");
  const auto seed = static_cast<std::uint64_t>(config.GetInt("seed", 0, 0, std::int64_t{1} << 62));
  Config& task_config = config.Sub("task");
  for (const auto& [key, value] : args.task_overrides) task_config.Set(key, value);
  const std::unique_ptr<Task> task = MakeTask(&task_config);
  if (args.best) {
    const TrainState state = ReadTrainState(args.run_path);
    if (state.best_theta.size() != model->num_params()) {
      throw std::runtime_error("'" + args.run_path + "': /checkpoint/best_theta is missing");
    }
    model->SetTheta(state.best_theta);
  }
  std::string clamps;
  for (const std::string& item : args.clamp_s) {
    const size_t eq = item.find('=');
    size_t used_k = 0, used_v = 0;
    long long k = -1;
    double value = 0.0;
    try {
      if (eq != std::string::npos) {
        k = std::stoll(item.substr(0, eq), &used_k);
        value = std::stod(item.substr(eq + 1), &used_v);
      }
    } catch (const std::exception&) {
      used_k = 0;
    }
    if (eq == std::string::npos || used_k != eq || used_v != item.size() - eq - 1 || k < 0) {
      throw std::invalid_argument("--clamp-s = \"" + item + "\": expected K=VALUE, e.g. 0=0");
    }
    model = ClampModulation(*model, static_cast<Eigen::Index>(k), value);
    clamps += (clamps.empty() ? "" : ",") + item;
  }
  Config& integrator_config = config.Sub("integrator");
  if (!args.stepper.empty()) integrator_config.Set("stepper", args.stepper);
  if (args.dt) integrator_config.Set("dt", *args.dt);
  IntegrateOptions integrate = IntegrateOptionsFromConfig(&integrator_config);
  Batch batch;
  if (task->fixed()) {
    batch = task->Sample(1, nullptr);
  } else {
    Rng rng(seed ^ 0xbf58476d1ce4e5b9ULL);
    batch = task->Sample(args.trials, &rng);
  }
  // The run's own loss: its [loss] table if it had one, else the task's.
  const LossOptions loss = LossOptionsFromConfig(&config.Sub("loss"), task->loss());
  Trajectory traj;
  const IntegrateSummary s = Integrate(*model, batch, integrate, &traj);
  std::vector<std::pair<std::string, double>> metrics;
  if (s.ok()) {
    metrics.emplace_back("loss", EvaluateLoss(batch, traj.outputs, loss).loss);
    for (const auto& m : task->Metrics(batch, traj.outputs)) metrics.push_back(m);
  }
  ArchiveGroup group;
  group.name = "evaluation";
  group.attributes = {{"source", args.run_path},
                      {"integrate_termination", TerminationName(s.termination)},
                      {"params", std::string(args.best ? "best" : "last")},
                      {"clamped_s", clamps}};
  for (const auto& [name, value] : metrics) group.attributes.emplace_back(name, value);
  RunRecord record;
  record.command = args.command_line;
  record.seed = seed;
  record.config = &config;
  Config& model_config = config.Sub("model");
  MakeModel(&model_config, seed);  // resolves the model table so the output reads back
  record.model_config = &model_config;
  record.model = model.get();
  record.batch = &batch;
  record.trajectory = &traj;
  record.groups = {group};
  WriteRun(args.output, record);
  std::cout << task->name() << ": " << batch.num_trials() << " trials";
  for (const auto& [name, value] : metrics) std::cout << ", " << name << " " << value;
  std::cout << "\nwrote " << args.output << "\n";
  return s.ok() ? 0 : 3;
}

int Run(const RunArgs& args) {
  namespace fs = std::filesystem;
  const fs::path dir = args.output_dir;
  fs::create_directories(dir);
  const auto start = std::chrono::steady_clock::now();
  TrainArgs train;
  train.config_path = args.config_path;
  train.output = (dir / "mwg_nm_rnn.h5").string();
  train.seed = args.seed;
  train.command_line = args.command_line;
  const int rc = Train(train);
  if (rc != 0) return rc;
  int status = 0;
  for (const char* set : {"train", "extrapolation"}) {
    EvaluateArgs eval;
    eval.run_path = train.output;
    eval.output = (dir / (std::string("mwg_nm_rnn_eval_") + set + ".h5")).string();
    eval.task_overrides = {{"set", std::string(set)}};
    eval.best = true;
    eval.command_line = args.command_line;
    status = std::max(status, Evaluate(eval));
  }
  const std::string plot = std::string(CTRNN_SOURCE_DIR) + "/experiments/plots/plot_training.py";
  const std::string cmd = "/usr/bin/python3 " + plot + " " + train.output + " " +
                          (dir / "mwg_nm_rnn_eval_train.h5").string() + " " +
                          (dir / "mwg_nm_rnn_eval_extrapolation.h5").string();
  std::cout << std::flush;
  if (std::system(cmd.c_str()) != 0) {
    std::cerr << "ctrnn run: plotting failed (needs python3-h5py and python3-matplotlib): " << cmd
              << "\n";
    status = std::max(status, 4);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "ctrnn run: done in " << FormatSeconds(seconds) << "; outputs in " << dir.string()
            << "\n";
  return status;
}

}  // namespace ctrnn::cli
