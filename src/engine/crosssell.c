/* Cross-sell campaigns (promo/crosssell.h): rules predicting X, then the customers they fit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/assoc.h>
#include <promo/baskets.h>
#include <promo/campaign.h>
#include <promo/crosssell.h>
#include <promo/csv.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/store.h>

promo_crosssell_params promo_crosssell_params_default(void)
{
    return (promo_crosssell_params){.min_support = 0.0005,
                                    .min_confidence = 0.05,
                                    .min_lift = 1.5,
                                    .max_len = 3,
                                    .discount_pct = 10,
                                    .send_hour = 10};
}

void promo_crosssell_free(promo_crosssell *c)
{
    if (!c)
        return;
    for (size_t r = 0; r < c->n_rules; r++)
        promo_free(c->rules[r].antecedent);
    promo_free(c->rules);
    promo_table_free(c->file);
    promo_free(c);
}

void promo_crosssell_default_path(promo_store *s, const char *product_id, char *out, size_t n)
{
    snprintf(out, n, "%s/crosssell_%s.csv", promo_store_out_dir(s), product_id);
}

int promo_crosssell_write(const promo_crosssell *c, const char *path)
{
    return promo_csv_write(path, c->file);
}

/* A customer's best rule. */
typedef struct fit {
    uint32_t key;  /* customer key */
    uint32_t rule; /* index into the mined rules */
} fit;

