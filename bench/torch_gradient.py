"""PyTorch peer of bench/bench_gradient.cc: loss + gradient of the MWG NM-RNN (N=100, R=3, M=5) on
its 40 training trials, 110 Euler steps at dt = 1 (the update of bench/torch_forward.py, spec
nmrnn.md §1.2, with Q = qr(U) inside the graph), masked MSE against the MWG targets, loss.backward(),
eager mode, one thread. Prints one JSON line per dtype: {"name", "ms_per_loss_and_gradient",
"ms_per_loss", "ms_per_loss_with_graph", "wall_ms_per_loss_and_gradient"} (ms_per_loss: the forward
under torch.no_grad(); ms_per_loss_with_graph: the forward that records the graph, without
backward). Times are the best of 5 rounds in process CPU time, as Google Benchmark's "CPU" column
(on a busy machine wall-clock time also counts other processes); the wall-clock time of the main
quantity is given for comparison."""
import json
import sys
import time

import torch

from torch_forward import init_params, mwg_inputs, rollout


def mwg_targets(dtype):
    """y*(t) = -0.5 + clip((t - t_go)/I, 0, 1), compared with the output after bin t (mask = 1)."""
    y = torch.zeros(110, 40, 1, dtype=dtype)
    t = torch.arange(110, dtype=dtype)
    for j in range(40):
        interval, t_m = (12, 14, 16, 18)[j // 10], 10 + j % 10
        t_go = t_m + interval + 15
        y[:, j, 0] = -0.5 + ((t - t_go) / interval).clamp(0.0, 1.0)
    return y


def loss_fn(p, u, target, mask):
    return ((rollout(p, u) - target) ** 2 * mask).sum() / mask.sum()


def best_ms(fn, clock=time.process_time, reps=20, rounds=5):
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = clock()
        for _ in range(reps):
            fn()
        best = min(best, (clock() - start) / reps)
    return best * 1e3


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    for dtype in (torch.float64, torch.float32):
        p = init_params(dtype)
        for v in p.values():
            v.requires_grad_(True)
        u = mwg_inputs().to(dtype)
        target = mwg_targets(dtype)
        mask = torch.ones_like(target)

        def loss_and_gradient():
            for v in p.values():
                v.grad = None
            loss_fn(p, u, target, mask).backward()

        def loss_only():
            with torch.no_grad():
                loss_fn(p, u, target, mask)

        def loss_with_graph():
            loss_fn(p, u, target, mask)

        print(json.dumps({"name": f"torch_{str(dtype).split('.')[-1]}_eager",
                          "ms_per_loss_and_gradient": best_ms(loss_and_gradient),
                          "ms_per_loss": best_ms(loss_only),
                          "ms_per_loss_with_graph": best_ms(loss_with_graph),
                          "wall_ms_per_loss_and_gradient": best_ms(loss_and_gradient,
                                                                   time.perf_counter)}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
