"""Plots a ctrnn run file: outputs against targets, and s(t) for an NM-RNN.

    /usr/bin/python3 experiments/plots/plot_run.py data/runs/default.h5 [-o OUTDIR]

Writes OUTDIR/<run>_outputs.png (and <run>_s.png when the run recorded s). Reads only the layout
documented in data/SCHEMA.md."""
import argparse
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("-o", "--outdir", default=None)
    args = ap.parse_args()
    outdir = args.outdir or os.path.dirname(os.path.abspath(args.run))
    stem = os.path.splitext(os.path.basename(args.run))[0]
    with h5py.File(args.run, "r") as f:
        traj = f["trajectories"]
        times = traj.attrs["times"]
        edges = traj.attrs["edge_index"]
        y = traj["y"][...]
        kind = f["model"].attrs["kind"]
        targets = f["batch"]["targets"][...] if "batch" in f and "targets" in f["batch"] else None
        trials = list(range(0, y.shape[0], max(1, y.shape[0] // 4)))[:4]
        fig, ax = plt.subplots(figsize=(7, 4))
        for j, c in zip(trials, plt.cm.viridis([0.1, 0.35, 0.6, 0.85])):
            ax.plot(times, y[j, :, 0], color=c, label=f"trial {j}")
            if targets is not None:
                ax.plot(times[edges[1:]], targets[j, :, 0], color=c, ls="--", lw=1)
        ax.set_xlabel("time (steps)")
        ax.set_ylabel("output y (dashed: target)")
        ax.set_title(f"{kind}: outputs, {stem}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(outdir, f"{stem}_outputs.png")
        fig.savefig(path, dpi=120)
        print("wrote", path)
        if "s" in traj:
            s = traj["s"][...]
            fig, axes = plt.subplots(1, s.shape[2], figsize=(3.2 * s.shape[2], 3), sharey=True)
            for k, ax in enumerate(axes if s.shape[2] > 1 else [axes]):
                for j, c in zip(trials, plt.cm.viridis([0.1, 0.35, 0.6, 0.85])):
                    ax.plot(times, s[j, :, k], color=c)
                ax.set_title(f"s_{k + 1}(t)")
                ax.set_xlabel("time (steps)")
            fig.tight_layout()
            path = os.path.join(outdir, f"{stem}_s.png")
            fig.savefig(path, dpi=120)
            print("wrote", path)


if __name__ == "__main__":
    main()
