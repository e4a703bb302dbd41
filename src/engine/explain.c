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

/* An amount of money with the workspace's currency: "£1,234", "LKR 12,345", "1,234" when the
 * currency is unknown; whole units, thousands separated. */
static void money(const promo_prop_explanation *e, double v, char *out, size_t n)
{
    char digits[48], grouped[64];
    /* Pence matter below 100 (a price of 2.95); whole units above. */
    int cents = fabs(v) < 100 && fabs(v - round(v)) > 0.005;
    snprintf(digits, sizeof digits, "%.0f", cents ? floor(fabs(v)) : fabs(v));
    size_t len = strlen(digits), k = 0;
    for (size_t i = 0; i < len && k + 2 < sizeof grouped; i++) {
        if (i && (len - i) % 3 == 0)
            grouped[k++] = ',';
        grouped[k++] = digits[i];
    }
    if (cents)
        k += (size_t)snprintf(grouped + k, sizeof grouped - k, ".%02.0f",
                              fmin(99, round(100 * (fabs(v) - floor(fabs(v))))));
    grouped[k] = 0;
    const char *sign = v < 0 ? "-" : "";
    if (!strcmp(e->currency, "GBP"))
        put(out, n, "%s\xc2\xa3%s", sign, grouped);
    else if (!strcmp(e->currency, "EUR"))
        put(out, n, "%s\xe2\x82\xac%s", sign, grouped);
    else if (!strcmp(e->currency, "USD"))
        put(out, n, "%s$%s", sign, grouped);
    else if (e->currency[0])
        put(out, n, "%s%s %s", sign, e->currency, grouped);
    else
        put(out, n, "%s%s", sign, grouped);
}

/* A count with thousands separators ("156,000"). */
static void count(double v, char *out, size_t n)
{
    char m[24];
    money(&(promo_prop_explanation){0}, v, m, sizeof m);
    put(out, n, "%s", m);
}

/* "N day(s)" with months or years for long spans. */
static void span(double d, char *out, size_t n)
{
    if (d < 1.5)
        put(out, n, "%s", d < 0.5 ? "less than a day" : "1 day");
    else if (d < 60)
        put(out, n, "%.0f days", d);
    else if (d < 730)
        put(out, n, "%.0f months", d / 30.44);
    else
        put(out, n, "%.1f years", d / 365.25);
}

/* A rate of purchases as words: "about 2.5 times every 90 days", "about once every 4
 * months", "less than once a year". v: purchases per `per` days. */
static void rate_words(double v, double per, char *out, size_t n)
{
    if (!(v > 0)) {
        put(out, n, "not at all");
        return;
    }
    if (v >= 0.95) {
        put(out, n, "about %.1f times every %s", v, per == 30 ? "month" : "90 days");
        return;
    }
    double every = per / v; /* days between purchases */
    char sp[32];
    if (every > 365.25) {
        put(out, n, "less than once a year");
        return;
    }
    span(every, sp, sizeof sp);
    put(out, n, "about once every %s", sp);
}

