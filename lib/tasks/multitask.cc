#include "lib/tasks/multitask.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "lib/archive.h"

namespace ctrnn {
namespace {

constexpr double kTwoPi = 2.0 * M_PI;

std::string Key(const Config& config, const std::string& key) {
  return config.path().empty() ? key : config.path() + "." + key;
}

// Writes channels 0..2 of the inputs and the three targets of `trial` into column `b` (the inputs
// and targets were zeroed by the caller). The boundaries are rescaled as the authors' code does,
// (b / t_total) · T, and compared with `<` / `>=`.
void FillTrial(const MultitaskTrial& trial, int num_bins, Eigen::Index b, Batch* batch) {
  const double t_total = trial.end;
  const double stim_on = trial.stim_on / t_total * num_bins;
  const double stim_off = trial.stim_off / t_total * num_bins;
  const double fix_off = trial.fix_off / t_total * num_bins;
  const bool memory = IsMemoryTask(trial.kind);
  const double theta_out = IsAntiTask(trial.kind) ? trial.theta + M_PI : trial.theta;
  const double sin_in = std::sin(trial.theta);
  const double cos_in = std::cos(trial.theta);
  const double sin_out = std::sin(theta_out);
  const double cos_out = std::cos(theta_out);
  for (int k = 0; k < num_bins; ++k) {
    const double t = k;
    Eigen::MatrixXd& u = batch->inputs[static_cast<size_t>(k)];
    Eigen::MatrixXd& y = batch->targets[static_cast<size_t>(k)];
    const bool fixating = t < fix_off;
    const bool stimulus = t >= stim_on && (!memory || t < stim_off);
    u(0, b) = fixating ? 1.0 : 0.0;
    u(1, b) = stimulus ? sin_in : 0.0;
    u(2, b) = stimulus ? cos_in : 0.0;
    y(0, b) = fixating ? 0.8 : 0.0;
    y(1, b) = fixating ? 0.0 : sin_out;
    y(2, b) = fixating ? 0.0 : cos_out;
  }
}

void CheckTrial(const MultitaskTrial& trial, size_t j) {
  const bool memory = IsMemoryTask(trial.kind);
  const bool ordered = std::isfinite(trial.theta) && std::isfinite(trial.end) &&
                       trial.stim_on >= 0.0 &&
                       (memory ? trial.stim_on <= trial.stim_off && trial.stim_off <= trial.fix_off
                               : trial.stim_on <= trial.fix_off) &&
                       trial.fix_off < trial.end;
  if (!ordered) {
    std::ostringstream msg;
    msg << "MakeMultitaskBatch: trial " << j << " (" << MultitaskKindName(trial.kind)
        << ") has boundaries stim_on " << trial.stim_on << ", stim_off " << trial.stim_off
        << ", fix_off " << trial.fix_off << ", end " << trial.end << ", theta " << trial.theta
        << "; need 0 <= stim_on" << (memory ? " <= stim_off" : "")
        << " <= fix_off < end and a finite theta";
    throw std::invalid_argument(msg.str());
  }
}

Batch EmptyBatch(Eigen::Index trials, Eigen::Index inputs, const MultitaskOptions& options) {
  const auto t_count = static_cast<size_t>(options.num_bins);
  Batch batch;
  batch.bin_edges = internal::UnitEdges(options.num_bins, options.bin_width);
  batch.inputs.assign(t_count, Eigen::MatrixXd::Zero(inputs, trials));
  batch.targets.assign(t_count, Eigen::MatrixXd::Zero(3, trials));
  batch.mask.assign(t_count, Eigen::MatrixXd::Ones(3, trials));
  return batch;
}

double DecodeAngle(double sin_value, double cos_value, AngleDecode decode) {
  return decode == AngleDecode::kLegacy ? std::atan(sin_value / cos_value)
                                        : std::atan2(sin_value, cos_value);
}

}  // namespace

std::string MultitaskKindName(MultitaskKind kind) {
  switch (kind) {
    case MultitaskKind::kDelayPro:
      return "delay_pro";
    case MultitaskKind::kDelayAnti:
      return "delay_anti";
    case MultitaskKind::kMemoryPro:
      return "memory_pro";
    case MultitaskKind::kMemoryAnti:
      return "memory_anti";
  }
  return "?";
}

MultitaskKind ParseMultitaskKind(const std::string& name, const std::string& where) {
  for (MultitaskKind k : {MultitaskKind::kDelayPro,
                          MultitaskKind::kDelayAnti,
                          MultitaskKind::kMemoryPro,
                          MultitaskKind::kMemoryAnti}) {
    if (MultitaskKindName(k) == name) return k;
  }
  throw std::invalid_argument(where + ": unknown task \"" + name +
                              "\" (known: delay_pro, delay_anti, memory_pro, memory_anti)");
}

bool IsMemoryTask(MultitaskKind kind) {
  return kind == MultitaskKind::kMemoryPro || kind == MultitaskKind::kMemoryAnti;
}

bool IsAntiTask(MultitaskKind kind) {
  return kind == MultitaskKind::kDelayAnti || kind == MultitaskKind::kMemoryAnti;
}

MultitaskTrial DrawMultitaskTrial(MultitaskKind kind, Rng* rng) {
  if (rng == nullptr) throw std::invalid_argument("DrawMultitaskTrial: rng is null");
  MultitaskTrial trial;
  trial.kind = kind;
  trial.theta = rng->Uniform(0.0, kTwoPi);
  trial.stim_on = rng->Uniform(0.3, 0.7);
  if (IsMemoryTask(kind)) {
    trial.stim_off = trial.stim_on + rng->Uniform(0.2, 1.6);
    trial.fix_off = trial.stim_off + rng->Uniform(0.2, 1.6);
  } else {
    trial.fix_off = trial.stim_on + rng->Uniform(0.2, 1.5);
  }
  trial.end = trial.fix_off + rng->Uniform(0.3, 0.7);
  if (!IsMemoryTask(kind)) trial.stim_off = trial.end;  // the stimulus stays on (unused)
  return trial;
}

void MultitaskOptions::Validate() const {
  const auto fail = [](const std::string& what) {
    throw std::invalid_argument("MultitaskOptions." + what);
  };
  if (num_bins < 1) fail("num_bins = " + std::to_string(num_bins) + ": must be at least 1");
  if (!(bin_width > 0.0) || !std::isfinite(bin_width)) {
    fail("bin_width = " + std::to_string(bin_width) + ": must be positive and finite");
  }
  if (num_context < 0) fail("num_context = " + std::to_string(num_context) + ": must be >= 0");
  if (!(input_noise >= 0.0) || !std::isfinite(input_noise)) {
    fail("input_noise = " + std::to_string(input_noise) + ": must be >= 0 and finite");
  }
  if (tasks.empty()) fail("tasks: no tasks");
  for (MultitaskKind k : tasks) {
    if (static_cast<int>(k) >= num_context) {
      fail("tasks: " + MultitaskKindName(k) + "'s cue is channel " +
           std::to_string(3 + static_cast<int>(k)) + ", which needs num_context >= " +
           std::to_string(static_cast<int>(k) + 1) + " (is " + std::to_string(num_context) + ")");
    }
  }
}

Batch MakeMultitaskBatch(const std::vector<MultitaskTrial>& trials,
                         const MultitaskOptions& options) {
  options.Validate();
  const auto count = static_cast<Eigen::Index>(trials.size());
  if (count == 0) throw std::invalid_argument("MakeMultitaskBatch: no trials");
  Batch batch = EmptyBatch(count, 3 + options.num_context, options);
  for (size_t j = 0; j < trials.size(); ++j) {
    const MultitaskTrial& trial = trials[j];
    CheckTrial(trial, j);
    const int cue = static_cast<int>(trial.kind);
    if (cue >= options.num_context) {
      throw std::invalid_argument("MakeMultitaskBatch: trial " + std::to_string(j) + " (" +
                                  MultitaskKindName(trial.kind) +
                                  ") needs num_context >= " + std::to_string(cue + 1) + " (is " +
                                  std::to_string(options.num_context) + ")");
    }
    const auto b = static_cast<Eigen::Index>(j);
    FillTrial(trial, options.num_bins, b, &batch);
    for (Eigen::MatrixXd& u : batch.inputs) u(3 + cue, b) = 1.0;
  }
  return batch;
}

void AddInputNoise(double sigma, Rng* rng, Batch* batch) {
  if (sigma == 0.0) return;
  if (rng == nullptr) throw std::invalid_argument("AddInputNoise: rng is null");
  for (Eigen::MatrixXd& u : batch->inputs) {
    for (Eigen::Index b = 0; b < u.cols(); ++b) {
      for (Eigen::Index c = 0; c < u.rows(); ++c) u(c, b) += sigma * rng->Normal();
    }
  }
}

Batch SampleMultitaskBatch(Eigen::Index trials, const MultitaskOptions& options, Rng* rng) {
  options.Validate();
  if (trials < 1) {
    throw std::invalid_argument("SampleMultitaskBatch: trials = " + std::to_string(trials) +
                                ": must be at least 1");
  }
  if (rng == nullptr) throw std::invalid_argument("SampleMultitaskBatch: rng is null");
  const auto n = static_cast<std::int64_t>(options.tasks.size());
  std::vector<MultitaskKind> kinds(static_cast<size_t>(trials));
  for (MultitaskKind& k : kinds) k = options.tasks[internal::UniformInt(rng, 0, n - 1)];
  std::vector<MultitaskTrial> list;
  list.reserve(kinds.size());
  for (MultitaskKind k : kinds) list.push_back(DrawMultitaskTrial(k, rng));
  Batch batch = MakeMultitaskBatch(list, options);
  AddInputNoise(options.input_noise, rng, &batch);
  return batch;
}

Batch SampleMemoryAntiRetrainBatch(Eigen::Index trials,
                                   const MultitaskOptions& options,
                                   double old_context_noise,
                                   Rng* rng) {
  if (options.num_context < 0) {
    throw std::invalid_argument("SampleMemoryAntiRetrainBatch: num_context = " +
                                std::to_string(options.num_context) + ": must be >= 0");
  }
  MultitaskOptions checked = options;  // options.tasks is not used: check the rest
  checked.tasks = {MultitaskKind::kDelayPro};
  checked.num_context = std::max(options.num_context, 1);
  checked.Validate();
  if (!(old_context_noise >= 0.0) || !std::isfinite(old_context_noise)) {
    throw std::invalid_argument("SampleMemoryAntiRetrainBatch: old_context_noise = " +
                                std::to_string(old_context_noise) + ": must be >= 0 and finite");
  }
  if (trials < 1) {
    throw std::invalid_argument("SampleMemoryAntiRetrainBatch: trials = " + std::to_string(trials) +
                                ": must be at least 1");
  }
  if (rng == nullptr) throw std::invalid_argument("SampleMemoryAntiRetrainBatch: rng is null");
  const Eigen::Index n_ctx = options.num_context;
  const Eigen::Index cue = 3 + n_ctx;
  Batch batch = EmptyBatch(trials, cue + 1, options);
  for (Eigen::Index b = 0; b < trials; ++b) {
    const MultitaskTrial trial = DrawMultitaskTrial(MultitaskKind::kMemoryAnti, rng);
    FillTrial(trial, options.num_bins, b, &batch);
    for (Eigen::MatrixXd& u : batch.inputs) u(cue, b) = 1.0;
  }
  // Bin by bin, trial by trial: input noise on the task channels and the new cue, and the old
  // cue channels replaced by their own noise (authors' code: random_trials(noise) for channels
  // 0..2 and the cue, then σ·N(0,1) in the old channels).
  const double sigma = options.input_noise;
  for (Eigen::MatrixXd& u : batch.inputs) {
    for (Eigen::Index b = 0; b < trials; ++b) {
      if (sigma > 0.0) {
        for (Eigen::Index c = 0; c < 3; ++c) u(c, b) += sigma * rng->Normal();
        u(cue, b) += sigma * rng->Normal();
      }
      for (Eigen::Index c = 3; c < cue; ++c) u(c, b) = old_context_noise * rng->Normal();
    }
  }
  return batch;
}

std::vector<bool> MultitaskTrialsCorrect(const Batch& batch,
                                         const std::vector<Eigen::MatrixXd>& outputs_at_edges,
                                         AngleDecode decode) {
  const std::string who = "MultitaskTrialsCorrect";
  internal::CheckOutputs(batch, outputs_at_edges, 3, who);
  if (batch.num_bins() < 1 || batch.input_size() < 1) {
    throw std::invalid_argument(who + ": the batch has no bins or no input channels");
  }
  if (batch.output_size() != 3 || batch.targets.size() != batch.inputs.size()) {
    throw std::invalid_argument(who + ": the batch needs 3 targets (fixation, sin, cos) per bin");
  }
  const Eigen::Index t_count = batch.num_bins();
  std::vector<bool> correct(static_cast<size_t>(batch.num_trials()), false);
  for (Eigen::Index b = 0; b < batch.num_trials(); ++b) {
    // The code's argmax(fixation < 0.5): the first such bin, 0 if there is none.
    Eigen::Index t_fo = 0;
    for (Eigen::Index t = 0; t < t_count; ++t) {
      if (batch.inputs[t](0, b) < 0.5) {
        t_fo = t;
        break;
      }
    }
    bool fixated = true;
    for (Eigen::Index t = 0; t < t_fo && fixated; ++t) {
      fixated = outputs_at_edges[t + 1](0, b) > 0.5;
    }
    if (!fixated) continue;
    const Eigen::MatrixXd& target = batch.targets[t_count - 1];
    const Eigen::MatrixXd& y = outputs_at_edges[t_count];
    const double d =
        DecodeAngle(target(1, b), target(2, b), decode) - DecodeAngle(y(1, b), y(2, b), decode);
    const double diff = std::min(std::abs(d), kTwoPi - std::abs(d));
    correct[static_cast<size_t>(b)] = !std::isnan(d) && diff < M_PI / 10.0;
  }
  return correct;
}

double MultitaskPercentCorrect(const Batch& batch,
                               const std::vector<Eigen::MatrixXd>& outputs_at_edges,
                               AngleDecode decode) {
  const std::vector<bool> correct = MultitaskTrialsCorrect(batch, outputs_at_edges, decode);
  if (correct.empty()) return std::numeric_limits<double>::quiet_NaN();
  double count = 0.0;
  for (bool c : correct) count += c ? 1.0 : 0.0;
  return 100.0 * count / static_cast<double>(correct.size());
}

Batch LoadMultitaskTestTrials(const std::string& path,
                              MultitaskTestSet set,
                              std::vector<int>* labels) {
  constexpr std::size_t kTrials = 100;
  std::vector<std::size_t> in_shape;
  std::vector<std::size_t> out_shape;
  std::vector<std::size_t> label_shape;
  const std::vector<double> inputs = ReadDoubleArray(path, "inputs", &in_shape);
  const std::vector<double> targets = ReadDoubleArray(path, "targets", &out_shape);
  const std::vector<double> file_labels = ReadDoubleArray(path, "labels", &label_shape);
  const auto shape_text = [](const std::vector<std::size_t>& s) {
    std::string out = "(";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + ")";
  };
  const auto fail = [&](const std::string& dataset, const std::string& what) {
    throw std::runtime_error("'" + path + "': /" + dataset + ": " + what);
  };
  if (in_shape.size() != 3 || in_shape[0] != kTrials || in_shape[1] < 1 || in_shape[2] != 7) {
    fail("inputs", "has shape " + shape_text(in_shape) + ", expected (100, time, 7)");
  }
  const std::size_t t_count = in_shape[1];
  if (out_shape != std::vector<std::size_t>{kTrials, t_count, 3}) {
    fail("targets",
         "has shape " + shape_text(out_shape) + ", expected (100, " + std::to_string(t_count) +
             ", 3)");
  }
  if (label_shape != std::vector<std::size_t>{kTrials}) {
    fail("labels", "has shape " + shape_text(label_shape) + ", expected (100)");
  }
  std::size_t first = 0;
  std::size_t count = kTrials;
  Eigen::Index channels = 7;
  if (set == MultitaskTestSet::kThreeTask) {
    count = 75;
    channels = 6;
  } else if (set == MultitaskTestSet::kHeldOut) {
    first = 75;
    count = 25;
  }
  Batch batch;
  batch.bin_edges = internal::UnitEdges(static_cast<Eigen::Index>(t_count), 1.0);
  const auto b_count = static_cast<Eigen::Index>(count);
  batch.inputs.assign(t_count, Eigen::MatrixXd::Zero(channels, b_count));
  batch.targets.assign(t_count, Eigen::MatrixXd::Zero(3, b_count));
  batch.mask.assign(t_count, Eigen::MatrixXd::Ones(3, b_count));
  if (labels != nullptr) labels->clear();
  for (std::size_t j = 0; j < count; ++j) {
    const std::size_t trial = first + j;
    const auto b = static_cast<Eigen::Index>(j);
    const double label = file_labels[trial];
    // The file holds 25 trials per task in canonical order: the slice must hold what it claims.
    const int expected = static_cast<int>(trial / 25);
    if (label != expected) {
      std::ostringstream msg;
      msg << "trial " << trial << " has label " << label << ", expected " << expected
          << " (25 trials per task in order)";
      fail("labels", msg.str());
    }
    if (labels != nullptr) labels->push_back(expected);
    for (std::size_t t = 0; t < t_count; ++t) {
      const double* u = inputs.data() + (trial * t_count + t) * 7;
      const double* y = targets.data() + (trial * t_count + t) * 3;
      for (Eigen::Index c = 0; c < channels; ++c) batch.inputs[t](c, b) = u[c];
      for (Eigen::Index o = 0; o < 3; ++o) batch.targets[t](o, b) = y[o];
    }
  }
  return batch;
}

MultitaskTask::MultitaskTask(Config* task_config) {
  Config& c = *task_config;
  set_ = c.GetString("set", "train", {"train", "retrain", "test", "test_heldout"});
  if (set_ == "test" || set_ == "test_heldout") {
    const std::string file = c.GetString("test_file", "data/nmrnn_multitask_test_trials.h5");
    pool_ = LoadMultitaskTestTrials(
        file, set_ == "test" ? MultitaskTestSet::kThreeTask : MultitaskTestSet::kHeldOut, nullptr);
    fixed_ = true;
    input_size_ = pool_.input_size();
    options_.num_bins = static_cast<int>(pool_.num_bins());
    return;
  }
  const bool train = set_ == "train";
  if (train) {
    const std::string list = c.GetString("tasks", "delay_pro,delay_anti,memory_pro");
    options_.tasks.clear();
    for (const std::string& item : internal::SplitList(list, Key(c, "tasks"))) {
      options_.tasks.push_back(ParseMultitaskKind(item, Key(c, "tasks") + " = \"" + list + "\""));
    }
    if (options_.tasks.empty()) {
      throw std::invalid_argument(Key(c, "tasks") + " = \"" + list + "\": no tasks");
    }
  }
  options_.num_bins = static_cast<int>(c.GetInt("num_bins", 100, 1, 1000000));
  options_.bin_width = c.GetDouble("bin_width", 1.0, 1e-9, 1e9);
  options_.num_context = static_cast<int>(c.GetInt("num_context", 3, 0, 1000));
  options_.input_noise = c.GetDouble("input_noise", 0.1, 0.0, 1e6);
  if (train) {
    for (MultitaskKind k : options_.tasks) {
      const int index = static_cast<int>(k);
      if (index >= options_.num_context) {
        throw std::invalid_argument(Key(c, "tasks") + ": " + MultitaskKindName(k) +
                                    "'s cue is input channel " + std::to_string(3 + index) +
                                    ", which needs " + Key(c, "num_context") +
                                    " >= " + std::to_string(index + 1) + " (is " +
                                    std::to_string(options_.num_context) + ")");
      }
    }
    input_size_ = 3 + options_.num_context;
  } else {
    old_context_noise_ = c.GetDouble("old_context_noise", 0.1, 0.0, 1e6);
    input_size_ = 3 + options_.num_context + 1;
  }
  const std::int64_t pool_size = c.GetInt("pool_size", 0, 0, 100000000);
  const std::int64_t pool_seed =
      c.GetInt("pool_seed", 13, 0, std::numeric_limits<std::int64_t>::max());
  if (pool_size > 0) {
    Rng rng(static_cast<std::uint64_t>(pool_seed));
    pool_ = Draw(pool_size, &rng);
    fixed_ = true;
  }
}

Batch MultitaskTask::Draw(Eigen::Index trials, Rng* rng) const {
  return set_ == "train" ? SampleMultitaskBatch(trials, options_, rng)
                         : SampleMemoryAntiRetrainBatch(trials, options_, old_context_noise_, rng);
}

Batch MultitaskTask::Sample(Eigen::Index trials, Rng* rng) const {
  if (fixed_) return pool_;
  return Draw(trials, rng);
}

LossOptions MultitaskTask::loss() const { return LossOptions{LossKind::kMaskedMse, 2}; }

TaskMetrics MultitaskTask::Metrics(const Batch& batch,
                                   const std::vector<Eigen::MatrixXd>& outputs_at_edges) const {
  return {
      {"percent_correct_legacy",
       MultitaskPercentCorrect(batch, outputs_at_edges, AngleDecode::kLegacy)},
      {"percent_correct_atan2",
       MultitaskPercentCorrect(batch, outputs_at_edges, AngleDecode::kAtan2)},
  };
}

}  // namespace ctrnn
