"""Reads /fixed_points of a run file with h5py, as a user would, and checks the layout and the
linear algebra documented in data/SCHEMA.md. Usage: check_fixed_points_h5py.py FILE. Exit status
0 on success; prints what is wrong otherwise."""
import sys

import h5py
import numpy as np


def main(path):
    with h5py.File(path, "r") as f:
        fp = f["fixed_points"]
        xstar = fp["xstar"][...]
        k, s = xstar.shape
        assert k >= 1, "no points"
        expected = {"xstar": ((k, s), np.float64), "x_init": ((k, s), np.float64),
                    "F_xstar": ((k, s), np.float64), "qstar": ((k,), np.float64),
                    "dq": ((k,), np.float64), "n_iters": ((k,), np.int64),
                    "is_fixed": ((k,), np.bool_), "J_xstar": ((k, s, s), np.float64),
                    "eigval_J_xstar": ((k, s), np.complex128),
                    "eigvec_J_xstar": ((k, s, s), np.complex128),
                    "is_stable": ((k,), np.bool_), "timescales": ((k, s), np.float64)}
        for name, (shape, dtype) in expected.items():
            assert fp[name].shape == shape, (name, fp[name].shape, shape)
            assert fp[name].dtype == dtype, (name, fp[name].dtype, dtype)
        inputs = fp["inputs"][...]
        assert np.array_equal(inputs, np.tile(fp["u_star"][...], (k, 1)))
        assert "convention" in fp.attrs and "command" in fp.attrs
        q, J = fp["qstar"][...], fp["J_xstar"][...]
        lam, vec = fp["eigval_J_xstar"][...], fp["eigvec_J_xstar"][...]
        assert np.all(q <= fp.attrs["slow_q_threshold"])
        assert np.array_equal(fp["is_fixed"][...], q <= fp.attrs["tol_q"])
        for j in range(k):
            # eigvec[j, :, i] is the eigenvector of eigval[j, i] (numpy's convention).
            err = np.abs(J[j] @ vec[j] - vec[j] * lam[j][None, :]).max()
            assert err < 1e-9 * max(1.0, np.abs(J[j]).max()), ("J v != lambda v", j, err)
            ref = np.sort_complex(np.linalg.eigvals(J[j]))
            assert np.allclose(np.sort_complex(lam[j]), ref, atol=1e-9), ("eigenvalues", j)
            assert np.all(np.diff(lam[j].real) <= 1e-12), "not sorted by Re descending"
            assert np.allclose(fp["timescales"][j], -1.0 / lam[j].real)
            assert fp["is_stable"][j] == (lam[j].real.max() < 0)
            # F_xstar is f(x*) for an ODE: 1/2 |f|^2 = q.
            assert np.isclose(0.5 * np.sum(fp["F_xstar"][j] ** 2), q[j], rtol=1e-6, atol=1e-300)
        return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except AssertionError as e:
        print("check_fixed_points_h5py:", e)
        sys.exit(1)
