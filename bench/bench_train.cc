// Training iterations (issue 4): what Train does per iteration, without logging or sampling.
//
// - BM_MwgTrainIteration: the MWG NM-RNN (N = 100, R = 3, M = 5) on its 40 training trials:
//   masked-MSE loss, the exact gradient (discrete adjoint of forward Euler, 110 steps), one AdamW
//   step (lr 1e-2, clip_value 1: the NM-RNN code's settings). One thread.
// - BM_ParityTrainStep/threads: the timescales paper's network (Variant A discrete RNN, N = 500,
//   leaky ReLU, zero diagonal, trainable τ, 100 heads of 2 logits) on a parity batch of 256
//   sequences of 75 digits with N = 2..19 active (the cumulative curriculum's heads), loss =
//   sum of the active heads' cross-entropies, the exact gradient (BPTT), one SGD step (lr 0.05,
//   momentum 0.1, Nesterov, global-norm clip 2: spec timescales.md §4). The trials are cut into
//   one block per thread.
//
// The PyTorch peer is bench/torch_train.py; scripts/bench-train.sh runs both and prints ratios.
#include <memory>
#include <numeric>
#include <vector>

#include <benchmark/benchmark.h>

#include "lib/config.h"
#include "lib/models/factory.h"
#include "lib/random.h"
#include "lib/tasks/mwg.h"
#include "lib/tasks/parity.h"
#include "solvers/gradient.h"
#include "solvers/optimizer.h"

namespace ctrnn {
namespace {

std::unique_ptr<Model> FromToml(const char* toml) {
  Config c = Config::ParseString(toml, "bench");
  return MakeModel(&c.Sub("model"), 0);
}

// One iteration: loss and gradient, optimizer step, new parameters.
void Iterate(Model* model,
             const Batch& batch,
             const LossOptions& loss,
             const GradientOptions& options,
             Optimizer* opt,
             Eigen::VectorXd* gradient,
             Eigen::VectorXd* theta,
             benchmark::State* state) {
  const GradientSummary s = LossAndGradient(*model, batch, loss, options, gradient);
  if (!s.ok()) {
    state->SkipWithError(s.BriefReport().c_str());
    return;
  }
  *theta = model->theta();
  opt->Step(*gradient, theta);
  model->SetTheta(*theta);
  benchmark::DoNotOptimize(s.loss);
}

void BM_MwgTrainIteration(benchmark::State& state) {
  auto model = FromToml("[model]\nkind = \"nm_rnn\"\nN = 100\nM = 5\nR = 3\n");
  const Batch batch = MakeMwgBatch(MwgTrainingTrials(), MwgOptions());
  OptimizerOptions o;
  o.kind = OptimizerKind::kAdamW;
  o.lr = 1e-2;
  o.clip_value = 1.0;
  Optimizer opt(o, model->num_params());
  Eigen::VectorXd g, theta;
  for (auto _ : state) {
    Iterate(model.get(), batch, LossOptions(), GradientOptions(), &opt, &g, &theta, &state);
  }
}
BENCHMARK(BM_MwgTrainIteration)->Unit(benchmark::kMillisecond);

void BM_ParityTrainStep(benchmark::State& state) {
  const auto threads = state.range(0);
  auto model =
      FromToml("[model]\nkind = \"discrete_rnn\"\nN = 500\ninput_size = 1\nnum_heads = 100\n");
  ParityOptions po;
  po.num_heads = 100;
  po.length = 75;
  std::vector<int> ns(18);
  std::iota(ns.begin(), ns.end(), 2);  // N = 2..19 on heads 0..17
  const ParityTask task(po, ns);
  Rng rng(1);
  const Batch batch = task.Sample(256, &rng);
  OptimizerOptions o;
  o.kind = OptimizerKind::kSgd;
  o.lr = 0.05;
  o.momentum = 0.1;
  o.nesterov = true;
  o.clip_norm = 2.0;
  Optimizer opt(o, model->num_params());
  GradientOptions options;
  options.threads = threads;
  Eigen::VectorXd g, theta;
  for (auto _ : state) {
    Iterate(model.get(), batch, task.loss(), options, &opt, &g, &theta, &state);
  }
  state.counters["threads"] = static_cast<double>(threads);
}
BENCHMARK(BM_ParityTrainStep)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ctrnn
