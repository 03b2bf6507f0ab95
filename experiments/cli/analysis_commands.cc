// ctrnn fixed-points: fixed and slow points of a run's model and their linearisation, written into
// the run file as /fixed_points (data/SCHEMA.md) without touching anything else in it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "experiments/cli/commands.h"
#include "lib/archive.h"
#include "lib/models/nm_rnn.h"
#include "lib/random.h"
#include "solvers/fixed_points.h"
#include "solvers/linearize.h"

namespace ctrnn::cli {
namespace {

std::string Join(const Eigen::VectorXd& v) {
  std::ostringstream out;
  out.precision(17);
  for (Eigen::Index i = 0; i < v.size(); ++i) out << (i ? "," : "") << v(i);
  return out.str();
}

// K points stored as the columns of an S x K matrix -> dataset (K, S), row-major.
ArchiveArray PointsArray(const std::string& name, const Eigen::MatrixXd& columns) {
  ArchiveArray a;
  a.name = name;
  a.shape = {static_cast<std::size_t>(columns.cols()), static_cast<std::size_t>(columns.rows())};
  a.data.assign(columns.data(), columns.data() + columns.size());  // column-major == (K, S) C
  return a;
}

ArchiveArray VectorArray(const std::string& name,
                         const std::vector<double>& values,
                         ArchiveArray::Type type) {
  ArchiveArray a;
  a.name = name;
  a.shape = {values.size()};
  a.data = values;
  a.type = type;
  return a;
}

// K vectors of length S -> dataset (K, S); K matrices S x S -> dataset (K, S, S) with
// [k, i, j] = M_k(i, j). Complex entries become kComplex128 (interleaved re, im).
template <typename Item>
ArchiveArray Stack(const std::string& name, const std::vector<Item>& items, Eigen::Index s) {
  constexpr bool kComplex = !std::is_same_v<typename Item::Scalar, double>;
  constexpr bool kVectors = Item::ColsAtCompileTime == 1;
  ArchiveArray a;
  a.name = name;
  a.type = kComplex ? ArchiveArray::Type::kComplex128 : ArchiveArray::Type::kFloat64;
  a.shape = {items.size(), static_cast<std::size_t>(s)};
  if (!kVectors) a.shape.push_back(static_cast<std::size_t>(s));
  const Eigen::Index cols = kVectors ? 1 : s;
  for (const Item& m : items) {
    for (Eigen::Index i = 0; i < s; ++i) {
      for (Eigen::Index j = 0; j < cols; ++j) {
        if constexpr (kComplex) {
          a.data.push_back(m(i, j).real());
          a.data.push_back(m(i, j).imag());
        } else {
          a.data.push_back(m(i, j));
        }
      }
    }
  }
  return a;
}

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw std::invalid_argument("ctrnn fixed-points: '" + path + "': " + what);
}

}  // namespace

