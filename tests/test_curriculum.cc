// Curricula for N-parity / N-DMS (timescales spec §3): the advance rule, the update of the active
// N for each kind, the head cap, and training under a curriculum (snapshots, resume).
#include <catch2/catch.hpp>

#include "lib/tasks/parity.h"
#include "lib/tasks/task.h"
#include "solvers/curriculum.h"
#include "solvers/train.h"
#include "solvers/train_io.h"
#include "tests/testing.h"

namespace ctrnn {
namespace {

using Catch::Matchers::Contains;

CurriculumOptions Kind(CurriculumKind kind) {
  CurriculumOptions o;
  o.kind = kind;
  return o;
}

TEST_CASE("the advance rule: mean over heads and the largest N, strictly above", "[curriculum]") {
  CHECK(AdvanceRuleFires({99.0}, 98.0));
  CHECK_FALSE(AdvanceRuleFires({98.0}, 98.0));                    // strict
  CHECK(AdvanceRuleFires({100.0, 96.5, 99.0}, 98.0));             // mean 98.5, largest 99
  CHECK_FALSE(AdvanceRuleFires({100.0, 100.0, 97.0}, 98.0));      // mean 99, largest 97
  CHECK_FALSE(AdvanceRuleFires({99.0, 99.0, 95.0, 99.0}, 98.0));  // mean 98 (not above)
  CHECK_FALSE(AdvanceRuleFires({}, 98.0));
}

TEST_CASE("each curriculum updates the active N as the authors' train() does", "[curriculum]") {
  const std::vector<double> good3 = {99.0, 99.5, 99.9}, bad3 = {99.0, 99.5, 50.0};
  SECTION("single: [N] -> [N + 1], one head") {
    CurriculumOptions o = Kind(CurriculumKind::kSingle);
    o.initial_n = 4;
    CHECK(o.InitialNs() == std::vector<int>{4});
    const CurriculumDecision d = DecideCurriculum(o, {4}, {99.9}, 100);
    CHECK(d.advanced);
    CHECK_FALSE(d.finished);
    CHECK(d.ns == std::vector<int>{5});
    CHECK_FALSE(DecideCurriculum(o, {4}, {98.0}, 100).advanced);
  }
  SECTION("cumulative: Ns += [Nmax + 1 ... Nmax + add]") {
    CurriculumOptions o = Kind(CurriculumKind::kCumulative);
    o.initial_heads = 3;
    CHECK(o.InitialNs() == std::vector<int>{2, 3, 4});
    CHECK(DecideCurriculum(o, {2, 3, 4}, good3, 100).ns == std::vector<int>{2, 3, 4, 5});
    o.add_heads = 2;
    CHECK(DecideCurriculum(o, {2, 3, 4}, good3, 100).ns == std::vector<int>{2, 3, 4, 5, 6});
    const CurriculumDecision stay = DecideCurriculum(o, {2, 3, 4}, bad3, 100);
    CHECK_FALSE(stay.advanced);
    CHECK(stay.ns == std::vector<int>{2, 3, 4});
  }
  SECTION("sliding: Ns = Ns[F:] + [Nmax + 1 ... Nmax + F]") {
    CurriculumOptions o = Kind(CurriculumKind::kSliding);
    o.initial_heads = 10;
    o.slide = 5;
    std::vector<int> ns = o.InitialNs();
    CHECK(ns == std::vector<int>{2, 3, 4, 5, 6, 7, 8, 9, 10, 11});  // sliding_10_5
    const CurriculumDecision d = DecideCurriculum(o, ns, std::vector<double>(10, 99.0), 100);
    CHECK(d.ns == std::vector<int>{7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  }
  SECTION("single_nocurr stops when solved") {
    const CurriculumDecision d =
        DecideCurriculum(Kind(CurriculumKind::kSingleNoCurriculum), {12}, {99.0}, 100);
    CHECK(d.finished);
    CHECK_FALSE(d.advanced);
    CHECK_THAT(d.reason, Contains("solved N = 12"));
  }
  SECTION("the head cap: Ns = [2 ... 101] is the last legal set with 100 heads") {
    CurriculumOptions o = Kind(CurriculumKind::kCumulative);
    std::vector<int> ns(99);
    for (int i = 0; i < 99; ++i) ns[static_cast<size_t>(i)] = i + 2;  // [2 ... 100]
    const CurriculumDecision last = DecideCurriculum(o, ns, std::vector<double>(99, 99.0), 100);
    CHECK(last.advanced);
    CHECK(last.ns.back() == 101);
    const CurriculumDecision cap =
        DecideCurriculum(o, last.ns, std::vector<double>(100, 99.0), 100);
    CHECK(cap.finished);
    CHECK_FALSE(cap.advanced);
    CHECK_THAT(cap.reason, Contains("head cap"));
  }
  SECTION("target_n ends training after the advance past it") {
    CurriculumOptions o = Kind(CurriculumKind::kSingle);
    o.target_n = 5;
    CHECK_FALSE(DecideCurriculum(o, {4}, {99.0}, 100).finished);
    const CurriculumDecision d = DecideCurriculum(o, {5}, {99.0}, 100);
    CHECK(d.finished);
    CHECK(d.advanced);
  }
  SECTION("kind none never changes anything") {
    const CurriculumDecision d = DecideCurriculum(CurriculumOptions(), {3}, {100.0}, 100);
    CHECK_FALSE(d.advanced);
    CHECK_FALSE(d.finished);
  }
}

// A small discrete RNN on parity with 3 heads; threshold 0 makes the rule fire at every epoch.
const char kCurriculumRun[] = R"(seed = 3
[model]
kind = "discrete_rnn"
N = 8
input_size = 1
num_heads = 3
[task]
name = "parity"
num_heads = 3
[train]
batch_mode = "fresh"
batch_size = 16
log_every = 5
checkpoint_every = 4
[stage.all]
iterations = 30
[stage.all.optimizer]
kind = "sgd"
lr = 0.05
momentum = 0.1
nesterov = true
clip_norm = 2.0
[curriculum]
kind = "cumulative"
threshold = 0.0
epoch_iterations = 5
test_batches = 2
test_batch_size = 32
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

TEST_CASE("training under a curriculum: advances, snapshots, the head cap, resume",
          "[curriculum]") {
  Setup s = Load(kCurriculumRun);
  TrainState state;
  std::vector<TrainState> checkpoints;
  TrainCallbacks cb;
  cb.checkpoint = [&](const TrainState& st) { checkpoints.push_back(st); };
  const TrainSummary summary = Train(s.model.get(), *s.task, s.options, cb, &state);
  INFO(summary.BriefReport());
  REQUIRE(summary.ok());
  // Epochs end at 5 and 10: [2] -> [2, 3] -> [2, 3, 4]; at 15 the next set needs 4 heads of 3.
  CHECK(summary.iterations == 15);
  CHECK_THAT(summary.message, Contains("head cap"));
  CHECK(state.epoch_iteration == std::vector<double>{5, 10, 15});
  CHECK(state.epoch_n_max == std::vector<double>{2, 3, 4});
  CHECK(state.epoch_advanced == std::vector<double>{1, 1, 0});
  CHECK(state.curriculum_ns == std::vector<int>{2, 3, 4});
  REQUIRE(state.snapshots.size() == 3);
  CHECK(state.snapshots[0].first == "rnn_N2_N2");
  CHECK(state.snapshots[2].first == "rnn_N2_N4");
  CHECK(state.snapshots[2].second == s.model->theta());
  for (double a : state.epoch_mean_accuracy) CHECK((a > 0.0 && a <= 100.0));
  // The task the caller passed is not changed by the curriculum.
  CHECK(static_cast<const ParityTask&>(*s.task).ns() == std::vector<int>{2});

  SECTION("resuming from a checkpoint mid-curriculum gives the same numbers") {
    REQUIRE(checkpoints.size() >= 3);
    int resumed_runs = 0;
    for (const TrainState& c : checkpoints) {
      if (c.iteration != 8) continue;  // between the first and the second advance
      Setup again = Load(kCurriculumRun);
      TrainState resumed = c;
      CHECK(resumed.curriculum_ns == std::vector<int>{2, 3});
      REQUIRE(
          Train(again.model.get(), *again.task, again.options, TrainCallbacks(), &resumed).ok());
      CHECK(again.model->theta() == s.model->theta());
      CHECK(resumed.curve_loss == state.curve_loss);
      CHECK(resumed.epoch_mean_accuracy == state.epoch_mean_accuracy);
      CHECK(resumed.snapshots == state.snapshots);
      ++resumed_runs;
    }
    CHECK(resumed_runs == 1);
  }
  SECTION("the run file holds the curriculum and reads back") {
    const std::vector<ArchiveGroup> groups = TrainStateGroups(state, 30, &summary);
    bool found = false;
    for (const ArchiveGroup& g : groups) {
      if (g.name != "training/curriculum/snapshots") continue;
      found = true;
      REQUIRE(g.vectors.size() == 3);
      CHECK(g.vectors[1].first == "rnn_N2_N3");
    }
    CHECK(found);
  }
}

TEST_CASE("curriculum configs: bad kinds, modes and tasks are named", "[curriculum]") {
  std::string bad_kind = kCurriculumRun;
  bad_kind.replace(bad_kind.find("\"cumulative\""), 12, "\"spiral\"");
  CHECK_THROWS_WITH(Load(bad_kind), Contains("curriculum.kind") && Contains("spiral"));
  std::string bad_mode = kCurriculumRun;
  bad_mode.replace(bad_mode.find("\"fresh\""), 7, "\"pool\"");
  CHECK_THROWS_WITH(Load(bad_mode), Contains("needs batch_mode = fresh"));
  std::string unknown = kCurriculumRun;
  unknown += "slide = 3\n";  // only for sliding
  CHECK_THROWS_WITH(Load(unknown), Contains("curriculum.slide"));

  Setup s = Load(
      "[model]\nkind = \"ctrnn\"\nN = 3\ninput_size = 3\n[task]\nname = \"mwg\"\n[train]\n"
      "batch_mode = \"fresh\"\n[curriculum]\nkind = \"single\"\n");
  TrainState state;
  CHECK_THROWS_WITH(Train(s.model.get(), *s.task, s.options, TrainCallbacks(), &state),
                    Contains("needs the parity or dms task, not 'mwg'"));
}

}  // namespace
}  // namespace ctrnn
