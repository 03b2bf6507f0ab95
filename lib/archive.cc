#include "lib/archive.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include <H5Cpp.h>
#include <fcntl.h>
#include <unistd.h>

#include "lib/models/factory.h"
#include "lib/version.h"

namespace ctrnn {
namespace {

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The HDF5 library (Debian's serial build) is not thread-safe: every public
// entry point holds this.
std::mutex& ArchiveMutex() {
  static std::mutex mutex;
  return mutex;
}

// The file and the HDF5 object an operation is working on, so that every error
// names both.
struct Where {
  std::string file;
  std::string object = "/";

  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error("'" + file + "': " + object + ": " + what);
  }
};

herr_t CollectErrorDescription(unsigned /*n*/, const H5E_error2_t* error, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  out->push_back(error->desc != nullptr ? error->desc : "");
  return 0;
}

// The innermost message on HDF5's error stack ("truncated file: eof = ...",
// "unable to open file:
// ... errno = 2 ..."): far more telling than the C++ wrapper's "H5Fopen
// failed".
std::string Hdf5Detail(const H5::Exception& e) {
  std::vector<std::string> descriptions;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, CollectErrorDescription, &descriptions);
  for (const std::string& d : descriptions) {
    if (!d.empty()) return d;
  }
  return e.getFuncName() + ": " + e.getDetailMsg();
}

[[noreturn]] void FailHdf5(const Where& where, const H5::Exception& e) {
  where.Fail("HDF5 error: " + Hdf5Detail(e));
}

std::string ShapeText(const std::vector<hsize_t>& dims) {
  std::string out = "(";
  for (size_t i = 0; i < dims.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(dims[i]);
  }
  return out + (dims.size() == 1 ? ",)" : ")");
}

std::vector<hsize_t> Dims(std::initializer_list<Eigen::Index> extents) {
  std::vector<hsize_t> out;
  for (Eigen::Index e : extents) out.push_back(static_cast<hsize_t>(e));
  return out;
}

std::string NameList(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// ---- writing
// ---------------------------------------------------------------------------------

H5::StrType Utf8Type() {
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  type.setCset(H5T_CSET_UTF8);
  return type;
}

H5::DataSpace SimpleSpace(const std::vector<hsize_t>& dims) {
  if (dims.empty()) return H5::DataSpace(H5S_SCALAR);
  return H5::DataSpace(static_cast<int>(dims.size()), dims.data());
}

void PutString(const H5::H5Object& obj, const std::string& name, const std::string& value) {
  const H5::StrType type = Utf8Type();
  H5::Attribute attr = obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
  attr.write(type, value);
}

template <typename T>
void PutScalar(const H5::H5Object& obj,
               const std::string& name,
               const H5::PredType& file_type,
               const H5::PredType& memory_type,
               T value) {
  H5::Attribute attr = obj.createAttribute(name, file_type, H5::DataSpace(H5S_SCALAR));
  attr.write(memory_type, &value);
}

void PutInt(const H5::H5Object& obj, const std::string& name, std::int64_t v) {
  PutScalar(obj, name, H5::PredType::STD_I64LE, H5::PredType::NATIVE_INT64, v);
}

void PutDouble(const H5::H5Object& obj, const std::string& name, double v) {
  PutScalar(obj, name, H5::PredType::IEEE_F64LE, H5::PredType::NATIVE_DOUBLE, v);
}

void PutAttr(const H5::H5Object& obj, const std::string& name, const AttrValue& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    PutInt(obj, name, *i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    PutDouble(obj, name, *d);
  } else {
    PutString(obj, name, std::get<std::string>(value));
  }
}

template <typename T>
void PutArray(const H5::H5Object& obj,
              const std::string& name,
              const H5::PredType& file_type,
              const H5::PredType& memory_type,
              const std::vector<T>& values) {
  H5::Attribute attr = obj.createAttribute(name, file_type, SimpleSpace({values.size()}));
  if (!values.empty()) attr.write(memory_type, values.data());
}

void PutDoubles(const H5::H5Object& obj,
                const std::string& name,
                const std::vector<double>& values) {
  PutArray(obj, name, H5::PredType::IEEE_F64LE, H5::PredType::NATIVE_DOUBLE, values);
}

void PutInts(const H5::H5Object& obj,
             const std::string& name,
             const std::vector<std::int64_t>& values) {
  PutArray(obj, name, H5::PredType::STD_I64LE, H5::PredType::NATIVE_INT64, values);
}

void PutStrings(const H5::H5Object& obj,
                const std::string& name,
                const std::vector<std::string>& values) {
  const H5::StrType type = Utf8Type();
  std::vector<const char*> pointers;
  for (const std::string& s : values) pointers.push_back(s.c_str());
  H5::Attribute attr = obj.createAttribute(name, type, SimpleSpace({values.size()}));
  if (!pointers.empty()) attr.write(type, pointers.data());
}

// Groups track the creation order of their links and attributes, so that h5py
// and DescribeRun list them in the order written (model parameters in layout
// order, config keys as resolved).
void SetCreationOrder(hid_t plist) {
  const unsigned order = H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED;
  if (H5Pset_link_creation_order(plist, order) < 0 ||
      H5Pset_attr_creation_order(plist, order) < 0) {
    throw H5::PropListIException("SetCreationOrder", "cannot set creation order");
  }
}

H5::Group MakeGroup(const H5::Group& parent, const std::string& name) {
  const hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  if (gcpl < 0) throw H5::PropListIException("MakeGroup", "H5Pcreate failed");
  hid_t id = -1;
  try {
    SetCreationOrder(gcpl);
    id = H5Gcreate2(parent.getId(), name.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT);
  } catch (...) {
    H5Pclose(gcpl);
    throw;
  }
  H5Pclose(gcpl);
  if (id < 0) throw H5::GroupIException("MakeGroup", "H5Gcreate2 failed");
  H5::Group group(id);  // takes a reference of its own
  H5Gclose(id);
  return group;
}

// A float64 dataset of shape `dims` from row-major `data`.
H5::DataSet PutDataset(const H5::Group& group,
                       const std::string& name,
                       const std::vector<hsize_t>& dims,
                       const double* data,
                       int gzip_level) {
  hsize_t total = 1;
  for (hsize_t d : dims) total *= d;
  H5::DSetCreatPropList dcpl;
  if (gzip_level > 0 && total > 0 && dims.size() == 3) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = 1;  // one trial per chunk
    dcpl.setChunk(3, chunk.data());
    dcpl.setDeflate(gzip_level);
  }
  H5::DataSet ds = group.createDataSet(name, H5::PredType::IEEE_F64LE, SimpleSpace(dims), dcpl);
  if (total > 0) ds.write(data, H5::PredType::NATIVE_DOUBLE);
  return ds;
}

// Rows [row0, row0 + rows) of per-time (rows x B) matrices as a row-major [B,
// time, rows] array.
std::vector<double> TrialTimeUnit(const std::vector<Eigen::MatrixXd>& per_time,
                                  Eigen::Index row0,
                                  Eigen::Index rows) {
  const Eigen::Index n = static_cast<Eigen::Index>(per_time.size());
  const Eigen::Index trials = n == 0 ? 0 : per_time[0].cols();
  std::vector<double> out(static_cast<size_t>(trials * n * rows));
  for (Eigen::Index b = 0; b < trials; ++b) {
    for (Eigen::Index t = 0; t < n; ++t) {
      double* dst = out.data() + (b * n + t) * rows;
      for (Eigen::Index r = 0; r < rows; ++r) dst[r] = per_time[t](row0 + r, b);
    }
  }
  return out;
}

void PutPerTime(const H5::Group& group,
                const std::string& name,
                const std::vector<Eigen::MatrixXd>& per_time,
                Eigen::Index row0,
                Eigen::Index rows,
                int gzip_level) {
  const std::vector<double> data = TrialTimeUnit(per_time, row0, rows);
  const Eigen::Index n = static_cast<Eigen::Index>(per_time.size());
  PutDataset(group, name, Dims({per_time[0].cols(), n, rows}), data.data(), gzip_level);
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// The attribute names the archive itself writes on /meta and /model.
const std::vector<std::string>& MetaNames() {
  static const auto* names = new std::vector<std::string>{
      "format", "format_version", "version", "git_revision", "seed", "date", "command"};
  return *names;
}
const std::vector<std::string>& ModelNames() {
  static const auto* names = new std::vector<std::string>{"kind",
                                                          "config",
                                                          "config_table",
                                                          "num_params",
                                                          "state_block_names",
                                                          "state_block_offsets",
                                                          "state_block_sizes"};
  return *names;
}

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Throws std::invalid_argument if a name repeats or is one of `reserved`.
void CheckNames(const std::string& who,
                const std::vector<std::string>& names,
                const std::vector<std::string>& reserved) {
  std::set<std::string> seen(reserved.begin(), reserved.end());
  for (const std::string& n : names) {
    if (n.empty() || !seen.insert(n).second) {
      throw std::invalid_argument(
          who + ": name '" + n +
          "' is empty, repeated or reserved (reserved: " + NameList(reserved) + ")");
    }
  }
}

// HDF5 link names may not contain '/' (it would silently create nested groups).
void CheckLinkName(const std::string& who, const std::string& name) {
  if (name.empty() || name == "." || name.find('/') != std::string::npos) {
    throw std::invalid_argument(who + ": '" + name +
                                "' cannot name an HDF5 dataset (empty, '.' or contains '/')");
  }
}

// An ArchiveGroup's names are plain links (nested group names split at '/') and every array's
// data fills its shape.
void ValidateGroup(const std::string& who, const ArchiveGroup& g) {
  const std::string where = who + ": group '" + g.name + "'";
  for (size_t start = 0; start <= g.name.size();) {
    const size_t slash = std::min(g.name.find('/', start), g.name.size());
    CheckLinkName(where, g.name.substr(start, slash - start));
    start = slash + 1;
  }
  std::set<std::string> seen;
  auto unique = [&](const std::string& name) {
    CheckLinkName(where, name);
    if (!seen.insert(name).second) {
      throw std::invalid_argument(where + ": dataset '" + name + "' is given twice");
    }
  };
  for (const auto& [name, v] : g.vectors) unique(name);
  for (const ArchiveArray& a : g.arrays) {
    unique(a.name);
    size_t count = a.type == ArchiveArray::Type::kComplex128 ? 2 : 1;
    for (size_t d : a.shape) count *= d;
    if (a.data.size() != count) {
      throw std::invalid_argument(where + ": array '" + a.name + "' has " +
                                  std::to_string(a.data.size()) + " values, its shape needs " +
                                  std::to_string(count));
    }
    for (double v : a.data) {
      const bool ok = a.type == ArchiveArray::Type::kBool ? (v == 0.0 || v == 1.0)
                      : a.type == ArchiveArray::Type::kInt64
                          ? std::isfinite(v) && v == std::trunc(v)
                          : true;
      if (!ok) {
        throw std::invalid_argument(where + ": array '" + a.name + "' holds " + std::to_string(v) +
                                    ", not a value of its type");
      }
    }
  }
}

void CheckPerTime(const std::string& who,
                  const std::vector<Eigen::MatrixXd>& per_time,
                  size_t count,
                  Eigen::Index rows,
                  Eigen::Index cols) {
  if (per_time.size() != count) {
    throw std::invalid_argument(who + ": " + std::to_string(per_time.size()) + " matrices for " +
                                std::to_string(count) + " times");
  }
  for (size_t t = 0; t < count; ++t) {
    if (per_time[t].rows() != rows || per_time[t].cols() != cols) {
      throw std::invalid_argument(who + "[" + std::to_string(t) + "] is " +
                                  std::to_string(per_time[t].rows()) + "x" +
                                  std::to_string(per_time[t].cols()) + ", expected " +
                                  std::to_string(rows) + "x" + std::to_string(cols));
    }
  }
}

// Everything that can be wrong with a record is found here, before a file is
// created.
void ValidateRecord(const std::string& path, const RunRecord& r) {
  const std::string who = "WriteRun('" + path + "')";
  if (r.config == nullptr) {
    throw std::invalid_argument(who +
                                ": RunRecord.config is null; the resolved config is required");
  }
  if (r.model != nullptr && r.model_config == nullptr) {
    throw std::invalid_argument(who +
                                ": RunRecord.model_config is null; it is required with a model");
  }
  if (r.trajectory != nullptr && r.model == nullptr) {
    throw std::invalid_argument(who +
                                ": RunRecord.trajectory needs RunRecord.model "
                                "(its state blocks split the states)");
  }
  if (r.gzip_level < 0 || r.gzip_level > 9) {
    throw std::invalid_argument(who + ": RunRecord.gzip_level = " + std::to_string(r.gzip_level) +
                                ": must lie in [0, 9]");
  }
  {
    std::vector<std::string> roots;
    for (const auto& [name, vec] : r.theta_like) {
      roots.push_back(name);
      if (r.model == nullptr || vec == nullptr || vec->size() != r.model->num_params()) {
        throw std::invalid_argument(who + ": RunRecord.theta_like '" + name +
                                    "' needs a model and a vector of num_params entries");
      }
    }
    for (const auto& [name, value] : r.scalars) roots.push_back(name);
    std::set<std::string> group_roots;  // nested groups share their top-level name
    for (const ArchiveGroup& g : r.groups) {
      group_roots.insert(g.name.substr(0, g.name.find('/')));
      ValidateGroup(who, g);
    }
    roots.insert(roots.end(), group_roots.begin(), group_roots.end());
    for (const std::string& name : roots) CheckLinkName(who + ": RunRecord", name);
    CheckNames(who + ": RunRecord.theta_like/scalars",
               roots,
               {"meta", "config", "model", "batch", "trajectories"});
  }
  std::vector<std::string> names;
  for (const auto& [name, value] : r.extra_meta) names.push_back(name);
  CheckNames(who + ": RunRecord.extra_meta", names, MetaNames());
  names.clear();
  for (const auto& [name, value] : r.config->ResolvedLeaves()) names.push_back(name);
  CheckNames(who + ": config", names, {"toml"});

  if (r.model != nullptr) {
    const Model& m = *r.model;
    names.clear();
    for (const auto& [name, value] : m.hyperparameters()) names.push_back(name);
    CheckNames(who + ": " + m.kind() + " hyperparameters", names, ModelNames());
    for (const ParamBlock& b : m.layout().blocks()) {
      CheckLinkName(who + ": " + m.kind() + " parameter block", b.name);
    }
    if (m.initial_state().size() != m.state_size()) {
      throw std::invalid_argument(who + ": " + m.kind() + " initial state has " +
                                  std::to_string(m.initial_state().size()) +
                                  " entries, the state has " + std::to_string(m.state_size()));
    }
  }
  if (r.batch != nullptr) {
    try {
      r.batch->Validate();
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(who + ": " + e.what());
    }
  }
  if (r.trajectory != nullptr) {
    const Trajectory& tr = *r.trajectory;
    const Model& m = *r.model;
    const std::string tw = who + ": Trajectory";
    const size_t n = tr.times.size();
    if (n == 0) throw std::invalid_argument(tw + ": no recorded times");
    const Eigen::Index trials = tr.states.empty() ? 0 : tr.states[0].cols();
    CheckPerTime(tw + ".states", tr.states, n, m.state_size(), trials);
    if (!tr.outputs.empty()) {
      CheckPerTime(tw + ".outputs", tr.outputs, n, m.output_size(), trials);
    }
    names.clear();
    for (const StateBlock& b : m.state_blocks()) {
      CheckLinkName(tw + " state block", b.name);
      if (b.offset < 0 || b.size < 0 || b.offset + b.size > m.state_size()) {
        throw std::invalid_argument(tw + ": state block '" + b.name + "' lies outside the state");
      }
      names.push_back(b.name);
    }
    for (const auto& [name, per_time] : tr.extras) {
      CheckLinkName(tw + " extra", name);
      CheckPerTime(tw + ".extras[" + name + "]",
                   per_time,
                   n,
                   per_time.empty() ? 0 : per_time[0].rows(),
                   trials);
      names.push_back(name);
    }
    CheckNames(tw + " dataset names (state blocks and extras)", names, {"y"});
    for (Eigen::Index k : tr.edge_index) {
      if (k < 0 || static_cast<size_t>(k) >= n) {
        throw std::invalid_argument(tw + ".edge_index holds " + std::to_string(k) +
                                    ", outside [0, " + std::to_string(n) + ")");
      }
    }
  }
}

bool HasLink(const H5::Group& group, const std::string& name);

// h5py's complex128: a compound of two float64 fields r and i.
H5::CompType ComplexType() {
  H5::CompType type(2 * sizeof(double));
  type.insertMember("r", 0, H5::PredType::NATIVE_DOUBLE);
  type.insertMember("i", sizeof(double), H5::PredType::NATIVE_DOUBLE);
  return type;
}

// h5py's bool: an int8 enum with FALSE = 0 and TRUE = 1.
H5::EnumType BoolType() {
  H5::EnumType type(H5::PredType::NATIVE_INT8);
  std::int8_t value = 0;
  type.insert("FALSE", &value);
  value = 1;
  type.insert("TRUE", &value);
  return type;
}

void PutArchiveArray(const H5::Group& group, const ArchiveArray& a) {
  std::vector<hsize_t> dims(a.shape.begin(), a.shape.end());
  const H5::DataSpace space = SimpleSpace(dims);
  switch (a.type) {
    case ArchiveArray::Type::kFloat64:
      group.createDataSet(a.name, H5::PredType::IEEE_F64LE, space)
          .write(a.data.data(), H5::PredType::NATIVE_DOUBLE);
      return;
    case ArchiveArray::Type::kInt64: {
      const std::vector<std::int64_t> ints(a.data.begin(), a.data.end());
      group.createDataSet(a.name, H5::PredType::STD_I64LE, space)
          .write(ints.data(), H5::PredType::NATIVE_INT64);
      return;
    }
    case ArchiveArray::Type::kBool: {
      const std::vector<std::int8_t> bools(a.data.begin(), a.data.end());
      const H5::EnumType type = BoolType();
      group.createDataSet(a.name, type, space).write(bools.data(), type);
      return;
    }
    case ArchiveArray::Type::kComplex128: {
      const H5::CompType type = ComplexType();
      group.createDataSet(a.name, type, space).write(a.data.data(), type);
      return;
    }
  }
}

// One ArchiveGroup under `root`, creating its parents as needed.
void WriteGroup(const H5::Group& root, const ArchiveGroup& g, Where* where) {
  where->object = "/" + g.name;
  H5::Group group = root;
  for (size_t start = 0; start <= g.name.size();) {
    const size_t slash = std::min(g.name.find('/', start), g.name.size());
    const std::string part = g.name.substr(start, slash - start);
    group = HasLink(group, part) ? group.openGroup(part) : MakeGroup(group, part);
    start = slash + 1;
  }
  for (const auto& [name, value] : g.attributes) PutAttr(group, name, value);
  for (const auto& [name, v] : g.vectors) {
    where->object = "/" + g.name + "/" + name;
    PutDataset(group, name, Dims({v.size()}), v.data(), 0);
  }
  for (const ArchiveArray& a : g.arrays) {
    where->object = "/" + g.name + "/" + a.name;
    PutArchiveArray(group, a);
  }
}

void WriteContents(const H5::H5File& file, const RunRecord& r, Where* where) {
  const H5::Group root = file.openGroup("/");

  where->object = "/meta";
  {
    const H5::Group meta = MakeGroup(root, "meta");
    PutString(meta, "format", kRunFormat);
    PutInt(meta, "format_version", kRunFormatVersion);
    PutString(meta, "version", Version());
    PutString(meta, "git_revision", GitRevision());
    PutScalar(meta, "seed", H5::PredType::STD_U64LE, H5::PredType::NATIVE_UINT64, r.seed);
    PutString(meta, "date", UtcNow());
    PutString(meta, "command", r.command);
    for (const auto& [name, value] : r.extra_meta) PutAttr(meta, name, value);
  }

  where->object = "/config";
  {
    const H5::Group config = MakeGroup(root, "config");
    PutString(config, "toml", r.config->ToToml());
    for (const auto& [name, value] : r.config->ResolvedLeaves()) {
      if (const auto* b = std::get_if<bool>(&value)) {
        PutScalar(config,
                  name,
                  H5::PredType::STD_I8LE,
                  H5::PredType::NATIVE_INT8,
                  static_cast<std::int8_t>(*b ? 1 : 0));
      } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
        PutInt(config, name, *i);
      } else if (const auto* d = std::get_if<double>(&value)) {
        PutDouble(config, name, *d);
      } else {
        PutString(config, name, std::get<std::string>(value));
      }
    }
  }

  if (r.model != nullptr) {
    const Model& m = *r.model;
    where->object = "/model";
    const H5::Group model = MakeGroup(root, "model");
    PutString(model, "kind", m.kind());
    PutString(model, "config", r.model_config->ToToml());
    PutString(model, "config_table", r.model_config->path());
    PutInt(model, "num_params", m.num_params());
    std::vector<std::string> block_names;
    std::vector<std::int64_t> offsets, sizes;
    for (const StateBlock& b : m.state_blocks()) {
      block_names.push_back(b.name);
      offsets.push_back(b.offset);
      sizes.push_back(b.size);
    }
    PutStrings(model, "state_block_names", block_names);
    PutInts(model, "state_block_offsets", offsets);
    PutInts(model, "state_block_sizes", sizes);
    for (const auto& [name, value] : m.hyperparameters()) PutAttr(model, name, value);

    where->object = "/model/params";
    const H5::Group params = MakeGroup(model, "params");
    for (const ParamBlock& b : m.layout().blocks()) {
      where->object = "/model/params/" + b.name;
      // theta is column-major, HDF5 row-major: write the transpose's memory so
      // h5py sees W[i, j].
      const RowMajorMatrix value = m.Param(b.name);
      const std::vector<hsize_t> dims =
          b.shape.size() == 1 ? Dims({b.rows()}) : Dims({b.rows(), b.cols()});
      const H5::DataSet ds = PutDataset(params, b.name, dims, value.data(), 0);
      PutString(ds, "meaning", b.meaning);
    }
    where->object = "/model/initial_state";
    PutDataset(model, "initial_state", Dims({m.state_size()}), m.initial_state().data(), 0);
  }

  if (r.batch != nullptr) {
    const Batch& b = *r.batch;
    where->object = "/batch";
    const H5::Group batch = MakeGroup(root, "batch");
    PutDoubles(batch, "bin_edges", b.bin_edges);
    where->object = "/batch/inputs";
    PutPerTime(batch, "inputs", b.inputs, 0, b.input_size(), r.gzip_level);
    if (!b.targets.empty()) {
      where->object = "/batch/targets";
      PutPerTime(batch, "targets", b.targets, 0, b.targets[0].rows(), r.gzip_level);
    }
    if (!b.mask.empty()) {
      where->object = "/batch/mask";
      PutPerTime(batch, "mask", b.mask, 0, b.mask[0].rows(), r.gzip_level);
    }
  }

  if (r.trajectory != nullptr) {
    const Trajectory& tr = *r.trajectory;
    where->object = "/trajectories";
    const H5::Group group = MakeGroup(root, "trajectories");
    PutDoubles(group, "times", tr.times);
    std::vector<std::int64_t> edges(tr.edge_index.begin(), tr.edge_index.end());
    PutInts(group, "edge_index", edges);
    for (const StateBlock& sb : r.model->state_blocks()) {
      where->object = "/trajectories/" + sb.name;
      PutPerTime(group, sb.name, tr.states, sb.offset, sb.size, r.gzip_level);
    }
    if (!tr.outputs.empty()) {
      where->object = "/trajectories/y";
      PutPerTime(group, "y", tr.outputs, 0, tr.outputs[0].rows(), r.gzip_level);
    }
    for (const auto& [name, per_time] : tr.extras) {
      where->object = "/trajectories/" + name;
      PutPerTime(group, name, per_time, 0, per_time[0].rows(), r.gzip_level);
    }
  }
  for (const ArchiveGroup& g : r.groups) WriteGroup(root, g, where);
  for (const auto& [name, value] : r.scalars) {
    where->object = "/" + name;
    PutDataset(root, name, {}, &value, 0);
  }
  for (const auto& [name, vec] : r.theta_like) {
    where->object = "/" + name;
    const H5::Group group = MakeGroup(root, name);
    for (const ParamBlock& b : r.model->layout().blocks()) {
      where->object = "/" + name + "/" + b.name;
      const RowMajorMatrix block = BlockView(b, *vec);
      const std::vector<hsize_t> dims =
          b.shape.size() == 1 ? Dims({b.rows()}) : Dims({b.rows(), b.cols()});
      PutDataset(group, b.name, dims, block.data(), 0);
    }
  }
  where->object = "/";
}

H5::H5File CreateFile(const std::string& path,
                      const std::string& temp,
                      const H5::FileCreatPropList& fcpl,
                      const H5::FileAccPropList& fapl) {
  try {
    return H5::H5File(temp, H5F_ACC_TRUNC, fcpl, fapl);
  } catch (const H5::Exception& e) {
    throw std::runtime_error("cannot write '" + path + "': cannot create '" + temp +
                             "': " + Hdf5Detail(e));
  }
}

// fsync, so that the rename never publishes a file whose blocks are not yet on
// disk.
void SyncToDisk(const std::string& path, bool must_succeed) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  const bool ok = fd >= 0 && ::fsync(fd) == 0;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!ok && must_succeed) {
    throw std::runtime_error("cannot flush '" + path + "' to disk: " + std::strerror(err));
  }
}

