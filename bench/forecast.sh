#!/bin/sh
# bench/forecast: the campaign optimizer (promo/forecast.h) on the default generated world and
# the forecaster's speed on a larger one. JSON lines on stdout.
#   1. `promo generate` (defaults: 1,000 customers), `promo train --model uplift`; for the 10
#      best sellers (most order lines): `promo compare --json` (broadcast at 10%, compare's
#      optimized strategy, the oracle at 10%: every customer of positive TRUE expected profit)
#      and `promo campaign --optimize --holdout 0` played by `promo simulate` (same simulator
#      defaults, same draws: 200, 1 LKR a contact, 14 days): one line per product;
#   2. bench/forecast_speed.c on a world of $BIG customers (default 100,000; 1,000,000
#      transactions; uplift model without CLV features to keep the training short): opening,
#      the surface cold (51 model calls) and warm (cached), a point forecast cold and warm.
#   sh bench/forecast.sh [BIG]        (BUILD=build-x to pick the build tree; KEEP=DIR to reuse)
set -e
BUILD=${BUILD:-build}
BIG=${1:-100000}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" "$BUILD/promo" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/forecast_speed" bench/forecast_speed.c "$BUILD/libpromo.a" \
   $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
P="$BUILD/promo"
if [ -n "$KEEP" ]; then WS=$KEEP; mkdir -p "$WS"; else
    WS=$(mktemp -d /tmp/promo-bench-forecast.XXXXXX)
    trap 'rm -rf "$WS"' EXIT
fi
if [ ! -f "$WS/def/models/uplift.bin" ]; then
    "$P" -q generate --ws "$WS/def" --force >&2
    "$P" -q train --ws "$WS/def" --model uplift >&2
fi
echo "uptime before: $(uptime)" >&2
for PROD in $("$P" -q sql --ws "$WS/def" \
        "SELECT product_id FROM transactions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 10"); do
    "$P" -q compare --ws "$WS/def" --product "$PROD" --no-chart --json > "$WS/c.json"
    "$P" -q campaign --ws "$WS/def" --product "$PROD" --optimize --holdout 0 --json \
        --out "$WS/opt_$PROD.csv" > "$WS/o.json"
    "$P" -q simulate --ws "$WS/def" --campaign "$WS/opt_$PROD.csv" --json > "$WS/s.json"
    python3 - "$PROD" "$WS/c.json" "$WS/o.json" "$WS/s.json" <<'PY'
import json, sys
prod = sys.argv[1]
c, o, s = (json.load(open(f)) for f in sys.argv[2:5])
def fig(x, k):
    v = x.get(k)
    return v["mean"] if isinstance(v, dict) else v
row = {"bench": "forecast_vs_strategies", "product": prod,
       "broadcast_profit": c["broadcast"]["incremental_profit"],
       "broadcast_cost_per_inc": c["broadcast"]["cost_per_incremental_conversion"],
       "compare_optimized_discount": c["optimized"].get("discount_pct"),
       "compare_optimized_contacts": c["optimized"].get("contacts"),
       "compare_optimized_profit": c["optimized"].get("incremental_profit"),
       "oracle_profit_at_10": c["oracle"]["incremental_profit"],
       "forecast_discount": o["discount_pct"], "forecast_target": o["target"],
       "forecast_expected_profit": o["forecast"]["incremental_profit"],
       "forecast_sim_profit": fig(s, "incremental_profit"),
       "forecast_sim_inc_conv": fig(s, "incremental_conversions"),
       "forecast_sim_costs": (fig(s, "discount_cost") or 0) + (fig(s, "contact_cost") or 0)}
print(json.dumps(row))
PY
done
echo "uptime after: $(uptime)" >&2
if [ "$BIG" -gt 0 ]; then
    if [ ! -f "$WS/big/models/uplift.bin" ]; then
        "$P" -q generate --ws "$WS/big" --customers "$BIG" --transactions 1000000 --force >&2
        "$P" -q train --ws "$WS/big" --model uplift --no-clv >&2
    fi
    BEST=$("$P" -q sql --ws "$WS/big" \
        "SELECT product_id FROM transactions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    echo "uptime before: $(uptime)" >&2
    "$BUILD/bench/forecast_speed" "$WS/big" "$BEST" 3
    echo "uptime after: $(uptime)" >&2
fi
