/* promo/uplift_data.h: a treatment/outcome data set, shared by uplift.h and uplift_tree.h. */
#ifndef PROMO_UPLIFT_DATA_H
#define PROMO_UPLIFT_DATA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A treatment/outcome data set, borrowed. Arm 0 is control. */
typedef struct promo_uplift_data {
    const float *x;     /* n x d, row-major, NaN = missing */
    size_t n, d;
    const int32_t *arm; /* n: 0 = control, 1..n_arms-1 treatments */
    int n_arms;         /* >= 2 */
    const float *y;     /* n outcomes: 0/1 (binary) or real (continuous) */
    int binary;         /* 1: y is 0/1 */
    const float *w;     /* optional row weights (NULL = 1) */
} promo_uplift_data;

#ifdef __cplusplus
}
#endif
#endif
