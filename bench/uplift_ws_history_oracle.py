#!/usr/bin/env python3
"""The information limit of a generated world's promotion log (issue 16): a "history oracle"
that knows the world's rules but sees only the observed history.

usage: uplift_ws_history_oracle.py WS [LABEL]   (needs `promo` on PATH or PROMO=path)

In the generator (src/synth/generate.c, world.c) a customer's effect is set by a latent type
(persuadable, sure thing, lost cause, sleeping dog); the purchase history does not depend on
the type, so the only trace of it is how the customer answered earlier exposures. The oracle
knows, per type, the share of customers and the conversion rate of treated and of control
exposures (measured on the whole log with the truth tables: what "knowing the rules" gives),
and for each exposure sees the outcomes of the customer's earlier exposures whose promotion had
ended by the exposure's day (the same information the features have). Its prediction is the
posterior mean effect: sum over types of P(type | those outcomes) x the type's mean true
effect. On the randomised exposures, against truth_exposures' p1 - p0: correlation, share of
the effect's variance explained, beside the same for knowing the type itself. Pure Python."""
import math
import os
import subprocess
import sys
from collections import defaultdict

ws = sys.argv[1]
label = sys.argv[2] if len(sys.argv) > 2 else os.path.basename(ws.rstrip("/"))
promo = os.environ.get("PROMO", "promo")
q = ("select e.customer_id, e.ts, e.arm, coalesce(r.converted, 0), p.\"end\", t.p1 - t.p0, "
     "c.response_type from exposures e join promotions p using (promotion_id) "
     "join truth_exposures t using (promotion_id, customer_id) "
     "join truth_customers c using (customer_id) "
     "left join responses r using (promotion_id, customer_id)")
out = subprocess.run([promo, "-q", "sql", "--ws", ws, q], check=True, capture_output=True,
                     text=True).stdout
rows = []
for line in out.splitlines():
    c, ts, arm, y, end, tau, typ = line.split("|")
    rows.append((c, int(ts), arm, int(float(y)), int(end), float(tau), typ))
# The rules: per type, customer share, treated and control conversion rates, mean effect.
cust_type = {r[0]: r[6] for r in rows}
n_c = defaultdict(int)
for t in cust_type.values():
    n_c[t] += 1
prior = {t: n / len(cust_type) for t, n in n_c.items()}
acc = defaultdict(lambda: [0, 0, 0, 0, 0.0, 0])  # treated n, conv, control n, conv, tau sum, n
for c, ts, arm, y, end, tau, typ in rows:
    a = acc[typ]
    if arm == "control":
        a[2] += 1
        a[3] += y
    else:
        a[0] += 1
        a[1] += y
    a[4] += tau
    a[5] += 1
types = sorted(prior)
q1 = {t: (acc[t][1] + 0.5) / (acc[t][0] + 1) for t in types}
q0 = {t: (acc[t][3] + 0.5) / (acc[t][2] + 1) for t in types}
mtau = {t: acc[t][4] / acc[t][5] for t in types}
by_cust = defaultdict(list)
for r in rows:
    by_cust[r[0]].append(r)
pred, truth, typed = [], [], []
for c, ex in by_cust.items():
    for c_, ts, arm, y, end, tau, typ in ex:
        if arm not in ("treatment", "control"):
            continue
        cut = ts - ts % 86400
        logp = {t: math.log(prior[t]) for t in types}
        for _, ts2, arm2, y2, end2, _, _ in ex:
            if ts2 >= cut or end2 >= cut:
                continue  # not before the exposure's day, or not settled then
            for t in types:
                p = q0[t] if arm2 == "control" else q1[t]
                logp[t] += math.log(p if y2 else 1 - p)
        m = max(logp.values())
        z = sum(math.exp(v - m) for v in logp.values())
        pred.append(sum(math.exp(logp[t] - m) / z * mtau[t] for t in types))
        truth.append(tau)
        typed.append(mtau[typ])


def stats(p, y):
    n = len(y)
    mp, my = sum(p) / n, sum(y) / n
    sab = sum((a - mp) * (b - my) for a, b in zip(p, y))
    saa = sum((a - mp) ** 2 for a in p)
    sbb = sum((b - my) ** 2 for b in y)
    mse = sum((a - b) ** 2 for a, b in zip(p, y)) / n
    return (sab / math.sqrt(saa * sbb) if saa and sbb else float("nan"),
            1 - mse / (sbb / n), math.sqrt(mse))


# At the end of the log (where a campaign is planned): every exposure settled, one row per
# customer, against the customer's type mean effect (what an oracle ranking by type gets).
end_pred, end_type = [], []
last = max(r[4] for r in rows)
for c, ex in by_cust.items():
    logp = {t: math.log(prior[t]) for t in types}
    for _, ts2, arm2, y2, end2, _, _ in ex:
        for t in types:
            p = q0[t] if arm2 == "control" else q1[t]
            logp[t] += math.log(p if y2 else 1 - p)
    m = max(logp.values())
    z = sum(math.exp(v - m) for v in logp.values())
    end_pred.append(sum(math.exp(logp[t] - m) / z * mtau[t] for t in types))
    end_type.append(mtau[cust_type[c]])
# The share of the persuadables (the type of the largest effect) among the top 10% and 30% by
# the end-of-log posterior (ties broken by customer order).
order = sorted(range(len(end_pred)), key=lambda i: -end_pred[i])
pers = max(types, key=lambda t: mtau[t])
prec = {}
for frac in (0.1, 0.3):
    top = order[: max(1, int(frac * len(order)))]
    prec[frac] = sum(1 for i in top if end_type[i] == mtau[pers]) / len(top)

import json
ce, ee, pe = stats(end_pred, end_type)
ch, eh, ph = stats(pred, truth)
ct, et, pt = stats(typed, truth)
print(json.dumps({"bench": "uplift_ws_history_oracle", "data": label, "rows": len(truth),
                  "true_sd": round(math.sqrt(sum((b - sum(truth) / len(truth)) ** 2
                                                 for b in truth) / len(truth)), 5),
                  "history_oracle": {"corr_true": round(ch, 4), "explained": round(eh, 4),
                                     "pehe": round(ph, 5)},
                  "end_of_log": {"customers": len(end_pred),
                                 "corr_with_type_effect": round(ce, 4),
                                 "explained_type_effect": round(ee, 4),
                                 "persuadable_share_of_top_10pct": round(prec[0.1], 3),
                                 "persuadable_share_of_top_30pct": round(prec[0.3], 3),
                                 "persuadable_share": round(prior[pers], 3)},
                  "type_known": {"corr_true": round(ct, 4), "explained": round(et, 4),
                                 "pehe": round(pt, 5)},
                  "rules": {t: {"share": round(prior[t], 3), "treated_rate": round(q1[t], 4),
                                "control_rate": round(q0[t], 4), "mean_effect": round(mtau[t], 4)}
                            for t in types}}))
