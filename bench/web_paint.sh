#!/bin/sh
# bench/web_paint.sh: the web page's first paint with 1,000,000 customers in the workspace
# (issue 17: under 1 s on localhost). Generates the world once into $BUILD/bench/web_1m (1M
# customers, 1,000 products, 3M transaction lines, no events; no model: the first paint and
# the first lists need none), builds the page (make web), then bench/web_paint.mjs: median of
# RUNS cold-browser loads, beside the same page opened from its files (the reference).
#   sh bench/web_paint.sh      RUNS=5 CUSTOMERS=1000000 BUILD=build
set -e
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/promo" web >&2
N=${CUSTOMERS:-1000000}
WS="$BUILD/bench/web_$N"
if [ ! -f "$WS/.web_paint_done" ]; then
    rm -rf "$WS"
    mkdir -p "$(dirname "$WS")"
    "$BUILD/promo" generate --ws "$WS" --customers "$N" --products 1000 \
        --transactions $((N * 3)) --no-events -q >&2
    touch "$WS/.web_paint_done"
fi
node bench/web_paint.mjs --promo "$BUILD/promo" --ws "$WS" --web "$BUILD/web" --runs "${RUNS:-5}"
