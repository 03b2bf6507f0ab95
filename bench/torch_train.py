"""PyTorch peer of bench/bench_train.cc. Prints one JSON line per case:
{"name", "ms_per_iteration"} (the best of 5 rounds; process CPU time for the one-thread MWG
iteration, wall-clock time for the parity step, which runs on `threads` threads).

- mwg_train_iteration_<dtype>: the MWG NM-RNN of bench/torch_forward.py on its 40 training trials,
  masked MSE, loss.backward(), optax-style AdamW (torch.optim.AdamW, lr 1e-2, weight decay 1e-4)
  after element-wise clipping to [-1, 1]; one thread, eager.
- parity_train_step_<dtype>_<threads>t: the timescales paper's Variant A RNN (N = 500, leaky ReLU,
  zero diagonal, trainable tau clamped at 1, 100 heads of 2 logits, h0 = 0.1 U(0,1)) on 256 parity
  sequences of 75 digits, N = 2..19 active on heads 0..17, loss = sum of their cross-entropies,
  backward, clip_grad_norm_(2.0), SGD(lr 0.05, momentum 0.1, nesterov); eager.
"""
import json
import time

import torch
import torch.nn.functional as F

from torch_forward import init_params, mwg_inputs, rollout
from torch_gradient import mwg_targets


def best_ms(fn, clock, reps, rounds=5):
    for _ in range(2):
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = clock()
        for _ in range(reps):
            fn()
        best = min(best, (clock() - start) / reps)
    return best * 1e3


def mwg(dtype):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    p = {k: v.requires_grad_() for k, v in init_params(dtype).items()}
    u = mwg_inputs().to(dtype)
    target = mwg_targets(dtype)
    opt = torch.optim.AdamW(p.values(), lr=1e-2, weight_decay=1e-4)

    def step():
        opt.zero_grad()
        loss = ((rollout(p, u) - target) ** 2).mean()
        loss.backward()
        for v in p.values():
            v.grad.clamp_(-1.0, 1.0)
        opt.step()

    return best_ms(step, time.process_time, reps=10)


def parity(dtype, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    n, heads, b, steps = 500, 100, 256, 75
    lim = 1 / n ** 0.5
    uni = lambda *s, a=lim: (torch.rand(*s, dtype=dtype) * 2 - 1) * a  # noqa: E731
    p = {"tau": 1 + torch.rand(n, dtype=dtype), "W_in": uni(n, 1, a=1.0), "b_in": uni(n, a=1.0),
         "W_rec": uni(n, n), "b_rec": uni(n), "W_out": uni(2 * heads, n), "b_out": uni(2 * heads)}
    p = {k: v.requires_grad_() for k, v in p.items()}
    h0 = 0.1 * torch.rand(n, dtype=dtype)
    off_diagonal = 1 - torch.eye(n, dtype=dtype)
    digits = (torch.rand(steps, b, 1) < 0.5).to(dtype)
    active = list(range(18))
    labels = torch.stack([digits[steps - (i + 2):, :, 0].sum(0) % 2 for i in active], 1).long()
    opt = torch.optim.SGD(p.values(), lr=0.05, momentum=0.1, nesterov=True)

    def step():
        opt.zero_grad()
        alpha = 1 / p["tau"].clamp(min=1.0)
        w = p["W_rec"] * off_diagonal
        h = h0.expand(b, n)
        for t in range(steps):
            a = h @ w.T + p["b_rec"] + digits[t] @ p["W_in"].T + p["b_in"]
            h = F.leaky_relu((1 - alpha) * h + alpha * a, 0.01)
        logits = (h @ p["W_out"].T + p["b_out"]).view(b, heads, 2)
        loss = sum(F.cross_entropy(logits[:, i], labels[:, i]) for i in active)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(p.values(), 2.0)
        opt.step()

    return best_ms(step, time.perf_counter, reps=3)


def main():
    for dtype, name in ((torch.float64, "float64"), (torch.float32, "float32")):
        print(json.dumps({"name": f"mwg_train_iteration_{name}", "ms_per_iteration": mwg(dtype)}))
    for threads in (1, 2):
        for dtype, name in ((torch.float64, "float64"), (torch.float32, "float32")):
            print(json.dumps({"name": f"parity_train_step_{name}_{threads}t",
                              "ms_per_iteration": parity(dtype, threads)}), flush=True)


if __name__ == "__main__":
    main()
