/* Tests of the generate write path: promo_synth_generate_into (the first tables written on a
 * second thread while the history is generated) stores exactly what promo_synth_generate +
 * promo_synth_write store, a failure in the history leaves the workspace as it was, and the
 * chunk writer (encoding of the next batch beside the inserts, the null-free fast paths) reads
 * back every value over more chunks than one batch holds. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/store.h>
#include <promo/synth.h>
#include <promo/table.h>

#include "t.h"
#include "t_world.h"

static char *gw_path(const char *dir, const char *name)
{
    static char p[2][600];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static promo_synth_params small_world(void)
{
    promo_synth_params p = promo_synth_params_default();
    p.n_customers = 5000; /* more than one generator block */
    p.n_products = 80;
    p.n_promotions = 30;
    p.n_transactions = 30000;
    p.n_months = 6;
    p.seed = 11;
    p.n_threads = 2;
    return p;
}

T_TEST(generate_into_stores_what_generate_then_write_stores)
{
    const char *dir = t_tmpdir();
    promo_synth_params p = small_world();
    promo_synth_tables a, b;
    promo_store *s = NULL;
    T_OK(promo_synth_generate(&p, NULL, &a));
    T_OK(promo_store_open(gw_path(dir, "a"), 1, &s));
    T_OK(promo_synth_write(s, &a, &p));
    promo_store_close(s);
    /* b replaces a workspace holding an older world and a table of its own: both go */
    promo_synth_params old = small_world();
    old.seed = 12;
    old.n_transactions = 20000;
    promo_synth_tables o;
    T_OK(promo_synth_generate(&old, NULL, &o));
    T_OK(promo_store_open(gw_path(dir, "b"), 1, &s));
    T_OK(promo_synth_write(s, &o, &old));
    promo_table *extra = promo_table_new("scores_old");
    promo_column *x = NULL;
    T_ASSERT(extra && !promo_table_add_column(extra, "x", PROMO_COL_INT64, &x));
    T_OK(promo_column_push_i64(x, 1));
    T_OK(promo_table_seal(extra));
    T_OK(promo_store_write_table(s, extra));
    promo_table_free(extra);
    promo_synth_tables_free(&o);
    double tail = -1;
    T_OK(promo_synth_generate_into(s, &p, &b, &tail));
    T_ASSERT(tail >= 0);
    T_ASSERT(!promo_store_has_table(s, "scores_old"));
    promo_store_close(s);

    promo_store *sa = NULL, *sb = NULL;
    T_OK(promo_store_open(gw_path(dir, "a"), 0, &sa));
    T_OK(promo_store_open(gw_path(dir, "b"), 0, &sb));
    const promo_table *all[PROMO_SYNTH_N_TABLES], *all_b[PROMO_SYNTH_N_TABLES];
    size_t n = promo_synth_tables_list(&a, all);
    promo_synth_tables_list(&b, all_b);
    for (size_t k = 0; k < n; k++) {
        T_ASSERT(all[k] && all_b[k]);
        /* the same tables in memory, and the same read back from either workspace */
        T_ASSERT_MSG(t_table_digest(all[k]) == t_table_digest(all_b[k]), "%s differs in memory",
                     all[k]->name);
        promo_table *ra = NULL, *rb = NULL;
        T_OK(promo_store_read_table(sa, all[k]->name, &ra));
        T_OK(promo_store_read_table(sb, all[k]->name, &rb));
        T_ASSERT_EQ_INT(ra->n_rows, all[k]->n_rows);
        T_ASSERT_MSG(t_table_digest(ra) == t_table_digest(rb), "%s differs as stored",
                     all[k]->name);
        promo_table_free(ra);
        promo_table_free(rb);
    }
    char *la = promo_store_meta_get(sa, "generate.transactions");
    char *lb = promo_store_meta_get(sb, "generate.transactions");
    T_ASSERT(la && lb);
    T_ASSERT_STR_EQ(la, "30000");
    T_ASSERT_STR_EQ(lb, "30000");
    promo_free(la);
    promo_free(lb);
    promo_store_close(sa);
    promo_store_close(sb);
    promo_synth_tables_free(&a);
    promo_synth_tables_free(&b);
}

