#!/bin/sh
# bench/kmeans: k-means on 1,000,000 x 16 float32 blobs (a seeded generator writes the file
# once; both sides read the same file), k = 12, 4 restarts: promo_kmeans_fit beside
# scikit-learn's KMeans (Debian python3-sklearn, /usr/bin/python3) in the same run, both
# inertias, promo's inertia recomputed by NumPy, the ARI between the two labelings, and one
# Lloyd run on each side from the same seeding (promo's restart-0 k-means++ centers).
# JSON lines on stdout.
#   sh bench/kmeans.sh [n] [d] [k] [n_init] [threads]   (BUILD=build-x picks the build tree)
set -e
BUILD=${BUILD:-build}
N=${1:-1000000}; D=${2:-16}; K=${3:-12}; NINIT=${4:-4}; NT=${5:-2}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/kmeans" bench/kmeans_bench.c "$BUILD/libpromo.a" $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") \
   -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
DATA="$BUILD/bench/kmeans_${N}x${D}.f32"
[ -f "$DATA" ] || "$BUILD/bench/kmeans" gen "$DATA" "$N" "$D" "$K" 2026
echo "uptime before: $(uptime)" >&2
"$BUILD/bench/kmeans" fit "$DATA" "$N" "$D" "$K" "$NINIT" "$NT" "$BUILD/bench/kmeans_promo"
OMP_NUM_THREADS=$NT /usr/bin/python3 bench/kmeans_sklearn.py "$DATA" "$N" "$D" "$K" "$NINIT" \
    "$BUILD/bench/kmeans_promo"
"$BUILD/bench/kmeans" fit "$DATA" "$N" "$D" "$K" "$NINIT" "$NT"
echo "uptime after: $(uptime)" >&2
