/* The generated world in a workspace: write every table and the run metadata in one store
 * transaction, and rebuild the latent world from the truth_* tables. */
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/store.h>
#include <promo/synth.h>

int promo_synth_write(promo_store *s, const promo_synth_tables *t, const promo_synth_params *p)
{
    const promo_table *all[PROMO_SYNTH_N_TABLES];
    size_t n = promo_synth_tables_list(t, all);
    int rc = promo_store_begin(s);
    if (rc)
        return rc;
    /* The models trained on the data being replaced go in the same unit (store.h). */
    if ((rc = promo_store_stage_remove_models(s))) {
        promo_store_rollback(s);
        return rc;
    }
    /* A new world replaces the workspace's data: tables derived from the old one (evaluations,
     * ingested extras) would otherwise sit beside it and describe another history. */
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
    double t0 = promo_now_s();
    for (size_t k = 0; k < n && !rc; k++)
        if (all[k])
            rc = promo_store_write_table(s, all[k]);
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
    double t1 = promo_now_s();
    if (!rc)
        rc = promo_store_commit(s);
    promo_debug("generate: write: tables %.2fs, commit and publish %.2fs", t1 - t0,
                promo_now_s() - t1);
    if (rc) {
        /* Keep the first error's message: the rollback's own status is secondary. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", promo_last_error());
        promo_store_rollback(s);
        return promo_fail(rc, "%s", msg);
    }
    return PROMO_OK;
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
