// The HDF5 run archive (lib/archive.h): round trips for every model kind, the
// batch and the trajectory; the on-disk layout as h5py sees it; and the errors
// for missing, foreign, damaged and tampered files, and for failed writes.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <H5Cpp.h>
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/archive.h"
#include "lib/models/factory.h"
#include "lib/version.h"

namespace ctrnn {
namespace {

namespace fs = std::filesystem;
using Catch::Contains;

// A fresh directory under the system temp folder, removed with everything in it
// at scope exit.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("ctrnn_test_archive_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string File(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> Entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename());
    return out;
  }

 private:
  fs::path path_;
};

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool BitEqual(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && (a.array() == b.array()).all();
}

// A model built from a config, as a run would build it; the config stays alive
// beside it.
struct Run {
  explicit Run(const std::string& toml) : config(Config::ParseString(toml, "test")) {
    model = MakeModel(&config.Sub("model"), 7);
  }
  void Randomize() {
    model->SetTheta(Eigen::VectorXd::Random(model->num_params()));
    model->set_initial_state(Eigen::VectorXd::Random(model->state_size()));
  }
  RunRecord Record() {
    RunRecord r;
    r.command = "ctrnn test --flag";
    r.seed = 7;
    r.config = &config;
    r.model_config = &config.Sub("model");
    r.model = model.get();
    return r;
  }

  Config config;
  std::unique_ptr<Model> model;
};

std::string ModelToml(const std::string& kind) { return "[model]\nkind = \"" + kind + "\"\n"; }

Batch RandomBatch(Eigen::Index trials, Eigen::Index bins, Eigen::Index u, Eigen::Index o) {
  Batch b;
  b.bin_edges.push_back(0.0);
  for (Eigen::Index k = 0; k < bins; ++k) {
    b.bin_edges.push_back(b.bin_edges.back() + 0.5 + static_cast<double>(k));
    b.inputs.push_back(Eigen::MatrixXd::Random(u, trials));
    b.targets.push_back(Eigen::MatrixXd::Random(o, trials));
    b.mask.push_back((Eigen::MatrixXd::Random(o, trials).array() > 0).cast<double>());
  }
  return b;
}

Trajectory RandomTrajectory(const Model& m, Eigen::Index trials, Eigen::Index times) {
  Trajectory tr;
  for (Eigen::Index t = 0; t < times; ++t) {
    tr.times.push_back(0.25 * static_cast<double>(t));
    tr.states.push_back(Eigen::MatrixXd::Random(m.state_size(), trials));
    tr.outputs.push_back(Eigen::MatrixXd::Random(m.output_size(), trials));
    tr.extras["s"].push_back(Eigen::MatrixXd::Random(2, trials));
  }
  for (Eigen::Index t = 0; t < times; t += 2) tr.edge_index.push_back(t);
  return tr;
}

std::string StringAttr(const H5::H5Object& obj, const std::string& name) {
  H5::Attribute a = obj.openAttribute(name);
  std::string s;
  a.read(a.getStrType(), s);
  return s;
}

template <typename T>
T NumberAttr(const H5::H5Object& obj, const std::string& name, const H5::PredType& type) {
  T v{};
  obj.openAttribute(name).read(type, &v);
  return v;
}

