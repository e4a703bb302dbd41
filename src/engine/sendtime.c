/* src/engine/sendtime.c: each customer's best send weekday and hour (promo/sendtime.h).
 *
 * The counts come back from the features' shares (share x frequency = orders on that weekday
 * or hour); the population's profile is the order-weighted sum over customers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/sendtime.h>
#include <promo/timeutil.h>

static const char *const weekday_names[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                             "Friday", "Saturday", "Sunday"};
static const char *const dow_cols[7] = {"dow_mon", "dow_tue", "dow_wed", "dow_thu",
                                        "dow_fri", "dow_sat", "dow_sun"};

promo_sendtime_params promo_sendtime_params_default(void)
{
    promo_sendtime_params p = {.prior_orders = 5, .hour_bandwidth = 1.5};
    return p;
}

const char *promo_weekday_name(int weekday)
{
    return weekday >= 0 && weekday < 7 ? weekday_names[weekday] : "?";
}

/* The same words as explain.c's shopping-time sentence, so reasons read alike. */
static const char *part_of_day(int h)
{
    return h < 5 ? "nights" : h < 12 ? "mornings" : h < 17 ? "afternoons" : "evenings";
}

void promo_sendtime_phrase(const promo_send_slot *s, char *out, size_t n)
{
    if (s->population)
        snprintf(out, n, "has no shopping history: the customers' usual %s %s",
                 promo_weekday_name(s->weekday), part_of_day(s->hour));
    else
        snprintf(out, n, "usually shops on %s %s", promo_weekday_name(s->weekday),
                 part_of_day(s->hour));
}

int promo_sendtime_days_to(int64_t day, int weekday)
{
    int w = promo_time_weekday(promo_time_day(day));
    return ((weekday - w) % 7 + 7) % 7;
}

/* out = counts smoothed by the circular kernel k[0..24) (k[d]: weight at distance d). */
static void smooth_hours(const double *c, const double *k, double *out)
{
    for (int h = 0; h < 24; h++) {
        double s = 0;
        for (int g = 0; g < 24; g++)
            s += c[g] * k[(h - g + 24) % 24];
        out[h] = s;
    }
}

static int argmax(const double *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b])
            b = i;
    return b;
}

int promo_sendtime_compute(const promo_features *f,
                           const promo_sendtime_params *p,
                           promo_send_slot **out,
                           promo_send_slot *population)
{
    *out = NULL;
    if (!(p->prior_orders >= 0) || !(p->hour_bandwidth >= 0) || !isfinite(p->prior_orders) ||
        !isfinite(p->hour_bandwidth))
        return promo_fail(PROMO_EUSAGE,
                          "send time: prior orders %g and hour bandwidth %g must be >= 0",
                          p->prior_orders, p->hour_bandwidth);
    int jd[7], jh[24], jn = promo_features_column(f, "frequency");
    for (int d = 0; d < 7; d++)
        jd[d] = promo_features_column(f, dow_cols[d]);
    for (int h = 0; h < 24; h++) {
        char nm[32];
        snprintf(nm, sizeof nm, "hour_%02d", h);
        jh[h] = promo_features_column(f, nm);
    }
    int missing = jn < 0;
    for (int d = 0; d < 7; d++)
        missing |= jd[d] < 0;
    for (int h = 0; h < 24; h++)
        missing |= jh[h] < 0;
    if (missing)
        return promo_fail(PROMO_EINPUT, "send time: the features lack the shopping-time profile "
                                        "(frequency, dow_mon..dow_sun, hour_00..hour_23)");
    /* the kernel at circular distance d (an identity when the bandwidth is 0) */
    double ker[24];
    for (int d = 0; d < 24; d++) {
        int dd = d > 12 ? 24 - d : d;
        ker[d] = p->hour_bandwidth > 0
                     ? exp(-0.5 * dd * dd / (p->hour_bandwidth * p->hour_bandwidth))
                     : (d == 0);
    }
    size_t n = f->n_customers, nf = f->n_features;
    promo_send_slot *s = promo_calloc(n ? n : 1, sizeof *s);
    if (!s)
        return PROMO_ENOMEM;
    /* the population's profile: orders by weekday and hour over every customer */
    double pd[7] = {0}, ph[24] = {0}, tot = 0;
    for (size_t i = 0; i < n; i++) {
        const float *x = f->X + i * nf;
        double no = x[jn];
        if (!(no > 0))
            continue;
        tot += no;
        for (int d = 0; d < 7; d++)
            pd[d] += isfinite(x[jd[d]]) ? x[jd[d]] * no : 0;
        for (int h = 0; h < 24; h++)
            ph[h] += isfinite(x[jh[h]]) ? x[jh[h]] * no : 0;
    }
    double psh[24];
    smooth_hours(ph, ker, psh);
    for (int d = 0; d < 7; d++)
        pd[d] = tot > 0 ? pd[d] / tot : 1.0 / 7;
    double ps = 0;
    for (int h = 0; h < 24; h++)
        ps += psh[h];
    for (int h = 0; h < 24; h++)
        psh[h] = ps > 0 ? psh[h] / ps : 1.0 / 24;
    promo_send_slot pop = {.weekday = (uint8_t)argmax(pd, 7),
                           .hour = (uint8_t)argmax(psh, 24),
                           .population = 1,
                           .orders = 0,
                           .weekday_share = (float)pd[argmax(pd, 7)]};
    double k = p->prior_orders;
    for (size_t i = 0; i < n; i++) {
        const float *x = f->X + i * nf;
        double no = x[jn] > 0 ? x[jn] : 0;
        if (!(no > 0)) {
            s[i] = pop;
            continue;
        }
        double q[7], c[24], cs[24], r[24], cn = 0;
        for (int d = 0; d < 7; d++)
            q[d] = ((isfinite(x[jd[d]]) ? x[jd[d]] * no : 0) + k * pd[d]) / (no + k);
        for (int h = 0; h < 24; h++)
            c[h] = isfinite(x[jh[h]]) ? x[jh[h]] * no : 0;
        smooth_hours(c, ker, cs);
        for (int h = 0; h < 24; h++)
            cn += cs[h];
        /* smoothed counts rescaled to the customer's n orders, so that k weighs the same */
        for (int h = 0; h < 24; h++)
            r[h] = ((cn > 0 ? cs[h] * no / cn : 0) + k * psh[h]) / (no + k);
        int bd = argmax(q, 7);
        s[i] = (promo_send_slot){.weekday = (uint8_t)bd,
                                 .hour = (uint8_t)argmax(r, 24),
                                 .population = 0,
                                 .orders = (float)no,
                                 .weekday_share = (float)q[bd]};
    }
    if (population)
        *population = pop;
    *out = s;
    return PROMO_OK;
}
