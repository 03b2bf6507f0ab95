#include "solvers/gradient.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "solvers/parallel.h"
#include "solvers/runge_kutta.h"

namespace ctrnn {

void StepPlan::Validate(const std::vector<double>& bin_edges) const {
  const size_t bins = bin_edges.empty() ? 0 : bin_edges.size() - 1;
  if (bin_steps.size() != bins) {
    throw std::invalid_argument("StepPlan: " + std::to_string(bin_steps.size()) +
                                " step counts for " + std::to_string(bins) + " bins");
  }
  std::int64_t total = 0;
  for (size_t k = 0; k < bins; ++k) {
    if (bin_steps[k] < 1) {
      throw std::invalid_argument("StepPlan: bin " + std::to_string(k) + " has " +
                                  std::to_string(bin_steps[k]) + " steps (need >= 1)");
    }
    total += bin_steps[k];
  }
  if (static_cast<size_t>(total) != step_sizes.size()) {
    throw std::invalid_argument("StepPlan: the bins count " + std::to_string(total) +
                                " steps, step_sizes has " + std::to_string(step_sizes.size()));
  }
  size_t j = 0;
  for (size_t k = 0; k < bins; ++k) {
    double sum = 0.0;
    for (std::int64_t i = 0; i < bin_steps[k]; ++i, ++j) {
      const double h = step_sizes[j];
      if (!(h > 0.0) || !std::isfinite(h)) {
        std::ostringstream msg;
        msg << "StepPlan: step_sizes[" << j << "] = " << h << " (need positive and finite)";
        throw std::invalid_argument(msg.str());
      }
      sum += h;
    }
    const double width = bin_edges[k + 1] - bin_edges[k];
    if (std::abs(sum - width) > 1e-8 * std::max(1.0, std::abs(width))) {
      std::ostringstream msg;
      msg.precision(17);
      msg << "StepPlan: the steps of bin " << k << " add up to " << sum << ", its width is "
          << width;
      throw std::invalid_argument(msg.str());
    }
  }
}

StepPlan StepPlanFromSummary(const IntegrateSummary& summary,
                             const std::vector<double>& bin_edges) {
  if (summary.step_starts.size() != summary.step_sizes.size() || summary.step_starts.empty()) {
    throw std::invalid_argument(
        "StepPlanFromSummary: the summary holds no recorded steps (run Integrate with "
        "record_steps = true)");
  }
  if (bin_edges.size() < 2) throw std::invalid_argument("StepPlanFromSummary: no bins");
  const size_t bins = bin_edges.size() - 1;
  StepPlan plan;
  plan.bin_steps.assign(bins, 0);
  plan.step_sizes = summary.step_sizes;
  size_t k = 0;
  for (const double start : summary.step_starts) {
    while (k < bins && start >= bin_edges[k + 1]) ++k;
    if (k == bins || start < bin_edges[k]) {
      std::ostringstream msg;
      msg << "StepPlanFromSummary: a step starts at t = " << start << ", outside the bins ["
          << bin_edges.front() << ", " << bin_edges.back() << ")";
      throw std::invalid_argument(msg.str());
    }
    ++plan.bin_steps[k];
  }
  plan.Validate(bin_edges);
  return plan;
}

void GradientOptions::Validate() const {
  integrate.Validate();
  if (checkpoint_every_bins < 0) {
    throw std::invalid_argument("GradientOptions.checkpoint_every_bins = " +
                                std::to_string(checkpoint_every_bins) + ": must be >= 0");
  }
  if (threads < 0) {
    throw std::invalid_argument("GradientOptions.threads = " + std::to_string(threads) +
                                ": must be >= 0");
  }
  if (trial_blocks < 0) {
    throw std::invalid_argument("GradientOptions.trial_blocks = " + std::to_string(trial_blocks) +
                                ": must be >= 0");
  }
}

std::string GradientSummary::BriefReport() const {
  std::ostringstream s;
  s << "LossAndGradient: " << TerminationName(termination) << ", loss = " << loss << ", "
    << forward_steps << " steps (" << recomputed_steps << " recomputed";
  if (rejected_steps > 0) s << ", " << rejected_steps << " rejected";
  s << "), " << stored_states << " states stored";
  if (!message.empty()) s << ": " << message;
  return s.str();
}

namespace {

// One step x_next = Φ(x; θ) of the chosen scheme and its reverse.
class StepMap {
 public:
  virtual ~StepMap() = default;
  virtual void Step(ConstMatRef x, ConstMatRef u, double h, MatRef x_next) = 0;
  // lambda = (∂Φ/∂x)ᵀ lambda_next (overwritten), g += (∂Φ/∂θ)ᵀ lambda_next.
  virtual void Vjp(
      ConstMatRef x, ConstMatRef u, double h, ConstMatRef lambda_next, MatRef lambda, VecRef g) = 0;
};

class EulerMap final : public StepMap {
 public:
  explicit EulerMap(const ContinuousModel& model) : model_(model) {}
  void Step(ConstMatRef x, ConstMatRef u, double h, MatRef x_next) override {
    model_.EulerStep(x, u, h, x_next);
  }
  void Vjp(ConstMatRef x, ConstMatRef u, double h, ConstMatRef lambda_next, MatRef lambda, VecRef g)
      override {
    model_.EulerStepVjp(x, u, h, lambda_next, lambda, g);
  }

