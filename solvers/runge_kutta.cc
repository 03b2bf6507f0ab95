#include "solvers/runge_kutta.h"

#include <cmath>
#include <stdexcept>

namespace ctrnn {

void ButcherTableau::Validate() const {
  const Eigen::Index s = b.size();
  const std::string pre = "ButcherTableau '" + name + "': ";
  if (s < 1) throw std::invalid_argument(pre + "no stages");
  if (a.rows() != s || a.cols() != s || c.size() != s) {
    throw std::invalid_argument(pre + "a must be s x s and c of length s = " + std::to_string(s));
  }
  if (!a.allFinite() || !b.allFinite() || !c.allFinite()) {
    throw std::invalid_argument(pre + "entries must be finite");
  }
  for (Eigen::Index i = 0; i < s; ++i) {
    for (Eigen::Index j = i; j < s; ++j) {
      if (a(i, j) != 0.0) {
        throw std::invalid_argument(pre + "a(" + std::to_string(i) + ", " + std::to_string(j) +
                                    ") != 0: only explicit methods (strictly lower a)");
      }
    }
  }
}

const ButcherTableau& ClassicRk4Tableau() {
  static const ButcherTableau tableau = [] {
    ButcherTableau t;
    t.name = "rk4";
    t.a = Eigen::MatrixXd::Zero(4, 4);
    t.a(1, 0) = 0.5;
    t.a(2, 1) = 0.5;
    t.a(3, 2) = 1.0;
    t.b = Eigen::Vector4d(1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0);
    t.c = Eigen::Vector4d(0.0, 0.5, 0.5, 1.0);
    return t;
  }();
  return tableau;
}

const ButcherTableau& DormandPrince5Tableau() {
  // Dormand & Prince (1980), the coefficients of odeint's runge_kutta_dopri5. The seventh (FSAL)
  // stage has a_7j = b_j: it is f at the new state and serves only the error estimate.
  static const ButcherTableau tableau = [] {
    ButcherTableau t;
    t.name = "dopri5";
    t.a = Eigen::MatrixXd::Zero(6, 6);
    t.a(1, 0) = 1.0 / 5.0;
    t.a(2, 0) = 3.0 / 40.0;
    t.a(2, 1) = 9.0 / 40.0;
    t.a(3, 0) = 44.0 / 45.0;
    t.a(3, 1) = -56.0 / 15.0;
    t.a(3, 2) = 32.0 / 9.0;
    t.a(4, 0) = 19372.0 / 6561.0;
    t.a(4, 1) = -25360.0 / 2187.0;
    t.a(4, 2) = 64448.0 / 6561.0;
    t.a(4, 3) = -212.0 / 729.0;
    t.a(5, 0) = 9017.0 / 3168.0;
    t.a(5, 1) = -355.0 / 33.0;
    t.a(5, 2) = 46732.0 / 5247.0;
    t.a(5, 3) = 49.0 / 176.0;
    t.a(5, 4) = -5103.0 / 18656.0;
    t.b.resize(6);
    t.b << 35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0;
    t.c.resize(6);
    t.c << 0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0;
    return t;
  }();
  return tableau;
}

ExplicitRungeKutta::ExplicitRungeKutta(const ButcherTableau& tableau,
                                       Eigen::Index state_size,
                                       Eigen::Index trials)
    : tableau_(tableau) {
  tableau_.Validate();
  if (state_size < 0 || trials < 0) {
    throw std::invalid_argument("ExplicitRungeKutta: negative size " + std::to_string(state_size) +
                                " x " + std::to_string(trials));
  }
  const Eigen::Index s = tableau_.stages();
  const auto n = static_cast<size_t>(s);
  stage_x_.assign(n, Eigen::MatrixXd(state_size, trials));
  slope_.assign(n, Eigen::MatrixXd(state_size, trials));
  stage_bar_.assign(n, Eigen::MatrixXd(state_size, trials));
  slope_bar_.resize(state_size, trials);
  needed_.assign(n, false);
  for (Eigen::Index i = s - 1; i >= 0; --i) {
    bool need = tableau_.b(i) != 0.0;
    for (Eigen::Index j = i + 1; j < s; ++j) {
      need = need || (tableau_.a(j, i) != 0.0 && needed_[static_cast<size_t>(j)]);
    }
    needed_[static_cast<size_t>(i)] = need;
  }
}

void ExplicitRungeKutta::Stages(
    const ContinuousModel& model, ConstMatRef x, ConstMatRef u, double h, bool last_slope) {
  const Eigen::Index s = tableau_.stages();
  for (Eigen::Index i = 0; i < s; ++i) {
    const auto si = static_cast<size_t>(i);
    if (i > 0) {
      Eigen::MatrixXd& xi = stage_x_[si];
      xi = x;
      for (Eigen::Index j = 0; j < i; ++j) {
        const double aij = tableau_.a(i, j);
        if (aij != 0.0) xi.noalias() += (h * aij) * slope_[static_cast<size_t>(j)];
      }
    }
    if (i == s - 1 && !last_slope) break;
    if (i == 0) {
      model.Rhs(x, u, slope_[0]);
    } else {
      model.Rhs(stage_x_[si], u, slope_[si]);
    }
  }
}

void ExplicitRungeKutta::Step(
    const ContinuousModel& model, ConstMatRef x, ConstMatRef u, double h, MatRef x_next) {
  Stages(model, x, u, h, true);
  x_next = x;
  for (Eigen::Index i = 0; i < tableau_.stages(); ++i) {
    const double bi = tableau_.b(i);
    if (bi != 0.0) x_next.noalias() += (h * bi) * slope_[static_cast<size_t>(i)];
  }
}

void ExplicitRungeKutta::StepVjp(const ContinuousModel& model,
                                 ConstMatRef x,
                                 ConstMatRef u,
                                 double h,
                                 ConstMatRef lambda_next,
                                 MatRef lambda,
                                 VecRef g_theta) {
  Stages(model, x, u, h, false);
  const Eigen::Index s = tableau_.stages();
  lambda = lambda_next;
  for (Eigen::Index i = s - 1; i >= 0; --i) {
    const auto si = static_cast<size_t>(i);
    if (!needed_[si]) continue;
    slope_bar_.noalias() = (h * tableau_.b(i)) * lambda_next;
    for (Eigen::Index j = i + 1; j < s; ++j) {
      const double aji = tableau_.a(j, i);
      if (aji != 0.0 && needed_[static_cast<size_t>(j)]) {
        slope_bar_.noalias() += (h * aji) * stage_bar_[static_cast<size_t>(j)];
      }
    }
    if (i == 0) {
      model.Vjp(x, u, slope_bar_, stage_bar_[0], g_theta);
    } else {
      model.Vjp(stage_x_[si], u, slope_bar_, stage_bar_[si], g_theta);
    }
    lambda += stage_bar_[si];
  }
}

}  // namespace ctrnn
