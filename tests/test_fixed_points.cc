// Fixed and slow points (solvers/fixed_points.h) and linearisation (solvers/linearize.h): closed
// forms first (a 1-D bistable unit, its ghost, a linear network, a rank-1 network, the
// linear-symmetric NM-RNN at frozen s), then the NM-RNN's frozen-s Jacobian against central
// differences, maps, subspace search against full search, de-duplication and outliers.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/archive.h"
#include "lib/models/low_rank.h"
#include "lib/models/nm_rnn.h"
#include "solvers/fixed_points.h"
#include "solvers/linearize.h"
#include "tests/cli_testing.h"
#include "tests/testing.h"

namespace ctrnn {
namespace {

using testing::MakeFromToml;
using testing::NumericalJacobian;
using testing::RelErr;

// dx/dt = −x + w tanh(x) + b: a one-neuron CTRNN with τ = 1 (b enters as b_rec).
std::unique_ptr<Model> BistableUnit(double w, double b) {
  auto model = MakeFromToml(
      "kind = 'ctrnn'\nN = 1\ninput_size = 1\ntrain_tau = false\ntau = 1.0\nreadout_bias = false");
  model->SetParam("W_rec", Eigen::MatrixXd::Constant(1, 1, w));
  model->SetParam("W_in", Eigen::MatrixXd::Zero(1, 1));
  model->SetParam("b_in", Eigen::MatrixXd::Zero(1, 1));
  model->SetParam("b_rec", Eigen::MatrixXd::Constant(1, 1, b));
  return model;
}

// The positive root of x = w tanh(x) (w > 1), by Newton's method from x = w.
double BistableRoot(double w) {
  double x = w;
  for (int i = 0; i < 100; ++i) {
    const double t = std::tanh(x);
    x -= (x - w * t) / (1.0 - w * (1.0 - t * t));
  }
  return x;
}

Eigen::MatrixXd Linspace(double lo, double hi, Eigen::Index k) {
  return Eigen::RowVectorXd::LinSpaced(k, lo, hi);
}

// The kept point closest to x (one-dimensional models).
Eigen::Index Nearest(const FixedPoints& fps, double x) {
  Eigen::Index best = 0;
  (fps.xstar.row(0).array() - x).abs().minCoeff(&best);
  return best;
}

TEST_CASE("a 1-D bistable unit has three fixed points, the middle one unstable", "[fixed_points]") {
  const double w = 2.0;
  auto model = BistableUnit(w, 0.0);
  const double root = BistableRoot(w);
  REQUIRE(root == Approx(1.9150080).epsilon(1e-6));
  FixedPoints fps;
  const FixedPointSummary s = FindFixedPoints(
      *model, Eigen::VectorXd::Zero(1), Linspace(-3, 3, 13), FixedPointOptions(), &fps);
  INFO(s.BriefReport());
  REQUIRE(s.ok());
  REQUIRE(s.num_fixed == 3);
  CHECK(s.num_slow == 0);
  CHECK(s.num_duplicates == 10);  // 13 seeds, 3 distinct points
  CHECK(s.max_q <= 1e-20);
  Linearization lin;
  const LinearizeSummary ls = Linearize(fps.J_xstar, LinearizeOptions(), &lin);
  CHECK(ls.num_stable == 2);
  for (const double x : {-root, 0.0, root}) {
    const Eigen::Index k = Nearest(fps, x);
    CHECK(fps.xstar(0, k) == Approx(x).margin(1e-10));
    CHECK(fps.is_fixed[static_cast<std::size_t>(k)]);
    const double t = std::tanh(x);
    const double lambda = -1.0 + w * (1.0 - t * t);  // the closed-form eigenvalue
    CHECK(fps.J_xstar[static_cast<std::size_t>(k)](0, 0) == Approx(lambda).margin(1e-10));
    CHECK(lin.eigenvalues[static_cast<std::size_t>(k)](0).real() == Approx(lambda).margin(1e-10));
    CHECK(lin.eigenvalues[static_cast<std::size_t>(k)](0).imag() == 0.0);
    CHECK(lin.timescales[static_cast<std::size_t>(k)](0) == Approx(-1.0 / lambda).epsilon(1e-9));
    CHECK(lin.is_stable[static_cast<std::size_t>(k)] == (x != 0.0));
    CHECK(std::abs(fps.F_xstar(0, k)) < 1e-10);  // f(x*) of a continuous model
  }
  // Sorted by q, and each x_init is one of the seeds.
  for (Eigen::Index k = 1; k < fps.qstar.size(); ++k) CHECK(fps.qstar(k - 1) <= fps.qstar(k));
  for (Eigen::Index k = 0; k < fps.x_init.cols(); ++k) {
    const double scaled = (fps.x_init(0, k) + 3.0) / 0.5;
    CHECK(scaled == Approx(std::round(scaled)).margin(1e-12));
  }
}

TEST_CASE("past the saddle-node, the ghost is a slow point at the minimum of |f|",
          "[fixed_points]") {
  // f(x) = −x + 2 tanh(x) + 0.6: the left pair of roots has vanished; |f| has a local minimum
  // f(−x_m) = x_m − 2 tanh(x_m) + 0.6 at x_m = acosh(√2), where f'(x) = 0.
  const double b = 0.6;
  auto model = BistableUnit(2.0, b);
  const double xm = std::acosh(std::sqrt(2.0));
  const double f_ghost = xm - 2.0 * std::tanh(xm) + b;
  REQUIRE(f_ghost > 0.0);
  FixedPoints fps;
  FixedPointOptions options;
  SECTION("the default slow threshold drops it") {
    const FixedPointSummary s =
        FindFixedPoints(*model, Eigen::VectorXd::Zero(1), Linspace(-3, 3, 13), options, &fps);
    INFO(s.BriefReport());
    CHECK(s.num_fixed == 1);
    CHECK(s.num_slow == 0);
    CHECK(s.num_above_slow > 0);
  }
  SECTION("a higher threshold keeps it, labelled slow") {
    options.slow_q_threshold = 0.01;
    const FixedPointSummary s =
        FindFixedPoints(*model, Eigen::VectorXd::Zero(1), Linspace(-3, 3, 13), options, &fps);
    INFO(s.BriefReport());
    REQUIRE(s.num_fixed == 1);
    REQUIRE(s.num_slow == 1);
    const Eigen::Index k = Nearest(fps, -xm);
    CHECK_FALSE(fps.is_fixed[static_cast<std::size_t>(k)]);
    CHECK(fps.xstar(0, k) == Approx(-xm).margin(1e-4));
    CHECK(fps.qstar(k) == Approx(0.5 * f_ghost * f_ghost).epsilon(1e-6));
    CHECK(s.max_q == fps.qstar(k));
  }
}

TEST_CASE("a linear network has one fixed point with the eigenvalues of (W - I)/tau",
          "[fixed_points]") {
  auto model = MakeFromToml(
      "kind = 'ctrnn'\nN = 6\ninput_size = 2\nphi = 'linear'\ntrain_tau = false\ntau = 3.0\n"
      "init = 'gaussian'\ngain = 0.6",
      5);
  const Eigen::MatrixXd w = model->Param("W_rec");
  const Eigen::VectorXd bias = model->Param("b_rec") + model->Param("b_in");
  const Eigen::VectorXd u = (Eigen::VectorXd(2) << 0.7, -0.4).finished();
  const Eigen::MatrixXd a = w - Eigen::MatrixXd::Identity(6, 6);
  const Eigen::VectorXd x_star = -a.fullPivLu().solve(model->Param("W_in") * u + bias);
  Rng rng(3);
  const Eigen::MatrixXd seeds = rng.NormalMatrix(6, 20, 2.0);
  FixedPoints fps;
  const FixedPointSummary s = FindFixedPoints(*model, u, seeds, FixedPointOptions(), &fps);
  INFO(s.BriefReport());
  REQUIRE(s.num_fixed == 1);
  CHECK(s.num_duplicates == 19);
  CHECK(RelErr(fps.xstar.col(0), x_star) < 1e-10);
  CHECK(RelErr(fps.J_xstar[0], a / 3.0) < 1e-14);

  Linearization lin;
  Linearize(fps.J_xstar, LinearizeOptions(), &lin);
  Eigen::VectorXcd expected = (a / 3.0).eigenvalues();
  std::vector<std::complex<double>> want(expected.data(), expected.data() + 6);
  std::sort(want.begin(), want.end(), [](auto p, auto q) {
    return p.real() != q.real() ? p.real() > q.real() : p.imag() > q.imag();
  });
  for (Eigen::Index i = 0; i < 6; ++i) {
    CHECK(std::abs(lin.eigenvalues[0](i) - want[static_cast<std::size_t>(i)]) < 1e-12);
    // J v = λ v for the stored eigenvector.
    const Eigen::VectorXcd v = lin.eigenvectors[0].col(i);
    CHECK((fps.J_xstar[0].cast<std::complex<double>>() * v - lin.eigenvalues[0](i) * v).norm() <
          1e-12);
    CHECK(v.norm() == Approx(1.0));
  }
  CHECK(lin.is_stable[0] == (want[0].real() < 0.0));
}

TEST_CASE("an almost-line attractor: both linear solvers, the fixed point to round-off",
          "[fixed_points]") {
  // A linear network whose W − I has eigenvalues −1e-8 (an almost-continuous attractor: J's
  // condition number 2e8) and −1 … −2, with the input chosen so that x* = Q·1 is O(1). LM has to
  // move along the slow direction where the gradient Jᵀf is ~1e-8 times smaller than across it.
  const Eigen::Index n = 30;
  auto model = MakeFromToml(
      "kind = 'ctrnn'\nN = 30\ninput_size = 1\nphi = 'linear'\n"
      "train_tau = false\ntau = 1.0\nbiases = false");
  Rng rng(12);
  const Eigen::MatrixXd q =
      Eigen::HouseholderQR<Eigen::MatrixXd>(rng.NormalMatrix(n, n, 1.0)).householderQ();
  Eigen::VectorXd lambda = Eigen::VectorXd::LinSpaced(n, -1.0, -2.0);
  lambda(0) = -1e-8;
  const Eigen::MatrixXd a = q * lambda.asDiagonal() * q.transpose();  // W − I
  model->SetParam("W_rec", a + Eigen::MatrixXd::Identity(n, n));
  const Eigen::VectorXd x_star = q * Eigen::VectorXd::Ones(n);
  model->SetParam("W_in", -a * x_star);  // f(x*) = 0 at u = 1
  const Eigen::VectorXd u = Eigen::VectorXd::Ones(1);
  const Eigen::MatrixXd seeds = rng.NormalMatrix(n, 8, 1.0);
  for (const auto solver :
       {FixedPointLinearSolver::kDenseQr, FixedPointLinearSolver::kDenseNormalCholesky}) {
    FixedPointOptions options;
    options.linear_solver = solver;
    FixedPoints fps;
    const FixedPointSummary s = FindFixedPoints(*model, u, seeds, options, &fps);
    INFO((solver == FixedPointLinearSolver::kDenseQr ? "QR" : "Cholesky")
         << ": " << s.BriefReport());
    CHECK(s.num_fixed >= 1);
    CHECK(s.num_slow == 0);
    CHECK(s.num_above_slow == 0);
    // q ≤ tol_q pins x* down to √(2 q)/|λ_min| along the slow mode (1.4e-2 here) and to
    // √(2 q)/1 across it: the points found differ only along the slow direction q.col(0).
    for (Eigen::Index k = 0; k < fps.xstar.cols(); ++k) {
      const Eigen::VectorXd d = fps.xstar.col(k) - x_star;
      const double along = q.col(0).dot(d);
      // (1e-4: f is evaluated with round-off ~1e-15, i.e. 1e-5 of |f| ~ 1e-10.)
      CHECK(std::abs(along) <= std::sqrt(2.0 * fps.qstar(k)) / 1e-8 * (1.0 + 1e-4));
      CHECK((d - along * q.col(0)).norm() <= 1e-9);
    }
  }
}

// A rank-1 network with W = 2.5 L Lᵀ (L = m/|m|): x = κ L + B u at every fixed point.
std::unique_ptr<Model> RankOne(std::uint64_t seed) {
  auto model = MakeFromToml(
      "kind = 'low_rank'\nN = 8\nR = 1\ninput_size = 2\nscale_by_N = true\ntau = 4.0", seed);
  const auto& lr = static_cast<const LowRank&>(*model);
  model->SetParam("V", 2.5 * 8.0 * lr.left_factors());  // g = 1/N
  return model;
}

TEST_CASE("a rank-1 network's fixed points lie on its line; subspace search agrees",
          "[fixed_points]") {
  auto model = RankOne(11);
  const auto& lr = static_cast<const LowRank&>(*model);
  const Eigen::VectorXd l = lr.left_factors().col(0);
  Rng rng(4);
  const Eigen::MatrixXd seeds = rng.NormalMatrix(8, 30, 1.5);
  for (const double scale : {0.0, 0.05}) {
    const Eigen::VectorXd u = scale * Eigen::VectorXd::Ones(2);
    const Eigen::VectorXd c = model->Param("B") * u;
    FixedPoints full, sub;
    FixedPointOptions options;
    const FixedPointSummary s_full = FindFixedPoints(*model, u, seeds, options, &full);
    options.subspace = true;
    const FixedPointSummary s_sub = FindFixedPoints(*model, u, seeds, options, &sub);
    INFO("u scale " << scale << "\n" << s_full.BriefReport() << "\n" << s_sub.BriefReport());
    CHECK(s_full.search_dimension == 8);
    CHECK(s_sub.search_dimension == 1);
    if (scale == 0.0) CHECK(s_full.num_fixed == 3);  // 0 and ±κ*
    REQUIRE(s_full.num_fixed >= 1);
    REQUIRE(s_sub.num_fixed == s_full.num_fixed);
    for (Eigen::Index k = 0; k < full.xstar.cols(); ++k) {
      const Eigen::VectorXd d = full.xstar.col(k) - c;
      CHECK((d - l * l.dot(d)).norm() < 1e-9);  // on the line c + span(L)
      // The same point was found in the subspace.
      double nearest = std::numeric_limits<double>::infinity();
      for (Eigen::Index j = 0; j < sub.xstar.cols(); ++j) {
        nearest = std::min(nearest, (sub.xstar.col(j) - full.xstar.col(k)).norm());
      }
      CHECK(nearest < 1e-9);
    }
    for (Eigen::Index j = 0; j < sub.xstar.cols(); ++j) CHECK(sub.qstar(j) <= 1e-20);
  }
}

TEST_CASE("the NM-RNN x-network at frozen s matches the full model and its Jacobian",
          "[fixed_points][model]") {
  for (const char* toml :
       {"kind = 'nm_rnn'\nN = 7\nM = 3\nR = 2\ninput_size = 3\noutput_size = 2",
        "kind = 'nm_rnn'\nN = 6\nM = 2\nR = 3\northonormalize_U = false\nscale_by_N = true",
        "kind = 'nm_rnn'\nN = 6\nM = 4\nR = 2\ninput_size = 5\nx_input_size = 3",
        "kind = 'nm_rnn'\nN = 6\nM = 2\nR = 2\nlinear_symmetric = true"}) {
    INFO(toml);
    auto model = MakeFromToml(toml, 9);
    const auto& nm = static_cast<const NmRnn&>(*model);
    const Eigen::Index m = nm.options().num_nm, n = nm.options().num_neurons;
    Rng rng(2);
    const Eigen::VectorXd state = rng.NormalMatrix(m + n, 1, 0.8);
    const Eigen::VectorXd u = rng.NormalMatrix(model->input_size(), 1, 1.0);
    // s = σ(A_z z + b_z) at this state, as the model records it.
    std::vector<Eigen::MatrixXd> extras;
    nm.Extras(state, u, &extras);
    const Eigen::VectorXd s = extras.at(0).col(0);
    Eigen::VectorXd full(m + n);
    Eigen::Map<Eigen::MatrixXd> full_col(full.data(), m + n, 1);
    nm.Rhs(state, u, full_col);
    const Eigen::VectorXd x = state.tail(n);
    CHECK(RelErr(nm.XRhsAtS(x, s, u), full.tail(n)) < 1e-14);
    CHECK(RelErr(nm.XJacobianAtS(x, s, u), nm.Jacobian(state, u).bottomRightCorner(n, n)) < 1e-14);
    const Eigen::MatrixXd numeric = NumericalJacobian(
        [&](const Eigen::VectorXd& v) { return Eigen::VectorXd(nm.XRhsAtS(v, s, u)); }, x);
    CHECK(RelErr(nm.XJacobianAtS(x, s, u), numeric) < 1e-8);
    CHECK_THROWS_AS(nm.XRhsAtS(x, s.head(s.size() - 1), u), std::invalid_argument);
  }
}

TEST_CASE("the linear-symmetric NM-RNN at frozen s: one fixed point, modes tau_x/(1 - s_k)",
          "[fixed_points]") {
  // φ = id and V = L orthonormal: f_x = (−x + L diag(s) Lᵀ x + B_x u)/τ_x is linear, with
  // eigenvalues (s_k − 1)/τ_x on span(L) and −1/τ_x on its complement.
  auto model = MakeFromToml(
      "kind = 'nm_rnn'\nN = 8\nM = 2\nR = 2\ninput_size = 2\nlinear_symmetric = true\ntau_x = 10.0",
      21);
  const auto& nm = static_cast<const NmRnn&>(*model);
  const Eigen::MatrixXd& l = nm.left_factors();
  const Eigen::VectorXd s = (Eigen::VectorXd(2) << 0.9, 0.3).finished();
  const Eigen::VectorXd u = (Eigen::VectorXd(2) << 0.5, -1.0).finished();
  const Eigen::MatrixXd a = l * s.asDiagonal() * l.transpose() - Eigen::MatrixXd::Identity(8, 8);
  const Eigen::VectorXd x_star = -a.fullPivLu().solve(nm.XInputDrive(u));
  Rng rng(8);
  FixedPointOptions options;
  options.frozen_s = s;
  FixedPoints fps;
  const FixedPointSummary s_full =
      FindFixedPoints(*model, u, rng.NormalMatrix(8, 12, 1.0), options, &fps);
  INFO(s_full.BriefReport());
  REQUIRE(s_full.num_fixed == 1);
  CHECK(RelErr(fps.xstar.col(0), x_star) < 1e-10);
  Linearization lin;
  Linearize(fps.J_xstar, LinearizeOptions(), &lin);
  CHECK(lin.timescales[0](0) == Approx(10.0 / (1.0 - 0.9)).epsilon(1e-10));
  CHECK(lin.timescales[0](1) == Approx(10.0 / (1.0 - 0.3)).epsilon(1e-10));
  for (Eigen::Index i = 2; i < 8; ++i) CHECK(lin.timescales[0](i) == Approx(10.0).epsilon(1e-10));
  CHECK(lin.is_stable[0]);

  options.subspace = true;
  FixedPoints sub;
  const FixedPointSummary s_sub =
      FindFixedPoints(*model, u, rng.NormalMatrix(8, 12, 1.0), options, &sub);
  CHECK(s_sub.search_dimension == 2);
  REQUIRE(s_sub.num_fixed == 1);
  CHECK(RelErr(sub.xstar.col(0), x_star) < 1e-10);
}

TEST_CASE("NM-RNN fixed points: full (z, x) and frozen-s searches, full space and subspace",
          "[fixed_points]") {
  auto model = MakeFromToml("kind = 'nm_rnn'\nN = 12\nM = 3\nR = 2\ninput_size = 3", 4);
  const auto& nm = static_cast<const NmRnn&>(*model);
  const Eigen::Index m = 3, n = 12;
  const Eigen::VectorXd u = (Eigen::VectorXd(3) << 0.2, 0.0, -0.3).finished();
  Rng rng(6);
  const Eigen::MatrixXd seeds = rng.NormalMatrix(m + n, 16, 1.0);
  FixedPointOptions options;
  FixedPoints full, sub;
  const FixedPointSummary s_full = FindFixedPoints(*model, u, seeds, options, &full);
  options.subspace = true;
  const FixedPointSummary s_sub = FindFixedPoints(*model, u, seeds, options, &sub);
  INFO(s_full.BriefReport() << "\n" << s_sub.BriefReport());
  CHECK(s_sub.search_dimension == m + 2);
  REQUIRE(s_full.num_fixed >= 1);
  REQUIRE(s_sub.num_fixed == s_full.num_fixed);
  for (Eigen::Index k = 0; k < full.xstar.cols(); ++k) {
    Eigen::VectorXd f(m + n);
    Eigen::Map<Eigen::MatrixXd> f_col(f.data(), m + n, 1);
    nm.Rhs(full.xstar.col(k), u, f_col);
    CHECK(0.5 * f.squaredNorm() <= 1e-20);
    CHECK(RelErr(full.J_xstar[static_cast<std::size_t>(k)], nm.Jacobian(full.xstar.col(k), u)) ==
          0.0);
    CHECK((sub.xstar.col(k) - full.xstar.col(k)).norm() < 1e-9);
  }

  // Frozen s: the x-network at the s of the first full fixed point has that point's x as a fixed
  // point.
  std::vector<Eigen::MatrixXd> extras;
  nm.Extras(full.xstar.col(0), u, &extras);
  options.subspace = false;
  options.frozen_s = extras.at(0).col(0);
  FixedPoints frozen;
  const FixedPointSummary s_frozen =
      FindFixedPoints(*model, u, seeds.bottomRows(n), options, &frozen);
  INFO(s_frozen.BriefReport());
  REQUIRE(s_frozen.num_fixed >= 1);
  double nearest = std::numeric_limits<double>::infinity();
  for (Eigen::Index k = 0; k < frozen.xstar.cols(); ++k) {
    nearest = std::min(nearest, (frozen.xstar.col(k) - full.xstar.col(0).tail(n)).norm());
  }
  CHECK(nearest < 1e-8);
  CHECK_THROWS_AS(FindFixedPoints(*model, u, seeds, options, &frozen), std::invalid_argument);
}

TEST_CASE("maps: fixed points of h = F(h, u), J_xstar = dF/dh, timescales -dt/ln|mu|",
          "[fixed_points]") {
  for (const char* toml : {"kind = 'gru'\nN = 5\ninput_size = 2\noutput_size = 2",
                           "kind = 'discrete_rnn'\nN = 6\ninput_size = 1\nnum_heads = 2",
                           "kind = 'lstm'\nN = 4\ninput_size = 2\noutput_size = 2"}) {
    INFO(toml);
    auto model = MakeFromToml(toml, 3);
    const auto& map = static_cast<const DiscreteModel&>(*model);
    const Eigen::Index s = model->state_size();
    const Eigen::VectorXd u = 0.3 * Eigen::VectorXd::Ones(model->input_size());
    Rng rng(1);
    FixedPoints fps;
    const FixedPointSummary summary =
        FindFixedPoints(*model, u, rng.NormalMatrix(s, 10, 0.5), FixedPointOptions(), &fps);
    INFO(summary.BriefReport());
    REQUIRE(summary.num_fixed >= 1);
    CHECK(fps.discrete);
    for (Eigen::Index k = 0; k < fps.xstar.cols(); ++k) {
      const Eigen::VectorXd h = fps.xstar.col(k);
      auto step = [&](const Eigen::VectorXd& v) {
        Eigen::VectorXd next(s);
        Eigen::Map<Eigen::MatrixXd> col(next.data(), s, 1);
        map.Step(v, u, col);
        return next;
      };
      CHECK((step(h) - h).norm() < 1e-9);
      CHECK(RelErr(fps.F_xstar.col(k), step(h)) < 1e-15);
      CHECK(RelErr(fps.J_xstar[static_cast<std::size_t>(k)], NumericalJacobian(step, h)) < 1e-7);
    }
    LinearizeOptions lo;
    lo.discrete = true;
    lo.dt = 2.0;
    Linearization lin;
    Linearize(fps.J_xstar, lo, &lin);
    const Eigen::VectorXcd& mu = lin.eigenvalues[0];
    for (Eigen::Index i = 0; i < s; ++i) {
      CHECK(lin.timescales[0](i) == Approx(-2.0 / std::log(std::abs(mu(i)))));
      if (i > 0) CHECK(std::abs(mu(i - 1)) >= std::abs(mu(i)));
    }
    CHECK(lin.is_stable[0] == (std::abs(mu(0)) < 1.0));
  }
}

TEST_CASE("linearization conventions on known spectra", "[fixed_points]") {
  SECTION("continuous: tau = -1/Re(lambda), sorted by Re descending") {
    Eigen::MatrixXd j = Eigen::MatrixXd::Zero(4, 4);
    j(0, 0) = -0.5;
    j(1, 1) = 0.2;
    j.block(2, 2, 2, 2) << -0.1, 3.0, -3.0, -0.1;  // −0.1 ± 3i
    Linearization lin;
    const LinearizeSummary s = Linearize({j}, LinearizeOptions(), &lin);
    CHECK(s.num_stable == 0);
    CHECK_FALSE(lin.is_stable[0]);
    CHECK(lin.eigenvalues[0](0).real() == Approx(0.2));
    CHECK(lin.timescales[0](0) == Approx(-5.0));  // growing
    CHECK(lin.eigenvalues[0](1).imag() == Approx(3.0));
    CHECK(lin.eigenvalues[0](2).imag() == Approx(-3.0));
    CHECK(lin.timescales[0](1) == Approx(10.0));
    CHECK(lin.timescales[0](2) == Approx(10.0));
    CHECK(lin.timescales[0](3) == Approx(2.0));
    CHECK_THAT(lin.convention, Catch::Matchers::Contains("-1/Re(lambda_i)"));
    Linearize({Eigen::MatrixXd::Zero(1, 1)}, LinearizeOptions(), &lin);
    CHECK(std::isinf(lin.timescales[0](0)));
    CHECK_FALSE(lin.is_stable[0]);
  }
  SECTION("discrete: tau = -dt/ln|mu|, sorted by |mu| descending") {
    const Eigen::MatrixXd j = Eigen::Vector3d(0.5, -0.9, 0.99).asDiagonal();
    LinearizeOptions options;
    options.discrete = true;
    options.dt = 2.0;
    Linearization lin;
    const LinearizeSummary s = Linearize({j}, options, &lin);
    CHECK(s.num_stable == 1);
    CHECK(lin.eigenvalues[0](0).real() == Approx(0.99));
    CHECK(lin.eigenvalues[0](1).real() == Approx(-0.9));
    CHECK(lin.timescales[0](0) == Approx(-2.0 / std::log(0.99)));
    CHECK(lin.timescales[0](1) == Approx(-2.0 / std::log(0.9)));
    CHECK(lin.timescales[0](2) == Approx(2.0 / std::log(2.0)));
    CHECK_THAT(lin.convention, Catch::Matchers::Contains("-dt/ln|mu_i| with dt = 2"));
    const Eigen::MatrixXd unstable = Eigen::Vector2d(1.2, 0.1).asDiagonal();
    Linearize({unstable}, options, &lin);
    CHECK_FALSE(lin.is_stable[0]);
    CHECK(lin.timescales[0](0) < 0.0);
  }
  SECTION("bad input is named") {
    Linearization lin;
    LinearizeOptions options;
    options.dt = 0.0;
    CHECK_THROWS_WITH(Linearize({Eigen::MatrixXd::Identity(2, 2)}, options, &lin),
                      Catch::Matchers::Contains("LinearizeOptions.dt"));
    CHECK_THROWS_WITH(Linearize({Eigen::MatrixXd::Zero(2, 3)}, LinearizeOptions(), &lin),
                      Catch::Matchers::Contains("Jacobian 0 is 2 x 3"));
  }
}

TEST_CASE("de-duplication and distance outliers", "[fixed_points]") {
  auto model = BistableUnit(2.0, 0.0);
  const Eigen::VectorXd u = Eigen::VectorXd::Zero(1);
  FixedPoints fps;
  FixedPointOptions options;
  SECTION("tol_unique larger than the spacing merges all three into the lowest-q one") {
    options.tol_unique = 10.0;
    const FixedPointSummary s = FindFixedPoints(*model, u, Linspace(-3, 3, 13), options, &fps);
    CHECK(s.num_fixed == 1);
    CHECK(s.num_duplicates == 12);
  }
  SECTION("tol_unique = 0 keeps every seed's point") {
    options.tol_unique = 0.0;
    const FixedPointSummary s = FindFixedPoints(*model, u, Linspace(-3, 3, 13), options, &fps);
    CHECK(s.num_fixed == 13);
    CHECK(s.num_duplicates == 0);
  }
  SECTION("points far from a tight cloud of seeds are outliers") {
    // Seeds in [0.5, 0.6]: mean distance from their centroid 0.55 is 0.025; the points they reach
    // (0 or 1.915) are 22 and 55 such distances away.
    const Eigen::MatrixXd seeds = Linspace(0.5, 0.6, 11);
    const FixedPointSummary kept = FindFixedPoints(
        *model,
        u,
        seeds,
        [] {
          FixedPointOptions o;
          o.exclude_distance_outliers = false;
          return o;
        }(),
        &fps);
    REQUIRE(kept.num_fixed >= 1);
    CHECK(kept.num_outliers == 0);
    const FixedPointSummary dropped = FindFixedPoints(*model, u, seeds, options, &fps);
    CHECK(dropped.num_fixed == 0);
    CHECK(dropped.num_outliers == kept.num_fixed);
    CHECK_FALSE(dropped.ok());
    options.outlier_distance_scale = 60.0;
    CHECK(FindFixedPoints(*model, u, seeds, options, &fps).num_fixed == kept.num_fixed);
  }
  SECTION("one seed has no spread: nothing is excluded, and the summary says so") {
    const FixedPointSummary s = FindFixedPoints(*model, u, Linspace(2, 2, 1), options, &fps);
    CHECK(s.num_fixed == 1);
    CHECK_THAT(s.message, Catch::Matchers::Contains("outlier exclusion skipped"));
  }
}

TEST_CASE("fixed-point inputs and options are checked and named", "[fixed_points]") {
  auto ctrnn = BistableUnit(2.0, 0.0);
  const Eigen::VectorXd u = Eigen::VectorXd::Zero(1);
  FixedPoints fps;
  FixedPointOptions options;
  CHECK_THROWS_WITH(
      FindFixedPoints(*ctrnn, Eigen::VectorXd::Zero(2), Linspace(0, 1, 2), options, &fps),
      Catch::Matchers::Contains("u has 2 entries"));
  CHECK_THROWS_WITH(FindFixedPoints(*ctrnn, u, Eigen::MatrixXd::Zero(2, 3), options, &fps),
                    Catch::Matchers::Contains("initial_states is 2 x 3"));
  options.subspace = true;
  CHECK_THROWS_WITH(FindFixedPoints(*ctrnn, u, Linspace(0, 1, 2), options, &fps),
                    Catch::Matchers::Contains("subspace search is only for"));
  options.subspace = false;
  options.frozen_s = Eigen::VectorXd::Constant(1, 0.5);
  CHECK_THROWS_WITH(FindFixedPoints(*ctrnn, u, Linspace(0, 1, 2), options, &fps),
                    Catch::Matchers::Contains("frozen_s is only for kind \"nm_rnn\""));
  options = FixedPointOptions();
  options.tol_q = 0.0;
  CHECK_THROWS_WITH(options.Validate(), Catch::Matchers::Contains("FixedPointOptions.tol_q = 0"));
  options = FixedPointOptions();
  options.slow_q_threshold = 1e-30;
  CHECK_THROWS_WITH(options.Validate(), Catch::Matchers::Contains("slow_q_threshold"));
  options = FixedPointOptions();
  options.max_iterations = 0;
  CHECK_THROWS_WITH(options.Validate(), Catch::Matchers::Contains("max_iterations"));
  options = FixedPointOptions();
  options.outlier_distance_scale = -1.0;
  CHECK_THROWS_WITH(options.Validate(), Catch::Matchers::Contains("outlier_distance_scale"));
  auto nm = MakeFromToml("kind = 'nm_rnn'\nN = 5\nM = 2\nR = 2");
  options = FixedPointOptions();
  options.frozen_s = Eigen::VectorXd::Constant(3, 0.5);
  CHECK_THROWS_WITH(
      FindFixedPoints(*nm, Eigen::VectorXd::Zero(3), Eigen::MatrixXd::Zero(5, 2), options, &fps),
      Catch::Matchers::Contains("needs R = 2 values"));
}

TEST_CASE("seeds are sampled from recorded states, reproducibly, plus noise", "[fixed_points]") {
  Trajectory traj;
  for (int t = 0; t < 4; ++t) traj.states.push_back(Eigen::MatrixXd::Constant(3, 2, 10.0 * t));
  for (int t = 0; t < 4; ++t) traj.states[static_cast<std::size_t>(t)].col(1).array() += 1.0;
  Rng a(5), b(5);
  const Eigen::MatrixXd clean = SampleStates(traj, 50, 0.0, &a);
  REQUIRE(clean.rows() == 3);
  REQUIRE(clean.cols() == 50);
  std::vector<int> seen(8, 0);
  for (Eigen::Index k = 0; k < 50; ++k) {
    const double v = clean(0, k);
    CHECK((clean.col(k).array() == v).all());
    const int code = static_cast<int>(std::lround(v));
    REQUIRE((code % 10 <= 1 && code / 10 < 4));
    ++seen[static_cast<std::size_t>(code / 10 * 2 + code % 10)];
  }
  CHECK(std::count(seen.begin(), seen.end(), 0) == 0);  // every (trial, time) pair drawn
  const Eigen::MatrixXd noisy = SampleStates(traj, 50, 0.1, &b);
  const Eigen::MatrixXd noise = noisy - clean;  // same draws, then noise
  CHECK(noise.cwiseAbs().maxCoeff() > 0.0);
  CHECK(noise.cwiseAbs().maxCoeff() < 1.0);
  CHECK(std::sqrt(noise.squaredNorm() / 150.0) == Approx(0.1).epsilon(0.25));
  CHECK_THROWS_AS(SampleStates(Trajectory(), 5, 0.0, &a), std::invalid_argument);
  CHECK_THROWS_AS(SampleStates(traj, 5, -1.0, &a), std::invalid_argument);
}

// ---- ctrnn fixed-points, end to end ----------------------------------------------------------

namespace fs = std::filesystem;

using testing::CommandResult;
using testing::RunCtrnn;

std::string Bytes(const fs::path& path) { return testing::FileBytes(path); }

const ArchiveArray& Array(const ArchiveGroup& g, const std::string& name) {
  for (const ArchiveArray& a : g.arrays) {
    if (a.name == name) return a;
  }
  FAIL("/fixed_points has no dataset " << name);
  throw std::logic_error("unreachable");
}

template <typename T>
T Attr(const ArchiveGroup& g, const std::string& name) {
  for (const auto& [key, value] : g.attributes) {
    if (key == name) return std::get<T>(value);
  }
  FAIL("/fixed_points has no attribute " << name);
  throw std::logic_error("unreachable");
}

TEST_CASE("ctrnn fixed-points adds /fixed_points and leaves the rest of the file as it was",
          "[fixed_points][cli]") {
  const fs::path dir = fs::temp_directory_path() / ("ctrnn_fp_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path cfg = dir / "lr.toml";
  std::ofstream(cfg) << "seed = 3\n[model]\nkind = \"low_rank\"\nN = 20\nR = 2\n[task]\nset = "
                        "\"extrapolation\"\n";
  const std::string run = (dir / "lr.h5").string();
  CommandResult sim = RunCtrnn("simulate " + cfg.string() + " -o " + run);
  INFO(sim.output);
  REQUIRE(sim.status == 0);
  const auto model = ReadModel(run);
  const Trajectory before = ReadTrajectory(run, *model);
  const Batch batch_before = ReadBatch(run);

  CommandResult r = RunCtrnn("fixed-points " + run + " --input 0.1,0,0 --seeds 24 --noise 0.05");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Catch::Matchers::Contains("wrote /fixed_points"));
  std::optional<ArchiveGroup> g = ReadGroup(run, "fixed_points");
  REQUIRE(g);
  const ArchiveArray& xstar = Array(*g, "xstar");
  REQUIRE(xstar.shape.size() == 2);
  const std::size_t k = xstar.shape[0];
  CHECK(k >= 1);
  CHECK(xstar.shape[1] == 20);
  CHECK(Array(*g, "J_xstar").shape == std::vector<std::size_t>{k, 20, 20});
  CHECK(Array(*g, "eigval_J_xstar").type == ArchiveArray::Type::kComplex128);
  CHECK(Array(*g, "is_stable").type == ArchiveArray::Type::kBool);
  CHECK(Array(*g, "n_iters").type == ArchiveArray::Type::kInt64);
  CHECK_THAT(Attr<std::string>(*g, "convention"), Catch::Matchers::Contains("-1/Re(lambda_i)"));
  CHECK(Attr<std::int64_t>(*g, "n_seeds") == 24);
  CHECK(Attr<std::string>(*g, "input") == "0.10000000000000001,0,0");
  // Each stored point is a fixed point of the model read back from the file.
  const auto& ode = static_cast<const ContinuousModel&>(*model);
  const Eigen::Vector3d u(0.1, 0.0, 0.0);
  for (std::size_t j = 0; j < k; ++j) {
    const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(xstar.data.data() + j * 20, 20);
    Eigen::VectorXd f(20);
    Eigen::Map<Eigen::MatrixXd> f_col(f.data(), 20, 1);
    ode.Rhs(x, u, f_col);
    CHECK(0.5 * f.squaredNorm() <= 1e-8);
  }
  // Everything else reads back as before.
  const Trajectory after = ReadTrajectory(run, *ReadModel(run));
  CHECK(ReadModel(run)->theta() == model->theta());
  REQUIRE(after.states.size() == before.states.size());
  for (std::size_t t = 0; t < after.states.size(); ++t) CHECK(after.states[t] == before.states[t]);
  CHECK(ReadBatch(run).inputs == batch_before.inputs);

  SECTION("h5py reads the documented dtypes and J v = lambda v") {
    const std::string script = std::string(CTRNN_SOURCE_DIR) + "/tests/check_fixed_points_h5py.py";
    const int raw = std::system(("/usr/bin/python3 " + script + " " + run).c_str());
    CHECK(WIFEXITED(raw));
    CHECK(WEXITSTATUS(raw) == 0);
  }
  SECTION("a second run replaces the group; a subspace search finds the same points") {
    CommandResult again =
        RunCtrnn("fixed-points " + run +
                 " --input 0.1,0,0 --seeds 24 --noise 0.05 --subspace --linear-solver qr");
    INFO(again.output);
    REQUIRE(again.status == 0);
    std::optional<ArchiveGroup> g2 = ReadGroup(run, "fixed_points");
    REQUIRE(g2);
    CHECK(Attr<std::string>(*g2, "search") == "subspace");
    CHECK(Attr<std::string>(*g2, "linear_solver") == "qr");
    const ArchiveArray& x2 = Array(*g2, "xstar");
    REQUIRE(x2.shape == xstar.shape);
    for (std::size_t j = 0; j < k; ++j) {
      double nearest = std::numeric_limits<double>::infinity();
      for (std::size_t i = 0; i < k; ++i) {
        double d = 0.0;
        for (std::size_t c = 0; c < 20; ++c) {
          d = std::max(d, std::abs(xstar.data[j * 20 + c] - x2.data[i * 20 + c]));
        }
        nearest = std::min(nearest, d);
      }
      CHECK(nearest < 1e-8);
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("ctrnn fixed-points on a file that lacks what it needs says so and leaves it intact",
          "[fixed_points][cli]") {
  const fs::path dir = fs::temp_directory_path() / ("ctrnn_fp_bad_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  // A run file with a model but no trajectories, and one of a full-rank CTRNN.
  Config config = Config::ParseString("[model]\nkind = 'nm_rnn'\nN = 6\nM = 2\nR = 2\n", "test");
  auto nm = MakeModel(&config.Sub("model"), 1);
  RunRecord record;
  record.config = &config;
  record.model_config = &config.Sub("model");
  record.model = nm.get();
  const std::string no_traj = (dir / "no_trajectories.h5").string();
  WriteRun(no_traj, record);
  Config ctrnn_config = Config::ParseString("[model]\nkind = 'ctrnn'\nN = 4\n", "test");
  auto ctrnn = MakeModel(&ctrnn_config.Sub("model"), 1);
  record.config = &ctrnn_config;
  record.model_config = &ctrnn_config.Sub("model");
  record.model = ctrnn.get();
  const std::string full_rank = (dir / "ctrnn.h5").string();
  WriteRun(full_rank, record);
  const std::string text = (dir / "notes.h5").string();
  std::ofstream(text) << "not an HDF5 file\n";

  struct Case {
    std::string file, args, says;
  };
  const Case cases[] = {
      {no_traj, "", "/trajectories"},
      {no_traj, "--frozen-s 0.5,0.5", "/trajectories"},
      {no_traj, "--input 1,2", "--input has 2 values"},
      {no_traj, "--frozen-s 0.5", "needs R = 2 values"},
      {full_rank, "--subspace", "--subspace needs a low-rank model"},
      {full_rank, "--frozen-s 0.5,0.5", "--frozen-s needs an NM-RNN"},
      {full_rank, "--tol-q 0", "tol_q"},
      {text, "", "notes.h5"},
  };
  for (const Case& c : cases) {
    const std::string bytes = Bytes(c.file);
    CommandResult r = RunCtrnn("fixed-points " + c.file + " " + c.args);
    INFO(c.file << " " << c.args << "\n" << r.output);
    CHECK(r.status != 0);
    CHECK_THAT(r.output,
               Catch::Matchers::Contains(fs::path(c.file).filename().string()) &&
                   Catch::Matchers::Contains(c.says));
    CHECK(Bytes(c.file) == bytes);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ctrnn
