// Detailed tests of the discrete-time baselines (LSTM, GRU, the timescales
// paper's Variant A): derivatives against central differences, batch against
// per-trial results, and each model against an independent scalar-loop
// implementation of its paper's equations.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <catch2/catch.hpp>

#include "lib/config.h"
#include "lib/model.h"
#include "lib/models/discrete_rnn.h"
#include "lib/models/gru.h"
#include "lib/models/lstm.h"
#include "lib/random.h"

namespace ctrnn {
namespace {

std::unique_ptr<DiscreteModel> Build(const std::string& kind,
                                     const std::string& toml,
                                     std::uint64_t seed) {
  Config config = Config::ParseString(toml, "test");
  std::unique_ptr<Model> model;
  if (kind == "lstm") model = Lstm::FromConfig(&config, seed);
  if (kind == "gru") model = Gru::FromConfig(&config, seed);
  if (kind == "discrete_rnn") model = DiscreteRnn::FromConfig(&config, seed);
  REQUIRE(model != nullptr);
  config.CheckAllUsed();
  REQUIRE(model->kind() == kind);
  REQUIRE_FALSE(model->is_continuous());
  return std::unique_ptr<DiscreteModel>(dynamic_cast<DiscreteModel*>(model.release()));
}

// Largest violation of |a - b| <= max(abs, rel |b|), elementwise; <= 0 means
// all entries pass.
double Violation(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double rel, double abs) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  double worst = -1.0;
  for (Eigen::Index j = 0; j < a.cols(); ++j) {
    for (Eigen::Index i = 0; i < a.rows(); ++i) {
      const double err = std::abs(a(i, j) - b(i, j));
      worst = std::max(worst, err - std::max(abs, rel * std::abs(b(i, j))));
    }
  }
  return worst;
}

#define CHECK_CLOSE(a, b, rel, abs)                                                             \
  do {                                                                                          \
    const Eigen::MatrixXd check_a_ = (a);                                                       \
    const Eigen::MatrixXd check_b_ = (b);                                                       \
    INFO(#a " vs " #b ": max |diff| = " << (check_a_ - check_b_).cwiseAbs().maxCoeff()          \
                                        << ", max |ref| = " << check_b_.cwiseAbs().maxCoeff()); \
    CHECK(Violation(check_a_, check_b_, rel, abs) <= 0.0);                                      \
  } while (0)

// Finite differences: the fourth-order central stencil with step 1e-4 has
// truncation error ~1e-16 and rounding error ~1e-12 at these sizes, far inside
// the tolerances.
constexpr double kFdStep = 1e-4;
constexpr double kFdRel = 1e-7;
constexpr double kFdAbs = 1e-9;

// d/de f(e) at e = 0: (f(−2e) − 8 f(−e) + 8 f(e) − f(2e)) / 12e.
template <typename F>
Eigen::MatrixXd CentralDifference(const F& f) {
  const double e = kFdStep;
  const Eigen::MatrixXd d = f(-2 * e) - 8.0 * f(-e) + 8.0 * f(e) - f(2 * e);
  return d / (12 * e);
}

struct Data {
  Eigen::MatrixXd h, u, lambda_next;
};

Data RandomData(const DiscreteModel& m, Eigen::Index batch, std::uint64_t seed) {
  Rng rng(seed);
  Data d;
  d.h = rng.NormalMatrix(m.state_size(), batch, 1.0);
  d.u = rng.NormalMatrix(m.input_size(), batch, 1.0);
  d.lambda_next = rng.NormalMatrix(m.state_size(), batch, 1.0);
  return d;
}

Eigen::MatrixXd StepOf(const DiscreteModel& m, const Eigen::MatrixXd& h, const Eigen::MatrixXd& u) {
  Eigen::MatrixXd out(m.state_size(), h.cols());
  m.Step(h, u, out);
  return out;
}

// The contract of one model instance; `m` is restored to its theta on return.
void CheckDerivatives(DiscreteModel* m) {
  const Eigen::Index s = m->state_size();
  const Eigen::Index p = m->num_params();
  const Data d = RandomData(*m, 3, 17);

  SECTION("StepJacobian vs central differences of Step") {
    for (Eigen::Index b = 0; b < 3; ++b) {
      const Eigen::VectorXd h = d.h.col(b);
      const Eigen::VectorXd u = d.u.col(b);
      const Eigen::MatrixXd jac = m->StepJacobian(h, u);
      REQUIRE(jac.rows() == s);
      REQUIRE(jac.cols() == s);
      Eigen::MatrixXd fd(s, s);
      for (Eigen::Index j = 0; j < s; ++j) {
        fd.col(j) = CentralDifference([&](double e) {
          Eigen::VectorXd hh = h;
          hh[j] += e;
          return StepOf(*m, hh, u);
        });
      }
      CHECK_CLOSE(jac, fd, kFdRel, kFdAbs);
    }
  }

  SECTION("StepVjp lambda equals StepJacobian^T lambda_next") {
    Eigen::MatrixXd lambda(s, 3);
    Eigen::VectorXd g = Eigen::VectorXd::Zero(p);
    m->StepVjp(d.h, d.u, d.lambda_next, lambda, g);
    for (Eigen::Index b = 0; b < 3; ++b) {
      const Eigen::MatrixXd jac = m->StepJacobian(d.h.col(b), d.u.col(b));
      const Eigen::VectorXd ref = jac.transpose() * d.lambda_next.col(b);
      CHECK_CLOSE(lambda.col(b), ref, 1e-12, 1e-14);
    }
  }

  SECTION("StepVjp g_theta accumulates finite differences of <lambda_next, Step>") {
    Rng rng(5);
    const Eigen::VectorXd g0 = rng.NormalMatrix(p, 1, 1.0);
    Eigen::VectorXd g = g0;
    Eigen::MatrixXd lambda(s, 3);
    m->StepVjp(d.h, d.u, d.lambda_next, lambda, g);
    const Eigen::VectorXd theta = m->theta();
    Eigen::VectorXd fd(p);
    for (Eigen::Index k = 0; k < p; ++k) {
      fd[k] = CentralDifference([&](double e) {
        Eigen::VectorXd t = theta;
        t[k] += e;
        m->SetTheta(t);
        const Eigen::MatrixXd f = StepOf(*m, d.h, d.u);
        return Eigen::MatrixXd::Constant(1, 1, (d.lambda_next.array() * f.array()).sum());
      })(0, 0);
    }
    m->SetTheta(theta);
    CHECK_CLOSE(g - g0, fd, kFdRel, kFdAbs);
  }

  SECTION("ReadoutVjp vs finite differences (state and theta), accumulating") {
    Rng rng(9);
    const Eigen::Index o = m->output_size();
    const Eigen::MatrixXd x = rng.NormalMatrix(s, 3, 1.0);
    const Eigen::MatrixXd ybar = rng.NormalMatrix(o, 3, 1.0);
    const Eigen::MatrixXd xbar0 = rng.NormalMatrix(s, 3, 1.0);
    const Eigen::VectorXd g0 = rng.NormalMatrix(p, 1, 1.0);
    Eigen::MatrixXd xbar = xbar0;
    Eigen::VectorXd g = g0;
    m->ReadoutVjp(x, ybar, xbar, g);
    // <ybar, Readout(x)> as a 1 x 1 matrix.
    auto objective = [&](const Eigen::MatrixXd& xx) {
      Eigen::MatrixXd y(o, xx.cols());
      m->Readout(xx, y);
      return Eigen::MatrixXd::Constant(1, 1, (ybar.array() * y.array()).sum());
    };
    Eigen::MatrixXd fd_x(s, 3);
    for (Eigen::Index b = 0; b < 3; ++b) {
      for (Eigen::Index i = 0; i < s; ++i) {
        fd_x(i, b) = CentralDifference([&](double e) {
          Eigen::MatrixXd xx = x;
          xx(i, b) += e;
          return objective(xx);
        })(0, 0);
      }
    }
    CHECK_CLOSE(xbar - xbar0, fd_x, kFdRel, kFdAbs);
    const Eigen::VectorXd theta = m->theta();
    Eigen::VectorXd fd_t(p);
    for (Eigen::Index k = 0; k < p; ++k) {
      fd_t[k] = CentralDifference([&](double e) {
        Eigen::VectorXd t = theta;
        t[k] += e;
        m->SetTheta(t);
        return objective(x);
      })(0, 0);
    }
    m->SetTheta(theta);
    CHECK_CLOSE(g - g0, fd_t, kFdRel, kFdAbs);
  }

  SECTION("a batch step equals per-trial steps; in-place calls agree") {
    const Eigen::MatrixXd batch = StepOf(*m, d.h, d.u);
    Eigen::MatrixXd lambda(s, 3);
    Eigen::VectorXd g = Eigen::VectorXd::Zero(p);
    m->StepVjp(d.h, d.u, d.lambda_next, lambda, g);
    Eigen::VectorXd g_sum = Eigen::VectorXd::Zero(p);
    for (Eigen::Index b = 0; b < 3; ++b) {
      const Eigen::MatrixXd one = StepOf(*m, d.h.col(b), d.u.col(b));
      CHECK_CLOSE(batch.col(b), one, 1e-15, 1e-15);
      Eigen::MatrixXd lambda_one(s, 1);
      m->StepVjp(d.h.col(b), d.u.col(b), d.lambda_next.col(b), lambda_one, g_sum);
      // W_h^T delta: a GEMM in the batch, a GEMV per trial (sums reordered).
      CHECK_CLOSE(lambda.col(b), lambda_one, 1e-14, 1e-15);
    }
    CHECK_CLOSE(g, g_sum, 1e-14, 1e-14);

    Eigen::MatrixXd in_place = d.h;
    m->Step(in_place, d.u, in_place);
    CHECK(in_place == batch);
    Eigen::MatrixXd lam_in_place = d.lambda_next;
    Eigen::VectorXd g2 = Eigen::VectorXd::Zero(p);
    m->StepVjp(d.h, d.u, lam_in_place, lam_in_place, g2);
    CHECK(lam_in_place == lambda);
    CHECK(g2 == g);
  }
}

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// -----------------------------------------------------------------------------
// LSTM

TEST_CASE("lstm: derivatives, batch, readout", "[model]") {
  const std::vector<std::string> configs = {
      "N = 5\ninput_size = 3\noutput_size = 2\n",
      "N = 4\ninput_size = 2\noutput_size = 3\nreadout_bias = true\n"
      "init = \"pytorch\"\nforget_bias = 1.0\ninitial_state = \"random\"\n",
  };
  for (const std::string& toml : configs) {
    DYNAMIC_SECTION(toml) {
      std::unique_ptr<DiscreteModel> m = Build("lstm", toml, 3);
      CheckDerivatives(m.get());
    }
  }
}

TEST_CASE("lstm: equals a scalar loop of the spec's equations", "[model]") {
  std::unique_ptr<DiscreteModel> m = Build("lstm", "N = 6\ninput_size = 3\noutput_size = 2\n", 11);
  const Eigen::Index n = 6, nu = 3;
  const Data d = RandomData(*m, 3, 23);
  const Eigen::MatrixXd w_u = m->Param("W_u");
  const Eigen::MatrixXd w_h = m->Param("W_h");
  const Eigen::VectorXd bias = m->Param("b");
  const Eigen::MatrixXd c_out = m->Param("C");

  Eigen::MatrixXd ref(2 * n, 3);
  for (Eigen::Index b = 0; b < 3; ++b) {
    for (Eigen::Index k = 0; k < n; ++k) {
      double pre[4];  // i, f, g, o
      for (int gate = 0; gate < 4; ++gate) {
        const Eigen::Index row = gate * n + k;
        double acc = bias[row];
        for (Eigen::Index j = 0; j < nu; ++j) acc += w_u(row, j) * d.u(j, b);
        for (Eigen::Index j = 0; j < n; ++j) acc += w_h(row, j) * d.h(j, b);
        pre[gate] = acc;
      }
      const double i = Sigmoid(pre[0]), f = Sigmoid(pre[1]);
      const double g = std::tanh(pre[2]), o = Sigmoid(pre[3]);
      const double c = f * d.h(n + k, b) + i * g;
      ref(k, b) = o * std::tanh(c);
      ref(n + k, b) = c;
    }
  }
  CHECK_CLOSE(StepOf(*m, d.h, d.u), ref, 1e-14, 1e-15);

  Eigen::MatrixXd y(2, 3);
  m->Readout(d.h, y);
  CHECK_CLOSE(y, c_out * d.h.topRows(n), 1e-15, 1e-15);  // no readout bias
}

TEST_CASE("lstm: options, sizes, init and initial states", "[model]") {
  // Parameter counts of nmrnn.md §3.4.
  CHECK(Build("lstm", "N = 15\n", 1)->num_params() == 1155);  // MWG
  CHECK(Build("lstm", "N = 8\ninput_size = 6\noutput_size = 3\n", 1)->num_params() ==
        504);                                                                // multitask
  CHECK(Build("lstm", "N = 10\ninput_size = 1\n", 1)->num_params() == 490);  // EFT

  std::unique_ptr<DiscreteModel> m = Build("lstm", "N = 15\n", 1);
  CHECK(m->state_size() == 30);
  CHECK(m->input_size() == 3);
  CHECK(m->output_size() == 1);
  CHECK(m->initial_state() == Eigen::VectorXd::Constant(30, 0.1));
  const std::vector<StateBlock> blocks = m->state_blocks();
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[0].name == "h");
  CHECK(blocks[0].offset == 0);
  CHECK(blocks[1].name == "c");
  CHECK(blocks[1].offset == 15);
  CHECK(blocks[1].size == 15);
  CHECK_FALSE(m->layout().Has("d"));
  CHECK(m->hyperparameters().size() == 7);

