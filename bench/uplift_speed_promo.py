#!/usr/bin/python3
"""Runs `promo -v uplift ...` (bench/uplift_speed.sh) and times it from outside: wall time end
to end, and the time at which each of its debug lines "gbdt: ... rounds kept" appeared on
stderr (the end of each base model's training: control first, then treated), which splits
the run into read+encode+split+first model / second model / predict+metrics+policies.
Prints one JSON line. usage: uplift_speed_promo.py PROMO ARGS...
"""
import json
import re
import subprocess
import sys
import time

t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
marks, rounds, err = [], [], []
for line in p.stderr:
    now = time.perf_counter() - t0
    err.append(line)
    m = re.search(r"gbdt: .*?(\d+) rounds kept", line)
    if m:
        marks.append(now)
        rounds.append(int(m.group(1)))
out = p.stdout.read()
rc = p.wait()
total = time.perf_counter() - t0
if rc != 0:
    sys.exit(f"promo failed ({rc}): {''.join(err)}")
r = json.loads(out)
arm = r["arms"][0]
res = {"pipeline": "promo uplift --learner t", "rows": r["rows"], "train": r["train"],
       "test": r["test"], "rounds_control_treated": rounds, "qini": round(arm["qini"], 6),
       "auuc": round(arm["auuc"], 6), "end_to_end_s": round(total, 3)}
if len(marks) == 2:
    res["until_control_model_s"] = round(marks[0], 3)  # read, encode, split, train mu0
    res["treated_model_s"] = round(marks[1] - marks[0], 3)
    res["after_training_s"] = round(total - marks[1], 3)  # predict, metrics, policies, JSON
print(json.dumps(res))
