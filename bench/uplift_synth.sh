#!/bin/sh
# bench/uplift_synth.sh: uplift learners against the true individual effect (issue 15, the
# "synthetic world" figure). On generated worlds (`promo generate`, seed 42: the default size
# and a larger one), the randomised exposures (arms treatment/control; the naive "targeted"
# rows are left out) with features as of each exposure's day, outcome converted, split 70/30
# by customer; every learner of include/promo/uplift.h with its defaults (2 threads). Per
# learner on the held-out rows: PEHE against truth_exposures' p1 - p0, beside the constant
# (true ATE for everyone), share of heterogeneity explained, and Qini beside the oracle's
# (ranking by the true effect). JSON lines.
#   sh bench/uplift_synth.sh        (BUILD=build-x picks the build tree; SIZES="default" only
#                                    the default world; CLV=1 adds the CLV features, slower)
set -e
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" "$BUILD/promo" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/uplift_synth" bench/uplift_synth.c "$BUILD/libpromo.a" \
   $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
for SIZE in ${SIZES:-default large}; do
    WS="$BUILD/bench/usynth-world-$SIZE"
    if [ ! -d "$WS" ] || [ -n "$REGEN" ]; then
        rm -rf "$WS"
        case $SIZE in
        default) "$BUILD/promo" -q generate --ws "$WS" --seed 42 >/dev/null ;;
        large) "$BUILD/promo" -q generate --ws "$WS" --seed 42 --customers 20000 \
                   --transactions 1000000 >/dev/null ;;
        esac
    fi
    "$BUILD/bench/uplift_synth" "$WS" "synthetic_seed42_$SIZE" threads=2 seed=42 clv=${CLV:-0}
done
