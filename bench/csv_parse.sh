#!/bin/sh
# bench/csv_parse.sh: promo_csv_read throughput beside wc -l and pandas.read_csv, same file,
# same run, JSON lines on stdout.
#
#   make BUILD=build all && sh bench/csv_parse.sh build
#
# Env: CSV_BENCH_FILE (default /tmp/promo_bench_transactions.csv, generated if absent:
# 5,000,000 rows, ~265 MB, 7 columns with ISO timestamps), CSV_BENCH_ROWS, LIBPROMO (default
# $BUILD/libpromo.a), CSV_BENCH_PANDAS=0 to skip pandas (it takes about a minute),
# CSV_BENCH_BASE_LIB: an older libpromo.a (e.g. main's) timed the same way in the same run, its
# lines marked "base", for before/after figures under the same load.
set -e
BUILD=${1:-${BUILD:-build}}
FILE=${CSV_BENCH_FILE:-/tmp/promo_bench_transactions.csv}
ROWS=${CSV_BENCH_ROWS:-5000000}
LIBPROMO=${LIBPROMO:-$BUILD/libpromo.a}
REAL=../shared/data/online_retail/online_retail.csv
LIBS="$(pkg-config --libs sqlite3 libcjson xgboost gsl libmicrohttpd) -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread"

gcc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude -fopenmp -o "$BUILD/csv_parse" \
    bench/csv_parse.c "$LIBPROMO" $LIBS
"$BUILD/csv_parse" --file "$FILE" --rows "$ROWS" --gen-only
BASE_LIB=${CSV_BENCH_BASE_LIB:-}
if [ -n "$BASE_LIB" ]; then
    gcc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude -fopenmp -o "$BUILD/csv_parse_base" \
        bench/csv_parse.c "$BASE_LIB" $LIBS
fi

# The references: wc -l (best of 3, file in the page cache) and pandas (one run each: plain,
# and parsing the timestamp column as promo does).
/usr/bin/python3 - "$FILE" "${CSV_BENCH_PANDAS:-1}" <<'EOF'
import json, os, subprocess, sys, time
path, do_pandas = sys.argv[1], sys.argv[2] == "1"
mb = os.path.getsize(path) / 1e6
best = 1e30
for _ in range(3):
    t0 = time.perf_counter()
    out = subprocess.run(["wc", "-l", path], capture_output=True, text=True, check=True).stdout
    best = min(best, time.perf_counter() - t0)
lines = int(out.split()[0])
print(json.dumps({"bench": "csv_parse", "what": "wc -l", "file": path, "rows": lines - 1,
                  "mb": round(mb, 1), "seconds": round(best, 4),
                  "mb_per_s": round(mb / best, 1)}), flush=True)
if do_pandas:
    import pandas as pd
    for what, kw in (("pandas.read_csv", {}), ("pandas.read_csv parse_dates", {"parse_dates": ["ts"]})):
        t0 = time.perf_counter()
        df = pd.read_csv(path, **kw)
        dt = time.perf_counter() - t0
        print(json.dumps({"bench": "csv_parse", "what": what, "file": path, "rows": len(df),
                          "mb": round(mb, 1), "seconds": round(dt, 4),
                          "rows_per_s": round(len(df) / dt), "mb_per_s": round(mb / dt, 1)}),
              flush=True)
        del df
EOF

REAL_ARGS=""
[ -f "$REAL" ] && REAL_ARGS="--real $REAL"
if [ -n "$BASE_LIB" ]; then
    # Base and new alternate, twice each, so that neither gets only the quiet or the busy minute.
    for k in 1 2; do
        "$BUILD/csv_parse_base" --file "$FILE" --threads 1,2 --repeat 3 --typed-only |
            sed 's/"what":"/"what":"base /'
        "$BUILD/csv_parse" --file "$FILE" --threads 1,2 --repeat 3 --typed-only
    done
fi
# shellcheck disable=SC2086
"$BUILD/csv_parse" --file "$FILE" --threads 1,2 --repeat 3 $REAL_ARGS
