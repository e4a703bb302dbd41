#!/bin/sh
# bench/store_read_ab.sh: two builds' read of a chunked table into columns, alternated in one
# run, beside `cat promo.db > /dev/null` (the file-read bound), and `promo features` end to end
# on a copy of the workspace beside the compute time it prints itself.
#
#   BASE=/tmp/base-build NEW=build WS=/work/wt/data/w100k5m sh bench/store_read_ab.sh
#
# BASE and NEW are build directories (libpromo.a and promo in each: `make BUILD=dir all` of the
# two commits); bench/store_read.c is compiled against each. WS is only read (its features
# run on a copy in $TMPDIR, deleted at the end). RUNS (default 3) alternations; THREADS
# (default "2 1") the OpenMP threads of the read; FEATURES=0 skips the features runs;
# AS_OF (default 2024-12-02). Runs at nice 10. JSON lines:
#   - uptime at the start and the end (the machine is shared: load beside every figure);
#   - cat_promo_db: cpu_s and wall_s of `cat promo.db > /dev/null` (page cache warm);
#   - store_read: build, threads, rows, seconds, cpu_s (user+sys of the read),
#     page_faults, anon_huge_kb (what bench/store_read.c prints, see there), rows_per_s;
#   - features_end_to_end: build, cpu_s, user_s, sys_s, wall_s, peak RSS, the features' own
#     CPU (the sum of the user + sys of the phases `-v` prints) and the ratio of the two.
# The order within an alternation is swapped every other run, so neither build always gets
# the memory the other just freed.
set -eu
BASE=${BASE:?BASE=build dir of the reference}
NEW=${NEW:-build}
WS=${WS:?WS=workspace}
RUNS=${RUNS:-3}
THREADS=${THREADS:-"2 1"}
FEATURES=${FEATURES:-1}
AS_OF=${AS_OF:-2024-12-02}
TMP=${TMPDIR:-/tmp}/promo-bench-read-ab
rm -rf "$TMP"
mkdir -p "$TMP"
LIBS="$(pkg-config --libs sqlite3 libcjson xgboost gsl libmicrohttpd) -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread"
for b in "$BASE" "$NEW"; do
    [ -f "$b/libpromo.a" ] && [ -x "$b/promo" ] || {
        echo "store_read_ab: $b: no libpromo.a / promo (make BUILD=$b all)" >&2
        exit 1
    }
    gcc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude -fopenmp -o "$b/store_read" \
        bench/store_read.c "$b/libpromo.a" $LIBS
done
up() { echo "{\"bench\": \"store_read_ab\", \"name\": \"uptime\", \"at\": \"$1\", \"uptime\": \"$(uptime)\"}"; }
up start
table=${TABLE:-transactions}
cat "$WS/promo.db" >/dev/null
/usr/bin/time -f '%U %S %e' -o "$TMP/time" sh -c "cat '$WS/promo.db' >/dev/null"
awk -v b="$(stat -c %s "$WS/promo.db")" '{ printf "{\"bench\": \"store_read_ab\", \"name\": \"cat_promo_db\", \"bytes\": %s, \"cpu_s\": %.3f, \"wall_s\": %.3f}\n", b, $1 + $2, $3 }' "$TMP/time"
for run in $(seq "$RUNS"); do
    order="$BASE $NEW"
    [ $((run % 2)) -eq 0 ] && order="$NEW $BASE"
    for th in $THREADS; do
        for b in $order; do
            label=new
            [ "$b" = "$BASE" ] && label=base
            OMP_NUM_THREADS=$th nice -n 10 "$b/store_read" "$WS" "$table" |
                sed "s/\"bench\": \"store_read\"/\"bench\": \"store_read_ab\", \"build\": \"$label\", \"run\": $run/"
        done
    done
done
if [ "$FEATURES" != 0 ]; then
    cp -r "$WS" "$TMP/ws"
    for run in $(seq "$RUNS"); do
        order="$BASE $NEW"
        [ $((run % 2)) -eq 0 ] && order="$NEW $BASE"
        for b in $order; do
            label=new
            [ "$b" = "$BASE" ] && label=base
            nice -n 10 /usr/bin/time -f '%U %S %e %M' -o "$TMP/time" "$b/promo" features \
                --ws "$TMP/ws" -v --as-of "$AS_OF" >"$TMP/out" 2>"$TMP/err"
            # the features' own CPU: the (U.UUu S.SSs ...) of every phase on the -v line
            own=$(grep 'features: [0-9]* customers' "$TMP/err" |
                grep -o '([0-9.]*u [0-9.]*s' | tr -d '(us' |
                awk '{ s += $1 + $2 } END { printf "%.2f", s }')
            awk -v b="$label" -v r="$run" -v own="$own" '{ c = $1 + $2; printf "{\"bench\": \"store_read_ab\", \"name\": \"features_end_to_end\", \"build\": \"%s\", \"run\": %d, \"cpu_s\": %.2f, \"user_s\": %.2f, \"sys_s\": %.2f, \"wall_s\": %.2f, \"rss_mb\": %d, \"features_own_cpu_s\": %s, \"ratio_cpu\": %.3f}\n", b, r, c, $1, $2, $3, $4 / 1024, own, (own > 0 ? c / own : 0) }' "$TMP/time"
        done
    done
fi
up end
rm -rf "$TMP"
