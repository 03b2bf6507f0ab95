#!/usr/bin/env bash
# The README's main job: install what is missing, build, then `ctrnn run`: train the default
# NM-RNN on Measure-Wait-Go, evaluate it on the trained and extrapolated intervals, write the run
# files and PNG plots under data/runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh ctrnn
build/ctrnn run -d data/runs
build/ctrnn info data/runs/mwg_nm_rnn.h5
