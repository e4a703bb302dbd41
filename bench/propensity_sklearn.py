"""Reference for bench/propensity: scikit-learn's RandomForestClassifier on exactly the rows,
features, weights and split promo used (the float32 matrices bench/propensity exported).
Prints one JSON line per target: ROC AUC, Precision@100 and training time (wall and process
CPU: the machine may be shared).
usage: /usr/bin/python3 bench/propensity_sklearn.py EXPORT_DIR/{any,products} SET [n_jobs]"""
import json, os, sys, time
import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

d, name = sys.argv[1], sys.argv[2]
jobs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
meta = json.load(open(os.path.join(d, "meta.json")))
nf = meta["n_features"]

def load(stem):
    x = np.fromfile(os.path.join(d, stem + ".f32"), dtype=np.float32).reshape(-1, nf)
    lw = np.fromfile(os.path.join(d, stem + ".lab"), dtype=np.float32).reshape(-1, 2)
    # scikit-learn 1.2's forests reject NaN: missing values become -1 (features are >= 0).
    return np.nan_to_num(x, nan=-1.0), lw[:, 0], lw[:, 1]

X, y, w = load("train")
targets = ["any"]
if os.path.exists(os.path.join(d, "targets.txt")):
    targets = [t.strip() for t in open(os.path.join(d, "targets.txt")) if t.strip()]
rf = RandomForestClassifier(n_estimators=100, min_samples_leaf=5, max_features="sqrt",
                            n_jobs=jobs, random_state=0)
t0, c0 = time.time(), time.process_time()
rf.fit(X, y, sample_weight=w)
t_train, c_train = time.time() - t0, time.process_time() - c0
for k, t in enumerate(targets):
    Xt, yt, _ = load("test_%d" % k)
    p = rf.predict_proba(Xt)[:, 1]
    order = np.argsort(-p, kind="stable")
    print(json.dumps({"bench": "propensity", "set": name, "target": t,
                      "model": "sklearn_random_forest", "sklearn": sklearn.__version__,
                      "n": int(len(yt)), "n_pos": int(yt.sum()),
                      "auc": round(float(roc_auc_score(yt, p)), 4),
                      "precision_at_100": round(float(yt[order[:100]].mean()), 3),
                      "train_rows": int(len(y)), "features": nf,
                      "train_seconds": round(t_train, 2),
                      "train_cpu_seconds": round(c_train, 2)}), flush=True)
