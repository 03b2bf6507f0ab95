// Version and provenance strings recorded in every output file's /meta.
#ifndef CTRNN_LIB_VERSION_H_
#define CTRNN_LIB_VERSION_H_

#include <string>

namespace ctrnn {

std::string Version();      // "0.1.0"
std::string GitRevision();  // short hash of the build's checkout, or "unknown"

}  // namespace ctrnn

#endif  // CTRNN_LIB_VERSION_H_