TEST_CASE("every model kind round-trips bit for bit", "[io]") {
  TempDir dir;
  for (const std::string& kind : ModelKinds()) {
    SECTION(kind) {
      Run run(ModelToml(kind));
      run.Randomize();
      const std::string path = dir.File(kind + ".h5");
      WriteRun(path, run.Record());
      REQUIRE_NOTHROW(CheckRunFile(path));

      std::unique_ptr<Model> back = ReadModel(path);
      CHECK(back->kind() == kind);
      CHECK(back->num_params() == run.model->num_params());
      CHECK(BitEqual(back->theta(), run.model->theta()));
      CHECK(BitEqual(back->initial_state(), run.model->initial_state()));
      CHECK(dir.Entries().size() == 1);  // no temp file left behind

      // Every block has its mathematical shape, and h5py's W[i, j] is C++'s
      // W(i, j).
      H5::H5File file(path, H5F_ACC_RDONLY);
      for (const ParamBlock& b : run.model->layout().blocks()) {
        INFO("block " << b.name);
        H5::DataSet ds = file.openDataSet("/model/params/" + b.name);
        H5::DataSpace space = ds.getSpace();
        REQUIRE(space.getSimpleExtentNdims() == static_cast<int>(b.shape.size()));
        std::vector<hsize_t> dims(b.shape.size());
        space.getSimpleExtentDims(dims.data());
        for (size_t i = 0; i < dims.size(); ++i) {
          CHECK(dims[i] == static_cast<hsize_t>(b.shape[i]));
        }
        std::vector<double> data(static_cast<size_t>(b.size()));
        ds.read(data.data(), H5::PredType::NATIVE_DOUBLE);
        const Eigen::MatrixXd w = run.model->Param(b.name);
        int mismatches = 0;
        for (Eigen::Index i = 0; i < b.rows(); ++i) {
          for (Eigen::Index j = 0; j < b.cols(); ++j) {
            mismatches += data[static_cast<size_t>(i * b.cols() + j)] != w(i, j);
          }
        }
        CHECK(mismatches == 0);
        CHECK(StringAttr(ds, "meaning") == b.meaning);
      }
      H5::Group model = file.openGroup("/model");
      CHECK(StringAttr(model, "kind") == kind);
      CHECK(NumberAttr<std::int64_t>(model, "num_params", H5::PredType::NATIVE_INT64) ==
            run.model->num_params());
    }
  }
}

TEST_CASE("meta and config are self-describing", "[io]") {
  TempDir dir;
  Run run(ModelToml("nm_rnn") +
          "N = 12\n\n[train]\nlr = 0.01\nsteps = 5\nverbose = true\nname = "
          "\"mwg\"\n");
  Config& train = run.config.Sub("train");
  CHECK(train.GetDouble("lr", 0.1, 0.0, 1.0) == 0.01);
  CHECK(train.GetInt("steps", 1, 1, 100) == 5);
  CHECK(train.GetBool("verbose", false));
  CHECK(train.GetString("name", "") == "mwg");
  RunRecord record = run.Record();
  record.seed = 18446744073709551615ull;
  record.extra_meta = {{"wall_clock_s", 1.5}, {"host", std::string("ci")}, {"steps_done", 3}};
  const std::string path = dir.File("run.h5");
  WriteRun(path, record);

  H5::H5File file(path, H5F_ACC_RDONLY);
  H5::Group meta = file.openGroup("/meta");
  CHECK(StringAttr(meta, "format") == "ctrnn-run");
  CHECK(NumberAttr<std::int64_t>(meta, "format_version", H5::PredType::NATIVE_INT64) == 1);
  CHECK(StringAttr(meta, "version") == Version());
  CHECK(StringAttr(meta, "git_revision") == GitRevision());
  CHECK(NumberAttr<std::uint64_t>(meta, "seed", H5::PredType::NATIVE_UINT64) ==
        18446744073709551615ull);
  CHECK(StringAttr(meta, "command") == "ctrnn test --flag");
  const std::string date = StringAttr(meta, "date");
  CHECK(date.size() == 20);
  CHECK(date[10] == 'T');
  CHECK(date.back() == 'Z');
  CHECK(NumberAttr<double>(meta, "wall_clock_s", H5::PredType::NATIVE_DOUBLE) == 1.5);
  CHECK(StringAttr(meta, "host") == "ci");
  CHECK(NumberAttr<std::int64_t>(meta, "steps_done", H5::PredType::NATIVE_INT64) == 3);
  // Strings are variable-length UTF-8.
  H5::StrType type = meta.openAttribute("command").getStrType();
  CHECK(type.isVariableStr());
  CHECK(type.getCset() == H5T_CSET_UTF8);

  H5::Group config = file.openGroup("/config");
  CHECK(StringAttr(config, "toml") == run.config.ToToml());
  CHECK(StringAttr(config, "model.kind") == "nm_rnn");
  CHECK(NumberAttr<std::int64_t>(config, "model.N", H5::PredType::NATIVE_INT64) == 12);
  CHECK(NumberAttr<double>(config, "train.lr", H5::PredType::NATIVE_DOUBLE) == 0.01);
  CHECK(NumberAttr<std::int64_t>(config, "train.steps", H5::PredType::NATIVE_INT64) == 5);
  CHECK(config.openAttribute("train.verbose").getDataType() == H5::PredType::STD_I8LE);
  CHECK(NumberAttr<std::int8_t>(config, "train.verbose", H5::PredType::NATIVE_INT8) == 1);
  CHECK(StringAttr(config, "train.name") == "mwg");

  // The stored model table rebuilds the same model (N = 12, not the default).
  CHECK(ReadModel(path)->state_size() == run.model->state_size());
}