/* The sentence for a group (key) whose representative feature is f with value v; *used is
 * left alone or names the member the sentence quotes. Every feature a propensity model can use
 * has its own sentence, in the customer's units (days, orders, the workspace's currency,
 * percentages): tests/test_propensity.c walks every name. */
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
    char what[300], m1[64], m2[64], sp[32];
    int fin = isfinite(v);
    if (!strcmp(key, "shopping_time")) {
        float bd = value_of(e, "best_dow"), bh = value_of(e, "best_hour");
        if (isfinite(bd) && isfinite(bh) && bd >= 0 && bd < 7 && bh >= 0 && bh < 24)
            put(out, n, "usually shops on %s %s", days[(int)bd], part_of_day((int)bh));
        else
            put(out, n, "has no usual shopping day yet");
    } else if (!strcmp(key, "item_orders")) {
        window_sentence(e, "item_orders_", item, out, n, used, n_used);
    } else if (!strcmp(key, "cat_orders")) {
        put(what, sizeof what, "from %s", cat);
        window_sentence(e, "cat_orders_", what, out, n, used, n_used);
    } else if (!strcmp(key, "orders_recent")) {
        float o30 = value_of(e, "orders_30d"), o90 = value_of(e, "orders_90d");
        put(out, n, "placed %.0f order%s in the last 30 days and %.0f in the last 90",
            isfinite(o30) ? o30 : 0.0, isfinite(o30) && o30 == 1 ? "" : "s",
            isfinite(o90) ? o90 : 0.0);
    } else if (!strcmp(key, "spend_recent")) {
        float s30 = value_of(e, "spend_30d"), s90 = value_of(e, "spend_90d");
        money(e, isfinite(s30) ? s30 : 0, m1, sizeof m1);
        money(e, isfinite(s90) ? s90 : 0, m2, sizeof m2);
        put(out, n, "spent %s in the last 30 days and %s in the last 90", m1, m2);
    } else if (!strcmp(key, "contacts")) {
        float c90 = value_of(e, "contacts_90d");
        put(out, n, "was sent %.0f offer%s in the last 90 days", isfinite(c90) ? c90 : 0.0,
            isfinite(c90) && c90 == 1 ? "" : "s");
    } else if (!strcmp(f, "item_orders_all")) {
        if (fin && v > 0)
            put(out, n, "has bought %s %.0f time%s in all", item, v, v == 1 ? "" : "s");
        else
            put(out, n, "has never bought %s", item);
    } else if (!strcmp(f, "cat_orders_all")) {
        if (fin && v > 0)
            put(out, n, "has bought from %s %.0f time%s in all", cat, v, v == 1 ? "" : "s");
        else
            put(out, n, "has never bought from %s", cat);
    } else if (!strcmp(f, "item_days_since") || !strcmp(f, "cat_days_since")) {
        int it = f[0] == 'i';
        if (fin) {
            span(v, sp, sizeof sp);
            put(out, n, "last bought %s%s %s ago", it ? "" : "from ", it ? item : cat, sp);
        } else {
            put(out, n, "has never bought %s%s", it ? "" : "from ", it ? item : cat);
        }
    } else if (!strcmp(f, "item_order_share")) {
        put(out, n, "%s is in %.0f%% of their orders", item, fin ? 100.0 * v : 0.0);
    } else if (!strcmp(f, "cat_share")) {
        put(out, n, "%.0f%% of their spend goes to %s", fin ? 100.0 * v : 0.0, cat);
    } else if (!strncmp(f, "cat_share_", 10)) {
        char nm[64];
        put(nm, sizeof nm, "%s", f + 10);
        for (char *q = nm; *q; q++)
            if (*q == '_')
                *q = ' ';
        put(out, n, "%.0f%% of their spend goes to %s", fin ? 100.0 * v : 0.0, nm);
    } else if (!strcmp(f, "item_affinity")) {
        if (fin && v > 0)
            /* The feature is the largest share over the products they bought, so "a product"
             * (one of them), not "the orders holding a product" (all of them together). */
            put(out, n, "a product they bought this year is bought with %s in %.0f%% of its orders",
                item, 100.0 * v);
        else
            put(out, n, "nothing they bought this year is usually bought with %s", item);
    } else if (!strcmp(f, "item_pop_30d") || !strcmp(f, "item_pop_90d")) {
        count(fin ? v : 0, m1, sizeof m1);
        put(out, n, "%s was in %s order%s of all customers in the last %s days", item, m1,
            fin && v == 1 ? "" : "s", f[9] == '3' ? "30" : "90");
    } else if (!strcmp(f, "cat_pop_30d") || !strcmp(f, "cat_pop_90d")) {
        count(fin ? v : 0, m1, sizeof m1);
        put(out, n, "%s was in %s order%s of all customers in the last %s days", cat, m1,
            fin && v == 1 ? "" : "s", f[8] == '3' ? "30" : "90");
    } else if (!strcmp(f, "item_share_in_cat")) {
        put(out, n, "%s is %.0f%% of the recent orders of %s", item, fin ? 100.0 * v : 0.0, cat);
    } else if (!strcmp(f, "item_expected_90d") || !strcmp(f, "item_expected_all")) {
        int recent = f[14] == '9';
        char r[96];
        /* item_expected_all is per day of tenure: per 30 days here. */
        rate_words(fin ? (recent ? v : 30.0 * v) : 0.0, recent ? 90 : 30, r, sizeof r);
        put(out, n, "their %s shopping suggests buying %s %s", recent ? "recent" : "long-run", item,
            r);
    } else if (!strcmp(f, "item_buyers")) {
        count(fin ? v : 0, m1, sizeof m1);
        if (fin && v > 0)
            put(out, n, "%s customer%s had bought %s before", m1, v == 1 ? "" : "s", item);
        else
            put(out, n, "no customer had bought %s before", item);
    } else if (!strcmp(f, "item_repeat_rate")) {
        if (fin)
            put(out, n, "%.0f%% of the customers who bought %s bought it again", 100.0 * v, item);
        else
            put(out, n, "%s has no repeat buyers on record yet", item);
    } else if (!strcmp(f, "item_price")) {
        money(e, fin ? v : 0, m1, sizeof m1);
        if (fin)
            put(out, n, "%s costs %s", item, m1);
        else
            put(out, n, "%s has no price on record", item);
    } else if (!strcmp(f, "item_avg_discount")) {
        if (fin && v > 0.005)
            put(out, n, "%s usually sells at %.0f%% off", item, 100.0 * v);
        else
            put(out, n, "%s usually sells at full price", item);
    } else if (!strcmp(f, "recency_days")) {
        if (!fin)
            put(out, n, "has not shopped yet");
        else if (v < 1.5)
            put(out, n, "last shopped %s", v < 0.5 ? "today" : "yesterday");
        else {
            span(v, sp, sizeof sp);
            put(out, n, "last shopped %s ago", sp);
        }
    } else if (!strcmp(f, "frequency")) {
        put(out, n, "has placed %.0f order%s", fin ? v : 0.0, fin && v == 1 ? "" : "s");
    } else if (!strcmp(f, "monetary")) {
        money(e, fin ? v : 0, m1, sizeof m1);
        put(out, n, "has spent %s in all", m1);
    } else if (!strcmp(f, "r_score") || !strcmp(f, "f_score") || !strcmp(f, "m_score")) {
        const char *what_s = f[0] == 'r'   ? "how recently they shopped"
                             : f[0] == 'f' ? "how often they shop"
                                           : "how much they spend";
        put(out, n, "scores %.0f of 5 on %s (5 is the top fifth of customers)", fin ? v : 0.0,
            what_s);
    } else if (!strcmp(f, "rfm_score")) {
        put(out, n, "RFM score %.0f of 15 (recency, frequency and spend, 1 to 5 each)",
            fin ? v : 0.0);
    } else if (!strcmp(f, "tenure_days")) {
        span(fin ? v : 0, sp, sizeof sp);
        put(out, n, "has been a customer for %s", sp);
    } else if (!strcmp(f, "avg_order_value")) {
        money(e, fin ? v : 0, m1, sizeof m1);
        put(out, n, "spends %s per order on average", m1);
    } else if (!strcmp(f, "ipg_mean_days")) {
        if (fin) {
            span(v, sp, sizeof sp);
            put(out, n, "shops every %s on average", sp);
        } else {
            put(out, n, "has shopped only once, so no usual gap between orders yet");
        }
    } else if (!strcmp(f, "ipg_sd_days")) {
        if (fin) {
            span(v, sp, sizeof sp);
            put(out, n, "the gap between their orders varies by about %s", sp);
        } else {
            put(out, n, "too few orders to tell how regular they are");
        }
    } else if (!strcmp(f, "basket_items")) {
        put(out, n, "buys %.1f items per order on average", fin ? v : 0.0);
    } else if (!strcmp(f, "basket_lines")) {
        put(out, n, "buys %.1f different products per order on average", fin ? v : 0.0);
    } else if (!strcmp(f, "n_products")) {
        put(out, n, "has bought %.0f different product%s", fin ? v : 0.0, fin && v == 1 ? "" : "s");
    } else if (!strcmp(f, "n_categories")) {
        put(out, n, "shops in %.0f categor%s", fin ? v : 0.0, fin && v == 1 ? "y" : "ies");
    } else if (!strcmp(f, "n_stores")) {
        put(out, n, "has shopped in %.0f store%s", fin ? v : 0.0, fin && v == 1 ? "" : "s");
    } else if (!strcmp(f, "online_share")) {
        put(out, n, "%.0f%% of their orders are online", fin ? 100.0 * v : 0.0);
    } else if (!strcmp(f, "promo_spend_share")) {
        put(out, n, "%.0f%% of their spend is on promotion", fin ? 100.0 * v : 0.0);
    } else if (!strcmp(f, "n_exposures")) {
        put(out, n, "was sent %.0f offer%s before", fin ? v : 0.0, fin && v == 1 ? "" : "s");
    } else if (!strcmp(f, "n_conversions")) {
        put(out, n, "redeemed %.0f earlier offer%s", fin ? v : 0.0, fin && v == 1 ? "" : "s");
    } else if (!strcmp(f, "response_rate")) {
        if (fin)
            put(out, n, "responded to %.0f%% of the offers sent to them", 100.0 * v);
        else
            put(out, n, "has not been sent an offer yet");
    } else if (!strcmp(f, "n_control_exposures")) {
        put(out, n, "was held back from %.0f offer%s as a control", fin ? v : 0.0,
            fin && v == 1 ? "" : "s");
    } else if (!strcmp(f, "control_conversions")) {
        put(out, n, "bought %.0f time%s when held back from an offer", fin ? v : 0.0,
            fin && v == 1 ? "" : "s");
    } else if (!strcmp(f, "baseline_rate")) {
        put(out, n, "buys a promoted product without an offer about %.0f%% of the time",
            fin ? 100.0 * v : 0.0);
    } else if (!strcmp(f, "response_lift")) {
        if (!fin || fabsf(v) < 0.005f)
            put(out, n, "buys about as often with an offer as without one");
        else
            put(out, n, "buys %.0f points %s often with an offer than without one", fabs(100.0 * v),
                v > 0 ? "more" : "less");
    } else if (!strcmp(f, "promo_line_share")) {
        put(out, n, "%.0f%% of the products they buy are on promotion", fin ? 100.0 * v : 0.0);
    } else if (!strcmp(f, "discount_depth")) {
        if (fin)
            put(out, n, "their promotional purchases were %.0f%% off on average", 100.0 * v);
        else
            put(out, n, "has not bought on promotion yet");
    } else if (!strcmp(f, "days_since_contact")) {
        if (fin) {
            span(v, sp, sizeof sp);
            put(out, n, "was last sent an offer %s ago", sp);
        } else {
            put(out, n, "has never been sent an offer");
        }
    } else if (!strcmp(f, "response_trend")) {
        if (!fin || fabsf(v) < 1e-6f)
            put(out, n, "responds to offers as often as before");
        else
            put(out, n, "responds to offers %s often than before", v > 0 ? "more" : "less");
    } else if (!strcmp(f, "spend_tier")) {
        static const char *const tiers[4] = {"the lowest quarter", "the second quarter",
                                             "the third quarter", "the top quarter (VIP)"};
        int t = fin && v >= 0 && v < 4 ? (int)v : 0;
        put(out, n, "is in %s of customers by spend", tiers[t]);
    } else if (!strcmp(f, "purchase_days")) {
        put(out, n, "has shopped on %.0f different day%s", fin ? v : 0.0, fin && v == 1 ? "" : "s");
    } else if (!strcmp(f, "p_alive")) {
        put(out, n, "is %.0f%% likely to still be an active customer", fin ? 100.0 * v : 0.0);
    } else if (!strncmp(f, "exp_purchases_", 14)) {
        put(out, n, "is expected to place %.1f orders in the next %d days", fin ? v : 0.0,
            atoi(f + 14));
    } else if (!strcmp(f, "exp_spend_per_order")) {
        money(e, fin ? v : 0, m1, sizeof m1);
        put(out, n, "is expected to spend %s per order", m1);
    } else if (!strncmp(f, "clv_", 4)) {
        money(e, fin ? v : 0, m1, sizeof m1);
        put(out, n, "is expected to spend %s over the next year", m1);
    } else {
        /* A feature this promo does not know (a newer model file): its name, not a number
         * presented as if it meant something. */
        put(out, n, "their %s", f);
    }
}

