/* bench/uplift_truth.h: what the uplift benches against the generated world's truth share
 * (uplift_synth.c, uplift_ws_ceiling.c): a clock, fatal exits named by the bench, a column by
 * name, and the (promotion code, customer code) -> truth row map. Define BENCH_NAME before
 * including it. */
#ifndef BENCH_UPLIFT_TRUTH_H
#define BENCH_UPLIFT_TRUTH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <promo/error.h>
#include <promo/hash.h>
#include <promo/table.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, BENCH_NAME ": %s: %s\n", what, promo_last_error());
    exit(1);
}

static const promo_column *col(const promo_table *t, const char *name)
{
    int k = promo_table_column_index(t, name);
    if (k < 0) {
        fprintf(stderr, BENCH_NAME ": %s has no column %s\n", t->name, name);
        exit(1);
    }
    return t->cols[k];
}

/* Open-addressing map (promotion code, customer code) -> truth row. */
typedef struct {
    uint64_t *key;
    uint32_t *val;
    size_t cap;
} map;

static void map_put(map *m, uint64_t k, uint32_t v)
{
    size_t s = (size_t)promo_fmix64(k) & (m->cap - 1);
    while (m->val[s] != UINT32_MAX && m->key[s] != k)
        s = (s + 1) & (m->cap - 1);
    m->key[s] = k;
    m->val[s] = v;
}

static uint32_t map_get(const map *m, uint64_t k)
{
    size_t s = (size_t)promo_fmix64(k) & (m->cap - 1);
    while (m->val[s] != UINT32_MAX) {
        if (m->key[s] == k)
            return m->val[s];
        s = (s + 1) & (m->cap - 1);
    }
    return UINT32_MAX;
}

#endif
