#!/bin/sh
# bench/uplift_forest: uplift random forest time and peak RSS (/usr/bin/time -v and the
# process's own VmHWM) at causalml's published shape (150,000 x 220 float32, random binary
# treatment and outcome, causalml's UpliftRandomForestClassifier defaults: 10 trees, KL,
# max_depth 5, min_samples_leaf 100, max_features 10) and with promo's defaults (100 trees,
# ED, depth 6, sqrt(d) columns), then 1,000,000 x 20 with an effect. 2 threads unless told.
# JSON lines on stdout; /usr/bin/time's figures on stderr.
#   sh bench/uplift_forest.sh [threads]   (BUILD=build-x picks the build tree; QUICK=1 runs
#   causalml's shape only)
set -e
BUILD=${BUILD:-build}
NT=${1:-2}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/uplift_forest" bench/uplift_forest.c "$BUILD/libpromo.a" \
   $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
echo "uptime before: $(uptime)" >&2
run() {
    /usr/bin/time -v "$BUILD/bench/uplift_forest" "$@" 2> "$BUILD/bench/uplift_forest.time"
    grep -E "Elapsed|Maximum resident" "$BUILD/bench/uplift_forest.time" >&2
}
run 150000 220 10 "$NT" kl 5 10 0
run 150000 220 10 1 kl 5 10 0
# QUICK=1: causalml's shape only
if [ -z "$QUICK" ]; then
    run 150000 220 100 "$NT" ed 6 0 0
    run 1000000 20 100 "$NT" ed 6 0 1
fi
echo "uptime after: $(uptime)" >&2
