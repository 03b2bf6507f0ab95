"""Builds the multitask table (NM-RNN paper Fig. 4, §3.3) from run files alone.

    /usr/bin/python3 experiments/multitask/results.py data/runs/multitask -o experiments/multitask/results

For every model: percent correct (legacy arctan and correct atan2 forms) of the trained network on
the 75 three-task test trials (<model>_seed<k>_eval_test.h5) and of the retrained one on the 25
held-out MemoryAnti test trials (<model>_retrain_seed<k>_eval_test_heldout.h5), as mean ± std over
seeds, with parameter counts; writes results.md and results.csv."""
import argparse
import collections
import csv
import glob
import os
import re

import h5py
import numpy as np


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
            params[(model, phase)] = int(f["model"].attrs["num_params"])
    if not table:
        raise SystemExit(f"no evaluation files in {args.dir}")
    cols = ["trained_percent_correct_legacy", "trained_percent_correct_atan2",
            "retrained_percent_correct_legacy", "retrained_percent_correct_atan2"]
    lines = ["| model | params (trained / retrained) | seeds | " + " | ".join(cols) + " |",
             "|---|---|---|" + "---|" * len(cols)]
    with open(os.path.join(args.outdir, "results.csv"), "w", newline="") as fcsv:
        w = csv.writer(fcsv)
        w.writerow(["model", "seeds"] + [f"{c}_{s}" for c in cols for s in ("mean", "std")])
        for model in sorted(table):
            vals = {c: np.array(table[model].get(c, [np.nan])) for c in cols}
            seeds = max(len(v) for v in table[model].values())
            lines.append(f"| {model} | {params.get((model, 'trained'), '?')} / "
                         f"{params.get((model, 'retrained'), '?')} | {seeds} | "
                         + " | ".join(f"{vals[c].mean():.1f} ± {vals[c].std():.1f}" for c in cols)
                         + " |")
            w.writerow([model, seeds] + [x for c in cols for x in (vals[c].mean(), vals[c].std())])
    with open(os.path.join(args.outdir, "results.md"), "w") as fmd:
        fmd.write("Percent correct, mean ± std over seeds (population std). legacy: the authors' "
                  "arctan decoding (angles modulo π); atan2: the correct one.\n\n"
                  + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
