/* Contacts: exposures and responses -> the fatigue and promotion-sensitivity columns of the
 * customer features (see promo/features.h). An exposure counts as a contact if it is before
 * the cutoff and not in the "control" arm; a (customer, promotion) converted if a response
 * with converted > 0 is before the cutoff (a null response ts counts when the promotion ended
 * before it). The response rate is smoothed toward the overall rate per exposed promotion.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/features.h>

#include "features/features_internal.h"

static int by_contact(const void *a, const void *b)
{
    const fx_contact *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return (x->promo > y->promo) - (x->promo < y->promo);
}

/* 1 if e[j] is the first of e[0..j] with its promotion: a promotion sent several times counts
 * once as exposed (and once as converted). */
static int first_of_promo(const fx_contact *e, size_t j)
{
    for (size_t k = 0; k < j; k++)
        if (e[k].promo == e[j].promo)
            return 0;
    return 1;
}

/* What decides whether an exposure row is a contact of a known customer. */
typedef struct exposure_rows {
    const promo_column *promo, *cust, *ts, *arm; /* exposures' columns (arm may be NULL) */
    const uint32_t *cmap;                        /* customer_id code -> id_col dict code */
    const uint32_t *ucode;                       /* id_col dict code -> universe index */
    int64_t as_of;
    int control_code; /* arm code of "control", -1 if none */
} exposure_rows;

/* The universe index of the customer of exposure row r if the row counts as a contact (a
 * known customer, a timestamp before the cutoff, a promotion, not the control arm), else
 * FX_NONE. */
static uint32_t contact_customer(const exposure_rows *x, size_t r)
{
    if (promo_column_is_null(x->cust, r) || x->cmap[x->cust->codes[r]] == FX_NONE)
        return FX_NONE;
    int ok =
        !promo_column_is_null(x->ts, r) && x->ts->i64[r] < x->as_of &&
        !promo_column_is_null(x->promo, r) &&
        !(x->arm && !promo_column_is_null(x->arm, r) && (int)x->arm->codes[r] == x->control_code);
    return ok ? x->ucode[x->cmap[x->cust->codes[r]]] : FX_NONE;
}

typedef struct resp_key {
    uint32_t cust, promo;
} resp_key;

static int by_resp(const void *a, const void *b)
{
    const resp_key *x = a, *y = b;
    if (x->cust != y->cust)
        return x->cust < y->cust ? -1 : 1;
    return (x->promo > y->promo) - (x->promo < y->promo);
}

