#!/bin/sh
# Issue 16's proof: targeting strategies against broadcasting, averaged over the N best sellers
# of a generated world, every strategy played by the simulator with the same draws.
#   sh bench/compare.sh [CUSTOMERS] [PRODUCTS]     (default: the default world, 10 products)
# PROMO_BASE=BINARY adds the campaign of another binary (before/after in one run); WS=DIR an
# existing workspace (TRAIN=0: with its uplift model as it is). FATIGUE=suppress|cooldown|off: the
# targeted strategies' and the campaign's fatigue rule (default: the commands' own, suppress).
# Prints one JSON line per product and strategy, then the averages; the references (broadcast
# and the oracle: the customers whose TRUE expected profit is positive) are in the same run.
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
# The uplift model the uplift and optimized strategies use (trained from the world's own log).
# TRAIN=0 keeps the workspace's model (a large world's copy, trained once).
if [ "${TRAIN:-1}" = 1 ]; then
    "$PROMO" train --ws "$WS" --model uplift -q >/dev/null 2>&1 || echo '{"bench":"compare","note":"no uplift model"}'
fi
/usr/bin/python3 - "$PROMO" "$WS" "$NPROD" "${FATIGUE:-}" <<'PY'
import json, subprocess, sys
promo, ws, nprod = sys.argv[1], sys.argv[2], int(sys.argv[3])
rule = ["--fatigue", sys.argv[4]] if sys.argv[4] else []
# The transactions are column chunks: read through promo sql, not Python's sqlite3.
prods = subprocess.run([promo, "-q", "sql", "--ws", ws,
    "select product_id from transactions group by product_id order by count(*) desc, "
    f"product_id limit {nprod}"], check=True, capture_output=True, text=True).stdout.split()
names = ["broadcast", "random", "rfm", "propensity", "uplift", "optimized", "oracle",
         "optimized_campaign"]
import os, tempfile
# optimized_campaign: what `promo campaign --optimize` sends (no holdout, send time and fatigue as
# compare plays its targeted rows), played by `promo simulate` with the same draws as compare
# (common random numbers: a customer-product pair sees the same luck). PROMO_BASE: a second
# binary whose campaign is played beside it ("optimized_campaign_base": before and after in one
# run, the same workspace and uplift model).
base = os.environ.get("PROMO_BASE")
if base:
    names.append("optimized_campaign_base")
def campaign_row(binary, p):
    with tempfile.TemporaryDirectory() as td:
        f = os.path.join(td, "c.csv")
        subprocess.run([binary, "-q", "campaign", "--ws", ws, "--product", p, "--optimize",
                        "--holdout", "0", "--out", f] + rule, check=True, capture_output=True)
        s = json.loads(subprocess.run([promo, "simulate", "--ws", ws, "--campaign", f, "--json"],
                                      check=True, capture_output=True, text=True).stdout)
    inc, prof = s["incremental_conversions"]["mean"], s["incremental_profit"]["mean"]
    spend = s["discount_cost"]["mean"] + s["contact_cost"]["mean"]
    return {"available": True, "contacts": s["contacts"]["mean"],
            "incremental_conversions": inc, "incremental_profit": prof,
            "cost_per_incremental_conversion": spend / inc if inc > 0 else None,
            "roi": s["roi"]["mean"]}
tot = {k: {"profit": [], "cpic": [], "contacts": [], "inc": []} for k in names}
for p in prods:
    out = subprocess.run([promo, "compare", "--ws", ws, "--product", p, "--json"] + rule,
                         check=True, capture_output=True, text=True).stdout
    o = json.loads(out)
    o["optimized_campaign"] = campaign_row(promo, p)
    if base:
        o["optimized_campaign_base"] = campaign_row(base, p)
    for k in names:
        r = o[k]
        if not r["available"]:
            continue
        print(json.dumps({"bench": "compare", "product": p, "strategy": k,
                          "contacts": r["contacts"],
                          "incremental_conversions": r["incremental_conversions"],
                          "incremental_profit": r["incremental_profit"],
                          "cost_per_incremental_conversion": r["cost_per_incremental_conversion"],
                          "roi": r["roi"]}))
        tot[k]["profit"].append(r["incremental_profit"])
        tot[k]["inc"].append(r["incremental_conversions"])
        tot[k]["contacts"].append(r["contacts"])
        if r["cost_per_incremental_conversion"] is not None:
            tot[k]["cpic"].append(r["cost_per_incremental_conversion"])
mean = lambda v: sum(v) / len(v) if v else None
summary = {k: {"products": len(v["profit"]), "mean_incremental_profit": mean(v["profit"]),
               "mean_incremental_conversions": mean(v["inc"]),
               "mean_contacts": mean(v["contacts"]),
               "mean_cost_per_incremental_conversion": mean(v["cpic"])}
           for k, v in tot.items() if v["profit"]}
print(json.dumps({"bench": "compare", "summary": summary}))
b, orc = summary.get("broadcast"), summary.get("oracle")
for row in ["optimized", "optimized_campaign", "optimized_campaign_base"]:
    o = summary.get(row)
    if not (b and o and orc):
        continue
    print(json.dumps({"bench": "compare", "goal": row + " vs broadcast and oracle",
        "profit_optimized_minus_broadcast": o["mean_incremental_profit"] - b["mean_incremental_profit"],
        "profit_ratio_optimized_over_broadcast":
            o["mean_incremental_profit"] / b["mean_incremental_profit"]
            if b["mean_incremental_profit"] else None,
        "cpic_ratio_optimized_over_broadcast":
            (o["mean_cost_per_incremental_conversion"] or float("nan")) /
            (b["mean_cost_per_incremental_conversion"] or float("nan")),
        "regret_vs_oracle": 1 - o["mean_incremental_profit"] / orc["mean_incremental_profit"]}))
PY
