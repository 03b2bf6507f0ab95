#!/usr/bin/env bash
# The Measure-Wait-Go experiment of the NM-RNN paper, end to end: train every model with every
# seed (ctrnn sweep: skips finished runs, resumes interrupted ones), evaluate each run's best
# parameters on the training set and on the extrapolation set, then build the tables and figures
# from the run files (experiments/mwg/results.py). Also, on the extrapolation set: every
# discrete-time-trained NM-RNN, LR-RNN and vanilla RNN run as the ODE it discretises (RK4 at
# dt = 0.1: _eval_ode), every NM-RNN with each s_k held at 0 (_eval_ablate_s<k>, spec §4.2), and
# the PCA of the NM-RNN's x (ctrnn pca, into _eval_extrapolation).
#
#   experiments/mwg/run.sh [SEEDS] [CONFIGS...]     # default: seeds 0-9, the four Euler configs
#
# Needs a build (scripts/build.sh). CTRNN_MWG_RUNS and CTRNN_MWG_RESULTS override the run and
# results folders (data/runs/mwg, experiments/mwg/results); CTRNN_BIN the binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=${1:-0-9}
shift || true
configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
  configs=(experiments/mwg/nm_rnn.toml experiments/mwg/lr_rnn.toml experiments/mwg/rnn.toml
           experiments/mwg/lstm.toml)
fi
out=${CTRNN_MWG_RUNS:-data/runs/mwg}
bin=${CTRNN_BIN:-build/ctrnn}
"$bin" sweep "${configs[@]}" --seeds "$seeds" -d "$out"
for f in "$out"/*_seed*.h5; do
  case "$f" in *_eval_*) continue ;; esac
  for set in train extrapolation; do
    e="${f%.h5}_eval_$set.h5"
    if [ ! -f "$e" ] || [ "$e" -ot "$f" ]; then
      "$bin" evaluate "$f" --best --set "$set" -o "$e" > /dev/null
    fi
  done
  stem=$(basename "${f%.h5}")
  fresh() { [ ! -f "$1" ] || [ "$1" -ot "$f" ]; }
  case "$stem" in
    nm_rnn_seed* | lr_rnn_seed* | rnn_seed*)
      if fresh "${f%.h5}_eval_ode.h5"; then
        "$bin" evaluate "$f" --best --set extrapolation --stepper rk4 --dt 0.1 \
          -o "${f%.h5}_eval_ode.h5" > /dev/null
      fi
      ;;
  esac
  case "$stem" in
    nm_rnn_seed*)
      for k in 0 1 2; do  # the MWG NM-RNN has R = 3
        if fresh "${f%.h5}_eval_ablate_s$k.h5"; then
          "$bin" evaluate "$f" --best --set extrapolation --clamp-s "$k=0" \
            -o "${f%.h5}_eval_ablate_s$k.h5" > /dev/null
        fi
      done
      "$bin" pca "${f%.h5}_eval_extrapolation.h5" --block x --components 10 > /dev/null
      ;;
  esac
done
/usr/bin/python3 experiments/mwg/results.py "$out" -o "${CTRNN_MWG_RESULTS:-experiments/mwg/results}"
