// Fixed-point search on a trained N = 100 network: Ceres Levenberg–Marquardt with the analytic
// Jacobian (FindFixedPoints) against the method of FixedPointFinder (Golub & Sussillo 2018): Adam
// on q(x) = ½‖f(x, u*)‖², jointly over all seeds (the mean of q), with its default schedule:
// AdaptiveLearningRate (initial rate 1, ×0.95 when the newest loss is worse than the 5 before it,
// ×1/0.95 after 5 strictly improving steps, at most one change per 5 steps), AdaptiveGradNormClip
// (clip the global gradient norm at the 95th percentile of the last 128 norms, initially 1e12),
// Adam with ε = 0.01, β = (0.9, 0.999) in TF1's form, and its stopping rule (every seed has
// q < tol_q or |Δq| < tol_dq · rate, tol_dq = 1e-20) with max_iters = 5000. Both run in double
// precision from the same seeds with tol_q = 1e-20.
//
// The network is read from the run file named by $CTRNN_FP_RUN (a trained run with
// /trajectories, e.g. from `ctrnn train` and `ctrnn evaluate`; scripts/bench-fixed-points.sh
// makes one). Counters:
// iterations (LM: summed over seeds; Adam: joint steps), seeds at q ≤ 1e-20, the largest and
// median final q.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "lib/archive.h"
#include "lib/random.h"
#include "solvers/fixed_points.h"