int FixedPointsCommand(const FixedPointsArgs& args) {
  const std::string& path = args.run_path;
  const auto fail = [&](const std::string& what) { Fail(path, what); };
  // Everything that can be wrong with the file or the arguments is checked before the search, and
  // the file is written only at the end, atomically.
  const std::unique_ptr<Model> model = ReadModel(path);
  Eigen::VectorXd u = Eigen::VectorXd::Zero(model->input_size());
  if (!args.input.empty()) {
    if (static_cast<Eigen::Index>(args.input.size()) != model->input_size()) {
      fail("--input has " + std::to_string(args.input.size()) +
           " values, the model (/model, kind \"" + model->kind() + "\") has input_size " +
           std::to_string(model->input_size()));
    }
    u = Eigen::Map<const Eigen::VectorXd>(args.input.data(),
                                          static_cast<Eigen::Index>(args.input.size()));
  }
  FixedPointOptions options;
  options.tol_q = args.tol_q;
  options.slow_q_threshold = std::max(args.slow_q_threshold, args.tol_q);
  options.max_iterations = args.max_iterations;
  options.tol_unique = args.tol_unique;
  options.exclude_distance_outliers = !args.keep_outliers;
  options.subspace = args.subspace;
  if (args.linear_solver == "qr") {
    options.linear_solver = FixedPointLinearSolver::kDenseQr;
  } else if (args.linear_solver != "cholesky") {
    fail("--linear-solver is \"" + args.linear_solver + "\", expected cholesky or qr");
  }
  if (!args.frozen_s.empty()) {
    options.frozen_s = Eigen::Map<const Eigen::VectorXd>(
        args.frozen_s.data(), static_cast<Eigen::Index>(args.frozen_s.size()));
  }
  try {
    options.Validate();
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }
  if (options.frozen_s.size() > 0) {
    const auto* nm = dynamic_cast<const NmRnn*>(model.get());
    if (nm == nullptr) {
      Fail(path, "--frozen-s needs an NM-RNN, but /model has kind \"" + model->kind() + "\"");
    }
    if (options.frozen_s.size() != nm->options().rank) {
      fail("--frozen-s has " + std::to_string(options.frozen_s.size()) +
           " values, the NM-RNN in /model needs R = " + std::to_string(nm->options().rank) +
           " values");
    }
  }
  if (options.subspace && model->kind() != "nm_rnn" && model->kind() != "low_rank") {
    fail(
        "--subspace needs a low-rank model (kind \"low_rank\" or \"nm_rnn\"), but /model has "
        "kind \"" +
        model->kind() + "\"");
  }
  if (args.seeds < 1) fail("--seeds must be >= 1");
  if (!(args.noise >= 0.0)) fail("--noise must be >= 0");
  if (!(args.dt > 0.0) || !std::isfinite(args.dt)) fail("--dt must be finite and > 0");

  const Trajectory trajectory = ReadTrajectory(path, *model);
  if (trajectory.states.empty()) fail("/trajectories holds no recorded times to seed from");
  Rng rng(args.seed);
  Eigen::MatrixXd seeds = SampleStates(trajectory, args.seeds, args.noise, &rng);
  std::string state_name;
  if (options.frozen_s.size() > 0) {
    for (const StateBlock& b : model->state_blocks()) {
      if (b.name == "x") seeds = Eigen::MatrixXd(seeds.middleRows(b.offset, b.size));
    }
    state_name = "x";
  } else {
    for (const StateBlock& b : model->state_blocks()) {
      state_name += (state_name.empty() ? "" : ",") + b.name;
    }
  }

  const auto start = std::chrono::steady_clock::now();
  FixedPoints fps;
  const FixedPointSummary summary = FindFixedPoints(*model, u, seeds, options, &fps);
  LinearizeOptions lin_options;
  lin_options.discrete = fps.discrete;
  lin_options.dt = args.dt;
  Linearization lin;
  const LinearizeSummary lin_summary = Linearize(fps.J_xstar, lin_options, &lin);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const Eigen::Index s = fps.xstar.rows();
  const auto k = static_cast<std::size_t>(fps.xstar.cols());
  ArchiveGroup group;
  group.name = "fixed_points";
  group.attributes = {
      {"command", args.command_line},
      {"convention", lin.convention},
      {"state", state_name},
      {"search", std::string(options.subspace ? "subspace" : "full")},
      {"system",
       std::string(options.frozen_s.size() > 0 ? "x-network at frozen s"
                                               : (fps.discrete ? "map" : "ode"))},
      {"input", Join(u)},
      {"frozen_s", Join(options.frozen_s)},
      {"tol_q", options.tol_q},
      {"slow_q_threshold", options.slow_q_threshold},
      {"max_iterations", options.max_iterations},
      {"function_tolerance", options.function_tolerance},
      {"linear_solver", args.linear_solver},
      {"tol_unique", options.tol_unique},
      {"do_exclude_distance_outliers", std::int64_t{options.exclude_distance_outliers}},
      {"outlier_distance_scale", options.outlier_distance_scale},
      {"n_seeds", summary.num_seeds},
      {"seed", static_cast<std::int64_t>(args.seed)},
      {"noise", args.noise},
      {"dt", lin_options.dt},
      {"num_fixed", summary.num_fixed},
      {"num_slow", summary.num_slow},
      {"num_above_slow", summary.num_above_slow},
      {"num_duplicates", summary.num_duplicates},
      {"num_outliers", summary.num_outliers},
      {"total_iterations", summary.total_iterations},
      {"report", summary.BriefReport()},
      {"seconds", seconds}};
  group.vectors = {{"u_star", u}};
  if (options.frozen_s.size() > 0) group.vectors.emplace_back("frozen_s", options.frozen_s);
  Eigen::MatrixXd inputs = u.replicate(1, static_cast<Eigen::Index>(k));
  std::vector<double> n_iters, is_fixed, is_stable;
  for (std::size_t j = 0; j < k; ++j) {
    n_iters.push_back(static_cast<double>(fps.n_iters[j]));
    is_fixed.push_back(fps.is_fixed[j] ? 1.0 : 0.0);
    is_stable.push_back(lin.is_stable[j] ? 1.0 : 0.0);
  }
  group.arrays.push_back(PointsArray("xstar", fps.xstar));
  group.arrays.push_back(PointsArray("x_init", fps.x_init));
  group.arrays.push_back(PointsArray("F_xstar", fps.F_xstar));
  group.arrays.push_back(PointsArray("inputs", inputs));
  group.arrays.push_back(
      VectorArray("qstar",
                  std::vector<double>(fps.qstar.data(), fps.qstar.data() + fps.qstar.size()),
                  ArchiveArray::Type::kFloat64));
  group.arrays.push_back(
      VectorArray("dq",
                  std::vector<double>(fps.dq.data(), fps.dq.data() + fps.dq.size()),
                  ArchiveArray::Type::kFloat64));
  group.arrays.push_back(VectorArray("n_iters", n_iters, ArchiveArray::Type::kInt64));
  group.arrays.push_back(VectorArray("is_fixed", is_fixed, ArchiveArray::Type::kBool));
  group.arrays.push_back(Stack("J_xstar", fps.J_xstar, s));
  group.arrays.push_back(Stack("eigval_J_xstar", lin.eigenvalues, s));
  group.arrays.push_back(Stack("eigvec_J_xstar", lin.eigenvectors, s));
  group.arrays.push_back(VectorArray("is_stable", is_stable, ArchiveArray::Type::kBool));
  group.arrays.push_back(Stack("timescales", lin.timescales, s));
  AddGroupsToRun(path, {group}, /*replace=*/true);

  std::cout << summary.message << "\n"
            << summary.BriefReport() << "\n"
            << lin_summary.BriefReport() << " (" << seconds * 1e3 << " ms)\n";
  for (std::size_t j = 0; j < k; ++j) {
    const Eigen::Index c = static_cast<Eigen::Index>(j);
    std::cout << "  point " << j << ": " << (fps.is_fixed[j] ? "fixed" : "slow ") << " q "
              << fps.qstar(c) << ", " << (lin.is_stable[j] ? "stable" : "unstable")
              << ", slowest timescale " << lin.timescales[j](0) << "\n";
  }
  std::cout << "wrote /fixed_points to " << path << "\n";
  return summary.ok() ? 0 : 3;
}

}  // namespace ctrnn::cli
