// Autocorrelation ("network-mediated") timescales τ_net (timescales spec §5.2; authors' code
// analysis/timescales/timescales_utils.py comp_acs, model_comp, comp_ac_fft).
//
// For a series a_0 … a_{n−1} (one unit, one trial), x = a − mean(a) and
//
//   c(k) = Σ_{t=0}^{n−1−k} x_t x_{t+k} / (n − 1 − k),     k = 0 … max_lag − 1
//
// (the authors' off-by-one "unbiased" normalisation: they divide by arange(1, n)[::-1]). The sum
// is the zero-padded linear autocorrelation, evaluated by FFT (FFTW): the series is cut into
// blocks of length L ≥ max_lag, and Σ_j conj(F_j)·(F_j + (−1)^ω F_{j+1}) over the blocks' 2L-point
// spectra F_j is the spectrum of exactly the same sum for lags < L, with one inverse transform per
// series. Same numbers as one FFT of length ≥ 2n (to round-off), at a fraction of the cost.
//
// Per unit, c is averaged over trials, y(k) = c(k)/c(0) on lags 0 … fit_lag is fitted with
//
//   single:  y ≈ a·exp(−k/τ)                               a ∈ [0, 1], τ ∈ [0, tau_max]
//   double:  y ≈ a·[c·exp(−k/τ1) + (1 − c)·exp(−k/τ2)]      a, c ∈ [0, 1], τ1, τ2 ∈ [0, tau_max]
//
// (bounded least squares, Ceres trust region with analytic derivatives, from p0 = all ones as
// SciPy's curve_fit), and AIC = 2q + n·ln(RSS/n) (n = fit_lag + 1, q = 2 or 4; a failed fit gets
// AIC = 1e5) picks one: τ_net = τ of the single fit, or max(τ1, τ2) of the double fit; a tie
// (e.g. both fits failed, as for a silent unit) gives NaN. The figures keep units with τ_net > 1.
//
//   TimescalesOptions options;            // 10 trials × 101,000 steps, burn 500, lags 0..199
//   TimescalesResult result;
//   TimescalesSummary s = NetworkTimescales(model, options, &result);
//   // result.tau_net(i): unit i; result.population_ac: AC of Σ_i h_i
#ifndef CTRNN_SOLVERS_AUTOCORRELATION_H_
#define CTRNN_SOLVERS_AUTOCORRELATION_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/model.h"

namespace ctrnn {

// c(k), k = 0 … max_lag − 1, of one series (see above), by blocked FFT. One instance holds the
// FFTW plans and buffers for one (n, max_lag): reuse it across series; Compute is const and may
// run on several threads at once. Throws std::invalid_argument unless 1 <= max_lag <= n − 1.
class AutocorrelationFft {
 public:
  AutocorrelationFft(Eigen::Index n, Eigen::Index max_lag);
  ~AutocorrelationFft();
  AutocorrelationFft(const AutocorrelationFft&) = delete;
  AutocorrelationFft& operator=(const AutocorrelationFft&) = delete;

  Eigen::Index length() const { return n_; }
  Eigen::Index max_lag() const { return max_lag_; }
  Eigen::Index block_length() const { return block_; }

  // out[k] = c(k) for the n values at `a` (float32 or float64 storage; the sums are double).
  void Compute(const float* a, double* out) const;
  void Compute(const double* a, double* out) const;

 private:
  template <typename T>
  void ComputeImpl(const T* a, double* out) const;

