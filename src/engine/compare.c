/* Strategies against each other in the simulator (promo/compare.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/compare.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/panel.h>
#include <promo/propensity.h>
#include <promo/rng.h>
#include <promo/store.h>
#include <promo/synth.h>

static const char *const strategy_names[PROMO_STRATEGY_COUNT] = {
    "broadcast", "random", "rfm", "propensity", "uplift", "optimized", "oracle"};

const char *promo_strategy_name(promo_strategy s)
{
    return (int)s >= 0 && s < PROMO_STRATEGY_COUNT ? strategy_names[s] : "?";
}

promo_compare_params promo_compare_params_default(void)
{
    promo_compare_params p = {.discount_pct = 10, .seed = 1};
    p.sim = promo_sim_params_default();
    return p;
}

/* Customer order by score, descending; NaN last; ties by index. */
typedef struct ranked {
    double score;
    uint32_t i;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    int nx = isnan(x->score), ny = isnan(y->score);
    if (nx != ny)
        return nx - ny;
    if (!nx && x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* The top n customers by score (NaN scores never chosen) as offers; n_out the count. */
static int select_top(const double *score,
                      uint32_t nc,
                      size_t n,
                      const promo_offer *all,
                      promo_offer **out,
                      size_t *n_out)
{
    ranked *r = promo_mallocn(nc ? nc : 1, sizeof *r);
    promo_offer *o = promo_mallocn(n ? n : 1, sizeof *o);
    if (!r || !o) {
        promo_free(r);
        promo_free(o);
        return PROMO_ENOMEM;
    }
    for (uint32_t i = 0; i < nc; i++)
        r[i] = (ranked){score[i], i};
    qsort(r, nc, sizeof *r, cmp_ranked);
    size_t k = 0;
    for (; k < n && k < nc && !isnan(r[k].score); k++)
        o[k] = all[r[k].i];
    promo_free(r);
    *out = o;
    *n_out = k;
    return PROMO_OK;
}

/* RFM score per world customer: rfm_score, ties by monetary; NaN when unknown. */
static int rfm_scores(promo_store *s, const promo_world *w, int n_threads, double *score)
{
    promo_panel d;
    promo_features *f = NULL;
    int rc = promo_panel_load_tables(s, n_threads, &d);
    if (rc)
        return rc;
    promo_feature_params fp = promo_feature_params_default();
    int64_t max_ts = INT64_MIN;
    const promo_column *ts = promo_table_column(d.transactions, "ts");
    for (size_t r = 0; ts && r < ts->n; r++)
        if (!promo_column_is_null(ts, r) && ts->i64[r] > max_ts)
            max_ts = ts->i64[r];
    fp.as_of = (max_ts / PROMO_PANEL_DAY + 1) * PROMO_PANEL_DAY;
    fp.clv = 0;
    fp.products = 0;
    fp.n_threads = n_threads;
    if (!(rc = promo_features_compute(&d.in, &fp, &f))) {
        int jr = promo_features_column(f, "rfm_score"), jm = promo_features_column(f, "monetary");
        if (jr < 0 || jm < 0)
            rc = promo_fail(PROMO_EINTERNAL, "compare: no rfm_score/monetary feature");
        for (size_t r = 0; !rc && r < f->n_customers; r++) {
            uint32_t i = promo_world_customer_index(w, promo_features_customer_id(f, r));
            if (i == PROMO_SYNTH_NONE)
                continue;
            double rf = f->X[r * f->n_features + (size_t)jr];
            double m = f->X[r * f->n_features + (size_t)jm];
            score[i] = rf + (isfinite(m) ? m / (1 + fabs(m)) : 0) * 0.5;
        }
    }
    promo_features_free(f);
    promo_panel_free(&d);
    return rc;
}

/* The propensity model's probabilities; *available 0 (not an error) without a model. */
static int propensity_scores(promo_store *s,
                             const promo_world *w,
                             const char *product,
                             double *score,
                             int *available,
                             char *note,
                             size_t n_note)
{
    char target[300];
    snprintf(target, sizeof target, "product:%s", product);
    promo_prop_scores *sc = NULL;
    int rc = promo_propensity_score(s, target, 0, &sc);
    if (rc == PROMO_ENOTFOUND) {
        snprintf(note, n_note, "no product model: promo train --target %.200s", target);
        *available = 0;
        return PROMO_OK;
    }
    if (rc)
        return rc;
    for (size_t r = 0; r < sc->n; r++) {
        uint32_t i = promo_world_customer_index(w, sc->customer_id[r]);
        if (i != PROMO_SYNTH_NONE)
            score[i] = sc->probability[r];
    }
    promo_prop_scores_free(sc);
    *available = 1;
    return PROMO_OK;
}

static int check_params(const promo_compare_params *p)
{
    if (!p->product_id || !*p->product_id)
        return promo_fail(PROMO_EUSAGE, "--product: required");
    if (!(p->discount_pct >= 0 && p->discount_pct <= 90))
        return promo_fail(PROMO_EUSAGE, "--discount: expected 0 to 90, got %g", p->discount_pct);
    return PROMO_OK;
}

int promo_compare_run(promo_store *s, const promo_compare_params *p, promo_compare *out)
{
    if (!s || !p || !out)
        return promo_fail(PROMO_EUSAGE, "promo_compare_run: NULL argument");
    memset(out, 0, sizeof *out);
    int rc = check_params(p);
    if (rc)
        return rc;
    promo_world *w = NULL;
    promo_offer *all = NULL, *sel = NULL;
    double *truth = NULL, *score = NULL;
    if ((rc = promo_world_load(s, &w))) {
        if (rc == PROMO_ENOTFOUND)
            rc = promo_fail(PROMO_EINPUT, "promo compare plays the strategies in a generated "
                                          "world's simulator, and this workspace has no truth "
                                          "tables (make one with promo generate)");
        goto done;
    }
    uint32_t x = promo_world_product_index(w, p->product_id);
    if (x == PROMO_SYNTH_NONE) {
        rc = promo_fail(PROMO_EINPUT, "--product %s: no such product in the world", p->product_id);
        goto done;
    }
    uint32_t nc = promo_world_n_customers(w);
    size_t n = p->n_target ? p->n_target : (nc / 10 ? nc / 10 : 1);
    if (n > nc)
        n = nc;
    snprintf(out->product_id, sizeof out->product_id, "%s", p->product_id);
    out->discount_pct = p->discount_pct;
    out->n_target = n;
    out->n_customers = nc;
    all = promo_mallocn(nc ? nc : 1, sizeof *all);
    truth = promo_mallocn(nc ? nc : 1, sizeof *truth);
    score = promo_mallocn(nc ? nc : 1, sizeof *score);
    if (!all || !truth || !score) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (uint32_t i = 0; i < nc; i++)
        all[i] = (promo_offer){.customer = i,
                               .product = x,
                               .discount_pct = p->discount_pct,
                               .send_day = 0,
                               .send_hour = 10,
                               .bundle_product = PROMO_SYNTH_NONE};
    if ((rc = promo_simulate_expected(w, all, nc, &p->sim, truth, NULL)))
        goto done;

    for (int k = 0; k < PROMO_STRATEGY_COUNT && !rc; k++) {
        promo_compare_row *row = &out->rows[k];
        size_t want = n;
        row->available = 1;
        for (uint32_t i = 0; i < nc; i++)
            score[i] = NAN;
        switch ((promo_strategy)k) {
        case PROMO_STRATEGY_BROADCAST:
            for (uint32_t i = 0; i < nc; i++)
                score[i] = 0;
            want = nc;
            snprintf(row->note, sizeof row->note, "every customer");
            break;
        case PROMO_STRATEGY_RANDOM: {
            promo_rng r;
            promo_rng_init(&r, p->seed, 0x72616e64u);
            for (uint32_t i = 0; i < nc; i++)
                score[i] = promo_rng_uniform(&r);
            snprintf(row->note, sizeof row->note, "%zu at random (seed %llu)", n,
                     (unsigned long long)p->seed);
            break;
        }
        case PROMO_STRATEGY_RFM:
            rc = rfm_scores(s, w, p->n_threads, score);
            snprintf(row->note, sizeof row->note, "top %zu by RFM score", n);
            break;
        case PROMO_STRATEGY_PROPENSITY:
            rc = propensity_scores(s, w, p->product_id, score, &row->available, row->note,
                                   sizeof row->note);
            if (row->available)
                snprintf(row->note, sizeof row->note, "top %zu by purchase probability", n);
            break;
        case PROMO_STRATEGY_UPLIFT:
        case PROMO_STRATEGY_OPTIMIZED:
            row->available = 0;
            snprintf(row->note, sizeof row->note, "no uplift model: promo train --model uplift");
            break;
        case PROMO_STRATEGY_ORACLE:
            for (uint32_t i = 0; i < nc; i++)
                score[i] = truth[i] > 0 ? truth[i] : NAN;
            want = nc;
            snprintf(row->note, sizeof row->note,
                     "every customer with a positive true expected profit");
            break;
        default:
            break;
        }
        if (rc || !row->available)
            continue;
        promo_free(sel);
        sel = NULL;
        if ((rc = select_top(score, nc, want, all, &sel, &row->contacts)) ||
            (rc = promo_simulate(w, sel, row->contacts, &p->sim, &row->sim)))
            break;
        for (size_t j = 0; j < row->contacts; j++)
            row->expected_profit += truth[sel[j].customer];
        double costs = row->sim.discount_cost.mean + row->sim.contact_cost.mean;
        row->cost_per_incremental_conversion = row->sim.incremental_conversions.mean > 0
                                                   ? costs / row->sim.incremental_conversions.mean
                                                   : NAN;
    }
done:
    promo_free(sel);
    promo_free(all);
    promo_free(truth);
    promo_free(score);
    promo_world_free(w);
    return rc;
}