// ---- reading
// ---------------------------------------------------------------------------------

bool HasLink(const H5::Group& group, const std::string& name) {
  return H5Lexists(group.getId(), name.c_str(), H5P_DEFAULT) > 0;
}

// Opens `parent/name` as a group, or fails naming it as `object`.
H5::Group OpenGroup(const H5::Group& parent,
                    const std::string& name,
                    Where* where,
                    const std::string& object,
                    const std::string& if_missing) {
  where->object = object;
  if (!HasLink(parent, name)) where->Fail("missing" + if_missing);
  if (parent.childObjType(name) != H5O_TYPE_GROUP) where->Fail("is not a group");
  return parent.openGroup(name);
}

H5::DataSet OpenDataset(const H5::Group& parent,
                        const std::string& name,
                        Where* where,
                        const std::string& object) {
  where->object = object;
  if (!HasLink(parent, name)) where->Fail("missing");
  if (parent.childObjType(name) != H5O_TYPE_DATASET) where->Fail("is not a dataset");
  return parent.openDataSet(name);
}

std::vector<hsize_t> ExtentOf(const H5::DataSpace& space) {
  if (space.getSimpleExtentType() != H5S_SIMPLE) return {};
  std::vector<hsize_t> dims(static_cast<size_t>(space.getSimpleExtentNdims()));
  if (!dims.empty()) space.getSimpleExtentDims(dims.data());
  return dims;
}

