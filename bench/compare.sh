#!/bin/sh
# Issue 16's proof: targeting strategies against broadcasting, averaged over the N best sellers
# of a generated world, every strategy played by the simulator with the same draws.
#   sh bench/compare.sh [CUSTOMERS] [PRODUCTS]     (default: the default world, 10 products)
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
"$PROMO" train --ws "$WS" --model uplift -q >/dev/null 2>&1 || echo '{"bench":"compare","note":"no uplift model"}'
/usr/bin/python3 - "$PROMO" "$WS" "$NPROD" <<'PY'
import json, subprocess, sys
promo, ws, nprod = sys.argv[1], sys.argv[2], int(sys.argv[3])
# The transactions are column chunks: read through promo sql, not Python's sqlite3.
prods = subprocess.run([promo, "-q", "sql", "--ws", ws,
    "select product_id from transactions group by product_id order by count(*) desc, "
    f"product_id limit {nprod}"], check=True, capture_output=True, text=True).stdout.split()
names = ["broadcast", "random", "rfm", "propensity", "uplift", "optimized", "oracle"]
tot = {k: {"profit": [], "cpic": [], "contacts": [], "inc": []} for k in names}
for p in prods:
    out = subprocess.run([promo, "compare", "--ws", ws, "--product", p, "--json"],
                         check=True, capture_output=True, text=True).stdout
    o = json.loads(out)
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
b, o, orc = summary.get("broadcast"), summary.get("optimized"), summary.get("oracle")
if b and o and orc:
    print(json.dumps({"bench": "compare", "goal": "optimized vs broadcast and oracle",
        "profit_optimized_minus_broadcast": o["mean_incremental_profit"] - b["mean_incremental_profit"],
        "cpic_ratio_optimized_over_broadcast":
            (o["mean_cost_per_incremental_conversion"] or float("nan")) /
            (b["mean_cost_per_incremental_conversion"] or float("nan")),
        "regret_vs_oracle": 1 - o["mean_incremental_profit"] / orc["mean_incremental_profit"]}))
PY
