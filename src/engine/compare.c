/* Strategies against each other in the simulator (promo/compare.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/compare.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/forecast.h>
#include <promo/panel.h>
#include <promo/propensity.h>
#include <promo/rng.h>
#include <promo/store.h>
#include <promo/synth.h>
#include <promo/table.h>
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

/* The top n customers by score (NaN scores never chosen) as offers; n_out the count. The
 * customers of skip[] (may be NULL: none) are passed over, their places going to the next of
 * the ranking; *n_skipped counts those ranked above the last one chosen (may be NULL). */
static int select_top(const double *score,
                      uint32_t nc,
                      size_t n,
                      const uint8_t *skip,
                      const promo_offer *all,
                      promo_offer **out,
                      size_t *n_out,
                      size_t *n_skipped)
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
    size_t k = 0, skipped = 0;
    for (size_t j = 0; k < n && j < nc && !isnan(r[j].score); j++) {
        if (skip && skip[r[j].i]) {
            skipped++;
            continue;
        }
        o[k++] = all[r[j].i];
    }
    promo_free(r);
    *out = o;
    *n_out = k;
    if (n_skipped)
        *n_skipped = skipped;
    return PROMO_OK;
}

/* The features the history gives as of the first day after it (the send day 0 of the
 * simulator): for the RFM score and the campaign engine's send time and fatigue. */
static int history_features(promo_store *s, int n_threads, promo_features **f, int64_t *as_of)
{
    promo_panel d;
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
    *as_of = fp.as_of;
    rc = promo_features_compute(&d.in, &fp, f);
    promo_panel_free(&d);
    return rc;
}

/* RFM score per world customer: rfm_score, ties by monetary; NaN when unknown. */
static int rfm_scores(const promo_features *f, const promo_world *w, double *score)
{
    int jr = promo_features_column(f, "rfm_score"), jm = promo_features_column(f, "monetary");
    if (jr < 0 || jm < 0)
        return promo_fail(PROMO_EINTERNAL, "compare: no rfm_score/monetary feature");
    for (size_t r = 0; r < f->n_customers; r++) {
        uint32_t i = promo_world_customer_index(w, promo_features_customer_id(f, r));
        if (i == PROMO_SYNTH_NONE)
            continue;
        double rf = f->X[r * f->n_features + (size_t)jr];
        double m = f->X[r * f->n_features + (size_t)jm];
        score[i] = rf + (isfinite(m) ? m / (1 + fabs(m)) : 0) * 0.5;
    }
    return PROMO_OK;
}

/* The campaign engine's rules per world customer (campaign.h's profiles, as
 * promo_campaign_schedule applies them): the send slot of each (its own usual weekday and hour
 * on or after day 0, or day 0 at 10:00 with a fixed send time), whether fatigue leaves them out
 * (skip[], suppress mode) and, in cool-down mode, the day a fatigued customer may first be sent
 * to (cool[]: > 0, their slot then the first of their weekday on or after it; 0 elsewhere).
 * *n_fatigued, *n_cooled: in the world. */
static int targeted_slots(const promo_features *f,
                          const promo_world *w,
                          const promo_campaign_targeting *t,
                          int64_t day0,
                          int32_t *day,
                          uint8_t *hour,
                          uint8_t *skip,
                          int32_t *cool,
                          size_t *n_fatigued,
                          size_t *n_contacted,
                          size_t *n_cooled)
{
    promo_campaign_profiles *pr = NULL;
    int rc = promo_campaign_profiles_from_features(f, t, &pr);
    if (rc)
        return rc;
    uint32_t nc = promo_world_n_customers(w);
    size_t cooled = 0;
    for (uint32_t i = 0; i < nc; i++) {
        const char *id = promo_world_customer_id(w, i);
        promo_send_slot sl;
        promo_fatigue_verdict v;
        promo_campaign_profile(pr, id, &sl, &v, NULL);
        int32_t d = 0;
        if (t->fatigue.mode == PROMO_FATIGUE_COOLDOWN && v.why)
            d = promo_fatigue_cooldown_day(&v, &t->fatigue, 0);
        cool[i] = d;
        cooled += d > 0;
        if (t->send_time_best) {
            d += promo_sendtime_days_to(day0 + (int64_t)d * PROMO_PANEL_DAY, sl.weekday);
            hour[i] = sl.hour;
        }
        day[i] = d < 3650 ? d : 3650;
        skip[i] = (uint8_t)promo_campaign_suppressed(pr, id);
    }
    *n_fatigued = promo_campaign_profiles_fatigued(pr);
    *n_contacted = promo_campaign_profiles_contacted(pr);
    *n_cooled = cooled;
    promo_campaign_profiles_free(pr);
    return PROMO_OK;
}

