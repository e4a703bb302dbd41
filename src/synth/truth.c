/* The truth_* tables: every latent parameter of the world (so promo_world_from_tables rebuilds
 * it exactly: doubles round-trip through SQLite REAL, floats through double) and the true
 * probabilities of each logged exposure. Column meanings are in promo/synth.h. */
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/timeutil.h>

#include "synth/gen_internal.h"

#define TRY(x)                      \
    do {                            \
        if ((rc = (x)) != PROMO_OK) \
            goto fail;              \
    } while (0)

typedef struct colspec {
    const char *name;
    promo_col_type type;
} colspec;

static int make_table(const char *name, const colspec *cs, size_t n, promo_table **out)
{
    promo_table *t = promo_table_new(name);
    if (!t)
        return PROMO_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        if (promo_table_add_column(t, cs[k].name, cs[k].type, NULL)) {
            promo_table_free(t);
            return PROMO_ENOMEM;
        }
    }
    *out = t;
    return PROMO_OK;
}

static int push_cstr(promo_column *c, const char *s)
{
    return promo_column_push_str(c, s, strlen(s));
}

static int truth_customers(const gen *g, promo_table **out)
{
    const promo_world *w = g->w;
    static const colspec cs[] = {
        {"customer_id", PROMO_COL_STRING},
        {"segment_true", PROMO_COL_STRING},
        {"visit_rate", PROMO_COL_FLOAT64},
        {"basket_mean", PROMO_COL_FLOAT64},
        {"active_from", PROMO_COL_INT64},
        {"churn_day", PROMO_COL_INT64},
        {"response_type", PROMO_COL_STRING},
        {"effect_size", PROMO_COL_FLOAT64},
        {"discount_sensitivity", PROMO_COL_FLOAT64},
        {"fatigue_sensitivity", PROMO_COL_FLOAT64},
        {"best_weekday", PROMO_COL_INT64},
        {"best_hour", PROMO_COL_INT64},
        {"price_sensitivity", PROMO_COL_FLOAT64},
        {"online_affinity", PROMO_COL_FLOAT64},
        {"home_store", PROMO_COL_STRING},
        {"fatigue_end", PROMO_COL_FLOAT64},
    };
    size_t nfix = sizeof cs / sizeof *cs;
    int rc = make_table("truth_customers", cs, nfix, out);
    if (rc)
        return rc;
    promo_table *t = *out;
    char name[64];
    for (uint32_t c = 0; c < w->n_cat; c++) {
        snprintf(name, sizeof name, "taste_%s", syn_categories[c].slug);
        TRY(promo_table_add_column(t, name, PROMO_COL_FLOAT64, NULL));
    }
    size_t habit = t->n_cols;
    TRY(promo_table_add_column(t, "habit_share", PROMO_COL_FLOAT64, NULL));
    for (uint32_t k = 0; k < SYN_MAX_STAPLES; k++) {
        snprintf(name, sizeof name, "staple_%u", k + 1);
        TRY(promo_table_add_column(t, name, PROMO_COL_STRING, NULL));
        TRY(gen_set_ids(t->cols[t->n_cols - 1], w->prod_ids));
    }
    /* Codes = indices: the id dictionary is the world's, the small ones are interned in
     * index order, so the parallel fill below writes indices straight into the columns. */
    promo_column **col = t->cols;
    TRY(gen_set_ids(col[0], w->cust_ids));
    TRY(gen_intern_ids(col[14], g->n_stores, gen_store_id));
    for (uint32_t k = 0; k < 4; k++)
        if (promo_dict_intern(col[1]->dict, syn_segment_names[k], strlen(syn_segment_names[k])) !=
            k)
            TRY(PROMO_ENOMEM);
    for (uint32_t k = 0; k < PROMO_RESP_TYPE_COUNT; k++)
        if (promo_dict_intern(col[6]->dict, syn_type_names[k], strlen(syn_type_names[k])) != k)
            TRY(PROMO_ENOMEM);
    for (size_t j = 0; j < t->n_cols; j++)
        TRY(promo_column_resize(col[j], w->n_cust));
    uint32_t n_cat = w->n_cat;
#pragma omp parallel for num_threads(g->nt) schedule(static)
    for (uint32_t i = 0; i < w->n_cust; i++) {
        col[0]->codes[i] = i;
        col[1]->codes[i] = w->c_seg[i];
        col[2]->f64[i] = w->c_visit[i];
        col[3]->f64[i] = w->c_bmean[i];
        col[4]->i64[i] = w->c_from[i];
        col[5]->i64[i] = w->c_churn[i] == INT32_MAX ? 0 : w->c_churn[i];
        col[6]->codes[i] = w->c_type[i];
        col[7]->f64[i] = w->c_effect[i];
        col[8]->f64[i] = w->c_dsens[i];
        col[9]->f64[i] = w->c_fsens[i];
        col[10]->i64[i] = w->c_bwd[i];
        col[11]->i64[i] = w->c_bhour[i];
        col[12]->f64[i] = w->c_psens[i];
        col[13]->f64[i] = w->c_online[i];
        col[14]->codes[i] = w->c_store[i];
        col[15]->f64[i] = w->c_fat_end[i];
        for (uint32_t c = 0; c < n_cat; c++)
            col[nfix + c]->f64[i] = w->c_taste[(size_t)i * n_cat + c];
        col[habit]->f64[i] = w->c_habit[i];
        for (uint32_t k = 0; k < SYN_MAX_STAPLES; k++) {
            uint32_t x = w->c_staple[(size_t)i * SYN_MAX_STAPLES + k];
            col[habit + 1 + k]->codes[i] = x == PROMO_SYNTH_NONE ? 0 : x;
        }
    }
    for (uint32_t i = 0; i < w->n_cust; i++) {
        if (w->c_churn[i] == INT32_MAX)
            TRY(promo_column_set_null(col[5], i));
        for (uint32_t k = 0; k < SYN_MAX_STAPLES; k++)
            if (w->c_staple[(size_t)i * SYN_MAX_STAPLES + k] == PROMO_SYNTH_NONE)
                TRY(promo_column_set_null(col[habit + 1 + k], i));
    }
    return promo_table_seal(t);
fail:
    return rc;
}

