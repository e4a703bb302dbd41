/* src/engine/explain.c: TreeSHAP contributions -> sentences, and top-K customers with reasons.
 *
 * Each feature name maps to a template filled with the customer's own value. Related columns
 * are grouped so one habit gives one sentence: the day-of-week and hour-of-day profile columns
 * (and best_dow/best_hour/best_slot) become "usually shops on Saturday mornings" with the
 * customer's best day and hour; the 30/90/365-day windows of the same count become the
 * strongest window's sentence. A group's contribution is the sum of its members'.
 *
 * The top customers go through the scoring handle (scorer.c): one panel, one cut, one model
 * for the scoring pass and the explanations.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/explain.h>
#include <promo/scorer.h>

/* snprintf that may truncate: reasons are display text, a cut sentence is acceptable. */
static void put(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

/* Group key of a feature: contributions of features with the same key are summed. */
static void group_of(const char *f, char *key, size_t n)
{
    if (!strncmp(f, "dow_", 4) || !strncmp(f, "hour_", 5) || !strncmp(f, "best_", 5))
        snprintf(key, n, "shopping_time");
    else if (!strncmp(f, "item_orders_", 12) && strcmp(f, "item_orders_all") != 0)
        snprintf(key, n, "item_orders");
    else if (!strncmp(f, "cat_orders_", 11) && strcmp(f, "cat_orders_all") != 0)
        snprintf(key, n, "cat_orders");
    else if (!strncmp(f, "contacts_", 9))
        snprintf(key, n, "contacts");
    else if (!strcmp(f, "orders_30d") || !strcmp(f, "orders_90d"))
        snprintf(key, n, "orders_recent");
    else if (!strcmp(f, "spend_30d") || !strcmp(f, "spend_90d"))
        snprintf(key, n, "spend_recent");
    else
        snprintf(key, n, "%s", f);
}

static float value_of(const promo_prop_explanation *e, const char *name)
{
    for (size_t j = 0; j < e->n_features; j++)
        if (!strcmp(e->feature_names[j], name))
            return e->values[j];
    return NAN;
}

static const char *const days[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                    "Friday", "Saturday", "Sunday"};

static const char *part_of_day(int h)
{
    return h < 5 ? "nights" : h < 12 ? "mornings" : h < 17 ? "afternoons" : "evenings";
}

/* A count sentence from the shortest of the 30/90/365-day windows with a purchase: the most
 * recent habit is the most telling one. *used names the window's feature, so the reason's
 * feature column matches its sentence. */
static void window_sentence(const promo_prop_explanation *e,
                            const char *prefix,
                            const char *what,
                            char *out,
                            size_t n,
                            char *used,
                            size_t n_used)
{
    static const int win[3] = {30, 90, 365};
    for (int k = 0; k < 3; k++) {
        char nm[64];
        snprintf(nm, sizeof nm, "%s%dd", prefix, win[k]);
        float v = value_of(e, nm);
        if (isfinite(v) && v > 0) {
            snprintf(used, n_used, "%s", nm);
            if (v == 1.0f)
                put(out, n, "bought %s once in the last %d days", what, win[k]);
            else
                put(out, n, "bought %s %.0f times in the last %d days", what, v, win[k]);
            return;
        }
    }
    put(out, n, "has not bought %s in the last year", what);
}

/* The sentence for a group (key) whose representative feature is f with value v; *used is
 * left alone or names the member the sentence quotes. */
static void sentence(const promo_prop_explanation *e,
                     const char *key,
                     const char *f,
                     float v,
                     char *out,
                     size_t n,
                     char *used,
                     size_t n_used)
{
    const char *item = e->target_name[0] ? e->target_name : "anything";
    const char *cat = e->category_name[0]                   ? e->category_name
                      : !strncmp(e->target, "category:", 9) ? e->target_name
                                                            : "this category";
    char what[300];
    if (!strcmp(key, "shopping_time")) {
        float bd = value_of(e, "best_dow"), bh = value_of(e, "best_hour");
        if (isfinite(bd) && isfinite(bh) && bd >= 0 && bd < 7 && bh >= 0 && bh < 24)
            put(out, n, "usually shops on %s %s", days[(int)bd], part_of_day((int)bh));
        else
            put(out, n, "shops at the usual times for this offer");
    } else if (!strcmp(key, "item_orders")) {
        window_sentence(e, "item_orders_", item, out, n, used, n_used);
    } else if (!strcmp(key, "cat_orders")) {
        put(what, sizeof what, "from %s", cat);
        window_sentence(e, "cat_orders_", what, out, n, used, n_used);
    } else if (!isfinite(v)) {
        put(out, n, "no %s on record", f);
    } else if (!strcmp(f, "item_orders_all")) {
        put(out, n, "has bought %s %.0f times in all", item, v);
    } else if (!strcmp(f, "cat_orders_all")) {
        put(out, n, "has bought from %s %.0f times in all", cat, v);
    } else if (!strcmp(f, "item_days_since")) {
        put(out, n, "last bought %s %.0f days ago", item, v);
    } else if (!strcmp(f, "cat_days_since")) {
        put(out, n, "last bought from %s %.0f days ago", cat, v);
    } else if (!strcmp(f, "item_order_share")) {
        put(out, n, "%s is in %.0f%% of their orders", item, 100.0 * v);
    } else if (!strcmp(f, "cat_share")) {
        put(out, n, "%.0f%% of their spend goes to %s", 100.0 * v, cat);
    } else if (!strncmp(f, "cat_share_", 10)) {
        put(out, n, "%.0f%% of their spend goes to %s", 100.0 * v, f + 10);
    } else if (!strcmp(f, "item_affinity")) {
        put(out, n,
            "buys products often bought together with %s (%.0f%% of their baskets "
            "include it)",
            item, 100.0 * v);
    } else if (!strcmp(f, "item_pop_30d") || !strcmp(f, "item_pop_90d")) {
        put(out, n, "%s is selling well (%.0f orders in the last %s days)", item, v,
            f[9] == '3' ? "30" : "90");
    } else if (!strcmp(f, "item_expected_90d")) {
        put(out, n, "their recent shopping suggests about %.1f purchases of %s per 90 days", v,
            item);
    } else if (!strcmp(f, "item_expected_all")) {
        put(out, n, "their long-run habits suggest about %.1f purchases of %s a month", 30.0 * v,
            item);
    } else if (!strcmp(f, "item_buyers")) {
        put(out, n, "%s is widely bought (%.0f customers)", item, v);
    } else if (!strcmp(f, "item_repeat_rate")) {
        put(out, n, "%.0f%% of %s buyers buy it again", 100.0 * v, item);
    } else if (!strcmp(f, "recency_days")) {
        put(out, n, "shopped %.0f days ago", v);
    } else if (!strcmp(f, "frequency")) {
        put(out, n, "has placed %.0f orders", v);
    } else if (!strcmp(f, "monetary")) {
        put(out, n, "has spent %.0f in all", v);
    } else if (!strcmp(f, "orders_recent") || !strcmp(key, "orders_recent")) {
        float o30 = value_of(e, "orders_30d"), o90 = value_of(e, "orders_90d");
        put(out, n, "%.0f orders in the last 30 days, %.0f in 90", o30, o90);
    } else if (!strcmp(key, "spend_recent")) {
        float s30 = value_of(e, "spend_30d"), s90 = value_of(e, "spend_90d");
        put(out, n, "spent %.0f in the last 30 days, %.0f in 90", s30, s90);
    } else if (!strcmp(f, "ipg_mean_days")) {
        put(out, n, "shops every %.0f days on average", v);
    } else if (!strcmp(f, "tenure_days")) {
        put(out, n, "a customer for %.0f days", v);
    } else if (!strcmp(f, "avg_order_value")) {
        put(out, n, "spends %.0f per order on average", v);
    } else if (!strcmp(f, "rfm_score") || !strcmp(f, "r_score") || !strcmp(f, "f_score") ||
               !strcmp(f, "m_score")) {
        put(out, n, "%s %.0f of 5",
            f[0] == 'r' && f[1] == '_' ? "recency score"
            : f[0] == 'f'              ? "frequency score"
            : f[0] == 'm'              ? "spend score"
                                       : "RFM score",
            v);
    } else if (!strcmp(f, "response_rate")) {
        put(out, n, "responds to %.0f%% of offers", 100.0 * v);
    } else if (!strcmp(f, "n_conversions")) {
        put(out, n, "redeemed %.0f earlier offers", v);
    } else if (!strcmp(f, "promo_spend_share")) {
        put(out, n, "%.0f%% of their spend is on promotion", 100.0 * v);
    } else if (!strcmp(key, "contacts")) {
        put(out, n, "contacted %.0f times in the last 90 days",
            (double)value_of(e, "contacts_90d"));
    } else if (!strcmp(f, "p_alive")) {
        put(out, n, "very likely still an active customer (%.0f%%)", 100.0 * v);
    } else if (!strncmp(f, "exp_purchases_", 14)) {
        put(out, n, "expected to buy %.1f times soon", v);
    } else if (!strncmp(f, "clv_", 4)) {
        put(out, n, "high expected value (%.0f)", v);
    } else if (!strcmp(f, "n_products")) {
        put(out, n, "has bought %.0f different products", v);
    } else if (!strcmp(f, "n_categories")) {
        put(out, n, "shops across %.0f categories", v);
    } else if (!strcmp(f, "basket_items")) {
        put(out, n, "buys %.1f items per basket", v);
    } else {
        put(out, n, "%s = %.3g", f, v);
    }
}

int promo_explain_reasons(const promo_prop_explanation *e,
                          size_t max,
                          promo_reason *out,
                          size_t *n_out)
{
    if (!e || !n_out || (max && !out))
        return promo_fail(PROMO_EUSAGE, "explain: NULL argument");
    *n_out = 0;
    size_t nf = e->n_features;
    /* Groups: key, summed contribution, strongest member. */
    typedef struct grp {
        char key[64];
        double sum;
        size_t best;
    } grp;
    grp *g = promo_calloc(nf ? nf : 1, sizeof *g);
    if (!g)
        return PROMO_ENOMEM;
    size_t ng = 0;
    for (size_t j = 0; j < nf; j++) {
        char key[64];
        group_of(e->feature_names[j], key, sizeof key);
        size_t k = 0;
        while (k < ng && strcmp(g[k].key, key) != 0)
            k++;
        if (k == ng) {
            snprintf(g[k].key, sizeof g[k].key, "%s", key);
            g[k].best = j;
            ng++;
        }
        g[k].sum += e->contribs[j];
        if (e->contribs[j] > e->contribs[g[k].best])
            g[k].best = j;
    }
    /* Strongest positive groups first (ties: feature order, for stable output). */
    size_t m = 0;
    while (m < max) {
        size_t pick = ng;
        for (size_t k = 0; k < ng; k++)
            if (g[k].sum > 1e-6 && (pick == ng || g[k].sum > g[pick].sum))
                pick = k;
        if (pick == ng)
            break;
        const char *f = e->feature_names[g[pick].best];
        snprintf(out[m].feature, sizeof out[m].feature, "%s", f);
        sentence(e, g[pick].key, f, e->values[g[pick].best], out[m].text, sizeof out[m].text,
                 out[m].feature, sizeof out[m].feature);
        out[m].contribution = g[pick].sum;
        g[pick].sum = -INFINITY;
        m++;
    }
    promo_free(g);
    *n_out = m;
    return PROMO_OK;
}

void promo_explain_line(const promo_prop_explanation *e, char *buf, size_t n)
{
    promo_reason r[2];
    size_t k = 0;
    if (promo_explain_reasons(e, 2, r, &k) || k == 0) {
        put(buf, n, "no strong signal");
        return;
    }
    if (k == 1)
        put(buf, n, "%s", r[0].text);
    else
        put(buf, n, "%s; %s", r[0].text, r[1].text);
}

int promo_explain_top_customers(promo_store *s,
                                const char *target,
                                int64_t as_of,
                                size_t k,
                                promo_campaign_pick **out,
                                size_t *n)
{
    *out = NULL;
    *n = 0;
    promo_scorer *h = NULL;
    int rc = promo_scorer_open(s, target, as_of, 0, &h);
    if (!rc)
        rc = promo_scorer_top(h, k, out, n);
    promo_scorer_free(h);
    return rc;
}
