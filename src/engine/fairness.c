/* src/engine/fairness.c: selection rates, disparate impact and equal opportunity by protected
 * group, and the cheapest selection that holds a minimum ratio (include/promo/fairness.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/fairness.h>
#include <promo/store.h>
#include <promo/table.h>

static const char *const attr_names[PROMO_FAIR_ATTR_COUNT] = {"gender", "age", "location"};
static const char *const age_names[6] = {"<25", "25-34", "35-44", "45-54", "55-64", "65+"};

const char *promo_fair_attr_name(promo_fair_attr a)
{
    return (int)a >= 0 && a < PROMO_FAIR_ATTR_COUNT ? attr_names[a] : "?";
}

int promo_fair_attr_parse(const char *name, promo_fair_attr *out)
{
    for (int a = 0; name && a < PROMO_FAIR_ATTR_COUNT; a++)
        if (strcmp(name, attr_names[a]) == 0) {
            *out = (promo_fair_attr)a;
            return PROMO_OK;
        }
    return promo_fail(PROMO_EUSAGE, "--fair-attr: expected gender, age or location, got '%s'",
                      name ? name : "(null)");
}

int promo_fair_age_band(double age)
{
    if (!(age >= 0))
        return -1;
    if (age < 25)
        return 0;
    if (age >= 65)
        return 5;
    return 1 + (int)((age - 25) / 10);
}

void promo_fair_groups_free(promo_fair_groups *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_groups; i++)
        promo_free(g->names[i]);
    promo_free(g->names);
    promo_free(g->group);
    promo_free(g);
}

static promo_fair_groups *groups_new(promo_fair_attr a, size_t n)
{
    promo_fair_groups *g = promo_calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->attr = a;
    g->n = n;
    if (!(g->group = promo_mallocn(n ? n : 1, sizeof *g->group))) {
        promo_free(g);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        g->group[i] = PROMO_FAIR_NONE;
    return g;
}

/* The group names: the age bands, or the dictionary's keys in code order. */
static int groups_names(promo_fair_groups *g, const promo_dict *d)
{
    size_t m = g->attr == PROMO_FAIR_AGE ? 6 : promo_dict_size(d);
    if (!(g->names = promo_calloc(m ? m : 1, sizeof *g->names)))
        return PROMO_ENOMEM;
    for (size_t k = 0; k < m; k++) {
        g->names[k] = g->attr == PROMO_FAIR_AGE ? promo_strdup(age_names[k])
                                                : promo_strndup(promo_dict_key(d, (uint32_t)k),
                                                                promo_dict_key_len(d, (uint32_t)k));
        if (!g->names[k])
            return PROMO_ENOMEM;
        g->n_groups = k + 1;
    }
    return PROMO_OK;
}

/* The group of one text value (NULL or "" = none): an age band, or the dictionary's code. */
static uint32_t value_group(promo_fair_attr a, promo_dict *d, const char *v)
{
    if (!v || !*v)
        return PROMO_FAIR_NONE;
    if (a == PROMO_FAIR_AGE) {
        char *end = NULL;
        double x = strtod(v, &end);
        int b = end != v && !*end ? promo_fair_age_band(x) : -1;
        return b < 0 ? PROMO_FAIR_NONE : (uint32_t)b;
    }
    return promo_dict_intern(d, v, strlen(v));
}

int promo_fair_groups_from_values(promo_fair_attr a,
                                  const char *const *values,
                                  size_t n,
                                  promo_fair_groups **out)
{
    *out = NULL;
    if ((int)a < 0 || a >= PROMO_FAIR_ATTR_COUNT)
        return promo_fail(PROMO_EUSAGE, "--fair-attr: unknown attribute %d", (int)a);
    promo_fair_groups *g = groups_new(a, n);
    promo_dict *d = promo_dict_new();
    int rc = PROMO_ENOMEM;
    if (!g || !d)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        g->group[i] = value_group(a, d, values[i]);
        if (a != PROMO_FAIR_AGE && values[i] && *values[i] && g->group[i] == PROMO_DICT_NONE)
            goto fail;
        g->available |= g->group[i] != PROMO_FAIR_NONE;
    }
    if ((rc = groups_names(g, d)))
        goto fail;
    promo_dict_free(d);
    *out = g;
    return PROMO_OK;
