#include "solvers/autocorrelation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <functional>
#include <limits>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <ceres/ceres.h>
#include <fftw3.h>

#include "lib/random.h"
#include "solvers/parallel.h"

namespace ctrnn {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// FFTW's planner is not thread-safe (fftw_execute_* on an existing plan is).
std::mutex& PlannerMutex() {
  static std::mutex mutex;
  return mutex;
}

struct FftwFree {
  void operator()(void* p) const { fftw_free(p); }
};
template <typename T>
using FftwBuffer = std::unique_ptr<T[], FftwFree>;

template <typename T>
FftwBuffer<T> FftwAlloc(Eigen::Index count) {
  void* p = fftw_malloc(sizeof(T) * static_cast<std::size_t>(count));
  if (p == nullptr) throw std::bad_alloc();
  return FftwBuffer<T>(static_cast<T*>(p));
}

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// SplitMix64 of (seed, stream): independent, well-mixed seeds for per-trial generators.
std::uint64_t StreamSeed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// exp(−k/τ) and its τ-derivative k/τ² exp(−k/τ), with the τ → 0+ limits (1 and 0 at k = 0,
// 0 and 0 for k > 0) and no overflow of k/τ².
void DecayTerm(double k, double tau, double* value, double* d_tau) {
  if (k == 0.0) {
    *value = 1.0;
    *d_tau = 0.0;
    return;
  }
  const double ratio = k / tau;  // +inf at τ = 0
  if (!(ratio < 700.0)) {
    *value = 0.0;
    *d_tau = 0.0;
    return;
  }
  *value = std::exp(-ratio);
  *d_tau = *value * ratio / tau;
}

// Residuals y_model(k) − y(k) for k = 0 … m − 1; jacobian rows are the model's gradient
// (row-major, as Ceres lays it out).
class ExponentialCost final : public ceres::CostFunction {
 public:
  ExponentialCost(const double* y, int m, int q) : y_(y), m_(m), q_(q) {
    set_num_residuals(m);
    mutable_parameter_block_sizes()->push_back(q);
  }

  bool Evaluate(double const* const* parameters,
                double* residuals,
                double** jacobians) const override {
    const Eigen::Map<const Eigen::VectorXd> p(parameters[0], q_);
    Eigen::VectorXd grad;
    for (int k = 0; k < m_; ++k) {
      const bool want = jacobians != nullptr && jacobians[0] != nullptr;
      residuals[k] = ExponentialModel(p, static_cast<double>(k), want ? &grad : nullptr) - y_[k];
      if (!std::isfinite(residuals[k])) return false;
      if (want) {
        for (int j = 0; j < q_; ++j) jacobians[0][k * q_ + j] = grad(j);
      }
    }
    return true;
  }

 private:
  const double* y_;
  int m_, q_;
};

// One bounded fit from p0 = all ones; returns whether Ceres' solution is usable and finite.
bool FitOne(const Eigen::VectorXd& y,
            int q,
            const ExponentialFitOptions& options,
            Eigen::VectorXd* params,
            double* rss) {
  params->setOnes(q);
  ceres::Problem::Options problem_options;
  ceres::Problem problem(problem_options);
  const int m = static_cast<int>(y.size());
  problem.AddResidualBlock(new ExponentialCost(y.data(), m, q), nullptr, params->data());
  // (a, τ) or (a, c, τ1, τ2): a and c in [0, 1], every τ in [0, tau_max].
  for (int j = 0; j < q; ++j) {
    const bool is_tau = (q == 2 && j == 1) || (q == 4 && j >= 2);
    problem.SetParameterLowerBound(params->data(), j, 0.0);
    problem.SetParameterUpperBound(params->data(), j, is_tau ? options.tau_max : 1.0);
  }
  ceres::Solver::Options solver;
  solver.minimizer_type = ceres::TRUST_REGION;
  solver.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  solver.linear_solver_type = ceres::DENSE_QR;
  solver.max_num_iterations = options.max_iterations;
  solver.function_tolerance = options.function_tolerance;
  solver.parameter_tolerance = options.parameter_tolerance;
  solver.gradient_tolerance = options.gradient_tolerance;
  solver.num_threads = 1;
  solver.logging_type = ceres::SILENT;
  solver.minimizer_progress_to_stdout = false;
  ceres::Solver::Summary summary;
  ceres::Solve(solver, &problem, &summary);
  if (!summary.IsSolutionUsable() || !params->allFinite()) return false;
  double sum = 0.0;
  for (int k = 0; k < m; ++k) {
    const double r = ExponentialModel(*params, static_cast<double>(k), nullptr) - y(k);
    sum += r * r;
  }
  *rss = sum;
  return std::isfinite(sum);
}

}  // namespace

