// `ctrnn timescales` and `ctrnn pca`: analyses of a run file's model and trajectories, written
// back into the same file as /timescales and /pca (lib/archive.h AddGroupsToRun: atomic, every
// other object untouched). A file that lacks what an analysis needs is reported, naming the file
// and the object, and left byte-identical.
#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "experiments/cli/commands.h"
#include "lib/archive.h"
#include "lib/model.h"
#include "solvers/autocorrelation.h"
#include "solvers/pca.h"

namespace ctrnn::cli {
namespace {

ArchiveArray Matrix(const std::string& name, const Eigen::MatrixXd& m) {
  ArchiveArray a;
  a.name = name;
  a.shape = {static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())};
  a.data.reserve(a.shape[0] * a.shape[1]);
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    for (Eigen::Index j = 0; j < m.cols(); ++j) a.data.push_back(m(i, j));
  }
  return a;
}

ArchiveArray Int64Vector(const std::string& name, const Eigen::VectorXi& v) {
  ArchiveArray a;
  a.name = name;
  a.type = ArchiveArray::Type::kInt64;
  a.shape = {static_cast<std::size_t>(v.size())};
  for (Eigen::Index i = 0; i < v.size(); ++i) a.data.push_back(static_cast<double>(v(i)));
  return a;
}

// The model of a run file, with the file and object named in any error.
std::unique_ptr<Model> LoadModel(const std::string& command, const std::string& path) {
  try {
    return ReadModel(path);
  } catch (const std::exception& e) {
    throw std::runtime_error(command + ": cannot read the model of '" + path + "': " + e.what());
  }
}

}  // namespace

int Timescales(const TimescalesArgs& args) {
  const std::unique_ptr<Model> model = LoadModel("ctrnn timescales", args.run_path);
  TimescalesOptions options;
  options.trials = args.trials;
  options.steps = args.steps;
  options.burn = args.burn;
  options.max_lag = args.max_lag;
  options.fit.fit_lag = args.fit_lag;
  options.fit.tau_max = args.tau_max;
  options.dt = args.dt;
  options.seed = args.seed;
  options.num_threads = args.threads;
  if (model->input_size() != 1) {
    throw std::invalid_argument("ctrnn timescales: '" + args.run_path + "' /model is kind '" +
                                model->kind() + "' with input_size " +
                                std::to_string(model->input_size()) +
                                "; the timescales spec §5.2 input is one digit channel");
  }
  TimescalesResult r;
  const TimescalesSummary summary = NetworkTimescales(*model, options, &r);
  std::cout << summary.BriefReport() << "\n";
  if (!summary.ok()) {
    std::cout << "nothing written to " << args.run_path << "\n";
    return 3;
  }

  // The figures' aggregate: mean and std of τ_net over the units with τ_net > 1.
  double sum = 0.0, sum_sq = 0.0;
  for (Eigen::Index i = 0; i < r.tau_net.size(); ++i) {
    if (r.tau_net(i) > 1.0) {
      sum += r.tau_net(i);
      sum_sq += r.tau_net(i) * r.tau_net(i);
    }
  }
  const double count = static_cast<double>(summary.num_tau_above_1);
  const double mean = count > 0 ? sum / count : std::nan("");
  const double std_dev =
      count > 0 ? std::sqrt(std::max(0.0, sum_sq / count - mean * mean)) : std::nan("");

  ArchiveGroup g;
  g.name = "timescales";
  std::string blocks;
  for (const auto& b : model->state_blocks()) blocks += (blocks.empty() ? "" : ",") + b.name;
  g.attributes = {
      {"method",
       std::string("timescales spec 5.2: FFT autocorrelation, bounded exponential fits, AIC")},
      {"units", std::string("every state variable, in /model state order: ") + blocks},
      {"lag_unit",
       std::string("steps (one input digit each; dt time units for continuous models)")},
      {"trials", std::int64_t{args.trials}},
      {"steps", std::int64_t{args.steps}},
      {"burn", std::int64_t{args.burn}},
      {"series_length", std::int64_t{summary.series_length}},
      {"max_lag", std::int64_t{args.max_lag}},
      {"fit_lag", std::int64_t{args.fit_lag}},
      {"tau_max", args.tau_max},
      {"dt", args.dt},
      {"seed", static_cast<std::int64_t>(args.seed)},
      {"aic", std::string("2q + n ln(RSS/n); failed fit 1e5")},
      {"num_tau_net_above_1", std::int64_t{summary.num_tau_above_1}},
      {"mean_tau_net_above_1", mean},
      {"std_tau_net_above_1", std_dev},
      {"num_single", std::int64_t{summary.num_single}},
      {"num_double", std::int64_t{summary.num_double}},
      {"num_ties", std::int64_t{summary.num_ties}},
      {"population_tau_net", r.population_fit.tau_net},
      {"population_choice", static_cast<std::int64_t>(r.population_fit.choice)},
      {"simulate_seconds", summary.simulate_seconds},
      {"autocorrelation_seconds", summary.autocorrelation_seconds},
      {"fit_seconds", summary.fit_seconds},
      {"command", args.command_line},
  };
  g.vectors = {{"tau_net", r.tau_net},
               {"aic_single", r.aic_single},
               {"aic_double", r.aic_dual},
               {"population_ac", r.population_ac},
               {"population_fit_single", Eigen::VectorXd(r.population_fit.single)},
               {"population_fit_double", Eigen::VectorXd(r.population_fit.dual)},
               {"p", r.p}};
  g.arrays = {Matrix("ac", r.ac),
              Matrix("fit_single", r.single),
              Matrix("fit_double", r.dual),
              Int64Vector("choice", r.choice)};
  AddGroupsToRun(args.run_path, {g}, /*replace=*/true);
  std::cout << "tau_net > 1 in " << summary.num_tau_above_1 << " of " << summary.num_units
            << " units: mean " << mean << ", std " << std_dev << "\nwrote /timescales to "
            << args.run_path << "\n";
  return 0;
}