/* The world's true best hour of every customer (truth_customers.best_hour; -1 unknown). */
static int true_best_hours(promo_store *s, const promo_world *w, int8_t *best)
{
    static const char *const cols[] = {"customer_id", "best_hour"};
    promo_table *t = NULL;
    uint32_t nc = promo_world_n_customers(w);
    for (uint32_t i = 0; i < nc; i++)
        best[i] = -1;
    int rc = promo_store_read_columns(s, "truth_customers", cols, 2, &t);
    if (rc)
        return rc;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (promo_column_is_null(t->cols[0], r) || promo_column_is_null(t->cols[1], r))
            continue;
        uint32_t i = promo_world_customer_index(w, promo_column_str(t->cols[0], r));
        int64_t h = t->cols[1]->i64[r];
        if (i != PROMO_SYNTH_NONE && h >= 0 && h < 24)
            best[i] = (int8_t)h;
    }
    promo_table_free(t);
    return PROMO_OK;
}

/* The oracle: the true best policy under the rules the others play by. For each discount a
 * strategy offers (the asked one and the optimizer's), each customer is sent at the slot of
 * largest TRUE expected profit among those the rules allow (with send time: each day 0..6 at
 * the customer's true best hour, the one the effect peaks at, so no usual-slot estimate does
 * better; fixed: day 0 at 10:00), and taken when that profit is positive; the discount of the
 * larger total wins. Per customer it is at least what any row's slot and discount gives them,
 * so the oracle bounds every row's true expected profit.
 * In cool-down mode a cooled customer's slots are also those same days counted from their
 * cool-down day (cool[i] > 0; cool NULL: none), where the targeted rows send them.
 * Only the customers the offer moves up are evaluated: in the simulator's model the effect's
 * sign is the customer's (effect size e_i; the discount, fatigue and send-time factors are
 * positive), and a customer it does not raise costs a discount or a contact, never earns. The
 * winning offers go into oracle[], their profits into best[] (NaN: not taken). */
