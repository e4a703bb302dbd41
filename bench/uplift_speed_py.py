#!/usr/bin/python3
"""The Python side of bench/uplift_speed.sh: the pipeline `promo uplift --learner t` runs,
written the usual way in Python: pandas.read_csv, a stratified (arm x outcome) 30% hold-out
(sklearn's train_test_split), an xgboost-python T-learner (one XGBClassifier per arm,
tree_method hist), predict the held-out rows, and the Qini coefficient exactly as
scikit-uplift's qini_auc_score (include/promo/uplift_metrics.h; the numpy code is
bench/uplift_ref.py's). Prints one JSON line with the time of every stage.

  --params promo     promo's T-learner defaults (promo_uplift_params_default, src/models/
                     uplift.c + promo_gbdt_params_default): depth 4, eta 0.1, at most 300
                     rounds, early stopping after 20 on a 20% validation share of each arm's
                     training rows (logloss), min_child_weight 5, subsample 0.8,
                     colsample_bytree 0.8, lambda 1, 256 bins
  --params default   xgboost's defaults: 100 rounds, depth 6, eta 0.3, no early stopping

  --test-rows FILE   hold out exactly these rows (the `row` column of promo's
                     --predictions-out), so both sides' Qini are on the same rows; reading it is
                     timed apart (split_file_s) and is not part of the pipeline

usage: uplift_speed_py.py --data FILE.csv --params promo|default [--api sklearn|native]
                          [--threads 2] [--seed 1] [--test-rows FILE]
"""
import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xgboost as xgb  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from uplift_ref import qini_coef  # noqa: E402  (sklift's qini_auc_score in numpy)

T_IMPORT = time.perf_counter()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--params", choices=["promo", "default"], required=True)
    ap.add_argument("--api", choices=["sklearn", "native"], default="sklearn",
                    help="XGBClassifier (default) or xgb.train on DMatrix")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--treatment", default="t")
    ap.add_argument("--outcome", default="y")
    ap.add_argument("--control", default="control")
    ap.add_argument("--test-rows", help="promo's predictions file: hold out its rows")
    a = ap.parse_args()
    st = {}
    held = None
    if a.test_rows:
        t0 = time.perf_counter()
        held = pd.read_csv(a.test_rows, usecols=["row"])["row"].to_numpy()
        split_file_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    df = pd.read_csv(a.data)
    st["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    feats = [c for c in df.columns if c not in (a.treatment, a.outcome)]
    # C order, as promo hands XGBoost a row-major matrix (pandas returns Fortran order; that
    # made no measurable difference to xgboost here, but keeps the two sides alike).
    x = np.ascontiguousarray(df[feats].to_numpy(dtype=np.float32))
    y = df[a.outcome].to_numpy(dtype=np.int32)
    treated = (df[a.treatment] != a.control).to_numpy().astype(np.int32)
    idx = np.arange(len(df))
    if held is None:
        tr, te = train_test_split(idx, test_size=0.3, random_state=a.seed,
                                  stratify=treated * 2 + y)
    else:
        is_test = np.zeros(len(df), dtype=bool)
        is_test[held] = True
        tr, te = idx[~is_test], np.sort(held)
    st["encode_split"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if a.params == "promo":
        params = dict(n_estimators=300, max_depth=4, learning_rate=0.1, min_child_weight=5,
                      subsample=0.8, colsample_bytree=0.8, reg_lambda=1.0, max_bin=256,
                      early_stopping_rounds=20, eval_metric="logloss")
    else:
        params = {}
    models, rounds = [], []
    native = {"objective": "binary:logistic", "tree_method": "hist", "nthread": a.threads,
              "seed": a.seed}
    if a.params == "promo":
        native.update(max_depth=4, eta=0.1, min_child_weight=5, subsample=0.8,
                      colsample_bytree=0.8, reg_lambda=1.0, max_bin=256, eval_metric="logloss")
    for arm in (0, 1):
        rows = tr[treated[tr] == arm]
        if a.api == "native":
            if a.params == "promo":
                fit, val = train_test_split(rows, test_size=0.2, random_state=a.seed + arm)
                dfit = xgb.DMatrix(x[fit], label=y[fit], nthread=a.threads)
                dval = xgb.DMatrix(x[val], label=y[val], nthread=a.threads)
                b = xgb.train(native, dfit, 300, evals=[(dval, "valid")],
                              early_stopping_rounds=20, verbose_eval=False)
                rounds.append(int(b.best_iteration) + 1)
            else:
                b = xgb.train(native, xgb.DMatrix(x[rows], label=y[rows], nthread=a.threads),
                              100)
                rounds.append(b.num_boosted_rounds())
            models.append(b)
            continue
        m = xgb.XGBClassifier(tree_method="hist", n_jobs=a.threads, random_state=a.seed,
                              **params)
        if a.params == "promo":
            fit, val = train_test_split(rows, test_size=0.2, random_state=a.seed + arm)
            m.fit(x[fit], y[fit], eval_set=[(x[val], y[val])], verbose=False)
            rounds.append(int(m.best_iteration) + 1)
        else:
            m.fit(x[rows], y[rows])
            rounds.append(m.get_booster().num_boosted_rounds())
        models.append(m)
    st["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    xt = x[te]
    if a.api == "native":
        dt = xgb.DMatrix(xt, nthread=a.threads)
        eff = (models[1].predict(dt, iteration_range=(0, rounds[1]))
               - models[0].predict(dt, iteration_range=(0, rounds[0])))
    else:
        # predict_proba uses the best iteration when early stopping ran (xgboost >= 1.4)
        eff = models[1].predict_proba(xt)[:, 1] - models[0].predict_proba(xt)[:, 1]
    st["predict"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    q = qini_coef(y[te].astype(float), treated[te].astype(float), eff.astype(float))
    st["metrics"] = time.perf_counter() - t0

    t_end = time.perf_counter()
    print(json.dumps({
        "pipeline": f"python xgboost T-learner ({a.params} params, {a.api} API)",
        "rows": int(len(df)), "train": int(len(tr)), "test": int(len(te)),
        "rounds_control_treated": rounds, "qini": round(q, 6),
        "import_s": round(T_IMPORT - T_START, 3),
        **{f"{k}_s": round(v, 3) for k, v in st.items()},
        "in_process_s": round(t_end - T_IMPORT, 3),
        "split_file_s": round(split_file_s, 3) if held is not None else 0.0,
        "split": "promo's held-out rows" if held is not None else "own stratified 30%",
        "xgboost": xgb.__version__,
        "pandas": pd.__version__}))


if __name__ == "__main__":
    main()
