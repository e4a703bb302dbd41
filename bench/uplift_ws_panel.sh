#!/bin/sh
# bench/uplift_ws_panel.sh: the training rows of `promo train --model uplift` (every exposure
# with its features as of its day), timed apart from the fit, with a digest of every cell so
# that two builds can be shown to give the same rows (see bench/uplift_ws_panel.c). JSON lines.
#   sh bench/uplift_ws_panel.sh [WS...]   (default: the default world, seed 42, generated under
#                                          BUILD/bench); THREADS=2, CLV=1 (as promo train)
set -e
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" "$BUILD/promo" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/uplift_ws_panel" bench/uplift_ws_panel.c "$BUILD/libpromo.a" \
   $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
WSS="$*"
if [ -z "$WSS" ]; then
    WSS="$BUILD/bench/upanel-world-default"
    [ -d "$WSS" ] || "$BUILD/promo" -q generate --ws "$WSS" --seed 42 >/dev/null
fi
for WS in $WSS; do
    "$BUILD/bench/uplift_ws_panel" "$WS" "$(basename "$WS")" threads=${THREADS:-2} clv=${CLV:-1} \
        ${V:+v=1}
done
