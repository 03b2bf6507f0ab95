#!/usr/bin/env bash
# τ_net of a trained 500-unit parity network (timescales spec §5.2): 10 trials × 101,000 steps,
# all cores and one thread, with the time split into simulation, FFT autocorrelation and fits.
# Needs a Release build (scripts/build.sh) and /work/shared/data/timescales_example_nets.h5 (or
# CTRNN_TIMESCALES_NETS pointing at a copy).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
build/ctrnn_bench --benchmark_filter="${1:-BM_NetworkTimescales/10/101000}" \
  --benchmark_counters_tabular=true
