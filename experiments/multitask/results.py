"""Builds the multitask table (NM-RNN paper Fig. 4, §3.3) from run files alone.

    /usr/bin/python3 experiments/multitask/results.py data/runs/multitask -o experiments/multitask/results

For every model: percent correct (legacy arctan and correct atan2 forms) of the trained network on
the 75 three-task test trials (<model>_seed<k>_eval_test.h5) and of the retrained one on the 25
held-out MemoryAnti test trials (<model>_retrain_seed<k>_eval_test_heldout.h5), as mean ± std over
seeds, with parameter counts; writes results.md and results.csv.

For the NM-RNN (Fig. 4 claims) it also writes pca.md/pca.png from the /pca group of
nm_rnn_seed<k>_eval_test.h5 (is x at the last step a ring on PCs 1-2 ordered by the output angle?
which PC separates the pro from the anti trials?) and fixed_points.md from
nm_rnn_seed<k>_fp_<task>.h5 (the fixed points of each task's response epoch and the output angles
they encode)."""
import argparse
import collections
import csv
import glob
import os
import re
import tomllib

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
    table = collections.defaultdict(lambda: collections.defaultdict(list))
    params = {}
    for path in sorted(glob.glob(os.path.join(args.dir, "*_seed*_eval_test*.h5"))):
        m = re.match(r"(.+?)(_retrain)?_seed(\d+)_eval_(test|test_heldout)\.h5$",
                     os.path.basename(path))
        if not m:
            continue
        model, phase = m.group(1), "retrained" if m.group(2) else "trained"
        with h5py.File(path, "r") as f:
            attrs = f["evaluation"].attrs
            for metric in ("percent_correct_legacy", "percent_correct_atan2"):
                table[model][f"{phase}_{metric}"].append(float(attrs[metric]))
        ode = path.replace("_eval_test.h5", "_eval_ode_test.h5")
        if phase == "trained" and os.path.exists(ode):
            with h5py.File(ode, "r") as f:
                table[model]["ode_percent_correct_atan2"].append(
                    float(f["evaluation"].attrs["percent_correct_atan2"]))
        run = re.sub(r"_eval_\w+\.h5$", ".h5", path)  # the training run: its stages
        if os.path.exists(run):
            with h5py.File(run, "r") as f:
                params[(model, phase)] = trainable_count(f)
    if not table:
        raise SystemExit(f"no evaluation files in {args.dir}")
    cols = ["trained_percent_correct_legacy", "trained_percent_correct_atan2",
            "retrained_percent_correct_legacy", "retrained_percent_correct_atan2",
            "ode_percent_correct_atan2"]
    lines = ["| model | trained parameters (training / retraining) | seeds | " + " | ".join(cols) + " |",
             "|---|---|---|" + "---|" * len(cols)]
    with open(os.path.join(args.outdir, "results.csv"), "w", newline="") as fcsv:
        w = csv.writer(fcsv)
        w.writerow(["model", "seeds"] + [f"{c}_{s}" for c in cols for s in ("mean", "std")])
        for model in sorted(table):
            vals = {c: np.array(table[model].get(c, [np.nan])) for c in cols}
            seeds = max(len(v) for v in table[model].values())
            lines.append(f"| {model} | {params.get((model, 'trained'), '?')} / "
                         f"{params.get((model, 'retrained'), '?')} | {seeds} | "
                         + " | ".join(f"{vals[c].mean():.1f} ± {vals[c].std():.1f}"
                                      if np.isfinite(vals[c]).all() else "-" for c in cols)
                         + " |")
            w.writerow([model, seeds] + [x for c in cols for x in (vals[c].mean(), vals[c].std())])
    with open(os.path.join(args.outdir, "results.md"), "w") as fmd:
        fmd.write("Percent correct, mean ± std over seeds (population std). legacy: the authors' "
                  "arctan decoding (angles modulo π); atan2: the correct one. ode: the trained network "
                  "(best parameters) run as the ODE it discretises, RK4 at dt = 0.1 instead of the "
                  "Euler step dt = 1 it was trained with.\n\n"
                  + "\n".join(lines) + "\n")
    print("\n".join(lines))
    pca(args.dir, args.outdir)
    fixed_points(args.dir, args.outdir)


TASKS = ["DelayPro", "DelayAnti", "MemoryPro"]


def trainable_count(f):
    """Parameters the run trained: the blocks of its stages' `trainable` lists (all if absent)."""
    config = tomllib.loads(f["config"].attrs["toml"])
    names = set()
    if not config.get("stage"):
        return int(f["model"].attrs["num_params"])
    for stage in config["stage"].values():
        if not stage.get("trainable"):  # absent or empty: every block
            return int(f["model"].attrs["num_params"])
        names.update(stage["trainable"])
    return int(sum(f["model/params"][n].size for n in names))