fail:
    promo_dict_free(d);
    promo_fair_groups_free(g);
    return rc;
}

int promo_fair_groups_load(
    promo_store *s, promo_fair_attr a, const char *const *ids, size_t n, promo_fair_groups **out)
{
    *out = NULL;
    if ((int)a < 0 || a >= PROMO_FAIR_ATTR_COUNT)
        return promo_fail(PROMO_EUSAGE, "--fair-attr: unknown attribute %d", (int)a);
    promo_fair_groups *g = groups_new(a, n);
    promo_dict *d = promo_dict_new();
    promo_table *t = NULL;
    uint32_t *row_group = NULL;
    size_t *row_of = NULL;
    int rc = PROMO_ENOMEM;
    if (!g || !d)
        goto fail;
    if (promo_store_has_table(s, "customers") && (rc = promo_store_read_table(s, "customers", &t)))
        goto fail;
    const promo_column *id = t ? promo_table_column(t, "customer_id") : NULL;
    const promo_column *v = t ? promo_table_column(t, attr_names[a]) : NULL;
    rc = PROMO_ENOMEM;
    if (id && v && id->type == PROMO_COL_STRING) {
        /* every row's group, interned in table order (groups by first appearance) */
        size_t rows = t->n_rows;
        if (!(row_group = promo_mallocn(rows ? rows : 1, sizeof *row_group)))
            goto fail;
        for (size_t r = 0; r < rows; r++) {
            uint32_t grp = PROMO_FAIR_NONE;
            if (promo_column_is_null(v, r)) {
                grp = PROMO_FAIR_NONE;
            } else if (v->type == PROMO_COL_STRING) {
                grp = value_group(a, d, promo_column_str(v, r));
            } else if (a == PROMO_FAIR_AGE) {
                int b = promo_fair_age_band(promo_column_num(v, r));
                grp = b < 0 ? PROMO_FAIR_NONE : (uint32_t)b;
            } else { /* a number where a word was expected: its text */
                char buf[64];
                snprintf(buf, sizeof buf, "%g", promo_column_num(v, r));
                grp = value_group(a, d, buf);
            }
            /* an interned value's code is below the dictionary's size; NONE after a value
             * means the allocation failed */
            if (a != PROMO_FAIR_AGE && v->type == PROMO_COL_STRING && grp == PROMO_FAIR_NONE &&
                !promo_column_is_null(v, r) && *promo_column_str(v, r))
                goto fail;
            row_group[r] = grp;
            g->available |= grp != PROMO_FAIR_NONE;
        }
        uint32_t codes = promo_dict_size(id->dict);
        if (!(row_of = promo_mallocn(codes ? codes : 1, sizeof *row_of)))
            goto fail;
        for (uint32_t c = 0; c < codes; c++)
            row_of[c] = SIZE_MAX;
        for (size_t r = 0; r < rows; r++)
            if (!promo_column_is_null(id, r) && id->codes[r] < codes)
                row_of[id->codes[r]] = r;
        for (size_t i = 0; i < n; i++) {
            uint32_t c =
                ids[i] ? promo_dict_find(id->dict, ids[i], strlen(ids[i])) : PROMO_DICT_NONE;
            if (c != PROMO_DICT_NONE && c < codes && row_of[c] != SIZE_MAX)
                g->group[i] = row_group[row_of[c]];
        }
    }
    if ((rc = groups_names(g, d)))
        goto fail;
    promo_free(row_of);
    promo_free(row_group);
    promo_table_free(t);
    promo_dict_free(d);
    *out = g;
    return PROMO_OK;
fail:
    promo_free(row_of);
    promo_free(row_group);
    promo_table_free(t);
    promo_dict_free(d);
    promo_fair_groups_free(g);
    return rc;
}

/* ------------------------------------------------------------------ report ---- */

void promo_fair_report_free(promo_fair_report *r)
{
    if (!r)
        return;
    promo_free(r->groups);
    promo_free(r);
}

static int is_qualified(const promo_fair_input *in, size_t i)
{
    if (in->qualified)
        return in->qualified[i] != 0;
    return in->uplift && in->uplift[i] > 0;
}

