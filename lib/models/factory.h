// Builds any model from its config table ([model] in a run config). Adding a model is one case
// here.
//
//   kind = "ctrnn" | "low_rank" | "nm_rnn" | "lstm" | "gru" | "discrete_rnn"
//
// Every key the model reads is recorded in `config` (defaults included), so config.ToToml() is the
// resolved model description the archive stores; unknown keys are left for Config::CheckAllUsed().
#ifndef CTRNN_LIB_MODELS_FACTORY_H_
#define CTRNN_LIB_MODELS_FACTORY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lib/config.h"
#include "lib/model.h"

namespace ctrnn {

// Throws std::invalid_argument naming the key and value on a bad or unknown kind or option.
// `seed` draws the initial parameters (and any random initial state).
std::unique_ptr<Model> MakeModel(Config* config, std::uint64_t seed);

std::vector<std::string> ModelKinds();

}  // namespace ctrnn

#endif  // CTRNN_LIB_MODELS_FACTORY_H_
