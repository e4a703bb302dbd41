/* Contacts: exposures and responses -> the fatigue, promotion-sensitivity and individual
 * response columns of the customer features (see promo/features.h). An exposure counts as a
 * contact if it is before the cutoff and not in the "control" arm; a (customer, promotion)
 * converted if a response with converted > 0 is before the cutoff (a null response ts counts
 * when the promotion ended before it). The response rate is smoothed toward the overall rate
 * per exposed promotion.
 *
 * Why the individual response columns: in a promotion log the customers an offer persuades and
 * those it puts off (or who buy anyway) can look alike in every purchase feature; what tells
 * them apart is how they answered past offers against how they behave without one. Each
 * exposure whose promotion has ended before the cutoff ("settled": its conversion is known)
 * is a paired observation: treated ones give the conversion under an offer, and the same
 * customer's purchase of the promoted product (or category) in an equally long window just
 * before the exposure gives a baseline without it; control exposures give baseline
 * observations directly. A customer has a handful of each, so both rates are smoothed toward
 * the population's with lift_prior_strength pseudo-exposures.
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

/* 1 if e[j] is the first of e[0..j] in its arm (control or not) with its promotion: a
 * promotion sent several times counts once as exposed (and once as converted). */
static int first_of_promo(const fx_contact *e, size_t j)
{
    for (size_t k = 0; k < j; k++)
        if (e[k].promo == e[j].promo && e[k].control == e[j].control)
            return 0;
    return 1;
}

/* Without a promotion end, a response window of this many days. */
#define DEFAULT_WINDOW_DAYS 14

/* What decides whether an exposure row is a contact of a known customer. */
typedef struct exposure_rows {
    const promo_column *promo, *cust, *ts, *arm; /* exposures' columns (arm may be NULL) */
    const uint32_t *cmap;                        /* customer_id code -> id_col dict code */
    const uint32_t *ucode;                       /* id_col dict code -> universe index */
    int64_t as_of;
    int control_code; /* arm code of "control", -1 if none */
} exposure_rows;

/* The universe index of the customer of exposure row r if the row is kept (a known customer,
 * a timestamp before the cutoff, a promotion), else FX_NONE. */
static uint32_t contact_customer(const exposure_rows *x, size_t r)
{
    if (promo_column_is_null(x->cust, r) || x->cmap[x->cust->codes[r]] == FX_NONE)
        return FX_NONE;
    int ok = !promo_column_is_null(x->ts, r) && x->ts->i64[r] < x->as_of &&
             !promo_column_is_null(x->promo, r);
    return ok ? x->ucode[x->cmap[x->cust->codes[r]]] : FX_NONE;
}

static int is_control(const exposure_rows *x, size_t r)
{
    return x->arm && !promo_column_is_null(x->arm, r) && (int)x->arm->codes[r] == x->control_code;
}

void fx_contacts_free(contacts *ct)
{
    promo_free(ct->off);
    promo_free(ct->e);
    promo_free(ct->promo_prod);
    promo_free(ct->promo_cat);
    promo_free(ct->promo_end);
    memset(ct, 0, sizeof *ct);
}

/* What each exposures promotion code offers (product row or category index) and when it ends,
 * from the promotions table (FX_NONE / INT64_MAX where it does not say). */
