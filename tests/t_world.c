/* tests/t_world.c: the workspaces of the model tests (t_world.h). */
#include "t_world.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include <promo/error.h>
#include <promo/hash.h>
#include <promo/log.h>
#include <promo/store.h>
#include <promo/synth.h>
#include <promo/table.h>

#include "t.h"

const char *t_world_write(char *ws,
                          size_t n,
                          uint32_t customers,
                          uint32_t products,
                          uint32_t categories,
                          uint32_t promotions,
                          uint64_t transactions)
{
    promo_log_set_level(PROMO_LOG_ERROR);
    snprintf(ws, n, "%s/ws", t_tmpdir());
    promo_synth_params p = promo_synth_params_default();
    p.n_customers = customers;
    p.n_products = products;
    p.n_categories = categories;
    p.n_stores = 3;
    p.n_promotions = promotions;
    p.n_transactions = transactions;
    p.n_months = 8;
    p.with_events = 0;
    promo_synth_tables t;
    T_OK(promo_synth_generate(&p, NULL, &t));
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_synth_write(s, &t, &p));
    promo_store_close(s);
    promo_synth_tables_free(&t);
    return ws;
}

void t_world_write_old_eval(promo_store *s)
{
    promo_table *old = promo_table_new("propensity_eval");
    T_ASSERT(old);
    T_OK(promo_table_add_column(old, "auc", PROMO_COL_FLOAT64, NULL));
    T_OK(promo_column_push_f64(old->cols[0], 0.5));
    T_OK(promo_table_seal(old));
    T_OK(promo_store_write_table(s, old));
    promo_table_free(old);
}

uint64_t t_table_digest(const promo_table *t)
{
    uint64_t h = promo_hash_bytes(t->name, strlen(t->name)) ^ t->n_rows;
    for (size_t j = 0; j < t->n_cols; j++) {
        const promo_column *c = t->cols[j];
        h = h * 31 + promo_hash_bytes(c->name, strlen(c->name));
        for (size_t r = 0; r < c->n; r++) {
            uint64_t v;
            if (promo_column_is_null(c, r)) {
                v = 0x6e756c6cULL;
            } else if (c->type == PROMO_COL_STRING) {
                const char *s = promo_column_str(c, r);
                v = promo_hash_bytes(s, strlen(s));
            } else if (c->type == PROMO_COL_FLOAT64) {
                memcpy(&v, &c->f64[r], sizeof v);
            } else if (c->type == PROMO_COL_BOOL) {
                v = c->b[r];
            } else {
                v = (uint64_t)c->i64[r];
            }
            h = (h ^ v) * 0x100000001b3ULL;
        }
    }
    return h;
}

long long t_sql_int(promo_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(promo_store_db(s), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "t_sql_int: %s: %s\n", sql, sqlite3_errmsg(promo_store_db(s)));
    sqlite3_finalize(st);
    return v;
}
