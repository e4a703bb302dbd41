#!/bin/sh
# bench/compare_bias.sh: the campaign forecast against the simulator's truth, term by term, for
# the N best sellers of a generated world (bench/compare_bias.c). JSON lines.
#   sh bench/compare_bias.sh WS [NPRODUCTS] [DISCOUNT...]   (default 10 products, 5 and 10%)
# WS must hold an uplift model (promo train --ws WS --model uplift).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WS=$1
NPROD=${2:-10}
shift; [ $# -gt 0 ] && shift
DISCS=${*:-5 10}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" "$BUILD/promo" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/compare_bias" bench/compare_bias.c "$BUILD/libpromo.a" \
   $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
PRODS=$("$BUILD/promo" -q sql --ws "$WS" "select product_id from transactions group by product_id \
order by count(*) desc, product_id limit $NPROD")
for D in $DISCS; do
    # shellcheck disable=SC2086
    "$BUILD/bench/compare_bias" "$WS" "$D" $PRODS
done
