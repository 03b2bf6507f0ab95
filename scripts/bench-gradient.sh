#!/usr/bin/env bash
# Loss + exact gradient of the default batch (MWG NM-RNN, 40 trials x 110 Euler steps at dt = 1,
# masked MSE, discrete adjoint, one thread): ctrnn (Google Benchmark, bench/bench_gradient.cc) and
# the same model in PyTorch (bench/torch_gradient.py, float64 and float32), measured in one run; then
# the peak memory of one gradient as the trajectory grows, with and without checkpoints.
# Times are process CPU time, best of 5 (on a shared machine wall-clock time counts the neighbours).
# Needs a Release build (scripts/build.sh; CTRNN_BUILD_DIR picks another build folder) and
# python3-torch (CTRNN_WITH_TORCH=1 scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CTRNN_BUILD_DIR:-build}
native=$(sed -n 's/^CTRNN_NATIVE:BOOL=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores; one thread each;" \
  "build: $build (CTRNN_NATIVE=${native:-?})"
ours=$(OMP_NUM_THREADS=1 "$build/ctrnn_bench" \
  --benchmark_filter='^BM_Gradient/|^BM_GradientEulerStepVjps$' --benchmark_repetitions=5 \
  --benchmark_format=json 2>/dev/null)
peer=$(OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_gradient.py)
memory=$("$build/ctrnn_bench" --benchmark_filter='^BM_GradientPeakMemory/' --benchmark_format=json \
  2>/dev/null)
/usr/bin/python3 - "$ours" "$peer" "$memory" <<'PY'
import json, math, sys
ours = json.loads(sys.argv[1])["benchmarks"]
peer = {p["name"]: p for p in map(json.loads, filter(str.strip, sys.argv[2].splitlines()))}
memory = json.loads(sys.argv[3])["benchmarks"]
ms = {}
for b in ours:
    if b.get("run_type") == "iteration":  # the repetitions; best of them (time unit: us)
        ms[b["run_name"]] = min(ms.get(b["run_name"], math.inf), b["cpu_time"] / 1e3)
t64 = peer["torch_float64_eager"]["ms_per_loss_and_gradient"]
t32 = peer["torch_float32_eager"]["ms_per_loss_and_gradient"]

print(f"\n{'loss + gradient (ms)':42s} {'ms':>8s} {'vs torch f64':>13s} {'vs torch f32':>13s}"
      f" {'backward/forward':>17s}")
for stepper in ("euler", "rk4", "dopri5"):
    grad = ms[f"BM_Gradient/{stepper}_loss_and_gradient"]
    loss = ms[f"BM_Gradient/{stepper}_loss_only"]
    print(f"{'ctrnn ' + stepper + ' loss + gradient':42s} {grad:8.2f} {t64 / grad:12.1f}x"
          f" {t32 / grad:12.1f}x {(grad - loss) / loss:17.2f}")
    print(f"{'ctrnn ' + stepper + ' loss only':42s} {loss:8.2f}")
print(f"{'ctrnn 110 EulerStepVjp (the backward steps)':42s}"
      f" {ms['BM_GradientEulerStepVjps']:8.2f}")
for name, p in peer.items():
    grad, loss = p["ms_per_loss_and_gradient"], p["ms_per_loss"]
    print(f"{name + ' loss + gradient':42s} {grad:8.2f} {t64 / grad:12.1f}x {t32 / grad:12.1f}x"
          f" {(grad - loss) / loss:17.2f}")
    print(f"{name + ' loss only (no_grad)':42s} {loss:8.2f}")
print("backward/forward = (loss + gradient - loss only) / loss only; target <= 2 for Euler."
      " vs torch = torch time / this time.")

print("\npeak resident memory of one Euler loss + gradient, MWG batch stretched to T bins"
      " (MiB [states stored])")
cells, setup, cols = {}, {}, []
for b in memory:
    if b.get("error_occurred"):
        sys.exit(f"memory benchmark failed: {b['name']}: {b.get('error_message')}")
    t, every = b["name"].split("/")[1:3]
    col = {"0": "no checkpoints", "-1": "every sqrt(T) bins"}.get(every, f"every {every} bins")
    if col not in cols:
        cols.append(col)
    cells[(int(t), col)] = (b["peak_MiB"], int(b["states"]), int(b["checkpoint_every_bins"]))
    setup[int(t)] = b["setup_MiB"]
print(f"{'T':>7s}" + "".join(f"{c:>22s}" for c in cols) + f"{'process before call':>21s}")
for t in sorted(setup):
    row = f"{t:7d}"
    for c in cols:
        mib, states, every = cells[(t, c)]
        label = f"{mib:.1f} [{states}]" + (f" k={every}" if c.startswith("every sqrt") else "")
        row += f"{label:>22s}"
    print(row + f"{setup[t]:21.1f}")
PY
