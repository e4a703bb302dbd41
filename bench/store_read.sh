#!/bin/sh
# bench/store_read.sh: the columnar workspace (issue 10) against the row layout, in one run.
#
#   sh bench/store_read.sh            (BUILD=build; ROWS_WS=dir reuses a version-2 workspace)
#
# A world of 100,000 customers, 5,000 products and 5,000,000 transaction lines is generated
# once in the row layout (schema version 2, PROMO_STORE_LAYOUT=rows: what main writes), copied
# and migrated to chunks by this build. JSON lines:
#   - cat promo.db > /dev/null of each file (the file-read bound, page cache warm);
#   - promo_store_read_table of transactions into columns (bench/store_read.c), rows and
#     chunks, two processes each; every line also carries the bounds measured in the same
#     process (fresh_s: writing the same output bytes into fresh memory on the same threads;
#     memcpy_s: a warm memcpy of the stored chunk bytes) and a second read (again_s);
#   - promo info (process start to exit) on each layout;
#   - promo features --as-of 2024-12-02 end to end (process start to exit) beside the compute
#     time it prints itself;
#   - file sizes, and the time of the migration.
# Wall times on a shared machine move with the load: cpu_s (user+sys) is printed beside them.
set -eu
echo "{\"bench\": \"store_read\", \"name\": \"uptime\", \"at\": \"start\", \"uptime\": \"$(uptime)\"}"
BUILD=${BUILD:-build}
BIN=$BUILD/promo
TMP=${TMPDIR:-/tmp}/promo-bench-store
ROWS_WS=${ROWS_WS:-$TMP/rows}
COL_WS=$TMP/chunks
mkdir -p "$TMP"
[ -x "$BIN" ] || { echo "build $BIN first: make BUILD=$BUILD all" >&2; exit 1; }
LIBS="$(pkg-config --libs sqlite3 libcjson xgboost gsl libmicrohttpd) -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread"
gcc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude -fopenmp -o "$BUILD/store_read" \
    bench/store_read.c "$BUILD/libpromo.a" $LIBS

now() { date +%s.%N; }
cpu_of() { # the user+sys seconds of a command, from /usr/bin/time's format
    /usr/bin/time -f '%U %S %e' -o "$TMP/time" "$@" >"$TMP/out" 2>"$TMP/err" || {
        cat "$TMP/err" >&2
        return 1
    }
    awk '{ printf "\"cpu_s\": %.3f, \"wall_s\": %.3f", $1 + $2, $3 }' "$TMP/time"
}

if [ ! -s "$ROWS_WS/promo.db" ]; then
    PROMO_STORE_LAYOUT=rows "$BIN" generate -q --ws "$ROWS_WS" --force --customers 100000 \
        --products 5000 --transactions 5000000
fi

rm -rf "$COL_WS"
cp -r "$ROWS_WS" "$COL_WS"
# the first writer migrates (store_read opens for writing): timed on its own
t0=$(now)
STORE_READ_OPEN=write "$BUILD/store_read" "$COL_WS" >/dev/null 2>"$TMP/migrate.err"
t1=$(now)
echo "{\"bench\": \"store_read\", \"name\": \"migrate_v2_to_chunks\", \"seconds\": $(echo "$t1 - $t0" | bc), \"message\": \"$(tr -d '\n"' <"$TMP/migrate.err")\"}"

for ws in "$ROWS_WS" "$COL_WS"; do
    layout=chunks
    [ "$ws" = "$ROWS_WS" ] && layout=rows
    size=$(stat -c %s "$ws/promo.db")
    cat "$ws/promo.db" >/dev/null
    echo "{\"bench\": \"store_read\", \"name\": \"cat_promo_db\", \"layout\": \"$layout\", \"bytes\": $size, $(cpu_of sh -c "cat '$ws/promo.db' >/dev/null")}"
    for run in 1 2; do
        PROMO_STORE_LAYOUT=$layout "$BUILD/store_read" "$ws" transactions |
            sed "s/\"bench\": \"store_read\"/\"bench\": \"store_read\", \"layout\": \"$layout\", \"run\": $run/"
    done
    echo "{\"bench\": \"store_read\", \"name\": \"promo_info\", \"layout\": \"$layout\", $(cpu_of "$BIN" info --ws "$ws")}"
done

for ws in "$ROWS_WS" "$COL_WS"; do
    layout=chunks
    [ "$ws" = "$ROWS_WS" ] && layout=rows
    w=$(PROMO_STORE_LAYOUT=$layout cpu_of "$BIN" features --ws "$ws" --as-of 2024-12-02)
    compute=$(sed -n 's/.*features, [0-9]* products (\([0-9.]*\)s).*/\1/p' "$TMP/out")
    echo "{\"bench\": \"store_read\", \"name\": \"features_end_to_end\", \"layout\": \"$layout\", $w, \"features_compute_s\": ${compute:-null}}"
done
echo "{\"bench\": \"store_read\", \"name\": \"uptime\", \"at\": \"end\", \"uptime\": \"$(uptime)\"}"