  // Same seed, same numbers; forget_bias shifts exactly b_f.
  std::unique_ptr<DiscreteModel> shifted = Build("lstm", "N = 15\nforget_bias = 1.5\n", 1);
  Eigen::VectorXd b = m->Param("b");
  b.segment(15, 15).array() += 1.5;
  CHECK(Eigen::VectorXd(shifted->Param("b")) == b);
  CHECK(Eigen::MatrixXd(shifted->Param("W_h")) == Eigen::MatrixXd(m->Param("W_h")));
  CHECK(Build("lstm", "N = 15\n", 2)->theta() != m->theta());

  // "nmrnn" init scales: N(0,1)/sqrt(U) input weights, N(0,1)/sqrt(N)
  // otherwise.
  std::unique_ptr<DiscreteModel> big = Build("lstm", "N = 200\ninput_size = 4\n", 7);
  const double sd_w_u = std::sqrt(big->Param("W_u").array().square().mean());
  const double sd_w_h = std::sqrt(big->Param("W_h").array().square().mean());
  CHECK(sd_w_u == Approx(0.5).epsilon(0.05));
  CHECK(sd_w_h == Approx(1.0 / std::sqrt(200.0)).epsilon(0.02));
  // "pytorch": weights within +-1/sqrt(N).
  std::unique_ptr<DiscreteModel> pt = Build("lstm", "N = 16\ninit = \"pytorch\"\n", 7);
  CHECK(pt->Param("W_h").cwiseAbs().maxCoeff() <= 0.25);