namespace ctrnn {
namespace {

constexpr double kTolQ = 1e-20;
constexpr Eigen::Index kSeeds = 32;

struct Network {
  std::unique_ptr<Model> model;
  Eigen::VectorXd u;
  Eigen::MatrixXd seeds;
  std::string error;
};

const Network& Trained() {
  static const Network net = [] {
    Network n;
    const char* path = std::getenv("CTRNN_FP_RUN");
    if (path == nullptr) {
      n.error = "set CTRNN_FP_RUN to a trained run file (scripts/bench-fixed-points.sh)";
      return n;
    }
    try {
      n.model = ReadModel(path);
      const Trajectory traj = ReadTrajectory(path, *n.model);
      Rng rng(1);
      n.seeds = SampleStates(traj, kSeeds, 0.0, &rng);
      n.u = Eigen::VectorXd::Zero(n.model->input_size());
      if (!n.model->is_continuous()) n.error = "the benchmark needs a continuous-time model";
    } catch (const std::exception& e) {
      n.error = e.what();
    }
    return n;
  }();
  return net;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Joint Adam on mean_k q(x_k), FixedPointFinder's defaults. Returns the final q per seed and the
// iterations taken.
struct AdamResult {
  Eigen::VectorXd q;
  std::int64_t iterations = 0;
};

AdamResult AdamOnQ(const ContinuousModel& model,
                   const Eigen::VectorXd& u,
                   const Eigen::MatrixXd& seeds,
                   std::int64_t max_iters,
                   bool dq_rule) {
  const Eigen::Index s = seeds.rows(), k = seeds.cols();
  const double beta1 = 0.9, beta2 = 0.999, epsilon = 0.01, tol_dq = 1e-20;
  Eigen::MatrixXd x = seeds, f(s, k), grad(s, k), m = Eigen::MatrixXd::Zero(s, k),
                  v = Eigen::MatrixXd::Zero(s, k);
  const Eigen::MatrixXd uu = u.replicate(1, k);
  Eigen::VectorXd g_theta = Eigen::VectorXd::Zero(model.num_params());
  Eigen::VectorXd q(k), q_prev = Eigen::VectorXd::Constant(k, std::nan(""));
  // AdaptiveLearningRate
  double rate = 1.0;
  std::int64_t step = 0, last_change = -1;
  std::vector<double> loss_log;
  // AdaptiveGradNormClip
  double clip = 1e12;
  std::vector<double> norm_log;
  std::int64_t clip_step = 0;
  AdamResult result;
  for (std::int64_t it = 1;; ++it) {
    model.Rhs(x, uu, f);
    q = 0.5 * f.colwise().squaredNorm().transpose();
    const double q_mean = q.mean();
    // ∇ mean_k q_k = Jᵀ f / K, column by column (the model's VJP, as autodiff would do).
    model.Vjp(x, uu, f, grad, g_theta);
    grad /= static_cast<double>(k);
    const double norm = grad.norm();
    if (norm > clip) grad *= clip / norm;
    // Adam (TF1 AdamOptimizer: bias correction folded into the rate, ε outside the root).
    m = beta1 * m + (1 - beta1) * grad;
    v = beta2 * v + (1 - beta2) * grad.cwiseAbs2();
    const double t = static_cast<double>(it);
    const double lr_t = rate * std::sqrt(1 - std::pow(beta2, t)) / (1 - std::pow(beta1, t));
    x.array() -= lr_t * m.array() / (v.array().sqrt() + epsilon);
    result.iterations = it;
    if (it > 1) {
      bool done = true;
      for (Eigen::Index j = 0; j < k; ++j) {
        done = done && ((dq_rule && std::abs(q(j) - q_prev(j)) < tol_dq * rate) || q(j) < kTolQ);
      }
      if (done || it + 1 > max_iters) break;
    }
    q_prev = q;
    // AdaptiveLearningRate.update(q_mean)
    loss_log.push_back(q_mean);
    const std::int64_t n = 5;
    if (step == 0) {
      rate = 1.0;
      last_change = 0;
    } else if (step >= last_change + n) {
      const std::size_t end = loss_log.size();
      const std::size_t begin = end >= static_cast<std::size_t>(n + 1) ? end - (n + 1) : 0;
      bool worse_than_all = true, improving = true;
      for (std::size_t i = begin; i + 1 < end; ++i) {
        worse_than_all = worse_than_all && loss_log[end - 1] > loss_log[i];
        improving = improving && loss_log[i + 1] < loss_log[i];
      }
      if (worse_than_all) {
        rate *= 0.95;
        last_change = step;
      } else if (improving) {
        rate /= 0.95;
        last_change = step;
      }
    }
    ++step;
    // AdaptiveGradNormClip.update(norm)
    if (norm_log.size() < 128) {
      norm_log.push_back(norm);
    } else {
      norm_log[static_cast<std::size_t>(clip_step % 128)] = norm;
    }
    ++clip_step;
    std::vector<double> sorted = norm_log;
    std::sort(sorted.begin(), sorted.end());
    const double pos = 0.95 * static_cast<double>(sorted.size() - 1);  // numpy's linear rule
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
    clip = std::min(1e12, sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]));
  }
  // The final iterate's q (the loop's q was taken before the last step).
  model.Rhs(x, uu, f);
  result.q = 0.5 * f.colwise().squaredNorm().transpose();
  return result;
}

void Report(benchmark::State& state, const Eigen::VectorXd& q, double iterations) {
  state.counters["solver_iterations"] = iterations;
  state.counters["seeds"] = static_cast<double>(q.size());
  state.counters["seeds_at_tol"] = static_cast<double>((q.array() <= kTolQ).count());
  state.counters["max_q"] = q.maxCoeff();
  state.counters["median_q"] = Median(std::vector<double>(q.data(), q.data() + q.size()));
}

void BM_FixedPointsCeresLm(benchmark::State& state, FixedPointLinearSolver solver, bool subspace) {
  const Network& net = Trained();
  if (!net.error.empty()) {
    state.SkipWithError(net.error.c_str());
    return;
  }
  FixedPointOptions options;
  options.linear_solver = solver;
  options.subspace = subspace;
  options.tol_q = kTolQ;
  options.slow_q_threshold = std::numeric_limits<double>::infinity();  // keep all: report every q
  options.tol_unique = 0.0;
  options.exclude_distance_outliers = false;
  FixedPoints fps;
  FixedPointSummary s;
  for (auto _ : state) {
    s = FindFixedPoints(*net.model, net.u, net.seeds, options, &fps);
    benchmark::DoNotOptimize(fps.qstar.data());
  }
  Report(state, fps.qstar, static_cast<double>(s.total_iterations));
  state.counters["fixed"] = static_cast<double>(s.num_fixed);
}
// The default (Cholesky of the normal equations), QR, and the default in the subspace
// B u* + span(L) (for the NM-RNN: z free, x in span(L); M + R = 8 unknowns instead of 105).
BENCHMARK_CAPTURE(BM_FixedPointsCeresLm,
                  cholesky,
                  FixedPointLinearSolver::kDenseNormalCholesky,
                  false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FixedPointsCeresLm, qr, FixedPointLinearSolver::kDenseQr, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FixedPointsCeresLm,
                  subspace,
                  FixedPointLinearSolver::kDenseNormalCholesky,
                  true)
    ->Unit(benchmark::kMillisecond);

// FixedPointFinder's iteration budget (max_iters = 5000) and stopping rule; and, to see whether and
// when Adam reaches the tolerance at all, ten times the budget with the q test alone.
void BM_FixedPointsAdamOnQ(benchmark::State& state) {
  const Network& net = Trained();
  if (!net.error.empty()) {
    state.SkipWithError(net.error.c_str());
    return;
  }
  const auto& model = static_cast<const ContinuousModel&>(*net.model);
  AdamResult r;
  for (auto _ : state) {
    r = AdamOnQ(model, net.u, net.seeds, state.range(0), state.range(1) != 0);
    benchmark::DoNotOptimize(r.q.data());
  }
  Report(state, r.q, static_cast<double>(r.iterations));
}
BENCHMARK(BM_FixedPointsAdamOnQ)
    ->ArgNames({"max_iters", "dq_rule"})
    ->Args({5000, 1})
    ->Args({50000, 0})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ctrnn
