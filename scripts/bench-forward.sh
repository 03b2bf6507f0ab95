#!/usr/bin/env bash
# Forward integration of the default batch (MWG NM-RNN, 40 trials x 110 Euler steps, one thread):
# ctrnn (Google Benchmark) and the same model in PyTorch (python3-torch), measured in one run.
# Needs a Release build (scripts/build.sh) and python3-torch (CTRNN_WITH_TORCH=1 scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores; one thread each"
ours=$(OMP_NUM_THREADS=1 build/ctrnn_bench --benchmark_filter='BM_Forward' --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_format=json 2>/dev/null)
peer=$(OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_forward.py)
/usr/bin/python3 - "$ours" "$peer" <<'PY'
import json, sys
ours = json.loads(sys.argv[1])["benchmarks"]
peer = [json.loads(l) for l in sys.argv[2].splitlines() if l.strip()]
rows = {}
for b in ours:
    if b.get("aggregate_name") == "median":
        rows[b["run_name"]] = b["real_time"] / b["steps"]  # time unit: us
torch64 = next(p["us_per_step"] for p in peer if p["name"] == "torch_float64_eager")
print(f"{'what':48s} {'us/step':>9s} {'vs torch f64':>12s}")
for name, us in rows.items():
    print(f"{'ctrnn ' + name:48s} {us:9.2f} {torch64 / us:11.1f}x")
for p in peer:
    print(f"{p['name']:48s} {p['us_per_step']:9.2f} {torch64 / p['us_per_step']:11.1f}x")
PY
