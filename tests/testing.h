// Shared helpers for the tests: models from a TOML snippet, random data, error measures.
#ifndef CTRNN_TESTS_TESTING_H_
#define CTRNN_TESTS_TESTING_H_

#include <functional>
#include <memory>
#include <string>

#include <Eigen/Core>

#include "lib/config.h"
#include "lib/model.h"
#include "lib/models/factory.h"
#include "lib/random.h"

namespace ctrnn::testing {

// A model from the body of a [model] table, e.g. "kind = \"nm_rnn\"\nN = 6".
inline std::unique_ptr<Model> MakeFromToml(const std::string& model_toml, std::uint64_t seed = 1) {
  Config root = Config::ParseString("[model]\n" + model_toml + "\n", "test");
  auto model = MakeModel(&root.Sub("model"), seed);
  root.CheckAllUsed();
  return model;
}

// ‖a − b‖ / max(‖b‖, floor): a relative error that stays meaningful when b is tiny.
inline double RelErr(const Eigen::Ref<const Eigen::MatrixXd>& a,
                     const Eigen::Ref<const Eigen::MatrixXd>& b,
                     double floor = 1e-8) {
  return (a - b).norm() / std::max(b.norm(), floor);
}

// Central difference of a scalar function of a vector: grad_i ≈ (f(v + h e_i) − f(v − h e_i))/2h.
inline Eigen::VectorXd NumericalGradient(const std::function<double(const Eigen::VectorXd&)>& f,
                                         const Eigen::VectorXd& v,
                                         double h = 1e-6) {
  Eigen::VectorXd g(v.size());
  Eigen::VectorXd w = v;
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    w(i) = v(i) + h;
    const double fp = f(w);
    w(i) = v(i) - h;
    const double fm = f(w);
    w(i) = v(i);
    g(i) = (fp - fm) / (2.0 * h);
  }
  return g;
}

// Central-difference Jacobian of a vector function.
inline Eigen::MatrixXd NumericalJacobian(
    const std::function<Eigen::VectorXd(const Eigen::VectorXd&)>& f,
    const Eigen::VectorXd& v,
    double h = 1e-6) {
  const Eigen::Index m = f(v).size();
  Eigen::MatrixXd jac(m, v.size());
  Eigen::VectorXd w = v;
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    w(i) = v(i) + h;
    const Eigen::VectorXd fp = f(w);
    w(i) = v(i) - h;
    const Eigen::VectorXd fm = f(w);
    w(i) = v(i);
    jac.col(i) = (fp - fm) / (2.0 * h);
  }
  return jac;
}

}  // namespace ctrnn::testing

#endif  // CTRNN_TESTS_TESTING_H_