static int truth_products(const gen *g, promo_table **out)
{
    const promo_world *w = g->w;
    static const colspec cs[] = {
        {"product_id", PROMO_COL_STRING},  {"category", PROMO_COL_STRING},
        {"share", PROMO_COL_FLOAT64},      {"quantity_mean", PROMO_COL_FLOAT64},
        {"price", PROMO_COL_FLOAT64},      {"cost", PROMO_COL_FLOAT64},
        {"elasticity", PROMO_COL_FLOAT64},
    };
    int rc = make_table("truth_products", cs, sizeof cs / sizeof *cs, out);
    if (rc)
        return rc;
    promo_column **col = (*out)->cols;
    for (uint32_t x = 0; x < w->n_prod; x++) {
        TRY(push_cstr(col[0], promo_dict_key(w->prod_ids, x)));
        TRY(push_cstr(col[1], w->cat_names[w->p_cat[x]]));
        TRY(promo_column_push_f64(col[2], w->p_share[x]));
        TRY(promo_column_push_f64(col[3], w->p_qmean[x]));
        TRY(promo_column_push_f64(col[4], w->p_price[x]));
        TRY(promo_column_push_f64(col[5], w->p_cost[x]));
        TRY(promo_column_push_f64(col[6], w->p_elast[x]));
    }
    return promo_table_seal(*out);
fail:
    return rc;
}

static int truth_affinity(const gen *g, promo_table **out, promo_table **out_cat)
{
    const promo_world *w = g->w;
    static const colspec cs[] = {
        {"product_id", PROMO_COL_STRING},
        {"complement_id", PROMO_COL_STRING},
        {"strength", PROMO_COL_FLOAT64},
    };
    static const colspec cc[] = {
        {"category_a", PROMO_COL_STRING},
        {"category_b", PROMO_COL_STRING},
        {"strength", PROMO_COL_FLOAT64},
    };
    int rc = make_table("truth_affinity", cs, 3, out);
    if (rc || (rc = make_table("truth_category_affinity", cc, 3, out_cat)))
        return rc;
    promo_column **col = (*out)->cols;
    for (uint32_t x = 0; x < w->n_prod; x++) {
        for (int k = 0; k < SYN_MAX_COMPLEMENTS; k++) {
            uint32_t y = w->p_comp[(size_t)x * SYN_MAX_COMPLEMENTS + k];
            if (y == PROMO_SYNTH_NONE)
                break;
            TRY(push_cstr(col[0], promo_dict_key(w->prod_ids, x)));
            TRY(push_cstr(col[1], promo_dict_key(w->prod_ids, y)));
            TRY(promo_column_push_f64(col[2], w->p_comp_w[(size_t)x * SYN_MAX_COMPLEMENTS + k]));
        }
    }
    TRY(promo_table_seal(*out));
    col = (*out_cat)->cols;
    for (uint32_t k = 0; k < syn_n_category_pairs; k++) {
        const syn_pair *pr = &syn_category_pairs[k];
        if (pr->a >= w->n_cat || pr->b >= w->n_cat)
            continue;
        TRY(push_cstr(col[0], w->cat_names[pr->a]));
        TRY(push_cstr(col[1], w->cat_names[pr->b]));
        TRY(promo_column_push_f64(col[2], pr->strength));
    }
    return promo_table_seal(*out_cat);
fail:
    return rc;
}

