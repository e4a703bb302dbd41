#!/usr/bin/python3
"""The reference beside `promo uplift` on Hillstrom (bench/uplift.sh): a scikit-learn /
xgboost-python T-learner on the SAME held-out split (the row indices promo wrote), scored with
the same Qini/AUUC formulas (include/promo/uplift_metrics.h, which are scikit-uplift's,
reimplemented here in numpy), then one table of every promo learner beside it.

Also a cross-check: the Qini and AUUC of promo's own predictions (its --predictions-out file),
recomputed here, must equal the figures promo printed.

usage: uplift_ref.py --data FILE.csv --outcome visit|spend --split ROWS.txt
                     --features COLS --results DIR [--threads N]
"""
import argparse
import glob
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb

CONTROL = "No E-Mail"
ARMS = ["Mens E-Mail", "Womens E-Mail"]


def curve_points(y, t, s):
    """Block ends of the rows sorted by score (desc; ties in reverse input order as numpy's
    argsort(kind='mergesort')[::-1]): N, N_T, Y_T, Y_C at each, with (0, 0) first."""
    order = np.argsort(s, kind="mergesort")[::-1]
    y, t, s = y[order], t[order], s[order]
    ends = np.r_[np.where(np.diff(s))[0], len(s) - 1]
    n_all = ends + 1.0
    n_t = np.cumsum(t)[ends].astype(float)
    n_c = n_all - n_t
    y_t = np.cumsum(y * t)[ends]
    y_c = np.cumsum(y * (1 - t))[ends]
    return n_all, n_t, n_c, y_t, y_c


def safe_div(a, b):
    return np.divide(a, b, out=np.zeros_like(a, dtype=float), where=b != 0)


def uplift_curve(y, t, s):
    n_all, n_t, n_c, y_t, y_c = curve_points(y, t, s)
    u = (safe_div(y_t, n_t) - safe_div(y_c, n_c)) * n_all
    return np.r_[0, n_all], np.r_[0, u]


def qini_curve(y, t, s):
    n_all, n_t, n_c, y_t, y_c = curve_points(y, t, s)
    q = y_t - y_c * safe_div(n_t, n_c)
    return np.r_[0, n_all], np.r_[0, q]


def area(x, c):
    return float(np.sum((x[1:] - x[:-1]) * (c[1:] + c[:-1]) / 2))


def normalised(x, c, xp, cp):
    """(area - random) / (perfect area - random); random: the line to the last point."""
    base = area(np.array([0, xp[-1]]), np.array([0, cp[-1]]))
    den = area(xp, cp) - base
    return (area(x, c) - base) / den if den != 0 else float("nan")


def qini_coef(y, t, s):
    x, q = qini_curve(y, t, s)
    xp, qp = qini_curve(y, t, y * t - y * (1 - t))
    return normalised(x, q, xp, qp)


def auuc(y, t, s):
    x, u = uplift_curve(y, t, s)
    cr = np.sum((y == 1) & (t == 0))
    tn = np.sum((y == 0) & (t == 1))
    summand = y if cr > tn else t
    xp, up = uplift_curve(y, t, 2 * (y == t) + summand)
    return normalised(x, u, xp, up)


