#!/bin/sh
# bench/soak.sh: kill -9 at random moments and concurrent writers, counting what survives
# (issue 18). Usage: sh bench/soak.sh [KILLS_PER_COMMAND=100] [CONCURRENT_RUNS=10]
#
# For each of ingest (into an existing workspace), generate --force and train: KILLS copies of
# one base workspace, the command started on each and killed with SIGKILL after a random delay
# in [0, 1.2 x its normal run time]; then one ordinary command (`promo info`, which finishes a
# commit that was killed between its SQL commit and its renames) and a fingerprint of the state:
#   ingest, generate: the tables and their row counts (`promo info`) and the model files;
#   train: checksums of models/* and out/* and `promo evaluate --json`.
# A kill "survives" when the fingerprint is exactly the one before the command or the one after
# an uninterrupted run, PRAGMA integrity_check says ok, no temporary (*.tmp-*) is left in
# models/ or out/ and no staging directory (.ws.tmp-*) beside the workspace, and `promo score`
# either works or refuses with a message (exit 2: no model, or a model made from data that has
# since been replaced; never a model used on data it was not trained on, never a crash). Concurrent writers: train and generate --force started together on one workspace,
# CONCURRENT times; "mixed" counts runs that end with a model that does not belong to the data
# (score refuses it as replaced), a failed integrity check or a leftover temporary.
# Output: one JSON line per command and one for the concurrent runs.
set -u
KILLS=${1:-100}
CONC=${2:-10}
BUILD=${BUILD:-build}
P=$(pwd)/$BUILD/promo
[ -x "$P" ] || { echo "soak: build $P first (make)" >&2; exit 1; }
T=$(mktemp -d /tmp/promo-soak.XXXXXX)
trap 'rm -rf "$T"' EXIT
GEN="--customers 400 --products 40 --transactions 40000 --months 8 --no-events"
TRAIN="--rounds 30 --no-baselines"

now() { date +%s.%N; }
rnd() { od -An -N4 -tu4 /dev/urandom | tr -d ' '; }

sums() { # checksums of the files in a directory, names included
    (cd "$1" 2>/dev/null && find . -type f ! -name '.lock' | sort | xargs -r md5sum) | md5sum |
        cut -c1-32
}

fingerprint() { # $1 = kind, $2 = ws
    case $1 in
    train)
        echo "$(sums "$2/models") $(sums "$2/out") $("$P" evaluate --ws "$2" --json 2>/dev/null |
            sed -e "s|$2||g" -e 's/"[a-z_]*seconds":[-0-9.e+]*//g' | md5sum | cut -c1-32)"
        ;;
    *)
        echo "$("$P" info --ws "$2" 2>/dev/null | sed "s|$2||g" | md5sum | cut -c1-32) $(ls "$2/models" |
            md5sum | cut -c1-32)"
        ;;
    esac
}

clean_state() { # $1 = ws: integrity, no temporaries, no staging dirs
    [ "$(sqlite3 "$1/promo.db" 'PRAGMA integrity_check' 2>&1)" = ok ] || return 1
    [ -z "$(ls -a "$1/models" "$1/out" 2>/dev/null | grep '\.tmp-')" ] || return 1
    [ -z "$(ls -a "$(dirname "$1")" | grep "^\.$(basename "$1")\.tmp-")" ] || return 1
    # score: 0 (the model belongs to the data), or 2 with a message: no model, or (after a
    # command that replaced the data) the old model refused as made from replaced data.
    # $2 = 1: a refused model counts as mixed (concurrent writers: each finished its unit).
    err=$("$P" score --ws "$1" --target any 2>&1 >/dev/null)
    rc=$?
    [ $rc -eq 0 ] && return 0
    [ $rc -eq 2 ] && echo "$err" | grep -q "replaced" && [ "${2:-0}" = 1 ] && return 1
    [ $rc -eq 2 ] && return 0
    return 1
}

