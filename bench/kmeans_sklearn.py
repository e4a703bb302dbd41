"""Reference for bench/kmeans: scikit-learn's KMeans (Lloyd, k-means++, the same n_init, tol
and max_iter as promo) on the same float32 file, timed; and, when promo wrote its labels and
centers, promo's inertia recomputed here in float64 and the ARI between the two labelings;
with its seeds, one Lloyd run from promo's k-means++ centers (to compare the iterations
themselves, free of the luck of the seeding).
usage: /usr/bin/python3 bench/kmeans_sklearn.py FILE n d k n_init [PROMO_PREFIX]"""
import json, os, sys, time
import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

path, n, d, k, n_init = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), \
    int(sys.argv[5])
prefix = sys.argv[6] if len(sys.argv) > 6 else None
X = np.fromfile(path, dtype=np.float32, count=n * d).reshape(n, d)
km = KMeans(n_clusters=k, init="k-means++", n_init=n_init, max_iter=300, tol=1e-4,
            algorithm="lloyd", random_state=0)
t0, c0 = time.perf_counter(), time.process_time()
km.fit(X)
t, c = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"bench": "kmeans", "impl": "sklearn", "sklearn": sklearn.__version__,
                  "n": n, "d": d, "k": k, "n_init": n_init, "seconds": round(t, 3),
                  "cpu_seconds": round(c, 3), "inertia": float("%.6e" % km.inertia_),
                  "n_iter_kept": int(km.n_iter_)}), flush=True)
if prefix and os.path.exists(prefix + ".labels"):
    lab = np.fromfile(prefix + ".labels", dtype=np.uint32)
    cen = np.fromfile(prefix + ".centers", dtype=np.float32).reshape(k, d)
    diff = X.astype(np.float64) - cen.astype(np.float64)[lab]
    inertia = float(np.einsum("ij,ij->", diff, diff))
    print(json.dumps({"bench": "kmeans", "what": "compare",
                      "promo_inertia_recomputed_float64": float("%.6e" % inertia),
                      "inertia_ratio_promo_over_sklearn": round(inertia / km.inertia_, 6),
                      "ari_promo_vs_sklearn": round(adjusted_rand_score(lab, km.labels_), 4)}),
          flush=True)
if prefix and os.path.exists(prefix + ".seeds"):
    seeds = np.fromfile(prefix + ".seeds", dtype=np.float32).reshape(k, d)
    best = float("inf")
    for rep in range(3):  # best of 3, as on promo's side
        km1 = KMeans(n_clusters=k, init=seeds, n_init=1, max_iter=300, tol=1e-4,
                     algorithm="lloyd")
        t0 = time.perf_counter()
        km1.fit(X)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"bench": "kmeans", "impl": "sklearn", "what": "lloyd_from_promo_seeds",
                      "seconds_best_of_3": round(best, 3),
                      "inertia": float("%.9e" % km1.inertia_), "n_iter": int(km1.n_iter_),
                      "ms_per_iter": round(1e3 * best / km1.n_iter_, 1)}), flush=True)
