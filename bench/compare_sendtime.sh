#!/bin/sh
# Issue 16: what the campaign engine's send time and fatigue rules change in `promo compare`.
# Over the N best sellers of a generated world, every strategy is played twice with the same
# draws: with the rules (the default: rfm, propensity, uplift and optimized send at each
# customer's usual weekday and hour, without the customers fatigue suppresses; the oracle is
# the true best policy under those rules) and, as the reference in the same run, without them
# (--send-time fixed --fatigue off: every strategy on day 0 at 10:00, the comparison as it was
# before the rules). Broadcast and random are the same in both (they are not targeted).
#   sh bench/compare_sendtime.sh [CUSTOMERS] [PRODUCTS]   (default: the default world, 10)
# Uses the workspace bench/compare.sh builds ($WS, default /tmp/promo-bench-compare-N), and
# trains its uplift model only when it has none. JSON lines: one per product, rules and
# strategy, then the means per rules and strategy.
set -eu
cd "$(dirname "$0")/.."
PROMO=${PROMO:-build/promo}
CUSTOMERS=${1:-1000}
NPROD=${2:-10}
WS=${WS:-/tmp/promo-bench-compare-$CUSTOMERS}
[ -x "$PROMO" ] || make -j2 build/promo >/dev/null
if [ ! -f "$WS/promo.db" ]; then
    if [ "$CUSTOMERS" = 1000 ]; then
        "$PROMO" generate --ws "$WS" -q
    else
        "$PROMO" generate --ws "$WS" -q --customers "$CUSTOMERS" --products 2000 \
            --transactions $((CUSTOMERS * 50))
    fi
fi
[ -f "$WS/models/uplift.bin" ] || "$PROMO" train --ws "$WS" --model uplift -q >/dev/null 2>&1 ||
    echo '{"bench":"compare_sendtime","note":"no uplift model"}'
/usr/bin/python3 - "$PROMO" "$WS" "$NPROD" <<'PY'
import json, subprocess, sys, time
promo, ws, nprod = sys.argv[1], sys.argv[2], int(sys.argv[3])
prods = subprocess.run([promo, "-q", "sql", "--ws", ws,
    "select product_id from transactions group by product_id order by count(*) desc, "
    f"product_id limit {nprod}"], check=True, capture_output=True, text=True).stdout.split()
names = ["broadcast", "random", "rfm", "propensity", "uplift", "optimized", "oracle"]
modes = {"rules": [], "fixed": ["--send-time", "fixed", "--fatigue", "off"]}
tot = {m: {k: {"profit": [], "cpic": [], "contacts": [], "suppressed": []} for k in names}
       for m in modes}
secs = {m: 0.0 for m in modes}
for p in prods:
    for m, extra in modes.items():
        t0 = time.time()
        out = subprocess.run([promo, "compare", "--ws", ws, "--product", p, "--json",
                              "--no-chart"] + extra,
                             check=True, capture_output=True, text=True).stdout
        secs[m] += time.time() - t0
        o = json.loads(out)
        for k in names:
            r = o[k]
            if not r["available"]:
                continue
            print(json.dumps({"bench": "compare_sendtime", "product": p, "rules": m,
                              "strategy": k, "discount_pct": r["discount_pct"],
                              "contacts": r["contacts"],
                              "suppressed_fatigue": r["suppressed_fatigue"],
                              "incremental_profit": r["incremental_profit"],
                              "expected_profit": r["expected_profit"],
                              "cost_per_incremental_conversion":
                                  r["cost_per_incremental_conversion"]}))
            t = tot[m][k]
            t["profit"].append(r["incremental_profit"])
            t["contacts"].append(r["contacts"])
            t["suppressed"].append(r["suppressed_fatigue"])
            if r["cost_per_incremental_conversion"] is not None:
                t["cpic"].append(r["cost_per_incremental_conversion"])
mean = lambda v: round(sum(v) / len(v), 1) if v else None
for m in modes:
    print(json.dumps({"bench": "compare_sendtime", "rules": m, "products": len(prods),
                      "seconds_total": round(secs[m], 1),
                      "mean": {k: {"incremental_profit": mean(v["profit"]),
                                   "cost_per_incremental_conversion": mean(v["cpic"]),
                                   "contacts": mean(v["contacts"]),
                                   "suppressed_fatigue": mean(v["suppressed"])}
                               for k, v in tot[m].items() if v["profit"]}}))
PY
