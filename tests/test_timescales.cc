// Autocorrelation timescales (solvers/autocorrelation.h): the FFT autocorrelation against the
// direct sum, the fitted curves' derivatives, AR(1) processes of known timescale, a two-timescale
// mixture, and the simulation driver on a network whose timescales are known in closed form.
#include <cmath>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

#include "lib/random.h"
#include "solvers/autocorrelation.h"
#include "tests/testing.h"

namespace ctrnn {
namespace {

// The spec's c(k) by the O(n·K) definition.
Eigen::VectorXd DirectAutocorrelation(const Eigen::VectorXd& a, Eigen::Index max_lag) {
  const Eigen::Index n = a.size();
  const Eigen::VectorXd x = a.array() - a.mean();
  Eigen::VectorXd c(max_lag);
  for (Eigen::Index k = 0; k < max_lag; ++k) {
    c(k) = x.head(n - k).dot(x.tail(n - k)) / static_cast<double>(n - 1 - k);
  }
  return c;
}

// x_t = φ x_{t−1} + ε_t, φ = exp(−1/τ): autocorrelation exactly exp(−k/τ).
Eigen::VectorXd Ar1(Eigen::Index n, double tau, Rng* rng) {
  const double phi = std::exp(-1.0 / tau);
  Eigen::VectorXd x(n);
  double v = rng->Normal() / std::sqrt(1.0 - phi * phi);  // stationary start
  for (Eigen::Index t = 0; t < n; ++t) {
    v = phi * v + rng->Normal();
    x(t) = v;
  }
  return x;
}

TEST_CASE("blocked FFT autocorrelation equals the direct sum", "[timescales]") {
  Rng rng(3);
  for (const Eigen::Index n : {Eigen::Index{250}, Eigen::Index{5000}, Eigen::Index{7777}}) {
    // A slow drift plus noise and an offset: the mean subtraction matters.
    Eigen::VectorXd a = Ar1(n, 7.0, &rng).array() + 3.0;
    const Eigen::Index lags = std::min<Eigen::Index>(200, n - 1);
    const Eigen::VectorXd direct = DirectAutocorrelation(a, lags);
    const Eigen::VectorXd fft = Autocorrelation(a, lags);
    CHECK(testing::RelErr(fft, direct) < 1e-12);
    // float32 storage: the same sums of the rounded values.
    const Eigen::VectorXf af = a.cast<float>();
    AutocorrelationFft plan(n, lags);
    Eigen::VectorXd from_float(lags);
    plan.Compute(af.data(), from_float.data());
    CHECK(testing::RelErr(from_float, DirectAutocorrelation(af.cast<double>(), lags)) < 1e-12);
  }
  CHECK_THROWS_AS(AutocorrelationFft(10, 10), std::invalid_argument);
  CHECK_THROWS_AS(AutocorrelationFft(10, 0), std::invalid_argument);
}

TEST_CASE("exponential models' derivatives match central differences", "[timescales]") {
  const std::vector<Eigen::VectorXd> points = {
      (Eigen::VectorXd(2) << 0.8, 3.5).finished(),
      (Eigen::VectorXd(2) << 1.0, 0.2).finished(),
      (Eigen::VectorXd(4) << 0.9, 0.3, 2.0, 17.0).finished(),
      (Eigen::VectorXd(4) << 0.5, 0.7, 0.4, 60.0).finished(),
  };
  for (const auto& p : points) {
    for (const double k : {0.0, 1.0, 4.0, 30.0}) {
      Eigen::VectorXd grad;
      ExponentialModel(p, k, &grad);
      const Eigen::VectorXd fd = testing::NumericalGradient(
          [k](const Eigen::VectorXd& q) { return ExponentialModel(q, k, nullptr); }, p, 1e-6);
      CHECK(testing::RelErr(grad, fd, 1e-6) < 1e-6);
    }
  }
  // τ → 0+: y(0) = a, y(k > 0) = 0, finite derivatives.
  Eigen::VectorXd grad;
  const Eigen::Vector2d zero_tau(0.7, 0.0);
  CHECK(ExponentialModel(zero_tau, 0.0, &grad) == 0.7);
  CHECK(ExponentialModel(zero_tau, 3.0, &grad) == 0.0);
  CHECK(grad.allFinite());
  CHECK_THROWS_AS(ExponentialModel(Eigen::Vector3d::Ones(), 1.0, nullptr), std::invalid_argument);
}

// The single fit recovers an AR(1) timescale. (AIC's choice on such samples is not asserted: the
// estimated autocorrelation's error is correlated across lags, so the double fit often absorbs part
// of it and AIC, which assumes independent residuals, then prefers it; the spec's method does the
// same. The next test checks the choice where AIC's assumptions hold.)
TEST_CASE("AR(1) timescale recovered within 5 % by the single fit", "[timescales]") {
  Rng rng(11);
  for (const double tau : {2.0, 5.0, 12.0}) {
    Eigen::VectorXd ac = Eigen::VectorXd::Zero(200);
    for (int trial = 0; trial < 4; ++trial) ac += Autocorrelation(Ar1(100'000, tau, &rng), 200);
    const ExponentialFit fit = FitExponentials(ac, ExponentialFitOptions());
    INFO("tau " << tau << ": single " << fit.single.transpose() << " aic " << fit.aic_single
                << "; double " << fit.dual.transpose() << " aic " << fit.aic_dual);
    REQUIRE(fit.single_ok);
    REQUIRE(fit.dual_ok);
    CHECK(std::abs(fit.single(1) - tau) < 0.05 * tau);
    CHECK(std::abs(fit.single(0) - 1.0) < 0.05);
    // τ_net is the chosen fit's τ.
    CHECK(fit.tau_net ==
          (fit.choice == FitChoice::kSingle ? fit.single(1) : std::max(fit.dual(2), fit.dual(3))));
  }
}

TEST_CASE("AIC picks the single fit for one exponential with independent noise", "[timescales]") {
  // y(k) = e^{−k/5} + 0.01 ε_k: the double fit's two extra parameters lower the RSS by a
  // χ²(2)-distributed amount, which beats AIC's penalty of 4 with probability e^{−2} ≈ 14 %.
  Rng rng(1);
  int single = 0;
  for (int rep = 0; rep < 40; ++rep) {
    Eigen::VectorXd ac(40);
    for (int k = 0; k < 40; ++k) ac(k) = std::exp(-k / 5.0) + (k > 0 ? 0.01 * rng.Normal() : 0.0);
    const ExponentialFit fit = FitExponentials(ac, ExponentialFitOptions());
    if (fit.choice == FitChoice::kSingle) {
      ++single;
      CHECK(std::abs(fit.tau_net - 5.0) < 0.25);
    }
  }
  CHECK(single >= 30);  // expected ≈ 34.6 of 40
}

TEST_CASE("two-timescale mixture: the double fit recovers both and AIC picks it", "[timescales]") {
  Rng rng(5);
  const double tau1 = 2.0, tau2 = 20.0;
  Eigen::VectorXd ac = Eigen::VectorXd::Zero(200);
  for (int trial = 0; trial < 4; ++trial) {
    // Equal variances: AC = ½ e^{−k/2} + ½ e^{−k/20}.
    const Eigen::VectorXd x = Ar1(200'000, tau1, &rng) * std::sqrt(1.0 - std::exp(-2.0 / tau1)) +
                              Ar1(200'000, tau2, &rng) * std::sqrt(1.0 - std::exp(-2.0 / tau2));
    ac += Autocorrelation(x, 200);
  }
  const ExponentialFit fit = FitExponentials(ac, ExponentialFitOptions());
  INFO("single " << fit.single.transpose() << " aic " << fit.aic_single << "; double "
                 << fit.dual.transpose() << " aic " << fit.aic_dual);
  REQUIRE(fit.dual_ok);
  CHECK(fit.choice == FitChoice::kDouble);
  const double fast = std::min(fit.dual(2), fit.dual(3)), slow = std::max(fit.dual(2), fit.dual(3));
  const double c_fast = fit.dual(2) < fit.dual(3) ? fit.dual(1) : 1.0 - fit.dual(1);
  CHECK(std::abs(fast - tau1) < 0.05 * tau1);
  CHECK(std::abs(slow - tau2) < 0.05 * tau2);
  CHECK(std::abs(c_fast - 0.5) < 0.05);
  CHECK(fit.tau_net == slow);
  CHECK(fit.aic_dual < fit.aic_single - 10.0);
}

TEST_CASE("a silent unit is a tie with NaN tau_net; bad fit options throw", "[timescales]") {
  const ExponentialFit fit = FitExponentials(Eigen::VectorXd::Zero(40), ExponentialFitOptions());
  CHECK_FALSE(fit.single_ok);
  CHECK_FALSE(fit.dual_ok);
  CHECK(fit.choice == FitChoice::kTie);
  CHECK(std::isnan(fit.tau_net));
  CHECK(fit.aic_single == 1e5);
  ExponentialFitOptions bad;
  bad.tau_max = -1.0;
  CHECK_THROWS_WITH(FitExponentials(Eigen::VectorXd::Ones(40), bad), Catch::Contains("tau_max"));
  CHECK_THROWS_WITH(FitExponentials(Eigen::VectorXd::Ones(10), ExponentialFitOptions()),
                    Catch::Contains("fit_lag"));
}

// Variant A with φ linear and W_rec = 0: h_t = (1 − 1/τ) h_{t−1} + (1/τ)(w s_t + b), an AR(1)
// driven by iid digits, so each unit's autocorrelation is exactly (1 − 1/τ)^k: τ_net =
// −1/ln(1 − 1/τ).
std::unique_ptr<Model> LinearUncoupled() {
  auto model = testing::MakeFromToml(
      "kind = 'discrete_rnn'\nN = 3\nphi = 'linear'\nnum_heads = 1\nzero_diagonal = true");
  model->SetParam("tau", Eigen::Vector3d(2.0, 5.0, 10.0));
  model->SetParam("W_rec", Eigen::MatrixXd::Zero(3, 3));
  model->SetParam("W_in", Eigen::Vector3d(1.0, -0.5, 2.0));
  model->SetParam("b_in", Eigen::Vector3d(0.1, 0.2, 0.3));
  model->SetParam("b_rec", Eigen::Vector3d::Zero());
  return model;
}

TEST_CASE("NetworkTimescales recovers closed-form unit timescales", "[timescales]") {
  const auto model = LinearUncoupled();
  TimescalesOptions options;
  options.trials = 4;
  options.steps = 60'000;
  options.seed = 9;
  options.num_threads = 2;
  TimescalesResult result;
  const TimescalesSummary summary = NetworkTimescales(*model, options, &result);
  INFO(summary.BriefReport());
  REQUIRE(summary.ok());
  CHECK(summary.series_length == 60'001 - 500);
  REQUIRE(result.tau_net.size() == 3);
  const Eigen::Vector3d tau(2.0, 5.0, 10.0);
  for (int i = 0; i < 3; ++i) {
    const double expected = -1.0 / std::log(1.0 - 1.0 / tau(i));
    INFO("unit " << i << " single fit " << result.single.row(i) << " tau_net " << result.tau_net(i)
                 << " expected " << expected);
    // The averaged autocorrelation is (1 − 1/τ)^k up to sampling error ...
    for (int k = 0; k <= 30; ++k) {
      CHECK(std::abs(result.ac(i, k) / result.ac(i, 0) - std::pow(1.0 - 1.0 / tau(i), k)) < 0.02);
    }
    // ... its single fit recovers the timescale, and τ_net is the AIC-chosen fit's τ (see the
    // AR(1) test for why the choice itself is not asserted).
    CHECK(std::abs(result.single(i, 1) - expected) < 0.05 * expected);
    CHECK(result.tau_net(i) ==
          (result.choice(i) == 1 ? result.single(i, 1) : result.dual.row(i).tail(2).maxCoeff()));
  }
  CHECK(summary.num_tau_above_1 == 3);
  CHECK(result.population_ac.size() == 200);
  CHECK(result.population_ac(0) > 0.0);
  CHECK((result.p.array() >= 0.0).all());
  CHECK((result.p.array() < 1.0).all());

  // One seed gives the same numbers whatever the threads and the trial grouping.
  TimescalesOptions other = options;
  other.num_threads = 1;
  other.max_buffer_bytes = 3 * 60'000 * sizeof(float);  // one trial per group
  TimescalesResult again;
  const TimescalesSummary s2 = NetworkTimescales(*model, other, &again);
  CHECK(s2.trial_groups == 4);
  CHECK(again.ac == result.ac);
  CHECK(again.tau_net == result.tau_net);
  CHECK(again.population_ac == result.population_ac);
}

TEST_CASE("NetworkTimescales rejects what it cannot simulate", "[timescales]") {
  const auto two_inputs =
      testing::MakeFromToml("kind = 'ctrnn'\nN = 4\ninput_size = 2\nform = 'rate'");
  TimescalesOptions options;
  options.steps = 2000;
  TimescalesResult result;
  CHECK_THROWS_WITH(NetworkTimescales(*two_inputs, options, &result),
                    Catch::Contains("ctrnn") && Catch::Contains("input_size 2"));
  const auto model = LinearUncoupled();
  options.burn = 1900;
  CHECK_THROWS_WITH(NetworkTimescales(*model, options, &result), Catch::Contains("steps"));
  // A diverging network is a result, not an exception.
  model->SetParam("W_rec", Eigen::MatrixXd::Constant(3, 3, 50.0));
  options.burn = 500;
  const TimescalesSummary s = NetworkTimescales(*model, options, &result);
  CHECK(s.termination == TimescalesTermination::kNonFinite);
  CHECK_THAT(s.message, Catch::Contains("non-finite"));
}

}  // namespace
}  // namespace ctrnn
