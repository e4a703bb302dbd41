#!/bin/sh
# Benchmark of `promo ingest` (parse + checks + SQLite, end to end) against references measured
# in the same run: `wc -l` (reading the bytes) and pandas.read_csv (parsing only, no store);
# then promo_store_read_table of the ingested transactions (bench/store_read.c).
# Prints one JSON line per measurement. Every promo/pandas line carries user_s and sys_s
# (/usr/bin/time) beside the wall-clock seconds: the machine is shared, and CPU seconds are
# what can be compared between runs under different load.
#
#   make all && sh bench/ingest.sh [ROWS]     (default ROWS 5000000)
#
# Env: BUILD (default build), PROMO_BENCH_BIN (default $BUILD/promo),
# PROMO_BENCH_BASE_BIN: a second promo binary (e.g. an older build) ingested the same way,
# for before/after figures in one run; PROMO_BENCH_PANDAS=0 skips pandas.
# Inputs: a generated canonical transactions CSV (deterministic awk LCG, ISO timestamps,
# ROWS lines, ~60 bytes a line) in /tmp, and the real UCI Online Retail file when present.
set -eu
cd "$(dirname "$0")/.."
ROWS=${1:-5000000}
BUILD=${BUILD:-build}
BIN=${PROMO_BENCH_BIN:-$BUILD/promo}
BASE=${PROMO_BENCH_BASE_BIN:-}
TMP=${TMPDIR:-/tmp}/promo-bench-ingest
mkdir -p "$TMP/$ROWS"
GEN="$TMP/$ROWS/transactions.csv"
[ -x "$BIN" ] || { echo "build $BIN first: make BUILD=$BUILD all" >&2; exit 1; }
LIBS="$(pkg-config --libs sqlite3 libcjson xgboost gsl libmicrohttpd) -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread"
gcc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude -fopenmp -o "$BUILD/store_read" \
    bench/store_read.c "$BUILD/libpromo.a" $LIBS

if [ ! -s "$GEN" ]; then
    awk -v n="$ROWS" 'BEGIN {
        srand(1); s = 12345;
        print "order_id,line,customer_id,product_id,ts,quantity,unit_price,channel";
        o = 0; line = 0; t = 1609459200;
        for (i = 0; i < n; i++) {
            s = (s * 1103515245 + 12345) % 2147483648;
            if (line == 0 || s % 4 == 0) { o++; line = 0; t += s % 600; c = s % 200000 }
            line++;
            p = int(s / 7) % 20000;
            q = 1 + s % 5;
            price = (1 + p % 500) + 0.99;
            ch = (c % 3 == 0) ? "store" : "online";
            printf "O%09d,%d,C%06d,P%05d,%s,%d,%.2f,%s\n", o, line, c, p,
                   strftime("%Y-%m-%d %H:%M:%S", t, 1), q, price, ch;
        }
    }' > "$GEN"
fi

now() { date +%s.%N; }
json() { # name file rows seconds extra
    awk -v n="$1" -v f="$2" -v r="$3" -v s="$4" -v x="$5" 'BEGIN {
        printf "{\"bench\": \"ingest\", \"name\": \"%s\", \"file\": \"%s\", \"rows\": %d, \"seconds\": %.3f, \"rows_per_s\": %.0f%s}\n",
               n, f, r, s, r / s, x }'
}
cpu() { # the user_s/sys_s fields from a /usr/bin/time -f "%U %S" file
    awk '{ u = $1; s = $2 } END { printf ", \"user_s\": %.2f, \"sys_s\": %.2f", u, s }' "$1"
}

ingest() { # label name bin file format
    label=$1; name=$2; bin=$3; f=$4; fmt=$5
    ws="$TMP/ws-$label"
    rm -rf "$ws"
    t0=$(now)
    out=$(/usr/bin/time -o "$TMP/time" -f "%U %S" "$bin" ingest --ws "$ws" --format "$fmt" --json "$f")
    t1=$(now)
    read_s=$(echo "$out" | sed -n 's/.*"read_s": \([0-9.]*\).*/\1/p')
    write_s=$(echo "$out" | sed -n 's/.*"write_s": \([0-9.]*\).*/\1/p')
    json "$name" "$label" "$rows" "$(echo "$t1 - $t0" | bc)" \
        ", \"read_s\": $read_s, \"write_s\": $write_s, \"db_bytes\": $(stat -c %s "$ws/promo.db")$(cpu "$TMP/time")"
}

run_file() { # label file format
    label=$1; f=$2; fmt=$3
    rows=$(($(wc -l < "$f") - 1))
    t0=$(now); wc -l "$f" > /dev/null; t1=$(now)
    json "wc -l" "$label" "$rows" "$(echo "$t1 - $t0" | bc)" ""
    if [ "${PROMO_BENCH_PANDAS:-1}" != 0 ]; then
        t0=$(now)
        /usr/bin/time -o "$TMP/time" -f "%U %S" /usr/bin/python3 -c "import pandas as pd, sys; d = pd.read_csv(sys.argv[1]); assert len(d) == int(sys.argv[2])" "$f" "$rows"
        t1=$(now)
        json "pandas.read_csv" "$label" "$rows" "$(echo "$t1 - $t0" | bc)" "$(cpu "$TMP/time")"
    fi
    if [ -n "$BASE" ]; then
        ingest "$label" "promo ingest (base: $BASE)" "$BASE" "$f" "$fmt"
        rm -rf "$TMP/ws-$label"
    fi
    ingest "$label" "promo ingest" "$BIN" "$f" "$fmt"
    "$BUILD/store_read" "$TMP/ws-$label" transactions
    rm -rf "$TMP/ws-$label"
}

run_file "generated-$ROWS" "$GEN" canonical
OR=../shared/data/online_retail/online_retail.csv
[ -f "$OR" ] && run_file online_retail "$OR" online-retail
exit 0