H5::Attribute OpenAttr(const H5::H5Object& obj, const std::string& name, const Where& where) {
  if (!obj.attrExists(name)) where.Fail("attribute '" + name + "' is missing");
  return obj.openAttribute(name);
}

std::string GetString(const H5::H5Object& obj, const std::string& name, const Where& where) {
  const H5::Attribute attr = OpenAttr(obj, name, where);
  if (attr.getTypeClass() != H5T_STRING || attr.getSpace().getSimpleExtentNpoints() != 1) {
    where.Fail("attribute '" + name + "' is not a string");
  }
  std::string value;
  attr.read(attr.getStrType(), value);
  return value;
}

template <typename T>
T GetInteger(const H5::H5Object& obj,
             const std::string& name,
             const H5::PredType& memory_type,
             const Where& where) {
  const H5::Attribute attr = OpenAttr(obj, name, where);
  if (attr.getTypeClass() != H5T_INTEGER || attr.getSpace().getSimpleExtentNpoints() != 1) {
    where.Fail("attribute '" + name + "' is not an integer");
  }
  T value{};
  attr.read(memory_type, &value);
  return value;
}

template <typename T>
std::vector<T> GetArray(const H5::H5Object& obj,
                        const std::string& name,
                        const H5::PredType& memory_type,
                        const Where& where) {
  const H5::Attribute attr = OpenAttr(obj, name, where);
  const H5T_class_t cls = attr.getTypeClass();
  const H5::DataSpace space = attr.getSpace();
  if ((cls != H5T_INTEGER && cls != H5T_FLOAT) || ExtentOf(space).size() > 1) {
    where.Fail("attribute '" + name + "' is not a 1-D numeric array");
  }
  std::vector<T> values(static_cast<size_t>(space.getSimpleExtentNpoints()));
  if (!values.empty()) attr.read(memory_type, values.data());
  return values;
}