  std::unique_ptr<DiscreteModel> rnd = Build("lstm", "N = 4\ninitial_state = \"random\"\n", 3);
  CHECK(rnd->initial_state().size() == 8);
  CHECK(rnd->initial_state() ==
        Build("lstm", "N = 4\ninitial_state = \"random\"\n", 3)->initial_state());
  CHECK(Build("lstm", "N = 4\ninitial_state = \"zeros\"\n", 3)->initial_state().isZero(0.0));

  CHECK_THROWS_AS(Build("lstm", "N = 0\n", 1), std::invalid_argument);
  CHECK_THROWS_AS(Build("lstm", "init = \"xavier\"\n", 1), std::invalid_argument);
  CHECK_THROWS_AS(Build("lstm", "N = 4\nhidden = 3\n", 1),
                  std::invalid_argument);  // unknown key
}

// -----------------------------------------------------------------------------
// GRU

TEST_CASE("gru: derivatives, batch, readout", "[model]") {
  const std::vector<std::string> configs = {
      "N = 5\ninput_size = 2\noutput_size = 3\n",
      "N = 4\ninput_size = 3\noutput_size = 2\nreadout_bias = false\n"
      "init = \"nmrnn\"\ninitial_state = \"random\"\n",
  };
  for (const std::string& toml : configs) {
    DYNAMIC_SECTION(toml) {
      std::unique_ptr<DiscreteModel> m = Build("gru", toml, 4);
      CheckDerivatives(m.get());
    }
  }
}

