#!/bin/sh
# bench/generate: the world generator at 1,000,000 customers, 50,000 products, 50,000,000
# transaction lines on 2 threads: lines per second into columnar memory (WS "-"), or, when WS
# is given, what `promo generate` does end to end (generation with the write of every table
# overlapped, promo_synth_generate_into), and peak RSS; beside it, in the same run, NumPy
# filling the same number of rows of random transaction columns (a vectorised lower bound
# for "random rows into memory"). JSON lines on stdout.
#   sh bench/generate.sh [customers] [products] [transactions] [threads] [WS|-]
#   (BUILD=build-x picks the build tree)
set -e
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/generate" bench/generate.c "$BUILD/libpromo.a" $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") \
   -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
N=${3:-50000000}
WS=${5:--}
[ "$WS" != "-" ] && rm -rf "$WS"
"$BUILD/bench/generate" "${1:-1000000}" "${2:-50000}" "$N" "${4:-2}" "$WS"
/usr/bin/python3 - "$N" <<'PY'
import sys, time, json
import numpy as np
n = int(sys.argv[1])
t = time.perf_counter()
rng = np.random.default_rng(1)
cols = {}
for name in ("customer", "product", "store", "order"):
    cols[name] = rng.integers(0, 1 << 20, n, dtype=np.uint32)
cols["ts"] = rng.integers(0, 1 << 40, n, dtype=np.int64)
for name in ("quantity", "unit_price", "discount"):
    cols[name] = rng.random(n)
s = time.perf_counter() - t
print(json.dumps({"bench": "generate", "what": "numpy_random_columns_reference", "rows": n,
                  "seconds": round(s, 3), "rows_per_s": round(n / s)}))
PY