// Reads a numeric dataset of exactly `expected` dims as float64 (row-major), or
// fails naming the actual and expected shapes and `expected_by`.
std::vector<double> ReadDoubles(const H5::DataSet& ds,
                                const std::vector<hsize_t>& expected,
                                const std::string& expected_by,
                                const Where& where) {
  const H5T_class_t cls = ds.getTypeClass();
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) where.Fail("is not a numeric dataset");
  const std::vector<hsize_t> dims = ExtentOf(ds.getSpace());
  if (dims != expected) {
    where.Fail("has shape " + ShapeText(dims) + ", " + expected_by + " expects " +
               ShapeText(expected));
  }
  hsize_t total = 1;
  for (hsize_t d : dims) total *= d;
  std::vector<double> data(static_cast<size_t>(total));
  if (total > 0) ds.read(data.data(), H5::PredType::NATIVE_DOUBLE);
  return data;
}

// A [trials, times, rows] dataset whose first two extents are known (or, with
// trials < 0, taken from the file) as per-time rows x trials matrices written
// into rows [row0, row0 + rows) of `out` (resized to `total_rows` x trials on
// first use).
void ReadPerTime(const H5::DataSet& ds,
                 Eigen::Index* trials,
                 Eigen::Index times,
                 Eigen::Index rows,
                 const std::string& expected_by,
                 const Where& where,
                 Eigen::Index row0,
                 Eigen::Index total_rows,
                 std::vector<Eigen::MatrixXd>* out) {
  std::vector<hsize_t> dims = ExtentOf(ds.getSpace());
  if (*trials < 0) {
    if (dims.size() != 3) {
      where.Fail("has shape " + ShapeText(dims) + ", expected [trial, time, unit]");
    }
    *trials = static_cast<Eigen::Index>(dims[0]);
  }
  if (rows < 0) rows = dims.size() == 3 ? static_cast<Eigen::Index>(dims[2]) : 0;
  if (total_rows < 0) total_rows = rows;
  const std::vector<double> data =
      ReadDoubles(ds, Dims({*trials, times, rows}), expected_by, where);
  if (out->empty()) {
    out->assign(static_cast<size_t>(times), Eigen::MatrixXd::Zero(total_rows, *trials));
  }
  for (Eigen::Index b = 0; b < *trials; ++b) {
    for (Eigen::Index t = 0; t < times; ++t) {
      const double* src = data.data() + (b * times + t) * rows;
      for (Eigen::Index r = 0; r < rows; ++r) (*out)[t](row0 + r, b) = src[r];
    }
  }
}