TEST_CASE("gru: equals PyTorch's GRU formulas written as a loop", "[model]") {
  std::unique_ptr<DiscreteModel> m = Build("gru", "N = 6\ninput_size = 2\noutput_size = 3\n", 12);
  const Eigen::Index n = 6, nu = 2;
  const Data d = RandomData(*m, 3, 29);
  const Eigen::MatrixXd w_u = m->Param("W_u");
  const Eigen::MatrixXd w_h = m->Param("W_h");
  const Eigen::VectorXd b_u = m->Param("b_u");
  const Eigen::VectorXd b_h = m->Param("b_h");

  Eigen::MatrixXd ref(n, 3);
  for (Eigen::Index b = 0; b < 3; ++b) {
    for (Eigen::Index k = 0; k < n; ++k) {
      double gi[3], gh[3];  // W_i· u + b_i·,  W_h· h + b_h·  for r, z, n
      for (int gate = 0; gate < 3; ++gate) {
        const Eigen::Index row = gate * n + k;
        gi[gate] = b_u[row];
        gh[gate] = b_h[row];
        for (Eigen::Index j = 0; j < nu; ++j) gi[gate] += w_u(row, j) * d.u(j, b);
        for (Eigen::Index j = 0; j < n; ++j) gh[gate] += w_h(row, j) * d.h(j, b);
      }
      const double r = Sigmoid(gi[0] + gh[0]);
      const double z = Sigmoid(gi[1] + gh[1]);
      const double nn = std::tanh(gi[2] + r * gh[2]);
      ref(k, b) = (1.0 - z) * nn + z * d.h(k, b);
    }
  }
  CHECK_CLOSE(StepOf(*m, d.h, d.u), ref, 1e-14, 1e-15);

  Eigen::MatrixXd y(3, 3);
  m->Readout(d.h, y);
  const Eigen::MatrixXd y_ref =
      (Eigen::MatrixXd(m->Param("C")) * d.h).colwise() + Eigen::VectorXd(m->Param("d"));
  CHECK_CLOSE(y, y_ref, 1e-15, 1e-15);
}

