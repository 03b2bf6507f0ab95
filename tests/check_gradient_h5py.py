"""Reads a `ctrnn gradient` run file with h5py and checks the documented layout: /loss, and
/gradient/<name> with the same names and shapes as /model/params/<name>."""
import sys

import h5py
import numpy as np


def main(path):
    with h5py.File(path, "r") as f:
        loss = f["loss"][()]
        assert np.isfinite(loss) and loss >= 0, loss
        params = f["model"]["params"]
        grad = f["gradient"]
        assert list(grad) == list(params), (list(grad), list(params))
        for name in params:
            assert grad[name].shape == params[name].shape, name
            assert np.all(np.isfinite(grad[name][...])), name
        if "finite_difference" in f:
            fd = f["finite_difference"]
            num = sum(np.sum((grad[n][...] - fd[n][...]) ** 2) for n in params)
            den = sum(np.sum(fd[n][...] ** 2) for n in params)
            assert np.sqrt(num / den) < 1e-4, np.sqrt(num / den)
        assert f["meta"].attrs["gradient_method"] in ("discrete", "interpolating")
        assert f["batch"]["inputs"].ndim == 3


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except AssertionError as e:
        print("h5py gradient check failed:", e)
        sys.exit(1)
