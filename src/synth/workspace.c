/* The generated world in a workspace: write every table and the run metadata in one store
 * transaction, and rebuild the latent world from the truth_* tables. */
#include <malloc.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/store.h>
#include <promo/synth.h>

#include "synth/gen_internal.h"

/* The models trained on the data being replaced, and the tables derived from the old world
 * (evaluations, ingested extras, which would otherwise sit beside it and describe another
 * history), go in the same unit (store.h). */
static int drop_old(promo_store *s, const promo_table *const *all, size_t n)
{
    int rc = promo_store_stage_remove_models(s);
    if (rc)
        return rc;
    char **have = NULL;
    size_t n_have = 0;
    rc = promo_store_list_tables(s, &have, &n_have);
    for (size_t k = 0; k < n_have && !rc; k++) {
        int generated = 0;
        for (size_t j = 0; j < n && !generated; j++)
            generated = all[j] && strcmp(all[j]->name, have[k]) == 0;
        if (!generated)
            rc = promo_store_drop_table(s, have[k]);
    }
    promo_free(have);
    return rc;
}

/* The run metadata, then the commit; on failure the rollback, keeping the first message. */
static int finish(promo_store *s, const promo_synth_params *p, int rc)
{
    /* The truth_params table is what the simulator reads; the meta keys serve `promo info`
     * and humans. */
    char v[64];
    struct {
        const char *key;
        unsigned long long value;
    } meta[] = {
        {"generate.seed", (unsigned long long)p->seed},
        {"generate.customers", p->n_customers},
        {"generate.products", p->n_products},
        {"generate.categories", p->n_categories},
        {"generate.stores", p->n_stores},
        {"generate.promotions", p->n_promotions},
        {"generate.transactions", (unsigned long long)p->n_transactions},
        {"generate.months", p->n_months},
    };
    for (size_t k = 0; k < sizeof meta / sizeof *meta && !rc; k++) {
        snprintf(v, sizeof v, "%llu", meta[k].value);
        rc = promo_store_meta_set(s, meta[k].key, v);
    }
    if (!rc)
        rc = promo_store_meta_set(s, "generate.currency", "LKR");
    double t0 = promo_now_s();
    if (!rc)
        rc = promo_store_commit(s);
    promo_debug("generate: write: commit and publish %.2fs", promo_now_s() - t0);
    if (rc) {
        /* Keep the first error's message: the rollback's own status is secondary. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", promo_last_error());
        promo_store_rollback(s);
        return promo_fail(rc, "%s", msg);
    }
    return PROMO_OK;
}

int promo_synth_write(promo_store *s, const promo_synth_tables *t, const promo_synth_params *p)
{
    const promo_table *all[PROMO_SYNTH_N_TABLES];
    size_t n = promo_synth_tables_list(t, all);
    int rc = promo_store_begin(s);
    if (rc)
        return rc;
    rc = drop_old(s, all, n);
    for (size_t k = 0; k < n && !rc; k++)
        if (all[k])
            rc = promo_store_write_table(s, all[k]);
    return finish(s, p, rc);
}

/* The writer of the tables gen_start made, on its own thread while the history is generated:
 * SQLite is used by one thread at a time (this one until it is joined). Its error message is
 * copied out (messages are per thread). */
typedef struct early_writer {
    promo_store *s;
    const promo_synth_tables *t;
    int n_threads;
    int rc;
    char msg[512];
} early_writer;

static void *write_early(void *arg)
{
    early_writer *ew = arg;
    omp_set_num_threads(ew->n_threads); /* the team size is per thread */
    const promo_table *all[PROMO_SYNTH_N_TABLES];
    size_t n = promo_synth_tables_list(ew->t, all);
    ew->rc = PROMO_OK;
    for (size_t k = 0; k < n && !ew->rc; k++)
        if (all[k] && all[k] != ew->t->transactions && all[k] != ew->t->events)
            ew->rc = promo_store_write_table(ew->s, all[k]);
    if (ew->rc)
        snprintf(ew->msg, sizeof ew->msg, "%s", promo_last_error());
    /* This thread's malloc arena held the encoded chunks; it keeps freed memory unless asked
     * to give it back, and the history's largest allocations are still to come (peak RSS). */
    malloc_trim(0);
    return NULL;
}

int promo_synth_generate_into(promo_store *s,
                              const promo_synth_params *p,
                              promo_synth_tables *t,
                              double *tail_s)
{
    if (tail_s)
        *tail_s = 0;
    gen g;
    int rc = gen_start(&g, p, t);
    if (rc)
        return rc;
    if ((rc = promo_store_begin(s))) {
        gen_abort(&g, t, rc);
        return rc;
    }
    early_writer ew = {s, t, g.nt, PROMO_OK, ""};
    pthread_t th;
    int started = pthread_create(&th, NULL, write_early, &ew) == 0;
    if (!started) /* no thread: the same work, one step after the other */
        write_early(&ew);
    rc = gen_finish(&g, NULL, t);
    if (started)
        pthread_join(th, NULL);
    double t0 = promo_now_s();
    if (rc) {
        promo_store_rollback(s);
        gen_abort(&g, t, rc);
        return rc;
    }
    if (ew.rc) {
        promo_store_rollback(s);
        promo_synth_tables_free(t);
        return promo_fail(ew.rc, "%s", ew.msg);
    }
    /* the history's tables, then the rest of the unit */
    if (!(rc = promo_store_write_table(s, t->transactions)) && t->events)
        rc = promo_store_write_table(s, t->events);
    const promo_table *all[PROMO_SYNTH_N_TABLES];
    size_t n = promo_synth_tables_list(t, all);
    if (!rc)
        rc = drop_old(s, all, n);
    rc = finish(s, p, rc);
    if (rc)
        promo_synth_tables_free(t);
    else if (tail_s)
        *tail_s = promo_now_s() - t0;
    return rc;
}

int promo_world_load(promo_store *s, promo_world **out)
{
    *out = NULL;
    static const char *const names[4] = {"truth_customers", "truth_products", "truth_affinity",
                                         "truth_params"};
    promo_table *tb[4] = {NULL, NULL, NULL, NULL};
    int rc = PROMO_OK;
    for (int k = 0; k < 4 && !rc; k++) {
        if (!promo_store_has_table(s, names[k])) {
            rc = promo_fail(PROMO_ENOTFOUND,
                            "workspace %s has no generated world (table %s is missing; run "
                            "`promo generate`)",
                            promo_store_ws_dir(s), names[k]);
            break;
        }
        rc = promo_store_read_table(s, names[k], &tb[k]);
    }
    if (!rc) {
        promo_synth_tables t;
        memset(&t, 0, sizeof t);
        t.truth_customers = tb[0];
        t.truth_products = tb[1];
        t.truth_affinity = tb[2];
        t.truth_params = tb[3];
        rc = promo_world_from_tables(&t, out);
    }
    for (int k = 0; k < 4; k++)
        promo_table_free(tb[k]);
    return rc;
}