TEST_CASE("gru: options, sizes and initial states", "[model]") {
  std::unique_ptr<DiscreteModel> m = Build("gru", "N = 8\ninput_size = 1\n", 1);
  CHECK(m->num_params() == 3 * (8 + 64 + 16) + 2 * 8 + 2);
  CHECK(m->state_size() == 8);
  CHECK(m->output_size() == 2);
  CHECK(m->initial_state().isZero(0.0));
  REQUIRE(m->state_blocks().size() == 1);
  CHECK(m->state_blocks()[0].name == "h");
  // PyTorch init: every entry within +-1/sqrt(N).
  CHECK(m->theta().cwiseAbs().maxCoeff() <= 1.0 / std::sqrt(8.0));
  CHECK(Build("gru", "N = 8\ninitial_state = \"constant\"\n", 1)->initial_state() ==
        Eigen::VectorXd::Constant(8, 0.1));
  CHECK_FALSE(Build("gru", "N = 8\nreadout_bias = false\n", 1)->layout().Has("d"));
  CHECK_THROWS_AS(Build("gru", "initial_state = \"ones\"\n", 1), std::invalid_argument);
}

// -----------------------------------------------------------------------------
// Variant A discrete RNN

// Sets tau to a mix of clamped (< tau_min) and free values, none within 1e-3 of
// the clamp.
void MixTau(DiscreteModel* m, double tau_min) {
  if (!m->layout().Has("tau")) return;
  Eigen::VectorXd tau = m->Param("tau");
  for (Eigen::Index i = 0; i < tau.size(); ++i) {
    tau[i] = (i % 3 == 0) ? 0.5 * tau_min : tau_min + 0.2 + 0.7 * double(i) / double(tau.size());
  }
  m->SetParam("tau", tau);
}

