// Forward integration of the default batch: the MWG NM-RNN (N = 100, R = 3, M = 5) on its 40
// training trials, 110 forward-Euler steps at dt = 1, one thread. Reported per step.
// The PyTorch peer is bench/torch_forward.py; scripts/bench-forward.sh runs both and the ratio.
#include <benchmark/benchmark.h>

#include "lib/config.h"
#include "lib/models/factory.h"
#include "lib/tasks/mwg.h"
#include "solvers/integrate.h"

namespace ctrnn {
namespace {

std::unique_ptr<Model> DefaultModel() {
  Config c = Config::ParseString("[model]\nkind = \"nm_rnn\"\nN = 100\nM = 5\nR = 3\n", "bench");
  return MakeModel(&c.Sub("model"), 0);
}

// Integrate as `ctrnn simulate` calls it: states, outputs and s(t) recorded at every edge.
void BM_ForwardIntegrateRecorded(benchmark::State& state) {
  auto model = DefaultModel();
  const Batch batch = MakeMwgBatch(MwgTrainingTrials(), MwgOptions());
  IntegrateOptions options;
  options.record_extras = state.range(0) != 0;
  options.record_outputs = state.range(0) != 0;
  Trajectory traj;
  for (auto _ : state) {
    Integrate(*model, batch, options, &traj);
    benchmark::DoNotOptimize(traj.states.back().data());
  }
  state.counters["steps"] = 110;
}
BENCHMARK(BM_ForwardIntegrateRecorded)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);

// The bare step loop: 110 EulerSteps of the batch, nothing recorded.
void BM_ForwardEulerSteps(benchmark::State& state) {
  auto model = DefaultModel();
  const auto& cm = static_cast<const ContinuousModel&>(*model);
  const Batch batch = MakeMwgBatch(MwgTrainingTrials(), MwgOptions());
  const Eigen::MatrixXd x0 = model->initial_state().replicate(1, 40);
  Eigen::MatrixXd x = x0, next = x0;
  for (auto _ : state) {
    x = x0;
    for (int t = 0; t < 110; ++t) {
      cm.EulerStep(x, batch.inputs[t], 1.0, next);
      x.swap(next);
    }
    benchmark::DoNotOptimize(x.data());
  }
  state.counters["steps"] = 110;
}
BENCHMARK(BM_ForwardEulerSteps)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ctrnn

BENCHMARK_MAIN();
