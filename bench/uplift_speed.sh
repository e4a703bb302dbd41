#!/bin/sh
# bench/uplift_speed.sh: issue 15's "speed" figure. `promo uplift --learner t` end to end (read
# the CSV, encode, split, train, predict, metrics) on 1,000,000 rows x 20 numeric features,
# beside the same pipeline in Python (pandas + xgboost-python T-learner, bench/
# uplift_speed_py.py) in the same run, both on 2 threads. XGBoost is the same library
# (Debian's libxgboost 1.7) on both sides.
#   data:    bench/uplift_speed_gen.py (seeded numpy; planted heterogeneous effect), written
#            once to $DATA and read warm from the page cache by every run.
#   promo:   bench/uplift_speed_promo.py runs it and times it from outside. The timed run also
#            writes its predictions (--predictions-out): their `row` column is the held-out
#            split the Python runs then use, so every Qini is on the same 300,000 rows.
#            At this size promo's T stops its two arm models together on the validation Qini
#            of their difference (promo_uplift_params.qini_stop, auto); Python stops each model
#            on its own validation log loss, as xgboost's early stopping does.
#   python:  twice: with promo's T-learner defaults (depth 4, eta 0.1, <= 300 rounds, early
#            stopping) and with xgboost's defaults (100 rounds, depth 6, eta 0.3), through
#            the sklearn wrapper (XGBClassifier); then promo's params once more through the
#            native API (xgb.train). Its end to end is the whole /usr/bin/python3 process
#            (imports included), timed here, less the time it took to read promo's held-out
#            row list (split_file_s: not part of the pipeline).
# Qini: promo's own (promo/uplift_metrics.h, sklift's qini_auc_score); Python's the same
# formula in numpy, on the same held-out rows.
# Prints JSON lines. usage: sh bench/uplift_speed.sh [ROWS] [THREADS]
set -e
ROWS=${1:-1000000}
THREADS=${2:-2}
DATA=${DATA:-/tmp/promo-uplift-speed-$ROWS.csv}
TIMEOUT=${TIMEOUT:-1800}
make --no-print-directory -j2 build/promo >/dev/null
[ -f "$DATA" ] || /usr/bin/python3 bench/uplift_speed_gen.py "$DATA" "$ROWS" 15
echo "{\"stage\": \"start\", \"date\": \"$(date -u +%FT%TZ)\", \"uptime\": \"$(uptime | sed 's/.*load/load/')\", \"data\": \"$DATA\", \"bytes\": $(stat -c %s "$DATA")}"
cat "$DATA" >/dev/null # warm the page cache for every run alike
now() { date +%s.%N; }
timeout "$TIMEOUT" /usr/bin/python3 bench/uplift_speed_promo.py ./build/promo -v uplift \
    --data "$DATA" --treatment t --outcome y --learner t --test-frac 0.3 --seed 1 --json --policy argmax \
    --threads "$THREADS" --predictions-out /tmp/promo-uplift-speed.pred.csv |
    tee /tmp/promo-uplift-speed.promo.json
echo "{\"stage\": \"after promo\", \"uptime\": \"$(uptime | sed 's/.*load/load/')\"}"
# promo's CT learner (--learner ct), same split
timeout "$TIMEOUT" /usr/bin/python3 bench/uplift_speed_promo.py ./build/promo -v uplift \
    --data "$DATA" --treatment t --outcome y --learner ct --test-frac 0.3 --seed 1 --json --policy argmax \
    --threads "$THREADS" --predictions-out /tmp/promo-uplift-speed.pred-ct.csv |
    tee /tmp/promo-uplift-speed.promo-ct.json
echo "{\"stage\": \"after promo ct\", \"uptime\": \"$(uptime | sed 's/.*load/load/')\"}"
for run in promo:sklearn default:sklearn promo:native; do
    params=${run%:*}
    api=${run#*:}
    out=/tmp/promo-uplift-speed.py-$params-$api.json
    t0=$(now)
    timeout "$TIMEOUT" /usr/bin/python3 bench/uplift_speed_py.py --data "$DATA" \
        --params "$params" --api "$api" --threads "$THREADS" \
        --test-rows /tmp/promo-uplift-speed.pred.csv >"$out"
    t1=$(now)
    split_s=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['split_file_s'])" "$out")
    sed "s/}\$/, \"end_to_end_s\": $(echo "$t1 - $t0 - $split_s" | bc)}/" "$out" | tee "$out.x"
    echo "{\"stage\": \"after python $params $api\", \"uptime\": \"$(uptime | sed 's/.*load/load/')\"}"
done
/usr/bin/python3 - <<'PY'
import json
for learner, pf in (("t", "promo"), ("ct", "promo-ct")):
  p = json.load(open(f"/tmp/promo-uplift-speed.{pf}.json"))
  for k in ("promo-sklearn", "default-sklearn", "promo-native"):
    q = json.load(open(f"/tmp/promo-uplift-speed.py-{k}.json.x"))
    print(json.dumps({"compare": f"promo --learner {learner} vs python ({k})",
                      "speedup_end_to_end": round(q["end_to_end_s"] / p["end_to_end_s"], 2),
                      "promo_s": p["end_to_end_s"], "python_s": q["end_to_end_s"],
                      "promo_qini": p["qini"], "python_qini": q["qini"],
                      "goal_3x_at_equal_qini": q["end_to_end_s"] / p["end_to_end_s"] >= 3
                      and p["qini"] >= q["qini"]}))
PY