int PcaCommand(const PcaArgs& args) {
  const std::unique_ptr<Model> model = LoadModel("ctrnn pca", args.run_path);
  Trajectory trajectory;
  try {
    trajectory = ReadTrajectory(args.run_path, *model);
  } catch (const std::exception& e) {
    throw std::runtime_error("ctrnn pca: '" + args.run_path +
                             "' has no usable /trajectories to analyse: " + e.what());
  }
  // The whole state, or one named block of it (e.g. x of an NM-RNN).
  Eigen::Index offset = 0, size = model->state_size();
  std::string block = "all";
  if (!args.block.empty()) {
    bool found = false;
    std::string names;
    for (const auto& b : model->state_blocks()) {
      names += (names.empty() ? "" : ", ") + b.name;
      if (b.name == args.block) {
        offset = b.offset;
        size = b.size;
        found = true;
      }
    }
    if (!found) {
      throw std::invalid_argument("ctrnn pca: --block " + args.block + ": '" + args.run_path +
                                  "' /model has state blocks " + names);
    }
    block = args.block;
  }
  std::vector<Eigen::MatrixXd> states;
  states.reserve(trajectory.states.size());
  for (const auto& s : trajectory.states) states.push_back(s.middleRows(offset, size));
  PcaOptions options;
  options.num_components = args.components;
  options.threshold = args.threshold;
  PcaResult r;
  const PcaSummary summary = Pca(states, options, &r);

  ArchiveGroup g;
  g.name = "pca";
  g.attributes = {
      {"method", std::string("centred PCA of the states pooled over trials and times")},
      {"block", block},
      {"samples", std::int64_t{summary.samples}},
      {"total_variance", summary.total_variance},
      {"threshold", args.threshold},
      {"dimensionality", std::int64_t{r.dimensionality}},
      {"spec_dim", std::int64_t{r.dimensionality - 1}},
      {"command", args.command_line},
  };
  g.vectors = {{"mean", r.mean},
               {"explained_variance", r.explained_variance},
               {"explained_variance_ratio", r.explained_variance_ratio}};
  g.arrays = {Matrix("components", r.components)};
  AddGroupsToRun(args.run_path, {g}, /*replace=*/true);
  std::cout << summary.BriefReport() << "\nwrote /pca to " << args.run_path << "\n";
  return 0;
}

}  // namespace ctrnn::cli
