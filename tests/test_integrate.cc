// Integrate's contract beyond accuracy: bad input throws with a clear message, numerical failure
// is a termination in the summary, never an abort.
#include <limits>

#include <catch2/catch.hpp>

#include "lib/tasks/mwg.h"
#include "solvers/integrate.h"
#include "tests/testing.h"

namespace ctrnn {
namespace {

using Catch::Matchers::Contains;
using testing::MakeFromToml;

TEST_CASE("Integrate rejects wrong shapes and options by name", "[integrate]") {
  auto model = MakeFromToml("kind = 'nm_rnn'\nN = 10\nM = 2\nR = 2");
  Batch batch = MakeMwgBatch(MwgTrainingTrials(), MwgOptions());
  Trajectory traj;
  IntegrateOptions opt;
  CHECK_THROWS_WITH(Integrate(*model, batch, Eigen::MatrixXd::Zero(11, 40), opt, &traj),
                    Contains("x0 is 11x40, expected 12x40"));
  opt.dt = -1;
  CHECK_THROWS_WITH(Integrate(*model, batch, opt, &traj), Contains("IntegrateOptions.dt = -1"));
  opt = IntegrateOptions();
  auto two_inputs = MakeFromToml("kind = 'nm_rnn'\nN = 10\nM = 2\nR = 2\ninput_size = 2");
  CHECK_THROWS_WITH(Integrate(*two_inputs, batch, opt, &traj),
                    Contains("batch has 3 input channels") && Contains("expects 2"));
  batch.bin_edges.pop_back();
  CHECK_THROWS_WITH(Integrate(*model, batch, opt, &traj), Contains("110 bin edges for 110 bins"));
  batch = MakeMwgBatch(MwgTrainingTrials(), MwgOptions());
  batch.inputs[3](1, 2) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(Integrate(*model, batch, opt, &traj), Contains("inputs[3]"));
  CHECK_THROWS_WITH(ParseStepper("rk45", "integrator.stepper"),
                    Contains("integrator.stepper = \"rk45\""));
}

TEST_CASE("a diverging network ends with a non-finite termination", "[integrate]") {
  // A linear network with a huge positive eigenvalue overflows within a few steps.
  auto model = MakeFromToml(
      "kind = 'ctrnn'\nN = 3\ninput_size = 1\nphi = 'linear'\ntrain_tau = false\ntau = 1.0");
  model->SetParam("W_rec", Eigen::MatrixXd::Constant(3, 3, 1e80));
  Batch batch;
  for (int k = 0; k <= 20; ++k) batch.bin_edges.push_back(k);
  batch.inputs.assign(20, Eigen::MatrixXd::Zero(1, 2));
  for (Stepper stepper : {Stepper::kEuler, Stepper::kRk4, Stepper::kDopri5}) {
    IntegrateOptions opt;
    opt.stepper = stepper;
    Trajectory traj;
    IntegrateSummary s = Integrate(*model, batch, opt, &traj);
    INFO(s.BriefReport());
    CHECK_FALSE(s.ok());
    CHECK((s.termination == Termination::kNonFinite ||
           s.termination == Termination::kStepSizeUnderflow));
    CHECK(!traj.states.empty());
    for (const auto& x : traj.states) CHECK(x.allFinite());
  }
}

TEST_CASE("max_steps ends the run with its own termination", "[integrate]") {
  auto model = MakeFromToml("kind = 'nm_rnn'\nN = 10\nM = 2\nR = 2");
  const Batch batch = MakeMwgBatch(MwgTrainingTrials(), MwgOptions());
  IntegrateOptions opt;
  opt.max_steps = 50;
  Trajectory traj;
  IntegrateSummary s = Integrate(*model, batch, opt, &traj);
  CHECK(s.termination == Termination::kMaxSteps);
  CHECK(s.steps == 50);
  CHECK(traj.states.size() == 51);
}

TEST_CASE("fixed steppers cut each bin into equal steps ending at its edges", "[integrate]") {
  auto model = MakeFromToml("kind = 'nm_rnn'\nN = 10\nM = 2\nR = 2");
  Batch batch = MakeMwgBatch(MwgTrainingTrials(), MwgOptions());
  IntegrateOptions opt;
  opt.stepper = Stepper::kRk4;
  opt.dt = 0.3;  // 1/0.3 -> 4 steps of 0.25 per bin
  opt.record_steps = true;
  opt.dense_per_bin = 1;
  Trajectory traj;
  IntegrateSummary s = Integrate(*model, batch, opt, &traj);
  REQUIRE(s.ok());
  CHECK(s.steps == 110 * 4);
  CHECK(s.step_sizes[0] == 0.25);
  CHECK(traj.times.size() == 2 * 110 + 1);
  CHECK(traj.times[1] == 0.5);
  CHECK(traj.edge_index[110] == 220);
  CHECK(traj.times[220] == 110.0);
}

}  // namespace
}  // namespace ctrnn