static void stats_add(promo_fair_group_stats *st, const promo_fair_input *in, size_t i)
{
    st->population++;
    int q = is_qualified(in, i);
    st->qualified += (size_t)q;
    if (in->selected[i]) {
        st->selected++;
        st->qualified_selected += (size_t)q;
        st->benefit += in->profit ? in->profit[i] : 0; /* sums until stats_close */
        st->mean_uplift += in->uplift ? in->uplift[i] : 0;
    }
}

static void stats_close(promo_fair_group_stats *st, const promo_fair_input *in, size_t min_group)
{
    st->rate = st->population ? (double)st->selected / (double)st->population : NAN;
    st->benefit = st->selected && in->profit ? st->benefit / (double)st->selected : NAN;
    st->mean_uplift = st->selected && in->uplift ? st->mean_uplift / (double)st->selected : NAN;
    st->opportunity = st->qualified ? (double)st->qualified_selected / (double)st->qualified : NAN;
    st->rated = st->population > 0 && st->population >= min_group;
}

int promo_fairness_report(const promo_fair_input *in,
                          const promo_fair_groups *g,
                          promo_fair_report **out)
{
    *out = NULL;
    if (!in || !g || g->n != in->n || !in->selected)
        return promo_fail(PROMO_EUSAGE, "fairness: candidates and groups of different sizes");
    promo_fair_report *r = promo_calloc(1, sizeof *r);
    if (!r || !(r->groups = promo_calloc(g->n_groups ? g->n_groups : 1, sizeof *r->groups))) {
        promo_fair_report_free(r);
        return PROMO_ENOMEM;
    }
    r->attr = g->attr;
    r->available = g->available;
    r->n_groups = g->n_groups;
    r->eo_available = in->qualified || in->uplift;
    for (size_t k = 0; k < g->n_groups; k++)
        snprintf(r->groups[k].name, sizeof r->groups[k].name, "%s", g->names[k]);
    snprintf(r->unknown.name, sizeof r->unknown.name, "unknown");
    for (size_t i = 0; i < in->n; i++) {
        uint32_t k = g->group[i];
        stats_add(k < g->n_groups ? &r->groups[k] : &r->unknown, in, i);
    }
    size_t mg = in->min_group;
    stats_close(&r->unknown, in, SIZE_MAX);
    r->unknown.rated = 0;
    double lo = INFINITY, hi = -INFINITY, olo = INFINITY, ohi = -INFINITY;
    size_t rated = 0, orated = 0;
    for (size_t k = 0; k < g->n_groups; k++) {
        promo_fair_group_stats *st = &r->groups[k];
        stats_close(st, in, mg);
        if (!st->rated)
            continue;
        rated++;
        if (st->rate < lo) {
            lo = st->rate;
            r->di_min_group = k;
        }
        if (st->rate > hi) {
            hi = st->rate;
            r->di_max_group = k;
        }
        if (r->eo_available && st->qualified) {
            orated++;
            olo = st->opportunity < olo ? st->opportunity : olo;
            ohi = st->opportunity > ohi ? st->opportunity : ohi;
        }
    }
    r->di_ratio = rated >= 2 && hi > 0 ? lo / hi : NAN;
    r->four_fifths = isnan(r->di_ratio) ? -1 : r->di_ratio >= 0.8;
    r->eo_difference = orated >= 2 ? ohi - olo : NAN;
    *out = r;
    return PROMO_OK;
}

double promo_fairness_di(const uint8_t *selected, const promo_fair_groups *g, size_t min_group)
{
    size_t G = g->n_groups;
    size_t *pop = promo_calloc(2 * (G ? G : 1), sizeof *pop);
    if (!pop)
        return NAN;
    size_t *sel = pop + (G ? G : 1);
    for (size_t i = 0; i < g->n; i++)
        if (g->group[i] < G) {
            pop[g->group[i]]++;
            sel[g->group[i]] += selected[i] != 0;
        }
    double lo = INFINITY, hi = -INFINITY;
    size_t rated = 0;
    for (size_t k = 0; k < G; k++)
        if (pop[k] && pop[k] >= min_group) {
            double rt = (double)sel[k] / (double)pop[k];
            lo = rt < lo ? rt : lo;
            hi = rt > hi ? rt : hi;
            rated++;
        }
    promo_free(pop);
    return rated >= 2 && hi > 0 ? lo / hi : NAN;
}

/* ------------------------------------------------------------- enforcement ---- */

void promo_fair_enforced_free(promo_fair_enforced *e)
{
    if (!e)
        return;
    promo_free(e->selected);
    promo_free(e);
}

