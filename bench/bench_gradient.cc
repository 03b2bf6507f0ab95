// Loss + exact gradient of the default batch: the MWG NM-RNN (N = 100, R = 3, M = 5) on its 40
// training trials, masked MSE, the discrete adjoint of forward Euler at dt = 1 (110 steps), one
// thread; the loss alone for the backward/forward ratio; RK4 and Dopri5 for information; and the
// peak memory of one LossAndGradient call as the trajectory grows, with and without checkpoints.
// The PyTorch peer is bench/torch_gradient.py; scripts/bench-gradient.sh runs both and prints the
// tables. (BENCHMARK_MAIN is in bench/bench_forward.cc: one binary, ctrnn_bench.)
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <benchmark/benchmark.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/models/factory.h"
#include "lib/tasks/mwg.h"
#include "solvers/gradient.h"

namespace ctrnn {
namespace {

std::unique_ptr<Model> DefaultModel() {
  Config c = Config::ParseString("[model]\nkind = \"nm_rnn\"\nN = 100\nM = 5\nR = 3\n", "bench");
  return MakeModel(&c.Sub("model"), 0);
}

// LossAndGradient as training calls it; with_gradient = false passes gradient = nullptr (the
// forward pass and the loss only).
void BM_Gradient(benchmark::State& state, Stepper stepper, bool with_gradient) {
  auto model = DefaultModel();
  const Batch batch = MakeMwgBatch(MwgTrainingTrials(), MwgOptions());
  GradientOptions options;
  options.integrate.stepper = stepper;
  Eigen::VectorXd g;
  GradientSummary s;
  for (auto _ : state) {
    s = LossAndGradient(*model, batch, LossOptions(), options, with_gradient ? &g : nullptr);
    benchmark::DoNotOptimize(s.loss);
  }
  if (!s.ok()) state.SkipWithError(s.BriefReport().c_str());
  state.counters["steps"] = static_cast<double>(s.forward_steps);
}
BENCHMARK_CAPTURE(BM_Gradient, euler_loss_and_gradient, Stepper::kEuler, true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Gradient, euler_loss_only, Stepper::kEuler, false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Gradient, rk4_loss_and_gradient, Stepper::kRk4, true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Gradient, rk4_loss_only, Stepper::kRk4, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Gradient, dopri5_loss_and_gradient, Stepper::kDopri5, true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Gradient, dopri5_loss_only, Stepper::kDopri5, false)
    ->Unit(benchmark::kMicrosecond);

// The bare reverse step loop: 110 EulerStepVjps of the batch at one stored state.
void BM_GradientEulerStepVjps(benchmark::State& state) {
  auto model = DefaultModel();
  const auto& cm = static_cast<const ContinuousModel&>(*model);
  const Batch batch = MakeMwgBatch(MwgTrainingTrials(), MwgOptions());
  const Eigen::MatrixXd x0 = model->initial_state().replicate(1, 40);
  Eigen::MatrixXd lambda = Eigen::MatrixXd::Constant(x0.rows(), 40, 1e-3), prev = lambda;
  Eigen::VectorXd g = Eigen::VectorXd::Zero(model->num_params());
  for (auto _ : state) {
    for (int t = 110; t-- > 0;) {
      cm.EulerStepVjp(x0, batch.inputs[t], 1.0, lambda, prev, g);
      lambda.swap(prev);
    }
    lambda.setConstant(1e-3);
    benchmark::DoNotOptimize(g.data());
  }
  state.counters["steps"] = 110;
}
BENCHMARK(BM_GradientEulerStepVjps)->Unit(benchmark::kMicrosecond);

// A line "<key> <n> kB" of /proc/self/status in MiB, or -1.
double ProcStatusMiB(const char* key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1.0;
  char line[256];
  double mib = -1.0;
  const size_t n = std::strlen(key);
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, key, n) == 0) mib = std::strtod(line + n, nullptr) / 1024.0;
  }
  std::fclose(f);
  return mib;
}

// Peak resident memory of one Euler LossAndGradient call on the MWG batch stretched to T bins
// (zero input after the go cues, target 0.5), in a fresh child process per point so that earlier
// points do not count. The child resets its high-water mark after building the model and the batch
// (Linux: "5" to /proc/self/clear_refs) and reads VmHWM after the call. Arguments: T,
// checkpoint_every_bins (-1: round(√T)). Counters: peak_MiB (VmHWM: the peak resident size of the
// process during the call), setup_MiB (VmRSS before the call: the binary, libraries, model and
// batch), states (GradientSummary::stored_states).
void BM_GradientPeakMemory(benchmark::State& state) {
  const auto bins = static_cast<int>(state.range(0));
  std::int64_t every = state.range(1);
  if (every < 0) every = std::llround(std::sqrt(static_cast<double>(bins)));
  double report[3] = {0.0, 0.0, 0.0};  // peak MiB, setup MiB, stored states
  for (auto _ : state) {
    int fds[2];
    if (pipe(fds) != 0) {
      state.SkipWithError("pipe failed");
      break;
    }
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      auto model = DefaultModel();
      MwgOptions mwg;
      mwg.num_bins = bins;
      const Batch batch = MakeMwgBatch(MwgTrainingTrials(), mwg);
      GradientOptions options;
      options.checkpoint_every_bins = every;
      const double setup = ProcStatusMiB("VmRSS:");
      std::FILE* clear = std::fopen("/proc/self/clear_refs", "w");
      const bool reset = clear != nullptr && std::fputs("5", clear) >= 0;
      if (clear != nullptr) std::fclose(clear);
      Eigen::VectorXd g;
      const GradientSummary s = LossAndGradient(*model, batch, LossOptions(), options, &g);
      const double out[3] = {reset ? ProcStatusMiB("VmHWM:") : -1.0,
                             setup,
                             s.ok() ? static_cast<double>(s.stored_states) : -1.0};
      const bool sent = write(fds[1], out, sizeof(out)) == static_cast<ssize_t>(sizeof(out));
      _exit(sent ? 0 : 1);
    }
    close(fds[1]);
    const bool got =
        pid > 0 && read(fds[0], report, sizeof(report)) == static_cast<ssize_t>(sizeof(report));
    close(fds[0]);
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || report[0] < 0.0 ||
        report[2] < 0.0) {
      state.SkipWithError("the child process failed (or could not reset its peak memory)");
      break;
    }
  }
  if (state.error_occurred()) return;
  state.counters["T"] = bins;
  state.counters["checkpoint_every_bins"] = static_cast<double>(every);
  state.counters["peak_MiB"] = report[0];
  state.counters["setup_MiB"] = report[1];
  state.counters["states"] = report[2];
}
BENCHMARK(BM_GradientPeakMemory)
    ->ArgsProduct({{110, 1100, 3300, 11000}, {0, 10, -1}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ctrnn
