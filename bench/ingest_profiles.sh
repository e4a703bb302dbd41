#!/bin/sh
# Every dataset in ../shared/data ingested with one `promo ingest` command (the README's), its
# row counts checked against an independent count (awk / wc on the source files) or the
# figure in CATALOG.md; the new source paths timed against the canonical path on the same
# rows; and BG/NBD fitted on the ingested CDNOW sample against the published parameters.
# One JSON line per figure; exit 1 if a count disagrees.
#
#   make all && sh bench/ingest_profiles.sh
#
# Speed: each path is ingested REPS times (default 5), interleaved with its canonical
# reference, and the smallest read_s (parse + checks, from --json; the SQLite write is the same
# for both), wall time and CPU time (user + sys) are kept: the machine is shared. The canonical reference of each pair is the same rows rewritten by awk as a
# canonical CSV (ISO dates, unit_price, canonical kinds), so both produce the same table.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=${PROMO_BENCH_BIN:-$BUILD/promo}
REPS=${REPS:-5}
D=../shared/data
TMP=${TMPDIR:-/tmp}/promo-bench-profiles
rm -rf "$TMP"
mkdir -p "$TMP"
[ -x "$BIN" ] || { echo "build $BIN first: make all" >&2; exit 1; }
LIBS="$(pkg-config --libs sqlite3 libcjson xgboost gsl libmicrohttpd) -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread"
gcc -std=c11 -D_GNU_SOURCE -O2 -Iinclude -fopenmp -o "$BUILD/cdnow_bgnbd" bench/cdnow_bgnbd.c \
    "$BUILD/libpromo.a" $LIBS
status=0

# count NAME WS TABLE WANT SOURCE: the table's rows in the workspace against WANT
count() {
    got=$("$BIN" sql --ws "$2" "SELECT COUNT(*) FROM \"$3\"")
    ok=$([ "$got" = "$4" ] && echo true || echo false)
    [ "$ok" = true ] || status=1
    printf '{"bench": "ingest_profiles", "dataset": "%s", "table": "%s", "rows": %s, "expected": %s, "expected_from": "%s", "ok": %s}\n' \
        "$1" "$3" "$got" "$4" "$5" "$ok"
}
# countq NAME WS SQL WANT SOURCE: a query's single number against WANT
countq() {
    got=$("$BIN" sql --ws "$2" "$3")
    ok=$([ "$got" = "$4" ] && echo true || echo false)
    [ "$ok" = true ] || status=1
    printf '{"bench": "ingest_profiles", "dataset": "%s", "query": "%s", "value": %s, "expected": %s, "expected_from": "%s", "ok": %s}\n' \
        "$1" "$3" "$got" "$4" "$5" "$ok"
}
lines() { wc -l < "$1" | tr -d ' '; }
body() { echo $(($(lines "$1") - 1)); }

ws() { echo "$TMP/ws-$1"; }
run() { # NAME ARGS...: one ingest command
    name=$1; shift
    rm -rf "$(ws "$name")"
    "$BIN" ingest --ws "$(ws "$name")" "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" || {
        echo "{\"bench\": \"ingest_profiles\", \"dataset\": \"$name\", \"error\": \"$(tr '"\n' "' " < "$TMP/$name.err")\"}"
        status=1
        return 0
    }
}

# ---- one command per dataset, counts against the sources ----
run hillstrom --format hillstrom "$D/hillstrom/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv"
count hillstrom "$(ws hillstrom)" experiment 64000 "CATALOG.md: 64,000 data rows"
run lenta --format lenta "$D/lenta_uplift/lenta_sample_50k.csv"
count lenta "$(ws lenta)" experiment "$(body "$D/lenta_uplift/lenta_sample_50k.csv")" "wc -l - 1"
run criteo --format criteo "$D/criteo_uplift/criteo_uplift_v2.1_sample1000.csv"
count criteo "$(ws criteo)" experiment 1000 "CATALOG.md: 1,000 rows"
run online_retail --format online-retail "$D/online_retail/online_retail.csv"
count online_retail "$(ws online_retail)" transactions 541909 "CATALOG.md: 541,909 rows"
run online_retail_ii --format online-retail "$D/online_retail_ii/online_retail_ii_2009-2010.csv"
count online_retail_ii "$(ws online_retail_ii)" transactions 525461 "CATALOG.md: 525,461 lines"
run cdnow --format cdnow "$D/cdnow/CDNOW_master.txt"
count cdnow "$(ws cdnow)" transactions "$(awk '$1 ~ /^[0-9]/' "$D/cdnow/CDNOW_master.txt" | wc -l)" "awk: data lines"
countq cdnow "$(ws cdnow)" "SELECT COUNT(DISTINCT customer_id) FROM transactions" \
    "$(awk '$1 ~ /^[0-9]/ {print $1}' "$D/cdnow/CDNOW_master.txt" | sort -u | wc -l)" "awk: distinct customers"