# The base: a trained world, and a transactions file for ingest.
"$P" generate --ws "$T/base" $GEN --seed 1 >/dev/null 2>&1 || exit 1
"$P" train --ws "$T/base" $TRAIN >/dev/null 2>&1 || exit 1
"$P" generate --ws "$T/src" $GEN --seed 2 >/dev/null 2>&1 || exit 1
"$P" sql --ws "$T/src" --csv "SELECT order_id, line, customer_id, product_id, store_id,
    strftime('%Y-%m-%dT%H:%M:%S', ts, 'unixepoch') AS ts, quantity, unit_price, discount,
    promotion_id, channel FROM transactions" >"$T/transactions.csv"

command_for() { # $1 = kind, $2 = ws
    case $1 in
    ingest) echo "$P ingest --ws $2 --format canonical --table transactions $T/transactions.csv" ;;
    generate) echo "$P generate --ws $2 --force $GEN --seed 3" ;;
    train) echo "$P train --ws $2 --rounds 40 --no-baselines" ;;
    esac
}

for kind in ingest generate train; do
    # the state before and after an uninterrupted run
    rm -rf "$T/ref"
    cp -a "$T/base" "$T/ref"
    "$P" info --ws "$T/ref" >/dev/null 2>&1
    before=$(fingerprint $kind "$T/ref")
    t0=$(now)
    sh -c "$(command_for $kind "$T/ref")" >/dev/null 2>&1 || { echo "soak: $kind failed" >&2; exit 1; }
    t1=$(now)
    after=$(fingerprint $kind "$T/ref")
    span_ms=$(echo "($t1 - $t0) * 1200" | bc | cut -d. -f1)
    ok=0 old=0 new=0 bad=0
    i=0
    while [ $i -lt "$KILLS" ]; do
        i=$((i + 1))
        ws="$T/k/ws"
        rm -rf "$T/k"
        mkdir -p "$T/k"
        cp -a "$T/base" "$ws"
        delay_ms=$(($(rnd) % (span_ms + 1)))
        sh -c "exec $(command_for $kind "$ws")" >/dev/null 2>&1 &
        pid=$!
        sleep "$(echo "scale=3; $delay_ms / 1000" | bc)"
        kill -9 $pid 2>/dev/null
        wait $pid 2>/dev/null
        "$P" info --ws "$ws" >/dev/null 2>&1
        fp=$(fingerprint $kind "$ws")
        if [ "$fp" = "$before" ] && clean_state "$ws"; then
            ok=$((ok + 1)); old=$((old + 1))
        elif [ "$fp" = "$after" ] && clean_state "$ws"; then
            ok=$((ok + 1)); new=$((new + 1))
        else
            bad=$((bad + 1))
            echo "soak: $kind kill $i after ${delay_ms} ms: neither the old nor the new state" \
                "(state $fp, before $before, after $after)" >&2
            [ -n "${SOAK_KEEP:-}" ] && cp -a "$T/k" "$SOAK_KEEP.$kind.$i"
        fi
    done
    printf '{"bench":"soak","command":"%s","kills":%d,"survived":%d,"old_state":%d,"new_state":%d,"broken":%d,"run_ms":%d}\n' \
        $kind "$KILLS" $ok $old $new $bad "$(echo "($t1 - $t0) * 1000" | bc | cut -d. -f1)"
done

# Two writers at once: train and generate --force on one workspace.
mixed=0 waited=0 i=0
while [ $i -lt "$CONC" ]; do
    i=$((i + 1))
    ws="$T/c/ws"
    rm -rf "$T/c"
    mkdir -p "$T/c"
    cp -a "$T/base" "$ws"
    sh -c "exec $(command_for train "$ws")" >/dev/null 2>"$T/c/e1" &
    p1=$!
    sh -c "exec $(command_for generate "$ws")" >/dev/null 2>"$T/c/e2" &
    p2=$!
    wait $p1
    r1=$?
    wait $p2
    r2=$?
    grep -q "waiting for it to finish" "$T/c/e1" "$T/c/e2" && waited=$((waited + 1))
    if [ $r1 -ne 0 ] || [ $r2 -ne 0 ] || ! clean_state "$ws" 1; then
        mixed=$((mixed + 1))
        echo "soak: concurrent run $i: train $r1, generate $r2, or a mixed state" >&2
    fi
done
printf '{"bench":"soak","command":"train+generate --force concurrently","runs":%d,"mixed_or_failed":%d,"waited_for_the_lock":%d}\n' \
    "$CONC" $mixed $waited
