// End to end: the `ctrnn` binary on the built-in default and on small configs, its output read
// back by our archive and by h5py (Debian's python3-h5py, as a user would).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/archive.h"
#include "solvers/integrate.h"
#include "solvers/train_io.h"
#include "tests/cli_testing.h"

namespace ctrnn {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

using Result = testing::CommandResult;
Result Run(const std::string& args) { return testing::RunCtrnn(args); }

fs::path TempDir() {
  const fs::path dir = fs::temp_directory_path() / ("ctrnn_cli_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

TEST_CASE("ctrnn simulate writes the default NM-RNN run and ctrnn info reads it", "[cli]") {
  const fs::path dir = TempDir();
  const std::string out = (dir / "default.h5").string();
  Result r = Run("simulate -o " + out);
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Contains("nm_rnn: 1059 parameters, 40 trials x 110 bins"));
  Result info = Run("info " + out);
  INFO(info.output);
  CHECK(info.status == 0);
  CHECK_THAT(info.output, Contains("nm_rnn"));
  auto model = ReadModel(out);
  CHECK(model->num_params() == 1059);

  SECTION("h5py finds the documented shapes and parameter names") {
    const std::string script = std::string(CTRNN_SOURCE_DIR) + "/tests/check_run_h5py.py";
    const int raw = std::system(("/usr/bin/python3 " + script + " " + out).c_str());
    CHECK(WIFEXITED(raw));
    CHECK(WEXITSTATUS(raw) == 0);
  }
  fs::remove_all(dir);
}

TEST_CASE("ctrnn simulate runs a config in continuous time", "[cli]") {
  const fs::path dir = TempDir();
  const fs::path cfg = dir / "lr.toml";
  std::ofstream(cfg) << "seed = 3\n[model]\nkind = \"low_rank\"\nN = 20\n[task]\nset = "
                        "\"extrapolation\"\n[integrator]\nstepper = \"dopri5\"\nabs_tol = 1e-8\n";
  const std::string out = (dir / "lr.h5").string();
  Result r = Run("simulate " + cfg.string() + " -o " + out);
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Contains("low_rank") && Contains("12 trials x 110 bins"));
  auto model = ReadModel(out);
  const Batch batch = ReadBatch(out);
  const Trajectory traj = ReadTrajectory(out, *model);
  CHECK(traj.states.size() == 111);
  // The archived trajectory is what integrating the archived model on the archived batch gives.
  IntegrateOptions opt;
  opt.stepper = Stepper::kDopri5;
  opt.abs_tol = 1e-8;
  Trajectory again;
  REQUIRE(Integrate(*model, batch, opt, &again).ok());
  CHECK((again.states.back() - traj.states.back()).norm() == 0.0);
  fs::remove_all(dir);
}

TEST_CASE("ctrnn gradient writes the loss and gradient and checks them", "[cli][adjoint]") {
  const fs::path dir = TempDir();
  const fs::path cfg = dir / "small.toml";
  std::ofstream(cfg) << "seed = 2\n[model]\nkind = \"nm_rnn\"\nN = 16\nM = 3\nR = 2\n";
  for (const char* method : {"discrete", "interpolating"}) {
    const std::string out = (dir / (std::string(method) + ".h5")).string();
    Result r = Run("gradient " + cfg.string() + " -o " + out + " --check --method " + method +
                   (std::string(method) == "interpolating" ? " --stepper dopri5" : ""));
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.output, Contains("worst relative error against central differences"));
    // The check's worst error is printed; parse and bound it.
    const size_t at = r.output.find("central differences ") + 20;
    const double worst = std::stod(r.output.substr(at));
    CHECK(worst < (std::string(method) == "discrete" ? 1e-7 : 1e-4));
    const std::string script = std::string(CTRNN_SOURCE_DIR) + "/tests/check_gradient_h5py.py";
    const int raw = std::system(("/usr/bin/python3 " + script + " " + out).c_str());
    CHECK(WIFEXITED(raw));
    CHECK(WEXITSTATUS(raw) == 0);
  }
  const fs::path lstm = dir / "lstm.toml";
  std::ofstream(lstm) << "[model]\nkind = \"lstm\"\nN = 4\n";
  Result r = Run("gradient " + lstm.string() + " -o " + (dir / "x.h5").string() +
                 " --method interpolating");
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains("discrete"));
  r = Run("gradient -o " + (dir / "x.h5").string() + " --method backsolve");
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains("gradient.method = \"backsolve\""));
  CHECK_FALSE(fs::exists(dir / "x.h5"));
  fs::remove_all(dir);
}

