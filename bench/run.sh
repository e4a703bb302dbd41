#!/bin/sh
# bench/run.sh: every benchmark, one after another, JSON lines on stdout (progress on stderr).
# `make bench` runs it after building the optimised tree. Each script measures its own
# reference (wc -l, pandas, scikit-learn, XGBoost's predict) in the same run.
# Sizes are the issues' full sizes; expect tens of minutes on 2 cores.
set -e
BUILD=${BUILD:-build}
export BUILD
echo "bench: csv_parse" >&2; sh bench/csv_parse.sh "$BUILD"
echo "bench: ingest" >&2; sh bench/ingest.sh
echo "bench: generate" >&2; sh bench/generate.sh
echo "bench: features" >&2; sh bench/features.sh 10000000 1000000 "$BUILD"
echo "bench: score" >&2; sh bench/score.sh
[ -f bench/propensity.sh ] && { echo "bench: propensity" >&2; sh bench/propensity.sh; }
echo "bench: kmeans" >&2; sh bench/kmeans.sh
echo "bench: hdbscan" >&2; sh bench/hdbscan.sh
echo "bench: segment" >&2; sh bench/segment.sh
echo "bench: expansion" >&2; sh bench/expansion.sh
echo "bench: uplift" >&2; sh bench/uplift.sh
echo "bench: uplift_forest" >&2; sh bench/uplift_forest.sh 2
echo "bench: uplift_synth" >&2; sh bench/uplift_synth.sh
echo "bench: uplift_speed" >&2; sh bench/uplift_speed.sh
echo "bench: ingest_profiles" >&2; sh bench/ingest_profiles.sh
echo "bench: als" >&2; sh bench/als.sh
echo "bench: als_target" >&2; /usr/bin/python3 bench/als_target.py "$BUILD/promo" "$BUILD/bench"
echo "bench: rec_knn_hybrid" >&2; sh bench/rec_knn_hybrid.sh
echo "bench: uplift_ws" >&2; sh bench/uplift_ws.sh
echo "bench: api" >&2; sh bench/api.sh
echo "bench: web_paint" >&2; sh bench/web_paint.sh
echo "bench: store_read" >&2; BUILD="$BUILD" sh bench/store_read.sh
echo "bench: ingest_append" >&2; BUILD="$BUILD" sh bench/ingest_append.sh
# A writable copy of a 1M-customer world with models/propensity_any.json and uplift.bin:
if [ -n "$SCORE_STORED_WS" ]; then
    echo "bench: score_stored" >&2
    sh bench/score_stored.sh "$SCORE_STORED_WS" "${SCORE_STORED_AS_OF:-2025-01-01}" "$BUILD/promo"
fi
echo "bench: uplift_ws_panel" >&2; BUILD="$BUILD" sh bench/uplift_ws_panel.sh
# promo features end to end against its own compute (issue 10): FEATURES_E2E_WS=a 10M-line
# workspace (read only: copied per run), e.g. /work/wt/data/pcols10m
if [ -n "${FEATURES_E2E_WS:-}" ]; then
    echo "bench: features_e2e" >&2
    sh bench/features_e2e.sh "$FEATURES_E2E_WS" "${FEATURES_E2E_AS_OF:-2024-12-02}" 3 "$BUILD/promo"
fi
exit 0
