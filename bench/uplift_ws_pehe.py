#!/usr/bin/env python3
"""PEHE of a workspace uplift model against the generated world's truth (bench/uplift_ws.sh).

usage: uplift_ws_pehe.py WS PREDICTIONS.csv LABEL
PREDICTIONS.csv is `promo train --model uplift --predictions-out`'s file (one row per exposure
with its part train/test/gap, effect_treatment = the model's raw effect and, from the effect
calibration on, calibrated_treatment = what scoring uses). The true effect of each exposure is
truth_exposures.p1 - p0. Over the TEST rows (every arm: the model scores them all) prints one
JSON line per effect column: PEHE = sqrt(mean((effect - true)^2)) beside two constants, the
true mean effect of the test rows (the best constant: its PEHE is the true effects' standard
deviation) and the difference in means of the randomised training rows (what a
non-personalised A/B estimate gives), the correlation of predicted and true effects, the share
of the heterogeneity explained 1 - PEHE^2 / sd^2, and on the RANDOMISED test rows the Qini
coefficient (scikit-uplift's definition, as promo/uplift_metrics.h) of the model's ranking
beside the oracle's (ranking by the true effect) and their ratio. Pure Python (no numpy).
The truth is read with `$PROMO export` (default build/promo): it is stored as column chunks."""
import csv
import json
import io
import math
import os
import subprocess
import sys


def qini_coef(y, t, s):
    """sklift's qini_auc_score (negative_effect=True) for 0/1 t; ties by block ends."""
    def points(order_key):
        idx = sorted(range(len(y)), key=order_key, reverse=True)
        xs, qs = [0.0], [0.0]
        nt = nc = yt = yc = 0.0
        keys = [order_key(i) for i in idx]
        for k, i in enumerate(idx):
            if t[i]:
                nt += 1
                yt += y[i]
            else:
                nc += 1
                yc += y[i]
            if k + 1 == len(idx) or keys[k + 1] != keys[k]:
                xs.append(k + 1.0)
                qs.append(yt - (yc * nt / nc if nc else 0.0))
        return xs, qs

    def area(xs, qs):
        return sum((xs[k] - xs[k - 1]) * (qs[k] + qs[k - 1]) / 2 for k in range(1, len(xs)))

    xs, qs = points(lambda i: s[i])
    rand = xs[-1] * qs[-1] / 2
    px, pq = points(lambda i: y[i] if t[i] else -y[i])
    den = area(px, pq) - rand
    return (area(xs, qs) - rand) / den if den else float("nan")


ws, pred_path, label = sys.argv[1], sys.argv[2], sys.argv[3]
# truth_exposures is stored as column chunks: read it through promo, not the sqlite3 module.
promo = os.environ.get("PROMO", "build/promo")
exported = subprocess.run([promo, "export", "--ws", ws, "--table", "truth_exposures"],
                          check=True, capture_output=True, text=True).stdout
truth = {(r["promotion_id"], r["customer_id"]): float(r["p1"]) - float(r["p0"])
         for r in csv.DictReader(io.StringIO(exported))}
rows, ab = [], {"treatment": [0, 0], "control": [0, 0]}
with open(pred_path, newline="") as f:
    rd = csv.DictReader(f)
    cols = [c for c in ("effect_treatment", "calibrated_treatment") if c in rd.fieldnames]
    for r in rd:
        if r["part"] == "train" and r["randomised"] == "1":
            ab[r["arm"]][0] += float(r["y"])
            ab[r["arm"]][1] += 1
        if r["part"] != "test":
            continue
        t = truth.get((r["promotion_id"], r["customer_id"]))
        if t is not None:
            rows.append((r, t))
n = len(rows)
true = [t for _, t in rows]
mean_true = sum(true) / n
ab_ate = ab["treatment"][0] / ab["treatment"][1] - ab["control"][0] / ab["control"][1]
sd = math.sqrt(sum((t - mean_true) ** 2 for t in true) / n)
pehe_ab = math.sqrt(sum((ab_ate - t) ** 2 for t in true) / n)
rnd = [(r, t) for r, t in rows if r["randomised"] == "1"]
ry = [float(r["y"]) for r, _ in rnd]
rt = [1 if r["arm"] == "treatment" else 0 for r, _ in rnd]
oracle_qini = qini_coef(ry, rt, [t for _, t in rnd])
for col in cols:
    e = [float(r[col]) for r, _ in rows]
    pehe = math.sqrt(sum((a - b) ** 2 for a, b in zip(e, true)) / n)
    me = sum(e) / n
    cov = sum((a - me) * (b - mean_true) for a, b in zip(e, true)) / n
    sde = math.sqrt(sum((a - me) ** 2 for a in e) / n)
    q = qini_coef(ry, rt, [float(r[col]) for r, _ in rnd])
    print(json.dumps({"bench": "uplift_ws_pehe", "label": label, "effect": col, "n_test": n,
                      "pehe": round(pehe, 5), "pehe_best_constant": round(sd, 5),
                      "pehe_ab_ate": round(pehe_ab, 5), "ab_ate_train": round(ab_ate, 5),
                      "true_mean_effect": round(mean_true, 5), "pred_mean_effect": round(me, 5),
                      "pred_sd": round(sde, 5),
                      "corr": round(cov / (sde * sd), 4) if sde > 0 and sd > 0 else None,
                      "heterogeneity_explained": round(1 - pehe ** 2 / sd ** 2, 4),
                      "n_test_randomised": len(rnd), "qini": round(q, 4),
                      "qini_oracle": round(oracle_qini, 4),
                      "qini_model_over_oracle": round(q / oracle_qini, 3)}))
