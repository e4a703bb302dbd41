#!/bin/sh
# bench/score: 1,000,000 x 30 scored with a 200-tree booster on 2 threads; our call beside
# XGBoost's own predict entry points, timed in the same run. JSON lines on stdout.
#   sh bench/score.sh [n_rows] [n_trees] [nthread]      (BUILD=build-x to pick the build tree)
set -e
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/score" bench/score.c "$BUILD/libpromo.a" $(pkg-config --libs $PKGS) \
   -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
exec "$BUILD/bench/score" "${1:-1000000}" "${2:-200}" "${3:-2}"
