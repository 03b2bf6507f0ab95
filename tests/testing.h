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

// One small configuration of every model kind and variant: the contract and gradient suites run
// over all of them. Adding a model is one line here.
struct ModelCase {
  const char* name;
  const char* toml;  // body of the [model] table
};

inline const ModelCase kModels[] = {
    {"ctrnn current tanh", "kind = 'ctrnn'\nN = 6\ninput_size = 2\nnum_heads = 2\nnum_classes = 2"},
    {"ctrnn current softplus zero-diag",
     "kind = 'ctrnn'\nN = 5\ninput_size = 2\nphi = 'softplus'\nzero_diagonal = true\nscale_by_N = "
     "true"},
    {"ctrnn rate leaky_relu (Variant B)",
     "kind = 'ctrnn'\nN = 6\ninput_size = 1\nform = 'rate'\nphi = 'leaky_relu'\nzero_diagonal = "
     "true\nnum_classes = 2"},
    {"ctrnn rate sigmoid fixed tau",
     "kind = 'ctrnn'\nN = 5\ninput_size = 2\nform = 'rate'\nphi = 'sigmoid'\ntrain_tau = "
     "false\ntau = 3.0"},
    {"ctrnn current relu",
     "kind = 'ctrnn'\nN = 5\ninput_size = 2\nphi = 'relu'\ninit = 'gaussian'\ngain = 2.0"},
    {"low_rank qr 1/N", "kind = 'low_rank'\nN = 7\nR = 2\ninput_size = 3\noutput_size = 2"},
    {"low_rank eft",
     "kind = 'low_rank'\nN = 6\nR = 3\ninput_size = 1\northonormalize_U = false\nreadout_bias = "
     "false\ninit = 'eft'"},
    {"nm_rnn (HEAD: QR)", "kind = 'nm_rnn'\nN = 7\nM = 3\nR = 2\ninput_size = 3\noutput_size = 2"},
    {"nm_rnn legacy (1/N, no QR)",
     "kind = 'nm_rnn'\nN = 6\nM = 2\nR = 3\northonormalize_U = false\nscale_by_N = true"},
    {"nm_rnn eft feedback",
     "kind = 'nm_rnn'\nN = 6\nM = 3\nR = 2\ninput_size = 1\nfeedback = true\northonormalize_U = "
     "false\nscale_by_N = true\nreadout_bias = false\ninit = 'eft'\ninitial_state = "
     "'random'\ntau_x = 2.0\ntau_z = 10.0"},
    {"nm_rnn context",
     "kind = 'nm_rnn'\nN = 6\nM = 4\nR = 2\ninput_size = 5\nx_input_size = 3\noutput_size = 3"},
    {"nm_rnn linear symmetric", "kind = 'nm_rnn'\nN = 6\nM = 2\nR = 2\nlinear_symmetric = true"},
    // Wider than a SIMD packet and not a multiple of one: covers the packet paths' tails.
    {"nm_rnn N=21 (packet tails)",
     "kind = 'nm_rnn'\nN = 21\nM = 5\nR = 3\ninput_size = 3\noutput_size = 2"},
    {"nm_rnn simultaneous euler",
     "kind = 'nm_rnn'\nN = 5\nM = 2\nR = 2\neuler_order = 'simultaneous'"},
    {"lstm", "kind = 'lstm'\nN = 5\ninput_size = 2\noutput_size = 2\nreadout_bias = true"},
    {"gru", "kind = 'gru'\nN = 5\ninput_size = 2\noutput_size = 2"},
    {"discrete_rnn (Variant A)", "kind = 'discrete_rnn'\nN = 6\ninput_size = 1\nnum_heads = 2"},
};

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