/* Features of the item alone (its popularity, price, buyers): the same value for every
 * customer of one product, so no reason why this customer rather than another. */
static int item_only(const char *f)
{
    static const char *const names[] = {"item_pop_30d",     "item_pop_90d", "item_buyers",
                                        "item_repeat_rate", "item_price",   "item_avg_discount",
                                        "cat_pop_30d",      "cat_pop_90d",  "item_share_in_cat"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(f, names[i]))
            return 1;
    return 0;
}

/* The up-to-max strongest groups of one sign (sign > 0: raising, < 0: lowering); personal:
 * leave out the item-only features. */
static int reasons_signed(const promo_prop_explanation *e,
                          int sign,
                          int personal,
                          size_t max,
                          promo_reason *out,
                          size_t *n_out)
{
    if (!e || !n_out || (max && !out))
        return promo_fail(PROMO_EUSAGE, "explain: NULL argument");
    *n_out = 0;
    size_t nf = e->n_features;
    /* Groups: key, summed contribution, strongest member (in the direction asked). */
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
        if (personal && item_only(e->feature_names[j]))
            continue;
        group_of(e->feature_names[j], key, sizeof key);
        size_t k = 0;
        while (k < ng && strcmp(g[k].key, key) != 0)
            k++;
        if (k == ng) {
            snprintf(g[k].key, sizeof g[k].key, "%s", key);
            g[k].best = j;
            ng++;
        }
        g[k].sum += sign * e->contribs[j];
        if (sign * e->contribs[j] > sign * e->contribs[g[k].best])
            g[k].best = j;
    }
    /* Strongest groups first (ties: feature order, for stable output). */
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
        out[m].contribution = sign * g[pick].sum;
        g[pick].sum = -INFINITY;
        m++;
    }
    promo_free(g);
    *n_out = m;
    return PROMO_OK;
}

int promo_explain_reasons(const promo_prop_explanation *e,
                          size_t max,
                          promo_reason *out,
                          size_t *n_out)
{
    return reasons_signed(e, 1, 0, max, out, n_out);
}

int promo_explain_lowering(const promo_prop_explanation *e,
                           size_t max,
                           promo_reason *out,
                           size_t *n_out)
{
    return reasons_signed(e, -1, 0, max, out, n_out);
}

void promo_explain_sentence(
    const promo_prop_explanation *e, const char *feature, float value, char *out, size_t n)
{
    char key[64], used[64];
    group_of(feature, key, sizeof key);
    snprintf(used, sizeof used, "%s", feature);
    sentence(e, key, feature, value, out, n, used, sizeof used);
}

void promo_explain_line(const promo_prop_explanation *e, char *buf, size_t n)
{
    /* Personal reasons: a campaign's rows all share the product, so its popularity or price
     * says nothing about why this customer was chosen. */
    promo_reason r[2];
    size_t k = 0;
    if (reasons_signed(e, 1, 1, 2, r, &k) || k == 0) {
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
