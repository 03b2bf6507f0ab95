"""Builds the Element Finder results (NM-RNN paper Fig. 5B/C) from run files alone.

    /usr/bin/python3 experiments/eft/results.py data/runs/eft -o experiments/eft/results

For every configuration (<config>_seed<k>.h5 training runs): the final evaluation MSE (the last
/training/eval loss, on eval_trials fresh trials) as mean ± std over seeds, parameters and training
seconds (results.md, results.csv); and the training-loss curves, mean over seeds with the seeds'
range shaded (curves.png). Chance (predicting 0) is 36.67 (spec nmrnn.md §2.3)."""
import argparse
import collections
import csv
import glob
import os
import re

import h5py
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("-o", "--outdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    runs = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(args.dir, "*_seed*.h5"))):
        m = re.match(r"(.+)_seed(\d+)\.h5$", os.path.basename(path))
        if not m:
            continue
        with h5py.File(path, "r") as f:
            if f["training"].attrs["termination"] == "running":
                print(f"skipping {path}: unfinished")
                continue
            runs[m.group(1)].append({
                "final": float(f["training/eval/loss"][-1]),
                "iteration": f["training/iteration"][...], "loss": f["training/loss"][...],
                "params": int(f["model"].attrs["num_params"]),
                "seconds": float(f["meta"].attrs.get("wall_clock_s", np.nan))})
    if not runs:
        raise SystemExit(f"no finished runs in {args.dir}")
    lines = ["| configuration | params | seeds | final MSE | best seed | train s/run |",
             "|---|---|---|---|---|---|"]
    with open(os.path.join(args.outdir, "results.csv"), "w", newline="") as fcsv:
        w = csv.writer(fcsv)
        w.writerow(["configuration", "params", "seeds", "final_mse_mean", "final_mse_std",
                    "final_mse_min", "seconds_mean"])
        for name, rows in sorted(runs.items(), key=lambda kv: np.mean([r["final"] for r in kv[1]])):
            v = np.array([r["final"] for r in rows])
            secs = np.mean([r["seconds"] for r in rows])
            lines.append(f"| {name} | {rows[0]['params']} | {len(rows)} | {v.mean():.3g} ± "
                         f"{v.std():.2g} | {v.min():.3g} | {secs:.0f} |")
            w.writerow([name, rows[0]["params"], len(rows), v.mean(), v.std(), v.min(), secs])
    with open(os.path.join(args.outdir, "results.md"), "w") as fmd:
        fmd.write("Final evaluation MSE, mean ± std over seeds (population std); chance 36.67.\n\n"
                  + "\n".join(lines) + "\n")
    print("\n".join(lines))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, rows in sorted(runs.items()):
        n = min(len(r["loss"]) for r in rows)
        it = rows[0]["iteration"][:n]
        losses = np.array([r["loss"][:n] for r in rows])
        line, = ax.plot(it, losses.mean(0), label=name, lw=1.2)
        ax.fill_between(it, losses.min(0), losses.max(0), color=line.get_color(), alpha=0.15)
    ax.axhline(36.67, color="gray", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("training MSE (minibatch)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(args.outdir, "curves.png"), dpi=120)
    print("wrote", args.outdir)


if __name__ == "__main__":
    main()
