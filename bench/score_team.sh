#!/bin/sh
# bench/score_team.sh WS BEFORE AFTER [REPS]: `promo score --target any` of every customer of
# workspace WS (stored features current, a propensity model: issue 10's "1M customers under
# 2 s with a model"), end to end, with two binaries alternately in the same run: BEFORE (the
# reference) and AFTER, each with its default thread policy and with OMP_NUM_THREADS=2. Reads
# WS only. JSON lines on stdout, one per run (wall, user, sys seconds, peak RSS, the 1-minute
# load when it started), and whether every output is byte for byte BEFORE's first.
set -e
WS=$1
BEFORE=$2
AFTER=$3
REPS=${4:-3}
T=${TMPDIR:-/tmp}/score_team.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
same=true
run() { # label policy binary
    load=$(cut -d' ' -f1 /proc/loadavg)
    if [ "$2" = default ]; then
        /usr/bin/time -f "%e %U %S %M" -o "$T/time" nice -n 10 "$3" score --ws "$WS" --target any >"$T/out" 2>"$T/err"
    else
        OMP_NUM_THREADS=2 /usr/bin/time -f "%e %U %S %M" -o "$T/time" nice -n 10 "$3" score --ws "$WS" --target any >"$T/out" 2>"$T/err"
    fi
    read -r wall user sys rss <"$T/time"
    [ -f "$T/ref" ] || cp "$T/out" "$T/ref"
    cmp -s "$T/ref" "$T/out" || same=false
    echo "{\"bench\":\"score_team\",\"binary\":\"$1\",\"threads\":\"$2\",\"wall_s\":$wall,\"user_s\":$user,\"sys_s\":$sys,\"peak_rss_kb\":$rss,\"load1\":$load}"
}
i=0
while [ $i -lt "$REPS" ]; do
    for pol in default 2; do
        run before $pol "$BEFORE"
        run after $pol "$AFTER"
    done
    i=$((i + 1))
done
echo "{\"bench\":\"score_team\",\"same_output\":$same,\"lines\":$(wc -l <"$T/ref")}"