/* Members of one rated group (or the free pool), by profit descending (ties: index). */
typedef struct member_list {
    uint32_t *idx;
    size_t n;
} member_list;

static const double *g_sort_profit; /* qsort has no context argument */

static int by_profit_desc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    double px = g_sort_profit[x], py = g_sort_profit[y];
    if (px != py)
        return px > py ? -1 : 1;
    return (x > y) - (x < y);
}

static int by_double_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Lists: 0..G-1 the rated groups, G the free pool (unknown, small groups). */
static int build_lists(const promo_fair_input *in,
                       const promo_fair_groups *g,
                       const uint8_t *rated,
                       member_list *L,
                       uint32_t *storage)
{
    size_t G = g->n_groups;
    size_t *cnt = promo_calloc(G + 1, sizeof *cnt);
    if (!cnt)
        return PROMO_ENOMEM;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t k = g->group[i];
        cnt[k < G && rated[k] ? k : G]++;
    }
    size_t at = 0;
    for (size_t k = 0; k <= G; k++) {
        L[k].idx = storage + at;
        at += cnt[k];
        L[k].n = 0;
    }
    for (size_t i = 0; i < in->n; i++) {
        uint32_t k = g->group[i];
        size_t l = k < G && rated[k] ? k : G;
        L[l].idx[L[l].n++] = (uint32_t)i;
    }
    g_sort_profit = in->profit;
    for (size_t k = 0; k <= G; k++)
        qsort(L[k].idx, L[k].n, sizeof *L[k].idx, by_profit_desc);
    promo_free(cnt);
    return PROMO_OK;
}

/* Exact: see the header. Writes the best selection into sel (n); 0 when none is feasible. */
static int enforce_exact(const promo_fair_input *in,
                         const member_list *L,
                         size_t G,
                         const uint8_t *rated,
                         size_t k,
                         double r,
                         uint8_t *sel,
                         int *found)
{
    *found = 0;
    size_t n = in->n;
    double *pool = promo_mallocn(n ? n : 1, sizeof *pool);
    size_t *lo = promo_mallocn(G + 1, sizeof *lo), *hi = promo_mallocn(G + 1, sizeof *hi);
    size_t *best_cnt = promo_mallocn(G + 1, sizeof *best_cnt);
    if (!pool || !lo || !hi || !best_cnt) {
        promo_free(pool);
        promo_free(lo);
        promo_free(hi);
        promo_free(best_cnt);
        return PROMO_ENOMEM;
    }
    double best = -INFINITY, best_L = 0;
    for (size_t gl = 0; gl < G; gl++) {
        if (!rated[gl])
            continue;
        for (size_t s = 1; s <= L[gl].n; s++) {
            double Lr = (double)s / (double)L[gl].n;
            size_t sum_lo = 0, room = L[G].n;
            int ok = 1;
            for (size_t q = 0; q < G && ok; q++) {
                if (!rated[q]) {
                    lo[q] = hi[q] = 0;
                    continue;
                }
                double nq = (double)L[q].n;
                /* the tolerance keeps s / n_q == L exactly at its own bound */
                lo[q] = (size_t)ceil(Lr * nq - 1e-9);
                double h = floor(Lr * nq / r + 1e-9);
                hi[q] = h >= nq ? L[q].n : (size_t)h;
                if (lo[q] > hi[q])
                    ok = 0;
                sum_lo += lo[q];
                room += hi[q] - (lo[q] <= hi[q] ? lo[q] : hi[q]);
            }
            if (!ok || sum_lo > k || sum_lo + room < k)
                continue;
            /* the lower bounds' profit, then the best k - sum_lo of what is left */
            double v = 0;
            size_t np = 0;
            for (size_t q = 0; q < G; q++) {
                if (!rated[q])
                    continue;
                for (size_t j = 0; j < lo[q]; j++)
                    v += in->profit[L[q].idx[j]];
                for (size_t j = lo[q]; j < hi[q]; j++)
                    pool[np++] = in->profit[L[q].idx[j]];
            }
            for (size_t j = 0; j < L[G].n; j++)
                pool[np++] = in->profit[L[G].idx[j]];
            qsort(pool, np, sizeof *pool, by_double_desc);
            for (size_t j = 0; j < k - sum_lo; j++)
                v += pool[j];
            if (v > best) {
                best = v;
                best_L = Lr;
                *found = 1;
            }
        }
    }
    if (*found) {
        /* rebuild the selection of best_L: the bounds again, then the top of the rest by a
         * merge over the groups' sorted remainders */
        size_t sum_lo = 0;
        for (size_t q = 0; q < G; q++) {
            if (!rated[q]) {
                lo[q] = hi[q] = 0;
                continue;
            }
            double nq = (double)L[q].n;
            lo[q] = (size_t)ceil(best_L * nq - 1e-9);
            double h = floor(best_L * nq / r + 1e-9);
            hi[q] = h >= nq ? L[q].n : (size_t)h;
            sum_lo += lo[q];
        }
        lo[G] = 0;
        hi[G] = L[G].n;
        memset(sel, 0, n);
        for (size_t q = 0; q <= G; q++)
            best_cnt[q] = lo[q];
        for (size_t left = k - sum_lo; left > 0; left--) {
            size_t bq = SIZE_MAX;
            double bv = -INFINITY;
            uint32_t bi = UINT32_MAX;
            for (size_t q = 0; q <= G; q++) {
                if (best_cnt[q] >= hi[q])
                    continue;
                uint32_t i = L[q].idx[best_cnt[q]];
                double pv = in->profit[i];
                if (pv > bv || (pv == bv && i < bi)) {
                    bv = pv;
                    bq = q;
                    bi = i;
                }
            }
            best_cnt[bq]++;
        }
        for (size_t q = 0; q <= G; q++)
            for (size_t j = 0; j < best_cnt[q]; j++)
                sel[L[q].idx[j]] = 1;
    }
    promo_free(pool);
    promo_free(lo);
    promo_free(hi);
    promo_free(best_cnt);
    return PROMO_OK;
}

