#!/bin/sh
# bench/score_stored.sh WS AS_OF [PROMO [REF_PROMO]]: `promo score` for every customer of
# workspace WS, end to end (process start to exit, /usr/bin/time), with the features computed
# from the tables (the reference, same binary, same run) and read from those `promo features
# --as-of AS_OF` stored (issue 10's "< 2 s" figure). WS must be a writable copy holding the
# models models/propensity_any.json and models/uplift.bin; AS_OF the score's cutoff (the day
# after the last transaction). The three commands of bench/RESULTS.md: the popularity baseline,
# the propensity model, the uplift model (its reference runs with the matrix file removed,
# so nothing is stored: the uplift scorer has no --recompute). With REF_PROMO (an older
# build), each stored command is also run with it, alternating, RUNS=${RUNS:-1} times each,
# and its output must be the same bytes. JSON lines on stdout, one per run, and whether the
# outputs are byte for byte the same. Runs under `nice -n 10`.
set -e
WS=$1
AS_OF=$2
PROMO=${3:-${BUILD:-build}/promo}
REF=${4:-}
RUNS=${RUNS:-1}
T=${TMPDIR:-/tmp}/score_stored.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT

run() { # binary label mode promo-args...
    bin=$1
    label=$2
    mode=$3
    shift 3
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f "%e %U %S %M" -o "$T/time" nice -n 10 "$bin" "$@" >"$T/$label.$mode" 2>"$T/err"
    read -r wall user sys rss <"$T/time"
    echo "{\"bench\":\"score_stored\",\"bin\":\"$bin\",\"cmd\":\"$label\",\"features\":\"$mode\",\"wall_s\":$wall,\"user_s\":$user,\"sys_s\":$sys,\"peak_rss_kb\":$rss,\"load\":$load}"
}

rm -f "$WS/models/features_customers.bin"
run "$PROMO" popularity computed score --ws "$WS" --target any --baseline popularity --recompute
run "$PROMO" propensity computed score --ws "$WS" --target any --recompute
run "$PROMO" uplift computed score --ws "$WS" --target any --model uplift
run "$PROMO" features stored features --ws "$WS" --as-of "$AS_OF"
i=0
while [ $i -lt "$RUNS" ]; do
    [ -n "$REF" ] && run "$REF" popularity ref score --ws "$WS" --target any --baseline popularity
    run "$PROMO" popularity stored score --ws "$WS" --target any --baseline popularity
    [ -n "$REF" ] && run "$REF" propensity ref score --ws "$WS" --target any
    run "$PROMO" propensity stored score --ws "$WS" --target any
    [ -n "$REF" ] && run "$REF" uplift ref score --ws "$WS" --target any --model uplift
    run "$PROMO" uplift stored score --ws "$WS" --target any --model uplift
    i=$((i + 1))
done
for c in popularity propensity uplift; do
    same=false
    cmp -s "$T/$c.computed" "$T/$c.stored" && same=true
    if [ -n "$REF" ] && ! cmp -s "$T/$c.ref" "$T/$c.stored"; then same=false; fi
    echo "{\"bench\":\"score_stored\",\"cmd\":\"$c\",\"same_output\":$same,\"lines\":$(wc -l <"$T/$c.stored")}"
done
