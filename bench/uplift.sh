#!/bin/sh
# bench/uplift.sh: `promo uplift` on Hillstrom's MineThatData e-mail test (64,000 rows, arms
# No E-Mail / Mens E-Mail / Womens E-Mail), outcomes visit and spend, every learner, beside a
# scikit-learn / xgboost-python T-learner (bench/uplift_ref.py) on the SAME split in the same
# run.
#   - The split: promo's stratified (arm x outcome) seeded 30% hold-out. The first promo run of
#     an outcome writes its held-out row indices (the `row` column of --predictions-out) to
#     split_OUTCOME.txt; the Python reference reads that file, and checks that every promo
#     learner's predictions cover exactly those rows (one seed, one split).
#   - Qini and AUUC: promo's are promo/uplift_metrics.h's (scikit-uplift's definitions); the
#     reference computes them with the same formulas reimplemented in numpy, and recomputes
#     promo's own from its predictions files as a cross-check (must agree to 1e-4).
#   - Policies: promo's calibrated best-arm rule (the default, promo/uplift_policy.h) and the
#     argmax of the effects, each with its paired difference to the best single arm on the
#     held-out rows (95% interval); uplift_ref.py tabulates them and prints one JSON line per
#     learner and outcome.
#   - Time: each promo run end to end (read the CSV, encode, split, train, predict, metrics,
#     write the predictions); the reference's read + encode + train + predict + metrics.
# Features: every column but the treatment and the three outcomes (conversion and spend would
# leak the visit). Usage: sh bench/uplift.sh [BUILD]   (LEARNERS="t dr" to run a subset)
set -e
BUILD=${1:-build}
make --no-print-directory BUILD="$BUILD" "$BUILD/promo" >/dev/null
PROMO="./$BUILD/promo"
DATA=../shared/data/hillstrom/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv
if [ ! -f "$DATA" ]; then
    echo "bench/uplift.sh: $DATA not found: skipped" >&2
    exit 0
fi
LEARNERS=${LEARNERS:-"s t x r dr tree forest"}
FEATURES=recency,history_segment,history,mens,womens,zip_code,newbie,channel
TMP=$(mktemp -d /tmp/promo-bench-uplift.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
t_start=$(date +%s.%N)
for y in visit spend; do
    for l in $LEARNERS; do
        t0=$(date +%s.%N)
        if "$PROMO" -q uplift --data "$DATA" --treatment segment --control "No E-Mail" \
            --outcome "$y" --learner "$l" --features "$FEATURES" --test-frac 0.3 --seed 1 \
            --json --predictions-out "$TMP/${y}_$l.pred.csv" >"$TMP/${y}_$l.json" \
            2>"$TMP/${y}_$l.err"; then
            t1=$(date +%s.%N)
            echo "$t1 - $t0" | bc >"$TMP/${y}_$l.time"
            [ -f "$TMP/split_$y.txt" ] ||
                tail -n +2 "$TMP/${y}_$l.pred.csv" | cut -d, -f1 >"$TMP/split_$y.txt"
        else
            echo "promo uplift --learner $l --outcome $y failed: $(cat "$TMP/${y}_$l.err")" >&2
            echo "failed" >"$TMP/${y}_$l.json"
        fi
    done
    if [ ! -f "$TMP/split_$y.txt" ]; then
        echo "bench/uplift.sh: no promo run succeeded for $y" >&2
        exit 1
    fi
    /usr/bin/python3 bench/uplift_ref.py --data "$DATA" --outcome "$y" --split "$TMP/split_$y.txt" \
        --features "$FEATURES" --results "$TMP" --learners "$LEARNERS"
done
t_end=$(date +%s.%N)
echo "whole bench: $(echo "$t_end - $t_start" | bc) s"