int fx_build_contacts(const promo_feature_input *in,
                      const tx_cols *x,
                      const universe *u,
                      int64_t as_of,
                      int nt,
                      contacts *ct)
{
    memset(ct, 0, sizeof *ct);
    ct->prior = 0;
    const promo_table *et = in->exposures;
    if (!et || et->n_rows == 0)
        return PROMO_OK;
    const promo_column *ep, *ec, *ets, *arm = fx_opt_col(et, "arm", T_STR);
    int rc;
    if ((rc = fx_need_col(et, "exposures", "promotion_id", T_STR, &ep)) ||
        (rc = fx_need_col(et, "exposures", "customer_id", T_STR, &ec)) ||
        (rc = fx_need_col(et, "exposures", "ts", T_TIME, &ets)))
        return rc;
    (void)x;
    rc = PROMO_ENOMEM;
    uint32_t *cmap = fx_code_map(ec, u->id_col->dict, NULL, nt), *ucode = NULL;
    resp_key *rk = NULL;
    size_t n_rk = 0;
    ct->off = promo_calloc(u->n + 2, sizeof *ct->off);
    if (!cmap || !ct->off)
        goto fail;
    /* id_col dict code -> universe index */
    uint32_t nd = promo_dict_size(u->id_col->dict);
    ucode = promo_mallocn(nd ? nd : 1, sizeof *ucode);
    if (!ucode)
        goto fail;
    memset(ucode, 0xff, (size_t)nd * sizeof *ucode);
    for (size_t i = 0; i < u->n; i++)
        ucode[u->id_code[i]] = (uint32_t)i;
    exposure_rows xr = {ep, ec, ets, arm, cmap, ucode, as_of, -1};
    if (arm) {
        uint32_t k = promo_dict_find(arm->dict, "control", 7);
        xr.control_code = k == PROMO_DICT_NONE ? -1 : (int)k;
    }
    for (size_t r = 0; r < et->n_rows; r++) {
        uint32_t cu = contact_customer(&xr, r);
        if (cu != FX_NONE)
            ct->off[cu + 1]++;
    }
    for (size_t i = 0; i < u->n; i++)
        ct->off[i + 1] += ct->off[i];
    size_t n_e = ct->off[u->n];
    ct->e = promo_mallocn(n_e ? n_e : 1, sizeof *ct->e);
    uint64_t *next = promo_mallocn(u->n + 1, sizeof *next);
    if (!ct->e || !next) {
        promo_free(next);
        goto fail;
    }
    memcpy(next, ct->off, (u->n + 1) * sizeof *next);
    for (size_t r = 0; r < et->n_rows; r++) {
        uint32_t cu = contact_customer(&xr, r);
        if (cu != FX_NONE)
            ct->e[next[cu]++] = (fx_contact){ets->i64[r], ep->codes[r], 0, {0, 0, 0}};
    }
    promo_free(next);
    /* Counted conversions as sorted (customer, promo) keys. */
    const promo_table *rt = in->responses;
    if (rt && rt->n_rows) {
        const promo_column *rp, *rc_, *rconv, *rts = fx_opt_col(rt, "ts", T_TIME);
        if ((rc = fx_need_col(rt, "responses", "promotion_id", T_STR, &rp)) ||
            (rc = fx_need_col(rt, "responses", "customer_id", T_STR, &rc_)) ||
            (rc = fx_need_col(rt, "responses", "converted", T_FLAG, &rconv)))
            goto fail;
        rc = PROMO_ENOMEM;
        uint32_t *rcm = fx_code_map(rc_, u->id_col->dict, NULL, nt);
        uint32_t *rpm = fx_code_map(rp, ep->dict, NULL, nt);
        int64_t *pend = NULL; /* promotions.end by exposures promo code */
        rk = promo_mallocn(rt->n_rows ? rt->n_rows : 1, sizeof *rk);
        if (!rcm || !rpm || !rk) {
            promo_free(rcm);
            promo_free(rpm);
            goto fail;
        }
        const promo_table *pt = in->promotions;
        const promo_column *pid = fx_opt_col(pt, "promotion_id", T_STR),
                           *pe = fx_opt_col(pt, "end", T_TIME);
        if (pid && pe) {
            uint32_t ne = promo_dict_size(ep->dict);
            pend = promo_mallocn(ne ? ne : 1, sizeof *pend);
            uint32_t *pm = fx_code_map(pid, ep->dict, NULL, nt); /* promotions -> exposures code */
            if (!pend || !pm) {
                promo_free(pend);
                promo_free(pm);
                promo_free(rcm);
                promo_free(rpm);
                goto fail;
            }
            for (uint32_t k = 0; k < ne; k++)
                pend[k] = INT64_MAX;
            for (size_t r = 0; r < pid->n; r++)
                if (!promo_column_is_null(pid, r) && !promo_column_is_null(pe, r) &&
                    pm[pid->codes[r]] != FX_NONE)
                    pend[pm[pid->codes[r]]] = pe->i64[r];
            promo_free(pm);
        }
        for (size_t r = 0; r < rt->n_rows; r++) {
            if (promo_column_is_null(rc_, r) || promo_column_is_null(rp, r) ||
                !(num_at(rconv, r) > 0))
                continue;
            uint32_t cu = rcm[rc_->codes[r]], pr = rpm[rp->codes[r]];
            if (cu == FX_NONE || pr == FX_NONE || ucode[cu] == FX_NONE)
                continue;
            int64_t when = rts && !promo_column_is_null(rts, r) ? rts->i64[r]
                           : pend                               ? pend[pr]
                                                                : INT64_MAX;
            if (when >= as_of)
                continue;
            rk[n_rk++] = (resp_key){ucode[cu], pr};
        }
        promo_free(rcm);
        promo_free(rpm);
        promo_free(pend);
        qsort(rk, n_rk, sizeof *rk, by_resp);
    }
    /* Mark exposures whose (customer, promo) converted; sort each customer's by time. */
    size_t n_promo_exposed = 0, n_promo_conv = 0;
    for (size_t i = 0; i < u->n; i++) {
        fx_contact *e = ct->e + ct->off[i];
        size_t m = ct->off[i + 1] - ct->off[i];
        if (!m)
            continue;
        qsort(e, m, sizeof *e, by_contact);
        for (size_t j = 0; j < m; j++) {
            resp_key key = {(uint32_t)i, e[j].promo};
            e[j].conv = n_rk && bsearch(&key, rk, n_rk, sizeof *rk, by_resp) != NULL;
            /* First exposure of each promotion counts it once for the prior. */
            if (first_of_promo(e, j)) {
                n_promo_exposed++;
                n_promo_conv += e[j].conv;
            }
        }
    }
    ct->prior = n_promo_exposed ? (double)n_promo_conv / (double)n_promo_exposed : 0;
    promo_free(rk);
    promo_free(cmap);
    promo_free(ucode);
    return PROMO_OK;
fail:
    promo_free(rk);
    promo_free(cmap);
    promo_free(ucode);
    promo_free(ct->off);
    promo_free(ct->e);
    memset(ct, 0, sizeof *ct);
    return rc;
}

