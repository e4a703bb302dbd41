#!/bin/sh
# bench/score_latency: `promo score` for every customer and `promo explain` for one customer on
# UCI Online Retail I and II (the issue-12 goal: <= 0.5 s each from start to exit), with
# /usr/bin/time: wall, user and system CPU, peak RSS; REF=path/to/promo runs an older binary on
# the same workspaces in the same run (alternating, so both see the same load). JSON lines.
#   sh bench/score_latency.sh [runs=3]      (BUILD=build-x; WS_I / WS_II reuse trained
#                                            workspaces, else they are ingested and trained)
set -e
BUILD=${BUILD:-build}
RUNS=${1:-3}
TARGET=${TARGET:-product:85123A}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/promo" >&2
P="$BUILD/promo"
TMP=$(mktemp -d /tmp/promo-bench-score-latency.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
prepare() { # name csv -> workspace path on stdout
    ws="$TMP/$1"
    "$P" -q ingest --ws "$ws" --format online-retail "$2" >&2
    "$P" -q train --ws "$ws" --target "$TARGET" --no-baselines --no-plots >&2
    echo "$ws"
}
[ -n "$WS_I" ] || WS_I=$(prepare uci1 ../shared/data/online_retail/online_retail.csv)
[ -n "$WS_II" ] || WS_II=$(prepare uci2 ../shared/data/online_retail_ii/online_retail_ii_2009-2010.csv)
one() { # label binary ws command...
    label=$1 bin=$2 ws=$3
    shift 3
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f "%e %U %S %M" -o "$TMP/time" "$bin" "$@" >/dev/null 2>"$TMP/err" ||
        { cat "$TMP/err" >&2; exit 1; }
    set -- $(cat "$TMP/time")
    printf '{"bench":"score_latency","binary":"%s","ws":"%s","command":"%s","wall_s":%s,"user_s":%s,"sys_s":%s,"max_rss_kb":%s,"load1":%s}\n' \
        "$label" "$(basename "$ws")" "$cmd" "$1" "$2" "$3" "$4" "$load"
}
for ws in "$WS_I" "$WS_II"; do
    cust=$("$P" score --ws "$ws" --target "$TARGET" 2>/dev/null | sed -n 2p | cut -d, -f1)
    r=0
    while [ "$r" -lt "$RUNS" ]; do
        for b in new ${REF:+ref}; do
            bin=$P
            [ "$b" = ref ] && bin=$REF
            cmd=score
            one "$b" "$bin" "$ws" score --ws "$ws" --target "$TARGET"
            cmd=explain
            one "$b" "$bin" "$ws" explain --ws "$ws" --target "$TARGET" --customer "$cust"
        done
        r=$((r + 1))
    done
done
