// Running the built `ctrnn` binary from tests (CTRNN_BINARY is set by CMake for ctrnn_tests).
#ifndef CTRNN_TESTS_CLI_TESTING_H_
#define CTRNN_TESTS_CLI_TESTING_H_

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace ctrnn::testing {

struct CommandResult {
  int status;          // exit status, -1 if the process did not exit normally
  std::string output;  // stdout and stderr
};

// `ctrnn ARGS`, with its output captured through a temporary log file.
inline CommandResult RunCtrnn(const std::string& args) {
  static std::atomic<int> counter{0};
  const std::filesystem::path log =
      std::filesystem::temp_directory_path() /
      ("ctrnn_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".log");
  const std::string cmd = std::string(CTRNN_BINARY) + " " + args + " > " + log.string() + " 2>&1";
  const int raw = std::system(cmd.c_str());
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(log);
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, text};
}

// The bytes of a file ("" if it cannot be read).
inline std::string FileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace ctrnn::testing

#endif  // CTRNN_TESTS_CLI_TESTING_H_
