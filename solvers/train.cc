#include "solvers/train.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "lib/random.h"
#include "lib/tasks/parity.h"

namespace ctrnn {

void TrainOptions::Validate() const {
  auto fail = [](const std::string& field, const std::string& value, const char* rule) {
    throw std::invalid_argument("TrainOptions." + field + " = " + value + ": " + rule);
  };
  if (stages.empty()) fail("stages", "[]", "needs at least one stage");
  for (const StageOptions& s : stages) {
    if (s.iterations < 1)
      fail("stages." + s.name + ".iterations", std::to_string(s.iterations), "must be >= 1");
    s.optimizer.Validate();
  }
  loss.Validate();
  gradient.Validate();
  if (batch_size < 1) fail("batch_size", std::to_string(batch_size), "must be >= 1");
  if (batch_mode == BatchMode::kPool && pool_size < 1) {
    fail("pool_size", std::to_string(pool_size), "must be >= 1");
  }
  if (repeat_batches_every < 0)
    fail("repeat_batches_every", std::to_string(repeat_batches_every), "must be >= 0");
  if (log_every < 1) fail("log_every", std::to_string(log_every), "must be >= 1");
  if (eval_every < 0) fail("eval_every", std::to_string(eval_every), "must be >= 0");
  if (eval_trials < 0) fail("eval_trials", std::to_string(eval_trials), "must be >= 0");
  if (checkpoint_every < 0)
    fail("checkpoint_every", std::to_string(checkpoint_every), "must be >= 0");
  curriculum.Validate();
  if (curriculum.enabled() && batch_mode != BatchMode::kFresh) {
    fail("curriculum.kind",
         CurriculumKindName(curriculum.kind),
         "needs batch_mode = fresh (the active N change the batches)");
  }
}

TrainOptions TrainOptionsFromConfig(Config* root,
                                    std::uint64_t seed,
                                    const LossOptions& task_loss) {
  TrainOptions o;
  o.seed = seed;
  o.loss = LossOptionsFromConfig(&root->Sub("loss"), task_loss);
  o.gradient.integrate = IntegrateOptionsFromConfig(&root->Sub("integrator"));
  Config& g = root->Sub("gradient");
  o.gradient.checkpoint_every_bins = g.GetInt("checkpoint_every_bins", 0, 0, std::int64_t{1} << 40);
  o.gradient.threads = g.GetInt("threads", 1, 1, 1024);
  o.gradient.trial_blocks = g.GetInt("trial_blocks", 0, 0, 1 << 20);
  Config& t = root->Sub("train");
  const std::string mode = t.GetString("batch_mode", "full", {"full", "pool", "fresh"});
  o.batch_mode = mode == "full"   ? BatchMode::kFull
                 : mode == "pool" ? BatchMode::kPool
                                  : BatchMode::kFresh;
  o.batch_size = t.GetInt("batch_size", 100, 1, 1 << 30);
  o.pool_size = t.GetInt("pool_size", 3000, 1, 1 << 30);
  o.repeat_batches_every = t.GetInt("repeat_batches_every", 0, 0, std::int64_t{1} << 40);
  o.log_every = t.GetInt("log_every", 100, 1, std::int64_t{1} << 40);
  o.eval_every = t.GetInt("eval_every", 0, 0, std::int64_t{1} << 40);
  o.eval_trials = t.GetInt("eval_trials", 0, 0, 1 << 30);
  o.checkpoint_every = t.GetInt("checkpoint_every", 1000, 0, std::int64_t{1} << 40);
  o.curriculum = CurriculumOptionsFromConfig(&root->Sub("curriculum"));
  o.stages.clear();
  for (const std::string& name : t.GetStringList("stages", {"all"})) {
    Config& sc = root->Sub("stage").Sub(name);
    StageOptions stage;
    stage.name = name;
    stage.iterations = sc.GetInt("iterations", 1000, 1, std::int64_t{1} << 40);
    stage.trainable = sc.GetStringList("trainable", {});
    stage.optimizer = OptimizerOptionsFromConfig(&sc.Sub("optimizer"));
    o.stages.push_back(stage);
  }
  o.Validate();
  return o;
}

std::string TrainSummary::BriefReport() const {
  std::ostringstream s;
  s << "Train: " << TerminationName(termination) << ", " << iterations << " iterations, final loss "
    << final_loss << ", best " << best_loss << ", " << seconds << " s";
  if (!message.empty()) s << ": " << message;
  return s.str();
}

std::vector<std::pair<std::string, double>> Evaluate(const Model& model,
                                                     const Task& task,
                                                     const Batch& batch,
                                                     const LossOptions& loss,
                                                     const IntegrateOptions& integrate) {
  IntegrateOptions opt = integrate;
  opt.record_outputs = true;
  opt.record_extras = false;
  opt.dense_per_bin = 0;
  Trajectory traj;
  const IntegrateSummary s = Integrate(model, batch, opt, &traj);
  std::vector<std::pair<std::string, double>> out;
  if (!s.ok()) {
    out.emplace_back("loss", std::numeric_limits<double>::quiet_NaN());
    return out;
  }
  out.emplace_back("loss", EvaluateLoss(batch, traj.outputs, loss).loss);
  for (const auto& m : task.Metrics(batch, traj.outputs)) out.push_back(m);
  return out;
}

namespace {

// Fixed offsets keep the streams of one seed apart (pool, evaluation set, minibatches).
constexpr std::uint64_t kPoolStream = 0x9e3779b97f4a7c15ULL;
constexpr std::uint64_t kEvalStream = 0xbf58476d1ce4e5b9ULL;
constexpr std::uint64_t kBatchStream = 0x94d049bb133111ebULL;
constexpr std::uint64_t kTestStream = 0x2545f4914f6cdd1dULL;

// The curriculum's test after the epoch ending at `iteration`: test_batches fresh batches (each
// with its own length), drawn from a stream of their own so that a resumed run draws the same.
// Returns the accuracy of each active N (in the order of task.ns()), the mean over the batches.
std::vector<double> CurriculumTest(const Model& model,
                                   const ParityTask& task,
                                   const TrainOptions& options,
                                   std::int64_t iteration) {
  Rng rng(options.seed ^ kTestStream ^
          (static_cast<std::uint64_t>(iteration) * 0xff51afd7ed558ccdULL));
  std::vector<double> accuracy(task.ns().size(), 0.0);
  IntegrateOptions integrate = options.gradient.integrate;
  integrate.record_outputs = true;
  integrate.record_extras = false;
  integrate.dense_per_bin = 0;
  for (Eigen::Index i = 0; i < options.curriculum.test_batches; ++i) {
    const Batch batch = task.Sample(options.curriculum.test_batch_size, &rng);
    Trajectory traj;
    const IntegrateSummary s = Integrate(model, batch, integrate, &traj);
    if (!s.ok()) return std::vector<double>(task.ns().size(), 0.0);
    const TaskMetrics metrics = task.Metrics(batch, traj.outputs);
    for (size_t j = 0; j < task.ns().size(); ++j) {
      const std::string name = "accuracy_N" + std::to_string(task.ns()[j]);
      for (const auto& [m, value] : metrics) {
        if (m == name) accuracy[j] += value;
      }
    }
  }
  for (double& a : accuracy) a /= static_cast<double>(options.curriculum.test_batches);
  return accuracy;
}

std::string SnapshotName(const std::vector<int>& ns) {
  return "rnn_N" + std::to_string(ns.front()) + "_N" + std::to_string(ns.back());
}

}  // namespace

TrainSummary Train(Model* model,
                   const Task& task,
                   const TrainOptions& options,
                   const TrainCallbacks& callbacks,
                   TrainState* state) {
  options.Validate();
  if (model == nullptr || state == nullptr)
    throw std::invalid_argument("Train: null model or state");
  if (task.input_size() != model->input_size() || task.output_size() != model->output_size()) {
    throw std::invalid_argument("Train: task '" + task.name() + "' has " +
                                std::to_string(task.input_size()) + " inputs and " +
                                std::to_string(task.output_size()) + " outputs, model '" +
                                model->kind() + "' has " + std::to_string(model->input_size()) +
                                " and " + std::to_string(model->output_size()));
  }
  const Eigen::Index p = model->num_params();
  std::vector<Eigen::VectorXd> masks;
  std::int64_t total = 0;
  for (const StageOptions& s : options.stages) {
    masks.push_back(TrainableMask(model->layout(), s.trainable));
    total += s.iterations;
  }

  // The data: fixed streams per seed, so nothing but the minibatch generator needs saving.
  Rng pool_rng(options.seed ^ kPoolStream), eval_rng(options.seed ^ kEvalStream);
  Rng batch_rng(options.seed ^ kBatchStream);
  Batch full, pool;
  if (task.fixed() || options.batch_mode == BatchMode::kFull) {
    full = task.Sample(options.batch_size, &pool_rng);
  }
  if (options.batch_mode == BatchMode::kPool) pool = task.Sample(options.pool_size, &pool_rng);
  const bool curriculum = options.curriculum.enabled();
  const auto* parity = dynamic_cast<const ParityTask*>(&task);
  if (curriculum && parity == nullptr) {
    throw std::invalid_argument("Train: curriculum '" +
                                CurriculumKindName(options.curriculum.kind) +
                                "' needs the parity or dms task, not '" + task.name() + "'");
  }
  const Batch eval = task.fixed()              ? full
                     : curriculum              ? Batch()  // the epoch tests replace it
                     : options.eval_trials > 0 ? task.Sample(options.eval_trials, &eval_rng)
                                               : task.Sample(256, &eval_rng);

  const bool resume = state->iteration > 0;
  if (resume) {
    if (state->theta.size() != p || state->stage < 0 ||
        state->stage >= static_cast<std::int64_t>(options.stages.size()) ||
        state->iteration > total) {
      throw std::invalid_argument("Train: the checkpoint does not fit this model and these stages");
    }
    model->SetTheta(state->theta);
    batch_rng.SetState(state->batch_rng);
  } else {
    *state = TrainState();
    state->theta = model->theta();
    state->batch_rng_restart = batch_rng.State();
    if (curriculum) state->curriculum_ns = options.curriculum.InitialNs();
  }
  // The task the batches come from: under a curriculum a copy whose active N follow the state.
  std::unique_ptr<ParityTask> active;
  const Task* current = &task;
  if (curriculum) {
    active = std::make_unique<ParityTask>(*parity);
    active->SetActive(state->curriculum_ns);  // throws (naming the N) if they do not fit
    current = active.get();
  }
  bool curriculum_finished = false;

  TrainSummary summary;
  const auto session_start = std::chrono::steady_clock::now();
  const double seconds_before = state->seconds;
  auto elapsed = [&] {
    return seconds_before +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - session_start).count();
  };
  const std::int64_t start_iteration = state->iteration;
  Eigen::VectorXd gradient(p), theta(p);
  double last_loss = std::numeric_limits<double>::quiet_NaN();