static int promo_info(const promo_feature_input *in,
                      const promo_column *ep,
                      const prod_map *pm,
                      const uint32_t *prod_cat,
                      int nt,
                      contacts *ct)
{
    uint32_t ne = promo_dict_size(ep->dict);
    ct->n_promo = ne;
    ct->promo_prod = promo_mallocn(ne ? ne : 1, sizeof *ct->promo_prod);
    ct->promo_cat = promo_mallocn(ne ? ne : 1, sizeof *ct->promo_cat);
    ct->promo_end = promo_mallocn(ne ? ne : 1, sizeof *ct->promo_end);
    if (!ct->promo_prod || !ct->promo_cat || !ct->promo_end)
        return PROMO_ENOMEM;
    for (uint32_t k = 0; k < ne; k++) {
        ct->promo_prod[k] = ct->promo_cat[k] = FX_NONE;
        ct->promo_end[k] = INT64_MAX;
    }
    const promo_table *pt = in->promotions;
    const promo_column *pid = fx_opt_col(pt, "promotion_id", T_STR);
    if (!pid)
        return PROMO_OK;
    const promo_column *pe = fx_opt_col(pt, "end", T_TIME),
                       *pprod = fx_opt_col(pt, "product_id", T_STR),
                       *pcat = fx_opt_col(pt, "category", T_STR),
                       *xcat = fx_opt_col(in->products, "category", T_STR);
    uint32_t *pm_code = fx_code_map(pid, ep->dict, NULL, nt); /* promotions -> exposures code */
    uint32_t *code_row = NULL, *prod_code = NULL, *cat_code = NULL;
    int rc = PROMO_ENOMEM;
    if (!pm_code)
        goto done;
    if (pprod && pm && pm->pid) {
        uint32_t np = promo_dict_size(pm->pid->dict);
        code_row = promo_mallocn(np ? np : 1, sizeof *code_row);
        if (!code_row)
            goto done;
        memset(code_row, 0xff, (size_t)np * sizeof *code_row);
        for (size_t r = 0; r < pm->pid->n; r++)
            if (!promo_column_is_null(pm->pid, r))
                code_row[pm->pid->codes[r]] = (uint32_t)r;
        if (!(prod_code = fx_code_map(pprod, pm->pid->dict, code_row, nt)))
            goto done;
    }
    if (pcat && xcat && !(cat_code = fx_code_map(pcat, xcat->dict, NULL, nt)))
        goto done;
    for (size_t r = 0; r < pid->n; r++) {
        if (promo_column_is_null(pid, r) || pm_code[pid->codes[r]] == FX_NONE)
            continue;
        uint32_t k = pm_code[pid->codes[r]];
        if (pe && !promo_column_is_null(pe, r))
            ct->promo_end[k] = pe->i64[r];
        if (prod_code && !promo_column_is_null(pprod, r) && prod_code[pprod->codes[r]] != FX_NONE) {
            ct->promo_prod[k] = prod_code[pprod->codes[r]];
            ct->promo_cat[k] = prod_cat ? prod_cat[ct->promo_prod[k]] : FX_NONE;
        } else if (cat_code && !promo_column_is_null(pcat, r))
            ct->promo_cat[k] = cat_code[pcat->codes[r]]; /* index = products.category code */
    }
    rc = PROMO_OK;
done:
    promo_free(pm_code);
    promo_free(code_row);
    promo_free(prod_code);
    promo_free(cat_code);
    return rc;
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
                      const prod_map *pm,
                      const uint32_t *prod_cat,
                      const universe *u,
                      int64_t as_of,
                      int nt,
                      contacts *ct)
{
    memset(ct, 0, sizeof *ct);
    const promo_table *et = in->exposures;
    if (!et || et->n_rows == 0)
        return PROMO_OK;
    const promo_column *ep, *ec, *ets, *arm = fx_opt_col(et, "arm", T_STR);
    int rc;
    if ((rc = fx_need_col(et, "exposures", "promotion_id", T_STR, &ep)) ||
        (rc = fx_need_col(et, "exposures", "customer_id", T_STR, &ec)) ||
        (rc = fx_need_col(et, "exposures", "ts", T_TIME, &ets)))
        return rc;
    rc = PROMO_ENOMEM;
    uint32_t *cmap = fx_code_map(ec, u->id_col->dict, NULL, nt), *ucode = NULL;
    resp_key *rk = NULL;
    size_t n_rk = 0;
    ct->off = promo_calloc(u->n + 2, sizeof *ct->off);
    if (!cmap || !ct->off)
        goto fail;
    if ((rc = promo_info(in, ep, pm, prod_cat, nt, ct)))
        goto fail;
    rc = PROMO_ENOMEM;
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
        if (cu == FX_NONE)
            continue;
        int64_t ts = ets->i64[r], end = ct->promo_end[ep->codes[r]];
        /* Settled: the response window closed before the cutoff, so "no conversion" is known. */
        int settled =
            end != INT64_MAX ? end < as_of : ts < as_of - (int64_t)(DEFAULT_WINDOW_DAYS * DAY);
        ct->e[next[cu]++] =
            (fx_contact){ts, ep->codes[r], 0, (uint8_t)is_control(&xr, r), (uint8_t)settled, 0};
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
        rk = promo_mallocn(rt->n_rows ? rt->n_rows : 1, sizeof *rk);
        if (!rcm || !rpm || !rk) {
            promo_free(rcm);
            promo_free(rpm);
            goto fail;
        }
        for (size_t r = 0; r < rt->n_rows; r++) {
            if (promo_column_is_null(rc_, r) || promo_column_is_null(rp, r) ||
                !(num_at(rconv, r) > 0))
                continue;
            uint32_t cu = rcm[rc_->codes[r]], pr = rpm[rp->codes[r]];
            if (cu == FX_NONE || pr == FX_NONE || ucode[cu] == FX_NONE)
                continue;
            int64_t when = rts && !promo_column_is_null(rts, r) ? rts->i64[r] : ct->promo_end[pr];
            if (when >= as_of)
                continue;
            rk[n_rk++] = (resp_key){ucode[cu], pr};
        }
        promo_free(rcm);
        promo_free(rpm);
        qsort(rk, n_rk, sizeof *rk, by_resp);
    }
    /* Mark exposures whose (customer, promo) converted; sort each customer's by time. */
    double n_exp = 0, n_conv = 0, n_set = 0, n_set_conv = 0, n_ctl = 0, n_ctl_conv = 0;
    for (size_t i = 0; i < u->n; i++) {
        fx_contact *e = ct->e + ct->off[i];
        size_t m = ct->off[i + 1] - ct->off[i];
        if (!m)
            continue;
        qsort(e, m, sizeof *e, by_contact);
        for (size_t j = 0; j < m; j++) {
            resp_key key = {(uint32_t)i, e[j].promo};
            e[j].conv = n_rk && bsearch(&key, rk, n_rk, sizeof *rk, by_resp) != NULL;
            /* First exposure of each promotion counts it once for the priors. */
            if (!first_of_promo(e, j))
                continue;
            if (e[j].control) {
                n_ctl += e[j].settled;
                n_ctl_conv += e[j].settled && e[j].conv;
                continue;
            }
            n_exp++;
            n_conv += e[j].conv;
            n_set += e[j].settled;
            n_set_conv += e[j].settled && e[j].conv;
        }
    }
    ct->prior = n_exp ? n_conv / n_exp : 0;
    ct->prior_settled = n_set ? n_set_conv / n_set : ct->prior;
    ct->prior0 = n_ctl ? n_ctl_conv / n_ctl : ct->prior_settled;
    promo_free(rk);
    promo_free(cmap);
    promo_free(ucode);
    return PROMO_OK;