 private:
  const ContinuousModel& model_;
};

class RungeKuttaMap final : public StepMap {
 public:
  RungeKuttaMap(const ContinuousModel& model, const ButcherTableau& tableau, Eigen::Index trials)
      : model_(model), rk_(tableau, model.state_size(), trials) {}
  void Step(ConstMatRef x, ConstMatRef u, double h, MatRef x_next) override {
    rk_.Step(model_, x, u, h, x_next);
  }
  void Vjp(ConstMatRef x, ConstMatRef u, double h, ConstMatRef lambda_next, MatRef lambda, VecRef g)
      override {
    rk_.StepVjp(model_, x, u, h, lambda_next, lambda, g);
  }

 private:
  const ContinuousModel& model_;
  ExplicitRungeKutta rk_;
};

class DiscreteMap final : public StepMap {
 public:
  explicit DiscreteMap(const DiscreteModel& model) : model_(model) {}
  void Step(ConstMatRef x, ConstMatRef u, double /*h*/, MatRef x_next) override {
    model_.Step(x, u, x_next);
  }
  void Vjp(ConstMatRef x,
           ConstMatRef u,
           double /*h*/,
           ConstMatRef lambda_next,
           MatRef lambda,
           VecRef g) override {
    model_.StepVjp(x, u, lambda_next, lambda, g);
  }

