// Ablation and perturbation views (solvers/perturb.h): each does exactly what it says to a copy,
// and the clamped NM-RNN keeps exact derivatives.
#include <cmath>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "lib/models/nm_rnn.h"
#include "lib/random.h"
#include "solvers/perturb.h"
#include "tests/testing.h"

namespace ctrnn {
namespace {

using testing::MakeFromToml;
using testing::RelErr;

constexpr char kDiscrete[] = "kind = 'discrete_rnn'\nN = 6\nnum_heads = 3\nnum_classes = 2";
constexpr char kCtrnn[] =
    "kind = 'ctrnn'\nN = 5\ninput_size = 2\nnum_heads = 2\nnum_classes = 2\nform = 'rate'\nphi = "
    "'leaky_relu'";

TEST_CASE("AblateNeuron zeroes the neuron's row, column, input and readout", "[perturb]") {
  for (const char* toml : {kDiscrete, kCtrnn}) {
    const auto model = MakeFromToml(toml, 4);
    const Eigen::VectorXd theta0 = model->theta();
    const Eigen::Index i = 2, n = model->state_size();
    const auto ablated = AblateNeuron(*model, i, {1});
    CHECK(model->theta() == theta0);  // the original is untouched
    CHECK(ablated->kind() == model->kind());
    const Eigen::MatrixXd w = ablated->Param("W_rec"), w0 = model->Param("W_rec");
    CHECK(w.row(i).isZero(0.0));
    CHECK(w.col(i).isZero(0.0));
    Eigen::MatrixXd rest = w0;
    rest.row(i).setZero();
    rest.col(i).setZero();
    CHECK(w == rest);
    CHECK(ablated->Param("W_in").row(i).isZero(0.0));
    const Eigen::MatrixXd w_out = ablated->Param("W_out"), w_out0 = model->Param("W_out");
    // Head 1 is rows 2, 3 (two classes): its column i is zero, the other heads' is kept.
    CHECK(w_out.block(2, i, 2, 1).isZero(0.0));
    CHECK(w_out(0, i) == w_out0(0, i));
    CHECK(w_out.col(i).tail(w_out.rows() - 4) == w_out0.col(i).tail(w_out.rows() - 4));
    CHECK(w_out.leftCols(i) == w_out0.leftCols(i));
    // Biases and τ are untouched.
    for (const char* name : {"b_rec", "b_in", "b_out", "tau"}) {
      if (model->layout().Has(name)) CHECK(ablated->Param(name) == model->Param(name));
    }
    CHECK(ablated->initial_state() == model->initial_state());
    // Every head: the whole column.
    CHECK(AblateNeuron(*model, i, {})->Param("W_out").col(i).isZero(0.0));
    CHECK_THROWS_WITH(AblateNeuron(*model, n, {}), Catch::Contains("is not in [0, "));
    CHECK_THROWS_WITH(AblateNeuron(*model, 0, {7}), Catch::Contains("head 7"));
  }
  const auto nm = MakeFromToml("kind = 'nm_rnn'\nN = 5\nM = 2\nR = 2");
  CHECK_THROWS_WITH(AblateNeuron(*nm, 0, {}), Catch::Contains("nm_rnn"));
}

TEST_CASE("PerturbRecurrentWeights adds Frobenius-normalised noise", "[perturb]") {
  const auto model = MakeFromToml(kDiscrete, 4);
  const Eigen::MatrixXd w0 = model->Param("W_rec");
  for (const double eps : {0.0, 0.01, 0.3, 10.0}) {
    Rng rng(42000);
    const auto perturbed = PerturbRecurrentWeights(*model, eps, &rng);
    const Eigen::MatrixXd dw = perturbed->Param("W_rec") - w0;
    CHECK(std::abs(dw.norm() - eps * w0.norm()) <= 1e-12 * w0.norm());
    // Only W_rec changes.
    Eigen::VectorXd d_theta = perturbed->theta() - model->theta();
    const ParamBlock& b = model->layout().Find("W_rec");
    d_theta.segment(b.offset, b.size()).setZero();
    CHECK(d_theta.isZero(0.0));
    // Same generator state, same draw.
    Rng again(42000);
    CHECK(PerturbRecurrentWeights(*model, eps, &again)->theta() == perturbed->theta());
  }
  Rng rng(1);
  CHECK_THROWS_WITH(PerturbRecurrentWeights(*model, -0.1, &rng), Catch::Contains("eps"));
}

TEST_CASE("PerturbTimeConstants kicks every tau upwards by eps·‖tau‖", "[perturb]") {
  const auto model = MakeFromToml(kDiscrete, 4);
  const Eigen::VectorXd tau0 = model->Param("tau");
  Rng rng(42000);
  const double eps = 0.05;
  const auto kicked = PerturbTimeConstants(*model, eps, &rng);
  const Eigen::VectorXd dtau = Eigen::VectorXd(kicked->Param("tau")) - tau0;
  CHECK((dtau.array() > 0.0).all());
  CHECK(std::abs(dtau.norm() - eps * tau0.norm()) <= 1e-12 * tau0.norm());
  CHECK(kicked->Param("W_rec") == model->Param("W_rec"));
  const auto fixed =
      MakeFromToml("kind = 'discrete_rnn'\nN = 4\nnum_heads = 1\ntrain_tau = false\ntau = 2.0", 1);
  CHECK_THROWS_WITH(PerturbTimeConstants(*fixed, eps, &rng), Catch::Contains("tau"));
}

TEST_CASE("CloneModel copies; RelativeAccuracy is the spec's ratio", "[perturb]") {
  const auto model = MakeFromToml(kCtrnn, 9);
  const auto copy = CloneModel(*model);
  CHECK(copy->theta() == model->theta());
  CHECK(copy->hyperparameters() == model->hyperparameters());
  const auto lstm = MakeFromToml("kind = 'lstm'\nN = 3\ninput_size = 1\noutput_size = 1");
  CHECK_THROWS_WITH(CloneModel(*lstm), Catch::Contains("lstm"));
  CHECK(RelativeAccuracy(0.75, 1.0) == 0.5);
  CHECK(RelativeAccuracy(0.5, 0.9) == 0.0);
  CHECK(RelativeAccuracy(0.4, 0.9) < 0.0);
  CHECK_THROWS_AS(RelativeAccuracy(0.7, 0.5), std::invalid_argument);
}

// The clamped NM-RNN: s_k ≡ value everywhere, and its derivatives stay exact.
TEST_CASE("ClampModulation holds s_k and keeps exact derivatives", "[perturb]") {
  auto model =
      MakeFromToml("kind = 'nm_rnn'\nN = 7\nM = 3\nR = 3\ninput_size = 2\noutput_size = 2", 3);
  Rng rng(8);
  Eigen::VectorXd theta = model->theta();
  for (Eigen::Index i = 0; i < theta.size(); ++i) theta(i) += 0.3 * rng.Normal();
  model->SetTheta(theta);
  const auto clamped = ClampModulation(*model, 1, 0.0);
  const auto& cm = static_cast<const ContinuousModel&>(*clamped);
  const Eigen::Index s = cm.state_size(), p = cm.num_params(), b = 3;
  const Eigen::MatrixXd x = rng.NormalMatrix(s, b, 0.7), u = rng.NormalMatrix(2, b, 1.0);
  const Eigen::MatrixXd lam = rng.NormalMatrix(s, b, 1.0);

  std::vector<Eigen::MatrixXd> extras, extras0;
  cm.Extras(x, u, &extras);
  model->Extras(x, u, &extras0);
  CHECK(extras[0].row(1).isZero(0.0));
  CHECK(extras[0].row(0) == extras0[0].row(0));
  CHECK(extras[0].row(2) == extras0[0].row(2));
  // Its dynamics differ from the unclamped model's.
  Eigen::MatrixXd f(s, b), f0(s, b);
  cm.Rhs(x, u, f);
  static_cast<const ContinuousModel&>(*model).Rhs(x, u, f0);
  CHECK(RelErr(f, f0) > 1e-3);

  // Jacobian against central differences.
  for (Eigen::Index j = 0; j < b; ++j) {
    const Eigen::VectorXd xj = x.col(j), uj = u.col(j);
    const Eigen::MatrixXd fd = testing::NumericalJacobian(
        [&](const Eigen::VectorXd& v) {
          Eigen::VectorXd out(s);
          cm.Rhs(v, uj, out);
          return out;
        },
        xj);
    CHECK(RelErr(cm.Jacobian(xj, uj), fd) < 1e-7);
  }
  // Parameter VJPs of Rhs and of the Euler step against differences in θ; the clamped
  // component's A_z row and b_z entry get exactly zero gradient.
  const Eigen::VectorXd theta0 = clamped->theta();
  auto scalar = [&](bool euler) {
    return [&, euler](const Eigen::VectorXd& th) {
      auto m = CloneModel(*clamped);
      m->SetTheta(th);
      const auto& c = static_cast<const ContinuousModel&>(*m);
      Eigen::MatrixXd out(s, b);
      if (euler) {
        c.EulerStep(x, u, 0.7, out);
      } else {
        c.Rhs(x, u, out);
      }
      return lam.cwiseProduct(out).sum();
    };
  };
  Eigen::MatrixXd lam_x(s, b);
  Eigen::VectorXd g = Eigen::VectorXd::Zero(p);
  cm.Vjp(x, u, lam, lam_x, g);
  CHECK(RelErr(g, testing::NumericalGradient(scalar(false), theta0)) < 1e-7);
  Eigen::VectorXd g_step = Eigen::VectorXd::Zero(p);
  cm.EulerStepVjp(x, u, 0.7, lam, lam_x, g_step);
  CHECK(RelErr(g_step, testing::NumericalGradient(scalar(true), theta0)) < 1e-7);
  const ParamBlock& az = clamped->layout().Find("A_z");  // R x M, column-major
  for (Eigen::Index m = 0; m < 3; ++m) CHECK(g_step(az.offset + m * 3 + 1) == 0.0);
  CHECK(g_step(clamped->layout().Find("b_z").offset + 1) == 0.0);
  // The state VJP of the Euler step against differences in x.
  for (Eigen::Index j = 0; j < b; ++j) {
    const Eigen::VectorXd uj = u.col(j);
    const Eigen::MatrixXd fd = testing::NumericalJacobian(
        [&](const Eigen::VectorXd& v) {
          Eigen::VectorXd out(s);
          cm.EulerStep(v, uj, 0.7, out);
          return out;
        },
        x.col(j));
    CHECK(RelErr(lam_x.col(j), fd.transpose() * lam.col(j)) < 1e-7);
  }

  CHECK_THROWS_WITH(ClampModulation(*model, 3, 0.0), Catch::Contains("clamped_s"));
  CHECK_THROWS_WITH(ClampModulation(*model, 0, 1.5), Catch::Contains("clamped_s"));
  const auto ct = MakeFromToml(kCtrnn);
  CHECK_THROWS_WITH(ClampModulation(*ct, 0, 0.0), Catch::Contains("ctrnn"));
}

}  // namespace
}  // namespace ctrnn