fail:
    promo_free(rk);
    promo_free(cmap);
    promo_free(ucode);
    fx_contacts_free(ct);
    return rc;
}

/* 1 if the customer bought the promotion's product (or a product of its category) in
 * [lo, hi); pr[0..m) sorted by product then time. */
static int bought_in(const contacts *ct,
                     uint32_t promo,
                     const fx_prow *pr,
                     size_t m,
                     const uint32_t *prod_cat,
                     int64_t lo,
                     int64_t hi)
{
    uint32_t prod = ct->promo_prod[promo], cat = ct->promo_cat[promo];
    if (prod != FX_NONE) {
        size_t a = 0, b = m; /* first slot of (prod, ts >= lo) */
        while (a < b) {
            size_t mid = a + (b - a) / 2;
            if (pr[mid].product < prod || (pr[mid].product == prod && pr[mid].ts < lo))
                a = mid + 1;
            else
                b = mid;
        }
        return a < m && pr[a].product == prod && pr[a].ts < hi;
    }
    for (size_t i = 0; i < m; i++)
        if (prod_cat[pr[i].product] == cat && pr[i].ts >= lo && pr[i].ts < hi)
            return 1;
    return 0;
}

void fx_contact_features(const contacts *ct,
                         uint32_t u,
                         const promo_feature_params *p,
                         const fx_prow *pr,
                         size_t m,
                         const uint32_t *prod_cat,
                         float *x)
{
    double as_of = (double)p->as_of;
    x[C_N_EXPOSURES] = x[C_N_CONVERSIONS] = 0;
    x[C_CONTACTS_7] = x[C_CONTACTS_30] = x[C_CONTACTS_90] = 0;
    x[C_N_CONTROL] = x[C_CONTROL_CONV] = 0;
    x[C_RESPONSE_RATE] = (float)ct->prior;
    x[C_BASELINE_RATE] = (float)ct->prior0;
    x[C_RESPONSE_LIFT] = (float)(ct->prior_settled - ct->prior0);
    if (!ct->off)
        return;
    const fx_contact *e = ct->e + ct->off[u];
    size_t ne = ct->off[u + 1] - ct->off[u];
    double exposed = 0, conv = 0, n_ctl = 0, ctl_conv = 0;
    double set = 0, set_conv = 0, base_n = 0, base_hits = 0;
    size_t last = SIZE_MAX, n_treated = 0;
    for (size_t i = 0; i < ne; i++) {
        int first = first_of_promo(e, i);
        if (e[i].control) {
            if (first) {
                n_ctl++;
                ctl_conv += e[i].conv;
                if (e[i].settled) {
                    base_n++;
                    base_hits += e[i].conv;
                }
            }
            continue;
        }
        double age = (as_of - (double)e[i].ts) / DAY;
        x[C_CONTACTS_7] += age <= 7;
        x[C_CONTACTS_30] += age <= 30;
        x[C_CONTACTS_90] += age <= 90;
        last = i;
        n_treated++;
        if (!first)
            continue;
        exposed++;
        conv += e[i].conv;
        if (e[i].settled) {
            set++;
            set_conv += e[i].conv;
            /* The baseline: a window as long as the response window, just before the send
             * (and so before the cutoff: no later purchase enters it). */
            int64_t end = ct->promo_end[e[i].promo];
            int64_t len = end != INT64_MAX && end > e[i].ts ? end - e[i].ts
                                                            : (int64_t)(DEFAULT_WINDOW_DAYS * DAY);
            if (ct->promo_prod[e[i].promo] != FX_NONE || ct->promo_cat[e[i].promo] != FX_NONE) {
                base_n++;
                base_hits += bought_in(ct, e[i].promo, pr, m, prod_cat, e[i].ts - len, e[i].ts);
            }
        }
    }
    x[C_N_EXPOSURES] = (float)exposed;
    x[C_N_CONVERSIONS] = (float)conv;
    x[C_N_CONTROL] = (float)n_ctl;
    x[C_CONTROL_CONV] = (float)ctl_conv;
    double k0 = p->response_prior_strength;
    x[C_RESPONSE_RATE] = (float)((conv + k0 * ct->prior) / (exposed + k0));
    double k1 = p->lift_prior_strength;
    double r0 = base_n + k1 > 0 ? (base_hits + k1 * ct->prior0) / (base_n + k1) : ct->prior0;
    double r1 = set + k1 > 0 ? (set_conv + k1 * ct->prior_settled) / (set + k1) : ct->prior_settled;
    x[C_BASELINE_RATE] = (float)r0;
    x[C_RESPONSE_LIFT] = (float)(r1 - r0);
    if (n_treated)
        x[C_DAYS_SINCE_CONTACT] = (float)((as_of - (double)e[last].ts) / DAY);
    if (n_treated >= 3) { /* OLS slope of converted (0/1) on contact rank, last 10 contacts */
        size_t q = n_treated > 10 ? 10 : n_treated, lo = ne;
        for (size_t seen = 0; seen < q;) /* the q-th treated contact from the end */
            seen += !e[--lo].control;
        double sx = 0, sy = 0, sxx = 0, sxy = 0, xi = 0;
        for (size_t i = lo; i < ne; i++) {
            if (e[i].control)
                continue;
            double yi = e[i].conv;
            sx += xi;
            sy += yi;
            sxx += xi * xi;
            sxy += xi * yi;
            xi++;
        }
        double dq = (double)q;
        x[C_RESPONSE_TREND] = (float)((dq * sxy - sx * sy) / (dq * sxx - sx * sx));
    }
}
