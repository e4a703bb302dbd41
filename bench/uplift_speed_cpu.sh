#!/bin/sh
# bench/uplift_speed_cpu.sh: the pipelines of bench/uplift_speed.sh on ONE thread each, timed
# by the CPU seconds (user + system) their whole process used (/usr/bin/time), beside the
# wall time. On a machine loaded by other jobs, wall times move with the load; one thread's
# CPU time much less (no OpenMP thread spinning at barriers while the other core is taken).
# Same data, same held-out rows (promo's --predictions-out), same Qini as uplift_speed.sh.
# promo runs twice: --learner t (the default) and --learner ct (class transformation).
# Prints JSON lines. usage: sh bench/uplift_speed_cpu.sh [ROWS]
set -e
ROWS=${1:-1000000}
DATA=${DATA:-/tmp/promo-uplift-speed-$ROWS.csv}
PRED=/tmp/promo-uplift-speed-cpu.pred.csv
make --no-print-directory -j2 build/promo >/dev/null
[ -f "$DATA" ] || /usr/bin/python3 bench/uplift_speed_gen.py "$DATA" "$ROWS" 15
cat "$DATA" >/dev/null
echo "{\"stage\": \"start\", \"date\": \"$(date -u +%FT%TZ)\", \"uptime\": \"$(uptime | sed 's/.*load/load/')\"}"
T=/tmp/promo-uplift-speed-cpu.time
# promo's T-learner (its default) and its CT learner (--learner ct: one model of the effect;
# the split does not depend on the learner, so both hold out the same rows)
for learner in t ct; do
    /usr/bin/time -f "%e %U %S" -o $T ./build/promo uplift --data "$DATA" --treatment t \
        --outcome y --learner $learner --test-frac 0.3 --seed 1 --json --threads 1 --policy argmax \
        --predictions-out "$PRED.$learner" >/tmp/promo-uplift-speed-cpu.promo-$learner.json 2>/dev/null
    /usr/bin/python3 - "$T" /tmp/promo-uplift-speed-cpu.promo-$learner.json $learner <<'PY'
import json, sys
w, u, s = map(float, open(sys.argv[1]).read().split()[-3:])
r = json.load(open(sys.argv[2]))
print(json.dumps({"pipeline": f"promo uplift --learner {sys.argv[3]}", "threads": 1, "wall_s": w,
                  "cpu_s": round(u + s, 2), "qini": round(r["arms"][0]["qini"], 6)}))
PY
done
cp "$PRED.t" "$PRED"
/usr/bin/python3 -c "import sys; a, b = (open(f).read().splitlines() for f in sys.argv[1:]); \
print('{\"same_held_out_rows_t_ct\": %s}' % str([l.split(',')[0] for l in a] == [l.split(',')[0] for l in b]).lower())" \
    "$PRED.t" "$PRED.ct"
for run in promo:sklearn default:sklearn promo:native; do
    params=${run%:*}
    api=${run#*:}
    out=/tmp/promo-uplift-speed-cpu.py-$params-$api.json
    /usr/bin/time -f "%e %U %S" -o $T /usr/bin/python3 bench/uplift_speed_py.py --data "$DATA" \
        --params "$params" --api "$api" --threads 1 --test-rows "$PRED" >"$out"
    /usr/bin/python3 - "$T" "$out" <<'PY'
import json, sys
w, u, s = map(float, open(sys.argv[1]).read().split()[-3:])
r = json.load(open(sys.argv[2]))
# reading promo's held-out row list is not part of the pipeline: its wall time is taken off
# both (it runs on one thread)
print(json.dumps({"pipeline": r["pipeline"], "threads": 1,
                  "wall_s": round(w - r["split_file_s"], 2),
                  "cpu_s": round(u + s - r["split_file_s"], 2), "qini": r["qini"],
                  "rounds_control_treated": r["rounds_control_treated"]}))
PY
done
echo "{\"stage\": \"end\", \"date\": \"$(date -u +%FT%TZ)\", \"uptime\": \"$(uptime | sed 's/.*load/load/')\"}"
