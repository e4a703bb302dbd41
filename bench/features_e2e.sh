#!/bin/sh
# bench/features_e2e.sh WS AS_OF RUNS [PROMO [REF_PROMO]]: `promo features --ws COPY -v
# --as-of AS_OF` end to end (process start to exit, /usr/bin/time) against the features' own
# compute in the same process (the reference: the sum of the walls and of the u+s CPU of the
# phases it prints under -v), on a fresh copy of WS per run (WS itself is not written). With
# REF_PROMO (an older build) the two binaries alternate, RUNS each, and the md5 of both
# feature tables (promo export) and of models/features_customers.bin must agree. Issue 10:
# end to end <= 1.5x the compute. Last, the floor: the same bytes written by dd (fdatasync,
# O_DIRECT). JSON lines on stdout. Runs under `nice -n 10`.
set -e
WS=$1
AS_OF=$2
RUNS=${3:-3}
PROMO=${4:-${BUILD:-build}/promo}
REF=${5:-}
T=${TMPDIR:-/tmp}/features_e2e.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT

run() { # binary label
    P=$1
    label=$2
    rm -rf "$T/ws"
    cp -r "$WS" "$T/ws"
    sync
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f "%e %U %S %M" -o "$T/time" nice -n 10 "$P" features --ws "$T/ws" -v \
        --as-of "$AS_OF" >/dev/null 2>"$T/err"
    read -r wall user sys rss <"$T/time"
    # "bucket 0.415s (0.32u 0.14s 95k flt) customers ...": walls and u+s of every phase
    set -- $(grep 'features: .* customers, .* lines:' "$T/err" | sed 's/.*lines://' |
        awk '{for (i = 1; i <= NF; i++) { if ($i ~ /^[0-9.]+s$/ && $(i+1) ~ /^\(/) w += $i;
              if ($i ~ /^\(?[0-9.]+u$/) { gsub(/[(u]/, "", $i); c += $i; s = $(i+1);
              gsub(/s/, "", s); c += s } } printf "%.3f %.3f\n", w, c}')
    cw=$1 cc=$2
    echo "{\"bench\":\"features_e2e\",\"bin\":\"$label\",\"wall_s\":$wall,\"user_s\":$user,\"sys_s\":$sys,\"peak_rss_kb\":$rss,\"compute_wall_s\":$cw,\"compute_cpu_s\":$cc,\"x_wall\":$(echo "$wall / $cw" | bc -l | cut -c1-5),\"x_cpu\":$(echo "($user + $sys) / $cc" | bc -l | cut -c1-5),\"load\":$load}"
    { "$P" export --ws "$T/ws" --table features_customers | md5sum
      "$P" export --ws "$T/ws" --table features_products | md5sum
      md5sum <"$T/ws/models/features_customers.bin"; } >"$T/sum.$label"
}

i=0
while [ $i -lt "$RUNS" ]; do
    [ -n "$REF" ] && run "$REF" ref
    run "$PROMO" new
    i=$((i + 1))
done
if [ -n "$REF" ]; then
    if cmp -s "$T/sum.ref" "$T/sum.new"; then echo '{"bench":"features_e2e","outputs":"identical"}'
    else echo '{"bench":"features_e2e","outputs":"DIFFERENT"}'; exit 1; fi
fi
# The floor of the writes on this machine, same run: the bytes the last run stored (the matrix
# file and the features_customers chunks) written fresh and fdatasynced by dd, through the page
# cache and with O_DIRECT.
bin=$(stat -c %s "$T/ws/models/features_customers.bin")
chunks=$(sqlite3 "$T/ws/promo.db" 'SELECT sum(length(data)) FROM promo_chunks__features_customers' 2>/dev/null || echo 0)
mb=$(( (bin + ${chunks:-0}) / 1048576 + 1 ))
rm -rf "$T/ws"
for mode in conv=fdatasync oflag=direct; do
    rm -f "$T/dd"
    sync
    /usr/bin/time -f %e -o "$T/ddtime" dd if=/dev/zero of="$T/dd" bs=1M count=$mb $mode 2>/dev/null
    s=$(cat "$T/ddtime")
    echo "{\"bench\":\"features_e2e\",\"floor\":\"dd $mode\",\"mb\":$mb,\"wall_s\":$s}"
done
