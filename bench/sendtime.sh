#!/bin/sh
# bench/sendtime: the send-time choice against the generated world's truth (bench/sendtime.c),
# on the default world and on a copy of a bigger one. JSON lines on stdout.
#   sh bench/sendtime.sh [WS...]      (default: a fresh default world; BUILD=build-x)
set -e
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" "$BUILD/promo" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/sendtime" bench/sendtime.c "$BUILD/libpromo.a" \
   $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
if [ $# -eq 0 ]; then
    WS=$(mktemp -d /tmp/promo-bench-sendtime.XXXXXX)
    trap 'rm -rf "$WS"' EXIT
    "$BUILD/promo" -q generate --ws "$WS/def" --force >&2
    set -- "$WS/def"
fi
for W in "$@"; do "$BUILD/bench/sendtime" "$W"; done
