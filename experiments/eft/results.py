"""Builds the Element Finder results (NM-RNN paper Fig. 5B/C) from run files alone.

    /usr/bin/python3 experiments/eft/results.py data/runs/eft -o experiments/eft/results

For every configuration (<config>_seed<k>.h5 training runs): the final evaluation MSE (the last
/training/eval loss, on eval_trials fresh trials) as mean ± std over seeds, parameters and training
seconds (results.md, results.csv); and the training-loss curves, mean over seeds with the seeds'
range shaded (curves.png). Chance (predicting 0) is 36.67 (spec nmrnn.md §2.3).

From the evaluation files (<config>_seed<k>_eval.h5: best parameters, 1000 fresh trials) it also
measures the NM-RNN mechanism of Fig. 5D-F (dynamics.md, dynamics.png) in the seeds that learned
the task (best-θ MSE < 10; chance 36.67): whether z at the last step encodes the query q along a
line (the larger |corr| of PC1 or PC2 of z(T) with q), when s(t) switches relative to the arrival
of the queried element (the lag of the largest mean |Δs|, and the fraction of trials whose largest
|Δs| falls 0-2 steps after it), and whether x at the last step is ordered by the target along a
line (the larger |corr| of PC1 or PC2 of x(T) with the target)."""
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
        m = re.match(r"(.+)_seed(\d+)\.h5$", os.path.basename(path))  # not the _eval files
        if not m:
            continue
        with h5py.File(path, "r") as f:
            if f["training"].attrs["termination"] == "running":
                print(f"skipping {path}: unfinished")
                continue
            best, ode = (evaluation_loss(path[:-3] + suffix) for suffix in ("_eval.h5",
                                                                          "_eval_ode.h5"))
            runs[m.group(1)].append({
                "final": float(f["training/eval/loss"][-1]), "best": best, "ode": ode,
                "iteration": f["training/iteration"][...], "loss": f["training/loss"][...],
                "params": int(f["model"].attrs["num_params"]),
                "seconds": float(f["meta"].attrs.get("wall_clock_s", np.nan))})
    if not runs:
        raise SystemExit(f"no finished runs in {args.dir}")
    lines = ["| configuration | params | seeds | final MSE (last θ) | best seed | MSE of best θ "
             "(1000 trials) | best seed | best θ as ODE | train s/run |",
             "|---|---|---|---|---|---|---|---|---|"]
    with open(os.path.join(args.outdir, "results.csv"), "w", newline="") as fcsv:
        w = csv.writer(fcsv)
        w.writerow(["configuration", "params", "seeds", "final_mse_mean", "final_mse_std",
                    "final_mse_min", "best_theta_mse_mean", "best_theta_mse_std",
                    "best_theta_mse_min", "ode_mse_mean", "ode_mse_std", "seconds_mean"])
        for name, rows in sorted(runs.items(), key=lambda kv: np.mean([r["final"] for r in kv[1]])):
            v = np.array([r["final"] for r in rows])
            b = np.array([r["best"] for r in rows])
            o = np.array([r["ode"] for r in rows])
            secs = np.mean([r["seconds"] for r in rows])
            ode = f"{o.mean():.3g} ± {o.std():.2g}" if np.isfinite(o).all() else "-"
            lines.append(f"| {name} | {rows[0]['params']} | {len(rows)} | {v.mean():.3g} ± "
                         f"{v.std():.2g} | {v.min():.3g} | {b.mean():.3g} ± {b.std():.2g} | "
                         f"{b.min():.3g} | {ode} | {secs:.0f} |")
            w.writerow([name, rows[0]["params"], len(rows), v.mean(), v.std(), v.min(), b.mean(),
                        b.std(), b.min(), o.mean(), o.std(), secs])
    with open(os.path.join(args.outdir, "results.md"), "w") as fmd:
        fmd.write("MSE, mean ± std over seeds (population std); chance 36.67. final: the last "
                  "/training/eval loss (the parameters after 20k iterations); best θ: the "
                  "parameters with the lowest training minibatch loss, on 1000 fresh trials "
                  "(ctrnn evaluate --best); as ODE: the same parameters of an Euler-trained "
                  "network integrated by RK4 at dt = 0.1 instead of its training step.\n\n"
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
    dynamics(args.dir, args.outdir)
    print("wrote", args.outdir)


def evaluation_loss(path):
    if not os.path.exists(path):
        return np.nan
    with h5py.File(path, "r") as f:
        return float(f["evaluation"].attrs["loss"])


def top_pcs(a, k=2):
    """Scores on the first k principal components and their shares of the variance."""
    c = a - a.mean(0)
    _, sv, vt = np.linalg.svd(c, full_matrices=False)
    return c @ vt[:k].T, sv[:k] ** 2 / np.sum(sv ** 2)


def best_corr(scores, values):
    return max(abs(np.corrcoef(scores[:, i], values)[0, 1]) for i in range(scores.shape[1]))


LAGS = np.arange(-10, 11)
LEARNED = 10.0  # best-θ MSE below which a seed counts as having learned the task


def dynamics(run_dir, outdir):
    """Fig. 5D-F measured: z(T) encodes q, s switches after q + 1, x(T) ordered by target."""
    rows = collections.defaultdict(list)
    seeds = collections.Counter()
    example = None
    for path in sorted(glob.glob(os.path.join(run_dir, "nm_rnn_*_seed*_eval.h5"))):
        name = re.match(r"(.+)_seed(\d+)_eval\.h5$", os.path.basename(path)).group(1)
        with h5py.File(path, "r") as f:
            edges = f["trajectories"].attrs["edge_index"]
            z = f["trajectories/z"][:, edges, :]
            x = f["trajectories/x"][:, edges, :]
            s = f["trajectories/s"][:, edges, :]
            u = f["batch/inputs"][:, :, 0]
            loss = float(f["evaluation"].attrs["loss"])
        seeds[name] += 1
        if loss >= LEARNED:
            continue
        q = u[:, 0].astype(int)
        target = u[np.arange(len(q)), q + 1]
        z_2d, z_share = top_pcs(z[:, -1])
        x_2d, x_share = top_pcs(x[:, -1])
        # s at the end of step t is s[:, t + 1]; the queried element is the input of step q + 1.
        ds = np.linalg.norm(np.diff(s[:, 1:], axis=1), axis=2)  # ds[:, t - 1]: step t vs t - 1
        aligned = np.full((len(q), len(LAGS)), np.nan)
        for j in range(len(q)):
            t = q[j] + 1 + LAGS
            ok = (t >= 1) & (t <= ds.shape[1])
            aligned[j, ok] = ds[j, t[ok] - 1]
        lag = np.argmax(ds, axis=1) + 1 - (q + 1)
        rows[name].append({
            "loss": loss, "z_q": best_corr(z_2d, q), "x_target": best_corr(x_2d, target),
            "switch_lag": int(LAGS[np.nanargmax(np.nanmean(aligned, 0))]),
            "switch_0_2": np.mean((lag >= 0) & (lag <= 2))})
        if example is None or example[3] > loss:
            example = (name, path, q, loss, target, z_2d, x_2d, aligned)
    if not rows:
        return
    cols = ["loss", "z_q", "switch_lag", "switch_0_2", "x_target"]
    lines = ["| configuration | seeds learned | " + " | ".join(cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for name, rs in sorted(rows.items()):
        lines.append(f"| {name} | {len(rs)} of {seeds[name]} | " + " | ".join(
            f"{np.mean([r[c] for r in rs]):.3g} ± {np.std([r[c] for r in rs]):.2g}" for c in cols)
            + " |")
    with open(os.path.join(outdir, "dynamics.md"), "w") as f:
        f.write(f"NM-RNNs on 1000 fresh trials (best parameters), the seeds with MSE < {LEARNED:g} "
                "only, mean ± std over them. z_q: the larger |corr| of PC1 or PC2 of z(T) with "
                "the query q. switch_lag: the lag (step − (q + 1), q + 1 being the step that "
                "carries the queried element) at which the mean |s(t) − s(t − 1)| peaks. "
                "switch_0_2: fraction of trials whose largest |Δs| is 0-2 steps after that "
                "step. x_target: the larger |corr| of PC1 or PC2 of x(T) with the target.\n\n"
                + "\n".join(lines) + "\n")
    print("\n".join(lines))
    name, path, q, loss, target, z_2d, x_2d, aligned = example
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    sc = axes[0].scatter(z_2d[:, 0], z_2d[:, 1], c=q, s=6, cmap="viridis")
    fig.colorbar(sc, ax=axes[0], label="query q")
    axes[0].set_title(f"{os.path.basename(path)[:-8]} (MSE {loss:.2f}): z(T), PCs 1-2",
                      fontsize=9)
    axes[1].plot(LAGS, np.nanmean(aligned, 0), "k-o", ms=3)
    axes[1].set_xlabel("step − (q + 1)")
    axes[1].set_ylabel("mean |s(t) − s(t − 1)|")
    axes[1].set_title("s(t) around the queried element's arrival", fontsize=9)
    sc = axes[2].scatter(x_2d[:, 0], x_2d[:, 1], c=target, s=6, cmap="coolwarm")
    fig.colorbar(sc, ax=axes[2], label="target seq[q]")
    axes[2].set_title("x(T), PCs 1-2", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "dynamics.png"), dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