/* Greedy swaps between the rated groups (see the header); *reached when the ratio holds. */
static int enforce_greedy(const promo_fair_input *in,
                          const member_list *L,
                          size_t G,
                          const uint8_t *rated,
                          double r,
                          uint8_t *sel,
                          size_t *swaps,
                          int *reached)
{
    *reached = 0;
    *swaps = 0;
    size_t *s = promo_calloc(3 * (G ? G : 1), sizeof *s);
    if (!s)
        return PROMO_ENOMEM;
    /* per group: s (selected), top (all before it are selected), bot (all after it are not) */
    size_t *top = s + G, *bot = s + 2 * G;
    for (size_t q = 0; q < G; q++) {
        top[q] = 0;
        bot[q] = L[q].n;
        for (size_t j = 0; j < L[q].n; j++)
            s[q] += sel[L[q].idx[j]];
    }
    size_t cap = in->n * (G ? G : 1) + 1;
    for (size_t it = 0; it < cap; it++) {
        double lo = INFINITY, hi = -INFINITY;
        size_t qlo = SIZE_MAX, qhi = SIZE_MAX, nr = 0;
        for (size_t q = 0; q < G; q++) {
            if (!rated[q])
                continue;
            nr++;
            double rt = (double)s[q] / (double)L[q].n;
            if (rt < lo) {
                lo = rt;
                qlo = q;
            }
            if (rt > hi) {
                hi = rt;
                qhi = q;
            }
        }
        if (nr < 2 || (hi > 0 && lo / hi >= r)) {
            *reached = nr >= 2 && hi > 0;
            break;
        }
        if (hi <= 0 || s[qlo] >= L[qlo].n || s[qhi] == 0 || qlo == qhi)
            break;
        /* out: the lowest-profit selected of qhi */
        while (bot[qhi] > 0 && !sel[L[qhi].idx[bot[qhi] - 1]])
            bot[qhi]--;
        size_t po = bot[qhi] - 1;
        sel[L[qhi].idx[po]] = 0;
        s[qhi]--;
        if (top[qhi] > po)
            top[qhi] = po;
        bot[qhi] = po;
        /* in: the highest-profit unselected of qlo */
        while (top[qlo] < L[qlo].n && sel[L[qlo].idx[top[qlo]]])
            top[qlo]++;
        size_t pi = top[qlo];
        sel[L[qlo].idx[pi]] = 1;
        s[qlo]++;
        if (bot[qlo] < pi + 1)
            bot[qlo] = pi + 1;
        top[qlo] = pi + 1;
        (*swaps)++;
    }
    promo_free(s);
    return PROMO_OK;
}

