// Optimizers and L-BFGS: AdamW / Adam (optax semantics) and SGD with momentum / Nesterov (PyTorch
// semantics) against steps written out by hand, the NM-RNN code's reset-every-k quirk, frozen
// entries bit for bit, non-finite gradients, L-BFGS on Rosenbrock and on a quadratic with a frozen
// coordinate, options that name the bad field, and trajectories cross-checked against PyTorch
// (tests/check_optimizers_torch.py, skipped when /usr/bin/python3 cannot import torch).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Cholesky>
#include <catch2/catch.hpp>

#include "lib/config.h"
#include "lib/params.h"
#include "lib/random.h"
#include "solvers/lbfgs.h"
#include "solvers/optimizer.h"

namespace ctrnn {
namespace {

using Catch::Matchers::Contains;

Eigen::VectorXd Vec(std::initializer_list<double> values) {
  Eigen::VectorXd v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (double x : values) v(i++) = x;
  return v;
}

// |actual − expected| ≤ tol entry by entry; the hand values below carry 17 digits.
void CheckNear(const Eigen::VectorXd& actual, const Eigen::VectorXd& expected, double tol = 1e-15) {
  REQUIRE(actual.size() == expected.size());
  for (Eigen::Index i = 0; i < actual.size(); ++i) {
    INFO("entry " << i << ": " << actual(i) << " vs " << expected(i));
    CHECK(std::abs(actual(i) - expected(i)) <= tol);
  }
}

bool BitIdentical(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  if (a.size() != b.size()) return false;
  for (Eigen::Index i = 0; i < a.size(); ++i) {
    if (!(a(i) == b(i)) || std::signbit(a(i)) != std::signbit(b(i))) return false;
  }
  return true;
}

const Eigen::VectorXd kTheta0 = Vec({1.0, -2.0, 0.5});

TEST_CASE("AdamW with element-wise clip and decoupled decay follows optax step by step",
          "[train]") {
  OptimizerOptions o;  // kind adamw, beta1 0.9, beta2 0.999, eps 1e-8
  o.lr = 0.1;
  o.weight_decay = 0.01;
  o.clip_value = 1.0;
  Optimizer opt(o, 3);
  Eigen::VectorXd theta = kTheta0;

  // Step 1: g = (0.5, −3, 0) clips to (0.5, −1, 0). m = 0.1 g, v = 0.001 g², 1 − β1 = 0.1,
  // 1 − β2 = 0.001, so m̂ = g and v̂ = g²: the Adam direction is g/(|g| + 1e-8).
  //   θ0 = 1 − 0.1·(0.5/(0.5 + 1e-8) + 0.01·1)       = 0.899000002 (− 4e-17)
  //   θ1 = −2 − 0.1·(−1/(1 + 1e-8) + 0.01·(−2))      = −1.898000001
  //   θ2 = 0.5 − 0.1·(0/(0 + 1e-8) + 0.01·0.5)       = 0.4995      (decay only)
  REQUIRE(opt.Step(Vec({0.5, -3.0, 0.0}), &theta));
  CHECK(opt.steps() == 1);
  CheckNear(opt.first_moment(), Vec({0.05, -0.1, 0.0}));
  CheckNear(opt.second_moment(), Vec({0.00025, 0.001, 0.0}));
  CheckNear(theta, Vec({0.89900000199999996, -1.898000001, 0.4995}));

  // Step 2: g = (−0.5, 2, 0.25) clips to (−0.5, 1, 0.25).
  //   m = 0.9 m + 0.1 g = (−0.005, 0.01, 0.025);  v = 0.999 v + 0.001 g² = (4.9975e-4, 1.999e-3,
  //   6.25e-5);  1 − 0.9² = 0.19, 1 − 0.999² = 0.001999, so v̂ = (0.25, 1, 0.0312656...) and
  //   θ0 = 0.899000002 − 0.1·((−0.005/0.19)/(0.5 + 1e-8) + 0.01·0.899000002), etc.
  REQUIRE(opt.Step(Vec({-0.5, 2.0, 0.25}), &theta));
  CheckNear(opt.first_moment(), Vec({-0.005, 0.01, 0.025}));
  CheckNear(opt.second_moment(), Vec({0.00049975, 0.001999, 0.0000625}));
  CheckNear(theta, Vec({0.90336415978747364, -1.9013651588411054, 0.42458682185172208}));

  // Step 3: g = (2, 0.1, −4) clips to (1, 0.1, −1); m = (0.0955, 0.019, −0.0775),
  // v = (1.49925025e-3, 2.007001e-3, 1.0624375e-3), corrections 0.271 and 0.002997001.
  REQUIRE(opt.Step(Vec({2.0, 0.1, -4.0}), &theta));
  CheckNear(opt.first_moment(), Vec({0.0955, 0.019, -0.0775}));
  CheckNear(theta, Vec({0.85263658193720537, -1.9080312905487349, 0.47219351416830974}));
}

TEST_CASE("Adam with eps 1e-7 (the EFT setting) has no decay and no clip", "[train]") {
  OptimizerOptions o;
  o.kind = OptimizerKind::kAdam;
  o.lr = 0.01;
  o.eps = 1e-7;
  o.weight_decay = 0.5;  // ignored by adam
  Optimizer opt(o, 3);
  Eigen::VectorXd theta = kTheta0;
  // Step 1: θ ← θ − 0.01·g/(|g| + 1e-7): (1 − 0.01·0.5/(0.5 + 1e-7), −2 + 0.01·3/(3 + 1e-7), 0.5).
  REQUIRE(opt.Step(Vec({0.5, -3.0, 0.0}), &theta));
  CheckNear(theta, Vec({0.9900000019999996, -1.9900000003333334, 0.5}));
  // Step 2: m = (−0.005, −0.07, 0.025), v = (4.9975e-4, 1.2991e-2, 6.25e-5), corrections 0.19 and
  // 0.001999.
  REQUIRE(opt.Step(Vec({-0.5, 2.0, 0.25}), &theta));
  CheckNear(opt.first_moment(), Vec({-0.005, -0.07, 0.025}));
  CheckNear(opt.second_moment(), Vec({0.00049975, 0.012991, 0.0000625}));
  CheckNear(theta, Vec({0.99052631768421018, -1.9885547950928597, 0.49255863597274879}));
  // Step 3: m = (0.1955, −0.053, −0.3775), v = (4.49925025e-3, 1.2988009e-2, 1.60624375e-2).
  REQUIRE(opt.Step(Vec({2.0, 0.1, -4.0}), &theta));
  CheckNear(theta, Vec({0.98463854811478713, -1.9876153341891833, 0.49857571014218893}));
}

TEST_CASE("SGD Nesterov with global-norm clip follows PyTorch step by step", "[train]") {
  OptimizerOptions o;  // the timescales paper: lr 0.05, momentum 0.1, Nesterov, clip norm 2
  o.kind = OptimizerKind::kSgd;
  o.lr = 0.05;
  o.momentum = 0.1;
  o.nesterov = true;
  o.clip_norm = 2.0;
  Optimizer opt(o, 3);
  Eigen::VectorXd theta = kTheta0;

  // Step 1: g = (3, 0, −4), ‖g‖ = 5, so g ← g·2/(5 + 1e-6) = (1.19999976..., 0, −1.59999968...).
  // b = g (first step); θ ← θ − 0.05·(g + 0.1 b) = θ − 0.055 g.
  REQUIRE(opt.Step(Vec({3.0, 0.0, -4.0}), &theta));
  CheckNear(opt.first_moment(), Vec({1.199999760000048, 0.0, -1.599999680000064}));
  CheckNear(theta, Vec({0.93400001319999737, -2.0, 0.58799998240000351}));

  // Step 2: g = (0.3, −0.4, 0), ‖g‖ = 0.5 < 2: unclipped. b = 0.1 b + g = (0.419999976..., −0.4,
  // −0.159999968...); θ ← θ − 0.05·(g + 0.1 b).
  REQUIRE(opt.Step(Vec({0.3, -0.4, 0.0}), &theta));
  CheckNear(opt.first_moment(), Vec({0.41999997600000483, -0.4, -0.1599999680000064}));
  CheckNear(theta, Vec({0.91690001331999738, -1.978, 0.58879998224000352}));

  // Step 3: g = (−1, 2, 2), ‖g‖ = 3: g ← g·2/(3 + 1e-6).
  REQUIRE(opt.Step(Vec({-1.0, 2.0, 2.0}), &theta));
  CheckNear(opt.first_moment(), Vec({-0.624666446844518, 1.293332888889037, 1.3173328920890364}));
  CheckNear(theta, Vec({0.9533566677764459, -2.0511333088888972, 0.51554667333510651}));
}

TEST_CASE("SGD with plain momentum (and dampening) follows PyTorch step by step", "[train]") {
  OptimizerOptions o;
  o.kind = OptimizerKind::kSgd;
  o.lr = 0.1;
  o.momentum = 0.9;
  const std::vector<Eigen::VectorXd> g = {
      Vec({1.0, -2.0, 0.5}), Vec({0.5, 0.0, -1.0}), Vec({0.0, 1.0, 1.0})};

  SECTION("no dampening: b ← 0.9 b + g, θ ← θ − 0.1 b") {
    Optimizer opt(o, 3);
    Eigen::VectorXd theta = kTheta0;
    REQUIRE(opt.Step(g[0], &theta));  // b = g = (1, −2, 0.5)
    CheckNear(theta, Vec({0.9, -1.8, 0.45}));
    REQUIRE(opt.Step(g[1], &theta));  // b = (1.4, −1.8, −0.55)
    CheckNear(opt.first_moment(), Vec({1.4, -1.8, -0.55}));
    CheckNear(theta, Vec({0.76, -1.62, 0.505}));
    REQUIRE(opt.Step(g[2], &theta));  // b = (1.26, −0.62, 0.505)
    CheckNear(theta, Vec({0.634, -1.558, 0.4545}));
  }
  SECTION("dampening 0.5: the first step is undamped, then b ← 0.9 b + 0.5 g") {
    o.dampening = 0.5;
    Optimizer opt(o, 3);
    Eigen::VectorXd theta = kTheta0;
    REQUIRE(opt.Step(g[0], &theta));  // b = g
    CheckNear(theta, Vec({0.9, -1.8, 0.45}));
    REQUIRE(opt.Step(g[1], &theta));  // b = (1.15, −1.8, −0.05)
    CheckNear(opt.first_moment(), Vec({1.15, -1.8, -0.05}));
    CheckNear(theta, Vec({0.785, -1.62, 0.455}));
    REQUIRE(opt.Step(g[2], &theta));  // b = (1.035, −1.12, 0.455)
    CheckNear(theta, Vec({0.6815, -1.508, 0.4095}));
  }
}

TEST_CASE("reset_every reproduces the NM-RNN loop: step k+1 is a fresh first step", "[train]") {
  Rng rng(7);
  auto random_vec = [&rng](Eigen::Index n) {
    Eigen::VectorXd v(n);
    for (Eigen::Index i = 0; i < n; ++i) v(i) = rng.Normal();
    return v;
  };
  for (OptimizerKind kind : {OptimizerKind::kAdamW, OptimizerKind::kSgd}) {
    INFO(OptimizerKindName(kind));
    OptimizerOptions o;
    o.kind = kind;
    o.momentum = 0.5;
    o.reset_every = 4;
    OptimizerOptions no_reset = o;
    no_reset.reset_every = 0;
    Optimizer opt(o, 5);
    Optimizer plain(no_reset, 5);
    Eigen::VectorXd theta = random_vec(5);
    Eigen::VectorXd theta_plain = theta;
    for (int k = 0; k < 4; ++k) {
      const Eigen::VectorXd g = random_vec(5);
      REQUIRE(opt.Step(g, &theta));
      REQUIRE(plain.Step(g, &theta_plain));
      CHECK(BitIdentical(theta, theta_plain));  // the same until the reset
    }
    CHECK(opt.steps() == 0);
    CHECK(opt.first_moment().isZero(0.0));
    CHECK(opt.second_moment().isZero(0.0));
    const Eigen::VectorXd g = random_vec(5);
    Optimizer fresh(no_reset, 5);
    Eigen::VectorXd theta_fresh = theta;
    REQUIRE(fresh.Step(g, &theta_fresh));
    REQUIRE(opt.Step(g, &theta));
    REQUIRE(plain.Step(g, &theta_plain));
    CHECK(BitIdentical(theta, theta_fresh));
    CHECK_FALSE(BitIdentical(theta_plain, theta_fresh));
    CHECK(opt.steps() == 1);
    // Steps 5..8 run, then the second reset.
    for (int k = 0; k < 3; ++k) REQUIRE(opt.Step(random_vec(5), &theta));
    CHECK(opt.steps() == 0);
  }
}

TEST_CASE("frozen entries stay bit-identical over many steps with decay and clipping on",
          "[train]") {
  ParamLayout layout;
  layout.Add("W", {3, 2}, "weights");
  layout.Add("b", {3}, "bias");
  layout.Add("c", {2}, "readout");
  const Eigen::VectorXd mask = TrainableMask(layout, {"W", "c"});
  CHECK(mask.segment(0, 6).isOnes(0.0));
  CHECK(mask.segment(6, 3).isZero(0.0));
  CHECK(mask.segment(9, 2).isOnes(0.0));
  CHECK(TrainableMask(layout, {}).isOnes(0.0));

  Rng rng(3);
  const Eigen::Index n = layout.size();
  std::vector<Eigen::Index> trainable;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (mask(i) == 1.0) trainable.push_back(i);
  }
  const auto nt = static_cast<Eigen::Index>(trainable.size());
  for (OptimizerKind kind : {OptimizerKind::kAdamW, OptimizerKind::kSgd}) {
    INFO(OptimizerKindName(kind));
    OptimizerOptions o;
    o.kind = kind;
    o.weight_decay = 0.1;
    o.momentum = 0.3;
    o.nesterov = true;
    o.clip_value = 1.5;
    o.clip_norm = 2.0;
    o.reset_every = 37;
    Optimizer opt(o, n);
    Optimizer subset(o, nt);  // the trainable entries alone, as the papers' code hands them over
    Eigen::VectorXd theta(n);
    for (Eigen::Index i = 0; i < n; ++i) theta(i) = rng.Normal();
    const Eigen::VectorXd theta0 = theta;
    Eigen::VectorXd theta_subset(nt);
    for (Eigen::Index k = 0; k < nt; ++k) theta_subset(k) = theta(trainable[k]);
    for (int step = 0; step < 1000; ++step) {
      Eigen::VectorXd g(n);
      for (Eigen::Index i = 0; i < n; ++i) {
        // Frozen gradient entries are never read: make them poison.
        g(i) = mask(i) == 1.0 ? 2.0 * rng.Normal() : std::numeric_limits<double>::quiet_NaN();
      }
      Eigen::VectorXd g_subset(nt);
      for (Eigen::Index k = 0; k < nt; ++k) g_subset(k) = g(trainable[k]);
      REQUIRE(opt.Step(g, mask, &theta));
      REQUIRE(subset.Step(g_subset, &theta_subset));
    }
    for (Eigen::Index i = 6; i < 9; ++i) {
      CHECK(theta(i) == theta0(i));
      CHECK(opt.first_moment()(i) == 0.0);
      CHECK(opt.second_moment()(i) == 0.0);
    }
    Eigen::VectorXd trained(nt);
    for (Eigen::Index k = 0; k < nt; ++k) trained(k) = theta(trainable[k]);
    CHECK(BitIdentical(trained, theta_subset));
    CHECK((trained - theta0(trainable)).norm() > 0.1);
  }
}

TEST_CASE("a non-finite gradient returns false and leaves theta and the state untouched",
          "[train]") {
  for (OptimizerKind kind : {OptimizerKind::kAdamW, OptimizerKind::kAdam, OptimizerKind::kSgd}) {
    INFO(OptimizerKindName(kind));
    OptimizerOptions o;
    o.kind = kind;
    o.clip_value = 1.0;  // a clip must not turn Inf into a finite step
    Optimizer opt(o, 3);
    Eigen::VectorXd theta = kTheta0;
    REQUIRE(opt.Step(Vec({0.1, 0.2, 0.3}), &theta));
    const Eigen::VectorXd before = theta;
    const Eigen::VectorXd m = opt.first_moment();
    const Eigen::VectorXd v = opt.second_moment();
    for (double bad : {std::numeric_limits<double>::quiet_NaN(),
                       std::numeric_limits<double>::infinity(),
                       -std::numeric_limits<double>::infinity()}) {
      CHECK_FALSE(opt.Step(Vec({0.1, bad, 0.3}), &theta));
      CHECK(BitIdentical(theta, before));
      CHECK(BitIdentical(opt.first_moment(), m));
      CHECK(BitIdentical(opt.second_moment(), v));
      CHECK(opt.steps() == 1);
    }
    // The same bad entry frozen is fine.
    CHECK(opt.Step(
        Vec({0.1, std::numeric_limits<double>::quiet_NaN(), 0.3}), Vec({1.0, 0.0, 1.0}), &theta));
    CHECK(theta(1) == before(1));
    CHECK(opt.steps() == 2);
  }
}

TEST_CASE("optimizer state round-trips through SetState", "[train]") {
  OptimizerOptions o;
  o.reset_every = 10;
  Optimizer a(o, 3);
  Eigen::VectorXd theta_a = kTheta0;
  for (int k = 0; k < 3; ++k) REQUIRE(a.Step(Vec({0.3, -0.2, k + 0.5}), &theta_a));
  Optimizer b(o, 3);
  b.SetState(a.steps(), a.first_moment(), a.second_moment());
  Eigen::VectorXd theta_b = theta_a;
  REQUIRE(a.Step(Vec({1.0, 2.0, 3.0}), &theta_a));
  REQUIRE(b.Step(Vec({1.0, 2.0, 3.0}), &theta_b));
  CHECK(BitIdentical(theta_a, theta_b));
  CHECK_THROWS_WITH(b.SetState(10, a.first_moment(), a.second_moment()), Contains("reset_every"));
  CHECK_THROWS_WITH(b.SetState(-1, a.first_moment(), a.second_moment()), Contains("steps = -1"));
  CHECK_THROWS_WITH(b.SetState(1, Vec({1.0}), a.second_moment()), Contains("expected 3"));
}

TEST_CASE("bad optimizer options and inputs name the field", "[train]") {
  auto throws_naming = [](const OptimizerOptions& o, const std::string& text) {
    INFO(text);
    CHECK_THROWS_WITH(o.Validate(), Contains(text));
    CHECK_THROWS_WITH(Optimizer(o, 3), Contains(text));
  };
  OptimizerOptions o;
  o.lr = 0.0;
  throws_naming(o, "OptimizerOptions.lr = 0");
  o = OptimizerOptions();
  o.beta1 = 1.0;
  throws_naming(o, "OptimizerOptions.beta1 = 1");
  o = OptimizerOptions();
  o.beta2 = -0.1;
  throws_naming(o, "OptimizerOptions.beta2");
  o = OptimizerOptions();
  o.eps = std::numeric_limits<double>::quiet_NaN();
  throws_naming(o, "OptimizerOptions.eps");
  o = OptimizerOptions();
  o.weight_decay = -1e-4;
  throws_naming(o, "OptimizerOptions.weight_decay");
  o = OptimizerOptions();
  o.clip_value = -1.0;
  throws_naming(o, "OptimizerOptions.clip_value = -1");
  o = OptimizerOptions();
  o.clip_norm = std::numeric_limits<double>::infinity();
  throws_naming(o, "OptimizerOptions.clip_norm");
  o = OptimizerOptions();
  o.reset_every = -3;
  throws_naming(o, "OptimizerOptions.reset_every = -3");
  o = OptimizerOptions();
  o.kind = OptimizerKind::kSgd;
  o.nesterov = true;
  throws_naming(o, "OptimizerOptions.nesterov");
  o.momentum = 0.1;
  o.dampening = 0.2;
  throws_naming(o, "dampening = 0.2");
  o.dampening = 1.5;
  o.nesterov = false;
  throws_naming(o, "OptimizerOptions.dampening = 1.5");

  Optimizer opt(OptimizerOptions(), 3);
  Eigen::VectorXd theta = kTheta0;
  CHECK_THROWS_WITH(opt.Step(Vec({1.0, 2.0}), &theta), Contains("num_params = 3"));
  CHECK_THROWS_WITH(opt.Step(Vec({1.0, 2.0, 3.0}), Vec({1.0, 0.5, 0.0}), &theta),
                    Contains("trainable(1) = 0.5"));
  CHECK(BitIdentical(theta, kTheta0));

  ParamLayout layout;
  layout.Add("U", {4, 2}, "");
  layout.Add("V", {4, 2}, "");
  CHECK_THROWS_WITH(TrainableMask(layout, {"U", "W_z"}),
                    Contains("TrainableMask") && Contains("'W_z'") && Contains("U V"));
}

TEST_CASE("optimizer options from a config table with kind-specific keys", "[train]") {
  {
    Config c = Config::ParseString("[optimizer]\nlr = 1e-3\nclip_value = 1.0\nreset_every = 1000\n",
                                   "test");
    const OptimizerOptions o = OptimizerOptionsFromConfig(&c.Sub("optimizer"));
    c.CheckAllUsed();
    CHECK(o.kind == OptimizerKind::kAdamW);
    CHECK(o.lr == 1e-3);
    CHECK(o.weight_decay == 1e-4);
    CHECK(o.clip_value == 1.0);
    CHECK(o.reset_every == 1000);
  }
  {
    Config c = Config::ParseString(
        "[optimizer]\nkind = 'sgd'\nlr = 0.05\nmomentum = 0.1\nnesterov = true\nclip_norm = 2\n",
        "test");
    const OptimizerOptions o = OptimizerOptionsFromConfig(&c.Sub("optimizer"));
    c.CheckAllUsed();
    CHECK(o.kind == OptimizerKind::kSgd);
    CHECK(o.nesterov);
    CHECK(o.momentum == 0.1);
    CHECK(o.clip_norm == 2.0);
  }
  {
    Config c = Config::ParseString("[optimizer]\nkind = 'adam'\neps = 1e-7\n", "test");
    const OptimizerOptions o = OptimizerOptionsFromConfig(&c.Sub("optimizer"));
    CHECK(o.eps == 1e-7);
    CHECK(o.weight_decay == 0.0);
  }
  auto error = [](const std::string& body) {
    Config c = Config::ParseString("[optimizer]\n" + body + "\n", "test");
    try {
      OptimizerOptionsFromConfig(&c.Sub("optimizer"));
      c.CheckAllUsed();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error("lr = -1.0"), Contains("optimizer.lr"));
  CHECK_THAT(error("kind = 'rmsprop'"), Contains("optimizer.kind"));
  CHECK_THAT(error("beta1 = 1.0"), Contains("optimizer.beta1"));
  CHECK_THAT(error("reset_every = -1"), Contains("optimizer.reset_every"));
  CHECK_THAT(error("kind = 'adam'\nweight_decay = 0.01"), Contains("weight_decay"));
  CHECK_THAT(error("kind = 'adamw'\nmomentum = 0.9"), Contains("momentum"));
  CHECK_THAT(error("kind = 'sgd'\nnesterov = true"), Contains("OptimizerOptions.nesterov"));
}

// ---- L-BFGS ------------------------------------------------------------------------------------

double Rosenbrock(const Eigen::VectorXd& p, Eigen::VectorXd* g) {
  const double x = p(0);
  const double y = p(1);
  if (g != nullptr) {
    g->resize(2);
    (*g)(0) = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x);
    (*g)(1) = 200.0 * (y - x * x);
  }
  return (1.0 - x) * (1.0 - x) + 100.0 * (y - x * x) * (y - x * x);
}

TEST_CASE("L-BFGS finds the Rosenbrock minimum", "[train]") {
  LbfgsOptions o;
  o.gradient_tolerance = 1e-12;
  o.function_tolerance = 1e-16;
  o.parameter_tolerance = 1e-16;
  std::vector<double> losses;
  o.callback = [&losses](const LbfgsIteration& it) {
    losses.push_back(it.loss);
    return true;
  };
  Eigen::VectorXd theta = Vec({-1.2, 1.0});
  const LbfgsSummary s = MinimizeLbfgs(Rosenbrock, o, &theta);
  INFO(s.BriefReport());
  CHECK(s.ok());
  CHECK(s.termination == LbfgsTermination::kConverged);
  CHECK(s.initial_loss == Approx(24.2));
  CHECK(s.final_loss < 1e-18);
  CHECK(s.final_loss == Rosenbrock(theta, nullptr));
  CHECK(std::abs(theta(0) - 1.0) < 1e-9);
  CHECK(std::abs(theta(1) - 1.0) < 1e-9);
  CHECK(s.iterations > 10);
  CHECK(s.iterations < 200);
  CHECK(s.num_trainable == 2);
  REQUIRE(!losses.empty());
  CHECK(losses.front() == Approx(24.2));
  CHECK_THAT(s.BriefReport(), Contains("L-BFGS: converged"));

  SECTION("max_iterations and the callback stop it early") {
    LbfgsOptions few;
    few.max_iterations = 3;
    Eigen::VectorXd t = Vec({-1.2, 1.0});
    const LbfgsSummary a = MinimizeLbfgs(Rosenbrock, few, &t);
    CHECK(a.termination == LbfgsTermination::kMaxIterations);
    CHECK(a.iterations == 3);
    CHECK(a.final_loss < a.initial_loss);
    CHECK(a.final_loss == Rosenbrock(t, nullptr));
    LbfgsOptions stop;
    stop.callback = [](const LbfgsIteration& it) { return it.iteration < 5; };
    t = Vec({-1.2, 1.0});
    const LbfgsSummary b = MinimizeLbfgs(Rosenbrock, stop, &t);
    CHECK(b.termination == LbfgsTermination::kStoppedByCallback);
    CHECK(b.iterations == 5);
    CHECK(b.ok());
  }
}

TEST_CASE("L-BFGS on a quadratic keeps a frozen coordinate bit-identical", "[train]") {
  // L = ½ (θ − c)ᵀ A (θ − c) with A symmetric positive definite.
  Eigen::MatrixXd a(4, 4);
  a << 4, 1, 0.5, 0,     //
      1, 3, 0.2, 0.1,    //
      0.5, 0.2, 2, 0.3,  //
      0, 0.1, 0.3, 1;
  const Eigen::VectorXd c = Vec({1.0, -2.0, 0.5, 3.0});
  const LbfgsObjective quadratic = [&](const Eigen::VectorXd& theta, Eigen::VectorXd* g) {
    const Eigen::VectorXd r = theta - c;
    const Eigen::VectorXd ar = a * r;
    if (g != nullptr) *g = ar;
    return 0.5 * r.dot(ar);
  };
  LbfgsOptions o;
  o.gradient_tolerance = 1e-13;
  o.function_tolerance = 0.0;
  o.parameter_tolerance = 0.0;

  SECTION("all trainable: the minimum is c") {
    Eigen::VectorXd theta = Eigen::VectorXd::Zero(4);
    const LbfgsSummary s = MinimizeLbfgs(quadratic, o, &theta);
    INFO(s.BriefReport());
    CHECK(s.termination == LbfgsTermination::kConverged);
    CHECK((theta - c).norm() < 1e-12);
  }
  SECTION("entry 2 frozen at 0.7: θ_T = c_T − A_TT⁻¹ A_TF (0.7 − c_F)") {
    o.trainable = Vec({1.0, 1.0, 0.0, 1.0});
    const double frozen = 0.7000000000000001;  // not a round number: any write would show
    Eigen::VectorXd theta = Vec({0.0, 0.0, frozen, 0.0});
    const LbfgsSummary s = MinimizeLbfgs(quadratic, o, &theta);
    INFO(s.BriefReport());
    CHECK(s.termination == LbfgsTermination::kConverged);
    CHECK(s.num_trainable == 3);
    CHECK(theta(2) == frozen);
    const std::vector<Eigen::Index> t = {0, 1, 3};
    const Eigen::MatrixXd a_tt = a(t, t);
    const Eigen::VectorXd a_tf = a(t, std::vector<Eigen::Index>{2});
    const Eigen::VectorXd expected = c(t) - a_tt.ldlt().solve(a_tf * (frozen - c(2)));
    CHECK((theta(t) - expected).norm() < 1e-12);
  }
  SECTION("a gradient entry that is NaN only where frozen is never read") {
    o.trainable = Vec({1.0, 1.0, 0.0, 1.0});
    Eigen::VectorXd theta = Vec({0.0, 0.0, 0.5, 0.0});
    const LbfgsObjective poisoned = [&](const Eigen::VectorXd& th, Eigen::VectorXd* g) {
      const double loss = quadratic(th, g);
      if (g != nullptr) (*g)(2) = std::numeric_limits<double>::quiet_NaN();
      return loss;
    };
    const LbfgsSummary s = MinimizeLbfgs(poisoned, o, &theta);
    CHECK(s.termination == LbfgsTermination::kConverged);
    CHECK((theta - c).norm() < 1e-12);  // frozen at c(2) = 0.5: the unconstrained minimum
  }
  SECTION("nothing trainable") {
    o.trainable = Eigen::VectorXd::Zero(4);
    Eigen::VectorXd theta = Eigen::VectorXd::Zero(4);
    const LbfgsSummary s = MinimizeLbfgs(quadratic, o, &theta);
    CHECK(s.termination == LbfgsTermination::kConverged);
    CHECK(s.evaluations == 1);
    CHECK(theta.isZero(0.0));
  }
}

TEST_CASE("L-BFGS reports non-finite losses instead of failing", "[train]") {
  SECTION("at the start: kNonFinite, theta untouched") {
    Eigen::VectorXd theta = Vec({0.3, -0.4});
    const LbfgsSummary s = MinimizeLbfgs(
        [](const Eigen::VectorXd& /*theta*/, Eigen::VectorXd* g) {
          if (g != nullptr) *g = Eigen::VectorXd::Zero(2);
          return std::numeric_limits<double>::quiet_NaN();
        },
        LbfgsOptions(),
        &theta);
    CHECK(s.termination == LbfgsTermination::kNonFinite);
    CHECK_FALSE(s.ok());
    CHECK(BitIdentical(theta, Vec({0.3, -0.4})));
    CHECK(s.non_finite_evaluations == 1);
    CHECK_THAT(s.BriefReport(), Contains("non-finite"));
  }
  SECTION("inside the line search: the step is shortened") {
    // √(1 + (x − 1.9)²) + y², NaN beyond x = 2. Far from the minimum the x part is nearly linear,
    // so the secant curvature is tiny and the steps grow until they overshoot into the NaN region.
    int nan_calls = 0;
    const LbfgsObjective f = [&nan_calls](const Eigen::VectorXd& p, Eigen::VectorXd* g) {
      if (p(0) > 2.0) {
        ++nan_calls;
        if (g != nullptr) *g = Eigen::VectorXd::Constant(2, std::nan(""));
        return std::numeric_limits<double>::quiet_NaN();
      }
      const double dx = p(0) - 1.9;
      const double r = std::sqrt(1.0 + dx * dx);
      if (g != nullptr) *g = Vec({dx / r, 2.0 * p(1)});
      return r + p(1) * p(1);
    };
    LbfgsOptions o;
    o.max_iterations = 500;
    o.gradient_tolerance = 1e-9;
    o.function_tolerance = 0.0;
    o.parameter_tolerance = 0.0;
    Eigen::VectorXd theta = Vec({-40.0, 1.0});
    const LbfgsSummary s = MinimizeLbfgs(f, o, &theta);
    INFO(s.BriefReport());
    CHECK(s.ok());
    CHECK(nan_calls > 0);
    CHECK(s.non_finite_evaluations == nan_calls);
    CHECK(std::abs(theta(0) - 1.9) < 1e-6);
    CHECK(std::abs(theta(1)) < 1e-6);
  }
}

TEST_CASE("bad L-BFGS options and inputs name the field", "[train]") {
  Eigen::VectorXd theta = Vec({0.0, 0.0});
  LbfgsOptions o;
  o.memory = 0;
  CHECK_THROWS_WITH(MinimizeLbfgs(Rosenbrock, o, &theta), Contains("LbfgsOptions.memory = 0"));
  o = LbfgsOptions();
  o.max_iterations = 0;
  CHECK_THROWS_WITH(MinimizeLbfgs(Rosenbrock, o, &theta), Contains("LbfgsOptions.max_iterations"));
  o = LbfgsOptions();
  o.gradient_tolerance = -1.0;
  CHECK_THROWS_WITH(o.Validate(), Contains("LbfgsOptions.gradient_tolerance = -1"));
  o = LbfgsOptions();
  o.trainable = Vec({1.0, 0.0, 1.0});
  CHECK_THROWS_WITH(MinimizeLbfgs(Rosenbrock, o, &theta), Contains("trainable has 3 entries"));
  o.trainable = Vec({1.0, 2.0});
  CHECK_THROWS_WITH(MinimizeLbfgs(Rosenbrock, o, &theta), Contains("trainable(1) = 2"));
  const LbfgsObjective short_gradient = [](const Eigen::VectorXd& /*t*/, Eigen::VectorXd* g) {
    if (g != nullptr) *g = Eigen::VectorXd::Zero(1);
    return 1.0;
  };
  CHECK_THROWS_WITH(MinimizeLbfgs(short_gradient, LbfgsOptions(), &theta),
                    Contains("gradient has 1 entries"));
  const LbfgsObjective throws = [](const Eigen::VectorXd& /*t*/, Eigen::VectorXd* /*g*/) -> double {
    throw std::runtime_error("objective exploded");
  };
  CHECK_THROWS_WITH(MinimizeLbfgs(throws, LbfgsOptions(), &theta), Contains("objective exploded"));
  CHECK(theta.isZero(0.0));
}

// ---- cross-check against PyTorch ---------------------------------------------------------------

// The problem of tests/check_optimizers_torch.py: θ0 = (1, −2, 0.5), g(θ) = A (θ − c).
Eigen::VectorXd TorchProblemGradient(const Eigen::VectorXd& theta) {
  const double a[3][3] = {{12.0, 4.0, 0.0}, {4.0, 8.0, 2.0}, {0.0, 2.0, 4.0}};
  const double c[3] = {0.3, -0.7, 1.1};
  Eigen::VectorXd g(3);
  for (int i = 0; i < 3; ++i) {
    double sum = 0.0;
    for (int j = 0; j < 3; ++j) sum += a[i][j] * (theta(j) - c[j]);
    g(i) = sum;
  }
  return g;
}

struct TorchScenario {
  OptimizerOptions options;
  Eigen::VectorXd trainable = Eigen::VectorXd::Ones(3);
  int steps = 10;
};

// The script's "key=value;..." spec as our options (the same defaults as the script's).
TorchScenario ParseScenario(const std::string& spec) {
  TorchScenario s;
  std::stringstream items(spec);
  std::string item;
  while (std::getline(items, item, ';')) {
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    OptimizerOptions& o = s.options;
    if (key == "kind") {
      o.kind = ParseOptimizerKind(value, "kind");
    } else if (key == "trainable") {
      for (int i = 0; i < 3; ++i) s.trainable(i) = value[static_cast<size_t>(2 * i)] == '1';
    } else if (key == "steps") {
      s.steps = std::stoi(value);
    } else if (key == "nesterov") {
      o.nesterov = value == "1";
    } else if (key == "reset_every") {
      o.reset_every = std::stoi(value);
    } else {
      const std::map<std::string, double*> fields = {{"lr", &o.lr},
                                                     {"beta1", &o.beta1},
                                                     {"beta2", &o.beta2},
                                                     {"eps", &o.eps},
                                                     {"weight_decay", &o.weight_decay},
                                                     {"momentum", &o.momentum},
                                                     {"dampening", &o.dampening},
                                                     {"clip_value", &o.clip_value},
                                                     {"clip_norm", &o.clip_norm}};
      REQUIRE(fields.count(key) == 1);
      *fields.at(key) = std::stod(value);
    }
  }
  return s;
}

bool PythonHasTorch() {
  return std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") == 0;
}

TEST_CASE("optimizer trajectories match torch.optim AdamW / Adam / SGD", "[train]") {
  if (!PythonHasTorch()) {
    WARN("skipped: /usr/bin/python3 cannot import torch (Debian: python3-torch)");
    return;
  }
  const std::vector<std::string> specs = {
      // torch.optim.AdamW decays θ by (1 − lr·wd) before the Adam step; optax adds wd·θ to the
      // direction. Both use the pre-update θ, so the trajectories agree; a large decay shows it.
      "kind=adamw;lr=0.05;weight_decay=0.1;clip_value=5;steps=30",
      "kind=adamw;lr=0.05;weight_decay=0.1;clip_norm=3;reset_every=7;trainable=1,0,1;steps=30",
      "kind=adam;lr=0.01;eps=1e-7;steps=30",
      "kind=sgd;lr=0.05;momentum=0.1;nesterov=1;clip_norm=2;steps=40",
      "kind=sgd;lr=0.02;momentum=0.9;dampening=0.3;reset_every=15;steps=40",
  };
  std::string command =
      "/usr/bin/python3 " + std::string(CTRNN_SOURCE_DIR) + "/tests/check_optimizers_torch.py";
  for (const std::string& spec : specs) command += " '" + spec + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe.get()) != nullptr) output += buffer;
  REQUIRE(pclose(pipe.release()) == 0);

  std::map<std::pair<int, int>, Eigen::VectorXd> torch_theta;
  std::istringstream lines(output);
  int scenario = 0;
  int step = 0;
  Eigen::VectorXd theta(3);
  while (lines >> scenario >> step >> theta(0) >> theta(1) >> theta(2)) {
    torch_theta[{scenario, step}] = theta;
  }
  for (size_t k = 0; k < specs.size(); ++k) {
    INFO(specs[k]);
    const TorchScenario s = ParseScenario(specs[k]);
    Optimizer opt(s.options, 3);
    Eigen::VectorXd ours = kTheta0;
    double worst = 0.0;
    for (int t = 1; t <= s.steps; ++t) {
      REQUIRE(opt.Step(TorchProblemGradient(ours), s.trainable, &ours));
      const auto it = torch_theta.find({static_cast<int>(k), t});
      REQUIRE(it != torch_theta.end());
      worst = std::max(worst, (ours - it->second).cwiseAbs().maxCoeff());
      for (int i = 0; i < 3; ++i) {
        if (s.trainable(i) == 0.0) CHECK(ours(i) == kTheta0(i));
      }
    }
    INFO("worst |θ_ours − θ_torch| = " << worst);
    CHECK(worst < 1e-12);
    // And the trajectory moved: the comparison is not vacuous.
    CHECK((ours - kTheta0).norm() > 0.1);
  }
}

}  // namespace
}  // namespace ctrnn