TEST_CASE("a training run killed with SIGKILL resumes to the uninterrupted numbers",
          "[cli][train]") {
  const fs::path dir = TempDir();
  const fs::path cfg = dir / "run.toml";
  std::ofstream(cfg) << "seed = 4\n[model]\nkind = \"nm_rnn\"\nN = 20\nM = 3\nR = 2\n[task]\n"
                        "name = \"mwg\"\n[train]\ncheckpoint_every = 25\nlog_every = 25\n"
                        "[stage.all]\niterations = 400\n[stage.all.optimizer]\nkind = "
                        "\"adamw\"\nlr = 0.01\nclip_value = 1.0\n";
  const std::string full = (dir / "full.h5").string(), killed = (dir / "killed.h5").string();
  REQUIRE(Run("train " + cfg.string() + " -o " + full).status == 0);
  // Start a second run, wait for its first checkpoint, and kill it.
  const std::string kill_cmd = "sh -c '" + std::string(CTRNN_BINARY) + " train " + cfg.string() +
                               " -o " + killed + " >/dev/null 2>&1 & pid=$!; while [ ! -f " +
                               killed + " ]; do sleep 0.005; done; kill -9 $pid; wait $pid'";
  std::system(kill_cmd.c_str());
  REQUIRE(fs::exists(killed));
  const TrainState partial = ReadTrainState(killed);
  INFO("killed at iteration " << partial.iteration);
  CHECK(partial.iteration < 400);
  CHECK(partial.iteration % 25 == 0);
  // No half-written temporary file is left next to it except the dead writer's debris.
  Result resumed = Run("train --resume " + killed);
  INFO(resumed.output);
  REQUIRE(resumed.status == 0);
  CHECK(ReadModel(killed)->theta() == ReadModel(full)->theta());
  CHECK(ReadTrainState(killed).curve_loss == ReadTrainState(full).curve_loss);
  fs::remove_all(dir);
}

TEST_CASE("ctrnn train runs a parity curriculum on two threads and archives it", "[cli]") {
  const fs::path dir = TempDir();
  const fs::path cfg = dir / "parity.toml";
  std::ofstream(cfg)
      << "seed = 2\n[model]\nkind = \"discrete_rnn\"\nN = 6\nnum_heads = 3\n"
         "[task]\nname = \"parity\"\nnum_heads = 3\n[train]\nbatch_mode = \"fresh\"\n"
         "batch_size = 8\nlog_every = 5\n[stage.all]\niterations = 12\n"
         "[stage.all.optimizer]\nkind = \"sgd\"\nlr = 0.05\n[curriculum]\n"
         "kind = \"single\"\nthreshold = 0.0\nepoch_iterations = 4\n"
         "test_batches = 2\ntest_batch_size = 16\n";
  const std::string out = (dir / "parity.h5").string();
  Result r = Run("train " + cfg.string() + " -o " + out + " --threads 2");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Contains("N_max"));
  const TrainState state = ReadTrainState(out);
  CHECK(state.curriculum_ns == std::vector<int>{5});  // [2] -> [3] -> [4] -> [5]
  CHECK(state.epoch_n_max == std::vector<double>{2, 3, 4});
  REQUIRE(state.snapshots.size() == 3);
  CHECK(state.snapshots[2].first == "rnn_N4_N4");
  const std::string code =
      "import h5py, sys\n"
      "f = h5py.File(sys.argv[1], 'r')\n"
      "c = f['training/curriculum']\n"
      "assert list(c['n_max'][()]) == [2, 3, 4], c['n_max'][()]\n"
      "assert sorted(c['snapshots']) == ['rnn_N2_N2', 'rnn_N3_N3', 'rnn_N4_N4']\n"
      "assert f['config'].attrs['gradient.threads'] == 2\n";
  const std::string script = (dir / "check.py").string();
  std::ofstream(script) << code;
  const int raw = std::system(("/usr/bin/python3 " + script + " " + out).c_str());
  CHECK(WIFEXITED(raw));
  CHECK(WEXITSTATUS(raw) == 0);
  fs::remove_all(dir);
}