// Opens `path` and checks that it is a run file this library reads (see
// CheckRunFile).
H5::H5File OpenRun(const std::string& path, Where* where) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw std::runtime_error("cannot open '" + path + "': no such file");
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw std::runtime_error("cannot open '" + path + "': is a directory");
  }
  bool is_hdf5 = false;
  try {
    is_hdf5 = H5::H5File::isHdf5(path);
  } catch (const H5::Exception& e) {
    throw std::runtime_error("cannot open '" + path + "': " + Hdf5Detail(e));
  }
  if (!is_hdf5) {
    throw std::runtime_error("cannot open '" + path + "': not an HDF5 file");
  }
  H5::H5File file;
  try {
    file.openFile(path, H5F_ACC_RDONLY);
  } catch (const H5::Exception& e) {
    throw std::runtime_error(
        "cannot open '" + path +
        "': not a readable HDF5 file (truncated or damaged?): " + Hdf5Detail(e));
  }
  const H5::Group root = file.openGroup("/");
  const std::string foreign = " (not a ctrnn run file?)";
  const H5::Group meta = OpenGroup(root, "meta", where, "/meta", foreign);
  if (!meta.attrExists("format")) where->Fail("attribute 'format' is missing" + foreign);
  const std::string format = GetString(meta, "format", *where);
  if (format != kRunFormat) {
    where->Fail("format = \"" + format + "\", expected \"" + kRunFormat + "\"" + foreign);
  }
  const auto version =
      GetInteger<std::int64_t>(meta, "format_version", H5::PredType::NATIVE_INT64, *where);
  if (version < 1 || version > kRunFormatVersion) {
    where->Fail("format_version = " + std::to_string(version) + "; this ctrnn " + Version() +
                " reads format_version 1 to " + std::to_string(kRunFormatVersion));
  }
  OpenGroup(root, "config", where, "/config", "");
  where->object = "/";
  return file;
}

// The n names `get_name(index, i, buffer, size)` lists (an H5Lget_name_by_idx
// or H5Aget_name_by_idx call), in creation order where the object tracks it,
// else in name order. Throws `failure` if neither works.
template <typename GetName, typename Failure>
std::vector<std::string> NamesInOrder(hsize_t n, GetName get_name, const Failure& failure) {
  std::vector<std::string> out;
  for (H5_index_t index : {H5_INDEX_CRT_ORDER, H5_INDEX_NAME}) {
    out.clear();
    for (hsize_t i = 0; i < n; ++i) {
      const ssize_t len = get_name(index, i, nullptr, 0);
      if (len < 0) break;
      std::string name(static_cast<size_t>(len) + 1, '\0');
      get_name(index, i, name.data(), name.size());
      name.resize(static_cast<size_t>(len));
      out.push_back(name);
    }
    if (out.size() == n) return out;
  }
  throw failure;
}

std::vector<std::string> ChildNames(const H5::Group& group) {
  return NamesInOrder(
      group.getNumObjs(),
      [&](H5_index_t index, hsize_t i, char* buffer, size_t size) {
        return H5Lget_name_by_idx(
            group.getId(), ".", index, H5_ITER_INC, i, buffer, size, H5P_DEFAULT);
      },
      H5::GroupIException("ChildNames", "cannot list the group's members"));
}

std::vector<std::string> AttrNames(const H5::H5Object& obj) {
  return NamesInOrder(
      static_cast<hsize_t>(obj.getNumAttrs()),
      [&](H5_index_t index, hsize_t i, char* buffer, size_t size) {
        return H5Aget_name_by_idx(
            obj.getId(), ".", index, H5_ITER_INC, i, buffer, size, H5P_DEFAULT);
      },
      H5::AttributeIException("AttrNames", "cannot list the attributes"));
}

// An attribute's value as short text: scalars as themselves, arrays as [a, b,
// ...].
std::string AttrText(const H5::Attribute& attr) {
  const H5T_class_t cls = attr.getTypeClass();
  const hsize_t n = static_cast<hsize_t>(attr.getSpace().getSimpleExtentNpoints());
  const bool scalar = ExtentOf(attr.getSpace()).empty();
  std::vector<std::string> items;
  if (cls == H5T_STRING) {
    const H5::StrType type = attr.getStrType();
    if (type.isVariableStr()) {
      std::vector<char*> pointers(n, nullptr);
      if (n > 0) attr.read(type, pointers.data());
      for (char* p : pointers) {
        items.push_back(p != nullptr ? p : "");
        H5free_memory(p);
      }
    } else {
      const size_t size = type.getSize();
      std::string buffer(size * n, '\0');
      if (n > 0) attr.read(type, buffer.data());
      for (hsize_t i = 0; i < n; ++i) {
        std::string s = buffer.substr(i * size, size);
        items.push_back(s.substr(0, s.find('\0')));
      }
    }
  } else if (cls == H5T_INTEGER && attr.getIntType().getSign() == H5T_SGN_NONE) {
    std::vector<std::uint64_t> values(n);
    if (n > 0) attr.read(H5::PredType::NATIVE_UINT64, values.data());
    for (std::uint64_t v : values) items.push_back(std::to_string(v));
  } else if (cls == H5T_INTEGER) {
    std::vector<std::int64_t> values(n);
    if (n > 0) attr.read(H5::PredType::NATIVE_INT64, values.data());
    for (std::int64_t v : values) items.push_back(std::to_string(v));
  } else if (cls == H5T_FLOAT) {
    std::vector<double> values(n);
    if (n > 0) attr.read(H5::PredType::NATIVE_DOUBLE, values.data());
    for (double v : values) {
      std::ostringstream s;
      s.precision(10);
      s << v;
      items.push_back(s.str());
    }
  } else {
    return "<" + std::to_string(n) + " values>";
  }
  if (scalar && items.size() == 1) return items[0];
  std::string out = "[";
  for (size_t i = 0; i < items.size() && i < 8; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > 8) out += ", ... (" + std::to_string(items.size()) + " values)";
  return out + "]";
}

