// The task suite (lib/tasks/): each task against hand-computed trials, the multitask percent
// correct in its legacy and atan2 forms, the paper's fixed multitask test trials, bad configs,
// determinism, the losses accepting every task's batches, and batches through the HDF5 archive.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <unistd.h>

#include "lib/archive.h"
#include "lib/loss.h"
#include "lib/tasks/eft.h"
#include "lib/tasks/multitask.h"
#include "lib/tasks/parity.h"
#include "lib/tasks/task.h"

namespace ctrnn {
namespace {

namespace fs = std::filesystem;
using Catch::Contains;

// A [task] table from TOML, kept alive with the task built from it.
struct Built {
  explicit Built(const std::string& toml) : root(Config::ParseString("[task]\n" + toml, "test")) {
    task = MakeTask(&root.Sub("task"));
    root.CheckAllUsed();
  }
  Config root;
  std::unique_ptr<Task> task;
};

// The error message MakeTask throws for a [task] table (empty if it does not throw).
std::string MakeTaskError(const std::string& toml) {
  try {
    Built b(toml);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Outputs y_0..y_T equal to the targets (y_{k+1} = targets[k]; y_0 = 0): a perfect model.
std::vector<Eigen::MatrixXd> PerfectOutputs(const Batch& batch) {
  std::vector<Eigen::MatrixXd> y;
  y.push_back(Eigen::MatrixXd::Zero(batch.output_size(), batch.num_trials()));
  for (const Eigen::MatrixXd& t : batch.targets) y.push_back(t);
  return y;
}

bool SameBatch(const Batch& a, const Batch& b) {
  const auto same = [](const std::vector<Eigen::MatrixXd>& x,
                       const std::vector<Eigen::MatrixXd>& y) {
    if (x.size() != y.size()) return false;
    for (size_t k = 0; k < x.size(); ++k) {
      if (x[k].rows() != y[k].rows() || x[k].cols() != y[k].cols() || x[k] != y[k]) return false;
    }
    return true;
  };
  return a.bin_edges == b.bin_edges && same(a.inputs, b.inputs) && same(a.targets, b.targets) &&
         same(a.mask, b.mask);
}

// The paper's test-trial file: the project's copy if there is one, else the shared reference data.
std::string TestTrialsFile() {
  for (const std::string& path :
       {std::string(CTRNN_SOURCE_DIR) + "/data/nmrnn_multitask_test_trials.h5",
        std::string("/work/shared/data/nmrnn_multitask_test_trials.h5")}) {
    if (fs::exists(path)) return path;
  }
  return "";
}

constexpr char kAllTasks[] = "delay_pro,delay_anti,memory_pro,memory_anti";

// ---- multitask ---------------------------------------------------------------------------------

TEST_CASE("multitask: a DelayPro trial with given theta and durations", "[task]") {
  MultitaskTrial trial;
  trial.kind = MultitaskKind::kDelayPro;
  trial.theta = 0.3;
  trial.stim_on = 0.5;  // -> 0.5 / 2 * 100 = bin 25
  trial.fix_off = 1.0;  // -> bin 50
  trial.end = 2.0;
  const Batch batch = MakeMultitaskBatch({trial}, MultitaskOptions{});
  REQUIRE_NOTHROW(batch.Validate());
  REQUIRE(batch.num_bins() == 100);
  REQUIRE(batch.input_size() == 6);
  REQUIRE(batch.output_size() == 3);
  REQUIRE(batch.bin_edges.front() == 0.0);
  REQUIRE(batch.bin_edges.back() == 100.0);
  for (int t = 0; t < 100; ++t) {
    const Eigen::VectorXd u = batch.inputs[t].col(0);
    const Eigen::VectorXd y = batch.targets[t].col(0);
    INFO("t = " << t);
    CHECK(u(0) == (t < 50 ? 1.0 : 0.0));
    CHECK(u(1) == (t >= 25 ? std::sin(0.3) : 0.0));
    CHECK(u(2) == (t >= 25 ? std::cos(0.3) : 0.0));
    CHECK(u(3) == 1.0);
    CHECK(u(4) == 0.0);
    CHECK(u(5) == 0.0);
    CHECK(y(0) == (t < 50 ? 0.8 : 0.0));
    CHECK(y(1) == (t >= 50 ? std::sin(0.3) : 0.0));
    CHECK(y(2) == (t >= 50 ? std::cos(0.3) : 0.0));
    CHECK(batch.mask[t] == Eigen::MatrixXd::Ones(3, 1));
  }
}

TEST_CASE("multitask: anti and memory trials, non-integer boundaries, the cue channel", "[task]") {
  MultitaskOptions options;
  options.num_context = 4;
  MultitaskTrial anti;
  anti.kind = MultitaskKind::kDelayAnti;
  anti.theta = 2.0;
  anti.stim_on = 0.3;  // 0.3 / 1.3 * 100 = 23.08: bin 23 is before, bin 24 after
  anti.fix_off = 0.9;  // 69.23
  anti.end = 1.3;
  MultitaskTrial memory;
  memory.kind = MultitaskKind::kMemoryAnti;
  memory.theta = 4.0;
  memory.stim_on = 0.4;   // bin 20
  memory.stim_off = 1.0;  // bin 50
  memory.fix_off = 1.6;   // bin 80
  memory.end = 2.0;
  const Batch batch = MakeMultitaskBatch({anti, memory}, options);
  REQUIRE(batch.input_size() == 7);
  // Trial 0: DelayAnti, cue channel 4; stimulus from bin 24 to the end; go at bin 70.
  CHECK(batch.inputs[23](1, 0) == 0.0);
  CHECK(batch.inputs[24](1, 0) == std::sin(2.0));
  CHECK(batch.inputs[99](2, 0) == std::cos(2.0));
  CHECK(batch.inputs[69](0, 0) == 1.0);
  CHECK(batch.inputs[70](0, 0) == 0.0);
  CHECK(batch.targets[69](0, 0) == 0.8);
  CHECK(batch.targets[70](1, 0) == std::sin(2.0 + M_PI));
  CHECK(batch.targets[70](2, 0) == std::cos(2.0 + M_PI));
  for (int c = 3; c < 7; ++c) CHECK(batch.inputs[0](c, 0) == (c == 4 ? 1.0 : 0.0));
  // Trial 1: MemoryAnti, cue channel 6; stimulus on bins [20, 50) only.
  CHECK(batch.inputs[19](1, 1) == 0.0);
  CHECK(batch.inputs[20](1, 1) == std::sin(4.0));
  CHECK(batch.inputs[49](2, 1) == std::cos(4.0));
  CHECK(batch.inputs[50](1, 1) == 0.0);
  CHECK(batch.inputs[50](2, 1) == 0.0);
  CHECK(batch.inputs[79](0, 1) == 1.0);
  CHECK(batch.inputs[80](0, 1) == 0.0);
  CHECK(batch.targets[79].col(1) == Eigen::Vector3d(0.8, 0.0, 0.0));
  CHECK(batch.targets[80](1, 1) == std::sin(4.0 + M_PI));
  for (int c = 3; c < 7; ++c) CHECK(batch.inputs[99](c, 1) == (c == 6 ? 1.0 : 0.0));

  // The default three cue channels have no room for MemoryAnti.
  CHECK_THROWS_WITH(MakeMultitaskBatch({memory}, MultitaskOptions{}), Contains("num_context"));
  MultitaskTrial bad = anti;
  bad.fix_off = 1.5;  // after the end
  CHECK_THROWS_WITH(MakeMultitaskBatch({bad}, MultitaskOptions{}), Contains("fix_off"));
}

TEST_CASE("multitask: sampled trials follow the epoch laws", "[task]") {
  MultitaskOptions options;
  options.num_context = 4;
  options.input_noise = 0.0;
  options.tasks = {MultitaskKind::kDelayPro,
                   MultitaskKind::kDelayAnti,
                   MultitaskKind::kMemoryPro,
                   MultitaskKind::kMemoryAnti};
  Rng rng(5);
  const Eigen::Index n = 2000;
  const Batch batch = SampleMultitaskBatch(n, options, &rng);
  REQUIRE_NOTHROW(batch.Validate());
  std::map<int, int> counts;
  for (Eigen::Index b = 0; b < n; ++b) {
    int cue = -1;
    for (int c = 3; c < 7; ++c) {
      if (batch.inputs[0](c, b) == 1.0) {
        REQUIRE(cue == -1);
        cue = c - 3;
      }
    }
    REQUIRE(cue >= 0);
    ++counts[cue];
    const bool anti = cue == 1 || cue == 3;
    const bool memory = cue >= 2;
    // Bins of stimulus onset, stimulus offset and go.
    int on = -1, off = 100, go = -1;
    for (int t = 0; t < 100; ++t) {
      const bool stim = batch.inputs[t](1, b) != 0.0 || batch.inputs[t](2, b) != 0.0;
      if (stim && on < 0) on = t;
      if (!stim && on >= 0 && off == 100) off = t;
      if (batch.inputs[t](0, b) == 0.0 && go < 0) go = t;
    }
    REQUIRE(on > 0);
    REQUIRE(go > on);
    REQUIRE(go < 100);
    // Fractions of the trial: stim_on / end >= 0.3 / (0.7 + 1.6 + 1.6 + 0.7) and response epoch
    // (end - fix_off) / end <= 0.7 / (0.3 + 0.2 + 0.3) (loose bounds from the U ranges).
    CHECK(on >= 0.3 / 4.6 * 100 - 1);
    CHECK(100 - go <= 0.7 / 0.8 * 100 + 1);
    if (memory) {
      CHECK(off < go);
    } else {
      CHECK(off == 100);
    }
    // The response direction is the stimulus direction (pro) or its opposite (anti).
    const Eigen::Vector2d stim(batch.inputs[on](1, b), batch.inputs[on](2, b));
    const Eigen::Vector2d response(batch.targets[99](1, b), batch.targets[99](2, b));
    CHECK((response - (anti ? -stim : stim)).norm() < 1e-12);
    CHECK(stim.norm() == Approx(1.0));
  }
  for (int k = 0; k < 4; ++k) CHECK(counts[k] == Approx(n / 4).margin(100));

  // With noise: inputs = the noise-free inputs + N(0, 0.1²), on every channel.
  options.input_noise = 0.1;
  Rng a(9);
  Rng b(9);
  const Batch noisy = SampleMultitaskBatch(300, options, &a);
  options.input_noise = 0.0;
  const Batch clean = SampleMultitaskBatch(300, options, &b);
  double sum = 0.0, sum2 = 0.0, count = 0.0;
  for (int t = 0; t < 100; ++t) {
    const Eigen::MatrixXd d = noisy.inputs[t] - clean.inputs[t];
    sum += d.sum();
    sum2 += d.squaredNorm();
    count += static_cast<double>(d.size());
  }
  CHECK(sum / count == Approx(0.0).margin(0.002));
  CHECK(std::sqrt(sum2 / count) == Approx(0.1).epsilon(0.02));
  CHECK(noisy.targets.back() == clean.targets.back());
}

TEST_CASE("multitask: held-out MemoryAnti retraining data", "[task]") {
  MultitaskOptions options;
  options.input_noise = 0.0;
  Rng rng(3);
  const Batch batch = SampleMemoryAntiRetrainBatch(400, options, 0.1, &rng);
  REQUIRE_NOTHROW(batch.Validate());
  REQUIRE(batch.input_size() == 7);
  double sum2 = 0.0, count = 0.0;
  for (int t = 0; t < 100; ++t) {
    CHECK(batch.inputs[t].row(6) == Eigen::RowVectorXd::Ones(400));
    sum2 += batch.inputs[t].middleRows(3, 3).squaredNorm();
    count += 3 * 400;
  }
  CHECK(std::sqrt(sum2 / count) == Approx(0.1).epsilon(0.02));
  for (Eigen::Index b = 0; b < 400; ++b) {
    // Memory: the stimulus ends before the go cue; anti: the response is opposite.
    int on = -1, off = -1, go = -1;
    for (int t = 0; t < 100; ++t) {
      const bool stim = batch.inputs[t](1, b) != 0.0 || batch.inputs[t](2, b) != 0.0;
      if (stim && on < 0) on = t;
      if (!stim && on >= 0 && off < 0) off = t;
      if (batch.inputs[t](0, b) == 0.0 && go < 0) go = t;
    }
    REQUIRE(on >= 0);
    CHECK(off <= go);
    const Eigen::Vector2d stim(batch.inputs[on](1, b), batch.inputs[on](2, b));
    const Eigen::Vector2d response(batch.targets[99](1, b), batch.targets[99](2, b));
    CHECK((response + stim).norm() < 1e-12);
  }
  // Through the factory: fresh trials by default, or a fixed pool.
  CHECK_FALSE(Built("name = 'multitask'\nset = 'retrain'").task->fixed());
  Built built("name = 'multitask'\nset = 'retrain'\npool_size = 1000");
  CHECK(built.task->fixed());
  CHECK(built.task->input_size() == 7);
  const Batch pool = built.task->Sample(1, nullptr);
  CHECK(pool.num_trials() == 1000);
  CHECK(pool.input_size() == 7);
}

TEST_CASE("multitask: percent correct, legacy vs atan2", "[task]") {
  MultitaskTrial trial;
  trial.kind = MultitaskKind::kDelayAnti;
  trial.theta = 1.0;
  trial.stim_on = 0.5;
  trial.fix_off = 1.0;
  trial.end = 2.0;
  const Batch batch = MakeMultitaskBatch({trial, trial, trial, trial, trial}, MultitaskOptions{});
  std::vector<Eigen::MatrixXd> y = PerfectOutputs(batch);
  // Trial 0: perfect. Trial 1: the "pro" answer θ (target θ + π). Trial 2: breaks fixation at
  // bin 10. Trial 3: 0.2 rad off (< π/10). Trial 4: 0.4 rad off (> π/10).
  y[100](1, 1) = std::sin(1.0);
  y[100](2, 1) = std::cos(1.0);
  y[11](0, 2) = 0.4;
  y[100](1, 3) = std::sin(1.0 + M_PI + 0.2);
  y[100](2, 3) = std::cos(1.0 + M_PI + 0.2);
  y[100](1, 4) = std::sin(1.0 + M_PI + 0.4);
  y[100](2, 4) = std::cos(1.0 + M_PI + 0.4);
  const std::vector<bool> legacy = MultitaskTrialsCorrect(batch, y, AngleDecode::kLegacy);
  const std::vector<bool> atan2 = MultitaskTrialsCorrect(batch, y, AngleDecode::kAtan2);
  CHECK(legacy == std::vector<bool>{true, true, false, true, false});
  CHECK(atan2 == std::vector<bool>{true, false, false, true, false});
  CHECK(MultitaskPercentCorrect(batch, y, AngleDecode::kLegacy) == Approx(60.0));
  CHECK(MultitaskPercentCorrect(batch, y, AngleDecode::kAtan2) == Approx(40.0));

  // The fixation output only matters before the go cue (bin 50).
  y = PerfectOutputs(batch);
  y[51](0, 0) = 0.9;  // bin 50: after fix_off
  y[50](0, 1) = 0.5;  // bin 49: not > 0.5
  CHECK(MultitaskTrialsCorrect(batch, y, AngleDecode::kAtan2) ==
        std::vector<bool>{true, false, true, true, true});

  // As the Task's metrics.
  Built built("name = 'multitask'");
  const TaskMetrics m = built.task->Metrics(batch, PerfectOutputs(batch));
  REQUIRE(m.size() == 2);
  CHECK(m[0].first == "percent_correct_legacy");
  CHECK(m[0].second == 100.0);
  CHECK(m[1].first == "percent_correct_atan2");
  CHECK(m[1].second == 100.0);
  y.pop_back();
  CHECK_THROWS_WITH(built.task->Metrics(batch, y), Contains("bins + 1"));
}

TEST_CASE("multitask: the paper's fixed test trials", "[task]") {
  const std::string file = TestTrialsFile();
  if (file.empty()) {
    WARN("nmrnn_multitask_test_trials.h5 not found (data/ or /work/shared/data): skipped");
    return;
  }
  std::vector<int> labels;
  const Batch three = LoadMultitaskTestTrials(file, MultitaskTestSet::kThreeTask, &labels);
  REQUIRE_NOTHROW(three.Validate());
  CHECK(three.num_trials() == 75);
  CHECK(three.num_bins() == 100);
  CHECK(three.input_size() == 6);
  CHECK(three.output_size() == 3);
  REQUIRE(labels.size() == 75);
  CHECK(labels[0] == 0);
  CHECK(labels[25] == 1);
  CHECK(labels[74] == 2);
  CHECK(MultitaskPercentCorrect(three, PerfectOutputs(three), AngleDecode::kLegacy) == 100.0);
  CHECK(MultitaskPercentCorrect(three, PerfectOutputs(three), AngleDecode::kAtan2) == 100.0);
  // Each three-task trial has its cue in channel 3 + label, like our own batches.
  for (Eigen::Index b = 0; b < 75; ++b) {
    for (int c = 3; c < 6; ++c) CHECK(three.inputs[50](c, b) == (c == 3 + labels[b] ? 1.0 : 0.0));
  }

  const Batch held = LoadMultitaskTestTrials(file, MultitaskTestSet::kHeldOut, &labels);
  CHECK(held.num_trials() == 25);
  CHECK(held.input_size() == 7);
  CHECK(labels == std::vector<int>(25, 3));
  CHECK(MultitaskPercentCorrect(held, PerfectOutputs(held), AngleDecode::kAtan2) == 100.0);
  const Batch all = LoadMultitaskTestTrials(file, MultitaskTestSet::kAll, &labels);
  CHECK(all.num_trials() == 100);
  CHECK(all.input_size() == 7);
  // Our generator rebuilds every paper trial from its bins: θ from the stimulus, the onset, offset
  // and go bins as boundaries (half a bin early, with end = T, so b / end · T lands between bins).
  MultitaskOptions options;
  options.num_context = 4;
  for (Eigen::Index b = 0; b < 100; ++b) {
    INFO("trial " << b);
    MultitaskTrial trial;
    trial.kind = static_cast<MultitaskKind>(labels[static_cast<size_t>(b)]);
    int on = -1, off = -1, go = -1;
    for (int t = 0; t < 100; ++t) {
      const bool stim = all.inputs[t](1, b) != 0.0 || all.inputs[t](2, b) != 0.0;
      if (stim && on < 0) on = t;
      if (!stim && on >= 0 && off < 0) off = t;
      if (all.inputs[t](0, b) < 0.5 && go < 0) go = t;
    }
    REQUIRE(on > 0);
    REQUIRE(go > on);
    trial.theta = std::atan2(all.inputs[on](1, b), all.inputs[on](2, b));
    trial.stim_on = on - 0.5;
    trial.stim_off = IsMemoryTask(trial.kind) ? off - 0.5 : 100.0;
    trial.fix_off = go - 0.5;
    trial.end = 100.0;
    const Batch ours = MakeMultitaskBatch({trial}, options);
    double error = 0.0;
    for (int t = 0; t < 100; ++t) {
      error = std::max(error, (ours.inputs[t].col(0) - all.inputs[t].col(b)).cwiseAbs().maxCoeff());
      error =
          std::max(error, (ours.targets[t].col(0) - all.targets[t].col(b)).cwiseAbs().maxCoeff());
    }
    CHECK(error < 1e-6);  // the file is float32
  }
  // 'pro' answers on the held-out 'anti' trials: legacy counts them, atan2 does not.
  std::vector<Eigen::MatrixXd> y = PerfectOutputs(held);
  y.back().middleRows(1, 2) *= -1.0;
  CHECK(MultitaskPercentCorrect(held, y, AngleDecode::kLegacy) == 100.0);
  CHECK(MultitaskPercentCorrect(held, y, AngleDecode::kAtan2) == 0.0);

  // Through the factory.
  Built test("name = 'multitask'\nset = 'test'\ntest_file = '" + file + "'");
  CHECK(test.task->fixed());
  CHECK(test.task->input_size() == 6);
  CHECK(SameBatch(test.task->Sample(10, nullptr), three));

  // ReadDoubleArray errors name the file and the dataset.
  CHECK_THROWS_WITH(ReadDoubleArray(file, "nope", nullptr),
                    Contains(file) && Contains("/nope") && Contains("missing"));
  CHECK_THROWS_WITH(ReadDoubleArray(file + ".absent", "inputs", nullptr),
                    Contains(file + ".absent") && Contains("no such file"));
  std::vector<std::size_t> shape;
  CHECK(ReadDoubleArray(file, "/labels", &shape).size() == 100);
  CHECK(shape == std::vector<std::size_t>{100});
}

// ---- Element Finder ----------------------------------------------------------------------------

TEST_CASE("eft: a hand-made trial", "[task]") {
  EftTrial trial;
  trial.query = 3;
  for (int k = 0; k < 25; ++k) trial.values.push_back(k - 12);
  const Batch batch = MakeEftBatch({trial}, EftOptions{});
  REQUIRE_NOTHROW(batch.Validate());
  REQUIRE(batch.num_bins() == 26);
  CHECK(batch.input_size() == 1);
  CHECK(batch.output_size() == 1);
  CHECK(batch.inputs[0](0, 0) == 3.0);
  for (int k = 0; k < 25; ++k) CHECK(batch.inputs[k + 1](0, 0) == k - 12);
  CHECK(batch.targets.back()(0, 0) == -9.0);  // seq[3], arrived at bin 4
  for (int k = 0; k < 25; ++k) CHECK(batch.mask[k](0, 0) == 0.0);
  CHECK(batch.mask.back()(0, 0) == 1.0);

  // The final MSE reads the output after the last input only.
  std::vector<Eigen::MatrixXd> y(27, Eigen::MatrixXd::Constant(1, 1, 100.0));
  y.back()(0, 0) = -7.0;
  CHECK(EvaluateLoss(batch, y, LossOptions{LossKind::kFinalMse, 2}).loss == Approx(4.0));
  EftTask task{EftOptions{}};
  CHECK(task.Metrics(batch, y)[0].second == 0.0);
  y.back()(0, 0) = -9.4;
  CHECK(task.Metrics(batch, y)[0].second == 100.0);
}

TEST_CASE("eft: sampled trials and the fixed-query variant", "[task]") {
  Built built("name = 'eft'");
  Rng rng(11);
  const Batch batch = built.task->Sample(4000, &rng);
  REQUIRE_NOTHROW(batch.Validate());
  std::set<double> values, queries;
  double sum2 = 0.0;
  for (Eigen::Index b = 0; b < batch.num_trials(); ++b) {
    const double q = batch.inputs[0](0, b);
    queries.insert(q);
    for (int k = 1; k <= 25; ++k) values.insert(batch.inputs[k](0, b));
    CHECK(batch.targets.back()(0, b) == batch.inputs[static_cast<size_t>(q) + 1](0, b));
    sum2 += batch.targets.back()(0, b) * batch.targets.back()(0, b);
  }
  CHECK(values.size() == 21);
  CHECK(*values.begin() == -10.0);
  CHECK(*values.rbegin() == 10.0);
  CHECK(queries.size() == 25);
  CHECK(*queries.rbegin() == 24.0);
  // Chance anchor: E[seq[q]²] = Var(U{-10..10}) = 36.67.
  CHECK(sum2 / 4000 == Approx(110.0 / 3.0).epsilon(0.05));

  Built fixed("name = 'eft'\nqueries = '7'\nfix_value = true\nvalue = 5");
  const Batch f = fixed.task->Sample(50, &rng);
  CHECK(f.inputs[0] == Eigen::MatrixXd::Constant(1, 50, 7.0));
  CHECK(f.inputs[8] == Eigen::MatrixXd::Constant(1, 50, 5.0));
  CHECK(f.targets.back() == Eigen::MatrixXd::Constant(1, 50, 5.0));

  Built some("name = 'eft'\nqueries = '1, 4'");
  const Batch s = some.task->Sample(200, &rng);
  std::set<double> qs;
  for (Eigen::Index b = 0; b < 200; ++b) qs.insert(s.inputs[0](0, b));
  CHECK(qs == std::set<double>{1.0, 4.0});
}

// ---- N-parity and N-DMS ------------------------------------------------------------------------

TEST_CASE("parity and dms: hand-made digits and labels", "[task]") {
  CHECK(SequenceLabel(SequenceTask::kParity, {1, 0, 1, 1, 0}, 2) == 1);
  CHECK(SequenceLabel(SequenceTask::kParity, {1, 0, 1, 1, 0}, 3) == 0);
  CHECK(SequenceLabel(SequenceTask::kParity, {1, 0, 1, 1, 0}, 5) == 1);
  CHECK(SequenceLabel(SequenceTask::kParity, {1, 0, 1, 1, 1}, 1) == 1);
  CHECK(SequenceLabel(SequenceTask::kDms, {1, 0, 1, 1, 0}, 2) == 0);  // s4 = 1 vs s5 = 0
  CHECK(SequenceLabel(SequenceTask::kDms, {1, 0, 1, 1, 0}, 4) == 1);  // s2 = 0 vs s5 = 0
  CHECK(SequenceLabel(SequenceTask::kDms, {0, 1, 1, 0, 0}, 2) == 1);
  CHECK(SequenceLabel(SequenceTask::kDms, {0, 1, 1, 0, 0}, 3) == 0);
  CHECK_THROWS(SequenceLabel(SequenceTask::kDms, {0, 1}, 1));
  CHECK_THROWS(SequenceLabel(SequenceTask::kParity, {0, 1}, 3));

  ParityOptions options;
  ParityTask parity(options, {2, 3});
  CHECK(parity.heads() == std::vector<int>{0, 1});
  CHECK(parity.output_size() == 200);
  const Batch batch = parity.MakeBatch({{1, 0, 1, 1, 0}, {0, 1, 1, 0, 1}});
  REQUIRE_NOTHROW(batch.Validate());
  REQUIRE(batch.num_bins() == 5);
  CHECK(batch.input_size() == 1);
  CHECK(batch.inputs[2] == Eigen::RowVector2d(1.0, 1.0));
  CHECK(batch.inputs[4] == Eigen::RowVector2d(0.0, 1.0));
  CHECK(batch.targets.back()(0, 0) == 1.0);  // N = 2: 1 + 0
  CHECK(batch.targets.back()(1, 0) == 0.0);  // N = 3: 1 + 1 + 0
  CHECK(batch.targets.back()(0, 1) == 1.0);  // 0 + 1
  CHECK(batch.targets.back()(1, 1) == 0.0);  // 1 + 0 + 1
  for (int k = 0; k < 4; ++k) CHECK(batch.mask[k].isZero());
  CHECK(batch.mask.back().topRows(2).isOnes());
  CHECK(batch.mask.back().bottomRows(198).isZero());

  // Another head mapping (the curriculum's setter), and DMS.
  ParityOptions dms_options;
  dms_options.kind = SequenceTask::kDms;
  dms_options.random_p = false;
  ParityTask dms(dms_options, {2});
  dms.SetActive({2, 3}, {7, 5});
  const Batch d = dms.MakeBatch({{0, 1, 1, 0, 0}});
  CHECK(d.targets.back()(7, 0) == 1.0);
  CHECK(d.targets.back()(5, 0) == 0.0);
  CHECK(d.mask.back().col(0).sum() == 2.0);
  CHECK(d.mask.back()(7, 0) == 1.0);
  CHECK(d.mask.back()(5, 0) == 1.0);

  // Metrics: head 7 (N = 2) right, head 5 (N = 3) wrong; a tie counts as class 0.
  std::vector<Eigen::MatrixXd> y(6, Eigen::MatrixXd::Zero(200, 1));
  y.back()(2 * 7 + 1, 0) = 2.0;  // class 1 = label for N = 2
  y.back()(2 * 5 + 1, 0) = 0.0;  // tie -> class 0 = label for N = 3
  TaskMetrics m = dms.Metrics(d, y);
  REQUIRE(m.size() == 2);
  CHECK(m[0] == std::make_pair(std::string("accuracy_N2"), 100.0));
  CHECK(m[1] == std::make_pair(std::string("accuracy_N3"), 100.0));
  y.back()(2 * 5 + 1, 0) = 0.1;
  m = dms.Metrics(d, y);
  CHECK(m[1].second == 0.0);
  // The loss accepts the batch: summed per-head cross-entropy.
  CHECK_NOTHROW(EvaluateLoss(d, y, dms.loss()));
  // A batch from another mapping is refused.
  dms.SetActive({2, 3}, {0, 1});
  CHECK_THROWS_WITH(dms.Metrics(d, y), Contains("inactive"));

  // Setter errors keep the old setting.
  CHECK_THROWS_WITH(parity.SetActive({2, 3}, {0, 100}), Contains("num_heads"));
  CHECK_THROWS_WITH(parity.SetActive({2, 3}, {4, 4}), Contains("repeats a head"));
  CHECK_THROWS_WITH(parity.SetActive({2, 3}, {4}), Contains("1 heads"));
  CHECK_THROWS_WITH(parity.SetActive({}, {}), Contains("no active N"));
  CHECK_THROWS_WITH(dms.SetActive({1}), Contains("N >= 2"));
  CHECK(parity.heads() == std::vector<int>{0, 1});
  CHECK(parity.ns() == std::vector<int>{2, 3});
}

TEST_CASE("parity and dms: sampled batches, M range, p", "[task]") {
  Built built("name = 'parity'\nns = '2, 5'");
  auto* parity = dynamic_cast<ParityTask*>(built.task.get());
  REQUIRE(parity != nullptr);
  CHECK(parity->LengthRange() == std::make_pair(7, 21));
  Rng rng(17);
  std::map<Eigen::Index, int> lengths;
  for (int i = 0; i < 3000; ++i) ++lengths[parity->Sample(1, &rng).num_bins()];
  CHECK(lengths.size() == 15);
  CHECK(lengths.begin()->first == 7);
  CHECK(lengths.rbegin()->first == 21);

  // Labels are those of the drawn digits; per-sequence p makes the fractions of ones spread out.
  const Batch batch = parity->Sample(400, &rng);
  REQUIRE_NOTHROW(batch.Validate());
  const auto m = static_cast<size_t>(batch.num_bins());
  int extreme = 0;
  for (Eigen::Index b = 0; b < 400; ++b) {
    std::vector<int> digits(m);
    double ones = 0.0;
    for (size_t t = 0; t < m; ++t) {
      const double s = batch.inputs[t](0, b);
      REQUIRE((s == 0.0 || s == 1.0));
      digits[t] = static_cast<int>(s);
      ones += s;
    }
    CHECK(batch.targets.back()(0, b) == SequenceLabel(SequenceTask::kParity, digits, 2));
    CHECK(batch.targets.back()(1, b) == SequenceLabel(SequenceTask::kParity, digits, 5));
    if (ones / static_cast<double>(m) < 0.1 || ones / static_cast<double>(m) > 0.9) ++extreme;
  }
  CHECK(extreme > 40);  // p ~ U(0,1): about a fifth of the sequences are this biased

  // DMS: p = 0.5 for every digit; "pm1" encoding.
  Built dms("name = 'dms'\nns = '3'\nencoding = 'pm1'\nlength = 50");
  const Batch d = dms.task->Sample(400, &rng);
  CHECK(d.num_bins() == 50);
  double sum = 0.0;
  for (const Eigen::MatrixXd& u : d.inputs) {
    CHECK((u.array().abs() == 1.0).all());
    sum += u.sum();
  }
  CHECK(sum / (50.0 * 400.0) == Approx(0.0).margin(0.02));
  CHECK(dms.task->name() == "dms");
  CHECK(dms.task->loss().kind == LossKind::kCrossEntropy);
  // A fixed p for parity too (the ablation test's p = 0.5).
  Built half("name = 'parity'\nrandom_p = false\np = 0.5\nlength = 40");
  const Batch h = half.task->Sample(400, &rng);
  double ones = 0.0;
  for (const Eigen::MatrixXd& u : h.inputs) ones += u.sum();
  CHECK(ones / (40.0 * 400.0) == Approx(0.5).margin(0.02));
}

// ---- every task --------------------------------------------------------------------------------

const char* const kTaskTables[] = {
    "name = 'mwg'",
    "name = 'mwg'\nset = 'extrapolation'",
    "name = 'multitask'",
    "name = 'multitask'\nset = 'retrain'",
    "name = 'multitask'\npool_size = 20\npool_seed = 5\ninput_noise = 0.0",
    "name = 'eft'",
    "name = 'parity'\nns = '2,3,4'",
    "name = 'dms'\nns = '2,3'\nheads = '4,9'\nnum_heads = 10",
};

TEST_CASE("tasks: same seed, same batch; the loss accepts every batch", "[task]") {
  for (const char* table : kTaskTables) {
    INFO(table);
    Built built(table);
    const Task& task = *built.task;
    Rng a(42), b(42), c(43);
    const Batch first = task.Sample(8, &a);
    REQUIRE_NOTHROW(first.Validate());
    CHECK(first.input_size() == task.input_size());
    CHECK(first.output_size() == task.output_size());
    CHECK(SameBatch(first, task.Sample(8, &b)));
    if (task.fixed()) {
      CHECK(SameBatch(first, task.Sample(3, &c)));
    } else {
      CHECK(first.num_trials() == 8);
      CHECK_FALSE(SameBatch(first, task.Sample(8, &c)));
    }
    const std::vector<Eigen::MatrixXd> y(
        first.inputs.size() + 1, Eigen::MatrixXd::Zero(task.output_size(), first.num_trials()));
    const LossValue loss = EvaluateLoss(first, y, task.loss());
    CHECK(std::isfinite(loss.loss));
    CHECK_NOTHROW(task.Metrics(first, y));
  }
}

TEST_CASE("tasks: MWG as a Task", "[task]") {
  Built built("name = 'mwg'");
  CHECK(built.task->name() == "mwg");
  CHECK(built.task->fixed());
  const Batch batch = built.task->Sample(1, nullptr);
  CHECK(batch.num_trials() == 40);
  // The ideal ramp crosses 0.9 · max at exactly I bins after go for I = 12..18.
  const TaskMetrics m = built.task->Metrics(batch, PerfectOutputs(batch));
  REQUIRE(m.size() == 2);
  CHECK(m[0] == std::make_pair(std::string("interval_error"), 0.0));
  CHECK(m[1] == std::make_pair(std::string("interval_undefined"), 0.0));
}

TEST_CASE("tasks: bad configs are errors naming the key and value", "[task]") {
  CHECK_THAT(MakeTaskError("name = 'nope'"), Contains("task.name") && Contains("nope"));
  CHECK(Built("set = 'extrapolation'").task->name() == "mwg");  // the default
  CHECK_THAT(MakeTaskError("name = 'multitask'\ntasks = 'delay_pro,foo'"),
             Contains("task.tasks") && Contains("foo"));
  CHECK_THAT(MakeTaskError(std::string("name = 'multitask'\ntasks = '") + kAllTasks + "'"),
             Contains("task.num_context") && Contains("memory_anti"));
  CHECK_THAT(MakeTaskError("name = 'multitask'\nset = 'bogus'"),
             Contains("task.set") && Contains("bogus"));
  CHECK_THAT(MakeTaskError("name = 'multitask'\ninput_noise = -1.0"), Contains("task.input_noise"));
  CHECK_THAT(MakeTaskError("name = 'multitask'\nset = 'test'\ntest_file = '/no/such.h5'"),
             Contains("/no/such.h5"));
  CHECK_THAT(MakeTaskError("name = 'eft'\nqueries = '30'"),
             Contains("task.queries") && Contains("30"));
  CHECK_THAT(MakeTaskError("name = 'eft'\nqueries = '1,x'"),
             Contains("task.queries") && Contains("\"x\""));
  CHECK_THAT(MakeTaskError("name = 'parity'\nnum_heads = 0"), Contains("task.num_heads"));
  CHECK_THAT(MakeTaskError("name = 'parity'\nns = '2,3'\nheads = '0,100'"),
             Contains("task.heads") && Contains("100"));
  CHECK_THAT(MakeTaskError("name = 'dms'\nns = '1'"), Contains("task.ns") && Contains("N >= 2"));
  CHECK_THAT(MakeTaskError("name = 'parity'\nencoding = 'bits'"),
             Contains("task.encoding") && Contains("bits"));
  CHECK_THAT(MakeTaskError("name = 'parity'\nlenght = 3"), Contains("lenght"));
  CHECK_THAT(MakeTaskError("name = 'mwg'\nset = 'test'"), Contains("task.set"));
  CHECK(MakeTaskError("name = 'parity'") == "");
}

TEST_CASE("tasks: batches through the HDF5 archive", "[task][io]") {
  const fs::path dir =
      fs::temp_directory_path() / ("ctrnn_test_tasks_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  int i = 0;
  for (const char* table : kTaskTables) {
    INFO(table);
    Built built(table);
    Rng rng(1);
    const Batch batch = built.task->Sample(5, &rng);
    RunRecord record;
    record.command = "test_tasks";
    record.config = &built.root;
    record.batch = &batch;
    const std::string path = (dir / ("task" + std::to_string(i++) + ".h5")).string();
    WriteRun(path, record);
    CHECK(SameBatch(ReadBatch(path), batch));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ctrnn