TEST_CASE("batch and trajectory round-trip as [trial, time, unit]", "[io]") {
  TempDir dir;
  Run run(ModelToml("nm_rnn") + "N = 6\nM = 3\n");
  run.Randomize();
  const Batch batch = RandomBatch(3, 4, 2, 1);
  const Trajectory traj = RandomTrajectory(*run.model, 3, 5);
  RunRecord record = run.Record();
  record.batch = &batch;
  record.trajectory = &traj;

  for (int gzip : {0, 4}) {
    DYNAMIC_SECTION("gzip " << gzip) {
      record.gzip_level = gzip;
      const std::string path = dir.File("run.h5");
      WriteRun(path, record);

      const Batch b = ReadBatch(path);
      CHECK(b.bin_edges == batch.bin_edges);
      REQUIRE(b.num_bins() == batch.num_bins());
      REQUIRE(b.targets.size() == batch.targets.size());
      REQUIRE(b.mask.size() == batch.mask.size());
      for (size_t k = 0; k < batch.inputs.size(); ++k) {
        CHECK(BitEqual(b.inputs[k], batch.inputs[k]));
        CHECK(BitEqual(b.targets[k], batch.targets[k]));
        CHECK(BitEqual(b.mask[k], batch.mask[k]));
      }

      const std::unique_ptr<Model> model = ReadModel(path);
      const Trajectory t = ReadTrajectory(path, *model);
      CHECK(t.times == traj.times);
      CHECK(t.edge_index == traj.edge_index);
      REQUIRE(t.states.size() == traj.states.size());
      REQUIRE(t.outputs.size() == traj.outputs.size());
      for (size_t k = 0; k < traj.states.size(); ++k) {
        CHECK(BitEqual(t.states[k], traj.states[k]));
        CHECK(BitEqual(t.outputs[k], traj.outputs[k]));
      }
      REQUIRE(t.extras.size() == 1);
      REQUIRE(t.extras.at("s").size() == traj.extras.at("s").size());
      for (size_t k = 0; k < traj.times.size(); ++k) {
        CHECK(BitEqual(t.extras.at("s")[k], traj.extras.at("s")[k]));
      }

      // The layout an h5py user sees: inputs[b, k, u] = inputs[k](u, b), x[b,
      // t, i] = x_i(t).
      H5::H5File file(path, H5F_ACC_RDONLY);
      H5::DataSet inputs = file.openDataSet("/batch/inputs");
      std::vector<hsize_t> dims(3);
      inputs.getSpace().getSimpleExtentDims(dims.data());
      CHECK(dims == std::vector<hsize_t>{3, 4, 2});
      std::vector<double> u(3 * 4 * 2);
      inputs.read(u.data(), H5::PredType::NATIVE_DOUBLE);
      CHECK(u[(2 * 4 + 1) * 2 + 1] == batch.inputs[1](1, 2));
      H5::DataSet x = file.openDataSet("/trajectories/x");
      x.getSpace().getSimpleExtentDims(dims.data());
      CHECK(dims == std::vector<hsize_t>{3, 5, 6});
      std::vector<double> xs(3 * 5 * 6);
      x.read(xs.data(), H5::PredType::NATIVE_DOUBLE);
      CHECK(xs[(1 * 5 + 4) * 6 + 2] == traj.states[4](3 + 2, 1));  // x follows z (M = 3)
      CHECK(x.getCreatePlist().getNfilters() == (gzip > 0 ? 1 : 0));

      const std::string text = DescribeRun(path);
      CHECK_THAT(text, Contains("nm_rnn"));
      CHECK_THAT(text, Contains("seed 7"));
      CHECK_THAT(text, Contains("batch: 4 bins") && Contains("(3, 4, 2)"));
      CHECK_THAT(text, Contains("trajectories: 5 times"));
      CHECK_THAT(text, Contains("(3, 5, 6)"));
      CHECK_THAT(text, Contains("ctrnn test --flag"));
    }
  }
}

