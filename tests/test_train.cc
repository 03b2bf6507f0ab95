// The training loop: staged freezing, resume to the same numbers, non-finite stops, bad configs.
#include <catch2/catch.hpp>

#include "lib/tasks/task.h"
#include "solvers/train.h"
#include "tests/testing.h"

namespace ctrnn {
namespace {

using Catch::Matchers::Contains;
using testing::MakeFromToml;

const char kSmallRun[] = R"(seed = 5
[model]
kind = "nm_rnn"
N = 12
M = 3
R = 2
[task]
name = "mwg"
[train]
log_every = 10
eval_every = 20
checkpoint_every = 15
stages = ["lr", "nm", "all"]
[stage.lr]
iterations = 20
trainable = ["U", "V", "B_x", "C", "d"]
[stage.lr.optimizer]
kind = "adamw"
lr = 0.01
clip_value = 1.0
[stage.nm]
iterations = 20
trainable = ["W_z", "B_z", "A_z", "b_z"]
[stage.nm.optimizer]
kind = "adamw"
lr = 0.01
clip_value = 1.0
[stage.all]
iterations = 20
[stage.all.optimizer]
kind = "adamw"
lr = 0.01
clip_value = 1.0
reset_every = 7
)";

struct Setup {
  Config config;
  std::unique_ptr<Model> model;
  std::unique_ptr<Task> task;
  TrainOptions options;
};

Setup Load(const std::string& text) {
  Setup s;
  s.config = Config::ParseString(text, "test");
  const auto seed = static_cast<std::uint64_t>(s.config.GetInt("seed", 0, 0, 1 << 30));
  s.model = MakeModel(&s.config.Sub("model"), seed);
  s.task = MakeTask(&s.config.Sub("task"));
  s.options = TrainOptionsFromConfig(&s.config, seed, s.task->loss());
  s.config.CheckAllUsed();
  return s;
}

TEST_CASE("a stage moves only its trainable blocks, bit for bit", "[train]") {
  Setup s = Load(kSmallRun);
  s.options.stages.resize(2);  // lr-only, then nm-only
  const Eigen::VectorXd theta0 = s.model->theta();
  std::vector<Eigen::VectorXd> after_stage;
  TrainState state;
  TrainCallbacks cb;
  cb.checkpoint = [&](const TrainState& st) {
    if (st.iteration == 20) after_stage.push_back(st.theta);  // end of stage 1
  };
  s.options.checkpoint_every = 20;
  const TrainSummary summary = Train(s.model.get(), *s.task, s.options, cb, &state);
  REQUIRE(summary.ok());
  REQUIRE(after_stage.size() == 1);
  const Eigen::VectorXd& mid = after_stage[0];
  const Eigen::VectorXd& end = s.model->theta();
  for (const ParamBlock& b : s.model->layout().blocks()) {
    const bool lr_block =
        b.name == "U" || b.name == "V" || b.name == "B_x" || b.name == "C" || b.name == "d";
    INFO(b.name);
    const auto seg0 = theta0.segment(b.offset, b.size());
    const auto seg1 = mid.segment(b.offset, b.size());
    const auto seg2 = end.segment(b.offset, b.size());
    // Stage 1 moves the LR blocks only; stage 2 the NM blocks only.
    CHECK((seg1 == seg0) == !lr_block);
    CHECK((seg2 == seg1) == lr_block);
  }
  CHECK(state.curve_loss.size() == 4);
}

TEST_CASE("resuming from any checkpoint gives the uninterrupted run's numbers", "[train]") {
  Setup full = Load(kSmallRun);
  TrainState full_state;
  std::vector<TrainState> checkpoints;
  TrainCallbacks cb;
  cb.checkpoint = [&](const TrainState& st) { checkpoints.push_back(st); };
  REQUIRE(Train(full.model.get(), *full.task, full.options, cb, &full_state).ok());
  REQUIRE(checkpoints.size() >= 4);  // 15, 30, 45 and the end
  for (size_t c = 0; c + 1 < checkpoints.size(); ++c) {
    Setup again = Load(kSmallRun);
    TrainState state = checkpoints[c];
    INFO("resumed at iteration " << state.iteration);
    REQUIRE(Train(again.model.get(), *again.task, again.options, TrainCallbacks(), &state).ok());
    CHECK(again.model->theta() == full.model->theta());
    CHECK(state.curve_loss == full_state.curve_loss);
    CHECK(state.best_theta == full_state.best_theta);
    CHECK(state.eval_metrics == full_state.eval_metrics);
  }
}

TEST_CASE("a non-finite loss stops training with the last finite parameters", "[train]") {
  Setup s = Load(
      "[model]\nkind = \"ctrnn\"\nN = 3\ninput_size = 3\nphi = \"linear\"\n[task]\nname = "
      "\"mwg\"\n[stage.all]\niterations = 5\n[stage.all.optimizer]\nkind = \"adam\"\nlr = 0.1\n");
  s.model->SetParam("W_rec", Eigen::MatrixXd::Constant(3, 3, 1e80));
  const Eigen::VectorXd theta0 = s.model->theta();
  TrainState state;
  const TrainSummary summary = Train(s.model.get(), *s.task, s.options, TrainCallbacks(), &state);
  CHECK(summary.termination == Termination::kNonFinite);
  CHECK_THAT(summary.message, Contains("last finite"));
  CHECK(s.model->theta() == theta0);
  CHECK(state.theta == theta0);
}

TEST_CASE("training configs name unknown keys, blocks and bad values", "[train]") {
  CHECK_THROWS_WITH(Load(std::string(kSmallRun) + "momentum = 0.9\n"),
                    Contains("stage.all.optimizer.momentum"));
  std::string bad_block = kSmallRun;
  bad_block.replace(bad_block.find("\"B_x\""), 5, "\"B_y\"");
  Setup s = Load(bad_block);
  TrainState state;
  CHECK_THROWS_WITH(Train(s.model.get(), *s.task, s.options, TrainCallbacks(), &state),
                    Contains("B_y"));
  std::string bad_mode = kSmallRun;
  bad_mode.replace(bad_mode.find("log_every = 10"), 14, "batch_mode = \"online\"");
  CHECK_THROWS_WITH(Load(bad_mode), Contains("train.batch_mode = \"online\""));
}

}  // namespace
}  // namespace ctrnn
