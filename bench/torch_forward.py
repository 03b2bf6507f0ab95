"""PyTorch peer of bench/bench_forward.cc: the MWG NM-RNN (N=100, R=3, M=5), 40 trials x 110 Euler
steps at dt = 1, the same update as ctrnn's (spec nmrnn.md §1.2), eager mode, one thread.
Prints one JSON line per dtype: {"name", "us_per_step", "us_per_rollout"}."""
import json
import sys
import time

import torch


def mwg_inputs():
    u = torch.zeros(110, 40, 3, dtype=torch.float64)
    for j in range(40):
        interval, t_m = (12, 14, 16, 18)[j // 10], 10 + j % 10
        u[t_m, j, 0] = 10.0
        u[t_m + interval, j, 1] = 10.0
        u[t_m + interval + 15, j, 2] = 10.0
    return u


def rollout(p, u, tau_x=10.0, tau_z=100.0):
    q, _ = torch.linalg.qr(p["U"])
    b = u.shape[1]
    z = torch.full((b, 5), 0.1, dtype=u.dtype)
    x = torch.full((b, 100), 0.1, dtype=u.dtype)
    ys = []
    for t in range(u.shape[0]):
        z = (1 - 1 / tau_z) * z + (1 / tau_z) * (torch.tanh(z) @ p["W_z"].T + u[t] @ p["B_z"].T)
        s = torch.sigmoid(z @ p["A_z"].T + p["b_z"])
        h = torch.tanh(x) @ p["V"]
        x = (1 - 1 / tau_x) * x + (1 / tau_x) * ((s * h) @ q.T + u[t] @ p["B_x"].T)
        ys.append(x @ p["C"].T + p["d"])
    return torch.stack(ys)


def init_params(dtype):
    """The NM-RNN initialisation of spec nmrnn.md §1.2 (N=100, R=3, M=5, U=3, O=1)."""
    g = lambda *shape: torch.randn(*shape, dtype=dtype)  # noqa: E731
    return {"U": g(100, 3), "V": g(100, 3), "B_x": g(100, 3) / 3 ** 0.5, "C": g(1, 100) / 10,
            "d": g(1) / 10, "W_z": 0.1 * g(5, 5), "B_z": g(5, 3) / 3 ** 0.5,
            "A_z": 0.1 * g(3, 5), "b_z": 0.1 * g(3)}


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    for dtype in (torch.float64, torch.float32):
        p = init_params(dtype)
        u = mwg_inputs().to(dtype)
        with torch.no_grad():
            for _ in range(5):
                rollout(p, u)
            reps, best = 30, float("inf")
            for _ in range(5):
                start = time.perf_counter()
                for _ in range(reps):
                    rollout(p, u)
                best = min(best, (time.perf_counter() - start) / reps)
        print(json.dumps({"name": f"torch_{str(dtype).split('.')[-1]}_eager",
                          "us_per_rollout": best * 1e6, "us_per_step": best * 1e6 / 110}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
