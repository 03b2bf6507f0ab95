// Losses and the discrete adjoint: for every model and stepper the gradient equals central finite
// differences of the loss of the same numerical solution (Dopri5: the same steps replayed),
// checkpointing changes nothing (bit for bit), bad input throws naming the problem, numerical
// failure is a termination.
#include <cmath>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "lib/loss.h"
#include "lib/random.h"
#include "solvers/gradient.h"
#include "solvers/integrate.h"
#include "solvers/runge_kutta.h"
#include "tests/testing.h"

namespace ctrnn {
namespace {

using Catch::Matchers::Contains;
using testing::MakeFromToml;
using testing::NumericalGradient;
using testing::RelErr;

using testing::kModels;
using testing::ModelCase;

constexpr double kTol = 1e-7;

// As in the contract test: θ off its special initial values, raw time constants above the clamp.
void Randomize(Model* model, Rng* rng, double scale = 0.3) {
  Eigen::VectorXd theta = model->theta();
  for (Eigen::Index i = 0; i < theta.size(); ++i) theta(i) += scale * rng->Normal();
  if (model->layout().Has("tau")) {
    const ParamBlock& b = model->layout().Find("tau");
    for (Eigen::Index i = 0; i < b.size(); ++i) theta(b.offset + i) = 1.5 + rng->Uniform();
  }
  model->SetTheta(theta);
}

// Unequal bins, random inputs and targets, a 0/1 mask with some zeros (and NaN targets there).
Batch RandomBatch(const Model& model,
                  const std::vector<double>& edges,
                  Eigen::Index trials,
                  Rng* rng) {
  Batch batch;
  batch.bin_edges = edges;
  const auto bins = edges.size() - 1;
  const Eigen::Index o = model.output_size();
  for (size_t k = 0; k < bins; ++k) {
    batch.inputs.push_back(rng->NormalMatrix(model.input_size(), trials, 1.0));
    batch.targets.push_back(rng->NormalMatrix(o, trials, 0.5));
    Eigen::MatrixXd m(o, trials);
    for (Eigen::Index b = 0; b < trials; ++b) {
      for (Eigen::Index r = 0; r < o; ++r) {
        m(r, b) = rng->Uniform() < 0.7 ? 1.0 : 0.0;
        if (m(r, b) == 0.0) batch.targets.back()(r, b) = std::numeric_limits<double>::quiet_NaN();
      }
    }
    batch.mask.push_back(m);
  }
  batch.mask.back().setOnes();  // the final-time losses read the last bin
  batch.targets.back() = rng->NormalMatrix(o, trials, 0.5);
  return batch;
}

// The loss at θ with the given steps (no gradient).
double LossAt(Model* model,
              const Eigen::VectorXd& theta,
              const Batch& batch,
              const LossOptions& loss,
              GradientOptions options,
              const StepPlan& plan) {
  const Eigen::VectorXd theta0 = model->theta();
  model->SetTheta(theta);
  options.replay = plan;
  const GradientSummary s = LossAndGradient(*model, batch, loss, options, nullptr);
  model->SetTheta(theta0);
  REQUIRE(s.ok());
  return s.loss;
}

// Central differences of LossAt over the entries `which` (all if empty).
Eigen::VectorXd FiniteDifferences(Model* model,
                                  const Batch& batch,
                                  const LossOptions& loss,
                                  const GradientOptions& options,
                                  const StepPlan& plan,
                                  const std::vector<Eigen::Index>& which = {},
                                  double h = 1e-6) {
  const Eigen::VectorXd theta0 = model->theta();
  if (which.empty()) {
    return NumericalGradient(
        [&](const Eigen::VectorXd& th) { return LossAt(model, th, batch, loss, options, plan); },
        theta0,
        h);
  }
  Eigen::VectorXd g(static_cast<Eigen::Index>(which.size()));
  for (size_t i = 0; i < which.size(); ++i) {
    Eigen::VectorXd th = theta0;
    th(which[i]) = theta0(which[i]) + h;
    const double fp = LossAt(model, th, batch, loss, options, plan);
    th(which[i]) = theta0(which[i]) - h;
    const double fm = LossAt(model, th, batch, loss, options, plan);
    g(static_cast<Eigen::Index>(i)) = (fp - fm) / (2.0 * h);
  }
  return g;
}

Eigen::VectorXd Pick(const Eigen::VectorXd& g, const std::vector<Eigen::Index>& which) {
  Eigen::VectorXd out(static_cast<Eigen::Index>(which.size()));
  for (size_t i = 0; i < which.size(); ++i) out(static_cast<Eigen::Index>(i)) = g(which[i]);
  return out;
}

TEST_CASE("the adjoint gradient equals finite differences for every model and stepper",
          "[adjoint]") {
  const std::vector<double> edges = {0.0, 0.7, 1.5, 2.0, 3.1, 3.6};
  for (const ModelCase& c : kModels) {
    auto model = MakeFromToml(c.toml, 11);
    Rng rng(5);
    Randomize(model.get(), &rng);
    const Batch batch = RandomBatch(*model, edges, 3, &rng);
    for (Stepper stepper : {Stepper::kEuler, Stepper::kRk4, Stepper::kDopri5}) {
      for (LossKind kind : {LossKind::kMaskedMse, LossKind::kFinalMse}) {
        DYNAMIC_SECTION(c.name << ", " << StepperName(stepper) << ", " << LossKindName(kind)) {
          GradientOptions options;
          options.integrate.stepper = stepper;
          options.integrate.dt = 0.3;
          LossOptions loss;
          loss.kind = kind;
          Eigen::VectorXd g;
          const GradientSummary s = LossAndGradient(*model, batch, loss, options, &g);
          INFO(s.BriefReport());
          REQUIRE(s.ok());
          REQUIRE(g.size() == model->num_params());
          const Eigen::VectorXd fd = FiniteDifferences(model.get(), batch, loss, options, s.plan);
          CHECK(RelErr(g, fd) < kTol);
          CHECK(g.norm() > 0.0);
        }
      }
      if (!model->is_continuous()) break;  // one Step per bin, whatever the stepper
    }
  }
}

TEST_CASE("the loss is the loss of Integrate's trajectory", "[adjoint]") {
  auto model =
      MakeFromToml("kind = 'nm_rnn'\nN = 7\nM = 3\nR = 2\ninput_size = 3\noutput_size = 2");
  Rng rng(3);
  Randomize(model.get(), &rng);
  const Batch batch = RandomBatch(*model, {0.0, 1.0, 2.5, 3.0, 4.0}, 4, &rng);
  for (Stepper stepper : {Stepper::kEuler, Stepper::kRk4, Stepper::kDopri5}) {
    INFO(StepperName(stepper));
    GradientOptions options;
    options.integrate.stepper = stepper;
    options.integrate.dt = 0.4;
    options.integrate.dense_per_bin = 1;  // changes the fixed steppers' step counts: same rule
    Trajectory traj;
    const IntegrateSummary solve = Integrate(*model, batch, options.integrate, &traj);
    REQUIRE(solve.ok());
    std::vector<Eigen::MatrixXd> at_edges;
    for (Eigen::Index i : traj.edge_index) at_edges.push_back(traj.outputs[i]);
    const LossValue reference = EvaluateLoss(batch, at_edges, LossOptions());
    const GradientSummary s = LossAndGradient(*model, batch, LossOptions(), options, nullptr);
    REQUIRE(s.ok());
    // Euler makes the same calls; RK4 and the Dopri5 replay sum their stages in another order.
    CHECK(std::abs(s.loss - reference.loss) <= 1e-13 * reference.loss);
    CHECK(s.forward_steps == solve.steps);
  }
}

// A full-rank CTRNN over 300 Euler steps, stable (N = 20, gain 0.9) and chaotic (N = 50, gain 3,
// no input: a perturbation of x0 grows ~10⁴-fold). (At N ≈ 20 and gain 2 these networks settle on
// fixed points or limit cycles: growth below 100.) In the chaotic run the gradient is large and the
// loss strongly curved, so the central differences use h = 1e-7 (at h = 1e-6 their own O(h²) error
// is ~4e-7); the adjoint still matches them relatively. Differences on 24 random entries of θ.
TEST_CASE("the adjoint stays exact over long stable and chaotic runs", "[adjoint]") {
  struct LongRun {
    const char* name;
    Eigen::Index neurons;
    double gain;
    std::uint64_t seed;
    double input_scale;
    double h;
  };
  for (const LongRun& run :
       {LongRun{"stable", 20, 0.9, 7, 1.0, 1e-6}, LongRun{"chaotic", 50, 3.0, 8, 0.0, 1e-7}}) {
    DYNAMIC_SECTION(run.name) {
      auto model = MakeFromToml(
          "kind = 'ctrnn'\nN = " + std::to_string(run.neurons) +
              "\ninput_size = 1\ninit = 'gaussian'\ngain = " + std::to_string(run.gain),
          run.seed);
      Rng rng(9);
      Batch batch;
      for (int k = 0; k <= 150; ++k) batch.bin_edges.push_back(0.5 * k);
      for (int k = 0; k < 150; ++k) {
        batch.inputs.push_back(rng.NormalMatrix(1, 2, 1.0) * run.input_scale);
        batch.targets.push_back(rng.NormalMatrix(1, 2, 0.5));
      }
      GradientOptions options;
      options.integrate.dt = 0.25;  // 300 Euler steps

      // How much a perturbation of the initial state grows over the run.
      Eigen::MatrixXd x0 = model->initial_state().replicate(1, 2);
      Trajectory a, b;
      REQUIRE(Integrate(*model, batch, x0, options.integrate, &a).ok());
      x0.row(0).array() += 1e-9;
      REQUIRE(Integrate(*model, batch, x0, options.integrate, &b).ok());
      const double growth = (a.states.back() - b.states.back()).norm() / (std::sqrt(2.0) * 1e-9);
      INFO("growth of a perturbation of x0: " << growth);
      CHECK((run.gain < 1.0 ? growth < 1e-2 : growth > 1e3));

      Eigen::VectorXd g;
      const GradientSummary s = LossAndGradient(*model, batch, LossOptions(), options, &g);
      INFO(s.BriefReport());
      REQUIRE(s.ok());
      REQUIRE(s.forward_steps == 300);
      std::vector<Eigen::Index> which;
      for (int i = 0; i < 24; ++i) {
        which.push_back(
            static_cast<Eigen::Index>(rng.Uniform() * static_cast<double>(model->num_params())));
      }
      const Eigen::VectorXd fd =
          FiniteDifferences(model.get(), batch, LossOptions(), options, s.plan, which, run.h);
      INFO("|g| = " << g.norm() << ", picked |g| = " << Pick(g, which).norm());
      CHECK(RelErr(Pick(g, which), fd) < kTol);
    }
  }
}

TEST_CASE("checkpointing gives bit-identical gradients", "[adjoint]") {
  for (const char* toml : {"kind = 'nm_rnn'\nN = 7\nM = 3\nR = 2\ninput_size = 3\noutput_size = 2",
                           "kind = 'ctrnn'\nN = 5\ninput_size = 2\nform = 'rate'",
                           "kind = 'gru'\nN = 5\ninput_size = 2\noutput_size = 2"}) {
    auto model = MakeFromToml(toml, 4);
    Rng rng(2);
    Randomize(model.get(), &rng);
    std::vector<double> edges;
    for (int k = 0; k <= 7; ++k) edges.push_back(0.6 * k);
    const Batch batch = RandomBatch(*model, edges, 3, &rng);
    for (Stepper stepper : {Stepper::kEuler, Stepper::kRk4, Stepper::kDopri5}) {
      GradientOptions options;
      options.integrate.stepper = stepper;
      options.integrate.dt = 0.25;
      Eigen::VectorXd g0, g1;
      const GradientSummary s0 = LossAndGradient(*model, batch, LossOptions(), options, &g0);
      REQUIRE(s0.ok());
      CHECK(s0.recomputed_steps == 0);
      for (std::int64_t every : {1, 2, 3, 7, 100}) {
        INFO(model->kind() << ", " << StepperName(stepper) << ", every " << every);
        options.checkpoint_every_bins = every;
        const GradientSummary s1 = LossAndGradient(*model, batch, LossOptions(), options, &g1);
        REQUIRE(s1.ok());
        CHECK(s1.loss == s0.loss);
        CHECK((g1.array() == g0.array()).all());
        if (every < 7) CHECK(s1.recomputed_steps > 0);
        if (every < 7 && model->is_continuous() && stepper != Stepper::kDopri5) {
          CHECK(s1.stored_states < s0.stored_states);  // 3 steps per bin
        }
      }
    }
  }
}

TEST_CASE("blocks of trials on threads: the same numbers for any thread count", "[adjoint]") {
  // For every model and stepper: 4 blocks give bit-identical results on 1, 2 and 4 threads, and
  // agree with the whole batch in one block to round-off (only the order of the sums differs).
  for (const ModelCase& mc : kModels) {
    auto model = MakeFromToml(mc.toml, 4);
    Rng rng(5);
    Randomize(model.get(), &rng);
    std::vector<double> edges;
    for (int k = 0; k <= 6; ++k) edges.push_back(0.7 * k);
    const Batch batch = RandomBatch(*model, edges, 7, &rng);
    for (Stepper stepper : {Stepper::kEuler, Stepper::kRk4, Stepper::kDopri5}) {
      if (!model->is_continuous() && stepper != Stepper::kEuler) continue;
      INFO(mc.name << ", " << StepperName(stepper));
      GradientOptions options;
      options.integrate.stepper = stepper;
      options.integrate.dt = 0.35;
      Eigen::VectorXd whole, g;
      const GradientSummary s0 = LossAndGradient(*model, batch, LossOptions(), options, &whole);
      REQUIRE(s0.ok());
      options.trial_blocks = 4;
      Eigen::VectorXd reference;
      double reference_loss = 0.0;
      for (std::int64_t threads : {1, 2, 4}) {
        for (std::int64_t every : {0, 2}) {
          options.threads = threads;
          options.checkpoint_every_bins = every;
          const GradientSummary s = LossAndGradient(*model, batch, LossOptions(), options, &g);
          REQUIRE(s.ok());
          if (reference.size() == 0) {
            reference = g;
            reference_loss = s.loss;
          }
          CHECK(s.loss == reference_loss);
          CHECK((g.array() == reference.array()).all());
          CHECK(s.forward_steps == s0.forward_steps);
        }
      }
      CHECK(std::abs(reference_loss - s0.loss) <= 1e-14 * std::abs(s0.loss));
      CHECK(RelErr(reference, whole) < 1e-12);
    }
  }
}

TEST_CASE("threads: a block that diverges is reported like the whole batch", "[adjoint]") {
  auto model = MakeFromToml("kind = 'ctrnn'\nN = 4\ninput_size = 1\nphi = 'linear'", 1);
  model->SetParam("W_rec", 3.0 * Eigen::MatrixXd::Identity(4, 4));
  Batch batch;
  for (int k = 0; k <= 400; ++k) batch.bin_edges.push_back(k);
  for (int k = 0; k < 400; ++k) {
    Eigen::MatrixXd u = Eigen::MatrixXd::Zero(1, 5);
    u(0, 3) = 1.0;  // only trial 3 leaves the origin
    batch.inputs.push_back(u);
    batch.targets.push_back(Eigen::MatrixXd::Zero(model->output_size(), 5));
  }
  GradientOptions options;
  Eigen::VectorXd g;
  const GradientSummary whole = LossAndGradient(*model, batch, LossOptions(), options, &g);
  REQUIRE(whole.termination == Termination::kNonFinite);
  options.threads = 2;
  options.trial_blocks = 5;
  const GradientSummary blocked = LossAndGradient(*model, batch, LossOptions(), options, &g);
  CHECK(blocked.termination == Termination::kNonFinite);
  CHECK(blocked.message == whole.message);
  CHECK(g.array().isNaN().all());
  options.threads = -1;
  CHECK_THROWS_WITH(LossAndGradient(*model, batch, LossOptions(), options, &g),
                    Contains("GradientOptions.threads = -1"));
}

TEST_CASE("cross-entropy over active heads: value, gradient, inactive heads", "[adjoint]") {
  auto model = MakeFromToml(
      "kind = 'ctrnn'\nN = 6\ninput_size = 1\nform = 'rate'\nnum_heads = 2\nnum_classes = 2", 3);
  Rng rng(8);
  Randomize(model.get(), &rng);
  std::vector<double> edges;
  for (int k = 0; k <= 6; ++k) edges.push_back(k);
  Batch batch = RandomBatch(*model, edges, 5, &rng);
  // Labels of heads 0 and 1 in rows 0 and 1 of the last bin; rows 2 and 3 are not read.
  for (Eigen::Index b = 0; b < 5; ++b) {
    batch.targets.back()(0, b) = static_cast<double>(b % 2);
    batch.targets.back()(1, b) = static_cast<double>((b / 2) % 2);
  }
  batch.targets.back().row(2).setConstant(std::numeric_limits<double>::quiet_NaN());
  LossOptions loss;
  loss.kind = LossKind::kCrossEntropy;
  loss.num_classes = 2;
  GradientOptions options;
  options.integrate.stepper = Stepper::kRk4;
  options.integrate.dt = 0.5;

  Eigen::VectorXd g;
  GradientSummary s = LossAndGradient(*model, batch, loss, options, &g);
  REQUIRE(s.ok());
  // The value, by hand from Integrate's final outputs: Σ_heads mean_b (logsumexp − z_label).
  Trajectory traj;
  REQUIRE(Integrate(*model, batch, options.integrate, &traj).ok());
  const Eigen::MatrixXd& y = traj.outputs.back();
  double expected = 0.0;
  for (Eigen::Index h = 0; h < 2; ++h) {
    for (Eigen::Index b = 0; b < 5; ++b) {
      const auto label = static_cast<Eigen::Index>(batch.targets.back()(h, b));
      const double lse = std::log(std::exp(y(2 * h, b)) + std::exp(y(2 * h + 1, b)));
      expected += (lse - y(2 * h + label, b)) / 5.0;
    }
  }
  CHECK(s.loss == Approx(expected).epsilon(1e-12));
  CHECK(RelErr(g, FiniteDifferences(model.get(), batch, loss, options, s.plan)) < kTol);

  // Head 1 inactive: its readout rows get no gradient and its labels are not read.
  batch.mask.back().row(1).setZero();
  batch.targets.back()(1, 0) = 7.5;
  s = LossAndGradient(*model, batch, loss, options, &g);
  REQUIRE(s.ok());
  const ParamBlock& w_out = model->layout().Find("W_out");
  const Eigen::Map<const Eigen::MatrixXd> g_w_out = BlockView(w_out, g);
  CHECK(g_w_out.row(2).isZero(0.0));
  CHECK(g_w_out.row(3).isZero(0.0));
  CHECK_FALSE(g_w_out.row(0).isZero(0.0));
  CHECK(RelErr(g, FiniteDifferences(model.get(), batch, loss, options, s.plan)) < kTol);
}

TEST_CASE("loss values and dL/dy against finite differences", "[adjoint]") {
  Rng rng(4);
  Batch batch;
  const Eigen::Index o = 4, trials = 3, bins = 3;
  for (Eigen::Index k = 0; k <= bins; ++k) batch.bin_edges.push_back(static_cast<double>(k));
  for (Eigen::Index k = 0; k < bins; ++k) {
    batch.inputs.push_back(rng.NormalMatrix(1, trials, 1.0));
    batch.targets.push_back(rng.NormalMatrix(o, trials, 1.0));
    batch.mask.push_back(rng.UniformMatrix(o, trials, 0.0, 1.0));
  }
  batch.mask[1](2, 1) = 0.0;
  batch.targets[1](2, 1) = std::numeric_limits<double>::quiet_NaN();
  // The last bin: labels of heads 0 and 1 in rows 0 and 1, rows 2 and 3 (read by the MSEs only).
  batch.targets.back() << 0, 1, 1,  //
      1, 1, 0,                      //
      5, 5, 5,                      //
      5, 5, 5;
  std::vector<Eigen::MatrixXd> y;
  for (Eigen::Index k = 0; k <= bins; ++k) y.push_back(rng.NormalMatrix(o, trials, 1.0));

  SECTION("masked MSE by hand") {
    double num = 0.0, den = 0.0;
    for (Eigen::Index k = 0; k < bins; ++k) {
      for (Eigen::Index b = 0; b < trials; ++b) {
        for (Eigen::Index r = 0; r < o; ++r) {
          const double m = batch.mask[k](r, b);
          if (m == 0.0) continue;
          num += m * std::pow(y[k + 1](r, b) - batch.targets[k](r, b), 2);
          den += m;
        }
      }
    }
    CHECK(EvaluateLoss(batch, y, LossOptions()).loss == Approx(num / den).epsilon(1e-14));
    LossOptions final_mse;
    final_mse.kind = LossKind::kFinalMse;
    batch.mask.clear();
    CHECK(EvaluateLoss(batch, y, final_mse).loss ==
          Approx((y[3].topRows(2) - batch.targets[2].topRows(2)).squaredNorm() / 12.0 +
                 (y[3].bottomRows(2).array() - 5.0).square().sum() / 12.0)
              .epsilon(1e-14));
  }
  for (LossKind kind : {LossKind::kMaskedMse, LossKind::kFinalMse, LossKind::kCrossEntropy}) {
    DYNAMIC_SECTION("dL/dy of " << LossKindName(kind)) {
      LossOptions options;
      options.kind = kind;
      options.num_classes = 2;
      const LossValue value = EvaluateLoss(batch, y, options);
      REQUIRE(value.dl_dy.size() == static_cast<size_t>(bins + 1));
      CHECK(value.dl_dy[0].isZero(0.0));
      for (Eigen::Index k = 0; k <= bins; ++k) {
        Eigen::MatrixXd yk = y[k];
        const Eigen::VectorXd fd = NumericalGradient(
            [&](const Eigen::VectorXd& v) {
              std::vector<Eigen::MatrixXd> yy = y;
              yy[k] = Eigen::Map<const Eigen::MatrixXd>(v.data(), o, trials);
              return EvaluateLoss(batch, yy, options).loss;
            },
            Eigen::Map<const Eigen::VectorXd>(yk.data(), yk.size()));
        INFO("edge " << k);
        CHECK(RelErr(Eigen::Map<const Eigen::VectorXd>(value.dl_dy[k].data(), yk.size()),
                     fd,
                     1e-6) < 1e-8);
      }
    }
  }
  SECTION("cross-entropy is stable for huge logits") {
    LossOptions options;
    options.kind = LossKind::kCrossEntropy;
    y.back().setConstant(1000.0);
    y.back()(0, 0) = 1001.0;  // head 0, trial 0: label 0 with logits (1001, 1000)
    const LossValue value = EvaluateLoss(batch, y, options);
    REQUIRE(std::isfinite(value.loss));
    CHECK(value.dl_dy.back().allFinite());
    CHECK(value.dl_dy.back()(0, 0) ==
          Approx(-(1.0 - 1.0 / (1.0 + std::exp(-1.0))) * batch.mask.back()(0, 0) /
                 batch.mask.back().row(0).sum()));
  }
}

TEST_CASE("LossAndGradient and EvaluateLoss reject bad input by name", "[adjoint]") {
  auto model =
      MakeFromToml("kind = 'nm_rnn'\nN = 6\nM = 2\nR = 2\ninput_size = 3\noutput_size = 2");
  Rng rng(1);
  const Batch good = RandomBatch(*model, {0.0, 1.0, 2.0, 3.0}, 2, &rng);
  GradientOptions options;
  LossOptions loss;
  Eigen::VectorXd g;
  REQUIRE(LossAndGradient(*model, good, loss, options, &g).ok());

  Batch batch = good;
  for (auto& u : batch.inputs) u = Eigen::MatrixXd::Zero(2, 2);
  CHECK_THROWS_WITH(LossAndGradient(*model, batch, loss, options, &g),
                    Contains("batch has 2 input channels") && Contains("expects 3"));
  batch = good;
  batch.targets.clear();
  batch.mask.clear();
  CHECK_THROWS_WITH(LossAndGradient(*model, batch, loss, options, &g),
                    Contains("loss 'mse'") && Contains("no targets"));
  batch = good;
  for (auto& y : batch.targets) y = Eigen::MatrixXd::Zero(3, 2);
  batch.mask.clear();
  CHECK_THROWS_WITH(LossAndGradient(*model, batch, loss, options, &g),
                    Contains("targets[0] is 3x2, expected 2x2"));
  batch = good;
  batch.mask[1](0, 1) = -1.0;
  CHECK_THROWS_WITH(LossAndGradient(*model, batch, loss, options, &g), Contains("mask[1](0, 1)"));
  batch = good;
  batch.targets[0](1, 0) = std::numeric_limits<double>::quiet_NaN();
  batch.mask[0](1, 0) = 1.0;
  CHECK_THROWS_WITH(LossAndGradient(*model, batch, loss, options, &g),
                    Contains("targets[0](1, 0) is NaN"));
  for (auto& m : batch.mask) m.setZero();
  CHECK_THROWS_WITH(LossAndGradient(*model, batch, loss, options, &g),
                    Contains("mask is 0 on every entry"));

  LossOptions ce;
  ce.kind = LossKind::kCrossEntropy;
  ce.num_classes = 2;
  batch = good;
  batch.targets.back().setZero();
  batch.targets.back()(0, 1) = 2.0;
  CHECK_THROWS_WITH(LossAndGradient(*model, batch, ce, options, &g),
                    Contains("targets[2](0, 1) = 2") && Contains("class label in [0, 2)"));
  ce.num_classes = 3;
  CHECK_THROWS_WITH(LossAndGradient(*model, batch, ce, options, &g),
                    Contains("not heads of num_classes = 3"));
  CHECK_THROWS_WITH(ParseLossKind("l1", "train.loss"), Contains("train.loss = \"l1\""));

  std::vector<Eigen::MatrixXd> outputs(3, Eigen::MatrixXd::Zero(2, 2));
  CHECK_THROWS_WITH(EvaluateLoss(good, outputs, loss), Contains("3 outputs for 4 bin edges"));
  outputs.emplace_back(1, 2);
  CHECK_THROWS_WITH(EvaluateLoss(good, outputs, loss),
                    Contains("outputs_at_edges[3] is 1x2, expected 2x2"));

  options.checkpoint_every_bins = -1;
  CHECK_THROWS_WITH(LossAndGradient(*model, good, loss, options, &g),
                    Contains("checkpoint_every_bins = -1"));
  options.checkpoint_every_bins = 0;
  options.replay.bin_steps = {1, 1};
  options.replay.step_sizes = {1.0, 1.0};
  CHECK_THROWS_WITH(LossAndGradient(*model, good, loss, options, &g),
                    Contains("StepPlan: 2 step counts for 3 bins"));
  options.replay.bin_steps = {1, 2, 1};
  options.replay.step_sizes = {1.0, 0.5, 0.4, 1.0};
  CHECK_THROWS_WITH(LossAndGradient(*model, good, loss, options, &g),
                    Contains("steps of bin 1 add up to 0.9"));
}

TEST_CASE("a diverging run is a non-finite termination with a NaN gradient", "[adjoint]") {
  auto model = MakeFromToml(
      "kind = 'ctrnn'\nN = 3\ninput_size = 1\nphi = 'linear'\ntrain_tau = false\ntau = 1.0");
  model->SetParam("W_rec", Eigen::MatrixXd::Constant(3, 3, 1e80));
  Batch batch;
  for (int k = 0; k <= 20; ++k) batch.bin_edges.push_back(k);
  batch.inputs.assign(20, Eigen::MatrixXd::Zero(1, 2));
  batch.targets.assign(20, Eigen::MatrixXd::Zero(1, 2));
  for (Stepper stepper : {Stepper::kEuler, Stepper::kRk4, Stepper::kDopri5}) {
    GradientOptions options;
    options.integrate.stepper = stepper;
    Eigen::VectorXd g;
    const GradientSummary s = LossAndGradient(*model, batch, LossOptions(), options, &g);
    INFO(s.BriefReport());
    CHECK_FALSE(s.ok());
    CHECK((s.termination == Termination::kNonFinite ||
           s.termination == Termination::kStepSizeUnderflow));
    REQUIRE(g.size() == model->num_params());
    CHECK(g.array().isNaN().all());
  }
}

TEST_CASE("Runge-Kutta tableaux are consistent and the step is the RK4 formula", "[adjoint]") {
  for (const ButcherTableau* t : {&ClassicRk4Tableau(), &DormandPrince5Tableau()}) {
    INFO(t->name);
    CHECK(t->b.sum() == Approx(1.0).epsilon(1e-15));
    for (Eigen::Index i = 0; i < t->stages(); ++i) {
      CHECK(t->a.row(i).sum() == Approx(t->c(i)).margin(1e-15));
    }
  }
  // dx/dt = −x/τ on a fixed-τ linear CTRNN with no input: one RK4 step multiplies by the degree-4
  // Taylor polynomial of exp(−h/τ).
  auto model = MakeFromToml(
      "kind = 'ctrnn'\nN = 2\ninput_size = 1\nphi = 'linear'\ntrain_tau = false\ntau = 2.0\n"
      "biases = false");
  model->SetParam("W_rec", Eigen::MatrixXd::Zero(2, 2));
  const auto& cm = static_cast<const ContinuousModel&>(*model);
  ExplicitRungeKutta rk(ClassicRk4Tableau(), 2, 1);
  Eigen::MatrixXd x(2, 1), next(2, 1);
  x << 1.0, -3.0;
  const double h = 0.5, z = -h / 2.0;
  rk.Step(cm, x, Eigen::MatrixXd::Zero(1, 1), h, next);
  const double factor = 1 + z + z * z / 2 + z * z * z / 6 + z * z * z * z / 24;
  CHECK(RelErr(next, factor * x) < 1e-15);
}

}  // namespace
}  // namespace ctrnn
