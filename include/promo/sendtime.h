/* promo/sendtime.h: each customer's best day and hour to receive an offer, from the times they
 * shop (the features' day-of-week and hour-of-day profile of their orders, features.h).
 *
 * The profile of a customer with few orders is mostly noise (one order on a Tuesday says little),
 * so each is shrunk toward the population's profile, as a Dirichlet posterior whose prior is the
 * population's shares with the weight of `prior_orders` orders:
 *   weekday share   q_d = (c_d + k P_d) / (n + k)      c_d: the customer's orders on weekday d,
 *                                                      n their orders, P_d the population's share
 *                                                      of all orders, k = prior_orders (default 5)
 *   hour score      r_h = (c'_h + k P'_h) / (n + k)    c' the hour counts smoothed by a circular
 *                                                      Gaussian kernel of hour_bandwidth hours
 *                                                      (default 1.5), P' the population's, likewise
 * The best weekday is the argmax of q, the best hour the argmax of r (ties: the earlier). With no
 * order the customer gets the population's slot. The kernel is there because hours are ordinal: a
 * customer shopping at 17:00 and 19:00 is best reached near 18:00, which raw counts never pick.
 * The weekday and the hour are chosen separately (a 7 x 24 joint profile would have 168 cells for
 * the ~20 orders of a typical customer).
 *
 * Events (web sessions) are not counted: in the generated world they are the sessions of the
 * online orders, so they would count those orders twice.
 *
 * Usage:
 *   promo_send_slot *slot = NULL, pop;
 *   promo_sendtime_params p = promo_sendtime_params_default();
 *   if (promo_sendtime_compute(features, &p, &slot, &pop)) ...;   // slot[i]: features row i
 *   char why[96]; promo_sendtime_phrase(&slot[i], why, sizeof why); // "usually shops on ..."
 *   promo_free(slot);
 */
#ifndef PROMO_SENDTIME_H
#define PROMO_SENDTIME_H

#include <stddef.h>
#include <stdint.h>

#include <promo/features.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_sendtime_params {
    double prior_orders;   /* weight of the population's profile, in orders (default 5; >= 0) */
    double hour_bandwidth; /* sd of the hours' circular kernel, hours (default 1.5; 0 = none) */
} promo_sendtime_params;

promo_sendtime_params promo_sendtime_params_default(void);

/* One customer's slot. */
typedef struct promo_send_slot {
    uint8_t weekday;     /* 0 = Monday .. 6 = Sunday */
    uint8_t hour;        /* 0..23 */
    uint8_t population;  /* 1: no order of their own, the population's slot */
    float orders;        /* orders the profile counted */
    float weekday_share; /* q of the chosen weekday (1/7 = no preference) */
} promo_send_slot;

/* The slot of every row of f (f->n_customers entries, features' customer order) into *out (new,
 * promo_free), and the population's slot into *population (may be NULL). Errors: PROMO_EUSAGE
 * (bad params), PROMO_EINPUT when f lacks the profile columns (frequency, dow_mon..dow_sun,
 * hour_00..hour_23), PROMO_ENOMEM. */
int promo_sendtime_compute(const promo_features *f,
                           const promo_sendtime_params *p,
                           promo_send_slot **out /* OUT */,
                           promo_send_slot *population /* OUT, may be NULL */);

/* "Monday" .. "Sunday" (static); "?" out of range. */
const char *promo_weekday_name(int weekday);

/* "usually shops on Saturday mornings", or for a population slot "has no shopping history: the
 * customers' usual Saturday mornings", into out (n bytes). */
void promo_sendtime_phrase(const promo_send_slot *s, char *out /* OUT */, size_t n);

/* Days from the day of `day` (seconds; its 00:00 counts) to the next `weekday` on or after it,
 * 0..6. */
int promo_sendtime_days_to(int64_t day, int weekday);

#ifdef __cplusplus
}
#endif
#endif
