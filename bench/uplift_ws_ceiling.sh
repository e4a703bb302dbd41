#!/bin/sh
# bench/uplift_ws_ceiling.sh: how much of the true individual effect the customer features carry
# (a regression on the TRUE effect: the ceiling of any learner on them) and what the T-learner
# reaches from the outcomes, with and without the individual-response columns (issue 16; see
# bench/uplift_ws_ceiling.c). JSON lines.
#   sh bench/uplift_ws_ceiling.sh [WS...]   (default: the default world, seed 42, generated under
#                                            BUILD/bench; CLV=1 adds the CLV features, slower)
set -e
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" "$BUILD/promo" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/uplift_ws_ceiling" bench/uplift_ws_ceiling.c "$BUILD/libpromo.a" \
   $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
WSS="$*"
if [ -z "$WSS" ]; then
    WSS="$BUILD/bench/uceil-world-default"
    [ -d "$WSS" ] || "$BUILD/promo" -q generate --ws "$WSS" --seed 42 >/dev/null
fi
for WS in $WSS; do
    "$BUILD/bench/uplift_ws_ceiling" "$WS" "$(basename "$WS")" threads=2 seed=42 clv=${CLV:-0}
done
