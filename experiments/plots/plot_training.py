"""Plots a training run and its evaluations: the loss curve, outputs against targets on each
evaluation set, and s(t) for an NM-RNN.

    /usr/bin/python3 experiments/plots/plot_training.py RUN.h5 [EVAL.h5 ...]

Writes <RUN>_loss.png next to RUN.h5 and <EVAL>_outputs.png (and <EVAL>_s.png) next to each
evaluation file. Reads only the layout of data/SCHEMA.md."""
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def stem(path):
    return os.path.splitext(path)[0]


def plot_loss(run):
    with h5py.File(run, "r") as f:
        tr = f["training"]
        it, loss = tr["iteration"][...], tr["loss"][...]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.semilogy(it, loss, lw=1.2, label="training loss")
        if "eval" in tr and "loss" in tr["eval"]:
            ax.semilogy(tr["eval"]["iteration"][...], tr["eval"]["loss"][...], "o", ms=3,
                        label="evaluation loss")
        ax.set_xlabel("iteration")
        ax.set_ylabel("loss")
        ax.set_title(f"{f['model'].attrs['kind']} on {f['config'].attrs.get('task.name', '?')}: "
                     f"final {loss[-1]:.3g}, best {tr.attrs['best_loss']:.3g}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        out = stem(run) + "_loss.png"
        fig.savefig(out, dpi=120)
        print("wrote", out)


def plot_eval(path):
    with h5py.File(path, "r") as f:
        traj = f["trajectories"]
        times, edges = traj.attrs["times"], traj.attrs["edge_index"]
        y = traj["y"][...]
        targets = f["batch"]["targets"][...] if "targets" in f["batch"] else None
        n = y.shape[0]
        trials = list(range(n)) if n <= 12 else list(range(0, n, max(1, n // 8)))
        colors = plt.cm.viridis(np.linspace(0.05, 0.95, len(trials)))
        fig, ax = plt.subplots(figsize=(7, 4))
        for j, c in zip(trials, colors):
            ax.plot(times, y[j, :, 0], color=c, lw=1.2)
            if targets is not None:
                ax.plot(times[edges[1:]], targets[j, :, 0], color=c, ls="--", lw=0.8)
        ev = f["evaluation"].attrs
        ax.set_title(f"outputs (solid) and targets (dashed); loss {ev.get('loss', float('nan')):.3g}")
        ax.set_xlabel("time (steps)")
        ax.set_ylabel("y")
        fig.tight_layout()
        out = stem(path) + "_outputs.png"
        fig.savefig(out, dpi=120)
        print("wrote", out)
        if "s" in traj:
            s = traj["s"][...]
            k = s.shape[2]
            fig, axes = plt.subplots(1, k, figsize=(3.2 * k, 3), sharey=True, squeeze=False)
            for r in range(k):
                for j, c in zip(trials, colors):
                    axes[0, r].plot(times, s[j, :, r], color=c, lw=1)
                axes[0, r].set_title(f"s_{r + 1}(t)")
                axes[0, r].set_xlabel("time (steps)")
            fig.tight_layout()
            out = stem(path) + "_s.png"
            fig.savefig(out, dpi=120)
            print("wrote", out)


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    plot_loss(argv[1])
    for path in argv[2:]:
        plot_eval(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
