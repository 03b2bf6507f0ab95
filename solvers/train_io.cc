#include "solvers/train_io.h"

#include <sstream>
#include <stdexcept>

namespace ctrnn {
namespace {

Eigen::VectorXd ToVector(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

std::vector<double> ToStd(const Eigen::VectorXd& v) {
  return std::vector<double>(v.data(), v.data() + v.size());
}

const AttrValue& Attr(const ArchiveGroup& g, const std::string& name, const std::string& path) {
  for (const auto& [n, v] : g.attributes) {
    if (n == name) return v;
  }
  throw std::runtime_error("'" + path + "': /" + g.name + ": attribute '" + name +
                           "' is missing (not a complete training checkpoint)");
}

const Eigen::VectorXd& Vec(const ArchiveGroup& g,
                           const std::string& name,
                           const std::string& path) {
  for (const auto& [n, v] : g.vectors) {
    if (n == name) return v;
  }
  throw std::runtime_error("'" + path + "': /" + g.name + "/" + name +
                           ": missing (not a complete training checkpoint)");
}

std::int64_t Int(const ArchiveGroup& g, const std::string& name, const std::string& path) {
  const AttrValue& v = Attr(g, name, path);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  throw std::runtime_error("'" + path + "': /" + g.name + ": attribute '" + name +
                           "' is not an integer");
}

}  // namespace

std::vector<ArchiveGroup> TrainStateGroups(const TrainState& state,
                                           std::int64_t total_iterations,
                                           const TrainSummary* summary) {
  ArchiveGroup training;
  training.name = "training";
  training.attributes = {
      {"termination", summary ? TerminationName(summary->termination) : std::string("running")},
      {"message", summary ? summary->message : std::string()},
      {"iterations", state.iteration},
      {"total_iterations", total_iterations},
      {"best_loss", state.best_loss},
      {"best_iteration", state.best_iteration},
      {"seconds", state.seconds}};
  training.vectors = {{"iteration", ToVector(state.curve_iteration)},
                      {"loss", ToVector(state.curve_loss)},
                      {"seconds", ToVector(state.curve_seconds)}};
  ArchiveGroup eval;
  eval.name = "training/eval";
  eval.vectors.emplace_back("iteration", ToVector(state.eval_iteration));
  for (const auto& [name, values] : state.eval_metrics) {
    if (name != "iteration") eval.vectors.emplace_back(name, ToVector(values));
  }
  ArchiveGroup checkpoint;
  checkpoint.name = "checkpoint";
  checkpoint.attributes = {{"iteration", state.iteration},
                           {"stage", state.stage},
                           {"stage_iteration", state.stage_iteration},
                           {"optimizer_steps", state.optimizer_steps},
                           {"batch_rng", state.batch_rng},
                           {"batch_rng_restart", state.batch_rng_restart}};
  checkpoint.vectors = {{"theta", state.theta},
                        {"optimizer_m", state.optimizer_m},
                        {"optimizer_v", state.optimizer_v},
                        {"best_theta", state.best_theta}};
  std::vector<ArchiveGroup> groups = {training, eval, checkpoint};
  if (!state.curriculum_ns.empty()) {
    std::string ns;
    for (int n : state.curriculum_ns) ns += (ns.empty() ? "" : ",") + std::to_string(n);
    groups[2].attributes.emplace_back("curriculum_ns", ns);
    ArchiveGroup curriculum;
    curriculum.name = "training/curriculum";
    curriculum.attributes = {{"ns", ns}};
    curriculum.vectors = {{"iteration", ToVector(state.epoch_iteration)},
                          {"n_max", ToVector(state.epoch_n_max)},
                          {"mean_accuracy", ToVector(state.epoch_mean_accuracy)},
                          {"accuracy_n_max", ToVector(state.epoch_accuracy_n_max)},
                          {"advanced", ToVector(state.epoch_advanced)}};
    ArchiveGroup snapshots;
    snapshots.name = "training/curriculum/snapshots";
    snapshots.vectors = state.snapshots;
    groups.push_back(curriculum);
    groups.push_back(snapshots);
  }
  return groups;
}

TrainState ReadTrainState(const std::string& path) {
  const std::optional<ArchiveGroup> training = ReadGroup(path, "training");
  const std::optional<ArchiveGroup> checkpoint = ReadGroup(path, "checkpoint");
  if (!training || !checkpoint) {
    throw std::runtime_error("'" + path +
                             "': no /training and /checkpoint groups: not a training run");
  }
  TrainState s;
  s.iteration = Int(*checkpoint, "iteration", path);
  s.stage = Int(*checkpoint, "stage", path);
  s.stage_iteration = Int(*checkpoint, "stage_iteration", path);
  s.optimizer_steps = Int(*checkpoint, "optimizer_steps", path);
  s.batch_rng = std::get<std::string>(Attr(*checkpoint, "batch_rng", path));
  s.batch_rng_restart = std::get<std::string>(Attr(*checkpoint, "batch_rng_restart", path));
  s.theta = Vec(*checkpoint, "theta", path);
  s.optimizer_m = Vec(*checkpoint, "optimizer_m", path);
  s.optimizer_v = Vec(*checkpoint, "optimizer_v", path);
  s.best_theta = Vec(*checkpoint, "best_theta", path);
  s.best_loss = std::get<double>(Attr(*training, "best_loss", path));
  s.best_iteration = Int(*training, "best_iteration", path);
  s.seconds = std::get<double>(Attr(*training, "seconds", path));
  s.curve_iteration = ToStd(Vec(*training, "iteration", path));
  s.curve_loss = ToStd(Vec(*training, "loss", path));
  s.curve_seconds = ToStd(Vec(*training, "seconds", path));
  for (const auto& [name, value] : checkpoint->attributes) {
    if (name != "curriculum_ns") continue;
    std::stringstream list(std::get<std::string>(value));
    for (std::string item; std::getline(list, item, ',');)
      s.curriculum_ns.push_back(std::stoi(item));
  }
  if (!s.curriculum_ns.empty()) {
    const std::optional<ArchiveGroup> c = ReadGroup(path, "training/curriculum");
    const std::optional<ArchiveGroup> snaps = ReadGroup(path, "training/curriculum/snapshots");
    if (!c || !snaps) {
      throw std::runtime_error("'" + path +
                               "': /training/curriculum: missing (not a complete training "
                               "checkpoint)");
    }
    s.epoch_iteration = ToStd(Vec(*c, "iteration", path));
    s.epoch_n_max = ToStd(Vec(*c, "n_max", path));
    s.epoch_mean_accuracy = ToStd(Vec(*c, "mean_accuracy", path));
    s.epoch_accuracy_n_max = ToStd(Vec(*c, "accuracy_n_max", path));
    s.epoch_advanced = ToStd(Vec(*c, "advanced", path));
    s.snapshots = snaps->vectors;
  }
  if (const std::optional<ArchiveGroup> eval = ReadGroup(path, "training/eval")) {
    for (const auto& [name, v] : eval->vectors) {
      if (name == "iteration") {
        s.eval_iteration = ToStd(v);
      } else {
        s.eval_metrics[name] = ToStd(v);
      }
    }
  }
  return s;
}

}  // namespace ctrnn
