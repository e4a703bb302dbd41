"""Reference for bench/assoc.sh: frequent itemsets by Eclat over Python sets and arules-style
rules (one item on the right), written the straightforward way, as an independent check of
promo's counts and a time to stand beside it. Prints one JSON line."""
import json, math, sys, time

def read(path, layout):
    if layout == "lines":
        out = []
        for line in open(path, encoding="utf-8"):
            items = {x.strip() for x in line.rstrip("\r\n").split(",") if x.strip()}
            if items:
                out.append(items)
        return out
    import csv
    groups = {}
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        for row in r:
            groups.setdefault(row["order_id"], set()).add(row["product_id"])
    return list(groups.values())

def main():
    path, layout, s, c, maxlen = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    t0 = time.perf_counter()
    baskets = read(path, layout)
    t1 = time.perf_counter()
    n = len(baskets)
    minsup = max(1, math.ceil(s * n * (1 - 1e-12)))
    tids = {}
    for i, b in enumerate(baskets):
        for x in b:
            tids.setdefault(x, set()).add(i)
    counts = {}
    def eclat(prefix, cands):
        for k, (x, t) in enumerate(cands):
            items = prefix + (x,)
            counts[frozenset(items)] = len(t)
            if len(items) >= maxlen:
                continue
            nxt = []
            for y, u in cands[k + 1:]:
                v = t & u
                if len(v) >= minsup:
                    nxt.append((y, v))
            if nxt:
                eclat(items, nxt)
    first = sorted(((x, t) for x, t in tids.items() if len(t) >= minsup), key=lambda p: p[0])
    eclat((), first)
    rules = 0
    for st, cnt in counts.items():
        if len(st) < 2:
            continue
        for x in st:
            if cnt >= c * counts[st - {x}] * (1 - 1e-12):
                rules += 1
    t2 = time.perf_counter()
    print(json.dumps({"bench": "assoc", "impl": "python-eclat", "data": path.split("/")[-1],
                      "support": s, "confidence": c, "baskets": n, "itemsets": len(counts),
                      "rules": rules, "read_s": round(t1 - t0, 3), "mine_s": round(t2 - t1, 3)}))

main()
