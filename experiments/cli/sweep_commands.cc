// `ctrnn sweep`: configs × seeds, each a `ctrnn train` child process writing one run file.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiments/cli/commands.h"
#include "lib/archive.h"

namespace ctrnn::cli {
namespace {

namespace fs = std::filesystem;

struct Job {
  std::string config;
  std::int64_t seed = 0;
  std::string output, log;
  std::string status;  // "done", "failed", "resume", "new"
};

// "0-9", "0,3,5" or a mix ("0-2,7").
std::vector<std::int64_t> ParseSeeds(const std::string& text) {
  std::vector<std::int64_t> seeds;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) {
    try {
      size_t used = 0;
      const std::size_t dash = item.find('-', 1);
      if (dash == std::string::npos) {
        seeds.push_back(std::stoll(item, &used));
        if (used != item.size()) throw std::invalid_argument(item);
      } else {
        const std::int64_t a = std::stoll(item.substr(0, dash), &used);
        const std::int64_t b = std::stoll(item.substr(dash + 1));
        if (a < 0 || b < a) throw std::invalid_argument(item);
        for (std::int64_t s = a; s <= b; ++s) seeds.push_back(s);
      }
    } catch (const std::exception&) {
      throw std::invalid_argument("--seeds = \"" + text + "\": expected e.g. 0-9 or 0,3,5");
    }
  }
  if (seeds.empty()) throw std::invalid_argument("--seeds = \"" + text + "\": no seeds");
  for (std::int64_t s : seeds) {
    if (s < 0) throw std::invalid_argument("--seeds = \"" + text + "\": seeds must be >= 0");
  }
  return seeds;
}

// What the run file at `path` says: done (the run finished), failed (it stopped on a numerical
// failure), resume (a checkpoint of an unfinished run) or new (no file).
std::string Status(const std::string& path) {
  if (!fs::exists(path)) return "new";
  const std::optional<ArchiveGroup> training = ReadGroup(path, "training");
  if (!training) {
    throw std::runtime_error("'" + path +
                             "' exists but is not a training run; move it away or pick another "
                             "--dir");
  }
  for (const auto& [name, value] : training->attributes) {
    if (name != "termination") continue;
    const std::string t = std::get<std::string>(value);
    return t == "running" ? "resume" : t == "success" ? "done" : "failed";
  }
  return "resume";
}

std::string SelfPath() {
  std::vector<char> buf(4096);
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) throw std::runtime_error("ctrnn sweep: cannot find its own binary");
  return std::string(buf.data(), static_cast<size_t>(n));
}

// Starts `ctrnn train …` for the job with stdout and stderr appended to its log.
pid_t Start(const std::string& self, const Job& job, std::optional<std::int64_t> iterations) {
  std::vector<std::string> args = {self, "train"};
  if (job.status == "resume") {
    args.insert(args.end(), {"--resume", job.output});
  } else {
    args.insert(args.end(), {job.config, "--seed", std::to_string(job.seed), "-o", job.output});
    if (iterations) args.insert(args.end(), {"--iterations", std::to_string(*iterations)});
  }
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("ctrnn sweep: fork failed");
  if (pid == 0) {
    const int fd = ::open(job.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(self.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

int Sweep(const SweepArgs& args) {
  if (args.configs.empty()) throw std::invalid_argument("ctrnn sweep: no configs given");
  const std::vector<std::int64_t> seeds = ParseSeeds(args.seeds);
  fs::create_directories(args.output_dir);
  std::vector<Job> jobs;
  for (const std::string& config : args.configs) {
    if (!fs::is_regular_file(config)) {
      throw std::invalid_argument("ctrnn sweep: config '" + config + "': no such file");
    }
    for (std::int64_t seed : seeds) {
      Job job;
      job.config = config;
      job.seed = seed;
      const std::string stem = fs::path(config).stem().string() + "_seed" + std::to_string(seed);
      job.output = (fs::path(args.output_dir) / (stem + ".h5")).string();
      job.log = (fs::path(args.output_dir) / (stem + ".log")).string();
      job.status = Status(job.output);
      jobs.push_back(job);
    }
  }
  std::map<std::string, int> counts;
  for (const Job& j : jobs) ++counts[j.status];
  const std::int64_t parallel =
      args.jobs > 0 ? args.jobs : std::max<std::int64_t>(1, std::thread::hardware_concurrency());
  std::cout << jobs.size() << " runs (" << args.configs.size() << " configs x " << seeds.size()
            << " seeds): " << counts["done"] << " done, " << counts["failed"] << " failed, "
            << counts["resume"] << " to resume, " << counts["new"] << " new; " << parallel
            << " at a time\n"
            << std::flush;
  if (args.dry_run) {
    for (const Job& j : jobs) std::cout << "  " << j.status << "  " << j.output << "\n";
    return 0;
  }
  const std::string self = SelfPath();
  const auto start = std::chrono::steady_clock::now();
  std::map<pid_t, std::pair<const Job*, std::chrono::steady_clock::time_point>> running;
  size_t next = 0, finished = 0, failures = 0;
  auto launch = [&] {
    while (next < jobs.size() && static_cast<std::int64_t>(running.size()) < parallel) {
      const Job& j = jobs[next++];
      if (j.status == "done" || j.status == "failed") continue;
      running[Start(self, j, args.iterations)] = {&j, std::chrono::steady_clock::now()};
    }
  };
  launch();
  while (!running.empty()) {
    int raw = 0;
    const pid_t pid = ::waitpid(-1, &raw, 0);
    if (pid < 0) break;
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const Job& j = *it->second.first;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.second).count();
    running.erase(it);
    const int code = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    ++finished;
    if (code != 0) ++failures;
    std::cout << "[" << finished << "] " << (code == 0 ? "ok    " : "FAILED") << " " << j.output
              << "  (" << std::fixed << std::setprecision(1) << secs << " s, exit " << code
              << "; log " << j.log << ")\n"
              << std::defaultfloat << std::flush;
    launch();
  }
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "sweep: " << finished << " runs in " << std::fixed << std::setprecision(1) << total
            << " s, " << failures << " failed\n";
  return failures == 0 ? 0 : 3;
}

}  // namespace ctrnn::cli
