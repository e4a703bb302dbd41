#!/bin/sh
# bench/propensity: UCI Online Retail, cutoff 2011-11-09, horizon 30 days: target "any" and the
# 20 best-selling products; promo's XGBoost (and baselines) beside scikit-learn's
# RandomForestClassifier on the same exported rows and split, in the same run. JSON lines.
#   sh bench/propensity.sh            (BUILD=build-x picks the build tree; needs ../shared/data)
set -e
BUILD=${BUILD:-build}
DATA=${DATA:-../shared/data/online_retail/online_retail.csv}
[ -f "$DATA" ] || { echo "propensity bench: $DATA not found" >&2; exit 1; }
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" "$BUILD/promo" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/propensity" bench/propensity.c "$BUILD/libpromo.a" $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") \
   -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
WS="$BUILD/bench/uci-ws"; EXP="$BUILD/bench/uci-export"
rm -rf "$WS" "$EXP"; mkdir -p "$EXP"
"$BUILD/promo" -q ingest --ws "$WS" --format online-retail "$DATA" >&2
echo "uptime before: $(uptime)" >&2
"$BUILD/bench/propensity" "$WS" "$EXP" 2011-11-09 30 20 ${TRAIN_PRODUCTS:-0}
/usr/bin/python3 bench/propensity_sklearn.py "$EXP/any" any 2
/usr/bin/python3 bench/propensity_sklearn.py "$EXP/products" products 2
echo "uptime after: $(uptime)" >&2