int promo_fairness_enforce(const promo_fair_input *in,
                           const promo_fair_groups *g,
                           double min_ratio,
                           promo_fair_method method,
                           promo_fair_enforced **out)
{
    *out = NULL;
    if (!in || !g || g->n != in->n || !in->selected || !in->profit)
        return promo_fail(PROMO_EUSAGE, "fairness: candidates and groups of different sizes");
    if (!(min_ratio > 0 && min_ratio <= 1))
        return promo_fail(PROMO_EUSAGE, "--fair-min-ratio: expected a ratio in (0, 1], got %g",
                          min_ratio);
    if (!g->available)
        return promo_fail(PROMO_EINPUT,
                          "--fair-attr %s: not available (the customers table records no %s)",
                          promo_fair_attr_name(g->attr), promo_fair_attr_name(g->attr));
    size_t n = in->n, G = g->n_groups;
    promo_fair_enforced *e = promo_calloc(1, sizeof *e);
    member_list *L = promo_calloc(G + 1, sizeof *L);
    uint32_t *storage = promo_mallocn(n ? n : 1, sizeof *storage);
    uint8_t *rated = promo_calloc(G ? G : 1, 1);
    size_t *pop = promo_calloc(G ? G : 1, sizeof *pop);
    int rc = PROMO_ENOMEM;
    if (!e || !L || !storage || !rated || !pop || !(e->selected = promo_mallocn(n ? n : 1, 1)))
        goto fail;
    e->n = n;
    memcpy(e->selected, in->selected, n);
    for (size_t i = 0; i < n; i++) {
        e->k += in->selected[i] != 0;
        e->profit_before += in->selected[i] ? in->profit[i] : 0;
        if (g->group[i] < G)
            pop[g->group[i]]++;
    }
    size_t n_rated = 0, sum_rated = 0;
    for (size_t q = 0; q < G; q++) {
        rated[q] = pop[q] > 0 && pop[q] >= in->min_group;
        n_rated += rated[q];
        sum_rated += rated[q] ? pop[q] : 0;
    }
    e->di_before = promo_fairness_di(in->selected, g, in->min_group);
    e->method = method;
    if (method == PROMO_FAIR_AUTO)
        e->method = (double)n * (double)sum_rated <= 2e7 ? PROMO_FAIR_EXACT : PROMO_FAIR_GREEDY;
    /* fewer than two rated groups or nobody selected: nothing to compare, nothing to move */
    int holds = n_rated < 2 || e->k == 0 || (!isnan(e->di_before) && e->di_before >= min_ratio);
    if (!holds) {
        if ((rc = build_lists(in, g, rated, L, storage)))
            goto fail;
        int ok = 0;
        if (e->method == PROMO_FAIR_EXACT) {
            if ((rc = enforce_exact(in, L, G, rated, e->k, min_ratio, e->selected, &ok)))
                goto fail;
        } else {
            if ((rc = enforce_greedy(in, L, G, rated, min_ratio, e->selected, &e->swaps, &ok)))
                goto fail;
        }
        if (!ok) {
            rc = promo_fail(PROMO_EINPUT,
                            "--fair-min-ratio %g: no selection of %zu customers reaches that "
                            "ratio for %s (%s; groups of %zu or more customers)",
                            min_ratio, e->k, promo_fair_attr_name(g->attr),
                            e->method == PROMO_FAIR_EXACT ? "exact search"
                                                          : "greedy swaps; try fewer groups",
                            in->min_group > 1 ? in->min_group : (size_t)1);
            goto fail;
        }
    }
    e->swaps = 0;
    for (size_t i = 0; i < n; i++) {
        e->profit_after += e->selected[i] ? in->profit[i] : 0;
        e->swaps += e->selected[i] && !in->selected[i];
    }
    e->cost = e->profit_before - e->profit_after;
    e->di_after = promo_fairness_di(e->selected, g, in->min_group);
    *out = e;
    e = NULL;
    rc = PROMO_OK;
fail:
    promo_free(L);
    promo_free(storage);
    promo_free(rated);
    promo_free(pop);
    promo_fair_enforced_free(e);
    return rc;
}

/* ------------------------------------------------------------------ output ---- */