TEST_CASE("a batch without targets or mask, and long attribute arrays", "[io]") {
  TempDir dir;
  Run run(ModelToml("ctrnn") + "N = 2\n");
  Batch batch = RandomBatch(2, 3, 1, 1);
  batch.targets.clear();
  batch.mask.clear();
  // 9000 recorded times: the `times` attribute (72 KB) exceeds HDF5's
  // compact-attribute limit.
  const Trajectory traj = RandomTrajectory(*run.model, 1, 9000);
  RunRecord record = run.Record();
  record.batch = &batch;
  record.trajectory = &traj;
  const std::string path = dir.File("run.h5");
  WriteRun(path, record);
  const Batch b = ReadBatch(path);
  CHECK(b.targets.empty());
  CHECK(b.mask.empty());
  CHECK(BitEqual(b.inputs[2], batch.inputs[2]));
  const Trajectory t = ReadTrajectory(path, *ReadModel(path));
  CHECK(t.times == traj.times);
  CHECK(BitEqual(t.states[8999], traj.states[8999]));
}

TEST_CASE("a run without a model", "[io]") {
  TempDir dir;
  Config config = Config::ParseString("[task]\nT = 3\n", "test");
  config.Sub("task").GetInt("T", 1, 1, 10);
  const Batch batch = RandomBatch(2, 3, 1, 1);
  RunRecord record;
  record.config = &config;
  record.batch = &batch;
  const std::string path = dir.File("run.h5");
  WriteRun(path, record);
  CHECK_NOTHROW(CheckRunFile(path));
  CHECK(BitEqual(ReadBatch(path).targets[1], batch.targets[1]));
  CHECK_THAT(DescribeRun(path), Contains("model: none"));
  REQUIRE_THROWS_AS(ReadModel(path), std::runtime_error);
  CHECK_THROWS_WITH(ReadModel(path), Contains(path) && Contains("/model: missing"));
  CHECK_THROWS_WITH(ReadTrajectory(path, *Run(ModelToml("ctrnn")).model),
                    Contains(path) && Contains("/trajectories: missing"));
}

