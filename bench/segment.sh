#!/bin/sh
# bench/segment.sh: customer segments on the generated world and on UCI Online Retail.
#   1. synthetic world (default size, seeds 1..3): adjusted Rand index of the k-means segments
#      (K chosen by silhouette, and K = 4 = the generator's number of true segments), of the
#      personas' clusters and of the spend tiers against truth_customers.segment_true; one JSON
#      line per run;
#   2. UCI Online Retail (../shared/data/online_retail, skipped when absent): the tiers and
#      personas tables as `promo segment` prints them.
# Usage: sh bench/segment.sh [BUILD]    (BUILD defaults to build; run from the checkout)
set -e
BUILD=${1:-build}
make --no-print-directory BUILD="$BUILD" "$BUILD/promo" >/dev/null
PROMO="./$BUILD/promo"
TMP=$(mktemp -d /tmp/promo-bench-segment.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
field() { # field NAME JSON: the value of "NAME": in a one-line JSON object
    printf '%s' "$2" | sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"
}
for seed in 1 2 3; do
    ws="$TMP/world$seed"
    "$PROMO" -q generate --ws "$ws" --seed "$seed" >/dev/null
    for run in "kmeans" "kmeans --k 4" "personas --k 4" "tiers"; do
        t0=$(date +%s.%N)
        j=$("$PROMO" -q segment --ws "$ws" --method $run --json)
        t1=$(date +%s.%N)
        printf '{"bench":"segment","data":"synthetic","seed":%s,"method":"%s","k":%s,"customers":%s,"clustered":%s,"silhouette":%s,"ari_truth":%s,"seconds":%s}\n' \
            "$seed" "$run" "$(field k "$j" | sed 's/^$/null/')" "$(field customers "$j")" \
            "$(field clustered "$j")" "$(field silhouette "$j" | sed 's/^$/null/')" \
            "$(field ari_truth "$j")" "$(echo "$t1 - $t0" | bc -l | sed 's/^\./0./' | cut -c1-6)"
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
