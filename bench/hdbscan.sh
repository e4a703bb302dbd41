#!/bin/sh
# bench/hdbscan: HDBSCAN on 100,000 x 8 with known structure (12 Gaussian blobs of different
# sizes and densities + 5% uniform noise; seeded, bench/hdbscan.c gen): promo's time, ARI
# against the truth and peak RSS (/usr/bin/time -v, to show O(n) memory), then the reference
# on the same data file in the same run (bench/hdbscan_sklearn.py: Debian's scikit-learn 1.2
# has no HDBSCAN, so DBSCAN, and OPTICS on a sample). JSON lines on stdout.
#   sh bench/hdbscan.sh [n] [d] [threads] [optics_rows]   (defaults 100000 8 2 10000;
#                                                          BUILD=build-x picks the build tree)
set -e
BUILD=${BUILD:-build}
N=${1:-100000}; D=${2:-8}; THREADS=${3:-2}; OPTICS_ROWS=${4:-10000}
MCS=50; MS=10
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/hdbscan" bench/hdbscan.c "$BUILD/libpromo.a" $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") \
   -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
P="$BUILD/bench/hdbscan_${N}x${D}"
"$BUILD/bench/hdbscan" gen "$P" "$N" "$D" 1
echo "uptime before: $(uptime)" >&2
/usr/bin/time -v -o "$P.time" "$BUILD/bench/hdbscan" fit "$P" "$N" "$D" $MCS $MS "$THREADS" auto
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$P.time")
echo "{\"bench\":\"hdbscan\",\"impl\":\"promo\",\"what\":\"peak_rss\",\"rows\":$N,\"dims\":$D,\"mib\":$((rss / 1024)),\"data_mib\":$((N * D * 4 / 1048576))}"
/usr/bin/python3 bench/hdbscan_sklearn.py "$P" "$N" "$D" $MS "$THREADS" "$OPTICS_ROWS"
echo "uptime after: $(uptime)" >&2