  Eigen::Index n_, max_lag_, block_;
  struct Plans;
  std::unique_ptr<Plans> plans_;
};

// Convenience: c(k) of one series, k = 0 … max_lag − 1.
Eigen::VectorXd Autocorrelation(ConstVecRef a, Eigen::Index max_lag);

// The fitted curves. params = (a, τ) for the single exponential, (a, c, τ1, τ2) for the double;
// returns y(k) and, if gradient is not null, ∂y/∂params (resized). τ = 0 is the limit τ → 0+
// (y(0) = a, y(k > 0) = 0, zero τ-derivative). Throws std::invalid_argument for another size.
double ExponentialModel(ConstVecRef params, double k, Eigen::VectorXd* gradient);

struct ExponentialFitOptions {
  // Lags 0 … fit_lag are fitted (the spec's 30: 31 points, "to avoid AC bias"); >= 4.
  Eigen::Index fit_lag = 30;
  // Upper bound of every τ, in steps (the spec's 100); > 0.
  double tau_max = 100.0;
  // Ceres trust-region iterations per fit (SciPy's maxfev = 2000 function evaluations); >= 1.
  int max_iterations = 2000;
  // Ceres' convergence tolerances (SciPy's ftol, xtol, gtol default 1e-8); > 0.
  double function_tolerance = 1e-8;
  double parameter_tolerance = 1e-8;
  double gradient_tolerance = 1e-8;
  // AIC = 2q + n·ln(RSS/n) (true, the final commit) or 2q + n·ln(RSS) (false, the older form;
  // the same selection).
  bool aic_rss_over_n = true;
  // The AIC a failed fit gets (the authors' 1e5).
  double failed_aic = 1e5;

  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

enum class FitChoice : std::int64_t { kTie = 0, kSingle = 1, kDouble = 2 };

// Both fits of one normalised autocorrelation and the AIC choice.
struct ExponentialFit {
  Eigen::Vector2d single =
      Eigen::Vector2d::Constant(std::numeric_limits<double>::quiet_NaN());  // (a, τ)
  Eigen::Vector4d dual =
      Eigen::Vector4d::Constant(std::numeric_limits<double>::quiet_NaN());  // (a, c, τ1, τ2)
  bool single_ok = false, dual_ok = false;  // Ceres returned a usable, finite solution
  double rss_single = std::numeric_limits<double>::quiet_NaN(),
         rss_dual = std::numeric_limits<double>::quiet_NaN();
  double aic_single = 0.0, aic_dual = 0.0;
  FitChoice choice = FitChoice::kTie;
  double tau_net = std::numeric_limits<double>::quiet_NaN();  // τ of the chosen fit; NaN on a tie
};

// Fits y(k) = ac(k)/ac(0), k = 0 … fit_lag (ac holds at least fit_lag + 1 lags). A non-finite y
// (ac(0) = 0: a silent unit) makes both fits fail (a tie, τ_net NaN): a result, not an error.
// Throws std::invalid_argument for invalid options or too few lags.
ExponentialFit FitExponentials(ConstVecRef ac, const ExponentialFitOptions& options);

struct TimescalesOptions {
  // Independent trials (the batch), each with its own p ~ U(0, 1), digits s_t ~ Bernoulli(p) and
  // initial state 0.1·U(0, 1) per state variable; >= 1.
  Eigen::Index trials = 10;
  // Steps simulated: states h_0 … h_steps are produced, the first `burn` dropped, so each series
  // has n = steps + 1 − burn values (spec: 10^5 + 500 + 500 and 500); n >= max_lag + 1.
  std::int64_t steps = 101'000;
  std::int64_t burn = 500;
  // Lags kept, 0 … max_lag − 1 (spec: 200); >= fit.fit_lag + 1.
  Eigen::Index max_lag = 200;
  // Continuous models: forward-Euler step per input digit (the model's EulerStep; 1 reproduces the
  // papers' discrete update); > 0. Discrete models take one Step per digit.
  double dt = 1.0;
  // Draws every trial's p, digits and initial state. Trial r has its own stream, so the inputs do
  // not depend on num_threads or max_buffer_bytes; one seed and thread count always give the same
  // numbers (DESIGN.md §3.7).
  std::uint64_t seed = 0;
  // Worker threads for the simulation (over trials), the FFTs and the fits (over units); 0: the
  // hardware's count.
  int num_threads = 0;
  // Simulated states are kept as float32, S·n·4 bytes per trial; trials are simulated in groups
  // whose buffer stays within this many bytes (at least one trial per group).
  std::size_t max_buffer_bytes = std::size_t{3} << 30;
  ExponentialFitOptions fit;

  // Throws std::invalid_argument naming the field and value.
  void Validate() const;
};

struct TimescalesResult {
  // Per state variable i (all of the model's state: e.g. z and x of an NM-RNN), c(k) averaged over
  // trials: S x max_lag.
  Eigen::MatrixXd ac;
  // c(k) of the population activity Σ_i a_i, averaged over trials: max_lag.
  Eigen::VectorXd population_ac;
  // Per state variable: τ_net, the choice (0 tie, 1 single, 2 double), both fits and AICs.
  Eigen::VectorXd tau_net;
  Eigen::VectorXi choice;
  Eigen::MatrixXd single;  // S x 2: a, τ
  Eigen::MatrixXd dual;    // S x 4: a, c, τ1, τ2
  Eigen::VectorXd aic_single, aic_dual;
  // The fit of the population AC.
  ExponentialFit population_fit;
  // Each trial's p.
  Eigen::VectorXd p;
};

enum class TimescalesTermination { kSuccess, kNonFinite };

struct TimescalesSummary {
  TimescalesTermination termination = TimescalesTermination::kSuccess;
  std::string message;
  Eigen::Index num_units = 0;        // state variables analysed
  Eigen::Index num_tau_above_1 = 0;  // units with τ_net > 1 (the figures' selection)
  Eigen::Index num_single = 0, num_double = 0, num_ties = 0;
  Eigen::Index series_length = 0;  // n
  int trial_groups = 0;            // simulation passes (see max_buffer_bytes)
  int threads = 0;
  // Wall-clock seconds of the three stages, and of the whole call (which adds allocation and the
  // release of the state buffer).
  double simulate_seconds = 0.0, autocorrelation_seconds = 0.0, fit_seconds = 0.0;
  double total_seconds = 0.0;

  bool ok() const { return termination == TimescalesTermination::kSuccess; }
  std::string BriefReport() const;
};

// Simulates the model under the spec's input (one input channel: digits s_t ∈ {0, 1}) and fits
// τ_net for every state variable. A state that becomes non-finite ends the run with kNonFinite
// (result left empty). Throws std::invalid_argument for invalid options or a model whose
// input_size is not 1 (naming the kind and size).
TimescalesSummary NetworkTimescales(const Model& model,
                                    const TimescalesOptions& options,
                                    TimescalesResult* result);

}  // namespace ctrnn

#endif  // CTRNN_SOLVERS_AUTOCORRELATION_H_
