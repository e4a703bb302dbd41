#!/usr/bin/env python3
"""PEHE of a workspace uplift model against the generated world's truth (bench/uplift_ws.sh).

usage: uplift_ws_pehe.py WS PREDICTIONS.csv LABEL
PREDICTIONS.csv is `promo train --model uplift --predictions-out`'s file (one row per exposure
with its part train/test/gap and effect_treatment). The true effect of each exposure is
truth_exposures.p1 - p0. Over the TEST rows (every arm: the model scores them all) prints one
JSON line: PEHE = sqrt(mean((effect - true)^2)) beside two constants, the true mean effect of
the test rows (the best constant: its PEHE is the true effects' standard deviation) and the
difference in means of the randomised training rows (what a non-personalised A/B estimate
gives), the correlation of predicted and true effects, and the share of the heterogeneity
explained 1 - PEHE^2 / sd^2."""
import csv
import json
import math
import sqlite3
import sys

ws, pred_path, label = sys.argv[1], sys.argv[2], sys.argv[3]
db = sqlite3.connect(f"file:{ws}/promo.db?mode=ro", uri=True)
truth = {(p, c): p1 - p0 for p, c, p0, p1 in
         db.execute("SELECT promotion_id, customer_id, p0, p1 FROM truth_exposures")}
test, ab = [], {"treatment": [0, 0], "control": [0, 0]}
with open(pred_path, newline="") as f:
    for r in csv.DictReader(f):
        if r["part"] == "train" and r["randomised"] == "1":
            ab[r["arm"]][0] += float(r["y"])
            ab[r["arm"]][1] += 1
        if r["part"] != "test":
            continue
        t = truth.get((r["promotion_id"], r["customer_id"]))
        if t is not None:
            test.append((float(r["effect_treatment"]), t))
n = len(test)
mean_true = sum(t for _, t in test) / n
ab_ate = ab["treatment"][0] / ab["treatment"][1] - ab["control"][0] / ab["control"][1]
pehe = math.sqrt(sum((e - t) ** 2 for e, t in test) / n)
sd = math.sqrt(sum((t - mean_true) ** 2 for _, t in test) / n)
pehe_ab = math.sqrt(sum((ab_ate - t) ** 2 for _, t in test) / n)
me = sum(e for e, _ in test) / n
cov = sum((e - me) * (t - mean_true) for e, t in test) / n
sde = math.sqrt(sum((e - me) ** 2 for e, _ in test) / n)
print(json.dumps({"bench": "uplift_ws_pehe", "label": label, "n_test": n,
                  "pehe": round(pehe, 5), "pehe_best_constant": round(sd, 5),
                  "pehe_ab_ate": round(pehe_ab, 5), "ab_ate_train": round(ab_ate, 5),
                  "true_mean_effect": round(mean_true, 5), "pred_mean_effect": round(me, 5),
                  "corr": round(cov / (sde * sd), 4) if sde > 0 and sd > 0 else None,
                  "heterogeneity_explained": round(1 - pehe ** 2 / sd ** 2, 4)}))