static int cmp_fit(const void *x, const void *y, void *ctx)
{
    const promo_assoc *a = ctx;
    const fit *p = x, *q = y;
    const promo_assoc_rule *r = promo_assoc_rule_at(a, p->rule),
                           *s = promo_assoc_rule_at(a, q->rule);
    if (r->confidence != s->confidence)
        return r->confidence > s->confidence ? -1 : 1;
    if (r->lift != s->lift)
        return r->lift > s->lift ? -1 : 1;
    return (p->key > q->key) - (p->key < q->key);
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* Names and locations of the customers (NULL columns when absent), by basket customer key. */
typedef struct people {
    promo_table *t;
    const promo_column *name, *location;
    uint32_t *row; /* customer key -> customers row, or PROMO_DICT_NONE */
} people;

static int people_load(promo_store *s, const promo_basket_file *f, people *pp)
{
    memset(pp, 0, sizeof *pp);
    uint32_t n = promo_basket_file_n_customers(f);
    if (!(pp->row = promo_mallocn(n ? n : 1, sizeof *pp->row)))
        return PROMO_ENOMEM;
    for (uint32_t k = 0; k < n; k++)
        pp->row[k] = PROMO_DICT_NONE;
    if (!promo_store_has_table(s, "customers"))
        return PROMO_OK;
    int rc = promo_store_read_table(s, "customers", &pp->t);
    if (rc)
        return rc;
    const promo_column *id = promo_table_column(pp->t, "customer_id");
    pp->name = promo_table_column(pp->t, "name");
    pp->location = promo_table_column(pp->t, "location");
    for (size_t r = 0; id && r < pp->t->n_rows; r++) {
        uint32_t k = promo_basket_file_find_customer(f, promo_column_str(id, r));
        if (k != PROMO_DICT_NONE)
            pp->row[k] = (uint32_t)r;
    }
    return PROMO_OK;
}

static void people_free(people *pp)
{
    promo_table_free(pp->t);
    promo_free(pp->row);
}

static const char *people_str(const people *pp, const promo_column *c, uint32_t key)
{
    return c && pp->row[key] != PROMO_DICT_NONE ? promo_column_str(c, pp->row[key]) : "";
}

/* Product names by basket item (NULL when the products table has none). */
static int
product_names(promo_store *s, const promo_basket_file *f, promo_table **t, uint32_t **row)
{
    static const char *const cols[] = {"product_id", "name"};
    promo_baskets b = promo_basket_file_view(f);
    *t = NULL;
    if (!(*row = promo_mallocn(b.n_items ? b.n_items : 1, sizeof **row)))
        return PROMO_ENOMEM;
    for (uint32_t i = 0; i < b.n_items; i++)
        (*row)[i] = PROMO_DICT_NONE;
    if (promo_store_read_columns(s, "products", cols, 2, t)) {
        promo_table_free(*t);
        *t = NULL;
        return PROMO_OK; /* no names: ids are shown instead */
    }
    const promo_column *id = promo_table_column(*t, "product_id");
    for (size_t r = 0; r < (*t)->n_rows; r++) {
        uint32_t i = promo_basket_file_find_item(f, promo_column_str(id, r));
        if (i != PROMO_DICT_NONE)
            (*row)[i] = (uint32_t)r;
    }
    return PROMO_OK;
}

static const char *
product_label(const promo_table *t, const uint32_t *row, const promo_basket_file *f, uint32_t item)
{
    if (t && row[item] != PROMO_DICT_NONE) {
        const char *nm = promo_column_str(promo_table_column(t, "name"), row[item]);
        if (*nm)
            return nm;
    }
    return promo_basket_file_item(f, item);
}

static int check_params(const promo_crosssell_params *p)
{
    if (!p->product_id || !*p->product_id)
        return promo_fail(PROMO_EUSAGE, "--product: required");
    if (!(p->discount_pct >= 0 && p->discount_pct <= 90))
        return promo_fail(PROMO_EUSAGE, "--discount: expected 0 to 90, got %g", p->discount_pct);
    if (p->max_len < 2)
        return promo_fail(PROMO_EUSAGE, "--max-len: a rule needs at least 2 items, got %d",
                          p->max_len);
    if (p->send_day < 0 || p->send_day > 3650 || p->send_hour < 0 || p->send_hour > 23)
        return promo_fail(PROMO_EUSAGE, "send day 0-3650 and hour 0-23 expected");
    return PROMO_OK;
}

/* The campaign file's columns (campaign.h's written ones, then the rule's). */
enum {
    C_CUST,
    C_NAME,
    C_LOC,
    C_PROB,
    C_REASON,
    C_PROD,
    C_DISC,
    C_DAY,
    C_HOUR,
    C_BUNDLE,
    C_ANTE,
    C_CONF,
    C_LIFT,
    C_COUNT
};

static int file_new(promo_table **out)
{
    static const struct {
        const char *name;
        promo_col_type type;
    } cols[C_COUNT] = {
        [C_CUST] = {"customer_id", PROMO_COL_STRING},
        [C_NAME] = {"name", PROMO_COL_STRING},
        [C_LOC] = {"location", PROMO_COL_STRING},
        [C_PROB] = {"probability", PROMO_COL_FLOAT64},
        [C_REASON] = {"reason", PROMO_COL_STRING},
        [C_PROD] = {"product_id", PROMO_COL_STRING},
        [C_DISC] = {"discount_pct", PROMO_COL_FLOAT64},
        [C_DAY] = {"send_day", PROMO_COL_INT64},
        [C_HOUR] = {"send_hour", PROMO_COL_INT64},
        [C_BUNDLE] = {"bundle_product_id", PROMO_COL_STRING},
        [C_ANTE] = {"antecedent", PROMO_COL_STRING},
        [C_CONF] = {"confidence", PROMO_COL_FLOAT64},
        [C_LIFT] = {"lift", PROMO_COL_FLOAT64},
    };
    promo_table *t = promo_table_new("crosssell");
    int rc = t ? PROMO_OK : PROMO_ENOMEM;
    for (int k = 0; !rc && k < C_COUNT; k++)
        rc = promo_table_add_column(t, cols[k].name, cols[k].type, NULL);
    if (rc) {
        promo_table_free(t);
        return rc;
    }
    *out = t;
    return PROMO_OK;
}

static int push_str(promo_table *t, int k, const char *v)
{
    return promo_column_push_str(t->cols[k], v, strlen(v));
}

int promo_crosssell_build(promo_store *s, const promo_crosssell_params *p, promo_crosssell **out)
{
    if (!s || !p || !out)
        return promo_fail(PROMO_EUSAGE, "promo_crosssell_build: NULL argument");
    *out = NULL;
    int rc = check_params(p);
    if (rc)
        return rc;
    promo_basket_file *f = NULL;
    promo_assoc *a = NULL;
    promo_table *names = NULL;
    uint32_t *name_row = NULL, *bought = NULL, *fits_of = NULL;
    uint64_t *cptr = NULL;
    fit *fits = NULL;
    people pp = {0};
    char *text = NULL;
    promo_crosssell *c = promo_calloc(1, sizeof *c);
    if (!c)
        return PROMO_ENOMEM;
    snprintf(c->product_id, sizeof c->product_id, "%s", p->product_id);
    if ((rc = promo_baskets_from_store(s, p->as_of, 0, &f)) || (rc = file_new(&c->file)))
        goto fail;
    promo_baskets b = promo_basket_file_view(f);
    c->n_orders = b.n;
    uint32_t x = promo_basket_file_find_item(f, p->product_id);
    if (x == PROMO_DICT_NONE) {
        rc = promo_fail(PROMO_EINPUT, "--product %s: no order holds it%s", p->product_id,
                        p->as_of ? " before --as-of" : "");
        goto fail;
    }
    promo_assoc_params ap = promo_assoc_params_default();
    ap.min_support = p->min_support;
    ap.min_confidence = p->min_confidence;
    ap.min_lift = p->min_lift;
    ap.max_len = p->max_len;
    ap.rhs_only = x;
    ap.n_threads = p->n_threads;
    if ((rc = promo_assoc_mine(&ap, &b, &a)))
        goto fail;
    c->x_orders = promo_assoc_item_count(a, x);
    size_t nr = promo_assoc_n_rules(a);
    if (nr && !(c->rules = promo_calloc(nr, sizeof *c->rules))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    for (size_t r = 0; r < nr; r++, c->n_rules++) {
        const promo_assoc_rule *ru = promo_assoc_rule_at(a, r);
        const uint32_t *lhs = promo_assoc_rule_lhs(a, r);
        size_t len = 0;
        for (uint32_t k = 0; k < ru->lhs_len; k++)
            len += strlen(promo_basket_file_item(f, lhs[k])) + 1;
        if (!(c->rules[r].antecedent = promo_malloc(len + 1))) {
            rc = PROMO_ENOMEM;
            goto fail;
        }
        char *w = c->rules[r].antecedent;
        for (uint32_t k = 0; k < ru->lhs_len; k++)
            w += sprintf(w, "%s%s", k ? "+" : "", promo_basket_file_item(f, lhs[k]));
        c->rules[r].support = ru->support;
        c->rules[r].confidence = ru->confidence;
        c->rules[r].lift = ru->lift;
        c->rules[r].count = ru->count;
    }

    /* Each customer's products (distinct, ascending) from their baskets: a CSR by key. */
    uint32_t nc = promo_basket_file_n_customers(f);
    cptr = promo_calloc((size_t)nc + 1, sizeof *cptr);
    bought = promo_mallocn(b.n ? b.ptr[b.n] + 1 : 1, sizeof *bought);
    if (!cptr || !bought) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < b.n; i++)
        cptr[promo_basket_file_customer(f, i) + 1] += b.ptr[i + 1] - b.ptr[i];
    for (uint32_t k = 0; k < nc; k++)
        cptr[k + 1] += cptr[k];
    {
        uint64_t *at = promo_mallocn((size_t)nc + 1, sizeof *at);
        if (!at) {
            rc = PROMO_ENOMEM;
            goto fail;
        }
        memcpy(at, cptr, ((size_t)nc + 1) * sizeof *at);
        for (size_t i = 0; i < b.n; i++) {
            uint32_t k = promo_basket_file_customer(f, i);
            for (uint64_t j = b.ptr[i]; j < b.ptr[i + 1]; j++)
                bought[at[k]++] = b.item[j];
        }
        promo_free(at);
    }
    uint64_t w = 0;
    for (uint32_t k = 0; k < nc; k++) {
        uint64_t s0 = cptr[k], e = cptr[k + 1];
        qsort(bought + s0, e - s0, sizeof *bought, cmp_u32);
        cptr[k] = w;
        for (uint64_t j = s0; j < e; j++)
            if (j == s0 || bought[j] != bought[j - 1])
                bought[w++] = bought[j];
    }
    cptr[nc] = w;

    /* The best rule for every customer who has not bought X (rules come by lift; the best
     * is the most confident, so every rule is tried). */
    if (!(fits = promo_mallocn(nc ? nc : 1, sizeof *fits))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    size_t nf = 0;
    for (uint32_t k = 0; k < nc; k++) {
        const uint32_t *it = bought + cptr[k];
        size_t m = cptr[k + 1] - cptr[k];
        if (bsearch(&x, it, m, sizeof *it, cmp_u32)) {
            c->n_buyers++;
            continue;
        }
        uint32_t best = UINT32_MAX;
        for (size_t r = 0; r < nr; r++) {
            const promo_assoc_rule *ru = promo_assoc_rule_at(a, r);
            const uint32_t *lhs = promo_assoc_rule_lhs(a, r);
            uint32_t q = 0;
            while (q < ru->lhs_len && bsearch(&lhs[q], it, m, sizeof *it, cmp_u32))
                q++;
            if (q < ru->lhs_len)
                continue;
            c->rules[r].fits++;
            if (best == UINT32_MAX || ru->confidence > promo_assoc_rule_at(a, best)->confidence)
                best = (uint32_t)r;
        }
        if (best != UINT32_MAX) {
            fits[nf++] = (fit){k, best};
            c->rules[best].customers++;
        }
    }
    c->n_matched = nf;
    qsort_r(fits, nf, sizeof *fits, cmp_fit, a);
    size_t keep = p->n_target && p->n_target < nf ? p->n_target : nf;

    if ((rc = people_load(s, f, &pp)) || (rc = product_names(s, f, &names, &name_row)))
        goto fail;
    const char *xlabel = product_label(names, name_row, f, x);
    size_t cap_text = 0;
    for (size_t i = 0; !rc && i < keep; i++) {
        const promo_assoc_rule *ru = promo_assoc_rule_at(a, fits[i].rule);
        const uint32_t *lhs = promo_assoc_rule_lhs(a, fits[i].rule);
        /* The bundle partner: the antecedent in the most orders. */
        uint32_t partner = lhs[0];
        for (uint32_t q = 1; q < ru->lhs_len; q++)
            if (promo_assoc_item_count(a, lhs[q]) > promo_assoc_item_count(a, partner))
                partner = lhs[q];
        size_t need = 128 + strlen(xlabel);
        for (uint32_t q = 0; q < ru->lhs_len; q++)
            need += strlen(product_label(names, name_row, f, lhs[q])) + 8;
        if (promo_grow((void **)&text, &cap_text, need, 1)) {
            rc = PROMO_ENOMEM;
            break;
        }
        int at = sprintf(text, "bought ");
        for (uint32_t q = 0; q < ru->lhs_len; q++)
            at += sprintf(text + at, "%s%s", q ? (q + 1 == ru->lhs_len ? " and " : ", ") : "",
                          product_label(names, name_row, f, lhs[q]));
        sprintf(text + at, " but never %s; %.0f%% of orders with %s also hold it (%.1fx usual)",
                xlabel, 100 * ru->confidence, ru->lhs_len > 1 ? "them" : "it", ru->lift);
        uint32_t key = fits[i].key;
        promo_table *t = c->file;
        rc = push_str(t, C_CUST, promo_basket_file_customer_id(f, key));
        rc = rc ? rc : push_str(t, C_NAME, people_str(&pp, pp.name, key));
        rc = rc ? rc : push_str(t, C_LOC, people_str(&pp, pp.location, key));
        rc = rc ? rc : promo_column_push_f64(t->cols[C_PROB], ru->confidence);
        rc = rc ? rc : push_str(t, C_REASON, text);
        rc = rc ? rc : push_str(t, C_PROD, p->product_id);
        rc = rc ? rc : promo_column_push_f64(t->cols[C_DISC], p->discount_pct);
        rc = rc ? rc : promo_column_push_i64(t->cols[C_DAY], p->send_day);
        rc = rc ? rc : promo_column_push_i64(t->cols[C_HOUR], p->send_hour);
        rc = rc ? rc : push_str(t, C_BUNDLE, promo_basket_file_item(f, partner));
        rc = rc ? rc : push_str(t, C_ANTE, c->rules[fits[i].rule].antecedent);
        rc = rc ? rc : promo_column_push_f64(t->cols[C_CONF], ru->confidence);
        rc = rc ? rc : promo_column_push_f64(t->cols[C_LIFT], ru->lift);
    }
    if (!rc)
        rc = promo_table_seal(c->file);
    if (rc)
        goto fail;
    *out = c;
    c = NULL;
fail:
    promo_free(text);
    people_free(&pp);
    promo_table_free(names);
    promo_free(name_row);
    promo_free(fits);
    promo_free(fits_of);
    promo_free(bought);
    promo_free(cptr);
    promo_assoc_free(a);
    promo_basket_file_free(f);
    promo_crosssell_free(c);
    return rc;
}