TEST_CASE("discrete_rnn: derivatives, batch, readout", "[model]") {
  const std::vector<std::string> configs = {
      "N = 5\ninput_size = 2\nnum_heads = 2\nnum_classes = 2\n",
      "N = 6\ninput_size = 3\nphi = \"tanh\"\nzero_diagonal = false\n",
      "N = 4\ninput_size = 2\nphi = \"sigmoid\"\ntrain_tau = false\n"
      "tau = 2.5\n",
      "N = 5\ninput_size = 3\nphi = \"relu\"\ntau_min = 1.5\n",
      "N = 4\ninput_size = 2\nphi = \"linear\"\nnum_heads = 3\n",
  };
  for (const std::string& toml : configs) {
    DYNAMIC_SECTION(toml) {
      std::unique_ptr<DiscreteModel> m = Build("discrete_rnn", toml, 6);
      Config c = Config::ParseString(toml, "t");
      MixTau(m.get(), c.GetDouble("tau_min", 1.0, 0.0, 1e9));
      CheckDerivatives(m.get());
    }
  }
}

// The spec's equation (timescales §1.1, Variant A) as a loop, clamp included.
// W_rec's diagonal is read from theta, so a nonzero diagonal written into theta
// must be ignored under zero_diagonal.
Eigen::MatrixXd VariantAReference(const DiscreteModel& m,
                                  const Eigen::MatrixXd& h,
                                  const Eigen::MatrixXd& u,
                                  bool zero_diagonal,
                                  double tau_min,
                                  double leak) {
  const Eigen::Index n = m.state_size();
  const Eigen::MatrixXd w_in = m.Param("W_in");
  const Eigen::VectorXd b_in = m.Param("b_in");
  const Eigen::MatrixXd w_rec = m.Param("W_rec");
  const Eigen::VectorXd b_rec = m.Param("b_rec");
  const Eigen::VectorXd tau = m.Param("tau");
  Eigen::MatrixXd out(n, h.cols());
  for (Eigen::Index b = 0; b < h.cols(); ++b) {
    for (Eigen::Index i = 0; i < n; ++i) {
      double drive = b_rec[i] + b_in[i];
      for (Eigen::Index j = 0; j < n; ++j) {
        if (zero_diagonal && i == j) continue;
        drive += w_rec(i, j) * h(j, b);
      }
      for (Eigen::Index j = 0; j < u.rows(); ++j) drive += w_in(i, j) * u(j, b);
      const double tt = std::max(tau[i], tau_min);
      const double v = (1.0 - 1.0 / tt) * h(i, b) + (1.0 / tt) * drive;
      out(i, b) = v > 0.0 ? v : leak * v;
    }
  }
  return out;
}

TEST_CASE("discrete_rnn: equals the Variant A equation written as a loop", "[model]") {
  for (const bool zero_diagonal : {true, false}) {
    DYNAMIC_SECTION("zero_diagonal = " << zero_diagonal) {
      std::ostringstream toml;
      toml << "N = 6\ninput_size = 2\ntau_min = 1.2\nzero_diagonal = "
           << (zero_diagonal ? "true" : "false") << "\n";
      std::unique_ptr<DiscreteModel> m = Build("discrete_rnn", toml.str(), 8);
      MixTau(m.get(), 1.2);
      Eigen::MatrixXd w_rec = m->Param("W_rec");
      w_rec.diagonal().setConstant(0.7);  // must be ignored under zero_diagonal
      m->SetParam("W_rec", w_rec);
      const Data d = RandomData(*m, 3, 31);
      CHECK_CLOSE(StepOf(*m, d.h, d.u),
                  VariantAReference(*m, d.h, d.u, zero_diagonal, 1.2, 0.01),
                  1e-14,
                  1e-15);
    }
  }
}

