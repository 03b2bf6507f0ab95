// The continuous interpolating adjoint against a tight-tolerance reference: the discrete adjoint of
// a Dormand–Prince solve at tolerance 1e-12, which is the exact-ODE gradient to ~1e-10.
#include <catch2/catch.hpp>

#include "lib/tasks/mwg.h"
#include "solvers/gradient.h"
#include "solvers/interpolating_adjoint.h"
#include "tests/testing.h"

namespace ctrnn {
namespace {

using Catch::Matchers::Contains;
using testing::MakeFromToml;
using testing::RelErr;

Batch SmallMwg() {
  MwgOptions o;
  o.num_bins = 60;
  std::vector<MwgTrial> trials = {{4, 5}, {8, 7}, {10, 3}};
  return MakeMwgBatch(trials, o);
}

Eigen::VectorXd Reference(const Model& model, const Batch& batch, const LossOptions& loss) {
  GradientOptions ref;
  ref.integrate.stepper = Stepper::kDopri5;
  ref.integrate.abs_tol = ref.integrate.rel_tol = 1e-12;
  Eigen::VectorXd g;
  REQUIRE(LossAndGradient(model, batch, loss, ref, &g).ok());
  return g;
}

TEST_CASE("the interpolating adjoint converges to the exact-ODE gradient with its tolerance",
          "[adjoint]") {
  const char* models[] = {
      "kind = 'nm_rnn'\nN = 12\nM = 3\nR = 2\ntau_x = 4.0\ntau_z = 12.0",
      "kind = 'ctrnn'\nN = 10\ninput_size = 3\ninit = 'gaussian'\ngain = 0.9\ntau_lo = 2.0\ntau_hi "
      "= 5.0",
      "kind = 'low_rank'\nN = 12\nR = 2\nscale_by_N = false",
  };
  const Batch batch = SmallMwg();
  for (const char* toml : models) {
    for (LossKind kind : {LossKind::kMaskedMse, LossKind::kFinalMse}) {
      auto model = MakeFromToml(toml, 3);
      LossOptions loss;
      loss.kind = kind;
      const Eigen::VectorXd reference = Reference(*model, batch, loss);
      double previous = 1.0;
      for (double tol : {1e-5, 1e-8}) {
        InterpolatingAdjointOptions opt;
        opt.forward.abs_tol = opt.forward.rel_tol = tol;
        opt.adjoint_abs_tol = opt.adjoint_rel_tol = tol;
        Eigen::VectorXd g;
        const InterpolatingAdjointSummary s =
            InterpolatingAdjointGradient(*model, batch, loss, opt, &g);
        REQUIRE(s.ok());
        const double err = RelErr(g, reference);
        INFO(toml << "\nloss " << LossKindName(kind) << ", tol " << tol << ": relative error "
                  << err << "; " << s.BriefReport());
        // The stated bound: within 100 x the tolerance of the exact gradient.
        CHECK(err < 100 * tol);
        CHECK(err < previous);
        previous = err;
      }
    }
  }
}

TEST_CASE("the interpolating adjoint refuses discrete models and bad options", "[adjoint]") {
  auto lstm = MakeFromToml("kind = 'lstm'\nN = 4\ninput_size = 3");
  Eigen::VectorXd g;
  CHECK_THROWS_WITH(InterpolatingAdjointGradient(
                        *lstm, SmallMwg(), LossOptions(), InterpolatingAdjointOptions(), &g),
                    Contains("discrete"));
  auto nm = MakeFromToml("kind = 'nm_rnn'\nN = 6\nM = 2\nR = 2");
  InterpolatingAdjointOptions opt;
  opt.adjoint_rel_tol = 0;
  CHECK_THROWS_WITH(InterpolatingAdjointGradient(*nm, SmallMwg(), LossOptions(), opt, &g),
                    Contains("adjoint_rel_tol = 0"));
}

}  // namespace
}  // namespace ctrnn