// ---- autocorrelation ------------------------------------------------------------------------

struct AutocorrelationFft::Plans {
  fftw_plan forward = nullptr;   // r2c, length 2L
  fftw_plan backward = nullptr;  // c2r, length 2L
  ~Plans() {
    std::lock_guard<std::mutex> lock(PlannerMutex());
    if (forward != nullptr) fftw_destroy_plan(forward);
    if (backward != nullptr) fftw_destroy_plan(backward);
  }
};

AutocorrelationFft::AutocorrelationFft(Eigen::Index n, Eigen::Index max_lag)
    : n_(n), max_lag_(max_lag) {
  if (max_lag < 1 || n < max_lag + 1) {
    throw std::invalid_argument("AutocorrelationFft: need 1 <= max_lag <= n - 1 (n = " +
                                std::to_string(n) + ", max_lag = " + std::to_string(max_lag) + ")");
  }
  // Blocks of 2^k ≥ max_lag values, at least 1024 (or the series) long: 2L-point transforms
  // stay in cache, which measured several times faster than one transform of length ≥ 2n.
  block_ = 1;
  const Eigen::Index want = std::max(max_lag, std::min<Eigen::Index>(1024, n));
  while (block_ < want) block_ *= 2;
  const Eigen::Index p = 2 * block_;
  auto in = FftwAlloc<double>(p);
  auto out = FftwAlloc<fftw_complex>(p / 2 + 1);
  plans_ = std::make_unique<Plans>();
  std::lock_guard<std::mutex> lock(PlannerMutex());
  // FFTW_ESTIMATE: no timing runs, and the input buffers are not touched while planning.
  plans_->forward = fftw_plan_dft_r2c_1d(static_cast<int>(p), in.get(), out.get(), FFTW_ESTIMATE);
  plans_->backward = fftw_plan_dft_c2r_1d(static_cast<int>(p), out.get(), in.get(), FFTW_ESTIMATE);
  if (plans_->forward == nullptr || plans_->backward == nullptr) {
    throw std::runtime_error("AutocorrelationFft: FFTW could not plan a transform of length " +
                             std::to_string(p));
  }
}

AutocorrelationFft::~AutocorrelationFft() = default;

void AutocorrelationFft::Compute(const float* a, double* out) const { ComputeImpl(a, out); }
void AutocorrelationFft::Compute(const double* a, double* out) const { ComputeImpl(a, out); }

template <typename T>
void AutocorrelationFft::ComputeImpl(const T* a, double* out) const {
  const Eigen::Index n = n_, l = block_, p = 2 * block_, h = block_ + 1;  // h = p/2 + 1
  double mean = 0.0;
  for (Eigen::Index t = 0; t < n; ++t) mean += static_cast<double>(a[t]);
  mean /= static_cast<double>(n);

  // Buffers per call (fftw_malloc: the alignment the plans were made for).
  auto in = FftwAlloc<double>(p);
  auto cur = FftwAlloc<fftw_complex>(h);
  auto prev = FftwAlloc<fftw_complex>(h);
  std::vector<std::complex<double>> sum(static_cast<std::size_t>(h), {0.0, 0.0});
  const Eigen::Index blocks = (n + l - 1) / l;
  for (Eigen::Index j = 0; j < blocks; ++j) {
    const Eigen::Index start = j * l, len = std::min(l, n - start);
    for (Eigen::Index t = 0; t < len; ++t) in[t] = static_cast<double>(a[start + t]) - mean;
    std::fill(in.get() + len, in.get() + p, 0.0);
    fftw_execute_dft_r2c(plans_->forward, in.get(), cur.get());
    if (j > 0) {
      // Block j − 1 against itself and against block j, shifted by L: (−1)^ω in the spectrum.
      for (Eigen::Index w = 0; w < h; ++w) {
        const std::complex<double> fp(prev[w][0], prev[w][1]), fc(cur[w][0], cur[w][1]);
        sum[static_cast<std::size_t>(w)] += std::conj(fp) * ((w % 2 == 0) ? fp + fc : fp - fc);
      }
    }
    std::swap(prev, cur);
  }
  for (Eigen::Index w = 0; w < h; ++w) {  // the last block has no successor
    sum[static_cast<std::size_t>(w)] += prev[w][0] * prev[w][0] + prev[w][1] * prev[w][1];
  }
  for (Eigen::Index w = 0; w < h; ++w) {
    cur[w][0] = sum[static_cast<std::size_t>(w)].real();
    cur[w][1] = sum[static_cast<std::size_t>(w)].imag();
  }
  fftw_execute_dft_c2r(plans_->backward, cur.get(), in.get());
  for (Eigen::Index k = 0; k < max_lag_; ++k) {
    out[k] = in[k] / static_cast<double>(p) / static_cast<double>(n - 1 - k);
  }
}

