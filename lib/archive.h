// The HDF5 run archive: one self-describing file per run (DESIGN.md §3.10;
// every object is listed, with shapes, dtypes and an h5py example, in
// data/SCHEMA.md).
//
//   /meta          provenance: format, format_version, version, git_revision,
//   seed, date, command /config        the full resolved config: attribute
//   `toml` plus one attribute per dotted key /model         kind, sizes and
//   hyperparameters as attributes; params/<name> for every parameter
//                  block with its mathematical shape (h5py's W[i, j] is C++'s
//                  W(i, j)); initial_state (S,)
//   /batch         optional: inputs [trial, time, channel], targets and mask
//   [trial, time, output] /trajectories  optional: one dataset [trial, time,
//   unit] per state block, `y` for the outputs,
//                  one per extra (e.g. `s`), the recorded times as attributes
//
// A file is written atomically: everything goes to `path + ".tmp-<pid>"`, which
// is closed, flushed to disk and renamed over `path` only when complete. A
// crash or a failed write never leaves a half-written file and never touches an
// existing file at `path`.
//
//   RunRecord record;
//   record.command = "ctrnn train mwg.toml";
//   record.seed = 7;
//   record.config = &config;                       // the root, after the run
//   has read it record.model_config = &config.Sub("model"); record.model =
//   model.get(); WriteRun("data/runs/mwg.h5", record); std::unique_ptr<Model>
//   same = ReadModel("data/runs/mwg.h5");   // same kind, theta, x(t0)
//
// Failures: an invalid RunRecord throws std::invalid_argument before anything
// is written; every other failure (I/O, HDF5, a file that is missing, not HDF5,
// not a run file, or inconsistent) throws std::runtime_error naming the file
// and the HDF5 object. Calls are serialised by one internal mutex (the HDF5
// library is not thread-safe), so they may come from any thread.
#ifndef CTRNN_LIB_ARCHIVE_H_
#define CTRNN_LIB_ARCHIVE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/batch.h"
#include "lib/config.h"
#include "lib/model.h"