run cdnow_sample --format cdnow "$D/cdnow/CDNOW_sample.txt"
count cdnow_sample "$(ws cdnow_sample)" customers 2357 "CATALOG.md: 2,357 customers"
run taobao --format taobao "$D/taobao_userbehavior/UserBehavior_head.csv"
count taobao "$(ws taobao)" events "$(lines "$D/taobao_userbehavior/UserBehavior_head.csv")" "wc -l (no header)"
count taobao "$(ws taobao)" products "$(cut -d, -f2 "$D/taobao_userbehavior/UserBehavior_head.csv" | sort -u | wc -l)" "distinct item_id"
ev=$("$BIN" sql --ws "$(ws taobao)" "SELECT group_concat(kind || ':' || n) FROM (SELECT kind, COUNT(*) n FROM events GROUP BY kind ORDER BY kind)")
printf '{"bench": "ingest_profiles", "dataset": "taobao", "kinds": "%s", "expected": "cart:4494,favorite:2351,purchase:1749,view:75693 (CATALOG.md)"}\n' "$ev"
run tmall --format tmall "$D/tmall_mbgcn/buy.txt" "$D/tmall_mbgcn/cart.txt" "$D/tmall_mbgcn/collect.txt"
count tmall "$(ws tmall)" events "$(cat "$D/tmall_mbgcn/buy.txt" "$D/tmall_mbgcn/cart.txt" "$D/tmall_mbgcn/collect.txt" | wc -l)" "wc -l buy+cart+collect"
run groceries --format groceries "$D/groceries/groceries.csv"
count groceries "$(ws groceries)" transactions 43367 "CATALOG.md: 43,367 item occurrences"
count groceries "$(ws groceries)" products 169 "CATALOG.md: 169 items"
run obd --format obd "$D/obd/random/men/men.csv" "$D/obd/random/women/women.csv" "$D/obd/bts/men/men.csv" "$D/obd/bts/women/women.csv"
count obd "$(ws obd)" bandit 40000 "CATALOG.md: 4 x 10,000 rows"
run instacart --format instacart "$D/instacart/orders.csv" "$D/instacart/order_products__prior.csv" \
    "$D/instacart/order_products__train.csv" "$D/instacart/products.csv" "$D/instacart/aisles.csv" "$D/instacart/departments.csv"
count instacart "$(ws instacart)" transactions "$(($(body "$D/instacart/order_products__prior.csv") + $(body "$D/instacart/order_products__train.csv")))" "wc -l of both line files"
count instacart "$(ws instacart)" products 49688 "CATALOG.md: 49,688 products"
DH=$D/dunnhumby_cj2
run dunnhumby --format dunnhumby --unknown add "$DH/transactions_sample.csv" "$DH/products.csv" "$DH/demographics.csv" \
    "$DH/campaign_descriptions.csv" "$DH/campaigns.csv" "$DH/coupon_redemptions.csv"
count dunnhumby "$(ws dunnhumby)" transactions 75000 "CATALOG.md: 75,000 sampled transactions"
count dunnhumby "$(ws dunnhumby)" exposures 6589 "CATALOG.md: 6,589 campaign-household rows"
count dunnhumby "$(ws dunnhumby)" promotions 27 "CATALOG.md: 27 campaigns"
count dunnhumby "$(ws dunnhumby)" responses "$(awk -F, 'NR > 1 {print $3 "," $1}' "$DH/coupon_redemptions.csv" | sort -u | wc -l)" "awk: distinct (campaign, household) redemptions"
count dunnhumby "$(ws dunnhumby)" products "$(($(body "$DH/products.csv") + $(awk -F, 'NR==FNR {if (FNR>1) p[$1]=1; next} FNR>1 && !($4 in p) {print $4}' "$DH/products.csv" "$DH/transactions_sample.csv" | sort -u | wc -l)))" "products.csv + ids only in transactions (--unknown add)"

