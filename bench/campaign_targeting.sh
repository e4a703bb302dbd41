#!/bin/sh
# bench/campaign_targeting: what send time and fatigue suppression do to a campaign's simulated
# incremental profit (the generated world models both: synth.h's m_i send-time match and
# f_i = exp(-kappa_i F) fatigue). JSON lines on stdout, one per (product, setting).
#   For the 10 best sellers of WS (default: a fresh default world with its uplift model):
#   `promo campaign --optimize --holdout 0` under five settings, each played by
#   `promo simulate --json` (200 draws, common random numbers: the settings are paired):
#     base       --send-time fixed --fatigue off   (the campaign before this work: day 0, 10:00)
#     sendtime   --send-time best  --fatigue off
#     suppress   --send-time fixed --fatigue suppress
#     cooldown   --send-time fixed --fatigue cooldown
#     both       --send-time best  --fatigue suppress (the new default)
#   sh bench/campaign_targeting.sh [WS]     (BUILD=build-x; EXTRA="--fatigue-max-contacts-30d 2";
#   MODE="--budget 1e9 --target 200": a fixed count by expected profit instead of --optimize)
set -e
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/promo" >&2
P="$BUILD/promo"
if [ -n "$1" ]; then WS=$1; TMP=$(mktemp -d /tmp/promo-bench-targeting.XXXXXX); else
    TMP=$(mktemp -d /tmp/promo-bench-targeting.XXXXXX)
    WS=$TMP/def
    "$P" -q generate --ws "$WS" --force >&2
    "$P" -q train --ws "$WS" --model uplift >&2
fi
trap 'rm -rf "$TMP"' EXIT
echo "uptime before: $(uptime)" >&2
for PROD in $("$P" -q sql --ws "$WS" \
        "SELECT product_id FROM transactions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 10"); do
    for SET in base sendtime suppress cooldown both; do
        case $SET in
            base) O="--send-time fixed --fatigue off" ;;
            sendtime) O="--send-time best --fatigue off" ;;
            suppress) O="--send-time fixed --fatigue suppress" ;;
            cooldown) O="--send-time fixed --fatigue cooldown" ;;
            both) O="--send-time best --fatigue suppress" ;;
        esac
        # shellcheck disable=SC2086
        "$P" -q campaign --ws "$WS" --product "$PROD" ${MODE:---optimize} --holdout 0 $O $EXTRA --json \
            --out "$TMP/c.csv" > "$TMP/c.json"
        "$P" -q simulate --ws "$WS" --campaign "$TMP/c.csv" --json > "$TMP/s.json"
        python3 - "$PROD" "$SET" "$TMP/c.json" "$TMP/s.json" <<'PY'
import json, sys
prod, st = sys.argv[1], sys.argv[2]
c = json.load(open(sys.argv[3])); s = json.load(open(sys.argv[4]))
def m(k):
    v = s.get(k); return v.get("mean") if isinstance(v, dict) else v
import os
print(json.dumps({"bench": "campaign_targeting", "product": prod, "setting": st,
    "mode": os.environ.get("MODE") or "--optimize", "extra": os.environ.get("EXTRA", ""),
    "contacts": c["forecast"]["contacts"], "suppressed_fatigue": c["suppressed_fatigue"],
    "cooled_down": c["cooled_down"], "forecast_profit": round(c["forecast"]["incremental_profit"], 2),
    "sim_incremental_profit": round(m("incremental_profit"), 2),
    "sim_incremental_conversions": round(m("incremental_conversions"), 3)}))
PY
    done
done
echo "uptime after: $(uptime)" >&2
