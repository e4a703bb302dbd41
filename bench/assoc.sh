#!/bin/sh
# Association rules (issue 16's miner): promo rules beside an independent Python Eclat on the
# same baskets, same thresholds, in the same run. Rule counts must agree; arules publishes 410
# rules for Groceries at support 0.001 and confidence 0.8. Prints JSON lines.
#   sh bench/assoc.sh
set -eu
cd "$(dirname "$0")/.."
PROMO=${PROMO:-build/promo}
DATA=${DATA:-../shared/data}
[ -x "$PROMO" ] || make -j2 build/promo >/dev/null
run() { # file layout support confidence
    /usr/bin/time -f '%e %M' -o /tmp/assoc_time.$$ "$PROMO" rules --data "$1" --layout "$2" \
        --min-support "$3" --min-confidence "$4" --top 0 --json >/tmp/assoc_out.$$
    set -- "$@" $(tail -1 /tmp/assoc_time.$$)
    /usr/bin/python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
print(json.dumps({"bench": "assoc", "impl": "promo", "data": sys.argv[2].split("/")[-1],
                  "support": float(sys.argv[3]), "confidence": float(sys.argv[4]),
                  "baskets": o["baskets"], "itemsets": o["itemsets"], "rules": o["rules"],
                  "mine_s": o["seconds"], "wall_s": float(sys.argv[5]), "rss_mb": round(int(sys.argv[6]) / 1024, 1)}))
' /tmp/assoc_out.$$ "$1" "$3" "$4" "$5" "$6"
    /usr/bin/time -f '%e %M' -o /tmp/assoc_time.$$ /usr/bin/python3 bench/assoc_ref.py "$1" "$2" "$3" "$4" 10
    echo "{\"bench\":\"assoc\",\"impl\":\"python-eclat\",\"wall_s_rss_kb\":\"$(tail -1 /tmp/assoc_time.$$)\"}"
}
G=$DATA/groceries/groceries.csv
I=$DATA/instacart/order_products__prior.csv
[ -f "$G" ] && run "$G" lines 0.001 0.8
[ -f "$G" ] && run "$G" lines 0.0005 0.8
[ -f "$I" ] && run "$I" long 0.005 0.3
# The limit that bounds memory: support of one basket makes every subset of a 32-item basket
# frequent; promo stops with a message instead of exhausting memory.
if [ -f "$G" ]; then
    /usr/bin/time -f '%e %M' -o /tmp/assoc_time.$$ "$PROMO" rules --data "$G" --min-support 0.0001 \
        --max-itemsets 2000000 --top 0 >/dev/null 2>/tmp/assoc_err.$$ || true
    echo "{\"bench\":\"assoc\",\"impl\":\"promo\",\"case\":\"support of 1 basket, --max-itemsets 2000000\",\"wall_s_rss_kb\":\"$(tail -1 /tmp/assoc_time.$$)\",\"message\":\"$(head -c 200 /tmp/assoc_err.$$)\"}"
fi
rm -f /tmp/assoc_time.$$ /tmp/assoc_out.$$ /tmp/assoc_err.$$