static int oracle_policy(const promo_world *w,
                         const promo_compare_params *p,
                         const promo_offer *fixed,
                         const int8_t *true_hour,
                         const int32_t *cool,
                         int send_time,
                         const double *discounts,
                         size_t n_discounts,
                         double *disc_out,
                         promo_offer *oracle,
                         double *best)
{
    uint32_t nc = promo_world_n_customers(w), m = 0;
    size_t sz = nc ? nc : 1;
    uint32_t *idx = promo_mallocn(sz, sizeof *idx), *at = promo_mallocn(sz, sizeof *at);
    promo_offer *o = promo_mallocn(sz, sizeof *o), *cand = promo_mallocn(sz, sizeof *cand);
    double *v = promo_mallocn(sz, sizeof *v), *cur = promo_mallocn(sz, sizeof *cur);
    int rc = PROMO_ENOMEM;
    if (!idx || !at || !o || !cand || !v || !cur)
        goto done;
    double dmax = 0;
    for (size_t g = 0; g < n_discounts; g++)
        dmax = discounts[g] > dmax ? discounts[g] : dmax;
    int any_cool = 0;
    for (uint32_t i = 0; i < nc; i++) {
        oracle[i] = fixed[i];
        best[i] = NAN;
        if (dmax > 0 && promo_world_true_uplift(w, i, fixed[i].product, dmax, 0, 10) > 0) {
            idx[m++] = i;
            any_cool |= cool && cool[i] > 0;
        }
    }
    *disc_out = discounts[0];
    double best_total = -INFINITY;
    for (size_t g = 0; g < n_discounts; g++) {
        double d = discounts[g];
        if (g && d == discounts[0])
            continue;
        for (uint32_t j = 0; j < m; j++)
            cur[j] = -INFINITY;
        int ndays = send_time ? 7 : 1;
        /* week 0: the days from day 0, for everyone; week 1: the same from the cool-down day,
         * for the cooled only (at[] maps an offer to its customer's place in idx[]) */
        for (int week = 0; week < 1 + any_cool; week++) {
            for (int day = 0; day < ndays; day++) {
                uint32_t k = 0;
                for (uint32_t j = 0; j < m; j++) {
                    uint32_t i = idx[j];
                    int32_t from = week ? cool[i] : 0;
                    if (week && from <= 0)
                        continue;
                    o[k] = fixed[i];
                    o[k].discount_pct = d;
                    o[k].send_day = from + day < 3650 ? from + day : 3650;
                    if (send_time)
                        o[k].send_hour = true_hour[i] >= 0 ? true_hour[i] : fixed[i].send_hour;
                    at[k++] = j;
                }
                if ((rc = promo_simulate_expected(w, o, k, &p->sim, v, NULL)))
                    goto done;
                for (uint32_t q = 0; q < k; q++)
                    if (v[q] > cur[at[q]]) {
                        cur[at[q]] = v[q];
                        cand[at[q]] = o[q];
                    }
            }
        }
        double total = 0;
        for (uint32_t j = 0; j < m; j++)
            total += cur[j] > 0 ? cur[j] : 0;
        if (total > best_total) {
            best_total = total;
            *disc_out = d;
            for (uint32_t j = 0; j < m; j++) {
                oracle[idx[j]] = cand[j];
                best[idx[j]] = cur[j] > 0 ? cur[j] : NAN;
            }
        }
    }
    rc = PROMO_OK;
done:
    promo_free(idx);
    promo_free(at);
    promo_free(o);
    promo_free(cand);
    promo_free(v);
    promo_free(cur);
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

/* The uplift model's effect of the asked offer (the best arm's) into effect[], per world
 * customer, from the forecaster's scorer. */
static int uplift_effects(promo_uplift_scorer *h,
                          const promo_world *w,
                          const promo_compare_params *p,
                          double *effect)
{
    char target[300];
    snprintf(target, sizeof target, "product:%.280s", p->product_id);
    uint32_t nc = promo_world_n_customers(w);
    promo_uplift_offer o = {.target = target, .discount_pct = p->discount_pct};
    promo_uplift_scores *sc = NULL;
    int rc = promo_uplift_scorer_score(h, &o, &sc);
    if (rc)
        return rc;
    int na = sc->n_arms;
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
    promo_uplift_scores_free(sc);
    return PROMO_OK;
}

/* The optimized row is what promo campaign --optimize sends: the forecaster's optimum of the
 * discount x count surface over the customers the fatigue rule keeps (skip[], by world
 * customer), and its top customers by expected profit at that discount, those of positive
 * profit (the campaign engine's positive_only). rank[] (by world customer) gets a key that
 * orders the selected as the forecaster ranks them, NaN elsewhere; *n_opt their number. */
static int forecast_optimum(promo_forecaster *f,
                            const promo_world *w,
                            const promo_compare_params *p,
                            const uint8_t *skip,
                            double *rank,
                            double *discount,
                            size_t *n_opt,
                            double *model_profit)
{
    promo_surface *sf = NULL;
    promo_forecast *fc = NULL;
    uint32_t nw = promo_world_n_customers(w);
    size_t nc = promo_forecaster_n_customers(f);
    uint8_t *ex = promo_calloc(nc ? nc : 1, 1);
    int rc = PROMO_ENOMEM;
    if (!ex)
        goto done;
    for (size_t i = 0; skip && i < nc; i++) {
        uint32_t wi = promo_world_customer_index(w, promo_forecaster_customer_id(f, i));
        ex[i] = wi != PROMO_SYNTH_NONE && wi < nw && skip[wi];
    }
    promo_surface_params sp = promo_surface_params_default();
    sp.product_id = p->product_id;
    sp.exclude = ex;
    if ((rc = promo_forecast_surface(f, &sp, &sf)))
        goto done;
    *discount = sf->optimum.discount_pct;
    *model_profit = sf->optimum.figures.incremental_profit;
    promo_forecast_request r = promo_forecast_request_default();
    r.product_id = p->product_id;
    r.discount_pct = *discount;
    r.n_target = 0;
    r.rank_by = PROMO_FORECAST_RANK_PROFIT;
    if ((rc = promo_forecast_point(f, &r, &fc)))
        goto done;
    size_t taken = 0;
    for (size_t j = 0; j < fc->n && taken < sf->optimum.target; j++) {
        const promo_forecast_pick *k = &fc->picks[j];
        uint32_t wi = promo_world_customer_index(w, k->customer_id);
        if (ex[k->customer] || !(k->expected_profit > 0) || wi == PROMO_SYNTH_NONE || wi >= nw)
            continue;
        rank[wi] = (double)(fc->n - j);
        taken++;
    }
    *n_opt = taken;
done:
    promo_forecast_free(fc);
    promo_surface_free(sf);
    promo_free(ex);
    return rc;
}

/* The optimized row's offers as a campaign file (promo/compare.h's optimized_path): the
 * columns promo simulate reads, as promo_campaign_columns defines them. */
static int write_offers(const char *path, const promo_world *w, const promo_offer *o, size_t n)
{
    static const int cols[] = {PROMO_CAMPAIGN_CUSTOMER_ID,  PROMO_CAMPAIGN_PRODUCT_ID,
                               PROMO_CAMPAIGN_DISCOUNT_PCT, PROMO_CAMPAIGN_SEND_DAY,
                               PROMO_CAMPAIGN_SEND_HOUR,    PROMO_CAMPAIGN_BUNDLE_PRODUCT_ID};
    int bundled = n && o[0].bundle_product != PROMO_SYNTH_NONE; /* the same on every offer */
    size_t n_cols = bundled ? 6 : 5;
    promo_table *t = promo_table_new("campaign");
    promo_column *col[6];
    int rc = PROMO_ENOMEM;
    if (!t)
        return rc;
    for (size_t k = 0; k < n_cols; k++)
        if ((rc = promo_table_add_column(t, promo_campaign_columns[cols[k]].name,
                                         promo_campaign_columns[cols[k]].type, &col[k])))
            goto done;
    for (size_t j = 0; j < n; j++) {
        const char *c = promo_world_customer_id(w, o[j].customer);
        const char *x = promo_world_product_id(w, o[j].product);
        if ((rc = promo_column_push_str(col[0], c, strlen(c))) ||
            (rc = promo_column_push_str(col[1], x, strlen(x))) ||
            (rc = promo_column_push_f64(col[2], o[j].discount_pct)) ||
            (rc = promo_column_push_i64(col[3], o[j].send_day)) ||
            (rc = promo_column_push_i64(col[4], o[j].send_hour)))
            goto done;
        if (bundled) {
            const char *b = promo_world_product_id(w, o[j].bundle_product);
            if ((rc = promo_column_push_str(col[5], b, strlen(b))))
                goto done;
        }
    }
    if (!(rc = promo_table_seal(t)))
        rc = promo_csv_write(path, t);
done:
    promo_table_free(t);
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
    promo_campaign_targeting tg = p->targeting ? *p->targeting : promo_campaign_targeting_default();
    tg.clv_weight = 0; /* the strategies rank by their own scores */
    promo_world *w = NULL;
    promo_features *f = NULL;
    promo_forecaster *fcr = NULL;
    promo_offer *all = NULL, *fixed = NULL, *sel = NULL, *orc = NULL;
    double *score = NULL, *up_effect = NULL, *opt_rank = NULL, *orc_profit = NULL;
    uint8_t *skip = NULL, *hour = NULL;
    int32_t *day = NULL, *cool = NULL;
    int8_t *true_hour = NULL;
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
    out->send_time_best = tg.send_time_best;
    out->fatigue_mode = tg.fatigue.mode;
    size_t m = nc ? nc : 1;
    all = promo_mallocn(m, sizeof *all);
    fixed = promo_mallocn(m, sizeof *fixed);
    orc = promo_mallocn(m, sizeof *orc);
    score = promo_mallocn(m, sizeof *score);
    orc_profit = promo_mallocn(m, sizeof *orc_profit);
    skip = promo_calloc(m, 1);
    hour = promo_mallocn(m, sizeof *hour);
    day = promo_mallocn(m, sizeof *day);
    cool = promo_calloc(m, sizeof *cool);
    true_hour = promo_mallocn(m, sizeof *true_hour);
    up_effect = promo_mallocn(m, sizeof *up_effect);
    opt_rank = promo_mallocn(m, sizeof *opt_rank);
    if (!all || !fixed || !orc || !score || !orc_profit || !skip || !hour || !day || !cool ||
        !true_hour || !up_effect || !opt_rank) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    /* The untargeted baselines (broadcast, random) send everyone on day 0 at 10:00; the
     * targeted strategies (rfm, propensity, uplift, optimized) each customer at the campaign
     * engine's slot, without the customers its fatigue rule suppresses (their places go to the
     * next of each ranking), as promo campaign sends them. */
    for (uint32_t i = 0; i < nc; i++) {
        fixed[i] = (promo_offer){.customer = i,
                                 .product = x,
                                 .discount_pct = p->discount_pct,
                                 .send_day = 0,
                                 .send_hour = 10,
                                 .bundle_product = PROMO_SYNTH_NONE};
        day[i] = 0;
        hour[i] = 10;
    }
    int64_t as_of = 0;
    if ((rc = history_features(s, p->n_threads, &f, &as_of)))
        goto done;
    if (tg.bundle) { /* every strategy's offer comes with it, as promo campaign --bundle's */
        out->has_bundle = 1;
        if ((rc = promo_campaign_bundle_choose(s, p->product_id, tg.bundle, as_of, &out->bundle)))
            goto done;
        uint32_t b = out->bundle.product_id[0]
                         ? promo_world_product_index(w, out->bundle.product_id)
                         : PROMO_SYNTH_NONE;
        for (uint32_t i = 0; i < nc; i++)
            fixed[i].bundle_product = b;
    }
    if ((tg.send_time_best || tg.fatigue.mode != PROMO_FATIGUE_OFF) &&
        (rc = targeted_slots(f, w, &tg, as_of, day, hour, skip, cool, &out->n_fatigued,
                             &out->n_contacted, &out->n_cooled)))
        goto done;
    for (uint32_t i = 0; i < nc; i++) {
        all[i] = fixed[i];
        all[i].send_day = day[i];
        all[i].send_hour = hour[i];
    }
    if (tg.send_time_best && (rc = true_best_hours(s, w, true_hour)))
        goto done;

    /* The uplift model's effect (the uplift row) and the forecaster's optimum (the optimized
     * row; opt_rank holds its ranking). */
    for (uint32_t i = 0; i < nc; i++)
        up_effect[i] = opt_rank[i] = NAN;
    int up_ok = 0;
    double opt_discount = p->discount_pct, opt_sum = NAN;
    char up_note[256] = "";
    size_t n_opt = 0;
    /* one forecaster (one load of the model and the features) for both rows */
    rc = promo_forecaster_open(s, 0, p->n_threads, &fcr);
    if (rc == PROMO_ENOTFOUND) {
        snprintf(up_note, sizeof up_note, "no uplift model: promo train --model uplift");
        rc = PROMO_OK;
    } else if (rc || (rc = uplift_effects(promo_forecaster_scorer(fcr), w, p, up_effect)) ||
               (rc = forecast_optimum(fcr, w, p, tg.fatigue.mode != PROMO_FATIGUE_OFF ? skip : NULL,
                                      opt_rank, &opt_discount, &n_opt, &opt_sum))) {
        goto done;
    } else {
        up_ok = 1;
    }
    out->optimized_discount_pct = opt_discount;
    out->optimized_model_profit = up_ok ? opt_sum : NAN;
    double orc_discount = p->discount_pct;
    const double orc_discounts[2] = {p->discount_pct, opt_discount};
    if ((rc = oracle_policy(w, p, fixed, true_hour, cool, tg.send_time_best, orc_discounts,
                            up_ok ? 2 : 1, &orc_discount, orc, orc_profit)))
        goto done;
    out->oracle_discount_pct = orc_discount;

    for (int k = 0; k < PROMO_STRATEGY_COUNT && !rc; k++) {
        promo_compare_row *row = &out->rows[k];
        size_t want = n;
        double disc = p->discount_pct;
        const promo_offer *src = all;
        const uint8_t *sk = skip;
        row->available = 1;
        row->targeted = 1;
        for (uint32_t i = 0; i < nc; i++)
            score[i] = NAN;
        switch ((promo_strategy)k) {
        case PROMO_STRATEGY_BROADCAST:
            for (uint32_t i = 0; i < nc; i++)
                score[i] = 0;
            want = nc;
            src = fixed;
            sk = NULL;
            row->targeted = 0;
            snprintf(row->note, sizeof row->note, "every customer");
            break;
        case PROMO_STRATEGY_RANDOM: {
            promo_rng r;
            promo_rng_init(&r, p->seed, 0x72616e64u);
            for (uint32_t i = 0; i < nc; i++)
                score[i] = promo_rng_uniform(&r);
            src = fixed;
            sk = NULL;
            row->targeted = 0;
            snprintf(row->note, sizeof row->note, "%zu at random (seed %llu)", n,
                     (unsigned long long)p->seed);
            break;
        }
        case PROMO_STRATEGY_RFM:
            rc = rfm_scores(f, w, score);
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
            memcpy(score, opt_rank, nc * sizeof *score);
            want = n_opt;
            disc = opt_discount;
            if (up_ok)
                snprintf(row->note, sizeof row->note,
                         "promo campaign --optimize: the forecast's optimum, %zu customers at "
                         "%.0f%%",
                         n_opt, opt_discount);
            else
                snprintf(row->note, sizeof row->note, "%s", up_note);
            break;
        case PROMO_STRATEGY_ORACLE:
            memcpy(score, orc_profit, nc * sizeof *score);
            want = nc;
            disc = orc_discount;
            src = orc;
            sk = NULL; /* it knows each customer's true fatigue: no rule needed */
            snprintf(row->note, sizeof row->note,
                     "every customer with a positive true expected profit, %s, at the "
                     "strategies' discount of the largest true total: %.0f%%",
                     tg.send_time_best ? "each at their true best day of the week and hour"
                                       : "day 0 at 10:00",
                     orc_discount);
            break;
        default:
            break;
        }
        if (rc || !row->available)
            continue;
        promo_free(sel);
        sel = NULL;
        if ((rc = select_top(score, nc, want, sk, src, &sel, &row->contacts, &row->suppressed)))
            break;
        for (size_t j = 0; j < row->contacts; j++) {
            sel[j].discount_pct = disc;
            row->cooled += src == all && cool[sel[j].customer] > 0;
        }
        row->discount_pct = disc;
        if (k == PROMO_STRATEGY_OPTIMIZED && p->optimized_path &&
            (rc = write_offers(p->optimized_path, w, sel, row->contacts)))
            break;
        if ((rc = promo_simulate(w, sel, row->contacts, &p->sim, &row->sim)))
            break;
        if (row->contacts) {
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
    promo_free(fixed);
    promo_free(orc);
    promo_free(score);
    promo_free(orc_profit);
    promo_free(skip);
    promo_free(hour);
    promo_free(day);
    promo_free(cool);
    promo_free(true_hour);
    promo_free(up_effect);
    promo_free(opt_rank);
    promo_features_free(f);
    promo_forecaster_free(fcr);
    promo_world_free(w);
    return rc;
}