def pca(run_dir, outdir):
    """Ring on PCs 1-2 at the last step; the PC that best separates pro from anti trials."""
    rows, fig = [], None
    for path in sorted(glob.glob(os.path.join(run_dir, "nm_rnn_seed*_eval_test.h5"))):
        with h5py.File(path, "r") as f:
            if "pca" not in f:
                continue
            edges = f["trajectories"].attrs["edge_index"]
            x = f["trajectories/x"][:, edges[1:], :]
            comps, mean = f["pca/components"][()], f["pca/mean"][()]
            ratio = f["pca/explained_variance_ratio"][()]
            targets = f["batch/targets"][()]
            task = np.argmax(f["batch/inputs"][:, 0, 3:6], axis=1)
        seed = int(re.search(r"seed(\d+)", path).group(1))
        scores = (x - mean) @ comps.T  # (B, T, K)
        theta = np.arctan2(targets[:, -1, 1], targets[:, -1, 2])  # (sin, cos) of θ_out
        phi = np.arctan2(scores[:, -1, 1], scores[:, -1, 0])
        ring = max(abs(np.mean(np.exp(1j * (phi - theta)))),
                   abs(np.mean(np.exp(1j * (phi + theta)))))
        avg = scores.mean(axis=1)  # (B, K): each trial's time-averaged score
        # DelayPro against DelayAnti: the same epochs, only the rule differs (MemoryPro would
        # confound the rule with the memory epoch).
        pro, anti = task == 0, task == 1
        dprime = np.abs(avg[pro].mean(0) - avg[anti].mean(0)) / np.sqrt(
            0.5 * (avg[pro].var(0) + avg[anti].var(0)))
        # x moves in span(L) + span(B_x) (at most R + 3 directions) plus the decaying initial
        # state; components beyond that carry round-off only and are not candidates.
        dprime[ratio < 1e-9] = 0.0
        rows.append((seed, ratio[:2].sum(), ring, int(np.argmax(dprime)) + 1, dprime.max(),
                     dprime[4] if len(dprime) > 4 else np.nan, int(np.sum(ratio >= 1e-9))))
        if fig is None:
            fig, axes = plt.subplots(1, 2, figsize=(9, 4))
            sc = axes[0].scatter(scores[:, -1, 0], scores[:, -1, 1], c=theta, cmap="hsv", s=14)
            fig.colorbar(sc, ax=axes[0], label="θ_out")
            axes[0].set_xlabel("PC1")
            axes[0].set_ylabel("PC2")
            axes[0].set_title(f"nm_rnn seed {seed}: x at the last step", fontsize=9)
            k = int(np.argmax(dprime))
            for t_idx, color in zip(range(3), ("C0", "C3", "C2")):
                for j in np.nonzero(task == t_idx)[0]:
                    axes[1].plot(scores[j, :, k], color=color, lw=0.6,
                                 label=TASKS[t_idx] if j == np.nonzero(task == t_idx)[0][0] else None)
            axes[1].set_xlabel("t (steps)")
            axes[1].set_ylabel(f"PC{k + 1}")
            axes[1].set_title(f"PC{k + 1}, the PC that best separates DelayPro from DelayAnti",
                              fontsize=9)
            axes[1].legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(os.path.join(outdir, "pca.png"), dpi=120)
            plt.close(fig)
    if not rows:
        return
    lines = ["| seed | PCs 1-2 variance | PCs above 1e-9 | ring score | best pro/anti PC | its d' "
             "| PC5 d' |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]:.3f} | {r[6]} | {r[2]:.3f} | PC{r[3]} | {r[4]:.2f} | "
              f"{r[5]:.2f} |" for r in rows]
    with open(os.path.join(outdir, "pca.md"), "w") as f:
        f.write("NM-RNN x on the 75 test trials (ctrnn pca --block x). ring score: |mean "
                "exp(i(φ ∓ θ_out))| (the better sign) with φ the angle of x(T) on PCs 1-2; 1 = the "
                "angle on the PC plane equals the output angle up to a rotation or reflection. d': "
                "separation of the time-averaged PC score between DelayPro and DelayAnti trials "
                "(the same epochs, only the rule differs), |Δμ| / pooled std.\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


def fixed_points(run_dir, outdir):
    """Fixed points of the response epoch per task: count, stability, output angles covered."""
    rows = []
    for path in sorted(glob.glob(os.path.join(run_dir, "nm_rnn_seed*_fp_*.h5"))):
        m = re.search(r"seed(\d+)_fp_(\w+)\.h5$", path)
        with h5py.File(path, "r") as f:
            g = f["fixed_points"]
            n_z = int(f["model"].attrs["M"])
            xstar = g["xstar"][:, n_z:]
            y = xstar @ f["model/params/C"][()].T + f["model/params/d"][()]
            stable = g["is_stable"][()]
            fixed = g["is_fixed"][()]
            slowest = g["timescales"][:, 0]
        angles = np.arctan2(y[:, 1], y[:, 2])
        amplitude = np.hypot(y[:, 1], y[:, 2])
        bins = np.unique(np.floor((angles[amplitude > 0.5] + np.pi) / (np.pi / 10)).astype(int))
        growth = slowest[slowest < 0]
        rows.append((int(m.group(1)), m.group(2), int(fixed.sum()), int(len(fixed) - fixed.sum()),
                     int(stable.sum()), len(bins),
                     f"{-growth.max():.1f}–{-growth.min():.1f}" if growth.size else "-"))
    if not rows:
        return
    lines = ["| seed | response epoch of | fixed | slow | stable | 18° output-angle bins covered "
             "(of 20, |y| > 0.5) | growth times of the unstable points |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} | {r[6]} |" for r in rows]
    with open(os.path.join(outdir, "fixed_points.md"), "w") as f:
        f.write("Fixed points of the trained NM-RNN's full (z, x) system under each task's "
                "response-epoch input (ctrnn fixed-points, 256 seeds from the test trajectories; "
                "Delay tasks with the stimulus at θ = 0). Output angle: atan2 of the readout's "
                "(sin, cos) at the point. Growth time of an unstable point: 1/Re λ of its leading "
                "eigenvalue, in steps (a trial is 100 steps); the range over the points.\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
