#!/usr/bin/env bash
# Training iterations against PyTorch (bench/bench_train.cc and bench/torch_train.py, one run):
# the MWG NM-RNN iteration (loss, gradient, AdamW; one thread, process CPU time, best of 5) and the
# timescales paper's parity step (N = 500, batch 256, 75 steps, SGD-Nesterov; 1 and 2 threads,
# wall-clock time, best of 5; a busy machine inflates both sides).
# Needs a Release build (scripts/build.sh; CTRNN_BUILD_DIR picks another build folder) and
# python3-torch (CTRNN_WITH_TORCH=1 scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CTRNN_BUILD_DIR:-build}
echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores;" \
  "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
ours=$(OMP_NUM_THREADS=1 "$build/ctrnn_bench" --benchmark_filter='^BM_(MwgTrainIteration|ParityTrainStep)' \
  --benchmark_repetitions=5 --benchmark_format=json 2>/dev/null)
peer=$(cd bench && OMP_NUM_THREADS=2 /usr/bin/python3 torch_train.py)
/usr/bin/python3 - "$ours" "$peer" <<'PY'
import json, math, sys
ours = json.loads(sys.argv[1])["benchmarks"]
peer = {p["name"]: p["ms_per_iteration"] for p in map(json.loads, filter(str.strip, sys.argv[2].splitlines()))}
ms = {}
for b in ours:
    if b.get("run_type") == "iteration":
        if b.get("error_occurred"):
            sys.exit(f"{b['name']}: {b.get('error_message')}")
        key = b["run_name"]
        t = b["cpu_time"] if key == "BM_MwgTrainIteration" else b["real_time"]
        ms[key] = min(ms.get(key, math.inf), t)  # time unit: ms
mwg = ms["BM_MwgTrainIteration"]
print(f"\n{'case':46s} {'ms':>9s} {'torch f64 ms':>13s} {'ratio':>7s} {'torch f32 ms':>13s} {'ratio':>7s}")
f64, f32 = peer["mwg_train_iteration_float64"], peer["mwg_train_iteration_float32"]
print(f"{'MWG NM-RNN iteration (1 thread, CPU time)':46s} {mwg:9.2f} {f64:13.2f} {f64 / mwg:6.1f}x"
      f" {f32:13.2f} {f32 / mwg:6.1f}x")
for threads in (1, 2):
    ours_t = ms[f"BM_ParityTrainStep/{threads}/real_time"]
    f64, f32 = peer[f"parity_train_step_float64_{threads}t"], peer[f"parity_train_step_float32_{threads}t"]
    print(f"{f'parity step N=500 B=256 T=75 ({threads} thread(s), wall)':46s} {ours_t:9.1f} {f64:13.1f}"
          f" {f64 / ours_t:6.1f}x {f32:13.1f} {f32 / ours_t:6.1f}x")
print("ratio = torch time / ctrnn time (> 1: ctrnn is faster). ctrnn computes in float64.")
PY
