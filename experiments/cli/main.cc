// ctrnn: the command line. `ctrnn --help` lists the subcommands.
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "experiments/cli/commands.h"
#include "lib/version.h"

int main(int argc, char** argv) {
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);

  CLI::App app{"ctrnn: continuous-time recurrent neural networks for computational neuroscience"};
  app.set_version_flag("--version", ctrnn::Version() + " (" + ctrnn::GitRevision() + ")");
  app.require_subcommand(1);

  ctrnn::cli::SimulateArgs sim;
  sim.command_line = command_line;
  CLI::App* simulate =
      app.add_subcommand("simulate", "Integrate a model on a task batch and write a run file");
  simulate
      ->add_option(
          "config",
          sim.config_path,
          "TOML config ([model], [task], [integrator], seed); default: built-in MWG NM-RNN")
      ->check(CLI::ExistingFile);
  simulate->add_option("-o,--output", sim.output, "Run file to write (HDF5)")->required();
  int64_t seed = 0;
  std::string stepper;
  auto* seed_opt = simulate->add_option("--seed", seed, "Override the config's seed");
  auto* stepper_opt = simulate->add_option(
      "--stepper", stepper, "Override integrator.stepper (euler, rk4, dopri5)");
  bool print_default = false;
  simulate->add_flag(
      "--print-default-config", print_default, "Print the built-in default config and exit");

  ctrnn::cli::GradientArgs grad;
  grad.command_line = command_line;
  CLI::App* gradient = app.add_subcommand(
      "gradient", "Loss and exact gradient by adjoint sensitivity, written to a run file");
  gradient
      ->add_option("config",
                   grad.config_path,
                   "TOML config (also [loss], [gradient]); default: built-in MWG NM-RNN")
      ->check(CLI::ExistingFile);
  gradient->add_option("-o,--output", grad.output, "Run file to write (HDF5)")->required();
  int64_t grad_seed = 0;
  std::string grad_stepper, grad_method;
  auto* grad_seed_opt = gradient->add_option("--seed", grad_seed, "Override the config's seed");
  auto* grad_stepper_opt = gradient->add_option(
      "--stepper", grad_stepper, "Override integrator.stepper (euler, rk4, dopri5)");
  auto* grad_method_opt = gradient->add_option(
      "--method", grad_method, "Override gradient.method (discrete, interpolating)");
  gradient->add_flag("--check",
                     grad.check,
                     "Compare with central differences of the loss and print the worst error");

  std::string info_path;
  CLI::App* info = app.add_subcommand("info", "Summarise a run file");
  info->add_option("file", info_path, "Run file (HDF5)")->required();

  // --print-default-config needs no output file.
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--print-default-config") {
      std::cout << ctrnn::cli::kDefaultSimulateConfig;
      return 0;
    }
  }
  CLI11_PARSE(app, argc, argv);
  try {
    if (simulate->parsed()) {
      if (*seed_opt) sim.seed = seed;
      if (*stepper_opt) sim.stepper = stepper;
      return ctrnn::cli::Simulate(sim);
    }
    if (gradient->parsed()) {
      if (*grad_seed_opt) grad.seed = grad_seed;
      if (*grad_stepper_opt) grad.stepper = grad_stepper;
      if (*grad_method_opt) grad.method = grad_method;
      return ctrnn::cli::Gradient(grad);
    }
    if (info->parsed()) return ctrnn::cli::Info(info_path);
  } catch (const std::exception& e) {
    std::cerr << "ctrnn: error: " << e.what() << "\n";
    return 2;
  }
  return 1;
}