static void pct(FILE *o, double v)
{
    if (isnan(v))
        fprintf(o, "%8s", "-");
    else
        fprintf(o, "%7.2f%%", 100 * v);
}

static void num(FILE *o, double v, int width)
{
    if (isnan(v))
        fprintf(o, "%*s", width, "-");
    else
        fprintf(o, "%*.2f", width, v);
}

static void print_row(FILE *o, const promo_fair_group_stats *st, int eo)
{
    fprintf(o, "    %-16.16s %10zu %9zu ", st->name, st->population, st->selected);
    pct(o, st->rate);
    fputc(' ', o);
    num(o, st->benefit, 10);
    fputc(' ', o);
    num(o, st->mean_uplift, 8);
    if (eo) {
        fprintf(o, " %9zu ", st->qualified);
        pct(o, st->opportunity);
    }
    fputc('\n', o);
}

void promo_fair_report_print(FILE *o, const promo_fair_report *r)
{
    const char *a = promo_fair_attr_name(r->attr);
    if (!r->available) {
        fprintf(o, "  %s: not available (the customers table records no %s)\n", a, a);
        return;
    }
    fprintf(o, "  %s:\n    %-16s %10s %9s %8s %10s %8s", a, "group", "population", "selected",
            "rate", "benefit", "uplift");
    if (r->eo_available)
        fprintf(o, " %9s %8s", "qualified", "opp.");
    fputc('\n', o);
    for (size_t k = 0; k < r->n_groups; k++)
        print_row(o, &r->groups[k], r->eo_available);
    if (r->unknown.population)
        print_row(o, &r->unknown, r->eo_available);
    if (isnan(r->di_ratio))
        fprintf(o, "    disparate impact: undefined (fewer than two groups, or none selected)\n");
    else
        fprintf(o, "    disparate impact %.3f (%s %.2f%% / %s %.2f%%): four-fifths rule %s\n",
                r->di_ratio, r->groups[r->di_min_group].name, 100 * r->groups[r->di_min_group].rate,
                r->groups[r->di_max_group].name, 100 * r->groups[r->di_max_group].rate,
                r->four_fifths ? "met" : "NOT met");
    if (r->eo_available) {
        if (isnan(r->eo_difference))
            fprintf(o, "    equal-opportunity difference: undefined\n");
        else
            fprintf(o,
                    "    equal-opportunity difference %.4f (selection rate among the "
                    "qualified: highest - lowest group)\n",
                    r->eo_difference);
    }
}

static void jd(FILE *o, double v)
{
    if (isfinite(v))
        fprintf(o, "%.10g", v);
    else
        fprintf(o, "null");
}

static void json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(o, "\\u%04x", *p);
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

static void json_group(FILE *o, const promo_fair_group_stats *st)
{
    fprintf(o, "{\"group\":");
    json_str(o, st->name);
    fprintf(o, ",\"population\":%zu,\"selected\":%zu,\"selection_rate\":", st->population,
            st->selected);
    jd(o, st->rate);
    fprintf(o, ",\"expected_benefit\":");
    jd(o, st->benefit);
    fprintf(o, ",\"mean_uplift\":");
    jd(o, st->mean_uplift);
    fprintf(o, ",\"qualified\":%zu,\"qualified_selected\":%zu,\"opportunity\":", st->qualified,
            st->qualified_selected);
    jd(o, st->opportunity);
    fprintf(o, ",\"rated\":%s}", st->rated ? "true" : "false");
}

void promo_fair_report_json(FILE *o, const promo_fair_report *r)
{
    fprintf(o, "{\"attribute\":\"%s\",\"available\":%s", promo_fair_attr_name(r->attr),
            r->available ? "true" : "false");
    if (r->available) {
        fprintf(o, ",\"groups\":[");
        for (size_t k = 0; k < r->n_groups; k++) {
            if (k)
                fputc(',', o);
            json_group(o, &r->groups[k]);
        }
        fprintf(o, "],\"unknown\":");
        json_group(o, &r->unknown);
        fprintf(o, ",\"disparate_impact\":");
        jd(o, r->di_ratio);
        fprintf(o, ",\"four_fifths\":%s,\"equal_opportunity_difference\":",
                r->four_fifths < 0 ? "null"
                : r->four_fifths   ? "true"
                                   : "false");
        jd(o, r->eo_difference);
    }
    fputc('}', o);
}
