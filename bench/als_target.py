"""bench/als_target: targeting the best seller of the default generated world by the
recommenders' reverse query (promo recommend --product X: the top customers for product X)
beside the propensity model (promo train --target product:X, promo score), on the same
held-out window: Precision@100 against who actually bought X in the 30 days after the cutoff,
the overlap of the two top-100 lists, and the buyers each finds that the other misses.
Everything goes through the promo CLI; the truth is read from the workspace's transactions.
    python3 bench/als_target.py PROMO_BIN WORKDIR [k]"""
import csv
import io
import json
import os
import subprocess
import sys

DAY = 86400


def promo(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"promo {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r.stdout


def top_ids(rows, key, k):
    rows = sorted(rows, key=lambda r: (-float(r[key]), r["customer_id"]))
    return [r["customer_id"] for r in rows[:k]]


def main():
    binary, work = sys.argv[1], sys.argv[2]
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    ws = os.path.join(work, "target_ws")
    if not os.path.exists(os.path.join(ws, "promo.db")):
        promo(binary, "generate", "--ws", ws)
    # The transactions are stored as column chunks: read them through promo sql.
    def sql(query):
        out = promo(binary, "sql", "--ws", ws, "--csv", query)
        return [list(r.values()) for r in csv.DictReader(io.StringIO(out))]

    (max_ts,) = sql("SELECT max(ts) FROM transactions WHERE quantity > 0")[0]
    cutoff = (int(max_ts) // DAY + 1) * DAY - 30 * DAY
    day = sql(f"SELECT date({cutoff}, 'unixepoch')")[0][0]
    best, n_orders = sql(
        "SELECT product_id, count(DISTINCT order_id) n FROM transactions "
        f"WHERE quantity > 0 AND ts < {cutoff} GROUP BY product_id ORDER BY n DESC, product_id "
        "LIMIT 1")[0]
    n_orders = int(n_orders)
    quoted = best.replace("'", "''")
    buyers = {r[0] for r in sql(
        f"SELECT DISTINCT customer_id FROM transactions WHERE product_id = '{quoted}' "
        f"AND quantity > 0 AND ts >= {cutoff} AND ts < {cutoff + 30 * DAY} "
        "AND customer_id IS NOT NULL")}
    past = {r[0] for r in sql(
        f"SELECT DISTINCT customer_id FROM transactions WHERE product_id = '{quoted}' "
        f"AND quantity > 0 AND ts < {cutoff} AND customer_id IS NOT NULL")}
    lists = {}
    promo(binary, "train", "--ws", ws, "--target", f"product:{best}", "--as-of", day,
          "--no-plots", "--no-baselines")
    scores = list(csv.DictReader(io.StringIO(promo(
        binary, "score", "--ws", ws, "--target", f"product:{best}", "--as-of", day))))
    lists["propensity"] = top_ids(scores, "probability", k)
    n_known = len(scores)
    for model in ("als", "bpr"):
        promo(binary, "train", "--ws", ws, "--model", model, "--as-of", day)
        for bought in ("--include-bought", "--exclude-bought"):
            rows = list(csv.DictReader(io.StringIO(promo(
                binary, "recommend", "--ws", ws, "--model", model, "--product", best,
                "--k", str(k), bought))))
            lists[f"{model}{'' if bought == '--include-bought' else '_new_only'}"] = \
                [r["customer_id"] for r in rows]
    prop = set(lists["propensity"])
    for name, ids in lists.items():
        hits = [c for c in ids if c in buyers]
        new_buyers = buyers - past
        out = {"bench": "als_target", "list": name, "product": best, "as_of": day, "k": k,
               "customers_scored": n_known, "buyers_in_window": len(buyers),
               "new_buyers_in_window": len(new_buyers),
               "precision_at_k": round(len(hits) / k, 4),
               "new_buyer_hits": sum(1 for c in ids if c in new_buyers),
               "base_rate": round(len(buyers) / max(n_known, 1), 4)}
        if name != "propensity":
            s = set(ids)
            out["overlap_with_propensity"] = len(s & prop)
            out["hits_propensity_misses"] = len({c for c in s - prop if c in buyers})
            out["hits_it_misses"] = len({c for c in prop - s if c in buyers})
        print(json.dumps(out))


if __name__ == "__main__":
    main()
