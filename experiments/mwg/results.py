"""Builds the MWG results (NM-RNN paper Fig. 3C/D/E) from run files alone.

    /usr/bin/python3 experiments/mwg/results.py data/runs/mwg -o experiments/mwg/results

Reads every <model>_seed<k>.h5 training run in the directory and its evaluation files
<model>_seed<k>_eval_train.h5 and <model>_seed<k>_eval_extrapolation.h5 (written by
experiments/mwg/run.sh with `ctrnn evaluate --best`), and writes:

- results.md and results.csv: per model, mean ± std over seeds of the MSE on the 40 training
  trials and on the extrapolation set's short (I = 4..10), trained (12..18) and long (20..26)
  intervals; the mean |produced − target| interval per group; parameters; training seconds.
- loss.png (losses per group and model), intervals.png (produced vs target interval),
  s.png (the NM-RNN's s(t) aligned to trial start and to the go cue, first seed; Fig. 3E).
- ablation.md/.png (Fig. 3F): the NM-RNN with each s_k held at 0 (<model>_seed<k>_eval_ablate_s<j>.h5).
- ode.md: each discrete-time-trained network run as its ODE (RK4, dt = 0.1; _eval_ode.h5).
- projection.png and projection.md: x(t) projected on the orthonormalised right factors qr(V)
  and the PCA of x (the /pca group of the extrapolation evaluation).
- rank1.md/.png (Fig. 3B): the linear symmetric rank-1 NM-RNN's trained s(t) on the ramp against
  the s(t) of spec §4.3 that produces the target ramp (nm_rnn_rank1_seed<k>*).

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

    nm = [m for m in models if runs[m][0]["s"] is not None and m == "nm_rnn"]
    if nm:
        r = runs[nm[0]][0]
        s, go = r["s"], r["go"]
        fig, axes = plt.subplots(2, s.shape[2], figsize=(3.2 * s.shape[2], 5.5), sharey=True,
                                 squeeze=False)
        colors = plt.cm.viridis(np.linspace(0, 1, 12))
        for k in range(s.shape[2]):
            for j in range(12):
                axes[0, k].plot(np.arange(1, s.shape[1] + 1), s[j, :, k], color=colors[j], lw=1)
                t = np.arange(1, s.shape[1] + 1) - (go[j] + 1)
                keep = (t >= -20) & (t < 40)
                axes[1, k].plot(t[keep], s[j, keep, k], color=colors[j], lw=1)
            axes[0, k].set_title(f"{nm[0]} seed {r['seed']}: s_{k + 1}", fontsize=9)
            axes[0, k].set_xlabel("t from trial start (steps)")
            axes[1, k].set_xlabel("t − t_go (steps)")
        fig.tight_layout()
        fig.savefig(os.path.join(args.outdir, "s.png"), dpi=120)
        plt.close(fig)
    ablation(args.dir, runs, args.outdir)
    ode(args.dir, runs, args.outdir)
    projection(args.dir, args.outdir)
    rank1(args.dir, args.outdir)
    print("wrote", args.outdir)


def mean_std(values, fmt=".4g"):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return f"{v.mean():{fmt}} ± {v.std():.2g}" if v.size else "undefined"


def group_errors(path):
    """MSE per group and mean |produced − target| on the trained group, of one extrapolation file."""
    y, targets, go, _ = eval_arrays(path)
    produced = produced_intervals(y, go)
    out = {f"{g}_mse": float(np.mean((y[sl] - targets[sl]) ** 2)) for g, sl in GROUPS.items()}
    out["all_mse"] = float(np.mean((y - targets) ** 2))
    err = np.abs(produced[4:8] - TARGETS[4:8])
    out["trained_interval_error"] = float(np.nanmean(err)) if np.isfinite(err).any() else np.nan
    out["trained_no_ramp"] = int(np.isnan(err).sum())  # of 4: y never rose above 0.9·max
    return out, y, targets


def ablation(run_dir, runs, outdir):
    """Fig. 3F: the NM-RNN on the extrapolation set with each s_k held at 0 (spec §4.2)."""
    rows, first = collections.defaultdict(list), {}
    for r in runs.get("nm_rnn", []):
        base = os.path.join(run_dir, f"nm_rnn_seed{r['seed']}_eval_")
        conds = [("intact", base + "extrapolation.h5")]
        k = 0
        while os.path.exists(f"{base}ablate_s{k}.h5"):
            conds.append((f"s_{k + 1} = 0", f"{base}ablate_s{k}.h5"))
            k += 1
        for name, path in conds:
            errors, y, targets = group_errors(path)
            rows[name].append(errors)
            first.setdefault(name, (y, targets))
    if len(rows) < 2:
        return
    cols = ["all_mse", "short_mse", "trained_mse", "long_mse", "trained_interval_error",
            "trained_no_ramp"]
    lines = ["| NM-RNN, extrapolation set | seeds | " + " | ".join(cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for name, errs in rows.items():
        lines.append(f"| {name} | {len(errs)} | "
                     + " | ".join(mean_std([e[c] for e in errs]) for c in cols) + " |")
    with open(os.path.join(outdir, "ablation.md"), "w") as f:
        f.write("The NM-RNN with one component of s(t) held at 0 for the whole trial (spec §4.2), "
                "best parameters, extrapolation set (t_measure = 15); mean ± std over seeds.\n\n"
                + "\n".join(lines) + "\n")
    print("\n".join(lines))
    fig, axes = plt.subplots(1, len(first), figsize=(3.2 * len(first), 3), sharey=True)
    colors = plt.cm.viridis(np.linspace(0, 1, 12))
    for ax, (name, (y, targets)) in zip(np.atleast_1d(axes), first.items()):
        for j in range(12):
            ax.plot(y[j], color=colors[j], lw=1)
            ax.plot(targets[j], color=colors[j], lw=0.6, ls=":")
        ax.set_title(f"nm_rnn seed {runs['nm_rnn'][0]['seed']}: {name}", fontsize=9)
        ax.set_xlabel("t (steps)")
    np.atleast_1d(axes)[0].set_ylabel("y (dotted: target)")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "ablation.png"), dpi=120)
    plt.close(fig)


def ode(run_dir, runs, outdir):
    """The discrete-time-trained networks run as the ODE they discretise (RK4, dt = 0.1)."""
    cols = ["short_mse", "trained_mse", "long_mse", "trained_interval_error"]
    lines = ["| model | seeds | integration | " + " | ".join(cols) + " |",
             "|---|---|---|" + "---|" * len(cols)]
    for model, rs in sorted(runs.items()):
        pairs = [(os.path.join(run_dir, f"{model}_seed{r['seed']}_eval_extrapolation.h5"),
                  os.path.join(run_dir, f"{model}_seed{r['seed']}_eval_ode.h5")) for r in rs]
        pairs = [p for p in pairs if os.path.exists(p[1])]
        if not pairs:
            continue
        for label, i in (("Euler dt = 1 (trained)", 0), ("ODE, RK4 dt = 0.1", 1)):
            errs = [group_errors(p[i])[0] for p in pairs]
            lines.append(f"| {model} | {len(pairs)} | {label} | "
                         + " | ".join(mean_std([e[c] for e in errs]) for c in cols) + " |")
    if len(lines) == 2:
        return
    with open(os.path.join(outdir, "ode.md"), "w") as f:
        f.write("Networks trained in the paper's discrete time (Euler, dt = 1 = τ/10), evaluated "
                "on the extrapolation set as trained and as the continuous-time ODE they "
                "discretise (RK4, dt = 0.1); mean ± std over seeds.\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


def projection(run_dir, outdir):
    """x(t) on qr(V) (spec §4.2) and the PCA of x, NM-RNN, extrapolation set."""
    paths = sorted(glob.glob(os.path.join(run_dir, "nm_rnn_seed*_eval_extrapolation.h5")))
    stats = []
    fig = plt.figure(figsize=(10, 4))
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    axv = fig.add_subplot(1, 2, 2)
    for n, path in enumerate(paths):
        with h5py.File(path, "r") as f:
            if "pca" not in f:
                continue
            edges = f["trajectories"].attrs["edge_index"]
            x = f["trajectories/x"][:, edges, :]
            v = f["model/params/V"][()]
            u = f["model/params/U"][()]
            ratio = f["pca/explained_variance_ratio"][()]
            inputs = f["batch/inputs"][()]
            seed = int(f["meta"].attrs["seed"])
        qv, _ = np.linalg.qr(v)
        xc = x.reshape(-1, x.shape[2]) - x.reshape(-1, x.shape[2]).mean(0)
        total = np.sum(xc ** 2)
        in_v = np.sum((xc @ qv) ** 2) / total
        in_l = np.sum((xc @ np.linalg.qr(u)[0]) ** 2) / total
        stats.append((seed, in_v, in_l, ratio[:3].sum(), int(np.argmax(np.cumsum(ratio) > 0.9)) + 1))
        axv.plot(np.arange(1, len(ratio) + 1), np.cumsum(ratio), marker="o", ms=3,
                 label=f"seed {seed}")
        if n == 0:
            p = x @ qv
            colors = plt.cm.viridis(np.linspace(0, 1, x.shape[0]))
            for j in range(x.shape[0]):
                ax3.plot(p[j, :, 0], p[j, :, 1], p[j, :, 2], color=colors[j], lw=1)
                for ch, marker in zip(range(3), ("o", "s", "^")):
                    t = np.argmax(inputs[j, :, ch] > 0) + 1  # state after the pulse
                    ax3.scatter(*p[j, t], color=colors[j], marker=marker, s=12)
            ax3.set_title(f"nm_rnn seed {seed}: x·qr(V) (o measure, □ set, △ go)", fontsize=9)
    if not stats:
        plt.close(fig)
        return
    axv.axhline(0.9, color="gray", ls=":", lw=1)
    axv.set_xlabel("principal components")
    axv.set_ylabel("cumulative explained variance of x")
    axv.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "projection.png"), dpi=120)
    plt.close(fig)
    lines = ["| seed | variance of x in span(V) | in span(L) | in PCs 1-3 | PCs for 90 % |",
             "|---|---|---|---|---|"]
    lines += [f"| {s} | {a:.3f} | {b:.3f} | {c:.3f} | {n} |" for s, a, b, c, n in stats]
    with open(os.path.join(outdir, "projection.md"), "w") as f:
        f.write("NM-RNN x(t) on the extrapolation set (12 trials × 111 states, centred): the "
                "fraction of its variance in the R = 3 dimensional span of the right factors V (the "
                "notebook's projection), in the span of the left factors L = qr(U) (the "
                "directions the recurrence writes to), and in the top three principal components (ctrnn pca --block x).\n\n"
                + "\n".join(lines) + "\n")
    print("\n".join(lines))


def rank1(run_dir, outdir):
    """Fig. 3B: trained s(t) of the linear symmetric rank-1 NM-RNN against spec §4.3.

    The model's Euler step in bin j (x linear, W = l s lᵀ with l = U/|U|, s_j used in bin j) is
    x_j = x_{j−1} + (−x_{j−1} + l s_j lᵀx_{j−1} + B u_j)/τ. Split x = l w + x⊥: on the ramp (u = 0)
    x⊥ decays at 1/τ whatever s does, and w_j = w_{j−1} (1 − (1 − s_j)/τ). So the output
    y = (c·l) w + c·x⊥ + d equals the target f exactly iff w_j = w*_j = (f_j − d − c·x⊥_j)/(c·l),
    i.e. iff s_j = s*_j = 1 − τ (1 − w*_j / w*_{j−1}): the discrete form of eq. 8 with its w⊥ term,
    x⊥ taken from the network's own trajectory. "identity": the same formula with the network's
    own w (checks the decomposition; equals s to round-off)."""
    paths = sorted(glob.glob(os.path.join(run_dir, "nm_rnn_rank1_seed*_eval_extrapolation.h5")))
    rows, plotted = [], False
    fig, axes = plt.subplots(1, 4, figsize=(12, 3), sharey=True)
    for path in paths:
        with h5py.File(path, "r") as f:
            tau = float(f["model"].attrs["tau_x"])
            d = float(f["model/params/d"][0])
            c = f["model/params/C"][0]
            l = f["model/params/U"][:, 0]
            edges = f["trajectories"].attrs["edge_index"]
            x = f["trajectories/x"][:, edges[1:], :]  # x[:, j]: the state after bin j
        l = l / np.linalg.norm(l)
        y, targets, go, s = eval_arrays(path)
        s = s[:, :, 0]
        w = x @ l
        perp = x - w[:, :, None] * l
        w_star = (targets - d - perp @ c) / (c @ l)
        seed = int(re.search(r"seed(\d+)", path).group(1))
        for j in range(4, 8):  # the trained intervals 12..18
            interval = TARGETS[j]
            t = np.arange(go[j] + 2, go[j] + interval)  # ramp bins after the go pulse's bin
            theory = 1 - tau * (1 - w_star[j, t] / w_star[j, t - 1])
            identity = 1 - tau * (1 - w[j, t] / w[j, t - 1])
            rows.append((seed, interval, d, np.sqrt(np.mean((s[j, t] - theory) ** 2)),
                         np.max(np.abs(s[j, t] - identity)), s[j, t].mean(), theory.mean(),
                         np.abs(w_star[j, t - 1]).min()))
            if not plotted:
                ax = axes[j - 4]
                tt = np.arange(go[j] - 10, min(go[j] + interval + 10, s.shape[1])) - go[j]
                ax.plot(tt, s[j, tt + go[j]], "k", lw=1.2, label="trained s(t)")
                ax.plot(t - go[j], theory, "r--", lw=1.2, label="s* (y = target)")
                ax.set_title(f"rank 1, seed {seed}: I = {interval}", fontsize=9)
                ax.set_xlabel("t − t_go (steps)")
        plotted = True
    if not rows:
        plt.close(fig)
        return
    axes[0].set_ylabel("s(t)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "rank1.png"), dpi=120)
    plt.close(fig)
    lines = ["| seed | I | d | RMS(s − s*) | max \\|s − identity\\| | mean s on ramp | mean s* | "
             "min \\|w*\\| |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]} | {r[2]:.3f} | {r[3]:.4g} | {r[4]:.2g} | {r[5]:.4f} | "
              f"{r[6]:.4g} | {r[7]:.3g} |" for r in rows]
    with open(os.path.join(outdir, "rank1.md"), "w") as f:
        f.write("Linear symmetric rank-1 NM-RNN (experiments/mwg/nm_rnn_rank1.toml), best "
                "parameters, extrapolation set, ramp bins after the go pulse: the trained s "
                "against s*, the modulation that would make y equal the target ramp exactly "
                "(spec §4.3 eq. 8 in the model's Euler form, with the w⊥ term from the network's "
                "own trajectory); identity: the same formula with the network's own w.\n\n"
                + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