namespace ctrnn {

// /meta attribute `format` of every run file, and the layout version this
// library writes (and the newest it reads).
inline constexpr char kRunFormat[] = "ctrnn-run";
inline constexpr int kRunFormatVersion = 1;

// What WriteRun writes. Pointers are borrowed for the call only; null means
// "not in this run" where the field is optional.
// An N-d dataset of an ArchiveGroup: `shape` is h5py's shape (empty: a scalar) and `data` holds
// the elements in row-major (C) order, so h5py's a[i, j] is data[i * shape[1] + j]. kComplex128
// data interleaves (re, im) and holds twice the elements; it is stored as HDF5's compound {r, i},
// which h5py reads as complex128. kBool is stored as h5py's bool enum (int8 FALSE = 0, TRUE = 1)
// from data entries that are 0 or 1; kInt64 from integral data.
struct ArchiveArray {
  enum class Type { kFloat64, kInt64, kBool, kComplex128 };
  std::string name;
  std::vector<std::size_t> shape;
  std::vector<double> data;
  Type type = Type::kFloat64;
};

// A group of named datasets and typed attributes, for what later layers archive (training
// curves, checkpoints, fixed points, timescales). `name` may be nested ("training" or
// "checkpoint/optimizer"); parents are created as needed. `vectors` are 1-D float64 datasets;
// `arrays` any shape and type. ReadGroup returns 1-D float64 datasets in `vectors` and every
// other dataset in `arrays`.
struct ArchiveGroup {
  std::string name;
  Attributes attributes;
  std::vector<std::pair<std::string, Eigen::VectorXd>> vectors;
  std::vector<ArchiveArray> arrays;
};

struct RunRecord {
  // The command line that produced the run (/meta attribute `command`). Default
  // "".
  std::string command;
  // The seed of the run (/meta attribute `seed`); ReadModel passes it to
  // MakeModel. Default 0.
  std::uint64_t seed = 0;
  // The full resolved config, i.e. the root table after every component has
  // read its keys
  // (/config). Required.
  const Config* config = nullptr;
  // The model's own table (usually &config->Sub("model")) as MakeModel resolved
  // it; its ToToml() is what ReadModel rebuilds the model from. Required when
  // `model` is set.
  const Config* model_config = nullptr;
  // The model: kind, hyperparameters, parameters and initial state (/model).
  // Optional; required when `trajectory` is set.
  const Model* model = nullptr;
  // The batch of trials (/batch). Optional; must pass Batch::Validate().
  const Batch* batch = nullptr;
  // States, outputs and extras at the recorded times (/trajectories). Optional.
  // Every state must be model->state_size() x B; outputs (if any) O x B; every
  // extra has one matrix per time.
  const Trajectory* trajectory = nullptr;
  // More /meta attributes (e.g. {"wall_clock_s", 12.5}). Names must not repeat
  // the standard ones.
  Attributes extra_meta;
  // Vectors laid out like model->theta() (e.g. the gradient dL/dtheta), each written as a group
  // /<name> holding one dataset per parameter block, with the block's shape. Requires `model`;
  // the name must not be one of the standard groups.
  std::vector<std::pair<std::string, const Eigen::VectorXd*>> theta_like;
  // Scalar float64 datasets at the root (e.g. {"loss", 0.0123}); names as for theta_like.
  std::vector<std::pair<std::string, double>> scalars;
  // Further groups (see ArchiveGroup); their top-level names must not be the standard ones.
  std::vector<ArchiveGroup> groups;
  // gzip level 0..9 for the /batch and /trajectories datasets, chunked one
  // trial per chunk. Default 0: no compression (noisy float trajectories barely
  // compress).
  int gzip_level = 0;
};

// Writes one run file at `path`, atomically (see above); an existing file is
// replaced only on success. Throws std::invalid_argument for an invalid record
// (config null, model without model_config, trajectory without model,
// inconsistent shapes, a name clash) and std::runtime_error naming the file and
// object for any I/O or HDF5 failure (e.g. the directory does not exist).
void WriteRun(const std::string& path, const RunRecord& record);

// Adds `groups` to the existing run file at `path` (e.g. /fixed_points after an analysis) and
// leaves every other object as it was. Atomic like WriteRun: the file is copied to a temporary
// file, which is changed and renamed over `path` only when complete. A group whose name already
// exists is replaced when `replace` is true and is an error otherwise. Top-level names must not
// be the standard groups (meta, config, model, batch, trajectories). Throws
// std::invalid_argument for an invalid group (before anything is touched) and
// std::runtime_error naming the file and object when `path` is not a readable run file or a
// write fails; `path` is then unchanged.
void AddGroupsToRun(const std::string& path, const std::vector<ArchiveGroup>& groups, bool replace);

// Rebuilds the run's model: MakeModel on the /model attribute `config` with the
// /meta seed, then the parameters from /model/params and the initial state from
// /model/initial_state, bit for bit. Throws std::runtime_error naming the file
// and object when /model is missing, the rebuilt model's kind or size differs
// from the file, a parameter block is missing, unknown or of the wrong shape
// ("/model/params/W has shape (3, 4), the model expects (4, 4)").
std::unique_ptr<Model> ReadModel(const std::string& path);

// The run's /batch, with per-bin U x B inputs and O x B targets and mask
// (targets and mask empty when the file has none). Throws std::runtime_error
// when /batch is missing or inconsistent.
Batch ReadBatch(const std::string& path);

// The run's /trajectories, reassembled into per-time S x B states using
// model.state_blocks() (normally the model ReadModel returned), O x B outputs
// (empty if the file has no `y`) and every other dataset as a named extra.
// Throws std::runtime_error when /trajectories is missing, a state block's
// dataset is missing, or shapes disagree with the model or the recorded times.
Trajectory ReadTrajectory(const std::string& path, const Model& model);

// A multi-line human summary for `ctrnn info`: meta, config size, model kind,
// hyperparameters, state blocks and parameter blocks with shapes and count, and
// the /batch and /trajectories dataset shapes. Throws like CheckRunFile.
std::string DescribeRun(const std::string& path);

// The group `name` (as written from an ArchiveGroup), or std::nullopt if the file has no such
// group. Integer attributes come back as int64, floating ones as double, strings as string.
// Throws like the other readers for a missing, foreign or damaged file.
std::optional<ArchiveGroup> ReadGroup(const std::string& path, const std::string& name);

// Checks that `path` is a readable ctrnn run file: it exists ("cannot open 'F':
// no such file"), is HDF5 and not truncated or damaged, has /meta with format =
// "ctrnn-run" and a format_version this library reads, and has /config. Every
// reader calls it first. Throws std::runtime_error naming the file and the
// object.
void CheckRunFile(const std::string& path);

// Reads the numeric dataset `dataset` (a path such as "inputs" or "/group/x") of ANY HDF5 file,
// not only run files (e.g. reference data written by others), converted to float64 in row-major
// (C) order; `shape` (optional) receives its extents (h5py's shape). Throws std::runtime_error
// naming the file and the dataset when the file is missing or not HDF5, the dataset is missing or
// not a numeric dataset.
std::vector<double> ReadDoubleArray(const std::string& path,
                                    const std::string& dataset,
                                    std::vector<std::size_t>* shape);

}  // namespace ctrnn

#endif  // CTRNN_LIB_ARCHIVE_H_