TEST_CASE("ctrnn sweep trains configs x seeds once, skips finished runs, names bad seeds",
          "[cli]") {
  const fs::path dir = TempDir();
  const fs::path cfg = dir / "tiny.toml";
  std::ofstream(cfg) << "[model]\nkind = \"ctrnn\"\nN = 5\ninput_size = 3\n[task]\nname = \"mwg\"\n"
                        "[stage.all]\niterations = 20\n";
  const std::string runs = (dir / "runs").string();
  Result r = Run("sweep " + cfg.string() + " --seeds 0-1 -j 2 -d " + runs);
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Contains("2 new") && Contains("2 runs in"));
  // The same numbers as a direct `ctrnn train --seed 1`.
  const std::string direct = (dir / "direct.h5").string();
  REQUIRE(Run("train " + cfg.string() + " --seed 1 -o " + direct).status == 0);
  CHECK(ReadModel(runs + "/tiny_seed1.h5")->theta() == ReadModel(direct)->theta());
  CHECK(ReadModel(runs + "/tiny_seed0.h5")->theta() != ReadModel(direct)->theta());
  Result again = Run("sweep " + cfg.string() + " --seeds 0-1 -d " + runs);
  INFO(again.output);
  CHECK(again.status == 0);
  CHECK_THAT(again.output, Contains("2 done") && Contains("0 runs in"));
  // --iterations shortens every new run, exactly as `ctrnn train --iterations`.
  const std::string short_runs = (dir / "short").string();
  REQUIRE(Run("sweep " + cfg.string() + " --seeds 1 --iterations 5 -d " + short_runs).status == 0);
  const std::string direct5 = (dir / "direct5.h5").string();
  REQUIRE(Run("train " + cfg.string() + " --seed 1 --iterations 5 -o " + direct5).status == 0);
  CHECK(ReadModel(short_runs + "/tiny_seed1.h5")->theta() == ReadModel(direct5)->theta());
  CHECK(ReadModel(direct5)->theta() != ReadModel(direct)->theta());
  Result bad = Run("sweep " + cfg.string() + " --seeds 3-1 -d " + runs);
  CHECK(bad.status == 2);
  CHECK_THAT(bad.output, Contains("--seeds = \"3-1\""));
  fs::remove_all(dir);
}

TEST_CASE("ctrnn evaluate: s_k ablation and the trained network as an ODE", "[cli]") {
  const fs::path dir = TempDir();
  std::ofstream(dir / "nm.toml") << "seed = 2\n[model]\nkind = \"nm_rnn\"\nN = 12\nM = 4\nR = 3\n"
                                    "[task]\nname = \"mwg\"\n[stage.all]\niterations = 3\n";
  const std::string run = (dir / "nm.h5").string();
  REQUIRE(Run("train " + (dir / "nm.toml").string() + " -o " + run).status == 0);
  auto loss = [](const std::string& path) {
    const std::optional<ArchiveGroup> evaluation = ReadGroup(path, "evaluation");
    REQUIRE(evaluation);
    for (const auto& [name, value] : evaluation->attributes) {
      if (name == "loss") return std::get<double>(value);
    }
    return -1.0;
  };
  const std::string plain = (dir / "plain.h5").string();
  REQUIRE(Run("evaluate " + run + " --set extrapolation -o " + plain).status == 0);
  // s_1 ≡ 0 in every trial and bin; the other components still move; the loss changes.
  const std::string ablated = (dir / "ablated.h5").string();
  Result r = Run("evaluate " + run + " --set extrapolation --clamp-s 1=0 -o " + ablated);
  INFO(r.output);
  REQUIRE(r.status == 0);
  std::vector<std::size_t> shape;
  const std::vector<double> s = ReadDoubleArray(ablated, "trajectories/s", &shape);
  REQUIRE(shape.size() == 3);
  REQUIRE(shape[2] == 3);
  double max_s1 = 0.0, max_s0 = 0.0;
  for (std::size_t i = 0; i < s.size(); i += 3) {
    max_s0 = std::max(max_s0, std::abs(s[i]));
    max_s1 = std::max(max_s1, std::abs(s[i + 1]));
  }
  CHECK(max_s1 == 0.0);
  CHECK(max_s0 > 0.0);
  CHECK(loss(ablated) != loss(plain));
  const std::string ode = (dir / "ode.h5").string();
  REQUIRE(Run("evaluate " + run + " --stepper rk4 --dt 0.25 -o " + ode).status == 0);
  const std::string euler = (dir / "euler.h5").string();
  REQUIRE(Run("evaluate " + run + " -o " + euler).status == 0);
  CHECK(loss(ode) > 0.0);
  CHECK(loss(ode) != loss(euler));
  CHECK_THAT(Run("info " + ode).output, Contains("rk4"));
  Result bad = Run("evaluate " + run + " --clamp-s 5=0 -o " + (dir / "bad.h5").string());
  CHECK(bad.status == 2);
  CHECK_THAT(bad.output, Contains("clamped_s (5, 0"));
  Result garbled = Run("evaluate " + run + " --clamp-s 1:0 -o " + (dir / "bad.h5").string());
  CHECK(garbled.status == 2);
  CHECK_THAT(garbled.output, Contains("--clamp-s = \"1:0\""));
  CHECK_FALSE(fs::exists(dir / "bad.h5"));
  fs::remove_all(dir);
}

