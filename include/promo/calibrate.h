/* promo/calibrate.h: probability calibration fitted on a validation window.
 *
 * Two methods, as in scikit-learn's CalibratedClassifierCV:
 *   Platt     p = sigmoid(a * logit(s) + b), (a, b) by Newton on the log-likelihood with
 *             Platt's smoothed targets (N+ + 1)/(N+ + 2) and 1/(N- + 2) (Platt 1999);
 *   isotonic  a non-decreasing step function fitted by pool-adjacent-violators (PAV), tied
 *             scores pooled first; constant over each block's score range, linear between
 *             neighbouring blocks, clamped beyond the ends (scikit-learn's
 *             IsotonicRegression with out_of_bounds="clip").
 * A calibrator serialises to a short text line so it can live inside a model file (as an
 * XGBoost attribute): "platt A B" or "isotonic N x1 y1 ... xN yN", numbers as %.17g.
 *
 * Usage:
 *   promo_calib *c = NULL;
 *   promo_calib_fit(PROMO_CALIB_ISOTONIC, val_prob, val_label, NULL, n_val, &c);
 *   promo_calib_apply(c, test_prob, n_test, test_prob);   // in place is fine
 *   promo_calib_free(c);
 *
 * Thread-safety: a fitted calibrator is read-only; apply from any thread.
 */
#ifndef PROMO_CALIBRATE_H
#define PROMO_CALIBRATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum promo_calib_kind {
    PROMO_CALIB_NONE = 0,     /* identity */
    PROMO_CALIB_PLATT = 1,    /* logistic on the logit of the score */
    PROMO_CALIB_ISOTONIC = 2, /* PAV */
    PROMO_CALIB_KIND_COUNT
} promo_calib_kind;

typedef struct promo_calib promo_calib;

/* Fit on probabilities `prob` in [0, 1], 0/1 labels and optional row weights (NULL = 1; e.g.
 * inverse sampling rates of down-sampled negatives). *out: new calibrator (free with
 * promo_calib_free). Errors: PROMO_EUSAGE (n == 0, bad label, probability outside [0, 1]),
 * PROMO_ENOMEM. With one class only, Platt still fits (smoothed targets); isotonic gives a
 * constant. */
int promo_calib_fit(promo_calib_kind kind,
                    const double *prob,
                    const uint8_t *label,
                    const double *weight,
                    size_t n,
                    promo_calib **out /* OUT */);

void promo_calib_free(promo_calib *c); /* NULL-safe */

promo_calib_kind promo_calib_get_kind(const promo_calib *c);
/* "none", "platt", "isotonic". */
const char *promo_calib_kind_name(promo_calib_kind k);
/* Parse a kind name; -1 if unknown. */
int promo_calib_kind_parse(const char *s);

/* out[i] = calibrated in[i]; out may equal in. NaN stays NaN. */
void promo_calib_apply(const promo_calib *c, const double *in, size_t n, double *out /* OUT */);
/* One value. */
double promo_calib_one(const promo_calib *c, double p);

/* Text form (see top). *out is a new string (promo_free). */
int promo_calib_to_string(const promo_calib *c, char **out /* OUT */);
/* Parse the text form: PROMO_EINPUT on anything malformed (knots must be finite, x strictly
 * increasing, y non-decreasing within [0, 1]). */
int promo_calib_from_string(const char *s, promo_calib **out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