T_TEST(generate_into_failed_history_leaves_the_workspace)
{
    const char *dir = t_tmpdir();
    const char *ws = gw_path(dir, "ws");
    promo_synth_params p = small_world();
    promo_synth_tables t;
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_synth_generate_into(s, &p, &t, NULL));
    promo_store_close(s);
    promo_synth_tables_free(&t);
    char *before = t_dir_digest(ws);
    /* The promotions' purchases alone exceed 100 lines: the history refuses, after the first
     * tables were handed to the writer thread. */
    promo_synth_params bad = small_world();
    bad.seed = 3;
    bad.n_transactions = 100;
    T_OK(promo_store_open(ws, 1, &s));
    int rc = promo_synth_generate_into(s, &bad, &t, NULL);
    T_ASSERT_EQ_INT(rc, PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "more than the 100 transactions asked for");
    T_ASSERT(t.customers == NULL && t.transactions == NULL);
    promo_table *c = NULL;
    T_OK(promo_store_read_table(s, "customers", &c));
    T_ASSERT_EQ_INT(c->n_rows, 5000);
    promo_table_free(c);
    promo_store_close(s);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    promo_free(before);
    promo_free(after);
}

/* 10 chunks (more than the 8 of a write batch), with null-free chunks and chunks with nulls,
 * prices stored as scaled integers and values that must stay raw (NaN, -0.0, huge). */
T_TEST(generate_write_chunks_round_trip_every_value)
{
    const size_t n = 10 * 65536 - 123;
    promo_table *t = promo_table_new("events");
    promo_column *cu, *pr, *ts, *kind, *price, *raw, *flag, *note, *code;
    T_ASSERT(t != NULL);
    T_OK(promo_table_add_column(t, "customer_id", PROMO_COL_STRING, &cu));
    T_OK(promo_table_add_column(t, "product_id", PROMO_COL_STRING, &pr));
    T_OK(promo_table_add_column(t, "ts", PROMO_COL_TIMESTAMP, &ts));
    T_OK(promo_table_add_column(t, "kind", PROMO_COL_STRING, &kind));
    T_OK(promo_table_add_column(t, "price", PROMO_COL_FLOAT64, &price));
    T_OK(promo_table_add_column(t, "raw", PROMO_COL_FLOAT64, &raw));
    T_OK(promo_table_add_column(t, "flag", PROMO_COL_BOOL, &flag));
    T_OK(promo_table_add_column(t, "note", PROMO_COL_STRING, &note));
    T_OK(promo_table_add_column(t, "code", PROMO_COL_INT64, &code));
    char buf[64];
    for (size_t r = 0; r < n; r++) {
        size_t chunk = r / 65536;
        int len = snprintf(buf, sizeof buf, "C%06zu", r / 13);
        T_OK(promo_column_push_str(cu, buf, (size_t)len));
        len = snprintf(buf, sizeof buf, "P%zu", r % 977);
        T_OK(promo_column_push_str(pr, buf, (size_t)len));
        T_OK(promo_column_push_i64(ts, 1700000000 + (int64_t)r * 7));
        T_OK(promo_column_push_str(kind, r % 3 ? "view" : "cart", 4));
        T_OK(promo_column_push_f64(price, (double)(r % 100000) / 100.0 + (chunk == 4 ? 1e6 : 0)));
        double v = chunk == 2 && r % 1000 == 5  ? NAN
                   : chunk == 6 && r % 999 == 1 ? -0.0
                   : chunk == 7                 ? 1e300 / (double)(r + 1)
                                                : (double)r * 0.5;
        if (chunk == 8 && r % 77 == 0)
            T_OK(promo_column_push_null(raw));
        else
            T_OK(promo_column_push_f64(raw, v));
        if (chunk == 3 && r % 5 == 0)
            T_OK(promo_column_push_null(flag));
        else
            T_OK(promo_column_push_bool(flag, (int)(r % 7 == 0)));
        if (chunk == 5 || (chunk == 9 && r % 2))
            T_OK(promo_column_push_null(note));
        else
            T_OK(promo_column_push_str(note, chunk % 2 ? "odd" : "even", chunk % 2 ? 3 : 4));
        /* a wide range in chunk 1 (8-byte offsets), narrow elsewhere */
        T_OK(promo_column_push_i64(code, chunk == 1 ? (int64_t)r * 1000000007LL - (1LL << 40)
                                                    : (int64_t)(r % 250)));
    }
    T_OK(promo_table_seal(t));
    const char *ws = gw_path(t_tmpdir(), "ws");
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_write_table(s, t));
    promo_table *back = NULL;
    T_OK(promo_store_read_table(s, "events", &back));
    T_ASSERT_EQ_INT(back->n_rows, n);
    for (size_t j = 0; j < t->n_cols; j++) {
        const promo_column *a = t->cols[j], *b = promo_table_column(back, a->name);
        T_ASSERT_MSG(b != NULL, "column %s not read back", a->name);
        T_ASSERT_EQ_INT(b->n_null, a->n_null);
        for (size_t r = 0; r < n; r++) {
            int na = promo_column_is_null(a, r), nb = promo_column_is_null(b, r);
            T_ASSERT_MSG(na == nb, "%s row %zu: null %d vs %d", a->name, r, na, nb);
            if (na)
                continue;
            int same;
            if (a->type == PROMO_COL_STRING)
                same = strcmp(promo_column_str(a, r), promo_column_str(b, r)) == 0;
            else if (a->type == PROMO_COL_FLOAT64)
                same = memcmp(&a->f64[r], &b->f64[r], sizeof(double)) == 0;
            else if (a->type == PROMO_COL_BOOL)
                same = a->b[r] == b->b[r];
            else
                same = a->i64[r] == b->i64[r];
            T_ASSERT_MSG(same, "%s row %zu differs after the round trip", a->name, r);
        }
    }
    promo_table_free(back);
    promo_table_free(t);
    promo_store_close(s);
}

