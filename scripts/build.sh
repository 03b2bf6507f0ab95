#!/usr/bin/env bash
# Configures and builds ctrnn in build/ (Release): the given targets, or everything.
# CMake options can be passed through CTRNN_CMAKE_ARGS (e.g. "-DCTRNN_NATIVE=ON").
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC2086
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${CTRNN_CMAKE_ARGS:-} >/dev/null
if [ $# -eq 0 ]; then
  cmake --build build -j"$(nproc)"
else
  for target in "$@"; do cmake --build build -j"$(nproc)" --target "$target"; done
fi
