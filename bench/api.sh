#!/bin/sh
# bench/api: `promo serve` under wrk on loopback: POST /api/campaign (the best seller, 10%
# discount, 1000 customers targeted, 50 rows returned) on a generated world with an uplift
# model, throughput and latency percentiles at 16 and 64 connections (wrk -t2, 20 s each), the
# server's RSS before and after 60 s more of load at 64 connections, and, as the reference
# measured in the same run, GET /api/health (route, stamp, the workspace opened for its
# version and counts, JSON: a campaign from the caches does not open it) at 16 connections; with each phase, the server's CPU milliseconds per request
# (its utime + stime over the phase). JSON lines on stdout, progress on stderr.
#   sh bench/api.sh [customers] [transactions]       (default: the generator's default world)
#   BENCH_WS=DIR sh bench/api.sh                      (a workspace with an uplift model already)
# Needs wrk (tools/deps.sh). The world and its model are built in a temporary directory.
set -e
BUILD=${BUILD:-build}
CUSTOMERS=${1:-}
TRANSACTIONS=${2:-}
command -v wrk >/dev/null || { echo "bench/api: wrk is not installed (make deps)" >&2; exit 1; }
make --no-print-directory -s BUILD="$BUILD" "$BUILD/promo" >&2
WS=$(mktemp -d /tmp/promo-bench-api.XXXXXX)
SRV=""
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; wait 2>/dev/null; rm -rf "$WS"; }
trap cleanup EXIT
now() { date +%s.%N; }
GEN_ARGS=""
[ -n "$CUSTOMERS" ] && GEN_ARGS="$GEN_ARGS --customers $CUSTOMERS"
[ -n "$TRANSACTIONS" ] && GEN_ARGS="$GEN_ARGS --transactions $TRANSACTIONS"
if [ -n "$BENCH_WS" ]; then
    W=$BENCH_WS
    t0=0; t1=0; t2=0
else
    W=$WS/w
    t0=$(now)
    "$BUILD/promo" -q generate --ws "$W" $GEN_ARGS >&2
    t1=$(now)
    "$BUILD/promo" -q train --ws "$W" --model uplift >&2
    t2=$(now)
fi
N=$("$BUILD/promo" -q sql --ws "$W" "SELECT count(*) FROM customers")
LINES=$("$BUILD/promo" -q sql --ws "$W" "SELECT count(*) FROM transactions")
printf '{"bench":"api","what":"world","customers":%s,"transactions":%s,"generate_s":%.1f,"train_uplift_s":%.1f}\n' \
    "$N" "$LINES" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"

export PROMO_API_KEY=bench-key-$$
"$BUILD/promo" serve --ws "$W" --port 0 --threads 4 --no-log > "$WS/serve.out" 2> "$WS/serve.err" &
SRV=$!
for i in $(seq 1 100); do grep -q "listening on" "$WS/serve.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\)\/.*/\1/p' "$WS/serve.out")
[ -n "$PORT" ] || { cat "$WS/serve.err" >&2; exit 1; }
URL="http://127.0.0.1:$PORT"
rss() { awk '/VmRSS/ {print $2}' "/proc/$SRV/status"; }
# The server's CPU time so far, in clock ticks (utime + stime): per request, a figure the
# machine's load does not inflate the way it inflates latency.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SRV/stat"; }
HZ=$(getconf CLK_TCK)
export BENCH_PRODUCT=$(curl -s "$URL/api/products?limit=1" | sed 's/.*"product_id":"\([^"]*\)".*/\1/')
BODY="{\"product_id\": \"$BENCH_PRODUCT\", \"discount_pct\": 10, \"target\": 1000, \"rows\": 50}"
rss0=$(rss)
# The first campaign request loads the panel, features, uplift model and the optimum's surface.
cold=$(curl -s -o "$WS/first.json" -w '%{http_code} %{time_total}' -X POST \
    -H "Authorization: Bearer $PROMO_API_KEY" -d "$BODY" "$URL/api/campaign")
case "$cold" in 200*) ;; *) echo "bench/api: first campaign: $cold $(cat "$WS/first.json")" >&2; exit 1;; esac
warm=$(curl -s -o /dev/null -w '%{time_total}' -X POST -H "Authorization: Bearer $PROMO_API_KEY" \
    -d "$BODY" "$URL/api/campaign")
rss1=$(rss)
printf '{"bench":"api","what":"first_campaign","product":"%s","seconds":%s,"second_request_s":%s,"rss_kib_before":%s,"rss_kib_loaded":%s}\n' \
    "$BENCH_PRODUCT" "${cold#* }" "$warm" "$rss0" "$rss1"

# wrk --latency prints the 50/75/90/99th percentiles; the numbers are turned into ms.
run_wrk() { # name connections seconds path [script]
    name=$1; c=$2; d=$3; path=$4; script=$5
    t0=$(cpu_ticks)
    if [ -n "$script" ]; then
        wrk -t2 -c"$c" -d"${d}s" --latency -s "$script" "$URL$path" > "$WS/wrk.txt"
    else
        wrk -t2 -c"$c" -d"${d}s" --latency "$URL$path" > "$WS/wrk.txt"
    fi
    t1=$(cpu_ticks)
    awk -v name="$name" -v c="$c" -v d="$d" -v cores="$(nproc)" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
        -v cpu_s="$(echo "($t1 - $t0) / $HZ" | bc -l)" '
        function ms(s) { if (s ~ /us$/) return s / 1000; if (s ~ /ms$/) return s + 0;
                         if (s ~ /m$/) return s * 60000; return s * 1000 }
        /^ +50%/ { p50 = ms($2) } /^ +90%/ { p90 = ms($2) } /^ +99%/ { p99 = ms($2) }
        /Requests\/sec/ { rps = $2 } /requests in/ { n = $1 }
        /Non-2xx/ { bad = $NF } /Socket errors/ { err = $0 }
        END { printf "{\"bench\":\"api\",\"what\":\"%s\",\"connections\":%d,\"seconds\":%d,\"requests\":%d,\"requests_per_s\":%.1f,\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"non_2xx\":%d,\"server_cpu_ms_per_request\":%.3f,\"load_avg\":%s,\"cores\":%d}\n",
                     name, c, d, n, rps, p50, p90, p99, bad + 0, n ? 1000 * cpu_s / n : 0, load, cores }' "$WS/wrk.txt"
    grep -q "Socket errors" "$WS/wrk.txt" && grep "Socket errors" "$WS/wrk.txt" >&2 || true
}
run_wrk health_reference 16 20 /api/health
run_wrk campaign 16 20 /api/campaign bench/api_campaign.lua
run_wrk campaign 64 20 /api/campaign bench/api_campaign.lua
rss2=$(rss)
run_wrk campaign_soak 64 60 /api/campaign bench/api_campaign.lua
rss3=$(rss)
printf '{"bench":"api","what":"rss","kib_start":%s,"kib_loaded":%s,"kib_before_60s":%s,"kib_after_60s":%s}\n' \
    "$rss0" "$rss1" "$rss2" "$rss3"
kill -TERM "$SRV"
wait "$SRV" && st=0 || st=$?
SRV=""
printf '{"bench":"api","what":"shutdown","exit_status":%d}\n' "$st"
