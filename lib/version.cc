#include "lib/version.h"

namespace ctrnn {

std::string Version() { return CTRNN_VERSION; }
std::string GitRevision() { return CTRNN_GIT_REVISION; }

}  // namespace ctrnn
