// The one contract every model passes (STYLE.md "Tests"): derivatives against central finite
// differences, VJPs against Jᵀλ, batches against their trials one by one. Adding a model is one
// line in kModels.
#include <catch2/catch.hpp>

#include "lib/model.h"
#include "solvers/integrate.h"
#include "tests/testing.h"

namespace ctrnn {
namespace {

using testing::MakeFromToml;
using testing::NumericalGradient;
using testing::NumericalJacobian;
using testing::RelErr;

using testing::kModels;
using testing::ModelCase;

constexpr Eigen::Index kTrials = 3;
constexpr double kTol = 1e-7;
constexpr double kDt = 0.7;

// Moves theta off its initial values (which may be special: identity factors, zero biases) while
// keeping raw time constants above their clamp.
void Randomize(Model* model, Rng* rng) {
  Eigen::VectorXd theta = model->theta();
  for (Eigen::Index i = 0; i < theta.size(); ++i) theta(i) += 0.3 * rng->Normal();
  if (model->layout().Has("tau")) {
    const ParamBlock& b = model->layout().Find("tau");
    for (Eigen::Index i = 0; i < b.size(); ++i) theta(b.offset + i) = 1.5 + rng->Uniform();
  }
  model->SetTheta(theta);
}

// The one-step map every model has: EulerStep(dt) for ODEs, Step for maps.
void StepMap(const Model& m, ConstMatRef x, ConstMatRef u, MatRef out) {
  if (m.is_continuous()) {
    static_cast<const ContinuousModel&>(m).EulerStep(x, u, kDt, out);
  } else {
    static_cast<const DiscreteModel&>(m).Step(x, u, out);
  }
}

void StepMapVjp(
    const Model& m, ConstMatRef x, ConstMatRef u, ConstMatRef lam_next, MatRef lam, VecRef g) {
  if (m.is_continuous()) {
    static_cast<const ContinuousModel&>(m).EulerStepVjp(x, u, kDt, lam_next, lam, g);
  } else {
    static_cast<const DiscreteModel&>(m).StepVjp(x, u, lam_next, lam, g);
  }
}

TEST_CASE("every model passes the derivative and batching contract", "[model][contract]") {
  for (const ModelCase& c : kModels) {
    DYNAMIC_SECTION(c.name) {
      auto model = MakeFromToml(c.toml, 11);
      Rng rng(5);
      Randomize(model.get(), &rng);
      const Eigen::Index s = model->state_size(), u_size = model->input_size();
      const Eigen::Index o = model->output_size(), p = model->num_params();
      const Eigen::MatrixXd x = rng.NormalMatrix(s, kTrials, 0.7);
      const Eigen::MatrixXd u = rng.NormalMatrix(u_size, kTrials, 1.0);
      const Eigen::MatrixXd lam = rng.NormalMatrix(s, kTrials, 1.0);
      const Eigen::VectorXd theta0 = model->theta();
      auto with_theta = [&](const Eigen::VectorXd& th, const std::function<double()>& f) {
        model->SetTheta(th);
        const double v = f();
        model->SetTheta(theta0);
        return v;
      };

      if (model->is_continuous()) {
        const auto& cm = static_cast<const ContinuousModel&>(*model);
        // Jacobian against central differences of Rhs, trial by trial.
        for (Eigen::Index b = 0; b < kTrials; ++b) {
          const Eigen::VectorXd xb = x.col(b), ub = u.col(b);
          const Eigen::MatrixXd jac = cm.Jacobian(xb, ub);
          const Eigen::MatrixXd fd = NumericalJacobian(
              [&](const Eigen::VectorXd& v) {
                Eigen::VectorXd f(s);
                cm.Rhs(v, ub, f);
                return f;
              },
              xb);
          INFO("trial " << b);
          CHECK(RelErr(jac, fd) < kTol);
        }
        // State VJP against Jᵀλ, parameter VJP against differences in θ.
        Eigen::MatrixXd lam_x(s, kTrials);
        Eigen::VectorXd g = Eigen::VectorXd::Zero(p);
        cm.Vjp(x, u, lam, lam_x, g);
        for (Eigen::Index b = 0; b < kTrials; ++b) {
          const Eigen::VectorXd jt_lam = cm.Jacobian(x.col(b), u.col(b)).transpose() * lam.col(b);
          CHECK(RelErr(lam_x.col(b), jt_lam) < 1e-12);
        }
        const Eigen::VectorXd g_fd = NumericalGradient(
            [&](const Eigen::VectorXd& th) {
              return with_theta(th, [&] {
                Eigen::MatrixXd f(s, kTrials);
                cm.Rhs(x, u, f);
                return lam.cwiseProduct(f).sum();
              });
            },
            theta0);
        CHECK(RelErr(g, g_fd) < kTol);
        // A batch equals its trials one by one.
        Eigen::MatrixXd f(s, kTrials), fb(s, 1);
        cm.Rhs(x, u, f);
        for (Eigen::Index b = 0; b < kTrials; ++b) {
          cm.Rhs(x.col(b), u.col(b), fb);
          CHECK(RelErr(f.col(b), fb, 1e-300) < 1e-14);
        }
      } else {
        const auto& dm = static_cast<const DiscreteModel&>(*model);
        for (Eigen::Index b = 0; b < kTrials; ++b) {
          const Eigen::VectorXd xb = x.col(b), ub = u.col(b);
          const Eigen::MatrixXd fd = NumericalJacobian(
              [&](const Eigen::VectorXd& v) {
                Eigen::VectorXd f(s);
                dm.Step(v, ub, f);
                return f;
              },
              xb);
          CHECK(RelErr(dm.StepJacobian(xb, ub), fd) < kTol);
        }
      }

      // The one-step map: VJP in the state and in θ against finite differences.
      Eigen::MatrixXd lam_prev(s, kTrials);
      Eigen::VectorXd g_step = Eigen::VectorXd::Zero(p);
      StepMapVjp(*model, x, u, lam, lam_prev, g_step);
      for (Eigen::Index b = 0; b < kTrials; ++b) {
        const Eigen::VectorXd ub = u.col(b);
        const Eigen::MatrixXd fd = NumericalJacobian(
            [&](const Eigen::VectorXd& v) {
              Eigen::VectorXd f(s);
              StepMap(*model, v, ub, f);
              return f;
            },
            x.col(b));
        CHECK(RelErr(lam_prev.col(b), fd.transpose() * lam.col(b)) < kTol);
      }
      const Eigen::VectorXd g_step_fd = NumericalGradient(
          [&](const Eigen::VectorXd& th) {
            return with_theta(th, [&] {
              Eigen::MatrixXd f(s, kTrials);
              StepMap(*model, x, u, f);
              return lam.cwiseProduct(f).sum();
            });
          },
          theta0);
      CHECK(RelErr(g_step, g_step_fd) < kTol);

      // Readout VJP.
      const Eigen::MatrixXd ybar = rng.NormalMatrix(o, kTrials, 1.0);
      Eigen::MatrixXd xbar = Eigen::MatrixXd::Zero(s, kTrials);
      Eigen::VectorXd g_out = Eigen::VectorXd::Zero(p);
      model->ReadoutVjp(x, ybar, xbar, g_out);
      auto readout_dot = [&](const Eigen::MatrixXd& xs) {
        Eigen::MatrixXd y(o, kTrials);
        model->Readout(xs, y);
        return ybar.cwiseProduct(y).sum();
      };
      const Eigen::VectorXd xbar_fd = NumericalGradient(
          [&](const Eigen::VectorXd& v) {
            return readout_dot(Eigen::Map<const Eigen::MatrixXd>(v.data(), s, kTrials));
          },
          Eigen::Map<const Eigen::VectorXd>(x.data(), x.size()));
      CHECK(RelErr(Eigen::Map<const Eigen::VectorXd>(xbar.data(), xbar.size()), xbar_fd) < kTol);
      const Eigen::VectorXd g_out_fd = NumericalGradient(
          [&](const Eigen::VectorXd& th) { return with_theta(th, [&] { return readout_dot(x); }); },
          theta0);
      CHECK(RelErr(g_out, g_out_fd) < kTol);

      // A batch integrates to the same trajectory as its trials one by one.
      Batch batch;
      const int bins = 6;
      for (int k = 0; k <= bins; ++k) batch.bin_edges.push_back(0.5 * k);
      for (int k = 0; k < bins; ++k) batch.inputs.push_back(rng.NormalMatrix(u_size, kTrials, 1.0));
      for (Stepper stepper : {Stepper::kEuler, Stepper::kRk4, Stepper::kDopri5}) {
        IntegrateOptions opt;
        opt.stepper = stepper;
        opt.dt = 0.25;
        opt.abs_tol = opt.rel_tol = 1e-9;
        Trajectory all;
        REQUIRE(Integrate(*model, batch, x, opt, &all).ok());
        REQUIRE(all.states.size() == static_cast<size_t>(bins + 1));
        for (Eigen::Index b = 0; b < kTrials; ++b) {
          Trajectory one;
          // Dopri5 picks its steps from the error of the whole batch, so a lone trial takes
          // other steps: it agrees to the tolerance, the fixed steppers to round-off.
          REQUIRE(Integrate(*model, batch.Trials(b, 1), Eigen::MatrixXd(x.col(b)), opt, &one).ok());
          const double tol = stepper == Stepper::kDopri5 ? 1e-6 : 1e-13;
          for (int k = 0; k <= bins; ++k) {
            INFO(StepperName(stepper) << " trial " << b << " edge " << k);
            CHECK(RelErr(all.states[k].col(b), one.states[k], 1e-300) < tol);
          }
        }
        if (!model->is_continuous()) break;  // one step per bin, whatever the stepper
      }
    }
  }
}

}  // namespace
}  // namespace ctrnn
