// End to end: `ctrnn timescales` and `ctrnn pca` add /timescales and /pca to a run file without
// disturbing the rest, and leave a file that lacks what they need byte-identical.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <variant>

#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/archive.h"
#include "lib/config.h"
#include "lib/models/factory.h"
#include "tests/cli_testing.h"

namespace ctrnn {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

using Result = testing::CommandResult;
Result Run(const std::string& args) { return testing::RunCtrnn(args); }

std::string Bytes(const std::string& path) { return testing::FileBytes(path); }

fs::path TempDir() {
  const fs::path dir =
      fs::temp_directory_path() / ("ctrnn_analysis_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

// A run file holding a small Variant A network and no trajectories.
void WriteDiscreteRun(const std::string& path) {
  Config root = Config::ParseString(
      "seed = 3\n[model]\nkind = 'discrete_rnn'\nN = 6\nnum_heads = 1\n", "test");
  const auto model = MakeModel(&root.Sub("model"), 3);
  RunRecord record;
  record.command = "test";
  record.seed = 3;
  record.config = &root;
  record.model_config = &root.Sub("model");
  record.model = model.get();
  WriteRun(path, record);
}

TEST_CASE("ctrnn timescales adds /timescales and keeps the rest", "[timescales][cli]") {
  const fs::path dir = TempDir();
  const std::string run = (dir / "variant_a.h5").string();
  WriteDiscreteRun(run);
  const Eigen::VectorXd theta = ReadModel(run)->theta();
  Result r = Run("timescales " + run + " --trials 2 --steps 4000 --threads 2");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Contains("wrote /timescales"));
  CHECK(ReadModel(run)->theta() == theta);
  const auto g = ReadGroup(run, "timescales");
  REQUIRE(g.has_value());
  bool has_tau = false, has_ac = false;
  for (const auto& [name, v] : g->vectors) {
    if (name == "tau_net") has_tau = v.size() == 6;
  }
  for (const auto& a : g->arrays) {
    if (a.name == "ac") has_ac = a.shape == std::vector<std::size_t>{6, 200};
  }
  CHECK(has_tau);
  CHECK(has_ac);
  // h5py reads the documented shapes and dtypes (data/SCHEMA.md).
  const std::string check =
      "/usr/bin/python3 -c \"import h5py, sys; f = h5py.File(sys.argv[1], 'r'); "
      "g = f['timescales']; "
      "assert g['ac'].shape == (6, 200) and g['tau_net'].shape == (6,); "
      "assert g['choice'].dtype == 'int64' and g['fit_double'].shape == (6, 4); "
      "assert g.attrs['trials'] == 2 and 'params' in f['model']\" " +
      run;
  CHECK(std::system(check.c_str()) == 0);

  // Running it again replaces /timescales (and nothing else).
  Result again = Run("timescales " + run + " --trials 1 --steps 1000");
  INFO(again.output);
  CHECK(again.status == 0);
  CHECK(ReadModel(run)->theta() == theta);
  const auto g2 = ReadGroup(run, "timescales");
  REQUIRE(g2.has_value());
  bool one_trial = false;
  for (const auto& [name, value] : g2->attributes) {
    if (name == "trials") one_trial = std::get<std::int64_t>(value) == 1;
  }
  CHECK(one_trial);
  fs::remove_all(dir);
}

TEST_CASE("analysis commands name what a file lacks and leave it byte-identical",
          "[timescales][pca][cli]") {
  const fs::path dir = TempDir();
  // No trajectories: pca refuses.
  const std::string bare = (dir / "bare.h5").string();
  WriteDiscreteRun(bare);
  std::string before = Bytes(bare);
  Result r = Run("pca " + bare);
  INFO(r.output);
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains(bare) && Contains("/trajectories"));
  CHECK(Bytes(bare) == before);

  // The default NM-RNN run has three input channels: not the parity input of §5.2.
  const std::string nm = (dir / "nm.h5").string();
  REQUIRE(Run("simulate -o " + nm).status == 0);
  before = Bytes(nm);
  r = Run("timescales " + nm + " --trials 1 --steps 1000");
  INFO(r.output);
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains(nm) && Contains("/model") && Contains("nm_rnn"));
  CHECK(Bytes(nm) == before);
  r = Run("pca " + nm + " --block w");
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Contains("--block w") && Contains("z, x"));
  CHECK(Bytes(nm) == before);

  // Not a run file at all.
  const std::string text = (dir / "notes.h5").string();
  std::ofstream(text) << "not HDF5\n";
  before = Bytes(text);
  for (const char* cmd : {"timescales ", "pca "}) {
    r = Run(cmd + text);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Contains(text));
    CHECK(Bytes(text) == before);
  }

  // PCA of the NM-RNN's x: /pca is added, the trajectories are untouched.
  r = Run("pca " + nm + " --block x --components 5");
  INFO(r.output);
  REQUIRE(r.status == 0);
  const auto g = ReadGroup(nm, "pca");
  REQUIRE(g.has_value());
  bool components = false;
  for (const auto& a : g->arrays) {
    if (a.name == "components") components = a.shape == std::vector<std::size_t>{5, 100};
  }
  CHECK(components);
  const auto model = ReadModel(nm);
  CHECK(ReadTrajectory(nm, *model).states.size() == 111);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ctrnn
