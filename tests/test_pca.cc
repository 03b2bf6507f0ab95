// PCA of trajectories (solvers/pca.h) on synthetic low-rank data with known variances.
#include <cmath>
#include <stdexcept>
#include <vector>

#include <Eigen/QR>
#include <catch2/catch.hpp>

#include "lib/random.h"
#include "solvers/pca.h"
#include "tests/testing.h"

namespace ctrnn {
namespace {

using testing::RelErr;

TEST_CASE("PCA recovers a rank-2 subspace and its variance ratios", "[pca]") {
  // x = μ + Q (4√2 cos θ, √2 sin θ) over whole periods: the sample variances along Q's columns are
  // exactly 16·m/(m − 1) and m/(m − 1), so the ratios are 16/17 and 1/17.
  constexpr Eigen::Index kS = 8, kTrials = 3, kTimes = 40, kM = kTrials * kTimes;
  Rng rng(2);
  const Eigen::MatrixXd q =
      Eigen::HouseholderQR<Eigen::MatrixXd>(rng.NormalMatrix(kS, 2, 1.0)).householderQ() *
      Eigen::MatrixXd::Identity(kS, 2);
  const Eigen::VectorXd mu = rng.NormalMatrix(kS, 1, 1.0);
  std::vector<Eigen::MatrixXd> states(kTimes, Eigen::MatrixXd(kS, kTrials));
  for (Eigen::Index t = 0; t < kTimes; ++t) {
    for (Eigen::Index b = 0; b < kTrials; ++b) {
      const double theta = 2.0 * 3.14159265358979323846 * static_cast<double>(t * kTrials + b) / kM;
      states[t].col(b) = mu + q * Eigen::Vector2d(4.0 * std::sqrt(2.0) * std::cos(theta),
                                                  std::sqrt(2.0) * std::sin(theta));
    }
  }
  PcaResult result;
  const PcaSummary summary = Pca(states, PcaOptions(), &result);
  INFO(summary.BriefReport());
  CHECK(summary.samples == kM);
  CHECK(RelErr(result.mean, mu) < 1e-12);
  const double scale = static_cast<double>(kM) / (kM - 1);
  CHECK(std::abs(result.explained_variance(0) - 16.0 * scale) < 1e-10);
  CHECK(std::abs(result.explained_variance(1) - scale) < 1e-10);
  CHECK(result.explained_variance.tail(kS - 2).cwiseAbs().maxCoeff() < 1e-10);
  CHECK(std::abs(result.explained_variance_ratio(0) - 16.0 / 17.0) < 1e-12);
  CHECK(std::abs(result.explained_variance_ratio(1) - 1.0 / 17.0) < 1e-12);
  CHECK(result.dimensionality == 1);  // 16/17 > 0.9
  // The leading components span Q's columns: the first is ±q0, the second ±q1.
  CHECK(std::abs(std::abs(result.components.row(0).dot(q.col(0))) - 1.0) < 1e-10);
  CHECK(std::abs(std::abs(result.components.row(1).dot(q.col(1))) - 1.0) < 1e-10);
  const Eigen::MatrixXd proj = q * q.transpose();
  for (int k = 0; k < 2; ++k) {
    const Eigen::VectorXd v = result.components.row(k).transpose();
    CHECK((proj * v - v).norm() < 1e-10);
    Eigen::Index arg = 0;
    v.cwiseAbs().maxCoeff(&arg);
    CHECK(v(arg) > 0.0);  // the sign convention
  }
  CHECK(RelErr(result.components * result.components.transpose(),
               Eigen::MatrixXd::Identity(kS, kS)) < 1e-12);

  PcaOptions higher;
  higher.threshold = 0.99;
  higher.num_components = 3;
  PcaResult r2;
  CHECK(Pca(states, higher, &r2).dimensionality == 2);
  CHECK(r2.components.rows() == 3);
}

TEST_CASE("PCA rejects what it cannot analyse", "[pca]") {
  PcaResult result;
  CHECK_THROWS_WITH(Pca({}, PcaOptions(), &result), Catch::Contains("no states"));
  CHECK_THROWS_WITH(Pca({Eigen::MatrixXd::Ones(3, 1)}, PcaOptions(), &result),
                    Catch::Contains("at least 2 samples"));
  CHECK_THROWS_WITH(
      Pca({Eigen::MatrixXd::Ones(3, 2), Eigen::MatrixXd::Ones(4, 2)}, PcaOptions(), &result),
      Catch::Contains("states[1]"));
  PcaOptions bad;
  bad.threshold = 1.5;
  CHECK_THROWS_WITH(Pca({Eigen::MatrixXd::Ones(3, 2)}, bad, &result), Catch::Contains("threshold"));
}

}  // namespace
}  // namespace ctrnn
