"""Reads a `ctrnn simulate` run file of the default NM-RNN with h5py, as a user would, and checks
the layout documented in data/SCHEMA.md. Exit status 0 on success; prints what is wrong otherwise."""
import sys

import h5py
import numpy as np


def main(path):
    with h5py.File(path, "r") as f:
        meta = f["meta"].attrs
        assert meta["format"] == "ctrnn-run", meta["format"]
        for key in ("version", "git_revision", "seed", "date", "command"):
            assert key in meta, f"/meta lacks {key}"
        assert "toml" in f["config"].attrs
        model = f["model"]
        assert model.attrs["kind"] == "nm_rnn"
        n, m, r = int(model.attrs["N"]), int(model.attrs["M"]), int(model.attrs["R"])
        assert (n, m, r) == (100, 5, 3), (n, m, r)
        shapes = {k: v.shape for k, v in model["params"].items()}
        expected = {"U": (100, 3), "V": (100, 3), "B_x": (100, 3), "C": (1, 100), "d": (1,),
                    "W_z": (5, 5), "B_z": (5, 3), "A_z": (3, 5), "b_z": (3,)}
        assert shapes == expected, shapes
        assert sum(int(np.prod(s)) for s in shapes.values()) == 1059
        batch = f["batch"]
        assert batch["inputs"].shape == (40, 110, 3), batch["inputs"].shape
        assert batch["targets"].shape == (40, 110, 1)
        assert batch["mask"].shape == (40, 110, 1)
        # Trial 0: measure pulse at t = 10 (interval 12, t_measure 10), amplitude 10.
        assert batch["inputs"][0, 10, 0] == 10.0 and batch["inputs"][0, 22, 1] == 10.0
        traj = f["trajectories"]
        assert traj["x"].shape == (40, 111, 100), traj["x"].shape
        assert traj["z"].shape == (40, 111, 5)
        assert traj["y"].shape == (40, 111, 1)
        assert traj["s"].shape == (40, 111, 3)
        times = traj.attrs["times"]
        assert times.shape == (111,) and times[0] == 0.0 and times[-1] == 110.0
        s = traj["s"][...]
        assert np.all((s > 0) & (s < 1))
        # The readout is y = C x + d, with C indexed as in the paper (C[o, i]).
        C, d = model["params"]["C"][...], model["params"]["d"][...]
        y = np.einsum("oi,bti->bto", C, traj["x"][...]) + d
        assert np.allclose(y, traj["y"][...], rtol=1e-12, atol=1e-12)
        # x starts at the fixed initial state 0.1.
        assert np.all(traj["x"][:, 0, :] == 0.1)
    print("h5py: layout ok")


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except AssertionError as e:
        print("h5py check failed:", e)
        sys.exit(1)
