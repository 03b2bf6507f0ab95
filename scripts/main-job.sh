#!/usr/bin/env bash
# The README's main job: install what is missing, build, simulate the built-in default (the MWG
# NM-RNN on its 40 training trials), summarise the run file and plot it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh ctrnn
mkdir -p data/runs
build/ctrnn simulate -o data/runs/default.h5
build/ctrnn info data/runs/default.h5
/usr/bin/python3 experiments/plots/plot_run.py data/runs/default.h5