Eigen::VectorXd Autocorrelation(ConstVecRef a, Eigen::Index max_lag) {
  AutocorrelationFft fft(a.size(), max_lag);
  const Eigen::VectorXd copy = a;  // contiguous
  Eigen::VectorXd out(max_lag);
  fft.Compute(copy.data(), out.data());
  return out;
}

// ---- fits -----------------------------------------------------------------------------------

double ExponentialModel(ConstVecRef params, double k, Eigen::VectorXd* gradient) {
  if (params.size() == 2) {
    const double a = params(0);
    double e, de;
    DecayTerm(k, params(1), &e, &de);
    if (gradient != nullptr) {
      gradient->resize(2);
      (*gradient) << e, a * de;
    }
    return a * e;
  }
  if (params.size() == 4) {
    const double a = params(0), c = params(1);
    double e1, de1, e2, de2;
    DecayTerm(k, params(2), &e1, &de1);
    DecayTerm(k, params(3), &e2, &de2);
    const double mix = c * e1 + (1.0 - c) * e2;
    if (gradient != nullptr) {
      gradient->resize(4);
      (*gradient) << mix, a * (e1 - e2), a * c * de1, a * (1.0 - c) * de2;
    }
    return a * mix;
  }
  throw std::invalid_argument("ExponentialModel: params has " + std::to_string(params.size()) +
                              " entries; expected 2 (a, tau) or 4 (a, c, tau1, tau2)");
}

void ExponentialFitOptions::Validate() const {
  auto fail = [](const std::string& field, const std::string& value, const std::string& rule) {
    throw std::invalid_argument("ExponentialFitOptions." + field + " = " + value + ": must be " +
                                rule);
  };
  if (fit_lag < 4) fail("fit_lag", std::to_string(fit_lag), ">= 4");
  if (!(tau_max > 0.0) || !std::isfinite(tau_max)) fail("tau_max", std::to_string(tau_max), "> 0");
  if (max_iterations < 1) fail("max_iterations", std::to_string(max_iterations), ">= 1");
  if (!(function_tolerance > 0.0)) {
    fail("function_tolerance", std::to_string(function_tolerance), "> 0");
  }
  if (!(parameter_tolerance > 0.0)) {
    fail("parameter_tolerance", std::to_string(parameter_tolerance), "> 0");
  }
  if (!(gradient_tolerance > 0.0)) {
    fail("gradient_tolerance", std::to_string(gradient_tolerance), "> 0");
  }
}

