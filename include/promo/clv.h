/* promo/clv.h: customer lifetime value with BG/NBD and Gamma-Gamma.
 *
 * BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a
 * customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after each purchase
 * she drops out with probability p ~ Beta(a, b). From (x = repeat purchases, t_x = time of
 * the last purchase, T = age, both measured from the first purchase) it gives P(alive) and the
 * expected purchases in the next t time units. Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and
 * CLV"; Colombo & Jiang 1999) models the mean spend per repeat purchase with (p, q, v).
 *
 * Fitting is maximum likelihood in log-parameter space with GSL multimin: BFGS2 with the
 * analytic gradient: short runs from several starting points (side by side on the threads),
 * the best one run to convergence, Nelder-Mead as a fallback, then BFGS again from its point.
 * Departures from the textbook fit, all to survive real retail data (where the Python
 * `lifetimes` library often reports non-convergence or NaN):
 *   - the objective is the mean negative log-likelihood plus penalty * sum(log(theta)^2): a
 *     small ridge on log-parameters that keeps them finite when the data are nearly
 *     uninformative (default 1e-6 per customer; moves CDNOW's estimates by < 0.05%: the
 *     BG/NBD likelihood is flat along a-b, so 1e-4 already moves them by 2%);
 *   - the log of the 1 + D term is computed as a log-sum-exp, so it never overflows for
 *     heavy buyers (x in the hundreds);
 *   - the data are checked first and rejected with a clear PROMO_EMODEL message when they
 *     cannot identify the model (too few customers, no repeat purchases, t_x > T, ...).
 * The time unit is the caller's (CDNOW uses weeks, promo's features use days): alpha is in
 * that unit, and so are t, t_x and T everywhere.
 *
 * Usage:
 *   promo_clv_params p = promo_clv_params_default();
 *   promo_bgnbd m;
 *   if (promo_bgnbd_fit(x, tx, T, n, &p, &m)) fprintf(stderr, "%s\n", promo_last_error());
 *   double alive = promo_bgnbd_p_alive(&m, x[0], tx[0], T[0]);
 *   double next30 = promo_bgnbd_expected(&m, 30, x[0], tx[0], T[0]);
 */
#ifndef PROMO_CLV_H
#define PROMO_CLV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct promo_clv_params {
    double penalty;       /* ridge on log-parameters, per customer (default 1e-6; 0 = none) */
    int max_iter;         /* iterations per optimiser run (default 200) */
    size_t max_customers; /* BG/NBD: all customers when they form at most this many
                             distinct repeat-buyer (x, t_x, T) triples (the likelihood is
                             exact per triple, weighted by its count), else a deterministic
                             stride subsample of about this many customers; Gamma-Gamma: at
                             most this many customers (stride subsample) (default 20000;
                             0 = all) */
    int n_threads;        /* 0 = OpenMP default; results do not depend on it */
} promo_clv_params;

promo_clv_params promo_clv_params_default(void);

typedef struct promo_bgnbd {
    double r, alpha, a, b; /* fitted parameters (alpha in the caller's time unit) */
    double loglik;         /* log-likelihood at the estimate (without the penalty) */
    size_t n_fit;          /* customers used in the fit */
    int iterations;        /* optimiser iterations, all runs */
    int used_fallback;     /* 1 if Nelder-Mead had to rescue BFGS */
} promo_bgnbd;

typedef struct promo_gamma_gamma {
    double p, q, v;    /* fitted parameters (v in the caller's money unit) */
    double loglik;     /* log-likelihood at the estimate */
    size_t n_fit;      /* customers used (x > 0 and mean spend > 0) */
    int iterations;    /* optimiser iterations */
    int used_fallback; /* 1 if Nelder-Mead had to rescue BFGS */
} promo_gamma_gamma;

/* Fit BG/NBD on n customers: x[i] repeat purchases (>= 0), t_x[i] recency (0 when x = 0),
 * T[i] age (> 0, >= t_x[i]). Arrays are borrowed for the call. Errors: PROMO_EUSAGE for
 * invalid rows (the message names the row), PROMO_EMODEL when the data cannot support the
 * model (fewer than 10 customers, no repeat purchase, or no optimiser run converged to a
 * finite optimum), PROMO_ENOMEM. Thread-safe. */
int promo_bgnbd_fit(const double *x,
                    const double *t_x,
                    const double *T,
                    size_t n,
                    const promo_clv_params *params,
                    promo_bgnbd *out /* OUT */);

/* Log-likelihood of n customers under m (no penalty). For tests and model comparison. */
double promo_bgnbd_loglik(
    const promo_bgnbd *m, const double *x, const double *t_x, const double *T, size_t n);

/* P(alive at T | x, t_x, T). 1 when x = 0 (a property of BG/NBD: no repeat, no dropout
 * opportunity). */
double promo_bgnbd_p_alive(const promo_bgnbd *m, double x, double t_x, double T);

/* Expected purchases in (T, T + t] given (x, t_x, T) (FHL 2005 eq. 10), with the Gauss
 * hypergeometric function evaluated after Euler's transformation (see promo_hyp2f1).
 * NaN if the series does not converge (never seen for t <= 10 T). */
double promo_bgnbd_expected(const promo_bgnbd *m, double t, double x, double t_x, double T);

/* promo_bgnbd_expected for n customers at once: out[i] is bit-identical to
 * promo_bgnbd_expected(m, t, x[i], t_x[i], T[i]), but the hypergeometric series (the costly
 * part) is evaluated once per distinct (x, T) pair, which repeat massively when times are in
 * whole days. Parallel; the result does not depend on n_threads (0 = OpenMP default).
 * Arrays are borrowed; out has n entries. Errors: PROMO_ENOMEM. */
int promo_bgnbd_expected_many(const promo_bgnbd *m,
                              double t,
                              const double *x,
                              const double *t_x,
                              const double *T,
                              size_t n,
                              int n_threads,
                              double *out /* OUT */);

/* Expected purchases in (0, t] for a new customer (FHL eq. 9). */
double promo_bgnbd_expected_new(const promo_bgnbd *m, double t);

/* Fit Gamma-Gamma on the customers with x[i] > 0 and mean repeat spend m[i] > 0 (others are
 * skipped, as the model requires). Errors: PROMO_EMODEL with fewer than 10 such customers or
 * no finite optimum; PROMO_ENOMEM. */
int promo_gamma_gamma_fit(const double *x,
                          const double *m,
                          size_t n,
                          const promo_clv_params *params,
                          promo_gamma_gamma *out /* OUT */);

double
promo_gamma_gamma_loglik(const promo_gamma_gamma *g, const double *x, const double *m, size_t n);

/* E[spend per purchase | x, m] = p (v + x m) / (p x + q - 1). Needs q > 1 (a finite
 * population mean); returns m itself when q <= 1 or x = 0 with m > 0, and the population mean
 * p v / (q - 1) when x = 0. */
double promo_gamma_gamma_expected_spend(const promo_gamma_gamma *g, double x, double m);

/* Gauss hypergeometric 2F1(a, b; c; z) for 0 <= z < 1 (any real a, b; c > 0) by direct
 * summation with rescaling, NaN if 2000000 terms do not converge. Exposed for tests; GSL's
 * gsl_sf_hyperg_2F1 refuses parts of this domain. */
double promo_hyp2f1(double a, double b, double c, double z);

#ifdef __cplusplus
}
#endif
#endif
