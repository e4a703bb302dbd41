#!/bin/sh
# bench/campaign_speed: the campaign engine over a 1,000,000-customer world (issue 16's goals:
# a fixed-mode campaign over 1M scored customers <= 200 ms; optimize mode with its full surface
# <= 2 s). JSON lines on stdout (bench/campaign_speed.c says what each line times), then a
# reference from the shell: `sort -g` of as many numbers as customers. Every line has wall_ms
# and cpu_ms (medians of the reps; cpu_ms the process's CPU time over its threads: the figure
# to read on a loaded machine) and the surface lines a digest of every cell (equal digests,
# the same surface bit for bit).
#   sh bench/campaign_speed.sh [WS] [REPS]     (BUILD=build-x to pick the build tree;
#                                               EVERY=1 adds the surface with a model call per
#                                               discount, the old way)
# WS defaults to /work/wt/data/w1m-fair: 1,000,000 customers, 2,000 products, 10M lines, 60
# promotions (promo generate ... --seed 42), uplift model `promo train --model uplift --no-clv
# --as-of 2023-09-01` (the log's first exposures only, to keep the training short under load).
# It is generated here when missing.
set -e
BUILD=${BUILD:-build}
WS=${1:-/work/wt/data/w1m-fair}
REPS=${2:-3}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" "$BUILD/promo" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/campaign_speed" bench/campaign_speed.c "$BUILD/libpromo.a" \
   $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
P="$BUILD/promo"
if [ ! -f "$WS/models/uplift.bin" ]; then
    "$P" -q generate --ws "$WS" --customers 1000000 --products 2000 --transactions 10000000 \
        --promotions 60 --force >&2
    "$P" -q train --ws "$WS" --model uplift --no-clv --as-of 2023-09-01 >&2
fi
BEST=$("$P" -q sql --ws "$WS" \
    "SELECT product_id FROM transactions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
echo "uptime before: $(uptime)" >&2
"$BUILD/bench/campaign_speed" "$WS" "$BEST" "$REPS"
N=$("$P" -q sql --ws "$WS" "SELECT count(*) FROM customers")
TMP=$(mktemp /tmp/promo-campaign-speed.XXXXXX)
trap 'rm -f "$TMP"' EXIT
awk -v n="$N" 'BEGIN { srand(1); for (i = 0; i < n; i++) printf "%.6f\n", rand() - 0.3 }' > "$TMP"
T0=$(date +%s.%N)
CPU=$(LC_ALL=C /usr/bin/time -f "%U %S" sort -g "$TMP" 2>&1 >/dev/null | tail -1)
T1=$(date +%s.%N)
WALL=$(echo "($T1 - $T0) * 1000" | bc -l | xargs printf %.1f)
CPUMS=$(echo "$CPU" | awk '{ printf "%.1f", ($1 + $2) * 1000 }')
echo "{\"bench\":\"campaign_speed\",\"what\":\"ref_sort_g\",\"customers\":$N,\"reps\":1,\"wall_ms\":$WALL,\"cpu_ms\":$CPUMS,\"reference\":true}"
echo "uptime after: $(uptime)" >&2