TEST_CASE("reading rejects missing, foreign, damaged and tampered files", "[io]") {
  TempDir dir;
  Run run(ModelToml("nm_rnn") + "N = 5\n");
  run.Randomize();
  const std::string good = dir.File("good.h5");
  WriteRun(good, run.Record());
  const std::string good_bytes = ReadBytes(good);

  SECTION("missing file") {
    const std::string path = dir.File("nope.h5");
    CHECK_THROWS_WITH(CheckRunFile(path), "cannot open '" + path + "': no such file");
    CHECK_THROWS_WITH(ReadModel(path), "cannot open '" + path + "': no such file");
    CHECK_THROWS_WITH(ReadBatch(path), "cannot open '" + path + "': no such file");
    CHECK_THROWS_WITH(DescribeRun(path), "cannot open '" + path + "': no such file");
  }
  SECTION("not HDF5") {
    const std::string path = dir.File("notes.h5");
    std::ofstream(path) << "model = 3\n";
    CHECK_THROWS_WITH(ReadModel(path), "cannot open '" + path + "': not an HDF5 file");
  }
  SECTION("truncated run") {
    const std::string path = dir.File("truncated.h5");
    fs::copy_file(good, path);
    fs::resize_file(path, fs::file_size(path) / 2);
    CHECK_THROWS_WITH(CheckRunFile(path),
                      Contains("cannot open '" + path + "'") && Contains("truncated"));
    CHECK_THROWS_AS(ReadModel(path), std::runtime_error);
  }
  SECTION("foreign HDF5 without /meta") {
    const std::string path = dir.File("foreign.h5");
    {
      H5::H5File f(path, H5F_ACC_TRUNC);
      f.createGroup("/data");
    }
    CHECK_THROWS_WITH(ReadModel(path), "'" + path + "': /meta: missing (not a ctrnn run file?)");
  }
  SECTION("foreign HDF5 with another format") {
    const std::string path = dir.File("other.h5");
    {
      H5::H5File f(path, H5F_ACC_TRUNC);
      H5::Group meta = f.createGroup("/meta");
      H5::StrType type(H5::PredType::C_S1, 5);
      meta.createAttribute("format", type, H5::DataSpace(H5S_SCALAR))
          .write(type, std::string("other"));
    }
    CHECK_THROWS_WITH(
        CheckRunFile(path),
        Contains("'" + path + "': /meta: format = \"other\"") && Contains("not a ctrnn run file"));
  }
  SECTION("newer format_version") {
    {
      H5::H5File f(good, H5F_ACC_RDWR);
      H5::Attribute a = f.openGroup("/meta").openAttribute("format_version");
      const std::int64_t two = 2;
      a.write(H5::PredType::NATIVE_INT64, &two);
    }
    CHECK_THROWS_WITH(ReadModel(good), Contains(good) && Contains("format_version = 2"));
  }
  SECTION("parameter of the wrong shape") {
    const ParamBlock& b = run.model->layout().Find("C");  // O x N readout
    REQUIRE(b.shape.size() == 2);
    {
      H5::H5File f(good, H5F_ACC_RDWR);
      H5::Group params = f.openGroup("/model/params");
      params.unlink("C");
      const hsize_t dims[2] = {static_cast<hsize_t>(b.rows()), static_cast<hsize_t>(b.cols() + 1)};
      H5::DataSet ds = params.createDataSet("C", H5::PredType::IEEE_F64LE, H5::DataSpace(2, dims));
      std::vector<double> zeros(dims[0] * dims[1], 0.0);
      ds.write(zeros.data(), H5::PredType::NATIVE_DOUBLE);
    }
    const std::string actual =
        "(" + std::to_string(b.rows()) + ", " + std::to_string(b.cols() + 1) + ")";
    const std::string expected =
        "(" + std::to_string(b.rows()) + ", " + std::to_string(b.cols()) + ")";
    CHECK_THROWS_WITH(ReadModel(good),
                      Contains("'" + good + "': /model/params/C: has shape " + actual) &&
                          Contains("expects " + expected));
  }
  SECTION("missing parameter block") {
    {
      H5::H5File f(good, H5F_ACC_RDWR);
      f.openGroup("/model/params").unlink("C");
    }
    CHECK_THROWS_WITH(ReadModel(good), "'" + good + "': /model/params/C: missing");
  }
  SECTION("unknown parameter block") {
    {
      H5::H5File f(good, H5F_ACC_RDWR);
      f.openGroup("/model/params").link(H5L_TYPE_HARD, "U", "W_extra");
    }
    CHECK_THROWS_WITH(ReadModel(good),
                      Contains("'" + good +
                               "': /model/params/W_extra: is not a parameter of "
                               "the nm_rnn model"));
  }
  SECTION("missing /model") {
    {
      H5::H5File f(good, H5F_ACC_RDWR);
      f.unlink("/model");
    }
    CHECK_NOTHROW(CheckRunFile(good));
    CHECK_THROWS_WITH(ReadModel(good),
                      "'" + good + "': /model: missing (this run file stores no model)");
  }
  SECTION("the untouched file still reads") {
    CHECK(ReadBytes(good) == good_bytes);
    CHECK(BitEqual(ReadModel(good)->theta(), run.model->theta()));
  }
}