static int truth_exposures(const gen *g, promo_table **out)
{
    static const colspec cs[] = {
        {"promotion_id", PROMO_COL_STRING},
        {"customer_id", PROMO_COL_STRING},
        {"p0", PROMO_COL_FLOAT64},
        {"p1", PROMO_COL_FLOAT64},
    };
    int rc = make_table("truth_exposures", cs, 4, out);
    if (rc)
        return rc;
    promo_column **col = (*out)->cols;
    char buf[32];
    for (uint32_t k = 0; k < g->n_promo; k++) {
        gen_promo_id(k, buf, sizeof buf);
        if (promo_dict_intern(col[0]->dict, buf, strlen(buf)) != k)
            TRY(PROMO_ENOMEM);
    }
    TRY(gen_set_ids(col[1], g->w->cust_ids));
    for (size_t k = 0; k < 4; k++)
        TRY(promo_column_resize(col[k], g->n_ex));
    for (size_t b = 0; b < g->n_blocks; b++) {
        const gen_block *bk = &g->blocks[b];
        for (uint32_t i = bk->c0; i < bk->c1; i++) {
            for (uint32_t j = bk->ex_start[i - bk->c0]; j < bk->ex_start[i - bk->c0 + 1]; j++) {
                size_t r = bk->ex_off + j;
                col[0]->codes[r] = bk->ex[j].promo;
                col[1]->codes[r] = i;
                col[2]->f64[r] = bk->ex[j].p0;
                col[3]->f64[r] = bk->ex[j].p1;
            }
        }
    }
    return promo_table_seal(*out);
fail:
    return rc;
}

static int truth_params(const gen *g, promo_table **out)
{
    static const colspec cs[] = {{"key", PROMO_COL_STRING}, {"value", PROMO_COL_STRING}};
    int rc = make_table("truth_params", cs, 2, out);
    if (rc)
        return rc;
    const promo_synth_params *p = g->p;
    char date[32];
    promo_time_format(g->w->start_day * PROMO_SECONDS_PER_DAY, 1, date, sizeof date);
    char v[14][64];
    const char *keys[14] = {"seed",
                            "start_date",
                            "n_days",
                            "n_customers",
                            "n_products",
                            "n_categories",
                            "n_stores",
                            "n_promotions",
                            "n_transactions",
                            "n_months",
                            "contacts_per_customer",
                            "targeted_share",
                            "control_share",
                            "with_events"};
    snprintf(v[0], 64, "%llu", (unsigned long long)p->seed);
    snprintf(v[1], 64, "%s", date);
    snprintf(v[2], 64, "%u", g->w->n_days);
    snprintf(v[3], 64, "%u", p->n_customers);
    snprintf(v[4], 64, "%u", p->n_products);
    snprintf(v[5], 64, "%u", p->n_categories);
    snprintf(v[6], 64, "%u", p->n_stores);
    snprintf(v[7], 64, "%u", p->n_promotions);
    snprintf(v[8], 64, "%llu", (unsigned long long)p->n_transactions);
    snprintf(v[9], 64, "%u", p->n_months);
    snprintf(v[10], 64, "%.17g", p->contacts_per_customer);
    snprintf(v[11], 64, "%.17g", p->targeted_share);
    snprintf(v[12], 64, "%.17g", p->control_share);
    snprintf(v[13], 64, "%d", p->with_events);
    for (int k = 0; k < 14; k++) {
        TRY(push_cstr((*out)->cols[0], keys[k]));
        TRY(push_cstr((*out)->cols[1], v[k]));
    }
    return promo_table_seal(*out);
fail:
    return rc;
}

int gen_truth_tables(const gen *g, promo_synth_tables *t)
{
    int rc;
    if ((rc = truth_customers(g, &t->truth_customers)) ||
        (rc = truth_products(g, &t->truth_products)) ||
        (rc = truth_affinity(g, &t->truth_affinity, &t->truth_category_affinity)) ||
        (rc = truth_exposures(g, &t->truth_exposures)) || (rc = truth_params(g, &t->truth_params)))
        return rc;
    return PROMO_OK;
}
