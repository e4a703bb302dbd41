/* Measuring a campaign against its holdout (promo/measure.h). */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/measure.h>
#include <promo/store.h>
#include <promo/table.h>
#include <promo/timeutil.h>

#define MIN_ARM 20 /* below this many customers in an arm an interval means nothing */

promo_measure_params promo_measure_params_default(void)
{
    return (promo_measure_params){.window_days = 14, .margin = 0.3, .level = 0.95};
}

static int check_params(const promo_measure_params *p)
{
    if (!p->campaign_path)
        return promo_fail(PROMO_EUSAGE, "--campaign: required");
    if (!(p->window_days > 0 && p->window_days <= 3650))
        return promo_fail(PROMO_EUSAGE, "--window: expected 1 to 3650 days, got %g",
                          p->window_days);
    if (!(p->margin >= 0 && p->margin <= 1))
        return promo_fail(PROMO_EUSAGE, "--margin: expected a share in [0, 1], got %g", p->margin);
    if (!(p->cost_per_contact >= 0 && isfinite(p->cost_per_contact)))
        return promo_fail(PROMO_EUSAGE, "--cost-per-contact: expected a finite amount >= 0");
    if (!(p->level > 0.5 && p->level < 1))
        return promo_fail(PROMO_EUSAGE, "--level: expected a number in (0.5, 1), got %g", p->level);
    return PROMO_OK;
}

/* Ids of a STRING column mapped onto a table's id dictionary; the first id not there is an
 * error naming the file's row. */
static int map_ids(const promo_column *ids,
                   const promo_table *t,
                   const char *key,
                   const char *file,
                   const char *what,
                   uint32_t **out)
{
    const promo_column *k = t ? promo_table_column(t, key) : NULL;
    if (!k)
        return PROMO_OK; /* no table to check against */
    uint32_t *m = promo_mallocn(ids->n ? ids->n : 1, sizeof *m);
    if (!m)
        return PROMO_ENOMEM;
    int rc = promo_column_map_to(ids, k->dict, m);
    for (size_t r = 0; !rc && r < ids->n; r++)
        if (m[r] == PROMO_DICT_NONE)
            rc = promo_fail(PROMO_EINPUT,
                            "%s: data row %zu (line %zu): column '%s': unknown %s "
                            "'%s'",
                            file, r + 1, r + 2, ids->name, what, promo_column_str(ids, r));
    if (rc) {
        promo_free(m);
        return rc;
    }
    *out = m;
    return PROMO_OK;
}

/* One cell of a new row, by column name. */
typedef struct cell {
    const char *name;
    const char *s; /* STRING */
    double f;      /* FLOAT64, BOOL */
    int64_t i;     /* INT64, TIMESTAMP */
} cell;

/* Append a row to t: each column gets its cell's value, or null when the row has none. */
static int push_row(promo_table *t, const cell *c, size_t n)
{
    for (size_t k = 0; k < t->n_cols; k++) {
        promo_column *col = t->cols[k];
        const cell *v = NULL;
        for (size_t j = 0; j < n && !v; j++)
            if (!strcmp(c[j].name, col->name))
                v = &c[j];
        int rc;
        if (!v)
            rc = promo_column_push_null(col);
        else if (col->type == PROMO_COL_STRING)
            rc = promo_column_push_str(col, v->s, strlen(v->s));
        else if (col->type == PROMO_COL_FLOAT64)
            rc = promo_column_push_f64(col, v->f);
        else if (col->type == PROMO_COL_BOOL)
            rc = promo_column_push_bool(col, v->f != 0);
        else
            rc = promo_column_push_i64(col, v->i);
        if (rc)
            return rc;
    }
    return PROMO_OK;
}

/* A copy of table `name` to append to, or a new one with the given columns. */
static int table_for_append(promo_store *s,
                            const char *name,
                            const char *const *cols,
                            const promo_col_type *types,
                            size_t n,
                            promo_table **out)
{
    promo_table *old = NULL, *t = NULL;
    int rc = PROMO_OK;
    if (promo_store_has_table(s, name)) {
        if ((rc = promo_store_read_table(s, name, &old)))
            return rc;
        t = promo_table_filter(old, NULL);
        promo_table_free(old);
        if (!t)
            return PROMO_ENOMEM;
    } else {
        if (!(t = promo_table_new(name)))
            return PROMO_ENOMEM;
        for (size_t k = 0; !rc && k < n; k++)
            rc = promo_table_add_column(t, cols[k], types[k], NULL);
    }
    if (rc) {
        promo_table_free(t);
        return rc;
    }
    *out = t;
    return PROMO_OK;
}