TEST_CASE("discrete_rnn: zero diagonal gives an exactly zero diagonal gradient", "[model]") {
  std::unique_ptr<DiscreteModel> m = Build("discrete_rnn", "N = 5\ninput_size = 2\n", 2);
  CHECK(Eigen::MatrixXd(m->Param("W_rec")).diagonal().isZero(0.0));
  const Data d = RandomData(*m, 3, 3);
  const Eigen::Index p = m->num_params();
  const ParamBlock& w_rec = m->layout().Find("W_rec");

  Eigen::VectorXd g = Eigen::VectorXd::Zero(p);
  Eigen::MatrixXd lambda(5, 3);
  m->StepVjp(d.h, d.u, d.lambda_next, lambda, g);
  CHECK(BlockView(w_rec, g).diagonal().isZero(0.0));
  CHECK_FALSE(BlockView(w_rec, g).isZero(0.0));

  // Accumulation leaves whatever diagonal the caller had exactly as it was.
  Rng rng(1);
  const Eigen::VectorXd g0 = rng.NormalMatrix(p, 1, 1.0);
  Eigen::VectorXd g1 = g0;
  m->StepVjp(d.h, d.u, d.lambda_next, lambda, g1);
  CHECK(Eigen::VectorXd(BlockView(w_rec, g1).diagonal()) ==
        Eigen::VectorXd(BlockView(w_rec, g0).diagonal()));

  // tau below the clamp gets no gradient.
  MixTau(m.get(), 1.0);
  Eigen::VectorXd g2 = Eigen::VectorXd::Zero(p);
  m->StepVjp(d.h, d.u, d.lambda_next, lambda, g2);
  const Eigen::VectorXd g_tau = BlockView(m->layout().Find("tau"), g2);
  CHECK(g_tau[0] == 0.0);
  CHECK(g_tau[3] == 0.0);
  CHECK(g_tau[1] != 0.0);
}

TEST_CASE("discrete_rnn: options, sizes, init and initial state", "[model]") {
  std::unique_ptr<DiscreteModel> m = Build("discrete_rnn", "", 1);
  CHECK(m->state_size() == 500);
  CHECK(m->input_size() == 1);
  CHECK(m->output_size() == 2);
  CHECK(m->num_params() == 500 + 500 + 500 + 250000 + 500 + 1000 + 2);
  const Eigen::VectorXd tau = m->Param("tau");
  CHECK(tau.minCoeff() >= 1.0);
  CHECK(tau.maxCoeff() < 2.0);
  CHECK(m->Param("W_in").cwiseAbs().maxCoeff() <= 1.0);
  CHECK(m->Param("W_in").cwiseAbs().maxCoeff() > 0.9);  // U(-1, 1) for U = 1
  CHECK(m->Param("W_rec").cwiseAbs().maxCoeff() <= 1.0 / std::sqrt(500.0));
  CHECK(m->initial_state().minCoeff() >= 0.0);
  CHECK(m->initial_state().maxCoeff() < 0.1);
  CHECK(m->initial_state().maxCoeff() > 0.09);

  std::unique_ptr<DiscreteModel> heads =
      Build("discrete_rnn", "N = 4\nnum_heads = 100\nnum_classes = 2\noutput_size = 200\n", 1);
  CHECK(heads->output_size() == 200);
  CHECK(heads->Param("W_out").rows() == 200);
  CHECK_THROWS_AS(Build("discrete_rnn", "N = 4\nnum_heads = 3\noutput_size = 2\n", 1),
                  std::invalid_argument);

  // Fixed tau: no tau block, every neuron leaks with 1/max(tau, tau_min).
  std::unique_ptr<DiscreteModel> fixed =
      Build("discrete_rnn",
            "N = 3\ninput_size = 1\ntrain_tau = false\ntau = 4.0\nphi = \"linear\"\n"
            "zero_diagonal = true\n",
            1);
  CHECK_FALSE(fixed->layout().Has("tau"));
  fixed->SetParam("W_rec", Eigen::MatrixXd::Zero(3, 3));
  fixed->SetParam("W_in", Eigen::MatrixXd::Zero(3, 1));
  fixed->SetParam("b_in", Eigen::VectorXd::Zero(3));
  fixed->SetParam("b_rec", Eigen::VectorXd::Constant(3, 2.0));
  Eigen::MatrixXd h = Eigen::MatrixXd::Constant(3, 1, 1.0);
  const Eigen::MatrixXd h1 = StepOf(*fixed, h, Eigen::MatrixXd::Zero(1, 1));
  CHECK(h1(0, 0) == Approx(0.75 * 1.0 + 0.25 * 2.0));
  // `tau` beside train_tau = true is not read, so the strict config rejects it.
  CHECK_THROWS_AS(Build("discrete_rnn", "N = 3\ntau = 2.0\n", 1), std::invalid_argument);
  CHECK_THROWS_AS(Build("discrete_rnn", "N = 3\nphi = \"softsign\"\n", 1), std::invalid_argument);
  CHECK(
      Build("discrete_rnn", "N = 3\ninitial_state = \"zeros\"\n", 1)->initial_state().isZero(0.0));
}

}  // namespace
}  // namespace ctrnn
