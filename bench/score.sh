#!/bin/sh
# bench/score: 1,000,000 x 30 scored on 2 threads with the booster `promo train` produces by
# default (propensity's boosting parameters, early stopping) and with 200 trees of depth 6;
# our call beside XGBoost's own predict entry points, timed in the same run, and the score path
# after features (rows + predict + calibration); then the model `promo train` saves for the
# default world's PROD00001 (a frequently bought product). JSON lines on stdout; wall and CPU
# seconds.
#   sh bench/score.sh [n_rows] [nthread]      (BUILD=build-x to pick the build tree)
set -e
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/score" bench/score.c "$BUILD/libpromo.a" $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") \
   -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
# The model `promo train` produces on the default world, for a frequently bought product.
WS=$(mktemp -d /tmp/promo-bench-score.XXXXXX)
trap 'rm -rf "$WS"' EXIT
make --no-print-directory -s BUILD="$BUILD" "$BUILD/promo" >&2
"$BUILD/promo" -q generate --ws "$WS/w" >&2
"$BUILD/promo" -q train --ws "$WS/w" --model propensity --target product:PROD00001 \
    --no-baselines --no-plots >&2
echo "uptime before: $(uptime)" >&2
"$BUILD/bench/score" "${1:-1000000}" "${2:-2}" "$WS/w/models/propensity_product.json"
echo "uptime after: $(uptime)" >&2