def encode(df, features):
    """promo uplift's encoding: numbers as they are, strings one-hot (<= 32 levels) else
    frequency; one-hot levels in first-appearance order, as promo's dictionary."""
    cols = []
    for c in features:
        col = df[c]
        if col.dtype == object:
            levels = list(dict.fromkeys(col.dropna()))
            if len(levels) <= 32:
                for lv in levels:
                    cols.append((col == lv).astype(np.float32).to_numpy())
            else:
                freq = col.map(col.value_counts(normalize=True))
                cols.append(freq.astype(np.float32).to_numpy())
        else:
            cols.append(col.astype(np.float32).to_numpy())
    return np.column_stack(cols)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--outcome", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--features", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--learners", default="s t x r dr tree forest")
    a = ap.parse_args()

    t0 = time.perf_counter()
    df = pd.read_csv(a.data)
    x = encode(df, a.features.split(","))
    y = df[a.outcome].astype(float).to_numpy()
    arm = df["segment"].to_numpy()
    test = np.zeros(len(df), dtype=bool)
    test[np.loadtxt(a.split, dtype=np.int64)] = True
    binary = set(np.unique(y)) <= {0.0, 1.0}
    params = dict(n_estimators=100, max_depth=6, learning_rate=0.3, tree_method="hist",
                  n_jobs=a.threads or None, random_state=1)  # xgboost's defaults
    model = xgb.XGBClassifier if binary else xgb.XGBRegressor

    def fit_predict(rows):
        m = model(**params).fit(x[rows], y[rows])
        xt = x[test]
        return m.predict_proba(xt)[:, 1] if binary else m.predict(xt)

    mu0 = fit_predict(~test & (arm == CONTROL))
    ref = {}
    for name in ARMS:
        eff = fit_predict(~test & (arm == name)) - mu0
        keep = (arm[test] == name) | (arm[test] == CONTROL)
        tt = (arm[test][keep] == name).astype(float)
        yy, ss = y[test][keep], eff[keep].astype(float)
        ref[name] = (qini_coef(yy, tt, ss), auuc(yy, tt, ss))
    t_ref = time.perf_counter() - t0

    # promo's results for this outcome, and the cross-check on its predictions
    rows = []
    checked = []
    order = {l: k for k, l in enumerate(a.learners.split())}
    paths = glob.glob(os.path.join(a.results, f"{a.outcome}_*.json"))
    for path in sorted(paths, key=lambda p: order.get(p.rsplit("_", 1)[1][:-5], 99)):
        with open(path) as f:
            txt = f.read().strip()
        learner = os.path.basename(path)[len(a.outcome) + 1:-5]
        if not txt.startswith("{"):
            rows.append((learner, None, None))
            continue
        r = json.loads(txt)
        secs = None
        tpath = path[:-5] + ".time"
        if os.path.exists(tpath):
            secs = float(open(tpath).read())
        rows.append((learner, r, secs))
        pred = path[:-5] + ".pred.csv"
        if os.path.exists(pred):
            p = pd.read_csv(pred)
            got = np.sort(p["row"].to_numpy())
            if not np.array_equal(got, np.flatnonzero(test)):
                sys.exit(f"{pred}: held-out rows differ from {a.split}")
            for name in ARMS:
                sub = arm[p["row"]]
                keep = (sub == name) | (sub == CONTROL)
                tt = (sub[keep] == name).astype(float)
                yy = y[p["row"]][keep]
                ss = p[name].to_numpy()[keep].astype(float)
                mine = next(e for e in r["arms"] if e["arm"] == name)
                checked.append((learner, name, qini_coef(yy, tt, ss), mine["qini"],
                                auuc(yy, tt, ss), mine["auuc"]))

    print(f"### outcome `{a.outcome}` ({'binary' if binary else 'continuous'}), "
          f"{int(test.sum())} held-out rows\n")
    print("| learner | Womens Qini | Womens AUUC | Mens Qini | Mens AUUC | 3-arm policy "
          "(calibrated) [95% CI] | argmax policy | best single arm | calibrated - best single, "
          "paired [95% CI] | argmax - best single, paired [95% CI] | time (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    jl = []
    for learner, r, secs in rows:
        if r is None:
            print(f"| promo {learner} | failed | | | | | | | | | |")
            continue
        e = {x["arm"]: x for x in r["arms"]}
        pol = {p["policy"]: p for p in r["policies"]}
        best = pol["best arm"]
        amax = pol.get("argmax", best)
        key = r.get("policy_estimator", "dr" if best["dr"] is not None else "ips")
        top = pol[r["best_single"]]
        lo, hi = best[key + "_lo"], best[key + "_hi"]
        print(f"| promo {learner} | {e['Womens E-Mail']['qini']:.4f} | "
              f"{e['Womens E-Mail']['auuc']:.4f} | {e['Mens E-Mail']['qini']:.4f} | "
              f"{e['Mens E-Mail']['auuc']:.4f} | {best[key]:.4f} [{lo:.4f}, {hi:.4f}]"
              f"{'' if key == 'dr' else ' (IPS)'} | {amax[key]:.4f} | "
              f"{top['policy']} {top[key]:.4f} | {best['vs_best_single']:+.4f} "
              f"[{best['vs_lo']:+.4f}, {best['vs_hi']:+.4f}] | {amax['vs_best_single']:+.4f} "
              f"[{amax['vs_lo']:+.4f}, {amax['vs_hi']:+.4f}] | "
              f"{secs if secs is None else f'{secs:.2f}'} |")
        jl.append({"bench": "uplift_hillstrom_policy", "outcome": a.outcome, "learner": learner,
                   "estimator": key, "rule": r.get("policy_rule"),
                   "policy": best[key], "policy_lo": lo, "policy_hi": hi,
                   "argmax": amax[key], "best_single": top["policy"],
                   "best_single_value": top[key],
                   "vs_best_single": best["vs_best_single"], "vs_lo": best["vs_lo"],
                   "vs_hi": best["vs_hi"], "argmax_vs_best_single": amax["vs_best_single"],
                   "argmax_vs_lo": amax["vs_lo"], "argmax_vs_hi": amax["vs_hi"],
                   "calibration": r.get("policy_calibration"),
                   "qini_womens": e["Womens E-Mail"]["qini"],
                   "qini_mens": e["Mens E-Mail"]["qini"], "seconds": secs})
    print(f"| sklearn/xgboost T-learner | {ref['Womens E-Mail'][0]:.4f} | "
          f"{ref['Womens E-Mail'][1]:.4f} | {ref['Mens E-Mail'][0]:.4f} | "
          f"{ref['Mens E-Mail'][1]:.4f} | | | | | | {t_ref:.2f} |")
    worst = 0.0
    for learner, name, q, pq, u, pu in checked:
        worst = max(worst, abs(q - pq), abs(u - pu))
    if checked:
        learner, name, q, pq, u, pu = checked[0]
        print(f"\ncross-check: Qini/AUUC of promo's predictions recomputed in Python "
              f"({len(checked)} learner x arm pairs), largest difference {worst:.2g}; e.g. "
              f"{learner}, {name}: Qini {q:.6f} here vs {pq:.6f} promo, AUUC {u:.6f} vs "
              f"{pu:.6f}\n")
    for j in jl:
        print(json.dumps(j))
    print()
    if worst > 1e-4:
        sys.exit("cross-check failed")


if __name__ == "__main__":
    main()