TEST_CASE("ctrnn train [init] from: retraining with a new input channel", "[cli]") {
  const fs::path dir = TempDir();
  const std::string model = "[model]\nkind = \"low_rank\"\nN = 8\nR = 2\noutput_size = 3\n";
  std::ofstream(dir / "a.toml") << "seed = 4\n"
                                << model << "input_size = 6\n"
                                << "[task]\nname = \"multitask\"\n[train]\nbatch_mode = "
                                   "\"fresh\"\nbatch_size = 8\n[stage.all]\niterations = 3\n";
  const std::string trained = (dir / "a_seed4.h5").string();
  REQUIRE(Run("train " + (dir / "a.toml").string() + " -o " + trained).status == 0);
  std::ofstream(dir / "b.toml") << "seed = 4\n"
                                << model << "input_size = 7\n"
                                << "[task]\nname = \"multitask\"\nset = \"retrain\"\n[init]\n"
                                << "from = \"{dir}/a_seed{seed}.h5\"\n"  // the output's directory
                                << "new_columns = 0.1\n[train]\nbatch_mode = \"fresh\"\n"
                                   "batch_size = 8\n[stage.all]\niterations = 2\n"
                                   "trainable = [\"C\"]\n";
  const std::string retrained = (dir / "b.h5").string();
  Result r = Run("train " + (dir / "b.toml").string() + " -o " + retrained);
  INFO(r.output);
  REQUIRE(r.status == 0);
  const auto before = ReadModel(trained);
  const auto after = ReadModel(retrained);
  CHECK(after->Param("U") == before->Param("U"));
  CHECK(after->Param("B").leftCols(6) == before->Param("B"));
  CHECK((after->Param("B").col(6).array() == 0.1).all());
  CHECK(after->Param("C") != before->Param("C"));  // the one trainable block moved
  std::ofstream(dir / "c.toml") << "seed = 4\n[model]\nkind = \"low_rank\"\nN = 9\nR = 2\n"
                                << "output_size = 3\ninput_size = 7\n[task]\nname = "
                                   "\"multitask\"\nset = \"retrain\"\n[init]\nfrom = \""
                                << trained << "\"\n";
  Result bad = Run("train " + (dir / "c.toml").string() + " -o " + (dir / "c.h5").string());
  CHECK(bad.status == 2);
  CHECK_THAT(bad.output, Contains("init.from") && Contains("block 'U' is 8 x 2 there"));
  fs::remove_all(dir);
}

TEST_CASE("ctrnn names a bad config key and value and writes nothing", "[cli]") {
  const fs::path dir = TempDir();
  const std::string out = (dir / "bad.h5").string();
  const fs::path typo = dir / "typo.toml";
  std::ofstream(typo) << "[model]\nkind = \"nm_rnn\"\nNN = 100\n";
  Result r = Run("simulate " + typo.string() + " -o " + out);
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains("unknown key model.NN"));
  const fs::path range = dir / "range.toml";
  std::ofstream(range) << "[model]\nkind = \"nm_rnn\"\ntau_x = -1.0\n";
  r = Run("simulate " + range.string() + " -o " + out);
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains("model.tau_x = -1"));
  r = Run("simulate -o " + out + " --stepper leapfrog");
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains("integrator.stepper = \"leapfrog\""));
  CHECK_FALSE(fs::exists(out));
  r = Run("info " + (dir / "missing.h5").string());
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains("missing.h5"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ctrnn
