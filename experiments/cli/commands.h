// The `ctrnn` subcommands. Each returns the process exit code; errors are thrown as exceptions
// (std::invalid_argument for bad input, std::runtime_error for I/O) and reported by main.
#ifndef CTRNN_EXPERIMENTS_CLI_COMMANDS_H_
#define CTRNN_EXPERIMENTS_CLI_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

namespace ctrnn::cli {

// The built-in default run: the NM-RNN of the MWG experiment (N = 100, R = 3, M = 5) on the 40 MWG
// training trials, forward Euler at dt = 1 (the paper's discrete-time model).
extern const char kDefaultSimulateConfig[];

struct SimulateArgs {
  std::string config_path;  // empty: the built-in default
  std::string output;
  std::optional<std::int64_t> seed;
  std::optional<std::string> stepper;
  std::string command_line;
};

// Builds the model and the task from the config, integrates, and writes one run file with the
// resolved config, the model, the batch and the trajectories (x, z, y and s for the NM-RNN).
int Simulate(const SimulateArgs& args);
struct GradientArgs {
  std::string config_path;  // empty: the built-in default
  std::string output;
  std::optional<std::int64_t> seed;
  std::optional<std::string> stepper;
  std::optional<std::string> method;  // "discrete" | "interpolating"
  bool check = false;
  std::string command_line;
};

// Loss and gradient of the config's model on its task batch (default: the MWG NM-RNN, masked
// MSE, discrete adjoint of forward Euler). Writes /model, /batch, /loss and /gradient/<block>;
// with check, also /finite_difference/<block> and prints the worst relative error.
int Gradient(const GradientArgs& args);

struct TrainArgs {
  std::string config_path;  // empty: the built-in default (or the resumed file's config)
  std::string output;       // empty with resume: the resumed file
  std::string resume_path;
  std::optional<std::int64_t> seed;
  std::optional<std::int64_t> iterations;  // override (single-stage configs)
  std::optional<std::int64_t> threads;     // override gradient.threads
  std::string command_line;
};
// Trains from a config with progress lines, checkpoints into the run file (atomically), and
// resumes from one to the same numbers as an uninterrupted run.
int Train(const TrainArgs& args);

struct EvaluateArgs {
  std::string run_path;
  std::string output;
  std::vector<std::pair<std::string, std::string>> task_overrides;  // e.g. {"set", "extrapolation"}
  bool best = false;                 // the best parameters instead of the last
  Eigen::Index trials = 256;         // for tasks that sample
  std::string stepper;               // non-empty: overrides integrator.stepper
  std::optional<double> dt;          // overrides integrator.dt
  std::vector<std::string> clamp_s;  // "K=VALUE": the NM-RNN with s_K ≡ VALUE
  std::string command_line;
};
// Integrates a trained run's model on its task and writes trajectories and metrics to a new file.
int Evaluate(const EvaluateArgs& args);

struct RunArgs {
  std::string config_path;
  std::string output_dir = "data/runs";
  std::optional<std::int64_t> seed;
  std::string command_line;
};
// The main job: trains the default NM-RNN on MWG, evaluates it on the trained and extrapolated
// intervals, and plots the loss curve, outputs against targets and s(t).
int Run(const RunArgs& args);

struct SweepArgs {
  std::vector<std::string> configs;
  std::string seeds = "0";  // "0-9", "0,3,5"
  std::string output_dir = "data/runs";
  std::int64_t jobs = 0;  // runs at a time; 0: one per core
  bool dry_run = false;
  std::optional<std::int64_t> iterations;  // new runs: `ctrnn train --iterations`
};
// Trains every config with every seed, `jobs` `ctrnn train` processes at a time, one run file
// <dir>/<config stem>_seed<k>.h5 (and its .log) each. A run whose file says it finished is
// skipped, a checkpointed one is resumed (`ctrnn train --resume`), so an interrupted sweep
// continues where it stopped. Each run file records its wall-clock time (/meta wall_clock_s).
int Sweep(const SweepArgs& args);

// Prints a summary of a run file.
int Info(const std::string& path);

struct FixedPointsArgs {
  std::string run_path;
  std::vector<double> input;     // u*; empty: zeros
  std::vector<double> frozen_s;  // NM-RNN: search the x-network at this s (R values)
  Eigen::Index seeds = 256;      // states sampled from /trajectories
  double noise = 0.0;            // N(0, noise²) added to each seed entry
  std::uint64_t seed = 0;        // of the sampling and the noise
  double tol_q = 1e-20;
  double slow_q_threshold = 1e-8;
  std::int64_t max_iterations = 200;
  double tol_unique = 1e-3;
  bool keep_outliers = false;              // skip the distance-outlier exclusion
  bool subspace = false;                   // low-rank subspace search
  std::string linear_solver = "cholesky";  // "cholesky" | "qr"
  double dt = 1.0;                         // time per step of a discrete map (timescales)
  std::string command_line;
};
// Fixed and slow points of a run's model under constant input u*, seeded from its trajectories,
// with their Jacobians, eigen-decompositions, stability and timescales; adds (or replaces)
// /fixed_points in the run file, atomically; every other object is left as it was. Exit code 0 if a
// point was kept, 3 if none. A file that lacks what the command needs (not a run file, no /model or
// /trajectories, a model kind the options do not apply to) throws naming the file and the object,
// and the file is not modified.
int FixedPointsCommand(const FixedPointsArgs& args);

struct TimescalesArgs {
  std::string run_path;
  Eigen::Index trials = 10;
  std::int64_t steps = 101'000;
  std::int64_t burn = 500;
  Eigen::Index max_lag = 200;
  Eigen::Index fit_lag = 30;
  double tau_max = 100.0;
  double dt = 1.0;
  std::uint64_t seed = 0;
  int threads = 0;
  std::string command_line;
};
// τ_net of every unit of the run's model (timescales spec §5.2) written to /timescales of the run
// file (analysis_ts_commands.cc), replacing an existing /timescales.
int Timescales(const TimescalesArgs& args);

struct PcaArgs {
  std::string run_path;
  std::string block;  // empty: the whole state
  Eigen::Index components = 0;
  double threshold = 0.9;
  std::string command_line;
};
// PCA of the run's /trajectories, written to /pca of the run file (replacing an existing one).
int PcaCommand(const PcaArgs& args);

}  // namespace ctrnn::cli

#endif  // CTRNN_EXPERIMENTS_CLI_COMMANDS_H_