static int id_taken(const promo_table *t, const char *id)
{
    const promo_column *c = t ? promo_table_column(t, "promotion_id") : NULL;
    return c && c->dict && promo_dict_find(c->dict, id, strlen(id)) != PROMO_DICT_NONE &&
           t->n_rows > 0;
}

/* The promotion, one exposure and one response per customer, in one transaction. */
static int log_campaign(promo_store *s,
                        const promo_measure *m,
                        const promo_table *camp,
                        const uint8_t *hold,
                        const int64_t *send,
                        const uint8_t *bought,
                        const double *revenue,
                        double cost_per_contact,
                        double window_days)
{
    static const char *const pc[] = {"promotion_id", "product_id", "discount_pct",    "start",
                                     "end",          "channel",    "cost_per_contact"};
    static const promo_col_type pt[] = {PROMO_COL_STRING,    PROMO_COL_STRING,    PROMO_COL_FLOAT64,
                                        PROMO_COL_TIMESTAMP, PROMO_COL_TIMESTAMP, PROMO_COL_STRING,
                                        PROMO_COL_FLOAT64};
    static const char *const ec[] = {"promotion_id", "customer_id", "ts", "arm", "channel", "cost"};
    static const promo_col_type et[] = {PROMO_COL_STRING, PROMO_COL_STRING, PROMO_COL_TIMESTAMP,
                                        PROMO_COL_STRING, PROMO_COL_STRING, PROMO_COL_FLOAT64};
    static const char *const rc_[] = {"promotion_id", "customer_id", "ts", "converted", "revenue"};
    static const promo_col_type rt[] = {PROMO_COL_STRING, PROMO_COL_STRING, PROMO_COL_TIMESTAMP,
                                        PROMO_COL_BOOL, PROMO_COL_FLOAT64};
    promo_table *promos = NULL, *expo = NULL, *resp = NULL;
    const promo_column *cust = promo_table_column(camp, "customer_id");
    const promo_column *prod = promo_table_column(camp, "product_id");
    const promo_column *disc = promo_table_column(camp, "discount_pct");
    const char *id = m->promotion_id;
    int rc = table_for_append(s, "promotions", pc, pt, 7, &promos);
    rc = rc ? rc : table_for_append(s, "exposures", ec, et, 6, &expo);
    rc = rc ? rc : table_for_append(s, "responses", rc_, rt, 5, &resp);
    if (!rc && (id_taken(promos, id) || id_taken(expo, id)))
        rc = promo_fail(PROMO_EUSAGE,
                        "promotion '%s' is already in the log: measured before? "
                        "(--promotion-id names another)",
                        id);
    if (!rc) {
        cell c[] = {{"promotion_id", id, 0, 0},
                    {"product_id", promo_column_str(prod, 0), 0, 0},
                    {"discount_pct", NULL, disc->f64[0], 0},
                    {"start", NULL, 0, m->first_send},
                    {"end", NULL, 0, m->last_end},
                    {"channel", "campaign", 0, 0},
                    {"cost_per_contact", NULL, cost_per_contact, 0}};
        rc = push_row(promos, c, 7);
    }
    for (size_t r = 0; !rc && r < camp->n_rows; r++) {
        const char *cid = promo_column_str(cust, r);
        cell e[] = {
            {"promotion_id", id, 0, 0},    {"customer_id", cid, 0, 0},
            {"ts", NULL, 0, send[r]},      {"arm", hold[r] ? "control" : "treatment", 0, 0},
            {"channel", "campaign", 0, 0}, {"cost", NULL, hold[r] ? 0 : cost_per_contact, 0}};
        cell q[] = {{"promotion_id", id, 0, 0},
                    {"customer_id", cid, 0, 0},
                    {"ts", NULL, 0, send[r] + (int64_t)(window_days * PROMO_SECONDS_PER_DAY)},
                    {"converted", NULL, bought[r], 0},
                    {"revenue", NULL, revenue[r], 0}};
        rc = push_row(expo, e, 6);
        rc = rc ? rc : push_row(resp, q, 5);
    }
    rc = rc ? rc : promo_table_seal(promos);
    rc = rc ? rc : promo_table_seal(expo);
    rc = rc ? rc : promo_table_seal(resp);
    if (!rc && !(rc = promo_store_begin(s))) {
        rc = promo_store_write_table(s, promos);
        rc = rc ? rc : promo_store_write_table(s, expo);
        rc = rc ? rc : promo_store_write_table(s, resp);
        if (rc)
            promo_store_rollback(s);
        else
            rc = promo_store_commit(s);
    }
    promo_table_free(promos);
    promo_table_free(expo);
    promo_table_free(resp);
    return rc;
}