void fx_contact_features(const contacts *ct, uint32_t u, const promo_feature_params *p, float *x)
{
    double as_of = (double)p->as_of;
    x[C_N_EXPOSURES] = x[C_N_CONVERSIONS] = 0;
    x[C_CONTACTS_7] = x[C_CONTACTS_30] = x[C_CONTACTS_90] = 0;
    x[C_RESPONSE_RATE] = (float)ct->prior;
    if (ct->off) {
        const fx_contact *e = ct->e + ct->off[u];
        size_t ne = ct->off[u + 1] - ct->off[u];
        double exposed = 0, conv = 0;
        for (size_t i = 0; i < ne; i++) {
            double age = (as_of - (double)e[i].ts) / DAY;
            x[C_CONTACTS_7] += age <= 7;
            x[C_CONTACTS_30] += age <= 30;
            x[C_CONTACTS_90] += age <= 90;
            if (first_of_promo(e, i)) {
                exposed++;
                conv += e[i].conv;
            }
        }
        x[C_N_EXPOSURES] = (float)exposed;
        x[C_N_CONVERSIONS] = (float)conv;
        double k0 = p->response_prior_strength;
        x[C_RESPONSE_RATE] = (float)((conv + k0 * ct->prior) / (exposed + k0));
        if (ne)
            x[C_DAYS_SINCE_CONTACT] = (float)((as_of - (double)e[ne - 1].ts) / DAY);
        if (ne >= 3) { /* OLS slope of converted (0/1) on contact rank, last 10 contacts */
            size_t lo = ne > 10 ? ne - 10 : 0, q = ne - lo;
            double sx = 0, sy = 0, sxx = 0, sxy = 0;
            for (size_t i = lo; i < ne; i++) {
                double xi = (double)(i - lo), yi = e[i].conv;
                sx += xi;
                sy += yi;
                sxx += xi * xi;
                sxy += xi * yi;
            }
            double dq = (double)q;
            x[C_RESPONSE_TREND] = (float)((dq * sxy - sx * sy) / (dq * sxx - sx * sx));
        }
    }
}
