#!/usr/bin/env python3
"""Reference trajectories of PyTorch's optimizers for tests/test_optimizer.cc.

Each argument is one scenario, "key=value;key=value;...", with keys kind (adamw | adam | sgd), lr,
beta1, beta2, eps, weight_decay, momentum, dampening, nesterov (0/1), clip_value, clip_norm,
reset_every, steps and trainable (three 0/1 flags). The problem is fixed and must match the C++
test: theta0 = (1, -2, 0.5) and the gradient g(theta) = A (theta - c) with A and c below. Frozen
entries are not handed to the optimizer (nor to the clipping), as in the papers' code.
reset_every = k re-creates the optimizer after every k steps (the NM-RNN training loop's quirk).

Prints one line per scenario and step: "scenario step theta0 theta1 theta2" (step 1 is the state
after the first update), floats with 17 significant digits.
"""
import sys

import torch

A = [[12.0, 4.0, 0.0], [4.0, 8.0, 2.0], [0.0, 2.0, 4.0]]
C = [0.3, -0.7, 1.1]
THETA0 = [1.0, -2.0, 0.5]


def parse(spec):
    opts = {"kind": "adamw", "lr": "0.01", "beta1": "0.9", "beta2": "0.999", "eps": "1e-8",
            "weight_decay": "1e-4", "momentum": "0", "dampening": "0", "nesterov": "0",
            "clip_value": "0", "clip_norm": "0", "reset_every": "0", "steps": "10",
            "trainable": "1,1,1"}
    for item in spec.split(";"):
        if item:
            key, value = item.split("=", 1)
            if key not in opts:
                raise SystemExit(f"unknown key {key!r} in {spec!r}")
            opts[key] = value
    return opts


def make_optimizer(o, params):
    lr = float(o["lr"])
    if o["kind"] == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(float(o["beta1"]), float(o["beta2"])),
                                 eps=float(o["eps"]), weight_decay=float(o["weight_decay"]))
    if o["kind"] == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(float(o["beta1"]), float(o["beta2"])),
                                eps=float(o["eps"]), weight_decay=0.0)
    if o["kind"] == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=float(o["momentum"]),
                               dampening=float(o["dampening"]), nesterov=o["nesterov"] == "1")
    raise SystemExit(f"unknown kind {o['kind']!r}")


def run(index, o):
    theta = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in THETA0]
    mask = [f == "1" for f in o["trainable"].split(",")]
    params = [p for p, m in zip(theta, mask) if m]
    opt = make_optimizer(o, params)
    reset_every = int(o["reset_every"])
    for step in range(1, int(o["steps"]) + 1):
        with torch.no_grad():
            values = [p.item() for p in theta]
            for i, p in enumerate(theta):
                g = sum(A[i][j] * (values[j] - C[j]) for j in range(3))
                p.grad = torch.tensor(g, dtype=torch.float64)
        if float(o["clip_value"]) > 0:
            torch.nn.utils.clip_grad_value_(params, float(o["clip_value"]))
        if float(o["clip_norm"]) > 0:
            torch.nn.utils.clip_grad_norm_(params, float(o["clip_norm"]))
        opt.step()
        if reset_every > 0 and step % reset_every == 0:
            opt = make_optimizer(o, params)
        print(index, step, " ".join(f"{p.item():.17g}" for p in theta))


def main():
    torch.set_default_dtype(torch.float64)
    for index, spec in enumerate(sys.argv[1:]):
        run(index, parse(spec))


if __name__ == "__main__":
    main()