  auto save = [&](const Optimizer& opt) {
    state->theta = model->theta();
    state->optimizer_steps = opt.steps();
    state->optimizer_m = opt.first_moment();
    state->optimizer_v = opt.second_moment();
    state->batch_rng = batch_rng.State();
    state->seconds = elapsed();
  };
  auto evaluate = [&](TrainProgress* progress) {
    const auto metrics = Evaluate(*model, task, eval, options.loss, options.gradient.integrate);
    state->eval_iteration.push_back(static_cast<double>(state->iteration));
    for (const auto& [name, value] : metrics) state->eval_metrics[name].push_back(value);
    if (progress) progress->metrics = metrics;
  };

  auto make_progress = [&](const std::string& stage_name, double loss, double secs) {
    TrainProgress progress;
    progress.iteration = state->iteration;
    progress.total_iterations = total;
    progress.stage = stage_name;
    progress.loss = loss;
    const double session = secs - seconds_before;
    progress.iterations_per_second =
        session > 0 ? static_cast<double>(state->iteration - start_iteration) / session : 0.0;
    progress.eta_seconds =
        progress.iterations_per_second > 0
            ? static_cast<double>(total - state->iteration) / progress.iterations_per_second
            : 0.0;
    return progress;
  };

  for (; state->stage < static_cast<std::int64_t>(options.stages.size()); ++state->stage) {
    const StageOptions& stage = options.stages[static_cast<size_t>(state->stage)];
    const Eigen::VectorXd& mask = masks[static_cast<size_t>(state->stage)];
    Optimizer opt(stage.optimizer, p);
    if (resume && state->iteration == start_iteration && state->stage_iteration > 0) {
      opt.SetState(state->optimizer_steps, state->optimizer_m, state->optimizer_v);
    }
    for (; state->stage_iteration < stage.iterations; ++state->stage_iteration) {
      if (options.batch_mode == BatchMode::kPool && options.repeat_batches_every > 0 &&
          state->stage_iteration % options.repeat_batches_every == 0) {
        batch_rng.SetState(state->batch_rng_restart);
      }
      Batch sampled;
      const Batch* batch = &full;
      if (options.batch_mode == BatchMode::kPool) {
        std::vector<Eigen::Index> idx(static_cast<size_t>(options.batch_size));
        for (Eigen::Index& i : idx) {
          i = static_cast<Eigen::Index>(
              batch_rng.Below(static_cast<std::uint64_t>(pool.num_trials())));
        }
        sampled = pool.Gather(idx);
        batch = &sampled;
      } else if (options.batch_mode == BatchMode::kFresh && !task.fixed()) {
        sampled = current->Sample(options.batch_size, &batch_rng);
        batch = &sampled;
      }
      const GradientSummary g =
          LossAndGradient(*model, *batch, options.loss, options.gradient, &gradient);
      if (!g.ok() || !std::isfinite(g.loss)) {
        summary.termination = g.ok() ? Termination::kNonFinite : g.termination;
        summary.message = "iteration " + std::to_string(state->iteration + 1) + ": " +
                          (g.message.empty() ? "non-finite loss" : g.message) +
                          "; parameters kept at their last finite values";
        break;
      }
      theta = model->theta();
      if (!opt.Step(gradient, mask, &theta)) {
        summary.termination = Termination::kNonFinite;
        summary.message = "iteration " + std::to_string(state->iteration + 1) +
                          ": non-finite gradient; parameters kept at their last finite values";
        break;
      }
      if (state->best_theta.size() == 0 || g.loss < state->best_loss) {
        state->best_loss = g.loss;
        state->best_theta = model->theta();  // the parameters that produced this loss
        state->best_iteration = state->iteration;
      }
      model->SetTheta(theta);
      ++state->iteration;
      last_loss = g.loss;
      const bool last = state->iteration == total;
      if (state->iteration % options.log_every == 0 || last) {
        const double secs = elapsed();
        state->curve_iteration.push_back(static_cast<double>(state->iteration));
        state->curve_loss.push_back(g.loss);
        state->curve_seconds.push_back(secs);
        TrainProgress progress = make_progress(stage.name, g.loss, secs);
        if (!curriculum && options.eval_every > 0 && state->iteration % options.eval_every == 0 &&
            !last) {
          evaluate(&progress);
        }
        if (callbacks.progress) callbacks.progress(progress);
      } else if (!curriculum && options.eval_every > 0 &&
                 state->iteration % options.eval_every == 0 && !last) {
        evaluate(nullptr);
      }
      if (curriculum && state->iteration % options.curriculum.epoch_iterations == 0) {
        const std::vector<int> ns = active->ns();
        const std::vector<double> accuracy =
            CurriculumTest(*model, *active, options, state->iteration);
        const CurriculumDecision d =
            DecideCurriculum(options.curriculum, ns, accuracy, parity->options().num_heads);
        const double mean =
            std::accumulate(accuracy.begin(), accuracy.end(), 0.0) / static_cast<double>(ns.size());
        state->epoch_iteration.push_back(static_cast<double>(state->iteration));
        state->epoch_n_max.push_back(ns.back());
        state->epoch_mean_accuracy.push_back(mean);
        state->epoch_accuracy_n_max.push_back(accuracy.back());
        state->epoch_advanced.push_back(d.advanced ? 1.0 : 0.0);
        if (d.advanced || d.finished)
          state->snapshots.emplace_back(SnapshotName(ns), model->theta());
        if (d.advanced) {
          active->SetActive(d.ns);
          state->curriculum_ns = d.ns;
        }
        if (d.finished) {
          curriculum_finished = true;
          summary.message = "curriculum finished at iteration " + std::to_string(state->iteration) +
                            ": " + d.reason;
        }
        if (callbacks.progress) {
          TrainProgress progress = make_progress(stage.name, g.loss, elapsed());
          progress.metrics = {{"N_max", ns.back()},
                              {"mean_accuracy", mean},
                              {"accuracy_N_max", accuracy.back()},
                              {"advanced", d.advanced ? 1.0 : 0.0}};
          callbacks.progress(progress);
        }
      }
      if (curriculum_finished) break;
      if (options.checkpoint_every > 0 && state->iteration % options.checkpoint_every == 0 &&
          !last && callbacks.checkpoint) {
        state->stage_iteration += 1;  // the checkpoint resumes after this iteration
        save(opt);
        callbacks.checkpoint(*state);
        state->stage_iteration -= 1;
      }
    }
    if (!summary.ok() || curriculum_finished) {
      save(opt);
      break;
    }
    state->stage_iteration = 0;
    if (state->stage + 1 == static_cast<std::int64_t>(options.stages.size())) save(opt);
  }
  if (summary.ok()) {
    state->stage = static_cast<std::int64_t>(options.stages.size()) - 1;
    state->stage_iteration = options.stages.back().iterations;
    if (!curriculum) evaluate(nullptr);
  }
  state->seconds = elapsed();
  if (callbacks.checkpoint) callbacks.checkpoint(*state);
  summary.iterations = state->iteration;
  summary.final_loss = last_loss;
  summary.best_loss = state->best_loss;
  summary.seconds = state->seconds;
  return summary;
}

}  // namespace ctrnn
