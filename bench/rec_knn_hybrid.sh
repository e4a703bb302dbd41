#!/bin/sh
# bench/rec_knn_hybrid.sh: item-kNN, user-kNN and the hybrid recommender (issue 13), JSON lines.
#   - UCI Online Retail, the last 30 days held out (promo train --model knn|user-knn|hybrid
#     --json: Precision/Recall/NDCG/MAP@20 and coverage beside popularity on the same
#     customers; the hybrid adds cold start: new customers' Precision@10 from their
#     attributes, new products' Precision@10 of the customers targeted);
#   - the category MF (promo train --model mf --json) on UCI and on the default world;
#   - MovieLens 100k (bench/rec_movielens.c): Precision@10 on a random 80/20 split, and the
#     hybrid's cold start (20% of users / movies held out entirely).
#   sh bench/rec_knn_hybrid.sh   (BUILD=build-x picks the build tree; DATA= the UCI csv;
#                                 ML= the MovieLens 100k directory)
set -e
BUILD=${BUILD:-build}
DATA=${DATA:-../shared/data/online_retail/online_retail.csv}
ML=${ML:-../shared/data/movielens_100k}
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libpromo.a" "$BUILD/promo" >&2
mkdir -p "$BUILD/bench"
PKGS="sqlite3 libcjson xgboost gsl libmicrohttpd"
cc -std=c11 -D_GNU_SOURCE -O2 -march=x86-64-v2 -Iinclude $(pkg-config --cflags $PKGS) -fopenmp \
   -o "$BUILD/bench/rec_movielens" bench/rec_movielens.c "$BUILD/libpromo.a" \
   $(pkg-config --libs $PKGS | sed "s/-lgslcblas//") -llapacke -lopenblas -lgsl -lm -fopenmp -lpthread
if [ -f "$DATA" ]; then
    WS="$BUILD/bench/rec-uci"
    rm -rf "$WS"
    "$BUILD/promo" -q ingest --ws "$WS" --format online-retail "$DATA" >/dev/null
    for M in knn user-knn hybrid mf; do
        "$BUILD/promo" -q train --ws "$WS" --model "$M" --json |
            sed "s/^{/{\"bench\": \"rec_uci_online_retail\", /"
    done
else
    echo "rec bench: $DATA not found, UCI skipped" >&2
fi
WS="$BUILD/bench/rec-world"
rm -rf "$WS"
"$BUILD/promo" -q generate --ws "$WS" >/dev/null
for M in knn hybrid mf; do
    "$BUILD/promo" -q train --ws "$WS" --model "$M" --json |
        sed "s/^{/{\"bench\": \"rec_default_world\", /"
done
if [ -f "$ML/u.data" ]; then
    "$BUILD/bench/rec_movielens" "$ML" 2
else
    echo "rec bench: $ML/u.data not found, MovieLens skipped" >&2
fi
