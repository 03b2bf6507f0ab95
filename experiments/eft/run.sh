#!/usr/bin/env bash
# The Element Finder experiment of the NM-RNN paper, end to end: train every configuration with
# every seed (ctrnn sweep), then build the table and the loss curves (experiments/eft/results.py).
#
#   experiments/eft/run.sh [SEEDS]     # default 0-9
#
# Needs a build (scripts/build.sh). CTRNN_BIN picks the binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=${1:-0-9}
bin=${CTRNN_BIN:-build/ctrnn}
"$bin" sweep experiments/eft/*.toml --seeds "$seeds" -d data/runs/eft
# Each run's best parameters on 1000 fresh trials (random q), with trajectories for the z(t), s(t),
# x(t) analyses of Fig. 5D-F; and every Euler-trained continuous-time network run as its ODE (RK4,
# dt = 0.1: _eval_ode).
for f in data/runs/eft/*_seed*.h5; do
  case "$f" in *_eval*.h5) continue ;; esac
  e="${f%.h5}_eval.h5"
  if [ ! -f "$e" ] || [ "$e" -ot "$f" ]; then
    "$bin" evaluate "$f" --best --trials 1000 -o "$e" > /dev/null
  fi
  case "$(basename "$f")" in lstm_* | *_rk4_*) continue ;; esac
  e="${f%.h5}_eval_ode.h5"
  if [ ! -f "$e" ] || [ "$e" -ot "$f" ]; then
    "$bin" evaluate "$f" --best --trials 1000 --stepper rk4 --dt 0.1 -o "$e" > /dev/null
  fi
done
/usr/bin/python3 experiments/eft/results.py data/runs/eft -o experiments/eft/results
