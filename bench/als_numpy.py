"""bench/als_numpy: the NumPy/SciPy reference for bench/als_speed: a straightforward implicit
ALS with the same conjugate-gradient row solver (Takacs et al. 2011, as benfred/implicit's
pure-Python least_squares_cg), vectorised within a row, looping over rows in Python. Reads the
COO file als_speed wrote, times EPOCHS epochs, prints one JSON line.
    python3 bench/als_numpy.py FILE users items factors cg_steps epochs threads"""
import json
import sys
import time

import numpy as np
import scipy.sparse as sp


def half_sweep(C, X, Y, reg, steps):
    k = Y.shape[1]
    YtY = Y.T @ Y + reg * np.eye(k, dtype=np.float32)
    indptr, indices, data = C.indptr, C.indices, C.data
    for u in range(C.shape[0]):
        s, e = indptr[u], indptr[u + 1]
        idx = indices[s:e]
        c = data[s:e]
        x = X[u]
        Yu = Y[idx]
        r = Yu.T @ (c - (c - 1) * (Yu @ x)) - YtY @ x
        p = r.copy()
        rs = r @ r
        for _ in range(steps):
            if rs < 1e-20:
                break
            Ap = YtY @ p + Yu.T @ ((c - 1) * (Yu @ p))
            a = rs / (p @ Ap)
            x += a * p
            r -= a * Ap
            rn = r @ r
            p = r + (rn / rs) * p
            rs = rn
        X[u] = x


def main():
    path, nu, ni, k, steps, epochs, threads = sys.argv[1:8]
    nu, ni, k, steps, epochs = int(nu), int(ni), int(k), int(steps), int(epochs)
    with open(path, "rb") as f:
        n = int(np.frombuffer(f.read(8), np.uint64)[0])
        r = np.frombuffer(f.read(4 * n), np.int32)
        c = np.frombuffer(f.read(4 * n), np.int32)
        v = np.frombuffer(f.read(4 * n), np.float32)
    conf = (1.0 + 2.0 * np.log1p(v)).astype(np.float32)  # promo's default confidence
    C = sp.csr_matrix((conf, (r, c)), shape=(nu, ni), dtype=np.float32)
    Ct = C.T.tocsr()
    rng = np.random.default_rng(1)
    X = (rng.standard_normal((nu, k)) * 0.1 / np.sqrt(k)).astype(np.float32)
    Y = (rng.standard_normal((ni, k)) * 0.1 / np.sqrt(k)).astype(np.float32)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        half_sweep(C, X, Y, 30.0, steps)
        half_sweep(Ct, Y, X, 30.0, steps)
    dt = (time.perf_counter() - t0) / epochs
    dc = (time.process_time() - c0) / epochs
    print(json.dumps({"bench": "als_speed", "impl": "numpy_scipy", "users": nu, "items": ni,
                      "nnz": n, "factors": k, "cg_steps": steps, "threads": int(threads),
                      "epochs_timed": epochs, "seconds_per_epoch": round(dt, 3),
                      "cpu_seconds_per_epoch": round(dc, 3),
                      "numpy": np.__version__, "scipy": sp.__name__ and __import__("scipy").__version__}))


if __name__ == "__main__":
    main()