ExponentialFit FitExponentials(ConstVecRef ac, const ExponentialFitOptions& options) {
  options.Validate();
  const Eigen::Index m = options.fit_lag + 1;
  if (ac.size() < m) {
    throw std::invalid_argument("FitExponentials: ac has " + std::to_string(ac.size()) +
                                " lags; fit_lag = " + std::to_string(options.fit_lag) + " needs " +
                                std::to_string(m));
  }
  const Eigen::VectorXd y = ac.head(m) / ac(0);
  ExponentialFit fit;
  const double dm = static_cast<double>(m);
  auto aic = [&](bool ok, double rss, int q) {
    if (!ok) return options.failed_aic;
    return 2.0 * q + dm * std::log(options.aic_rss_over_n ? rss / dm : rss);
  };
  if (y.allFinite()) {
    Eigen::VectorXd p;
    double rss = kNaN;
    fit.single_ok = FitOne(y, 2, options, &p, &rss);
    if (fit.single_ok) {
      fit.single = p;
      fit.rss_single = rss;
    }
    fit.dual_ok = FitOne(y, 4, options, &p, &rss);
    if (fit.dual_ok) {
      fit.dual = p;
      fit.rss_dual = rss;
    }
  }
  fit.aic_single = aic(fit.single_ok, fit.rss_single, 2);
  fit.aic_dual = aic(fit.dual_ok, fit.rss_dual, 4);
  if (fit.aic_single < fit.aic_dual) {
    fit.choice = FitChoice::kSingle;
    fit.tau_net = fit.single(1);
  } else if (fit.aic_dual < fit.aic_single) {
    fit.choice = FitChoice::kDouble;
    fit.tau_net = std::max(fit.dual(2), fit.dual(3));
  } else {
    fit.choice = FitChoice::kTie;
    fit.tau_net = kNaN;
  }
  return fit;
}

// ---- the simulation driver --------------------------------------------------------------------

void TimescalesOptions::Validate() const {
  auto fail = [](const std::string& field, const std::string& value, const std::string& rule) {
    throw std::invalid_argument("TimescalesOptions." + field + " = " + value + ": must be " + rule);
  };
  fit.Validate();
  if (trials < 1) fail("trials", std::to_string(trials), ">= 1");
  if (burn < 0) fail("burn", std::to_string(burn), ">= 0");
  if (max_lag < fit.fit_lag + 1) {
    fail("max_lag",
         std::to_string(max_lag),
         ">= fit.fit_lag + 1 = " + std::to_string(fit.fit_lag + 1));
  }
  if (steps < 1 || steps + 1 - burn < max_lag + 1) {
    fail("steps",
         std::to_string(steps),
         ">= 1 with steps + 1 - burn >= max_lag + 1 (burn = " + std::to_string(burn) +
             ", max_lag = " + std::to_string(max_lag) + ")");
  }
  if (!(dt > 0.0) || !std::isfinite(dt)) fail("dt", std::to_string(dt), "> 0");
  if (num_threads < 0) fail("num_threads", std::to_string(num_threads), ">= 0");
  if (max_buffer_bytes == 0) fail("max_buffer_bytes", "0", "> 0");
}

std::string TimescalesSummary::BriefReport() const {
  std::ostringstream s;
  s << "NetworkTimescales: " << (ok() ? "success" : "non-finite state") << ", " << num_units
    << " units (tau_net > 1: " << num_tau_above_1 << "; single " << num_single << ", double "
    << num_double << ", ties " << num_ties << "), n = " << series_length << ", " << trial_groups
    << " trial group(s), " << threads << " thread(s); simulate " << simulate_seconds
    << " s, autocorrelation " << autocorrelation_seconds << " s, fits " << fit_seconds
    << " s, total " << total_seconds << " s";
  if (!message.empty()) s << "; " << message;
  return s.str();
}

