#!/usr/bin/env bash
# The multitask experiment of the NM-RNN paper, end to end: train the four models on three tasks,
# retrain each (same seed) on MemoryAnti with only its NM subnetwork or input weights, evaluate on
# the paper's fixed test trials, and build the table (experiments/multitask/results.py).
#
#   experiments/multitask/run.sh [SEEDS]     # default 0-9, the paper's budget (100k + 50k)
#
# Needs a build (scripts/build.sh). Environment:
#   CTRNN_BIN                  the binary (default build/ctrnn)
#   CTRNN_JOBS                 runs at a time (default: one per core)
#   CTRNN_MT_ITERATIONS        training iterations instead of the configs' 100k
#   CTRNN_MT_RETRAIN_ITERATIONS  retraining iterations instead of the configs' 50k
# A shortened budget writes its runs to data/runs/multitask_<train>_<retrain> and its table to
# experiments/multitask/results_<train>_<retrain>, so it never mixes with full-budget runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=${1:-0-9}
bin=${CTRNN_BIN:-build/ctrnn}
jobs=()
[ -n "${CTRNN_JOBS:-}" ] && jobs=(-j "$CTRNN_JOBS")
out=data/runs/multitask
results=experiments/multitask/results
train_it=() retrain_it=()
if [ -n "${CTRNN_MT_ITERATIONS:-}${CTRNN_MT_RETRAIN_ITERATIONS:-}" ]; then
  n=${CTRNN_MT_ITERATIONS:-100000}
  r=${CTRNN_MT_RETRAIN_ITERATIONS:-50000}
  train_it=(--iterations "$n")
  retrain_it=(--iterations "$r")
  out=${out}_${n}_${r}
  results=${results}_${n}_${r}
fi
models=(nm_rnn lr_rnn rnn lstm)
train=() retrain=()
for m in "${models[@]}"; do
  train+=("experiments/multitask/$m.toml")
  retrain+=("experiments/multitask/${m}_retrain.toml")
done
# The retraining configs start from "{dir}/<model>_seed{seed}.h5": the trained runs of this $out.
"$bin" sweep "${train[@]}" --seeds "$seeds" -d "$out" "${jobs[@]}" "${train_it[@]}" |
  sed 's/^/train: /'
"$bin" sweep "${retrain[@]}" --seeds "$seeds" -d "$out" "${jobs[@]}" "${retrain_it[@]}" |
  sed 's/^/retrain: /'
for f in "$out"/*_seed*.h5; do
  case "$f" in *_eval_* | *_fp_*) continue ;; esac
  case "$f" in *_retrain_*) set=test_heldout ;; *) set=test ;; esac
  e="${f%.h5}_eval_$set.h5"
  if [ ! -f "$e" ] || [ "$e" -ot "$f" ]; then
    "$bin" evaluate "$f" --best --set "$set" -o "$e" > /dev/null
  fi
  # The Euler-trained continuous-time networks run as their ODE (RK4, dt = 0.1) on the test set.
  case "$(basename "$f")" in lstm* | *_retrain_*) continue ;; esac
  e="${f%.h5}_eval_ode_test.h5"
  if [ ! -f "$e" ] || [ "$e" -ot "$f" ]; then
    "$bin" evaluate "$f" --best --set test --stepper rk4 --dt 0.1 -o "$e" > /dev/null
  fi
done
# The trained NM-RNN (spec §4.1, Fig. 4): PCA of x on the 75 test trials, and the fixed points of
# the full (z, x) system under each task's response-epoch input (fixation off, context on; the
# Delay tasks' stimulus at θ = 0, (sin, cos) = (0, 1); the Memory task's stimulus off).
for f in "$out"/nm_rnn_seed*_eval_test.h5; do
  [ -f "$f" ] || continue
  "$bin" pca "$f" --block x --components 10 > /dev/null
  for task in delay_pro:0,0,1,1,0,0 delay_anti:0,0,1,0,1,0 memory_pro:0,0,0,0,0,1; do
    fp="${f%_eval_test.h5}_fp_${task%%:*}.h5"
    if [ ! -f "$fp" ] || [ "$fp" -ot "$f" ]; then
      cp "$f" "$fp.tmp" && "$bin" fixed-points "$fp.tmp" --input "${task#*:}" > /dev/null
      mv "$fp.tmp" "$fp"
    fi
  done
done
/usr/bin/python3 experiments/multitask/results.py "$out" -o "$results"