/* Mean and variance (n - 1) of revenue over the rows of one arm. */
static void arm_stats(const uint8_t *hold,
                      int want,
                      const uint8_t *bought,
                      const double *rev,
                      size_t n,
                      promo_measure_arm *a,
                      double *var)
{
    double s = 0, s2 = 0;
    memset(a, 0, sizeof *a);
    for (size_t r = 0; r < n; r++)
        if (hold[r] == want) {
            a->n++;
            a->buyers += bought[r];
            a->revenue += rev[r];
            s += rev[r];
            s2 += rev[r] * rev[r];
        }
    a->rate = a->n ? (double)a->buyers / (double)a->n : NAN;
    a->mean_revenue = a->n ? s / (double)a->n : NAN;
    *var = a->n > 1 ? (s2 - s * s / (double)a->n) / (double)(a->n - 1) : NAN;
    if (*var < 0)
        *var = 0;
}

int promo_measure_run(promo_store *s, const promo_measure_params *p, promo_measure *out)
{
    if (!s || !p || !out)
        return promo_fail(PROMO_EUSAGE, "promo_measure_run: NULL argument");
    memset(out, 0, sizeof *out);
    int rc = check_params(p);
    if (rc)
        return rc;
    static const char *const txc[] = {"customer_id", "product_id", "ts", "quantity", "unit_price"};
    const promo_csv_column want[] = {{"customer_id", PROMO_COL_STRING, 1},
                                     {"product_id", PROMO_COL_STRING, 1},
                                     {"discount_pct", PROMO_COL_FLOAT64, 1},
                                     {"holdout", PROMO_COL_INT64, 0},
                                     {"send_date", PROMO_COL_TIMESTAMP, 0}};
    const char *file = p->campaign_path;
    promo_csv_options co = promo_csv_options_default();
    co.delimiter = ',';
    co.columns = want;
    co.n_columns = sizeof want / sizeof want[0];
    promo_table *camp = NULL, *tx = NULL, *cust_t = NULL, *prod_t = NULL;
    uint32_t *cust_row = NULL, *prod_row = NULL, *tx_code = NULL, *row_of = NULL;
    uint8_t *hold = NULL, *bought = NULL;
    int64_t *send = NULL;
    double *revenue = NULL, *margin = NULL;
    if ((rc = promo_csv_read(file, &co, &camp, NULL)))
        goto done;
    size_t n = camp->n_rows;
    const promo_column *cid = promo_table_column(camp, "customer_id");
    const promo_column *pid = promo_table_column(camp, "product_id");
    const promo_column *disc = promo_table_column(camp, "discount_pct");
    const promo_column *hcol = promo_table_column(camp, "holdout");
    const promo_column *scol = promo_table_column(camp, "send_date");
    if (n == 0) {
        rc = promo_fail(PROMO_EINPUT, "%s: no customer rows", file);
        goto done;
    }
    if (!hcol) {
        rc = promo_fail(PROMO_EINPUT,
                        "%s: no 'holdout' column, so there is nothing to compare "
                        "with: write the campaign with --holdout PCT",
                        file);
        goto done;
    }
    hold = promo_mallocn(n, sizeof *hold);
    send = promo_mallocn(n, sizeof *send);
    bought = promo_calloc(n, sizeof *bought);
    revenue = promo_calloc(n, sizeof *revenue);
    margin = promo_mallocn(n, sizeof *margin);
    if (!hold || !send || !bought || !revenue || !margin) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (size_t r = 0; r < n; r++) {
        if (promo_column_is_null(hcol, r) || (hcol->i64[r] != 0 && hcol->i64[r] != 1)) {
            rc = promo_fail(PROMO_EINPUT,
                            "%s: data row %zu (line %zu): column 'holdout': "
                            "expected 0 or 1",
                            file, r + 1, r + 2);
            goto done;
        }
        hold[r] = (uint8_t)hcol->i64[r];
        if (promo_column_is_null(pid, r) || promo_column_is_null(cid, r)) {
            rc = promo_fail(PROMO_EINPUT, "%s: data row %zu (line %zu): empty %s", file, r + 1,
                            r + 2, promo_column_is_null(cid, r) ? "customer_id" : "product_id");
            goto done;
        }
        if (promo_column_is_null(disc, r) || !(disc->f64[r] >= 0 && disc->f64[r] <= 90)) {
            rc = promo_fail(PROMO_EINPUT,
                            "%s: data row %zu (line %zu): column 'discount_pct': "
                            "expected 0 to 90",
                            file, r + 1, r + 2);
            goto done;
        }
        if (scol && !promo_column_is_null(scol, r))
            send[r] = scol->i64[r];
        else if (p->sent)
            send[r] = p->sent;
        else {
            rc = promo_fail(PROMO_EINPUT,
                            "%s: data row %zu (line %zu): no send_date, and no "
                            "--sent DATE given",
                            file, r + 1, r + 2);
            goto done;
        }
    }
    /* Customers and products must be the workspace's; a customer once per file. */
    if (promo_store_has_table(s, "customers") &&
        (rc = promo_store_read_table(s, "customers", &cust_t)))
        goto done;
    if ((rc = promo_store_read_table(s, "products", &prod_t)) ||
        (rc = map_ids(cid, cust_t, "customer_id", file, "customer", &cust_row)) ||
        (rc = map_ids(pid, prod_t, "product_id", file, "product", &prod_row)))
        goto done;
    {
        uint32_t *seen = promo_calloc(promo_dict_size(cid->dict), sizeof *seen);
        if (!seen) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        for (size_t r = 0; r < n && !rc; r++)
            if (seen[cid->codes[r]]++)
                rc = promo_fail(PROMO_EINPUT,
                                "%s: data row %zu (line %zu): customer '%s' is "
                                "in the file twice",
                                file, r + 1, r + 2, promo_column_str(cid, r));
        promo_free(seen);
        if (rc)
            goto done;
    }
    const promo_column *price = promo_table_column(prod_t, "price");
    const promo_column *cost = promo_table_column(prod_t, "cost");
    for (size_t r = 0; r < n; r++) {
        double pr = price && prod_row ? promo_column_num(price, prod_row[r]) : NAN;
        double co_ = cost && prod_row ? promo_column_num(cost, prod_row[r]) : NAN;
        margin[r] = pr > 0 && co_ >= 0 && co_ <= pr ? (pr - co_) / pr : p->margin;
    }

    /* Purchases of each row's product by its customer inside its window. */
    if ((rc = promo_store_read_columns(s, "transactions", txc, 5, &tx)))
        goto done;
    const promo_column *tc = promo_table_column(tx, "customer_id");
    const promo_column *tp = promo_table_column(tx, "product_id");
    const promo_column *ts = promo_table_column(tx, "ts");
    const promo_column *tq = promo_table_column(tx, "quantity");
    const promo_column *tu = promo_table_column(tx, "unit_price");
    uint32_t ncode = promo_dict_size(tc->dict);
    tx_code = promo_mallocn(n, sizeof *tx_code);
    row_of = promo_mallocn(ncode ? ncode : 1, sizeof *row_of);
    if (!tx_code || !row_of) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    if ((rc = promo_column_map_to(cid, tc->dict, tx_code)))
        goto done;
    for (uint32_t k = 0; k < ncode; k++)
        row_of[k] = UINT32_MAX;
    for (size_t r = 0; r < n; r++)
        if (tx_code[r] != PROMO_DICT_NONE)
            row_of[tx_code[r]] = (uint32_t)r;
    int64_t win = (int64_t)(p->window_days * PROMO_SECONDS_PER_DAY);
    out->first_send = INT64_MAX;
    out->data_end = INT64_MIN;
    for (size_t r = 0; r < n; r++) {
        if (send[r] < out->first_send)
            out->first_send = send[r];
        if (send[r] + win > out->last_end)
            out->last_end = send[r] + win;
    }
    for (size_t i = 0; i < tx->n_rows; i++) {
        if (!promo_column_is_null(ts, i) && ts->i64[i] > out->data_end)
            out->data_end = ts->i64[i];
        if (promo_column_is_null(tc, i) || promo_column_is_null(tp, i) ||
            promo_column_is_null(ts, i))
            continue;
        uint32_t r = row_of[tc->codes[i]];
        if (r == UINT32_MAX || ts->i64[i] < send[r] || ts->i64[i] >= send[r] + win)
            continue;
        const char *prod = promo_dict_key(tp->dict, tp->codes[i]);
        if (strcmp(prod, promo_column_str(pid, r)))
            continue;
        double q = promo_column_num(tq, i), u = promo_column_num(tu, i);
        if (!(q > 0))
            continue;
        bought[r] = 1;
        if (isfinite(u))
            revenue[r] += q * u;
    }
    out->complete = out->data_end >= out->last_end - 1;

    /* The comparison. */
    double var_t, var_h;
    arm_stats(hold, 0, bought, revenue, n, &out->treated, &var_t);
    arm_stats(hold, 1, bought, revenue, n, &out->holdout, &var_h);
    if (out->holdout.n == 0) {
        rc = promo_fail(PROMO_EINPUT, "%s: no holdout row (holdout = 1): nothing to compare with",
                        file);
        goto done;
    }
    if (out->treated.n == 0) {
        rc =
            promo_fail(PROMO_EINPUT, "%s: every row is in the holdout: nobody was contacted", file);
        goto done;
    }
    double z = gsl_cdf_ugaussian_Pinv(0.5 + p->level / 2);
    double nt = (double)out->treated.n, nh = (double)out->holdout.n;
    double pt = out->treated.rate, ph = out->holdout.rate;
    double se = sqrt(pt * (1 - pt) / nt + ph * (1 - ph) / nh);
    out->level = p->level;
    out->diff = pt - ph;
    out->diff_lo = out->diff - z * se;
    out->diff_hi = out->diff + z * se;
    out->inc_conversions = nt * out->diff;
    out->inc_conv_lo = nt * out->diff_lo;
    out->inc_conv_hi = nt * out->diff_hi;
    double dm = out->treated.mean_revenue - out->holdout.mean_revenue;
    double sem = sqrt((isfinite(var_t) ? var_t / nt : 0) + (isfinite(var_h) ? var_h / nh : 0));
    out->inc_revenue = nt * dm;
    out->inc_rev_lo = nt * (dm - z * sem);
    out->inc_rev_hi = nt * (dm + z * sem);
    double msum = 0;
    for (size_t r = 0; r < n; r++)
        if (!hold[r]) {
            msum += margin[r];
            out->discount_cost += revenue[r] * disc->f64[r] / 100;
        }
    out->margin = msum / nt;
    out->contact_cost = nt * p->cost_per_contact;
    double fixed = out->discount_cost + out->contact_cost;
    out->inc_profit = out->inc_revenue * out->margin - fixed;
    out->inc_profit_lo = out->inc_rev_lo * out->margin - fixed;
    out->inc_profit_hi = out->inc_rev_hi * out->margin - fixed;
    if (out->treated.n < MIN_ARM || out->holdout.n < MIN_ARM) {
        out->verdict = PROMO_MEASURE_TOO_SMALL;
        out->verdict_text = "too small to tell: fewer than 20 customers in an arm";
    } else if (out->inc_profit_lo > 0) {
        out->verdict = PROMO_MEASURE_GAIN;
        out->verdict_text = "the campaign earned money: the whole interval is above zero";
    } else if (out->inc_profit_hi < 0) {
        out->verdict = PROMO_MEASURE_LOSS;
        out->verdict_text = "the campaign lost money: the whole interval is below zero";
    } else {
        out->verdict = PROMO_MEASURE_UNCLEAR;
        out->verdict_text = "cannot tell: the interval holds zero (a larger holdout or a longer "
                            "window would narrow it)";
    }
    if (p->promotion_id)
        snprintf(out->promotion_id, sizeof out->promotion_id, "%s", p->promotion_id);
    else {
        const char *base = strrchr(file, '/');
        snprintf(out->promotion_id, sizeof out->promotion_id, "measured:%s",
                 base ? base + 1 : file);
    }
    if (p->log) {
        if (!out->complete) {
            rc = promo_fail(PROMO_EUSAGE, "--log: the data ends before the last window does; "
                                          "ingest the rest of the period first");
            goto done;
        }
        if ((rc = log_campaign(s, out, camp, hold, send, bought, revenue, p->cost_per_contact,
                               p->window_days)))
            goto done;
        out->logged = n;
    }
done:
    promo_table_free(camp);
    promo_table_free(tx);
    promo_table_free(cust_t);
    promo_table_free(prod_t);
    promo_free(cust_row);
    promo_free(prod_row);
    promo_free(tx_code);
    promo_free(row_of);
    promo_free(hold);
    promo_free(send);
    promo_free(bought);
    promo_free(revenue);
    promo_free(margin);
    return rc;
}