TEST_CASE("a failed write leaves an existing file untouched", "[io]") {
  TempDir dir;
  Run run(ModelToml("low_rank") + "N = 4\n");
  const std::string path = dir.File("run.h5");
  WriteRun(path, run.Record());
  const std::string before = ReadBytes(path);

  SECTION("model without model_config") {
    RunRecord r = run.Record();
    r.model_config = nullptr;
    CHECK_THROWS_AS(WriteRun(path, r), std::invalid_argument);
  }
  SECTION("no config") {
    RunRecord r = run.Record();
    r.config = nullptr;
    CHECK_THROWS_WITH(WriteRun(path, r), Contains(path) && Contains("config is null"));
  }
  SECTION("trajectory without model") {
    const Trajectory traj = RandomTrajectory(*run.model, 1, 2);
    RunRecord r = run.Record();
    r.trajectory = &traj;
    r.model = nullptr;
    r.model_config = nullptr;
    CHECK_THROWS_AS(WriteRun(path, r), std::invalid_argument);
  }
  SECTION("inconsistent batch") {
    Batch batch = RandomBatch(2, 3, 1, 1);
    batch.bin_edges.pop_back();
    RunRecord r = run.Record();
    r.batch = &batch;
    CHECK_THROWS_WITH(WriteRun(path, r), Contains(path) && Contains("bin edges"));
  }
  SECTION("a reserved meta name") {
    RunRecord r = run.Record();
    r.extra_meta = {{"seed", std::int64_t{3}}};
    CHECK_THROWS_WITH(WriteRun(path, r), Contains("'seed'"));
  }
  SECTION("the target is a directory: the rename fails after a complete write") {
    const std::string target = dir.File("a_directory");
    fs::create_directories(fs::path(target) / "inside");
    CHECK_THROWS_WITH(WriteRun(target, run.Record()),
                      Contains("cannot write '" + target + "'") && Contains("rename"));
    CHECK(fs::is_directory(fs::path(target) / "inside"));
  }
  SECTION("the directory does not exist") {
    const std::string missing = dir.File("no_such_dir") + "/run.h5";
    CHECK_THROWS_WITH(WriteRun(missing, run.Record()), Contains("cannot write '" + missing + "'"));
    CHECK_FALSE(fs::exists(dir.File("no_such_dir")));
  }
  CHECK(ReadBytes(path) == before);
  for (const std::string& name : dir.Entries()) {
    CHECK(name.find(".tmp-") == std::string::npos);
  }
}

TEST_CASE("a second write replaces the file atomically", "[io]") {
  TempDir dir;
  Run run(ModelToml("ctrnn") + "N = 3\n");
  const std::string path = dir.File("run.h5");
  run.Randomize();
  WriteRun(path, run.Record());
  run.Randomize();
  WriteRun(path, run.Record());
  CHECK(BitEqual(ReadModel(path)->theta(), run.model->theta()));
  CHECK(dir.Entries() == std::vector<std::string>{"run.h5"});
}