std::string DatasetLine(const H5::Group& group, const std::string& name) {
  std::string line = "  " + name;
  line.resize(std::max<size_t>(line.size() + 1, 14), ' ');
  if (group.childObjType(name) != H5O_TYPE_DATASET) return line + "(group)";
  return line + ShapeText(ExtentOf(group.openDataSet(name).getSpace()));
}

std::string Describe(const std::string& path, Where* where) {
  const H5::H5File file = OpenRun(path, where);
  const H5::Group root = file.openGroup("/");
  std::ostringstream out;
  out << path << ": ctrnn run file\n";

  where->object = "/meta";
  const H5::Group meta = root.openGroup("meta");
  const auto text = [&](const H5::H5Object& obj, const std::string& name) {
    return obj.attrExists(name) ? AttrText(obj.openAttribute(name)) : std::string("?");
  };
  out << "meta: ctrnn " << text(meta, "version") << " (git " << text(meta, "git_revision") << "), "
      << text(meta, "date") << ", seed " << text(meta, "seed") << ", format_version "
      << text(meta, "format_version") << "\n";
  out << "  command: " << text(meta, "command") << "\n";
  for (const std::string& name : AttrNames(meta)) {
    if (Contains(MetaNames(), name)) continue;
    out << "  " << name << " = " << AttrText(meta.openAttribute(name)) << "\n";
  }

  where->object = "/config";
  const H5::Group config = root.openGroup("config");
  out << "config: " << std::max(0, config.getNumAttrs() - 1) << " resolved keys\n";

  where->object = "/model";
  if (!HasLink(root, "model")) {
    out << "model: none\n";
  } else {
    const H5::Group model = root.openGroup("model");
    out << "model: " << text(model, "kind") << ", " << text(model, "num_params") << " parameters\n";
    std::string hyper;
    for (const std::string& name : AttrNames(model)) {
      if (Contains(ModelNames(), name)) continue;
      hyper += (hyper.empty() ? "" : ", ") + name + " = " + AttrText(model.openAttribute(name));
    }
    if (!hyper.empty()) out << "  hyperparameters: " << hyper << "\n";
    if (model.attrExists("state_block_names") && model.attrExists("state_block_sizes")) {
      out << "  state blocks: " << text(model, "state_block_names") << ", sizes "
          << text(model, "state_block_sizes") << "\n";
    }
    if (HasLink(model, "initial_state")) {
      out << "  initial_state "
          << ShapeText(ExtentOf(model.openDataSet("initial_state").getSpace())) << "\n";
    }
    if (HasLink(model, "params")) {
      where->object = "/model/params";
      const H5::Group params = model.openGroup("params");
      out << "  params:\n";
      for (const std::string& name : ChildNames(params)) {
        where->object = "/model/params/" + name;
        std::string line = "  " + DatasetLine(params, name);
        if (params.childObjType(name) == H5O_TYPE_DATASET) {
          const H5::DataSet ds = params.openDataSet(name);
          if (ds.attrExists("meaning")) {
            line.resize(std::max<size_t>(line.size() + 2, 32), ' ');
            line += AttrText(ds.openAttribute("meaning"));
          }
        }
        out << line << "\n";
      }
    }
  }

  for (const char* section : {"batch", "trajectories"}) {
    where->object = std::string("/") + section;
    if (!HasLink(root, section)) {
      out << section << ": none\n";
      continue;
    }
    const H5::Group group = root.openGroup(section);
    out << section << ":";
    const bool is_batch = std::string(section) == "batch";
    const char* grid = is_batch ? "bin_edges" : "times";
    if (group.attrExists(grid)) {
      const std::vector<double> g =
          GetArray<double>(group, grid, H5::PredType::NATIVE_DOUBLE, *where);
      const size_t count = is_batch && !g.empty() ? g.size() - 1 : g.size();
      out << " " << count << (is_batch ? " bins" : " times");
      if (!g.empty()) out << " over [" << g.front() << ", " << g.back() << "]";
    }
    out << "\n";
    for (const std::string& name : ChildNames(group)) out << DatasetLine(group, name) << "\n";
  }

  std::vector<std::string> others;
  for (const std::string& name : ChildNames(root)) {
    if (name != "meta" && name != "config" && name != "model" && name != "batch" &&
        name != "trajectories") {
      others.push_back(name);
    }
  }
  if (!others.empty()) out << "other groups: " << NameList(others) << "\n";
  return out.str();
}

// Runs fill(), which writes the complete file `temp`, then publishes it at `path`: fsync, rename,
// fsync of the directory. On any failure `temp` is removed and `path` is untouched; an HDF5 error
// is reported naming the file and where->object.
template <typename Fill>
void WriteAtomically(const std::string& path, const std::string& temp, Where* where, Fill fill) {
  try {
    fill();
    SyncToDisk(temp, true);
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
      throw std::runtime_error("cannot write '" + path + "': cannot rename '" + temp +
                               "' to it: " + std::strerror(errno));
    }
  } catch (const H5::Exception& e) {
    const std::string detail = Hdf5Detail(e);
    std::remove(temp.c_str());
    where->Fail("HDF5 error: " + detail);
  } catch (...) {
    std::remove(temp.c_str());
    throw;
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  SyncToDisk(parent.empty() ? "." : parent.string(), false);  // make the rename durable
}

}  // namespace

void WriteRun(const std::string& path, const RunRecord& record) {
  ValidateRecord(path, record);
  std::lock_guard<std::mutex> lock(ArchiveMutex());
  H5::Exception::dontPrint();
  const std::string temp = path + ".tmp-" + std::to_string(::getpid());
  Where where{path};
  WriteAtomically(path, temp, &where, [&] {
    H5::FileCreatPropList fcpl;
    SetCreationOrder(fcpl.getId());  // the root group's order comes from the file's plist
    H5::FileAccPropList fapl;
    // The 1.8 format stores large attributes (long `times`, big configs)
    // densely; the default earliest format caps an object's attributes at 64
    // KiB.
    fapl.setLibverBounds(H5F_LIBVER_V18, H5F_LIBVER_V18);
    // Closing fails, rather than lingering, if an object were somehow still
    // open.
    fapl.setFcloseDegree(H5F_CLOSE_SEMI);
    H5::H5File file = CreateFile(path, temp, fcpl, fapl);
    WriteContents(file, record, &where);
    file.close();
  });
}

namespace {

// Whether the (possibly nested) link `name` exists under `root`; H5Lexists needs every parent.
bool HasPath(const H5::Group& root, const std::string& name) {
  for (size_t start = 0; start <= name.size();) {
    const size_t slash = std::min(name.find('/', start), name.size());
    if (H5Lexists(root.getId(), name.substr(0, slash).c_str(), H5P_DEFAULT) <= 0) return false;
    start = slash + 1;
  }
  return true;
}

}  // namespace

