"""Reference for bench/hdbscan, on the same data file in the same run.

Debian 12's python3-sklearn is 1.2, which has no HDBSCAN (sklearn.cluster.HDBSCAN arrived in
1.3) and Debian packages no `hdbscan`; so the references are scikit-learn's DBSCAN (the
single-density ancestor; eps = the median distance to the min_samples-th neighbour, the
point itself counted, a common rule of thumb) and OPTICS (min_samples, xi extraction) for
time and ARI. Also checks promo's ARI with sklearn's adjusted_rand_score on promo's labels.
Noise (-1) counts as one singleton cluster per row on both sides, as in bench/hdbscan.c.
Prints JSON lines (wall and process CPU seconds; the machine may be shared).
usage: /usr/bin/python3 bench/hdbscan_sklearn.py PREFIX n d min_samples n_jobs [optics_rows]"""
import json, sys, time
import numpy as np
import sklearn
from sklearn.cluster import DBSCAN, OPTICS
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import NearestNeighbors

prefix, n, d, ms, jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
optics_rows = int(sys.argv[6]) if len(sys.argv) > 6 else 0
X = np.fromfile(prefix + ".f32", dtype=np.float32).reshape(n, d)
truth = np.fromfile(prefix + ".truth.i32", dtype=np.int32)

def singletons(lab):
    lab = lab.astype(np.int64).copy()
    noise = lab < 0
    lab[noise] = lab.max() + 1 + np.arange(noise.sum())
    return lab

def aris(lab, tr):
    blob = tr >= 0
    return (adjusted_rand_score(singletons(tr), singletons(lab)),
            adjusted_rand_score(tr[blob], singletons(lab)[blob]))

def emit(**kw):
    print(json.dumps(dict(bench="hdbscan", **kw)), flush=True)

try:
    promo = np.fromfile(prefix + ".promo.i32", dtype=np.int32)
    a, b = aris(promo, truth)
    emit(impl="promo", what="ari_checked_by_sklearn", ari_all=round(a, 4), ari_blob_rows=round(b, 4))
except FileNotFoundError:
    pass

t0, c0 = time.time(), time.process_time()
nn = NearestNeighbors(n_neighbors=ms, n_jobs=jobs).fit(X)
kd = nn.kneighbors(X)[0][:, -1]
eps = float(np.median(kd))
t_eps = time.time() - t0
t0, c0 = time.time(), time.process_time()
lab = DBSCAN(eps=eps, min_samples=ms, n_jobs=jobs).fit_predict(X)
sec, cpu = time.time() - t0, time.process_time() - c0
a, b = aris(lab, truth)
emit(impl="sklearn-" + sklearn.__version__, algorithm="DBSCAN", rows=n, dims=d, min_samples=ms,
     eps=round(eps, 4), eps_seconds=round(t_eps, 3), threads=jobs, seconds=round(sec, 3),
     cpu_seconds=round(cpu, 3), clusters=int(lab.max() + 1),
     noise_share=round(float((lab < 0).mean()), 4), ari_all=round(a, 4), ari_blob_rows=round(b, 4))

if optics_rows:
    rows = np.random.default_rng(1).choice(n, size=min(optics_rows, n), replace=False)
    rows.sort()
    t0, c0 = time.time(), time.process_time()
    lab = OPTICS(min_samples=ms, n_jobs=jobs).fit_predict(X[rows])
    sec, cpu = time.time() - t0, time.process_time() - c0
    a, b = aris(lab, truth[rows])
    emit(impl="sklearn-" + sklearn.__version__, algorithm="OPTICS", rows=len(rows), dims=d,
         min_samples=ms, threads=jobs, seconds=round(sec, 3), cpu_seconds=round(cpu, 3),
         clusters=int(lab.max() + 1), noise_share=round(float((lab < 0).mean()), 4),
         ari_all=round(a, 4), ari_blob_rows=round(b, 4))
