#!/usr/bin/python3
"""Synthetic data for bench/uplift_speed.sh: N rows x 20 numeric features x0..x19 ~ N(0, 1),
a treatment column t (control / treated, 50/50, independent of x: a randomised test) and a
binary outcome y with a planted heterogeneous effect (seeded numpy, reproducible):
  logit P(y = 1) = -1 + 0.8 x0 - 0.6 x1 + 0.4 x2 x3                       (baseline)
                   + 1{treated} (0.1 + 0.5 x4 - 0.4 1{x5 > 0.5} + 0.3 x6 x7)  (effect)
x8..x19 are noise. usage: uplift_speed_gen.py OUT.csv [N] [SEED]
"""
import sys

import numpy as np
import pandas as pd

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 15
rng = np.random.default_rng(seed)
x = rng.standard_normal((n, 20)).astype(np.float32)
t = rng.random(n) < 0.5
base = -1.0 + 0.8 * x[:, 0] - 0.6 * x[:, 1] + 0.4 * x[:, 2] * x[:, 3]
tau = 0.1 + 0.5 * x[:, 4] - 0.4 * (x[:, 5] > 0.5) + 0.3 * x[:, 6] * x[:, 7]
logit = base + t * tau
y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)
df = pd.DataFrame(x, columns=[f"x{j}" for j in range(20)])
df["t"] = np.where(t, "treated", "control")
df["y"] = y
df.to_csv(out, index=False, float_format="%.5f")
# The true effect on the probability scale, for the reader (not used by either pipeline).
p1 = 1.0 / (1.0 + np.exp(-(base + tau)))
p0 = 1.0 / (1.0 + np.exp(-base))
print(f'{{"stage": "generate", "rows": {n}, "features": 20, "seed": {seed}, '
      f'"treated_share": {t.mean():.4f}, "y_rate": {y.mean():.4f}, '
      f'"true_ate": {float(np.mean(p1 - p0)):.4f}}}')
