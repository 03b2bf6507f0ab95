#include "lib/version.h"

#include "ctrnn_git_revision.h"  // generated at build time: CTRNN_GIT_REVISION

namespace ctrnn {

std::string Version() { return CTRNN_VERSION; }
std::string GitRevision() { return CTRNN_GIT_REVISION; }

}  // namespace ctrnn
