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
#include <promo/uplift_score.h>

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

/* The uplift model's scores for the offer: effect (the best arm's) into effect[], expected
 * incremental profit of the best arm into profit[] (NaN where the model says do not contact),
 * both per world customer; *available 0 (not an error) without a model. The discount the
 * optimizer settles on is the one of the grid whose positive-profit customers add up to the
 * most (*best_discount). */
static int uplift_scores(promo_store *s,
                         const promo_world *w,
                         const promo_compare_params *p,
                         double *effect,
                         double *profit,
                         double *best_discount,
                         int *available,
                         char *note,
                         size_t n_note)
{
    static const double grid[] = {5, 10, 15, 20, 25, 30};
    promo_uplift_scorer *h = NULL;
    int rc = promo_uplift_scorer_open(s, 0, p->n_threads, &h);
    if (rc == PROMO_ENOTFOUND) {
        snprintf(note, n_note, "no uplift model: promo train --model uplift");
        *available = 0;
        return PROMO_OK;
    }
    if (rc)
        return rc;
    char target[300];
    snprintf(target, sizeof target, "product:%.280s", p->product_id);
    uint32_t nc = promo_world_n_customers(w);
    double best_total = -INFINITY;
    *best_discount = p->discount_pct;
    for (size_t g = 0; !rc && g <= sizeof grid / sizeof grid[0]; g++) {
        /* the grid, then the asked discount last so that effect[] is the asked one's */
        double d = g < sizeof grid / sizeof grid[0] ? grid[g] : p->discount_pct;
        promo_uplift_offer o = {.target = target, .discount_pct = d};
        promo_uplift_scores *sc = NULL;
        if ((rc = promo_uplift_scorer_score(h, &o, &sc)))
            break;
        int na = sc->n_arms;
        double total = 0;
        for (size_t r = 0; r < sc->n; r++) {
            int b = sc->best_arm[r];
            if (b > 0)
                total += sc->profit[r * (size_t)na + (size_t)b];
        }
        if (g < sizeof grid / sizeof grid[0] && total > best_total) {
            best_total = total;
            *best_discount = d;
        }
        if (g == sizeof grid / sizeof grid[0]) {
            for (size_t r = 0; r < sc->n; r++) {
                uint32_t i = promo_world_customer_index(w, sc->customer[r]);
                if (i == PROMO_SYNTH_NONE || i >= nc)
                    continue;
                float e = -INFINITY;
                for (int a = 1; a < na; a++)
                    if (sc->effect[r * (size_t)(na - 1) + (size_t)(a - 1)] > e)
                        e = sc->effect[r * (size_t)(na - 1) + (size_t)(a - 1)];
                effect[i] = e;
            }
        }
        promo_uplift_scores_free(sc);
    }
    /* profit[] at the optimizer's discount */
    if (!rc) {
        promo_uplift_offer o = {.target = target, .discount_pct = *best_discount};
        promo_uplift_scores *sc = NULL;
        if (!(rc = promo_uplift_scorer_score(h, &o, &sc))) {
            int na = sc->n_arms;
            for (size_t r = 0; r < sc->n; r++) {
                uint32_t i = promo_world_customer_index(w, sc->customer[r]);
                int b = sc->best_arm[r];
                if (i != PROMO_SYNTH_NONE && i < nc && b > 0)
                    profit[i] = sc->profit[r * (size_t)na + (size_t)b];
            }
        }
        promo_uplift_scores_free(sc);
    }
    promo_uplift_scorer_free(h);
    *available = !rc;
    return rc;
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
    double *truth = NULL, *score = NULL, *up_effect = NULL, *up_profit = NULL;
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

    /* The uplift model's effect and profit, once for both strategies that use them. */
    up_effect = promo_mallocn(nc ? nc : 1, sizeof *up_effect);
    up_profit = promo_mallocn(nc ? nc : 1, sizeof *up_profit);
    if (!up_effect || !up_profit) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (uint32_t i = 0; i < nc; i++)
        up_effect[i] = up_profit[i] = NAN;
    int up_ok = 0;
    double opt_discount = p->discount_pct;
    char up_note[256] = "";
    if ((rc = uplift_scores(s, w, p, up_effect, up_profit, &opt_discount, &up_ok, up_note,
                            sizeof up_note)))
        goto done;
    out->optimized_discount_pct = opt_discount;

    for (int k = 0; k < PROMO_STRATEGY_COUNT && !rc; k++) {
        promo_compare_row *row = &out->rows[k];
        size_t want = n;
        double disc = p->discount_pct;
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
            row->available = up_ok;
            memcpy(score, up_effect, nc * sizeof *score);
            snprintf(row->note, sizeof row->note, "%s",
                     up_ok ? "top N by the uplift model's predicted effect" : up_note);
            break;
        case PROMO_STRATEGY_OPTIMIZED:
            row->available = up_ok;
            memcpy(score, up_profit, nc * sizeof *score);
            want = nc;
            disc = opt_discount;
            if (up_ok)
                snprintf(row->note, sizeof row->note,
                         "every customer with a positive expected profit under the uplift model, "
                         "at the best discount of 5-30%% by that model: %.0f%%",
                         opt_discount);
            else
                snprintf(row->note, sizeof row->note, "%s", up_note);
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
        if ((rc = select_top(score, nc, want, all, &sel, &row->contacts)))
            break;
        for (size_t j = 0; j < row->contacts; j++)
            sel[j].discount_pct = disc;
        row->discount_pct = disc;
        if ((rc = promo_simulate(w, sel, row->contacts, &p->sim, &row->sim)))
            break;
        if (disc == p->discount_pct)
            for (size_t j = 0; j < row->contacts; j++)
                row->expected_profit += truth[sel[j].customer];
        else if (row->contacts) {
            double *tv = promo_mallocn(row->contacts, sizeof *tv);
            if (!tv || (rc = promo_simulate_expected(w, sel, row->contacts, &p->sim, tv, NULL))) {
                promo_free(tv);
                rc = rc ? rc : PROMO_ENOMEM;
                break;
            }
            for (size_t j = 0; j < row->contacts; j++)
                row->expected_profit += tv[j];
            promo_free(tv);
        }
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
    promo_free(up_effect);
    promo_free(up_profit);
    promo_world_free(w);
    return rc;
}
