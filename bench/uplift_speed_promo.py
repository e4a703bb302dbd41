#!/usr/bin/python3
"""Runs `promo -v uplift ...` (bench/uplift_speed.sh) and times it from outside (wall time end
to end), with the stages promo times itself in its debug lines ("uplift: read", "read, encode,
split", "fit", "predict, metrics, groups, policies") and the rounds each base model kept
("gbdt: ... N rounds kept": control / treated for t, the one effect model for ct). Prints one JSON line. usage: uplift_speed_promo.py PROMO ARGS...
"""
import json
import re
import subprocess
import sys
import time

t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
rounds, err, stages = [], [], {}
STAGES = {"read": r"uplift: read ([\d.]+) s",
          "read_encode_split": r"uplift: read, encode, split ([\d.]+) s",
          "fit": r"uplift: fit ([\d.]+) s",
          "predict_metrics_policies": r"uplift: predict, metrics, groups, policies ([\d.]+) s"}
for line in p.stderr:
    err.append(line)
    m = re.search(r"gbdt: .*?(\d+) rounds kept", line)
    if m:
        rounds.append(int(m.group(1)))
    for k, rx in STAGES.items():
        m = re.search(rx, line)
        if m:
            stages[k + "_s"] = float(m.group(1))
out = p.stdout.read()
rc = p.wait()
total = time.perf_counter() - t0
if rc != 0:
    sys.exit(f"promo failed ({rc}): {''.join(err)}")
r = json.loads(out)
arm = r["arms"][0]
learner = sys.argv[sys.argv.index("--learner") + 1] if "--learner" in sys.argv else "t"
res = {"pipeline": f"promo uplift --learner {learner}", "rows": r["rows"], "train": r["train"],
       "test": r["test"], "rounds_control_treated": rounds, "qini": round(arm["qini"], 6),
       "auuc": round(arm["auuc"], 6), "end_to_end_s": round(total, 3), **stages}
print(json.dumps(res))
