// τ_net of a trained 500-unit parity network of the timescales paper (Variant A, single-head,
// N = 11: /work/shared/data/timescales_example_nets.h5, or $CTRNN_TIMESCALES_NETS), under the
// spec's protocol (timescales spec §5.2): trials × steps of simulation, FFT autocorrelations of
// every unit, 2 × 501 bounded fits. Arguments: trials, steps, threads (0: all cores). The
// counters split the wall time into simulation, autocorrelation and fits.
// scripts/bench-timescales.sh runs the full-size case.
#include <cstdlib>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "lib/archive.h"
#include "lib/models/discrete_rnn.h"
#include "solvers/autocorrelation.h"

namespace ctrnn {
namespace {

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::string NetsFile() {
  const char* env = std::getenv("CTRNN_TIMESCALES_NETS");
  return env != nullptr ? env : "/work/shared/data/timescales_example_nets.h5";
}

// The authors' network as our DiscreteRnn (h5py shapes are row-major; W_out (head, class, unit)
// is our (head·2 + class, unit)).
std::unique_ptr<Model> TrainedNet(const std::string& group) {
  const std::string file = NetsFile();
  auto read = [&](const std::string& name, Eigen::Index rows, Eigen::Index cols) {
    std::vector<std::size_t> shape;
    const std::vector<double> data = ReadDoubleArray(file, group + "/" + name, &shape);
    return Eigen::MatrixXd(Eigen::Map<const RowMajor>(data.data(), rows, cols));
  };
  DiscreteRnn::Options o;
  o.num_neurons = 500;
  o.num_heads = 100;
  o.num_classes = 2;
  auto model = std::make_unique<DiscreteRnn>(o, 0);
  model->SetParam("tau", read("tau", 500, 1));
  model->SetParam("W_in", read("W_in", 500, 1));
  model->SetParam("b_in", read("b_in", 500, 1));
  model->SetParam("W_rec", read("W_rec", 500, 500));
  model->SetParam("b_rec", read("b_rec", 500, 1));
  model->SetParam("W_out", read("W_out", 200, 500));
  model->SetParam("b_out", read("b_out", 200, 1));
  return model;
}

void BM_NetworkTimescales(benchmark::State& state) {
  std::unique_ptr<Model> model;
  try {
    model = TrainedNet("single_head_N11");
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  TimescalesOptions options;
  options.trials = state.range(0);
  options.steps = state.range(1);
  options.num_threads = static_cast<int>(state.range(2));
  TimescalesSummary summary;
  TimescalesResult result;
  for (auto _ : state) {
    summary = NetworkTimescales(*model, options, &result);
    benchmark::DoNotOptimize(result.tau_net.data());
  }
  if (!summary.ok()) state.SkipWithError(summary.message.c_str());
  state.counters["simulate_s"] = summary.simulate_seconds;
  state.counters["autocorrelation_s"] = summary.autocorrelation_seconds;
  state.counters["fit_s"] = summary.fit_seconds;
  state.counters["total_s"] = summary.total_seconds;
  state.counters["threads"] = summary.threads;
  state.counters["tau_net_gt1"] = static_cast<double>(summary.num_tau_above_1);
  double mean = 0.0;
  for (Eigen::Index i = 0; i < result.tau_net.size(); ++i) {
    if (result.tau_net(i) > 1.0) mean += result.tau_net(i);
  }
  state.counters["mean_tau_net_gt1"] =
      summary.num_tau_above_1 > 0 ? mean / static_cast<double>(summary.num_tau_above_1) : 0.0;
}
// The spec's size, and a short one for quick checks.
BENCHMARK(BM_NetworkTimescales)
    ->Args({10, 101'000, 0})
    ->Args({10, 101'000, 1})
    ->Args({10, 11'000, 0})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace ctrnn
