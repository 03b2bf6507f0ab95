"""Builds the MWG results (NM-RNN paper Fig. 3C/D/E) from run files alone.

    /usr/bin/python3 experiments/mwg/results.py data/runs/mwg -o experiments/mwg/results

Reads every <model>_seed<k>.h5 training run in the directory and its evaluation files
<model>_seed<k>_eval_train.h5 and <model>_seed<k>_eval_extrapolation.h5 (written by
experiments/mwg/run.sh with `ctrnn evaluate --best`), and writes:

- results.md and results.csv: per model, mean ± std over seeds of the MSE on the 40 training
  trials and on the extrapolation set's short (I = 4..10), trained (12..18) and long (20..26)
  intervals; the mean |produced − target| interval per group; parameters; training seconds.
- loss.png (losses per group and model), intervals.png (produced vs target interval),
  s_go.png (the NM-RNN's s(t) aligned to the go cue, first seed).

The produced interval of a trial is the first bin t with y > 0.9·max y, minus the go bin (spec
nmrnn.md §4.1). Only the layout of data/SCHEMA.md is read."""
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

GROUPS = {"short": slice(0, 4), "trained": slice(4, 8), "long": slice(8, 12)}
TARGETS = np.array([4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26])


def eval_arrays(path):
    """Outputs at the bin ends (B, T), targets (B, T), go bin per trial, s at the bin ends."""
    with h5py.File(path, "r") as f:
        traj = f["trajectories"]
        edges = traj.attrs["edge_index"]
        y = traj["y"][:, edges[1:], 0]
        targets = f["batch/targets"][:, :, 0]
        go = np.argmax(f["batch/inputs"][:, :, 2] > 0, axis=1)
        s = traj["s"][:, edges[1:], :] if "s" in traj else None
    return y, targets, go, s


def produced_intervals(y, go):
    out = np.full(y.shape[0], np.nan)
    for j in range(y.shape[0]):
        above = np.nonzero(y[j] > 0.9 * y[j].max())[0]
        if above.size:
            out[j] = above[0] - go[j]
    return out


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
        model, seed = m.group(1), int(m.group(2))
        ev_train = path[:-3] + "_eval_train.h5"
        ev_extra = path[:-3] + "_eval_extrapolation.h5"
        if not (os.path.exists(ev_train) and os.path.exists(ev_extra)):
            print(f"skipping {path}: evaluation files missing")
            continue
        with h5py.File(path, "r") as f:
            done = f["training"].attrs["termination"]
            row = {"seed": seed, "termination": done,
                   "seconds": float(f["meta"].attrs.get("wall_clock_s", np.nan)),
                   "params": int(f["model"].attrs["num_params"]),
                   "kind": f["model"].attrs["kind"], "stepper": "",
                   "iterations": int(f["training"].attrs["iterations"])}
        with h5py.File(ev_train, "r") as f:
            row["train_mse"] = float(f["evaluation"].attrs["loss"])
        y, targets, go, s = eval_arrays(ev_extra)
        produced = produced_intervals(y, go)
        for g, sl in GROUPS.items():
            row[f"{g}_mse"] = float(np.mean((y[sl] - targets[sl]) ** 2))
            row[f"{g}_interval_error"] = float(np.nanmean(np.abs(produced[sl] - TARGETS[sl])))
        row["produced"] = produced
        row["s"], row["go"] = s, go
        runs[model].append(row)
    if not runs:
        raise SystemExit(f"no complete runs in {args.dir}")

    cols = ["train_mse", "short_mse", "trained_mse", "long_mse", "short_interval_error",
            "trained_interval_error", "long_interval_error"]
    lines = ["| model | kind | params | seeds | " + " | ".join(cols) + " | train s/run |",
             "|---|---|---|---|" + "---|" * len(cols) + "---|"]
    with open(os.path.join(args.outdir, "results.csv"), "w", newline="") as fcsv:
        w = csv.writer(fcsv)
        w.writerow(["model", "kind", "params", "seeds"] + [f"{c}_{s}" for c in cols
                                                          for s in ("mean", "std")]
                   + ["seconds_mean"])
        for model, rows in sorted(runs.items()):
            vals = {c: np.array([r[c] for r in rows]) for c in cols}
            secs = np.mean([r["seconds"] for r in rows])
            cells = [f"{vals[c].mean():.4g} ± {vals[c].std():.2g}" for c in cols]
            lines.append(f"| {model} | {rows[0]['kind']} | {rows[0]['params']} | {len(rows)} | "
                         + " | ".join(cells) + f" | {secs:.0f} |")
            w.writerow([model, rows[0]["kind"], rows[0]["params"], len(rows)]
                       + [x for c in cols for x in (vals[c].mean(), vals[c].std())] + [secs])
    with open(os.path.join(args.outdir, "results.md"), "w") as fmd:
        fmd.write("MSE: mean ± std over seeds (population std). interval_error: mean |produced − "
                  "target| interval in steps.\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))

    models = sorted(runs)
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        means = [np.mean([r[f"{g}_mse"] for r in runs[model]]) for g in ["train"] + list(GROUPS)]
        stds = [np.std([r[f"{g}_mse"] for r in runs[model]]) for g in ["train"] + list(GROUPS)]
        ax.bar(np.arange(4) + i * width, means, width, yerr=stds, label=model)
    ax.set_xticks(np.arange(4) + 0.4 - width / 2)
    ax.set_xticklabels(["training set", "short (4-10)", "trained (12-18)", "long (20-26)"])
    ax.set_yscale("log")
    ax.set_ylabel("MSE")
    ax.axhline(0.227, color="gray", ls=":", lw=1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(args.outdir, "loss.png"), dpi=120)

    fig, ax = plt.subplots(figsize=(5, 4))
    for model in models:
        p = np.array([r["produced"] for r in runs[model]])
        ax.errorbar(TARGETS, np.nanmean(p, 0), yerr=np.nanstd(p, 0), marker="o", ms=3, label=model)
    ax.plot(TARGETS, TARGETS, "k--", lw=1)
    ax.axvspan(11, 19, color="gray", alpha=0.15)
    ax.set_xlabel("target interval (steps)")
    ax.set_ylabel("produced interval (steps)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(args.outdir, "intervals.png"), dpi=120)

    nm = [m for m in models if runs[m][0]["s"] is not None]
    if nm:
        r = runs[nm[0]][0]
        s, go = r["s"], r["go"]
        fig, axes = plt.subplots(1, s.shape[2], figsize=(3.2 * s.shape[2], 3), sharey=True)
        for k, ax in enumerate(np.atleast_1d(axes)):
            for j, c in zip(range(12), plt.cm.viridis(np.linspace(0, 1, 12))):
                t = np.arange(s.shape[1]) - go[j]
                keep = (t >= -20) & (t < 40)
                ax.plot(t[keep], s[j, keep, k], color=c, lw=1)
            ax.set_title(f"{nm[0]}: s_{k + 1}, aligned to go")
            ax.set_xlabel("t − t_go (steps)")
        fig.tight_layout()
        fig.savefig(os.path.join(args.outdir, "s_go.png"), dpi=120)
    print("wrote", args.outdir)


if __name__ == "__main__":
    main()