# ---- speed: new paths against canonical on the same rows ----
one() { # ARGS...: one ingest -> "read_s wall_s cpu_s" (cpu = user + sys of the process)
    rm -rf "$TMP/speed"
    t0=$(date +%s.%N)
    out=$(/usr/bin/time -o "$TMP/time" -f "%U %S" "$BIN" ingest --ws "$TMP/speed" --json "$@" 2>/dev/null)
    t1=$(date +%s.%N)
    r=$(echo "$out" | sed -n 's/.*"read_s": \([0-9.]*\).*/\1/p')
    echo "$r $(echo "$t1 - $t0" | bc) $(awk '{ print $1 + $2 }' "$TMP/time")"
}
speed() { # NAME ROWS "new args" "canonical args": REPS runs of each, interleaved, minimum kept
    name=$1; rows=$2
    i=0
    : > "$TMP/speed.txt"
    while [ $i -lt "$REPS" ]; do
        echo "n $(eval one $3)" >> "$TMP/speed.txt"
        echo "c $(eval one $4)" >> "$TMP/speed.txt"
        i=$((i + 1))
    done
    awk -v n="$name" -v rows="$rows" '
        function mn(a, b) { return a == "" || b < a ? b : a }
        { r[$1] = mn(r[$1], $2); w[$1] = mn(w[$1], $3); c[$1] = mn(c[$1], $4) }
        END { printf "{\"bench\": \"ingest_profiles_speed\", \"path\": \"%s\", \"rows\": %d, \"new_read_s\": %.3f, \"canonical_read_s\": %.3f, \"read_ratio\": %.2f, \"new_wall_s\": %.3f, \"canonical_wall_s\": %.3f, \"wall_ratio\": %.2f, \"new_cpu_s\": %.2f, \"canonical_cpu_s\": %.2f, \"cpu_ratio\": %.2f, \"machine\": \"shared, loaded\"}\n",
              n, rows, r["n"], r["c"], r["n"] / r["c"], w["n"], w["c"], w["n"] / w["c"], c["n"], c["c"], c["n"] / c["c"] } ' "$TMP/speed.txt"
}
# The sources are repeated X times (default 10, ids made distinct per copy) so that a run
# takes about a second and the process start does not dominate.
X=${X:-10}
awk -v x="$X" '$1 ~ /^[0-9]/ { for (k = 0; k < x; k++) printf " %d%s  %s   %s  %s\n", k, $1, $2, $3, $4 }' \
    "$D/cdnow/CDNOW_master.txt" > "$TMP/cdnow_x.txt"
awk 'BEGIN { print "order_id,customer_id,product_id,ts,quantity,unit_price" }
     { d = substr($2,1,4) "-" substr($2,5,2) "-" substr($2,7,2);
       printf "%s:%s,%s,CD,%s,%s,%.17g\n", $1, $2, $1, d, $3, ($3 == 0 ? 0 : $4 / $3) }' \
    "$TMP/cdnow_x.txt" > "$TMP/cdnow_canonical.csv"
rows=$(lines "$TMP/cdnow_x.txt")
speed "cdnow (blanks, no header, YYYYMMDD, --amount, order ids)" "$rows" \
    "--format cdnow $TMP/cdnow_x.txt" "--table transactions $TMP/cdnow_canonical.csv"
# Taobao: no header, epoch seconds, --recode -- vs canonical events with ISO times
awk -F, -v x="$X" '{ for (k = 0; k < x; k++) printf "%d_%s,%s,%s,%s,%s\n", k, $1, $2, $3, $4, $5 }' \
    "$D/taobao_userbehavior/UserBehavior_head.csv" > "$TMP/taobao_x.csv"
awk -F, 'BEGIN { print "customer_id,product_id,ts,kind"; k["pv"] = "view"; k["fav"] = "favorite"; k["buy"] = "purchase"; k["cart"] = "cart" }
     { printf "%s,%s,%s,%s\n", $1, $2, strftime("%Y-%m-%dT%H:%M:%S", $5, 1), k[$4] }' \
    "$TMP/taobao_x.csv" > "$TMP/taobao_events.csv"
speed "events (no header, epoch, --recode)" "$(lines "$TMP/taobao_x.csv")" \
    "--table events --no-header --columns customer_id,product_id,category_id,kind,ts --ignore category_id --recode kind=pv:view,fav:favorite,buy:purchase $TMP/taobao_x.csv" \
    "--table events $TMP/taobao_events.csv"
# dunnhumby transactions: --map and --amount -- vs unit_price precomputed
awk -F, -v x="$X" 'NR == 1 { print; next } { for (k = 0; k < x; k++) { b = $3; $3 = k "_" b; print; $3 = b } }' OFS=, \
    "$DH/transactions_sample.csv" > "$TMP/dh_x.csv"
awk -F, 'BEGIN { OFS = ","; print "order_id,customer_id,store_id,product_id,quantity,unit_price,ts" }
     NR > 1 { printf "%s,%s,%s,%s,%s,%.17g,%s\n", $3, $1, $2, $4, $5, ($5 == 0 ? 0 : $6 / $5), $11 }' \
    "$TMP/dh_x.csv" > "$TMP/dh_canonical.csv"
speed "transactions (--map, --amount)" "$(body "$TMP/dh_x.csv")" \
    "--table transactions --map order_id=basket_id,customer_id=household_id,ts=transaction_timestamp --amount sales_value --ignore retail_disc,coupon_disc,coupon_match_disc,week $TMP/dh_x.csv" \
    "--table transactions $TMP/dh_canonical.csv"

# ---- CDNOW: BG/NBD from the ingested sample and master files ----
"$BUILD/cdnow_bgnbd" "$(ws cdnow_sample)" "$D/cdnow/cdnow_customers_summary.csv"
"$BUILD/cdnow_bgnbd" "$(ws cdnow)"
exit $status