 private:
  const DiscreteModel& model_;
};

StepPlan FixedPlan(const Batch& batch, const IntegrateOptions& o, bool one_per_bin) {
  StepPlan plan;
  const Eigen::Index bins = batch.num_bins();
  plan.bin_steps.reserve(static_cast<size_t>(bins));
  for (Eigen::Index k = 0; k < bins; ++k) {
    const double width = batch.bin_edges[k + 1] - batch.bin_edges[k];
    const std::int64_t n = one_per_bin ? 1 : FixedStepsInBin(width, o);
    plan.bin_steps.push_back(n);
    const double h = width / static_cast<double>(n);
    plan.step_sizes.insert(plan.step_sizes.end(), static_cast<size_t>(n), h);
  }
  return plan;
}

// States live in one buffer, one block of `stride` doubles per state. The stride is S·B rounded up
// to a multiple of 8 doubles, so that every block has the same alignment: Eigen's vectorised
// kernels then take the same path for a state wherever it is stored, and recomputing a segment
// from a checkpoint reproduces the stored run bit for bit.
Eigen::Index PaddedStride(Eigen::Index n) { return (n + 7) / 8 * 8; }

// sum() is NaN or Inf if any entry is (or if the entries are so large that they overflow). The
// states are contiguous: summed as one vector, the packets pipeline (a matrix view sums column by
// column through one dependent chain, a few percent of a whole gradient).
bool Finite(const Eigen::Map<Eigen::MatrixXd>& x) {
  return std::isfinite(Eigen::Map<const Eigen::VectorXd>(x.data(), x.size()).sum());
}

void Fail(Termination termination,
          const std::string& message,
          Eigen::Index num_params,
          GradientSummary* summary,
          Eigen::VectorXd* gradient) {
  summary->termination = termination;
  summary->message = message;
  if (gradient != nullptr) {
    gradient->setConstant(num_params, std::numeric_limits<double>::quiet_NaN());
  }
}

}  // namespace

GradientSummary LossAndGradient(const Model& model,
                                const Batch& batch,
                                const LossOptions& loss,
                                const GradientOptions& options,
                                Eigen::VectorXd* gradient) {
  options.Validate();
  batch.Validate();
  if (batch.num_trials() < 1) {
    throw std::invalid_argument("LossAndGradient: empty batch (0 trials)");
  }
  if (batch.input_size() != model.input_size()) {
    throw std::invalid_argument("LossAndGradient: batch has " + std::to_string(batch.input_size()) +
                                " input channels, model '" + model.kind() + "' expects " +
                                std::to_string(model.input_size()));
  }
  ValidateLossInputs(batch, model.output_size(), loss);

  const Eigen::Index s_size = model.state_size(), trials = batch.num_trials();
  const Eigen::Index o_size = model.output_size(), p_size = model.num_params();
  const Eigen::Index bins = batch.num_bins();
  const auto t_bins = static_cast<size_t>(bins);
  const IntegrateOptions& io = options.integrate;
  GradientSummary summary;

  // ---- The steps, and the map of one step on a block of `count` trials.
  auto make_map = [&](Eigen::Index count) -> std::unique_ptr<StepMap> {
    if (!model.is_continuous()) {
      return std::make_unique<DiscreteMap>(static_cast<const DiscreteModel&>(model));
    }
    const auto& cm = static_cast<const ContinuousModel&>(model);
    switch (io.stepper) {
      case Stepper::kEuler:
        return std::make_unique<EulerMap>(cm);
      case Stepper::kRk4:
        return std::make_unique<RungeKuttaMap>(cm, ClassicRk4Tableau(), count);
      case Stepper::kDopri5:
        break;
    }
    return std::make_unique<RungeKuttaMap>(cm, DormandPrince5Tableau(), count);
  };
  if (!model.is_continuous()) {
    summary.plan = FixedPlan(batch, io, true);
  } else if (!options.replay.empty()) {
    options.replay.Validate(batch.bin_edges);
    summary.plan = options.replay;
  } else if (io.stepper == Stepper::kDopri5) {
    // The adaptive solve picks the steps; the replay below differentiates exactly those.
    IntegrateOptions pick = io;
    pick.record_steps = true;
    pick.record_outputs = false;
    pick.record_extras = false;
    pick.dense_per_bin = 0;
    Trajectory unused;
    const IntegrateSummary solve = Integrate(model, batch, pick, &unused);
    summary.rejected_steps = solve.rejected_steps;
    if (!solve.ok()) {
      Fail(
          solve.termination, "Dopri5 step selection: " + solve.message, p_size, &summary, gradient);
      return summary;
    }
    summary.plan = StepPlanFromSummary(solve, batch.bin_edges);
  } else {
    summary.plan = FixedPlan(batch, io, false);
  }
  const StepPlan& plan = summary.plan;
  const auto total_steps = static_cast<std::int64_t>(plan.step_sizes.size());
  if (total_steps > io.max_steps) {
    Fail(Termination::kMaxSteps,
         std::to_string(total_steps) + " steps needed, max_steps = " + std::to_string(io.max_steps),
         p_size,
         &summary,
         gradient);
    return summary;
  }
  // first_step[k]: index of the first step of bin k (first_step[T] = all steps).
  std::vector<std::int64_t> first_step(t_bins + 1, 0);
  for (size_t k = 0; k < t_bins; ++k) first_step[k + 1] = first_step[k] + plan.bin_steps[k];

  // ---- Segments of `per_segment` bins; the last segment's states stay in the buffer.
  const Eigen::Index per_segment =
      options.checkpoint_every_bins == 0
          ? bins
          : std::min<Eigen::Index>(static_cast<Eigen::Index>(options.checkpoint_every_bins), bins);
  const Eigen::Index segments = (bins + per_segment - 1) / per_segment;
  auto segment_begin = [&](Eigen::Index seg) { return static_cast<size_t>(seg * per_segment); };
  auto segment_end = [&](Eigen::Index seg) {
    return static_cast<size_t>(std::min(bins, (seg + 1) * per_segment));
  };
  std::int64_t capacity = 0;  // most steps in one segment
  for (Eigen::Index seg = 0; seg < segments; ++seg) {
    capacity = std::max(capacity, first_step[segment_end(seg)] - first_step[segment_begin(seg)]);
  }
  summary.stored_states = capacity + 1 + (segments - 1);

  // Edges where the loss reads nothing (every mask entry 0) need no readout, forward or backward
  // (e.g. the parity tasks observe only the last edge of hundreds).
  std::vector<char> observed(t_bins + 1, 1);
  observed[0] = 0;
  if (!batch.mask.empty()) {
    for (size_t k = 0; k < t_bins; ++k) observed[k + 1] = batch.mask[k].isZero(0.0) ? 0 : 1;
  }

  // ---- One block of trials: its states, its forward and backward passes.
  const std::vector<TrialBlock> blocks = SplitTrials(
      trials,
      options.trial_blocks > 0 ? options.trial_blocks : std::max<std::int64_t>(options.threads, 1));
  const auto n_blocks = static_cast<std::int64_t>(blocks.size());
  struct Work {
    TrialBlock cols;
    std::unique_ptr<StepMap> map;
    Eigen::Index stride = 0;
    Eigen::VectorXd buffer;       // capacity + 1 states
    Eigen::VectorXd checkpoints;  // the start of every segment but the last
    Eigen::VectorXd gradient;
    std::int64_t failed_edge = -1;  // first edge with a non-finite state
    std::int64_t forward_steps = 0;
    std::int64_t recomputed_steps = 0;

    Eigen::Map<Eigen::MatrixXd> State(std::int64_t j, Eigen::Index rows) {
      return Eigen::Map<Eigen::MatrixXd>(buffer.data() + j * stride, rows, cols.count);
    }
    Eigen::Map<Eigen::MatrixXd> Checkpoint(Eigen::Index seg, Eigen::Index rows) {
      return Eigen::Map<Eigen::MatrixXd>(checkpoints.data() + seg * stride, rows, cols.count);
    }
  };
  std::vector<Work> work(blocks.size());

  // Steps of segment `seg` from state 0 (its first state) on; state j holds the state after step
  // j of the segment. Calls at_edge(k, j) after bin k, whose end state is j.
  auto run_segment = [&](Work& w, Eigen::Index seg, const auto& at_edge) {
    std::int64_t j = 0;
    size_t step = static_cast<size_t>(first_step[segment_begin(seg)]);
    for (size_t k = segment_begin(seg); k < segment_end(seg); ++k) {
      const auto u = batch.inputs[k].middleCols(w.cols.first, w.cols.count);
      for (std::int64_t i = 0; i < plan.bin_steps[k]; ++i, ++j, ++step) {
        w.map->Step(w.State(j, s_size), u, plan.step_sizes[step], w.State(j + 1, s_size));
      }
      if (!at_edge(k, j)) return false;
    }
    return true;
  };

  // ---- Forward: outputs at the observed edges, checkpoints at segment starts.
  std::vector<Eigen::MatrixXd> outputs(t_bins + 1, Eigen::MatrixXd::Zero(o_size, trials));
  ParallelFor(n_blocks, options.threads, [&](std::int64_t bi) {
    Work& w = work[static_cast<size_t>(bi)];
    w.cols = blocks[static_cast<size_t>(bi)];
    w.map = make_map(w.cols.count);
    w.stride = PaddedStride(s_size * w.cols.count);
    w.buffer.resize(w.stride * (capacity + 1));
    w.checkpoints.resize(w.stride * (segments - 1));
    auto x0 = w.State(0, s_size);
    for (Eigen::Index b = 0; b < w.cols.count; ++b) x0.col(b) = model.initial_state();
    model.Readout(x0, outputs[0].middleCols(w.cols.first, w.cols.count));
    for (Eigen::Index seg = 0; seg < segments; ++seg) {
      if (seg > 0) {
        w.State(0, s_size) =
            w.State(first_step[segment_begin(seg)] - first_step[segment_begin(seg - 1)], s_size);
      }
      if (seg + 1 < segments) w.Checkpoint(seg, s_size) = w.State(0, s_size);
      const bool finite = run_segment(w, seg, [&](size_t k, std::int64_t j) {
        if (!Finite(w.State(j, s_size))) {
          w.failed_edge = static_cast<std::int64_t>(k) + 1;
          return false;
        }
        if (observed[k + 1]) {
          model.Readout(w.State(j, s_size), outputs[k + 1].middleCols(w.cols.first, w.cols.count));
        }
        return true;
      });
      w.forward_steps = first_step[segment_end(seg)];
      if (!finite) return;
    }
  });
  // The earliest failure (blocks in order for ties): the same report for any thread timing.
  const Work* failed = nullptr;
  for (const Work& w : work) {
    summary.forward_steps = std::max(summary.forward_steps, w.forward_steps);
    if (w.failed_edge >= 0 && (failed == nullptr || w.failed_edge < failed->failed_edge)) {
      failed = &w;
    }
  }
  if (failed != nullptr) {
    std::ostringstream msg;
    msg << "state became NaN or Inf at t = "
        << batch.bin_edges[static_cast<size_t>(failed->failed_edge)] << " (edge "
        << failed->failed_edge << ")";
    summary.forward_steps = failed->forward_steps;
    Fail(Termination::kNonFinite, msg.str(), p_size, &summary, gradient);
    return summary;
  }
  LossValue value;
  EvaluateLoss(batch, outputs, loss, &value);
  summary.loss = value.loss;
  if (!std::isfinite(value.loss)) {
    Fail(Termination::kNonFinite, "the loss is NaN or Inf", p_size, &summary, gradient);
    return summary;
  }
  if (gradient == nullptr) return summary;

  // ---- Backward: segments last to first, steps last to first, loss jumps at the edges.
  ParallelFor(n_blocks, options.threads, [&](std::int64_t bi) {
    Work& w = work[static_cast<size_t>(bi)];
    const Eigen::Index first = w.cols.first, count = w.cols.count;
    w.gradient.setZero(p_size);
    Eigen::MatrixXd lambda = Eigen::MatrixXd::Zero(s_size, count);
    Eigen::MatrixXd lambda_prev(s_size, count);
    for (Eigen::Index seg = segments - 1; seg >= 0; --seg) {
      const std::int64_t base = first_step[segment_begin(seg)];
      if (seg + 1 < segments) {
        w.State(0, s_size) = w.Checkpoint(seg, s_size);
        run_segment(w, seg, [](size_t, std::int64_t) { return true; });
        w.recomputed_steps += first_step[segment_end(seg)] - base;
      }
      for (size_t k = segment_end(seg); k-- > segment_begin(seg);) {
        if (observed[k + 1]) {
          const auto dl_dy = value.dl_dy[k + 1].middleCols(first, count);
          if (!dl_dy.isZero(0.0)) {
            model.ReadoutVjp(w.State(first_step[k + 1] - base, s_size), dl_dy, lambda, w.gradient);
          }
        }
        const auto u = batch.inputs[k].middleCols(first, count);
        for (std::int64_t step = first_step[k + 1]; step-- > first_step[k];) {
          w.map->Vjp(w.State(step - base, s_size),
                     u,
                     plan.step_sizes[static_cast<size_t>(step)],
                     lambda,
                     lambda_prev,
                     w.gradient);
          lambda.swap(lambda_prev);
        }
      }
    }
  });
  *gradient = work[0].gradient;
  for (size_t bi = 1; bi < work.size(); ++bi) *gradient += work[bi].gradient;
  summary.recomputed_steps = 0;
  for (const Work& w : work)
    summary.recomputed_steps = std::max(summary.recomputed_steps, w.recomputed_steps);
  if (!gradient->allFinite()) {
    Fail(Termination::kNonFinite, "the gradient is NaN or Inf", p_size, &summary, gradient);
  }
  return summary;
}

}  // namespace ctrnn
