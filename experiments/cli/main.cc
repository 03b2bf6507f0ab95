// ctrnn: the command line. `ctrnn --help` lists the subcommands.
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <malloc.h>

#include "experiments/cli/commands.h"
#include "lib/version.h"

int main(int argc, char** argv) {
  // Training and integration allocate the same large trajectory and workspace matrices every
  // iteration (e.g. 1000 trials x 100 steps x 100 units). glibc serves blocks above its mmap
  // threshold with a fresh mmap and returns them on free, so each iteration page-faults its
  // memory in again: the multitask LR-RNN retraining (batch 1000) spent most of its time in the
  // kernel. Keeping blocks up to 32 MiB on the heap and not trimming it makes the memory reused.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);

  CLI::App app{"ctrnn: continuous-time recurrent neural networks for computational neuroscience"};
  app.set_version_flag("--version", ctrnn::Version() + " (" + ctrnn::GitRevision() + ")");
  app.require_subcommand(1);

  ctrnn::cli::SimulateArgs sim;
  sim.command_line = command_line;
  CLI::App* simulate =
      app.add_subcommand("simulate", "Integrate a model on a task batch and write a run file");
  simulate
      ->add_option(
          "config",
          sim.config_path,
          "TOML config ([model], [task], [integrator], seed); default: built-in MWG NM-RNN")
      ->check(CLI::ExistingFile);
  simulate->add_option("-o,--output", sim.output, "Run file to write (HDF5)")->required();
  int64_t seed = 0;
  std::string stepper;
  auto* seed_opt = simulate->add_option("--seed", seed, "Override the config's seed");
  auto* stepper_opt = simulate->add_option(
      "--stepper", stepper, "Override integrator.stepper (euler, rk4, dopri5)");
  bool print_default = false;
  simulate->add_flag(
      "--print-default-config", print_default, "Print the built-in default config and exit");

  ctrnn::cli::GradientArgs grad;
  grad.command_line = command_line;
  CLI::App* gradient = app.add_subcommand(
      "gradient", "Loss and exact gradient by adjoint sensitivity, written to a run file");
  gradient
      ->add_option("config",
                   grad.config_path,
                   "TOML config (also [loss], [gradient]); default: built-in MWG NM-RNN")
      ->check(CLI::ExistingFile);
  gradient->add_option("-o,--output", grad.output, "Run file to write (HDF5)")->required();
  int64_t grad_seed = 0;
  std::string grad_stepper, grad_method;
  auto* grad_seed_opt = gradient->add_option("--seed", grad_seed, "Override the config's seed");
  auto* grad_stepper_opt = gradient->add_option(
      "--stepper", grad_stepper, "Override integrator.stepper (euler, rk4, dopri5)");
  auto* grad_method_opt = gradient->add_option(
      "--method", grad_method, "Override gradient.method (discrete, interpolating)");
  gradient->add_flag("--check",
                     grad.check,
                     "Compare with central differences of the loss and print the worst error");

  ctrnn::cli::TrainArgs train;
  train.command_line = command_line;
  CLI::App* train_cmd = app.add_subcommand("train", "Train a model on a task from a config");
  train_cmd->add_option("config", train.config_path, "TOML config; default: built-in MWG NM-RNN")
      ->check(CLI::ExistingFile);
  train_cmd->add_option("-o,--output", train.output, "Run file to write (HDF5)");
  train_cmd->add_option("--resume", train.resume_path, "Continue the run in this file")
      ->check(CLI::ExistingFile);
  int64_t train_seed = 0, train_iterations = 0;
  auto* train_seed_opt = train_cmd->add_option("--seed", train_seed, "Override the config's seed");
  auto* train_iter_opt = train_cmd->add_option(
      "--iterations", train_iterations, "Override the iterations of a single-stage config");
  std::int64_t train_threads = 1;
  auto* train_threads_opt = train_cmd->add_option(
      "--threads",
      train_threads,
      "Override gradient.threads (the trials are cut into one block per thread unless "
      "gradient.trial_blocks is set)");

  ctrnn::cli::EvaluateArgs eval;
  eval.command_line = command_line;
  std::string eval_set;
  CLI::App* eval_cmd =
      app.add_subcommand("evaluate", "Evaluate a trained run: trajectories and task metrics");
  eval_cmd->add_option("file", eval.run_path, "Trained run file")->required();
  eval_cmd->add_option("-o,--output", eval.output, "Evaluation file to write (HDF5)")->required();
  eval_cmd->add_option("--set", eval_set, "Override task.set (e.g. extrapolation for MWG)");
  eval_cmd->add_flag("--best", eval.best, "Use the best parameters instead of the last");
  eval_cmd->add_option("--trials", eval.trials, "Trials to sample for sampling tasks");
  eval_cmd->add_option("--stepper",
                       eval.stepper,
                       "Override integrator.stepper (euler, rk4, dopri5), e.g. to run a network "
                       "trained in discrete time as the ODE");
  eval_cmd->add_option("--dt", eval.dt, "Override integrator.dt");
  eval_cmd->add_option("--clamp-s",
                       eval.clamp_s,
                       "NM-RNN ablation: K=VALUE holds s_K(t) at VALUE (repeatable; the paper's "
                       "ablation is K=0)");

  ctrnn::cli::RunArgs run;
  run.command_line = command_line;
  CLI::App* run_cmd =
      app.add_subcommand("run", "The main job: train the default NM-RNN on MWG, evaluate, plot");
  run_cmd->add_option("config", run.config_path, "TOML config; default: built-in")
      ->check(CLI::ExistingFile);
  run_cmd->add_option("-d,--dir", run.output_dir, "Output directory (default data/runs)");
  int64_t run_seed = 0;
  auto* run_seed_opt = run_cmd->add_option("--seed", run_seed, "Override the config's seed");

  ctrnn::cli::SweepArgs sweep;
  CLI::App* sweep_cmd = app.add_subcommand(
      "sweep", "Train configs x seeds in parallel, skipping finished runs and resuming others");
  sweep_cmd->add_option("configs", sweep.configs, "TOML configs")->required();
  sweep_cmd->add_option("--seeds", sweep.seeds, "Seeds, e.g. 0-9 or 0,3,5 (default 0)");
  sweep_cmd->add_option("-d,--dir", sweep.output_dir, "Output directory (default data/runs)");
  sweep_cmd->add_option("-j,--jobs", sweep.jobs, "Runs at a time (default: one per core)");
  sweep_cmd->add_flag("--dry-run", sweep.dry_run, "List the runs and their status only");
  sweep_cmd->add_option("--iterations",
                        sweep.iterations,
                        "Iterations of every new run (single-stage configs; a resumed run keeps "
                        "its own)");

  std::string info_path;
  CLI::App* info = app.add_subcommand("info", "Summarise a run file");
  info->add_option("file", info_path, "Run file (HDF5)")->required();

  ctrnn::cli::FixedPointsArgs fp;
  fp.command_line = command_line;
  CLI::App* fp_cmd = app.add_subcommand(
      "fixed-points",
      "Fixed and slow points of a run's model, linearised; adds /fixed_points to the run file");
  fp_cmd->add_option("file", fp.run_path, "Run file with /model and /trajectories")->required();
  fp_cmd->add_option("--input", fp.input, "Constant input u*, comma-separated (default: zeros)")
      ->delimiter(',');
  fp_cmd->add_option("--seeds", fp.seeds, "Seeds sampled from the trajectories (default 256)");
  fp_cmd->add_option("--noise", fp.noise, "Std. dev. of Gaussian noise on the seeds (default 0)");
  fp_cmd->add_option("--seed", fp.seed, "Random seed of the sampling (default 0)");
  fp_cmd->add_option("--tol-q", fp.tol_q, "q at or below which a point is fixed (default 1e-20)");
  fp_cmd->add_option("--slow-q",
                     fp.slow_q_threshold,
                     "q at or below which a point is kept as slow (default 1e-8)");
  fp_cmd->add_option("--max-iterations",
                     fp.max_iterations,
                     "Levenberg-Marquardt iterations per seed (default 200)");
  fp_cmd->add_option("--tol-unique",
                     fp.tol_unique,
                     "Points closer than this in every coordinate are one (default 1e-3)");
  fp_cmd->add_flag("--keep-outliers",
                   fp.keep_outliers,
                   "Keep points far from the seeds (default: drop beyond 10x their spread)");
  fp_cmd->add_flag(
      "--subspace", fp.subspace, "Search the low-rank subspace B u* + span(L) (low_rank, nm_rnn)");
  fp_cmd
      ->add_option("--frozen-s",
                   fp.frozen_s,
                   "NM-RNN: the x-network at this modulation s, comma-separated (R values)")
      ->delimiter(',');
  fp_cmd
      ->add_option("--linear-solver", fp.linear_solver, "LM step solver: cholesky (default) or qr")
      ->check(CLI::IsMember({"cholesky", "qr"}));
  fp_cmd->add_option("--dt", fp.dt, "Time per step of a discrete map, for timescales (default 1)");

  ctrnn::cli::TimescalesArgs ts;
  ts.command_line = command_line;
  CLI::App* ts_cmd = app.add_subcommand(
      "timescales", "Autocorrelation timescales tau_net of a run's model, into /timescales");
  ts_cmd->add_option("file", ts.run_path, "Run file (HDF5) with /model; gains /timescales")
      ->required();
  ts_cmd->add_option("--trials", ts.trials, "Independent trials (default 10)");
  ts_cmd->add_option("--steps", ts.steps, "Steps per trial (default 101000)");
  ts_cmd->add_option("--burn", ts.burn, "Initial states dropped (default 500)");
  ts_cmd->add_option("--max-lag", ts.max_lag, "Lags kept (default 200)");
  ts_cmd->add_option("--fit-lag", ts.fit_lag, "Last lag fitted (default 30)");
  ts_cmd->add_option("--tau-max", ts.tau_max, "Upper bound of fitted tau (default 100)");
  ts_cmd->add_option("--dt", ts.dt, "Euler step of continuous models (default 1)");
  ts_cmd->add_option("--seed", ts.seed, "Seed of inputs and initial states (default 0)");
  ts_cmd->add_option("--threads", ts.threads, "Worker threads (default: all cores)");

  ctrnn::cli::PcaArgs pca;
  pca.command_line = command_line;
  CLI::App* pca_cmd =
      app.add_subcommand("pca", "PCA of a run's trajectories (pooled over trials and times)");
  pca_cmd->add_option("file", pca.run_path, "Run file (HDF5) with /trajectories; gains /pca")
      ->required();
  pca_cmd->add_option("--block", pca.block, "State block to analyse (default: the whole state)");
  pca_cmd->add_option("--components", pca.components, "Components kept (default: all)");
  pca_cmd->add_option("--threshold", pca.threshold, "Explained-variance threshold (default 0.9)");

  // --print-default-config needs no output file.
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--print-default-config") {
      std::cout << ctrnn::cli::kDefaultSimulateConfig;
      return 0;
    }
  }
  CLI11_PARSE(app, argc, argv);
  try {
    if (simulate->parsed()) {
      if (*seed_opt) sim.seed = seed;
      if (*stepper_opt) sim.stepper = stepper;
      return ctrnn::cli::Simulate(sim);
    }
    if (gradient->parsed()) {
      if (*grad_seed_opt) grad.seed = grad_seed;
      if (*grad_stepper_opt) grad.stepper = grad_stepper;
      if (*grad_method_opt) grad.method = grad_method;
      return ctrnn::cli::Gradient(grad);
    }
    if (train_cmd->parsed()) {
      if (*train_seed_opt) train.seed = train_seed;
      if (*train_iter_opt) train.iterations = train_iterations;
      if (*train_threads_opt) train.threads = train_threads;
      return ctrnn::cli::Train(train);
    }
    if (eval_cmd->parsed()) {
      if (!eval_set.empty()) eval.task_overrides.emplace_back("set", eval_set);
      return ctrnn::cli::Evaluate(eval);
    }
    if (run_cmd->parsed()) {
      if (*run_seed_opt) run.seed = run_seed;
      return ctrnn::cli::Run(run);
    }
    if (sweep_cmd->parsed()) return ctrnn::cli::Sweep(sweep);
    if (info->parsed()) return ctrnn::cli::Info(info_path);
    if (fp_cmd->parsed()) return ctrnn::cli::FixedPointsCommand(fp);
    if (ts_cmd->parsed()) return ctrnn::cli::Timescales(ts);
    if (pca_cmd->parsed()) return ctrnn::cli::PcaCommand(pca);
  } catch (const std::exception& e) {
    std::cerr << "ctrnn: error: " << e.what() << "\n";
    return 2;
  }
  return 1;
}
