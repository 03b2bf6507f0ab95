// Closed forms before cross-checks: a linear network against the matrix exponential, W = 0 against
// exponential relaxation, the convergence orders of Euler and RK4, and forward Euler at dt = 1
// against hand-written loops of each spec's discrete update (to round-off).
#include <cmath>

#include <catch2/catch.hpp>
#include <unsupported/Eigen/MatrixFunctions>

#include "lib/models/ctrnn.h"
#include "lib/models/low_rank.h"
#include "lib/models/nm_rnn.h"
#include "lib/models/qr.h"
#include "lib/tasks/mwg.h"
#include "solvers/integrate.h"
#include "tests/testing.h"

namespace ctrnn {
namespace {

using testing::MakeFromToml;
using testing::RelErr;

Eigen::MatrixXd Tanh(const Eigen::MatrixXd& x) {
  return x.unaryExpr([](double v) { return std::tanh(v); });
}
Eigen::MatrixXd Sigmoid(const Eigen::MatrixXd& x) {
  return x.unaryExpr([](double v) { return 1.0 / (1.0 + std::exp(-v)); });
}

Batch RandomBatch(Eigen::Index inputs, Eigen::Index trials, int bins, double width, Rng* rng) {
  Batch batch;
  for (int k = 0; k <= bins; ++k) batch.bin_edges.push_back(width * k);
  for (int k = 0; k < bins; ++k) batch.inputs.push_back(rng->NormalMatrix(inputs, trials, 1.0));
  return batch;
}

TEST_CASE("a linear network follows the matrix exponential", "[integrate][closed_form]") {
  // τ ⊙ dx/dt = −x + W x + B u  =>  x' = A x + c on each bin with A = diag(1/τ)(W − I).
  auto model = MakeFromToml(
      "kind = 'ctrnn'\nN = 5\ninput_size = 2\nphi = 'linear'\nbiases = false\ninit = "
      "'gaussian'\ngain = 0.8");
  const auto& net = static_cast<const Ctrnn&>(*model);
  Rng rng(3);
  const Batch batch = RandomBatch(2, 2, 4, 1.3, &rng);
  const Eigen::MatrixXd x0 = rng.NormalMatrix(5, 2, 1.0);
  const Eigen::VectorXd inv_tau = net.effective_tau().cwiseInverse();
  Eigen::MatrixXd a = inv_tau.asDiagonal() * (net.effective_w() - Eigen::MatrixXd::Identity(5, 5));
  const Eigen::MatrixXd b = inv_tau.asDiagonal() * Eigen::MatrixXd(model->Param("W_in"));
  // Exact solution bin by bin: x(t+h) = e^{Ah} x + A^{-1}(e^{Ah} − I) c.
  std::vector<Eigen::MatrixXd> exact{x0};
  for (Eigen::Index k = 0; k < batch.num_bins(); ++k) {
    const Eigen::MatrixXd e = (a * 1.3).exp();
    const Eigen::MatrixXd c = b * batch.inputs[k];
    exact.push_back(e * exact.back() +
                    a.fullPivLu().solve((e - Eigen::MatrixXd::Identity(5, 5)) * c));
  }
  SECTION("rk4") {
    IntegrateOptions opt;
    opt.stepper = Stepper::kRk4;
    opt.dt = 0.005;  // global error ~ C h^4 ~ 1e-11 here
    Trajectory traj;
    REQUIRE(Integrate(*model, batch, x0, opt, &traj).ok());
    for (size_t k = 0; k < exact.size(); ++k) CHECK(RelErr(traj.states[k], exact[k]) < 1e-10);
  }
  SECTION("dopri5, with dense output inside the bins") {
    IntegrateOptions opt;
    opt.stepper = Stepper::kDopri5;
    opt.abs_tol = opt.rel_tol = 1e-11;
    opt.dense_per_bin = 3;
    Trajectory traj;
    REQUIRE(Integrate(*model, batch, x0, opt, &traj).ok());
    REQUIRE(traj.times.size() == 4 * 4 + 1);
    for (size_t k = 0; k < exact.size(); ++k) {
      CHECK(traj.times[traj.edge_index[k]] == batch.bin_edges[k]);  // edges are hit exactly
      CHECK(RelErr(traj.states[traj.edge_index[k]], exact[k]) < 1e-8);
    }
    // A dense point a quarter into bin 2, against the exact flow from edge 2.
    const Eigen::MatrixXd e = (a * (1.3 / 4)).exp();
    const Eigen::MatrixXd mid =
        e * exact[2] +
        a.fullPivLu().solve((e - Eigen::MatrixXd::Identity(5, 5)) * (b * batch.inputs[2]));
    CHECK(traj.times[traj.edge_index[2] + 1] == Approx(2 * 1.3 + 1.3 / 4));
    CHECK(RelErr(traj.states[traj.edge_index[2] + 1], mid) < 1e-7);
  }
}

TEST_CASE("with W = 0 every unit relaxes exponentially", "[integrate][closed_form]") {
  // τ_i dx_i/dt = −x_i + (B u)_i  =>  x_i(t) = c_i + (x_i(0) − c_i) e^{−t/τ_i}.
  auto model = MakeFromToml("kind = 'ctrnn'\nN = 4\ninput_size = 1\nbiases = false");
  Eigen::VectorXd theta = model->theta();
  model->SetParam("W_rec", Eigen::MatrixXd::Zero(4, 4));
  model->SetParam("tau", Eigen::Vector4d(1.0, 2.5, 7.0, 40.0));
  Batch batch;
  batch.bin_edges = {0.0, 10.0};
  batch.inputs = {Eigen::MatrixXd::Constant(1, 1, 0.8)};
  const Eigen::VectorXd c = model->Param("W_in") * 0.8;
  const Eigen::VectorXd x0 = model->initial_state();
  for (Stepper stepper : {Stepper::kRk4, Stepper::kDopri5}) {
    IntegrateOptions opt;
    opt.stepper = stepper;
    opt.dt = 0.01;
    opt.abs_tol = opt.rel_tol = 1e-12;
    Trajectory traj;
    REQUIRE(Integrate(*model, batch, x0, opt, &traj).ok());
    const Eigen::Vector4d tau(1.0, 2.5, 7.0, 40.0);
    const Eigen::VectorXd exact = c.array() + (x0 - c).array() * (-10.0 / tau.array()).exp();
    INFO(StepperName(stepper));
    CHECK(RelErr(traj.states[1], exact) < 1e-10);
  }
}

// Error at t = 8 of a nonlinear NM-RNN against a tight Dopri5 reference, for step sizes h.
double StepError(Stepper stepper,
                 double h,
                 const Model& model,
                 const Batch& batch,
                 const Eigen::MatrixXd& reference) {
  IntegrateOptions opt;
  opt.stepper = stepper;
  opt.dt = h;
  Trajectory traj;
  REQUIRE(Integrate(model, batch, opt, &traj).ok());
  return (traj.states.back() - reference).norm();
}

TEST_CASE("Euler converges with order 1 and RK4 with order 4", "[integrate][closed_form]") {
  // euler_order = "simultaneous": the textbook forward Euler, whose order is the one to check.
  auto model = MakeFromToml(
      "kind = 'nm_rnn'\nN = 8\nM = 3\nR = 2\ntau_x = 2.0\ntau_z = 5.0\neuler_order = "
      "'simultaneous'");
  Rng rng(9);
  const Batch batch = RandomBatch(3, 2, 4, 2.0, &rng);
  IntegrateOptions ref_opt;
  ref_opt.stepper = Stepper::kDopri5;
  ref_opt.abs_tol = ref_opt.rel_tol = 1e-13;
  Trajectory ref;
  REQUIRE(Integrate(*model, batch, ref_opt, &ref).ok());
  const Eigen::MatrixXd reference = ref.states.back();
  const double e1 = StepError(Stepper::kEuler, 0.02, *model, batch, reference);
  const double e2 = StepError(Stepper::kEuler, 0.01, *model, batch, reference);
  CHECK(std::log2(e1 / e2) == Approx(1.0).margin(0.05));
  const double r1 = StepError(Stepper::kRk4, 0.2, *model, batch, reference);
  const double r2 = StepError(Stepper::kRk4, 0.1, *model, batch, reference);
  CHECK(std::log2(r1 / r2) == Approx(4.0).margin(0.15));
}

// ---- Euler(dt = 1) against the specs' discrete updates, written as plain loops ----------------

// Errors are relative to max(norm, 1): outputs are sums of O(1) terms that can cancel.
// Both one step from the model's own state and the free-running loop agree to round-off. A wrong
// equation or ordering (e.g. s from z_t instead of z_{t+1}) shows up as an O(1e-3) difference.
void CheckRoundOff(bool resync, double worst) {
  INFO((resync ? "one step from the model's state" : "free-running reference loop")
       << ": " << worst);
  CHECK(worst < 1e-13);
}

IntegrateOptions EulerDt1() {
  IntegrateOptions opt;
  opt.stepper = Stepper::kEuler;
  opt.dt = 1.0;
  return opt;
}

TEST_CASE("Euler at dt = 1 is the NM-RNN's discrete update (spec §1.2, HEAD form)",
          "[integrate][closed_form]") {
  auto model = MakeFromToml("kind = 'nm_rnn'\nN = 20\nM = 5\nR = 3");
  const Batch batch = MakeMwgBatch(MwgTrainingTrials(), MwgOptions());
  Trajectory traj;
  REQUIRE(Integrate(*model, batch, EulerDt1(), &traj).ok());
  Eigen::MatrixXd q, r;
  ThinQr(model->Param("U"), &q, &r);
  const Eigen::MatrixXd v = model->Param("V"), bx = model->Param("B_x"), c = model->Param("C");
  const Eigen::MatrixXd wz = model->Param("W_z"), bz = model->Param("B_z"),
                        az = model->Param("A_z");
  const Eigen::VectorXd d = model->Param("d"), bk = model->Param("b_z");
  const double ax = 1.0 / 10.0, azz = 1.0 / 100.0;
  for (const bool resync : {false, true}) {
    double worst = 0.0;
    for (Eigen::Index j = 0; j < batch.num_trials(); ++j) {
      Eigen::VectorXd z = Eigen::VectorXd::Constant(5, 0.1), x = Eigen::VectorXd::Constant(20, 0.1);
      for (int t = 0; t < 110; ++t) {
        if (resync) {
          z = traj.states[t].col(j).head(5);
          x = traj.states[t].col(j).tail(20);
        }
        const Eigen::VectorXd u = batch.inputs[t].col(j);
        z = (1 - azz) * z + azz * (wz * Tanh(z) + bz * u);
        const Eigen::VectorXd s = Sigmoid(az * z + bk);
        const Eigen::VectorXd h = v.transpose() * Tanh(x);
        x = (1 - ax) * x + ax * (q * s.cwiseProduct(h) + bx * u);
        const Eigen::VectorXd y = c * x + d;
        worst = std::max(worst, RelErr(traj.states[t + 1].col(j).tail(20), x, 1.0));
        worst = std::max(worst, RelErr(traj.states[t + 1].col(j).head(5), z, 1.0));
        worst = std::max(worst, RelErr(traj.outputs[t + 1].col(j), y, 1.0));
        worst = std::max(worst, RelErr(traj.extras.at("s")[t + 1].col(j), s, 1.0));
      }
    }
    CheckRoundOff(resync, worst);
  }
}

TEST_CASE("Euler at dt = 1 is the EFT NM-RNN's update (spec §1.4: feedback, 1/N, no QR)",
          "[integrate][closed_form]") {
  auto model = MakeFromToml(
      "kind = 'nm_rnn'\nN = 12\nM = 5\nR = 7\ninput_size = 1\nfeedback = true\northonormalize_U = "
      "false\n"
      "scale_by_N = true\nreadout_bias = false\ninit = 'eft'\ninitial_state = 'random'\ntau_x = "
      "2.0\ntau_z = 10.0");
  Rng rng(4);
  const Batch batch = RandomBatch(1, 3, 25, 1.0, &rng);
  Trajectory traj;
  REQUIRE(Integrate(*model, batch, EulerDt1(), &traj).ok());
  const Eigen::MatrixXd uf = model->Param("U"), v = model->Param("V"), bx = model->Param("B_x");
  const Eigen::MatrixXd c = model->Param("C"), wz = model->Param("W_z"), bz = model->Param("B_z");
  const Eigen::MatrixXd wkz = model->Param("A_z"), wzx = model->Param("W_zx");
  const Eigen::VectorXd bk = model->Param("b_z"), bzx = model->Param("b_zx");
  for (const bool resync : {false, true}) {
    double worst = 0.0;
    for (Eigen::Index j = 0; j < 3; ++j) {
      Eigen::VectorXd z = model->initial_state().head(5), x = model->initial_state().tail(12);
      for (int t = 0; t < 25; ++t) {
        if (resync) {
          z = traj.states[t].col(j).head(5);
          x = traj.states[t].col(j).tail(12);
        }
        const Eigen::VectorXd u = batch.inputs[t].col(j);
        const Eigen::VectorXd z_new =
            (1 - 0.1) * z + 0.1 * (wz * Tanh(z) + bz * u + wzx * Tanh(x) + bzx);
        const Eigen::VectorXd s = Sigmoid(wkz * z_new + bk);
        x = (1 - 0.5) * x + (1.0 / (2.0 * 12)) * uf * s.asDiagonal() * v.transpose() * Tanh(x) +
            0.5 * bx * u;
        z = z_new;
        worst = std::max(worst, RelErr(traj.states[t + 1].col(j).tail(12), x, 1.0));
        worst = std::max(worst, RelErr(traj.outputs[t + 1].col(j), c * x, 1.0));
      }
    }
    CheckRoundOff(resync, worst);
  }
}

TEST_CASE("Euler at dt = 1 is the low-rank RNN's update (spec §1.5)", "[integrate][closed_form]") {
  auto model = MakeFromToml("kind = 'low_rank'\nN = 15\nR = 3");
  const Batch batch = MakeMwgBatch(MwgExtrapolationTrials(), MwgOptions());
  Trajectory traj;
  REQUIRE(Integrate(*model, batch, EulerDt1(), &traj).ok());
  Eigen::MatrixXd q, r;
  ThinQr(model->Param("U"), &q, &r);
  const Eigen::MatrixXd v = model->Param("V"), b = model->Param("B"), c = model->Param("C");
  const Eigen::VectorXd d = model->Param("d");
  for (const bool resync : {false, true}) {
    double worst = 0.0;
    for (Eigen::Index j = 0; j < batch.num_trials(); ++j) {
      Eigen::VectorXd x = Eigen::VectorXd::Constant(15, 0.1);
      for (int t = 0; t < 110; ++t) {
        if (resync) x = traj.states[t].col(j);
        const Eigen::VectorXd u = batch.inputs[t].col(j);
        x = 0.9 * x + (1.0 / (10.0 * 15)) * q * v.transpose() * Tanh(x) + 0.1 * b * u;
        worst = std::max(worst, RelErr(traj.outputs[t + 1].col(j), c * x + d, 1.0));
        worst = std::max(worst, RelErr(traj.states[t + 1].col(j), x, 1.0));
      }
    }
    CheckRoundOff(resync, worst);
  }
}

TEST_CASE("Euler at dt = 1 is the vanilla RNN's update (NM-RNN spec §1.6)",
          "[integrate][closed_form]") {
  auto model = MakeFromToml(
      "kind = 'ctrnn'\nN = 31\ninput_size = 3\ntrain_tau = false\ntau = 10.0\nscale_by_N = "
      "true\nbiases = false\ninit = 'nmrnn'");
  const Batch batch = MakeMwgBatch(MwgTrainingTrials(), MwgOptions());
  Trajectory traj;
  REQUIRE(Integrate(*model, batch, EulerDt1(), &traj).ok());
  const Eigen::MatrixXd w = model->Param("W_rec"), b = model->Param("W_in"),
                        c = model->Param("W_out");
  const Eigen::VectorXd d = model->Param("b_out");
  for (const bool resync : {false, true}) {
    double worst = 0.0;
    for (Eigen::Index j = 0; j < batch.num_trials(); ++j) {
      Eigen::VectorXd x = Eigen::VectorXd::Constant(31, 0.1);
      for (int t = 0; t < 110; ++t) {
        if (resync) x = traj.states[t].col(j);
        const Eigen::VectorXd u = batch.inputs[t].col(j);
        x = 0.9 * x + (1.0 / (10.0 * 31)) * w * Tanh(x) + 0.1 * b * u;
        worst = std::max(worst, RelErr(traj.outputs[t + 1].col(j), c * x + d, 1.0));
      }
    }
    CheckRoundOff(resync, worst);
  }
}

TEST_CASE("Euler at dt = 1 is the timescales paper's Variant B update (spec §1.1)",
          "[integrate][closed_form]") {
  auto model = MakeFromToml(
      "kind = 'ctrnn'\nN = 30\ninput_size = 1\nform = 'rate'\nphi = 'leaky_relu'\nzero_diagonal = "
      "true\nnum_heads = 3\nnum_classes = 2");
  // Push some raw τ below the clamp: the dynamics must use max(τ, 1).
  Eigen::VectorXd tau = model->Param("tau");
  tau.head(5).setConstant(0.6);
  model->SetParam("tau", tau);
  Rng rng(2);
  Batch batch;
  for (int k = 0; k <= 40; ++k) batch.bin_edges.push_back(k);
  for (int k = 0; k < 40; ++k) {
    batch.inputs.push_back(
        rng.UniformMatrix(1, 4, 0, 1).unaryExpr([](double p) { return p < 0.5 ? 0.0 : 1.0; }));
  }
  Trajectory traj;
  REQUIRE(Integrate(*model, batch, EulerDt1(), &traj).ok());
  Eigen::MatrixXd w = model->Param("W_rec");
  w.diagonal().setZero();
  const Eigen::MatrixXd w_in = model->Param("W_in"), w_out = model->Param("W_out");
  const Eigen::VectorXd b = model->Param("b_rec") + model->Param("b_in");
  const Eigen::VectorXd tau_eff = tau.cwiseMax(1.0), b_out = model->Param("b_out");
  for (const bool resync : {false, true}) {
    double worst = 0.0;
    for (Eigen::Index j = 0; j < 4; ++j) {
      Eigen::VectorXd h = Eigen::VectorXd::Constant(30, 0.1);
      for (int t = 0; t < 40; ++t) {
        if (resync) h = traj.states[t].col(j);
        const Eigen::VectorXd a = w * h + w_in * batch.inputs[t].col(j) + b;
        const Eigen::VectorXd phi = a.unaryExpr([](double v) { return v > 0 ? v : 0.01 * v; });
        h = (1.0 - tau_eff.cwiseInverse().array()).matrix().cwiseProduct(h) +
            tau_eff.cwiseInverse().cwiseProduct(phi);
        worst = std::max(worst, RelErr(traj.states[t + 1].col(j), h, 1.0));
        worst = std::max(worst, RelErr(traj.outputs[t + 1].col(j), w_out * h + b_out, 1.0));
      }
    }
    CheckRoundOff(resync, worst);
  }
}

TEST_CASE("the LSTM-gating identity of the linear symmetric NM-RNN (spec §4.3)",
          "[integrate][closed_form]") {
  // φ(x) = x, V = L (orthonormal), Euler with Δt = τx: w_t = Lᵀx_t obeys the LSTM cell update
  // w_t = s_t ⊙ w_{t−1} + LᵀB_x u_t, with s_t = σ(A_z z_t + b_z) the forget gate.
  auto model = MakeFromToml(
      "kind = 'nm_rnn'\nN = 30\nM = 4\nR = 3\nlinear_symmetric = true\ntau_x = 1.0\ntau_z = 5.0");
  const auto& nm = static_cast<const NmRnn&>(*model);
  const Eigen::MatrixXd& l = nm.left_factors();
  REQUIRE(RelErr(l.transpose() * l, Eigen::MatrixXd::Identity(3, 3), 1.0) < 1e-14);
  Rng rng(3);
  const Batch batch = RandomBatch(3, 4, 60, 1.0, &rng);
  IntegrateOptions o = EulerDt1();
  o.record_extras = true;
  Trajectory traj;
  REQUIRE(Integrate(*model, batch, o, &traj).ok());
  const Eigen::MatrixXd lbx = l.transpose() * model->Param("B_x");
  double worst = 0.0, scale = 0.0;
  for (size_t t = 1; t < traj.states.size(); ++t) {
    const Eigen::MatrixXd w_prev = l.transpose() * traj.states[t - 1].bottomRows(30);
    const Eigen::MatrixXd w = l.transpose() * traj.states[t].bottomRows(30);
    const Eigen::MatrixXd gate = traj.extras.at("s")[t];
    const Eigen::MatrixXd lstm = gate.cwiseProduct(w_prev) + lbx * batch.inputs[t - 1];
    worst = std::max(worst, (w - lstm).cwiseAbs().maxCoeff());
    scale = std::max(scale, w.cwiseAbs().maxCoeff());
  }
  INFO("worst |w_t − (s_t ⊙ w_{t−1} + LᵀB_x u_t)| = " << worst << ", max |w| = " << scale);
  CHECK(scale > 0.1);
  CHECK(worst <= 1e-13 * scale);
}

TEST_CASE("the QR backward pass matches finite differences", "[model][closed_form]") {
  Rng rng(8);
  const Eigen::MatrixXd a = rng.NormalMatrix(6, 3, 1.0);
  const Eigen::MatrixXd q_bar = rng.NormalMatrix(6, 3, 1.0);
  Eigen::MatrixXd q, r;
  ThinQr(a, &q, &r);
  CHECK((q.transpose() * q - Eigen::MatrixXd::Identity(3, 3)).norm() < 1e-14);
  CHECK(r.diagonal().minCoeff() > 0.0);
  CHECK(RelErr(q * r, a) < 1e-14);
  const Eigen::MatrixXd a_bar = ThinQrBackward(q, r, q_bar);
  const Eigen::VectorXd fd = testing::NumericalGradient(
      [&](const Eigen::VectorXd& v) {
        Eigen::MatrixXd qq, rr;
        ThinQr(Eigen::Map<const Eigen::MatrixXd>(v.data(), 6, 3), &qq, &rr);
        return q_bar.cwiseProduct(qq).sum();
      },
      Eigen::Map<const Eigen::VectorXd>(a.data(), a.size()));
  CHECK(RelErr(Eigen::Map<const Eigen::VectorXd>(a_bar.data(), a_bar.size()), fd) < 1e-8);
}

TEST_CASE("the τ clamp passes no gradient below τ_min", "[model]") {
  auto model = MakeFromToml("kind = 'ctrnn'\nN = 3\ninput_size = 1");
  model->SetParam("tau", Eigen::Vector3d(0.5, 1.5, 3.0));
  auto& net = static_cast<const ContinuousModel&>(*model);
  Eigen::MatrixXd lam = Eigen::MatrixXd::Ones(3, 1), lx(3, 1);
  Eigen::VectorXd g = Eigen::VectorXd::Zero(model->num_params());
  net.Vjp(Eigen::Vector3d(0.3, -0.2, 0.5), Eigen::VectorXd::Ones(1), lam, lx, g);
  const ParamBlock& b = model->layout().Find("tau");
  CHECK(g(b.offset) == 0.0);
  CHECK(g(b.offset + 1) != 0.0);
  CHECK(static_cast<const Ctrnn&>(*model).effective_tau()(0) == 1.0);
}

}  // namespace
}  // namespace ctrnn