/* A table of n rows of events (customer runs of 4, products P0-P3), with the product of each
 * row in dup[] set to the previous row's: a repeated key there. */
static promo_table *events_with_repeats(size_t n, const size_t *dup, size_t n_dup)
{
    promo_table *t = promo_table_new("events");
    promo_column *cu, *pr, *ts, *kind;
    T_ASSERT(t != NULL);
    T_OK(promo_table_add_column(t, "customer_id", PROMO_COL_STRING, &cu));
    T_OK(promo_table_add_column(t, "product_id", PROMO_COL_STRING, &pr));
    T_OK(promo_table_add_column(t, "ts", PROMO_COL_TIMESTAMP, &ts));
    T_OK(promo_table_add_column(t, "kind", PROMO_COL_STRING, &kind));
    char buf[32];
    for (size_t r = 0; r < n; r++) {
        int len = snprintf(buf, sizeof buf, "C%07zu", r / 4);
        T_OK(promo_column_push_str(cu, buf, (size_t)len));
        size_t p = r % 4;
        for (size_t d = 0; d < n_dup; d++)
            if (dup[d] == r)
                p = (r - 1) % 4;
        len = snprintf(buf, sizeof buf, "P%zu", p);
        T_OK(promo_column_push_str(pr, buf, (size_t)len));
        T_OK(promo_column_push_i64(ts, 1700000000));
        T_OK(promo_column_push_str(kind, "view", 4));
    }
    T_OK(promo_table_seal(t));
    return t;
}

/* The key check by runs goes in parts of about a million rows on every thread: the repeat it
 * reports is still the first one in row order, whichever part finds one first. */
T_TEST(generate_write_key_check_in_parts_reports_the_first_repeat)
{
    const char *ws = gw_path(t_tmpdir(), "ws");
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    size_t both[2] = {1100001, 300001}, late[1] = {1100001};
    promo_table *t = events_with_repeats(1200000, both, 2);
    T_ASSERT_EQ_INT(promo_store_write_table(s, t), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "C0075000");
    promo_table_free(t);
    t = events_with_repeats(1200000, late, 1);
    T_ASSERT_EQ_INT(promo_store_write_table(s, t), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "C0275000");
    T_ASSERT(!promo_store_has_table(s, "events"));
    promo_table_free(t);
    t = events_with_repeats(1200000, NULL, 0);
    T_OK(promo_store_write_table(s, t));
    promo_table_free(t);
    promo_store_close(s);
}