TimescalesSummary NetworkTimescales(const Model& model,
                                    const TimescalesOptions& options,
                                    TimescalesResult* result) {
  const auto start = std::chrono::steady_clock::now();
  options.Validate();
  if (result == nullptr) throw std::invalid_argument("NetworkTimescales: result is null");
  if (model.input_size() != 1) {
    throw std::invalid_argument("NetworkTimescales: model kind '" + model.kind() +
                                "' has input_size " + std::to_string(model.input_size()) +
                                "; the parity input of timescales spec §5.2 is one channel");
  }
  const Eigen::Index s_size = model.state_size(), trials = options.trials;
  const Eigen::Index n = options.steps + 1 - options.burn, lags = options.max_lag;
  const int threads = ResolveThreads(options.num_threads);
  const std::size_t trial_bytes =
      static_cast<std::size_t>(s_size) * static_cast<std::size_t>(n) * sizeof(float);
  const Eigen::Index group = std::max<Eigen::Index>(
      1,
      std::min<Eigen::Index>(trials,
                             static_cast<Eigen::Index>(options.max_buffer_bytes / trial_bytes)));

  TimescalesSummary summary;
  summary.num_units = s_size;
  summary.series_length = n;
  summary.threads = threads;
  *result = TimescalesResult();
  result->p.resize(trials);
  Eigen::MatrixXd ac_sum = Eigen::MatrixXd::Zero(s_size, lags);
  Eigen::VectorXd pop_sum = Eigen::VectorXd::Zero(lags);
  AutocorrelationFft fft(n, lags);

  const auto* continuous =
      model.is_continuous() ? static_cast<const ContinuousModel*>(&model) : nullptr;
  const auto* discrete =
      model.is_continuous() ? nullptr : static_cast<const DiscreteModel*>(&model);

  // float32 series per trial of the group, [trial][unit][time]; the population sum in double.
  // Allocated, not zeroed: the simulation writes every element before the FFTs read it.
  const std::size_t buffer_size = static_cast<std::size_t>(group) *
                                  static_cast<std::size_t>(s_size) * static_cast<std::size_t>(n);
  std::unique_ptr<float[]> buffer(new float[buffer_size]);
  std::vector<double> population(static_cast<std::size_t>(group) * static_cast<std::size_t>(n));
  for (Eigen::Index first = 0; first < trials; first += group) {
    const Eigen::Index count = std::min(group, trials - first);
    ++summary.trial_groups;
    auto t0 = std::chrono::steady_clock::now();
    // Threads over blocks of trials; each block is one batch (columns) of the model's step.
    const std::vector<TrialBlock> blocks = SplitTrials(count, threads);
    const auto num_blocks = static_cast<Eigen::Index>(blocks.size());
    std::vector<std::string> failures(blocks.size());
    ParallelFor(num_blocks, num_blocks, [&](Eigen::Index t) {
      const Eigen::Index lo = blocks[static_cast<std::size_t>(t)].first;
      const Eigen::Index b = blocks[static_cast<std::size_t>(t)].count;
      std::vector<Rng> rngs;
      std::vector<double> p(static_cast<std::size_t>(b));
      Eigen::MatrixXd h(s_size, b), h_next(s_size, b), u(1, b);
      for (Eigen::Index j = 0; j < b; ++j) {
        const Eigen::Index trial = first + lo + j;
        rngs.emplace_back(StreamSeed(options.seed, static_cast<std::uint64_t>(trial)));
        Rng& rng = rngs.back();
        p[static_cast<std::size_t>(j)] = rng.Uniform();
        result->p(trial) = p[static_cast<std::size_t>(j)];
        for (Eigen::Index i = 0; i < s_size; ++i) h(i, j) = 0.1 * rng.Uniform();
      }
      // States are gathered kChunk steps at a time and then written unit by unit, so that the
      // stores into the [unit][time] series are contiguous runs instead of one scattered value
      // per unit and step.
      constexpr Eigen::Index kChunk = 64;
      std::vector<Eigen::MatrixXf> chunk(static_cast<std::size_t>(b),
                                         Eigen::MatrixXf(kChunk, s_size));
      Eigen::Index filled = 0;
      std::size_t chunk_start = 0;
      auto flush = [&] {
        for (Eigen::Index j = 0; j < b; ++j) {
          const std::size_t slot = static_cast<std::size_t>(lo + j);
          float* series = buffer.get() +
                          slot * static_cast<std::size_t>(s_size) * static_cast<std::size_t>(n) +
                          chunk_start;
          const Eigen::MatrixXf& c = chunk[static_cast<std::size_t>(j)];
          for (Eigen::Index i = 0; i < s_size; ++i) {
            std::copy(c.col(i).data(),
                      c.col(i).data() + filled,
                      series + static_cast<std::size_t>(i) * static_cast<std::size_t>(n));
          }
        }
        filled = 0;
      };
      auto record = [&](std::int64_t step) {
        if (step < options.burn) return;
        const std::size_t tt = static_cast<std::size_t>(step - options.burn);
        if (filled == 0) chunk_start = tt;
        for (Eigen::Index j = 0; j < b; ++j) {
          chunk[static_cast<std::size_t>(j)].row(filled) = h.col(j).transpose().cast<float>();
          // A plain loop: Eigen's vectorised sum depends on the column's alignment, i.e. on how
          // the trials are batched.
          double pop = 0.0;
          for (Eigen::Index i = 0; i < s_size; ++i) pop += h(i, j);
          population[static_cast<std::size_t>(lo + j) * static_cast<std::size_t>(n) + tt] = pop;
        }
        if (++filled == kChunk) flush();
      };
      record(0);
      for (std::int64_t step = 1; step <= options.steps; ++step) {
        for (Eigen::Index j = 0; j < b; ++j) {
          u(0, j) = rngs[static_cast<std::size_t>(j)].Uniform() < p[static_cast<std::size_t>(j)]
                        ? 1.0
                        : 0.0;
        }
        if (discrete != nullptr) {
          discrete->Step(h, u, h_next);
        } else {
          continuous->EulerStep(h, u, options.dt, h_next);
        }
        h.swap(h_next);
        if (!h.allFinite()) {
          failures[static_cast<std::size_t>(t)] = "trial " + std::to_string(first + lo) +
                                                  "+: state non-finite at step " +
                                                  std::to_string(step);
          return;
        }
        record(step);
      }
      if (filled > 0) flush();
    });
    summary.simulate_seconds += Seconds(t0);
    for (const auto& f : failures) {
      if (!f.empty()) {
        summary.termination = TimescalesTermination::kNonFinite;
        summary.message = f;
        *result = TimescalesResult();
        return summary;
      }
    }

    // Autocorrelations: threads over units; each unit sums its trials in order.
    t0 = std::chrono::steady_clock::now();
    ParallelFor(s_size + 1, threads, [&](Eigen::Index i) {
      std::vector<double> c(static_cast<std::size_t>(lags));
      for (Eigen::Index j = 0; j < count; ++j) {
        if (i < s_size) {
          fft.Compute(
              buffer.get() + (static_cast<std::size_t>(j) * static_cast<std::size_t>(s_size) +
                              static_cast<std::size_t>(i)) *
                                 static_cast<std::size_t>(n),
              c.data());
          for (Eigen::Index k = 0; k < lags; ++k) ac_sum(i, k) += c[static_cast<std::size_t>(k)];
        } else {
          fft.Compute(population.data() + static_cast<std::size_t>(j) * static_cast<std::size_t>(n),
                      c.data());
          for (Eigen::Index k = 0; k < lags; ++k) pop_sum(k) += c[static_cast<std::size_t>(k)];
        }
      }
    });
    summary.autocorrelation_seconds += Seconds(t0);
  }

  buffer.reset();  // the series are no longer needed
  auto t0 = std::chrono::steady_clock::now();
  result->ac = ac_sum / static_cast<double>(trials);
  result->population_ac = pop_sum / static_cast<double>(trials);
  result->tau_net.resize(s_size);
  result->choice.resize(s_size);
  result->single.resize(s_size, 2);
  result->dual.resize(s_size, 4);
  result->aic_single.resize(s_size);
  result->aic_dual.resize(s_size);
  ParallelFor(s_size + 1, threads, [&](Eigen::Index i) {
    if (i == s_size) {
      result->population_fit = FitExponentials(result->population_ac, options.fit);
      return;
    }
    const ExponentialFit f = FitExponentials(result->ac.row(i).transpose(), options.fit);
    result->tau_net(i) = f.tau_net;
    result->choice(i) = static_cast<int>(f.choice);
    result->single.row(i) = f.single.transpose();
    result->dual.row(i) = f.dual.transpose();
    result->aic_single(i) = f.aic_single;
    result->aic_dual(i) = f.aic_dual;
  });
  summary.fit_seconds = Seconds(t0);
  summary.total_seconds = Seconds(start);
  for (Eigen::Index i = 0; i < s_size; ++i) {
    if (result->tau_net(i) > 1.0) ++summary.num_tau_above_1;
    switch (static_cast<FitChoice>(result->choice(i))) {
      case FitChoice::kSingle:
        ++summary.num_single;
        break;
      case FitChoice::kDouble:
        ++summary.num_double;
        break;
      case FitChoice::kTie:
        ++summary.num_ties;
        break;
    }
  }
  return summary;
}

}  // namespace ctrnn
