#!/usr/bin/env bash
# Fixed-point search on a trained N = 100 network: Ceres Levenberg-Marquardt with the analytic
# Jacobian (ctrnn's FindFixedPoints) against Adam on q (FixedPointFinder's method and schedule,
# written in bench/bench_fixed_points.cc), from the same 32 seeds at q <= 1e-20, one thread.
# Trains the built-in MWG NM-RNN (N = 100, M = 5, R = 3) for ITERATIONS (default 300) steps first.
# Needs a Release build of ctrnn and ctrnn_bench (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${ITERATIONS:-300}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores; one thread"
build/ctrnn train --iterations "$iterations" -o "$dir/mwg.h5" | tail -n 2
build/ctrnn evaluate "$dir/mwg.h5" -o "$dir/eval.h5" | tail -n 2   # trajectories for the seeds
CTRNN_FP_RUN="$dir/eval.h5" OMP_NUM_THREADS=1 build/ctrnn_bench \
  --benchmark_filter='BM_FixedPoints' --benchmark_repetitions="${REPETITIONS:-3}" \
  --benchmark_report_aggregates_only=true --benchmark_format=json 2>/dev/null >"$dir/bench.json"
/usr/bin/python3 - "$dir/bench.json" <<'PY'
import json, sys
rows = {b["run_name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]
        if b.get("aggregate_name") == "median"}
names = [
    ("BM_FixedPointsCeresLm/cholesky", "Ceres LM, Cholesky (default)"),
    ("BM_FixedPointsCeresLm/qr", "Ceres LM, QR"),
    ("BM_FixedPointsCeresLm/subspace", "Ceres LM, subspace (8 unknowns)"),
    ("BM_FixedPointsAdamOnQ/max_iters:5000/dq_rule:1", "Adam on q, FPF rule, 5000 max"),
    ("BM_FixedPointsAdamOnQ/max_iters:50000/dq_rule:0", "Adam on q, until q <= 1e-20"),
]
adam = rows["BM_FixedPointsAdamOnQ/max_iters:50000/dq_rule:0"]
print(f"{'method (32 seeds, N = 100 NM-RNN)':34s} {'wall ms':>8s} {'CPU ms':>8s} {'iters':>6s} "
      f"{'at 1e-20':>9s} {'max q':>8s} {'median q':>8s} {'Adam/this CPU':>13s}")
for key, label in names:
    b = rows[key]
    print(f"{label:34s} {b['real_time']:8.1f} {b['cpu_time']:8.1f} {b['solver_iterations']:6.0f} "
          f"{b['seeds_at_tol']:4.0f} / {b['seeds']:2.0f} {b['max_q']:8.1e} {b['median_q']:8.1e} "
          f"{adam['cpu_time'] / b['cpu_time']:12.1f}x")
print("iters: LM iterations summed over the seeds; Adam: joint steps over all seeds.")
print("Adam/this: CPU time of Adam run until every seed has q <= 1e-20, over this row's.")
PY