void AddGroupsToRun(const std::string& path,
                    const std::vector<ArchiveGroup>& groups,
                    bool replace) {
  const std::string who = "AddGroupsToRun('" + path + "')";
  {
    std::vector<std::string> roots;
    for (const ArchiveGroup& g : groups) {
      ValidateGroup(who, g);
      roots.push_back(g.name.substr(0, g.name.find('/')));
    }
    CheckNames(who, roots, {"meta", "config", "model", "batch", "trajectories"});
  }
  std::lock_guard<std::mutex> lock(ArchiveMutex());
  H5::Exception::dontPrint();
  Where where{path};
  try {
    OpenRun(path, &where).close();  // a readable run file, or a clear error
  } catch (const H5::Exception& e) {
    FailHdf5(where, e);
  }
  const std::string temp = path + ".tmp-" + std::to_string(::getpid());
  WriteAtomically(path, temp, &where, [&] {
    std::error_code ec;
    std::filesystem::copy_file(path, temp, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) {
      throw std::runtime_error("cannot write '" + path + "': cannot copy it to '" + temp +
                               "': " + ec.message());
    }
    {
      H5::FileAccPropList fapl;
      fapl.setLibverBounds(H5F_LIBVER_V18, H5F_LIBVER_V18);
      fapl.setFcloseDegree(H5F_CLOSE_SEMI);
      H5::H5File file(temp, H5F_ACC_RDWR, H5::FileCreatPropList::DEFAULT, fapl);
      {  // every object is closed before the file (H5F_CLOSE_SEMI)
        const H5::Group root = file.openGroup("/");
        for (const ArchiveGroup& g : groups) {
          where.object = "/" + g.name;
          if (HasPath(root, g.name)) {
            if (!replace) where.Fail("exists already (pass replace to overwrite it)");
            root.unlink(g.name);
          }
          WriteGroup(root, g, &where);
        }
      }
      file.close();
    }
  });
}

void CheckRunFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(ArchiveMutex());
  H5::Exception::dontPrint();
  Where where{path};
  try {
    OpenRun(path, &where);
  } catch (const H5::Exception& e) {
    FailHdf5(where, e);
  }
}

std::unique_ptr<Model> ReadModel(const std::string& path) {
  std::lock_guard<std::mutex> lock(ArchiveMutex());
  H5::Exception::dontPrint();
  Where where{path};
  try {
    const H5::H5File file = OpenRun(path, &where);
    const H5::Group root = file.openGroup("/");
    where.object = "/meta";
    const auto seed = GetInteger<std::uint64_t>(
        root.openGroup("meta"), "seed", H5::PredType::NATIVE_UINT64, where);
    const H5::Group group =
        OpenGroup(root, "model", &where, "/model", " (this run file stores no model)");
    const std::string kind = GetString(group, "kind", where);
    const std::string text = GetString(group, "config", where);
    const std::string table =
        group.attrExists("config_table") ? GetString(group, "config_table", where) : "";

    // The model table's TOML names its nested tables by their full path
    // ([model.x]), so it parses back under its own header.
    std::unique_ptr<Model> model;
    try {
      Config config = Config::ParseString(table.empty() ? text : "[" + table + "]\n" + text,
                                          path + ":/model attribute 'config'");
      Config* sub = &config;
      for (size_t start = 0; !table.empty() && start <= table.size();) {
        const size_t dot = std::min(table.find('.', start), table.size());
        sub = &sub->Sub(table.substr(start, dot - start));
        start = dot + 1;
      }
      model = MakeModel(sub, seed);
    } catch (const std::exception& e) {
      where.Fail(std::string("cannot rebuild the model from attribute 'config': ") + e.what());
    }
    const std::string rebuilt = "the " + model->kind() + " model rebuilt from /model config";
    if (model->kind() != kind) where.Fail("kind = \"" + kind + "\" but " + rebuilt);
    const auto num_params =
        GetInteger<std::int64_t>(group, "num_params", H5::PredType::NATIVE_INT64, where);
    if (num_params != model->num_params()) {
      where.Fail("num_params = " + std::to_string(num_params) + " but " + rebuilt + " has " +
                 std::to_string(model->num_params()));
    }

    const H5::Group params = OpenGroup(group, "params", &where, "/model/params", "");
    std::vector<std::string> known;
    for (const ParamBlock& b : model->layout().blocks()) known.push_back(b.name);
    for (const std::string& name : ChildNames(params)) {
      if (!Contains(known, name)) {
        where.object = "/model/params/" + name;
        where.Fail("is not a parameter of " + rebuilt + " (its blocks: " + NameList(known) + ")");
      }
    }
    Eigen::VectorXd theta(model->num_params());
    for (const ParamBlock& b : model->layout().blocks()) {
      const std::string object = "/model/params/" + b.name;
      const H5::DataSet ds = OpenDataset(params, b.name, &where, object);
      const std::vector<hsize_t> dims =
          b.shape.size() == 1 ? Dims({b.rows()}) : Dims({b.rows(), b.cols()});
      const std::vector<double> data = ReadDoubles(ds, dims, rebuilt, where);
      BlockView(b, &theta) = Eigen::Map<const RowMajorMatrix>(data.data(), b.rows(), b.cols());
    }
    model->SetTheta(theta);

    const H5::DataSet x0 = OpenDataset(group, "initial_state", &where, "/model/initial_state");
    const std::vector<double> data = ReadDoubles(x0, Dims({model->state_size()}), rebuilt, where);
    model->set_initial_state(Eigen::Map<const Eigen::VectorXd>(data.data(), model->state_size()));
    return model;
  } catch (const H5::Exception& e) {
    FailHdf5(where, e);
  }
}

Batch ReadBatch(const std::string& path) {
  std::lock_guard<std::mutex> lock(ArchiveMutex());
  H5::Exception::dontPrint();
  Where where{path};
  try {
    const H5::H5File file = OpenRun(path, &where);
    const H5::Group group = OpenGroup(
        file.openGroup("/"), "batch", &where, "/batch", " (this run file stores no batch)");
    Batch batch;
    batch.bin_edges = GetArray<double>(group, "bin_edges", H5::PredType::NATIVE_DOUBLE, where);
    const Eigen::Index bins = static_cast<Eigen::Index>(batch.bin_edges.size()) - 1;
    if (bins < 1) where.Fail("attribute 'bin_edges' needs at least 2 entries");
    Eigen::Index trials = -1;
    const std::string by = "bin_edges (" + std::to_string(bins) + " bins)";
    ReadPerTime(OpenDataset(group, "inputs", &where, "/batch/inputs"),
                &trials,
                bins,
                -1,
                by,
                where,
                0,
                -1,
                &batch.inputs);
    const std::string by_inputs =
        "/batch/inputs (" + std::to_string(trials) + " trials) with " + by;
    Eigen::Index outputs = -1;
    if (HasLink(group, "targets")) {
      const H5::DataSet ds = OpenDataset(group, "targets", &where, "/batch/targets");
      ReadPerTime(ds, &trials, bins, -1, by_inputs, where, 0, -1, &batch.targets);
      outputs = batch.targets[0].rows();
    }
    if (HasLink(group, "mask")) {
      const H5::DataSet ds = OpenDataset(group, "mask", &where, "/batch/mask");
      ReadPerTime(ds,
                  &trials,
                  bins,
                  outputs,
                  outputs < 0 ? by_inputs : by_inputs + " and /batch/targets",
                  where,
                  0,
                  -1,
                  &batch.mask);
    }
    where.object = "/batch";
    try {
      batch.Validate();
    } catch (const std::invalid_argument& e) {
      where.Fail(e.what());
    }
    return batch;
  } catch (const H5::Exception& e) {
    FailHdf5(where, e);
  }
}

