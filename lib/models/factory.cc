#include "lib/models/factory.h"

#include <stdexcept>

#include "lib/models/ctrnn.h"
#include "lib/models/discrete_rnn.h"
#include "lib/models/gru.h"
#include "lib/models/low_rank.h"
#include "lib/models/lstm.h"
#include "lib/models/nm_rnn.h"

namespace ctrnn {

std::vector<std::string> ModelKinds() {
  return {"ctrnn", "low_rank", "nm_rnn", "lstm", "gru", "discrete_rnn"};
}

std::unique_ptr<Model> MakeModel(Config* config, std::uint64_t seed) {
  const std::string kind = config->GetString("kind", "nm_rnn", ModelKinds());
  if (kind == "ctrnn") return Ctrnn::FromConfig(config, seed);
  if (kind == "low_rank") return LowRank::FromConfig(config, seed);
  if (kind == "nm_rnn") return NmRnn::FromConfig(config, seed);
  if (kind == "lstm") return Lstm::FromConfig(config, seed);
  if (kind == "gru") return Gru::FromConfig(config, seed);
  if (kind == "discrete_rnn") return DiscreteRnn::FromConfig(config, seed);
  throw std::invalid_argument(config->path() + ".kind = \"" + kind + "\": no factory case");
}

}  // namespace ctrnn
