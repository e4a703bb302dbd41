#!/bin/sh
# bench/als: implicit ALS speed (issue 13): a generated 100,000 users x 20,000 items x ~5M
# non-zeros matrix, 64 factors, 3 CG steps: promo's seconds per epoch and GFLOP/s beside the
# cblas_sgemm peak measured in the same run, and the same epoch by a straightforward
# NumPy/SciPy ALS (bench/als_numpy.py, /usr/bin/python3) in the same run, then promo again. Then quality:
# MovieLens 100k (random 80/20 and 75/25 splits, Precision@10 of ALS, BPR, popularity).
# JSON lines on stdout.
#   sh bench/als.sh [threads] [epochs]   (BUILD=build-x picks the build tree)
set -e
BUILD=${BUILD:-build}
NT=${1:-2}; EP=${2:-2}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
for b in als_speed als_movielens; do
  cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
     -o "$BUILD/bench/$b" "bench/$b.c" "$BUILD/libpromo.a" $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") \
     -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
done
DATA="$BUILD/bench/als_100k.coo"
[ -f "$DATA" ] || "$BUILD/bench/als_speed" gen "$DATA" 100000 20000 5550000 7
echo "uptime before: $(uptime)" >&2
"$BUILD/bench/als_speed" run "$DATA" 100000 20000 0 64 3 "$EP" "$NT"
# NumPy with one BLAS thread: its per-row products are tiny, and threads only add overhead
# (2 threads took 5.6x longer in a loaded run)
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/als_numpy.py "$DATA" 100000 20000 64 3 1 1
"$BUILD/bench/als_speed" run "$DATA" 100000 20000 0 64 3 "$EP" "$NT"
ML=../shared/data/movielens_100k/u.data
if [ -f "$ML" ]; then
  for frac in 0.2 0.25; do
    "$BUILD/bench/als_movielens" "$ML" $frac 1 10 64 15 30 2 200 0.01 0.01 "$NT"
  done
else
  echo "als.sh: $ML absent, MovieLens skipped" >&2
fi
echo "uptime after: $(uptime)" >&2