TEST_CASE("groups are added to an existing run file, atomically, with typed N-d arrays", "[io]") {
  TempDir dir;
  Run run(ModelToml("ctrnn") + "N = 3\n");
  run.Randomize();
  const std::string path = dir.File("run.h5");
  const Trajectory tr = RandomTrajectory(*run.model, 2, 4);
  RunRecord record = run.Record();
  record.trajectory = &tr;
  WriteRun(path, record);

  ArchiveGroup fp;
  fp.name = "fixed_points";
  fp.attributes = {{"convention", std::string("-1/Re(lambda)")}, {"n", std::int64_t{2}}};
  fp.vectors = {{"qstar", Eigen::Vector2d(1e-21, 3e-22)}};
  using Type = ArchiveArray::Type;
  fp.arrays = {{"xstar", {2, 3}, {1, 2, 3, 4, 5, 6}, Type::kFloat64},
               {"n_iters", {2}, {7, 9}, Type::kInt64},
               {"is_stable", {2}, {1, 0}, Type::kBool},
               {"eigval_J_xstar", {2, 1}, {-1, 0.5, -2, -0.5}, Type::kComplex128},
               {"dim", {}, {3}, Type::kInt64}};
  AddGroupsToRun(path, {fp}, false);

  const std::optional<ArchiveGroup> back = ReadGroup(path, "fixed_points");
  REQUIRE(back);
  CHECK(back->attributes == fp.attributes);
  REQUIRE(back->vectors.size() == 1);
  CHECK(BitEqual(back->vectors[0].second, fp.vectors[0].second));
  REQUIRE(back->arrays.size() == fp.arrays.size());
  for (size_t i = 0; i < fp.arrays.size(); ++i) {
    INFO(fp.arrays[i].name);
    CHECK(back->arrays[i].name == fp.arrays[i].name);
    CHECK(back->arrays[i].shape == fp.arrays[i].shape);
    CHECK(back->arrays[i].data == fp.arrays[i].data);
    CHECK(back->arrays[i].type == fp.arrays[i].type);
  }
  // Everything that was there is still there, bit for bit.
  CHECK(BitEqual(ReadModel(path)->theta(), run.model->theta()));
  CHECK(BitEqual(ReadTrajectory(path, *run.model).states[3], tr.states[3]));
  CHECK_THAT(DescribeRun(path), Contains("fixed_points"));
  CHECK(dir.Entries() == std::vector<std::string>{"run.h5"});

  SECTION("h5py reads complex128, bool and int64 without surprises") {
    const std::string code =
        "import h5py, numpy as np, sys\n"
        "g = h5py.File(sys.argv[1], 'r')['fixed_points']\n"
        "assert g['eigval_J_xstar'].dtype == np.complex128, g['eigval_J_xstar'].dtype\n"
        "assert g['eigval_J_xstar'][1, 0] == -2 - 0.5j\n"
        "assert g['is_stable'].dtype == np.bool_ and list(g['is_stable'][()]) == [True, False]\n"
        "assert g['n_iters'].dtype == np.int64 and g['xstar'].shape == (2, 3)\n"
        "assert g['xstar'][1, 0] == 4.0 and g['dim'][()] == 3\n";
    const std::string script = dir.File("check.py");
    std::ofstream(script) << code;
    const int raw = std::system(("/usr/bin/python3 " + script + " " + path).c_str());
    CHECK(WIFEXITED(raw));
    CHECK(WEXITSTATUS(raw) == 0);
  }
  SECTION("an existing group is replaced only when asked") {
    const std::string before = ReadBytes(path);
    CHECK_THROWS_WITH(AddGroupsToRun(path, {fp}, false),
                      Contains("/fixed_points") && Contains("exists already"));
    CHECK(ReadBytes(path) == before);
    fp.arrays.resize(1);
    fp.arrays[0].data[0] = -1;
    AddGroupsToRun(path, {fp}, true);
    const std::optional<ArchiveGroup> replaced = ReadGroup(path, "fixed_points");
    REQUIRE(replaced);
    REQUIRE(replaced->arrays.size() == 1);
    CHECK(replaced->arrays[0].data[0] == -1);
  }
  SECTION("nested names, and bad groups rejected before the file is touched") {
    ArchiveGroup nested;
    nested.name = "analysis/pca";
    nested.vectors = {{"explained", Eigen::Vector3d(0.7, 0.2, 0.1)}};
    AddGroupsToRun(path, {nested}, false);
    CHECK(ReadGroup(path, "analysis/pca"));
    const std::string before = ReadBytes(path);
    ArchiveGroup bad;
    bad.name = "model";
    CHECK_THROWS_AS(AddGroupsToRun(path, {bad}, true), std::invalid_argument);
    bad.name = "x";
    bad.arrays = {{"a", {2, 2}, {1, 2, 3}, Type::kFloat64}};
    CHECK_THROWS_WITH(AddGroupsToRun(path, {bad}, true), Contains("'a' has 3 values"));
    bad.arrays = {{"flag", {1}, {0.5}, Type::kBool}};
    CHECK_THROWS_AS(AddGroupsToRun(path, {bad}, true), std::invalid_argument);
    CHECK(ReadBytes(path) == before);
  }
  SECTION("a foreign or missing file is an error that names it and leaves it as it was") {
    const std::string foreign = dir.File("foreign.txt");
    std::ofstream(foreign) << "not hdf5";
    CHECK_THROWS_WITH(AddGroupsToRun(foreign, {fp}, true),
                      Contains("foreign.txt") && Contains("not an HDF5 file"));
    CHECK(ReadBytes(foreign) == "not hdf5");
    CHECK_THROWS_WITH(AddGroupsToRun(dir.File("missing.h5"), {fp}, true),
                      Contains("missing.h5") && Contains("no such file"));
  }
}

}  // namespace
}  // namespace ctrnn
