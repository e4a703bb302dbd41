#!/bin/sh
# bench/segment.sh: customer segments on the generated world and on UCI Online Retail.
#   1. synthetic world (default size, seeds 1..3): adjusted Rand index of the k-means segments
#      (K chosen by silhouette, and K = 4 = the generator's number of true segments), of the
#      personas' clusters (K chosen from 4) and of the spend tiers against
#      truth_customers.segment_true; one JSON line per run;
#   2. UCI Online Retail (../shared/data/online_retail, skipped when absent): the tiers and
#      personas tables as `promo segment` prints them.
# Usage: sh bench/segment.sh [BUILD]    (BUILD defaults to build; run from the checkout)
set -e
BUILD=${1:-build}
make --no-print-directory BUILD="$BUILD" "$BUILD/promo" >/dev/null
PROMO="./$BUILD/promo"
TMP=$(mktemp -d /tmp/promo-bench-segment.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
for seed in 1 2 3; do
    ws="$TMP/world$seed"
    "$PROMO" -q generate --ws "$ws" --seed "$seed" >/dev/null
    for run in "kmeans" "kmeans --k 4" "personas" "tiers"; do
        t0=$(date +%s.%N)
        "$PROMO" -q segment --ws "$ws" --method $run --json >"$TMP/out.json"
        t1=$(date +%s.%N)
        /usr/bin/python3 - "$TMP/out.json" "$seed" "$run" "$t0" "$t1" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(json.dumps({"bench": "segment", "data": "synthetic", "seed": int(sys.argv[2]),
                  "run": sys.argv[3], "k": j.get("k"), "customers": j["customers"],
                  "clustered": j["clustered"], "silhouette": j.get("silhouette"),
                  "ari_truth": j["ari_truth"],
                  "personas": sorted({s["persona"] for s in j["segments"] if s.get("persona")})
                  if j["method"] == "personas" else None,
                  "seconds": round(float(sys.argv[5]) - float(sys.argv[4]), 3)}))
PY
    done
done
UCI=../shared/data/online_retail/online_retail.csv
if [ -f "$UCI" ]; then
    "$PROMO" -q ingest --ws "$TMP/uci" --format online-retail "$UCI" >/dev/null
    echo "## UCI Online Retail: promo segment --method tiers"
    "$PROMO" -q segment --ws "$TMP/uci" --method tiers
    echo "## UCI Online Retail: promo segment --method personas"
    "$PROMO" -q segment --ws "$TMP/uci" --method personas
else
    echo "# $UCI absent: UCI tables skipped"
fi
