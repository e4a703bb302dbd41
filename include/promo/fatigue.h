/* promo/fatigue.h: which customers have had enough offers for now.
 *
 * From the features' contact columns (features.h: contacts_30d, response_trend over the last 10
 * contacts, days_since_contact; a contact is an exposure outside the control arm) a customer is
 * fatigued when
 *   contacts_30d >= max_contacts_30d            (default 3: about five times the generated
 *                                                world's mean of 0.55 a month), or
 *   response_trend <= min_trend                 (default -0.15: the OLS slope of converted 0/1
 *                                                on contact rank; -0.15 is a customer who bought
 *                                                after the first offers and then stopped)
 * A campaign then leaves them out (PROMO_FATIGUE_SUPPRESS) or sends later
 * (PROMO_FATIGUE_COOLDOWN: no earlier than cooldown_days after their last contact).
 * Why: in the generated world (synth.h) an offer's effect is multiplied by exp(-kappa F), F the
 * contacts of the last weeks decayed with 14 days, so a tired customer mostly costs a discount.
 *
 * Usage:
 *   promo_fatigue_params p = promo_fatigue_params_default();
 *   promo_fatigue_verdict *v = NULL; size_t n_tired = 0;
 *   if (promo_fatigue_compute(features, &p, &v, &n_tired)) ...;   // v[i]: features row i
 *   char why[160]; promo_fatigue_describe(&v[i], &p, why, sizeof why);
 *   promo_free(v);
 */
#ifndef PROMO_FATIGUE_H
#define PROMO_FATIGUE_H

#include <stddef.h>
#include <stdint.h>

#include <promo/features.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum promo_fatigue_mode {
    PROMO_FATIGUE_SUPPRESS = 0, /* leave the fatigued out (the default) */
    PROMO_FATIGUE_COOLDOWN = 1, /* send to them after the cool-down */
    PROMO_FATIGUE_OFF = 2,      /* no fatigue rule */
    PROMO_FATIGUE_MODE_COUNT
} promo_fatigue_mode;

typedef struct promo_fatigue_params {
    promo_fatigue_mode mode;
    double max_contacts_30d; /* fatigued at this many contacts in 30 days (default 3; >= 1) */
    double min_trend;        /* fatigued at a response trend this low or lower (default -0.15;
                                -INFINITY = not used) */
    int cooldown_days;       /* COOLDOWN: days after the last contact (default 14; 1..365) */
} promo_fatigue_params;

promo_fatigue_params promo_fatigue_params_default(void);

/* "suppress", "cooldown", "off" (static). */
const char *promo_fatigue_mode_name(promo_fatigue_mode m);

#define PROMO_FATIGUE_CONTACTS 1u /* over the contact limit */
#define PROMO_FATIGUE_TREND    2u /* responses falling */

typedef struct promo_fatigue_verdict {
    uint8_t why;              /* PROMO_FATIGUE_* bits; 0 = not fatigued */
    float contacts_30d;       /* the features' values (NaN: unknown) */
    float response_trend;     /* */
    float days_since_contact; /* */
} promo_fatigue_verdict;

/* The verdict of every row of f (f->n_customers entries) into *out (new, promo_free) and the
 * number fatigued into *n_fatigued (may be NULL). With mode OFF every verdict is 0. Errors:
 * PROMO_EUSAGE (bad params), PROMO_EINPUT when f lacks contacts_30d or response_trend,
 * PROMO_ENOMEM. */
int promo_fatigue_compute(const promo_features *f,
                          const promo_fatigue_params *p,
                          promo_fatigue_verdict **out /* OUT */,
                          size_t *n_fatigued /* OUT, may be NULL */);

/* "4 offers in the last 30 days (limit 3); responses falling (trend -0.30 over the last
 * offers)" into out (n bytes); "" when not fatigued. p NULL: without the limit. */
void promo_fatigue_describe(const promo_fatigue_verdict *v,
                            const promo_fatigue_params *p,
                            char *out /* OUT */,
                            size_t n);

/* COOLDOWN: the first day (days after the cutoff) the customer may be sent to: cooldown_days
 * after the last contact, never before `day`. */
int32_t promo_fatigue_cooldown_day(const promo_fatigue_verdict *v,
                                   const promo_fatigue_params *p,
                                   int32_t day);

#ifdef __cplusplus
}
#endif
#endif
