#!/bin/sh
# bench/features.sh: promo features on N_TX transactions x N_CUST customers (default 10M x 1M),
# beside pandas groupby RFM + category share on the same lines (in-memory frames, reading time
# excluded). Prints JSON lines. Usage: sh bench/features.sh [N_TX] [N_CUST] [BUILD]
set -e
N_TX=${1:-10000000}
N_CUST=${2:-1000000}
BUILD=${3:-build}
make --no-print-directory BUILD="$BUILD" "$BUILD/libpromo.a" >/dev/null
LIBS="$(pkg-config --libs sqlite3 libcjson xgboost gsl libmicrohttpd) -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread"
gcc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude -fopenmp bench/features_bench.c \
    -o "$BUILD/features_bench" "$BUILD/libpromo.a" $LIBS
DUMP=$(mktemp -d /tmp/promo-bench-features.XXXXXX)
trap 'rm -rf "$DUMP"' EXIT
OMP_NUM_THREADS=2 "./$BUILD/features_bench" "$N_TX" "$N_CUST" "$DUMP" 2
if /usr/bin/python3 -c 'import pandas' 2>/dev/null; then
/usr/bin/python3 - "$DUMP" "$N_TX" <<'PY'
import json, sys, time
import numpy as np, pandas as pd
d, n = sys.argv[1], int(sys.argv[2])
df = pd.DataFrame({
    "cust": np.fromfile(d + "/cust.u32", dtype=np.uint32),
    "cat": np.fromfile(d + "/cat.u32", dtype=np.uint32),
    "order": np.fromfile(d + "/order.u32", dtype=np.uint32),
    "ts": np.fromfile(d + "/ts.i64", dtype=np.int64),
    "spend": np.fromfile(d + "/spend.f64", dtype=np.float64)})
cutoff = df.ts.max() + 1
t0 = time.perf_counter()
g = df.groupby("cust")
rfm = pd.DataFrame({"recency": (cutoff - g.ts.max()) / 86400.0,
                    "frequency": g.order.nunique(), "monetary": g.spend.sum()})
for c, asc in (("recency", False), ("frequency", True), ("monetary", True)):
    rfm[c[0] + "_score"] = pd.qcut(rfm[c].rank(method="average", ascending=asc), 5, labels=False, duplicates="drop") + 1
cat = df.groupby(["cust", "cat"]).spend.sum()
share = cat / cat.groupby(level=0).transform("sum")
t1 = time.perf_counter()
print(json.dumps({"bench": "features", "what": "pandas groupby RFM (recency, distinct orders, "
                  "spend, quintile scores) + category spend share, in-memory frame",
                  "transactions": n, "customers": int(len(rfm)), "seconds": round(t1 - t0, 3),
                  "share_nnz": int(len(share))}))
PY
else
echo '{"bench":"features","what":"pandas","skipped":"python3-pandas not installed"}'
fi