Trajectory ReadTrajectory(const std::string& path, const Model& model) {
  std::lock_guard<std::mutex> lock(ArchiveMutex());
  H5::Exception::dontPrint();
  Where where{path};
  try {
    const H5::H5File file = OpenRun(path, &where);
    const H5::Group group = OpenGroup(file.openGroup("/"),
                                      "trajectories",
                                      &where,
                                      "/trajectories",
                                      " (this run file stores no trajectories)");
    Trajectory tr;
    tr.times = GetArray<double>(group, "times", H5::PredType::NATIVE_DOUBLE, where);
    const auto edges =
        GetArray<std::int64_t>(group, "edge_index", H5::PredType::NATIVE_INT64, where);
    const Eigen::Index n = static_cast<Eigen::Index>(tr.times.size());
    for (std::int64_t k : edges) {
      if (k < 0 || k >= n) {
        where.Fail("attribute 'edge_index' holds " + std::to_string(k) + ", outside [0, " +
                   std::to_string(n) + ")");
      }
      tr.edge_index.push_back(static_cast<Eigen::Index>(k));
    }
    const std::string by_times = "attribute 'times' (" + std::to_string(n) + " times)";
    Eigen::Index trials = -1;
    std::set<std::string> blocks;
    for (const StateBlock& b : model.state_blocks()) {
      const std::string object = "/trajectories/" + b.name;
      const H5::DataSet ds = OpenDataset(group, b.name, &where, object);
      ReadPerTime(ds,
                  &trials,
                  n,
                  b.size,
                  "the " + model.kind() + " state block '" + b.name + "' with " + by_times,
                  where,
                  b.offset,
                  model.state_size(),
                  &tr.states);
      blocks.insert(b.name);
    }
    const std::string by_trials = by_times + " and " + std::to_string(trials) + " trials";
    for (const std::string& name : ChildNames(group)) {
      if (blocks.count(name)) continue;
      const H5::DataSet ds = OpenDataset(group, name, &where, "/trajectories/" + name);
      if (name == "y") {
        ReadPerTime(ds,
                    &trials,
                    n,
                    model.output_size(),
                    "the model's outputs with " + by_trials,
                    where,
                    0,
                    -1,
                    &tr.outputs);
      } else {
        ReadPerTime(ds, &trials, n, -1, by_trials, where, 0, -1, &tr.extras[name]);
      }
    }
    return tr;
  } catch (const H5::Exception& e) {
    FailHdf5(where, e);
  }
}

std::string DescribeRun(const std::string& path) {
  std::lock_guard<std::mutex> lock(ArchiveMutex());
  H5::Exception::dontPrint();
  Where where{path};
  try {
    return Describe(path, &where);
  } catch (const H5::Exception& e) {
    FailHdf5(where, e);
  }
}

std::optional<ArchiveGroup> ReadGroup(const std::string& path, const std::string& name) {
  std::lock_guard<std::mutex> lock(ArchiveMutex());
  H5::Exception::dontPrint();
  Where where{path};
  try {
    const H5::H5File file = OpenRun(path, &where);
    H5::Group group = file.openGroup("/");
    for (size_t start = 0; start <= name.size();) {
      const size_t slash = std::min(name.find('/', start), name.size());
      const std::string part = name.substr(start, slash - start);
      if (!HasLink(group, part)) return std::nullopt;
      where.object = "/" + name.substr(0, slash);
      if (group.childObjType(part) != H5O_TYPE_GROUP) where.Fail("is not a group");
      group = group.openGroup(part);
      start = slash + 1;
    }
    ArchiveGroup out;
    out.name = name;
    where.object = "/" + name;
    for (const std::string& attr_name : AttrNames(group)) {
      const H5::Attribute attr = group.openAttribute(attr_name);
      if (attr.getSpace().getSimpleExtentNpoints() != 1) continue;  // arrays: not ours
      switch (attr.getTypeClass()) {
        case H5T_STRING:
          out.attributes.emplace_back(attr_name, GetString(group, attr_name, where));
          break;
        case H5T_INTEGER:
          out.attributes.emplace_back(
              attr_name,
              GetInteger<std::int64_t>(group, attr_name, H5::PredType::NATIVE_INT64, where));
          break;
        case H5T_FLOAT: {
          double v = 0;
          attr.read(H5::PredType::NATIVE_DOUBLE, &v);
          out.attributes.emplace_back(attr_name, v);
          break;
        }
        default:
          break;
      }
    }
    for (const std::string& child : ChildNames(group)) {
      if (group.childObjType(child) != H5O_TYPE_DATASET) continue;
      where.object = "/" + name + "/" + child;
      const H5::DataSet ds = group.openDataSet(child);
      const std::vector<hsize_t> dims = ExtentOf(ds.getSpace());
      const H5T_class_t cls = ds.getTypeClass();
      if (cls == H5T_FLOAT && dims.size() == 1) {
        const std::vector<double> data = ReadDoubles(ds, {dims[0]}, "a 1-D vector", where);
        out.vectors.emplace_back(
            child,
            Eigen::Map<const Eigen::VectorXd>(data.data(), static_cast<Eigen::Index>(data.size())));
        continue;
      }
      ArchiveArray a;
      a.name = child;
      a.shape.assign(dims.begin(), dims.end());
      hsize_t total = 1;
      for (hsize_t d : dims) total *= d;
      if (cls == H5T_FLOAT || cls == H5T_INTEGER) {
        a.type = cls == H5T_FLOAT ? ArchiveArray::Type::kFloat64 : ArchiveArray::Type::kInt64;
        a.data = ReadDoubles(ds, dims, "its own extent", where);
      } else if (cls == H5T_ENUM && ds.getEnumType().getSize() == 1 &&
                 ds.getEnumType().getNmembers() == 2) {
        a.type = ArchiveArray::Type::kBool;
        std::vector<std::int8_t> bools(static_cast<size_t>(total));
        if (total > 0) ds.read(bools.data(), BoolType());
        a.data.assign(bools.begin(), bools.end());
      } else if (cls == H5T_COMPOUND && ds.getCompType().getNmembers() == 2) {
        a.type = ArchiveArray::Type::kComplex128;
        a.data.resize(static_cast<size_t>(2 * total));
        if (total > 0) ds.read(a.data.data(), ComplexType());
      } else {
        continue;  // strings and other types: not ours
      }
      out.arrays.push_back(std::move(a));
    }
    return out;
  } catch (const H5::Exception& e) {
    FailHdf5(where, e);
  }
}

std::vector<double> ReadDoubleArray(const std::string& path,
                                    const std::string& dataset,
                                    std::vector<std::size_t>* shape) {
  std::lock_guard<std::mutex> lock(ArchiveMutex());
  H5::Exception::dontPrint();
  const std::string object = dataset.empty() || dataset[0] != '/' ? "/" + dataset : dataset;
  Where where{path, object};
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw std::runtime_error("cannot open '" + path + "': no such file");
  }
  try {
    if (std::filesystem::is_directory(path, ec) || !H5::H5File::isHdf5(path)) {
      throw std::runtime_error("cannot open '" + path + "': not an HDF5 file");
    }
    const H5::H5File file(path, H5F_ACC_RDONLY);
    // H5Lexists needs every parent of the path to exist: check each level.
    for (size_t slash = object.find('/', 1);; slash = object.find('/', slash + 1)) {
      const std::string prefix = object.substr(0, slash);
      if (H5Lexists(file.getId(), prefix.c_str(), H5P_DEFAULT) <= 0) where.Fail("missing");
      if (slash == std::string::npos) break;
    }
    if (file.childObjType(object) != H5O_TYPE_DATASET) where.Fail("is not a dataset");
    const H5::DataSet ds = file.openDataSet(object);
    const std::vector<hsize_t> dims = ExtentOf(ds.getSpace());
    const std::vector<double> data = ReadDoubles(ds, dims, "", where);
    if (shape != nullptr) shape->assign(dims.begin(), dims.end());
    return data;
  } catch (const H5::Exception& e) {
    FailHdf5(where, e);
  }
}

}  // namespace ctrnn
