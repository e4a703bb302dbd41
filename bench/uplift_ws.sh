#!/bin/sh
# bench/uplift_ws.sh: the workspace uplift model end to end on a generated world (issue 15, the
# "policy's true incremental profit" figure). For each learner: `promo train --model uplift`
# from the world's promotion log (randomised and targeted exposures, propensity weighting
# automatic), its held-out Qini (randomised test rows) and PEHE against truth_exposures
# (bench/uplift_ws_pehe.py). Then, for the best-selling product at a 10% discount, campaigns
# of the same N in the simulator (`promo simulate`, common random numbers, 200 draws): ranked
# by each uplift model (by effect, and by expected incremental profit keeping only positive
# ones: --rank-by profit, possibly fewer than N), by the propensity model (promo train
# --target product:P), N random customers, and everyone. JSON lines; the reference (propensity, random, everyone) is measured
# in the same run.
#   sh bench/uplift_ws.sh     SIZES="default large" (default: default), LEARNERS="s t x",
#                             NS="100 200" (default world; large: 10x), CLV=0 drops the CLV
#                             features (faster), BUILD=build, SIM=0 skips the simulator part
#                             (training, Qini and PEHE only)
set -e
BUILD=${BUILD:-build}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/promo" >&2
PROMO="$BUILD/promo"
mkdir -p "$BUILD/bench"
for SIZE in ${SIZES:-default}; do
    WS="$BUILD/bench/uws-world-$SIZE"
    OUT="$BUILD/bench/uws-out-$SIZE"
    if [ ! -d "$WS" ] || [ -n "$REGEN" ]; then
        rm -rf "$WS"
        case $SIZE in
        default) "$PROMO" -q generate --ws "$WS" --seed 42 >/dev/null ;;
        large) "$PROMO" -q generate --ws "$WS" --seed 42 --customers 20000 \
                   --transactions 1000000 >/dev/null ;;
        esac
    fi
    rm -rf "$OUT" && mkdir -p "$OUT"
    case $SIZE in large) NS_=${NS:-"1000 2000"} ;; *) NS_=${NS:-"100 200"} ;; esac
    NOCLV=""
    [ "${CLV:-1}" = 0 ] && NOCLV="--no-clv"
    for L in ${LEARNERS:-s t x}; do
        T0=$(date +%s.%N)
        "$PROMO" -q train --ws "$WS" --model uplift --learner "$L" --threads 2 $NOCLV --json \
            --predictions-out "$OUT/pred_$L.csv" >"$OUT/train_$L.json"
        T1=$(date +%s.%N)
        cp "$WS/models/uplift.bin" "$OUT/uplift_$L.bin"
        python3 - "$OUT/train_$L.json" "$SIZE" "$L" "$T0" "$T1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
a = r["arms"][0]
print(json.dumps({"bench": "uplift_ws_train", "world": sys.argv[2], "learner": sys.argv[3],
                  "n_train": r["n_train"], "n_test": r["n_test"],
                  "n_test_randomised": r["n_test_randomised"], "n_pooled": r["n_pooled"],
                  "weighting": r["weighting"], "qini": a["model"]["qini_coef"],
                  "auuc": a["model"]["auuc"], "uplift_at_10": a["model"]["uplift_at_10"],
                  "qini_outcome_ranking": a["outcome_ranking"]["qini_coef"],
                  "fit_s": r["train_seconds"],
                  "train_wall_s": round(float(sys.argv[5]) - float(sys.argv[4]), 1)}))
PY
        PROMO="$PROMO" python3 bench/uplift_ws_pehe.py "$WS" "$OUT/pred_$L.csv" "${SIZE}_$L"
    done

    [ "${SIM:-1}" = 0 ] && continue
    P=$("$PROMO" sql --ws "$WS" "SELECT product_id FROM transactions GROUP BY product_id
                                ORDER BY count(*) DESC, product_id LIMIT 1")
    "$PROMO" -q train --ws "$WS" --target "product:$P" --no-baselines --no-plots --threads 2 \
        >/dev/null
    # everyone and the customer list: the uplift scores hold every customer known at the cutoff
    "$PROMO" -q score --ws "$WS" --model uplift --target "product:$P" --out "$OUT/all.csv"
    awk -F, -v p="$P" 'NR == 1 {print "customer_id,product_id,discount_pct,send_day,send_hour"}
        NR > 1 {print $1 "," p ",10,0,10"}' "$OUT/all.csv" >"$OUT/c_everyone.csv"
    sim() { # label file N
        "$PROMO" -q simulate --ws "$WS" --campaign "$2" --json --threads 2 >"$OUT/sim.json"
        python3 - "$OUT/sim.json" "$SIZE" "$P" "$1" "$3" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(json.dumps({"bench": "uplift_ws_sim", "world": sys.argv[2], "product": sys.argv[3],
                  "policy": sys.argv[4], "n": int(sys.argv[5]),
                  "contacts": r["contacts"]["mean"],
                  "incremental_conversions": r["incremental_conversions"]["mean"],
                  "incremental_profit": r["incremental_profit"]["mean"],
                  "incremental_profit_lo": r["incremental_profit"]["lo"],
                  "incremental_profit_hi": r["incremental_profit"]["hi"],
                  "roi": r["roi"]["mean"]}))
PY
    }
    sim everyone "$OUT/c_everyone.csv" "$(($(wc -l <"$OUT/c_everyone.csv") - 1))"
    for N in $NS_; do
        for L in ${LEARNERS:-s t x}; do
            cp "$OUT/uplift_$L.bin" "$WS/models/uplift.bin"
            "$PROMO" -q campaign --ws "$WS" --product "$P" --rank-by uplift --target "$N" \
                --discount 10 --out "$OUT/c_uplift_$L.csv" >/dev/null
            sim "uplift_$L" "$OUT/c_uplift_$L.csv" "$N"
            "$PROMO" -q campaign --ws "$WS" --product "$P" --rank-by profit --target "$N" \
                --discount 10 --out "$OUT/c_profit_$L.csv" >/dev/null
            sim "profit_$L" "$OUT/c_profit_$L.csv" "$(($(wc -l <"$OUT/c_profit_$L.csv") - 1))"
        done
        "$PROMO" -q campaign --ws "$WS" --product "$P" --target "$N" --discount 10 \
            --out "$OUT/c_prop.csv" >/dev/null
        sim propensity "$OUT/c_prop.csv" "$N"
        python3 - "$OUT/c_everyone.csv" "$N" >"$OUT/c_random.csv" <<'PY'
import random, sys
rows = open(sys.argv[1]).read().splitlines()
random.seed(7)
print(rows[0])
print("\n".join(random.sample(rows[1:], int(sys.argv[2]))))
PY
        sim random "$OUT/c_random.csv" "$N"
    done
done
