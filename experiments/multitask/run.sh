#!/usr/bin/env bash
# The multitask experiment of the NM-RNN paper, end to end: train the four models on three tasks,
# retrain each (same seed) on MemoryAnti with only its NM subnetwork or input weights, evaluate on
# the paper's fixed test trials, and build the table (experiments/multitask/results.py).
#
#   experiments/multitask/run.sh [SEEDS]     # default 0-9
#
# Needs a build (scripts/build.sh). CTRNN_BIN picks the binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=${1:-0-9}
bin=${CTRNN_BIN:-build/ctrnn}
out=data/runs/multitask
models=(nm_rnn lr_rnn rnn lstm)
train=()
for m in "${models[@]}"; do train+=("experiments/multitask/$m.toml"); done
"$bin" sweep "${train[@]}" --seeds "$seeds" -d "$out" | sed 's/^/train: /'
retrain=()
for m in "${models[@]}"; do retrain+=("experiments/multitask/${m}_retrain.toml"); done
"$bin" sweep "${retrain[@]}" --seeds "$seeds" -d "$out" | sed 's/^/retrain: /'
for f in "$out"/*_seed*.h5; do
  case "$f" in *_eval_*) continue ;; esac
  case "$f" in *_retrain_*) set=test_heldout ;; *) set=test ;; esac
  e="${f%.h5}_eval_$set.h5"
  if [ ! -f "$e" ] || [ "$e" -ot "$f" ]; then
    "$bin" evaluate "$f" --best --set "$set" -o "$e" > /dev/null
  fi
done
/usr/bin/python3 experiments/multitask/results.py "$out" -o experiments/multitask/results
