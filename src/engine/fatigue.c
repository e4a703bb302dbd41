/* src/engine/fatigue.c: the fatigue rule of promo/fatigue.h over the features' contact columns. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/fatigue.h>

promo_fatigue_params promo_fatigue_params_default(void)
{
    promo_fatigue_params p = {.mode = PROMO_FATIGUE_SUPPRESS,
                              .max_contacts_30d = 3,
                              .min_trend = -0.15,
                              .cooldown_days = 14};
    return p;
}

const char *promo_fatigue_mode_name(promo_fatigue_mode m)
{
    static const char *const names[PROMO_FATIGUE_MODE_COUNT] = {"suppress", "cooldown", "off"};
    return (int)m >= 0 && m < PROMO_FATIGUE_MODE_COUNT ? names[m] : "?";
}

int promo_fatigue_compute(const promo_features *f,
                          const promo_fatigue_params *p,
                          promo_fatigue_verdict **out,
                          size_t *n_fatigued)
{
    *out = NULL;
    if (n_fatigued)
        *n_fatigued = 0;
    if ((int)p->mode < 0 || p->mode >= PROMO_FATIGUE_MODE_COUNT || !(p->max_contacts_30d >= 1) ||
        isnan(p->min_trend) || p->cooldown_days < 1 || p->cooldown_days > 365)
        return promo_fail(PROMO_EUSAGE,
                          "fatigue: max contacts in 30 days %g (>= 1), trend %g, cool-down %d "
                          "days (1-365)",
                          p->max_contacts_30d, p->min_trend, p->cooldown_days);
    int jc = promo_features_column(f, "contacts_30d"),
        jt = promo_features_column(f, "response_trend"),
        js = promo_features_column(f, "days_since_contact");
    if (jc < 0 || jt < 0 || js < 0)
        return promo_fail(PROMO_EINPUT, "fatigue: the features lack contacts_30d, "
                                        "response_trend or days_since_contact");
    size_t n = f->n_customers, tired = 0;
    promo_fatigue_verdict *v = promo_calloc(n ? n : 1, sizeof *v);
    if (!v)
        return PROMO_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const float *x = f->X + i * f->n_features;
        v[i].contacts_30d = x[jc];
        v[i].response_trend = x[jt];
        v[i].days_since_contact = x[js];
        if (p->mode == PROMO_FATIGUE_OFF)
            continue;
        if (x[jc] >= p->max_contacts_30d)
            v[i].why |= PROMO_FATIGUE_CONTACTS;
        if (isfinite(x[jt]) && x[jt] <= p->min_trend)
            v[i].why |= PROMO_FATIGUE_TREND;
        tired += v[i].why != 0;
    }
    if (n_fatigued)
        *n_fatigued = tired;
    *out = v;
    return PROMO_OK;
}

void promo_fatigue_describe(const promo_fatigue_verdict *v,
                            const promo_fatigue_params *p,
                            char *out,
                            size_t n)
{
    size_t k = 0;
    out[0] = 0;
    if ((v->why & PROMO_FATIGUE_CONTACTS) && p)
        k += (size_t)snprintf(out, n, "%.0f offers in the last 30 days (limit %g)",
                              (double)v->contacts_30d, p->max_contacts_30d);
    else if (v->why & PROMO_FATIGUE_CONTACTS)
        k += (size_t)snprintf(out, n, "%.0f offers in the last 30 days", (double)v->contacts_30d);
    if ((v->why & PROMO_FATIGUE_TREND) && k < n)
        snprintf(out + k, n - k, "%sresponses falling (trend %+.2f over the last offers)",
                 k ? "; " : "", (double)v->response_trend);
}

int32_t promo_fatigue_cooldown_day(const promo_fatigue_verdict *v,
                                   const promo_fatigue_params *p,
                                   int32_t day)
{
    if (!v->why || !isfinite(v->days_since_contact))
        return day;
    double first = ceil((double)p->cooldown_days - (double)v->days_since_contact);
    return first > day ? (int32_t)(first < 3650 ? first : 3650) : day;
}
