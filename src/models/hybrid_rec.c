/* The hybrid recommender on a workspace: side features from the customers and products
 * tables, and the recommend.h handle (promo/hybrid.h).
 *
 * Feature rows are built as lists of (vocabulary index, weight) per entity and compacted into
 * CSR with sorted, de-duplicated columns. The handle precomputes every customer's and
 * product's embedding once (the factor view), so top-K and the reverse query are recommend.h's
 * blocked GEMM, not a feature sum per pair.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hybrid.h>
#include <promo/panel.h>
#include <promo/recommend.h>

#include "models/hybrid_internal.h"
#include "models/rec_sections.h"

/* ------------------------------------------------------------------ features ---- */

typedef struct feat_builder {
    uint32_t *row, *col; /* entries */
    float *w;
    size_t n, cap;
    int failed;
} feat_builder;

/* *p grown to cap elements of size sz; 0, or -1 (then *p is as it was). */
static int grow(void **p, size_t cap, size_t sz)
{
    void *q = promo_reallocn(*p, cap, sz);
    if (!q)
        return -1;
    *p = q;
    return 0;
}

static void fb_add(feat_builder *b, uint32_t row, uint32_t col, float w)
{
    if (b->failed || col == PROMO_DICT_NONE)
        return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 1024;
        void *r = b->row, *c = b->col, *ww = b->w;
        int bad = grow(&r, cap, sizeof *b->row);
        b->row = r;
        bad = bad || grow(&c, cap, sizeof *b->col);
        b->col = c;
        bad = bad || grow(&ww, cap, sizeof *b->w);
        b->w = ww;
        if (bad) {
            b->failed = 1;
            return;
        }
        b->cap = cap;
    }
    b->row[b->n] = row;
    b->col[b->n] = col;
    b->w[b->n++] = w;
}

static void fb_free(feat_builder *b)
{
    promo_free(b->row);
    promo_free(b->col);
    promo_free(b->w);
    memset(b, 0, sizeof *b);
}

/* Entries -> CSR (rows x cols), columns sorted, duplicates summed. */
static int fb_to_csr(const feat_builder *b, uint32_t rows, uint32_t cols, promo_csr *out)
{
    memset(out, 0, sizeof *out);
    out->owned = 1;
    out->n_rows = rows;
    out->n_cols = cols;
    if (!(out->row_ptr = promo_calloc((size_t)rows + 1, sizeof *out->row_ptr)) ||
        !(out->col_idx = promo_mallocn(b->n ? b->n : 1, sizeof *out->col_idx)) ||
        !(out->values = promo_mallocn(b->n ? b->n : 1, sizeof *out->values))) {
        promo_csr_free(out);
        return PROMO_ENOMEM;
    }
    for (size_t e = 0; e < b->n; e++)
        out->row_ptr[b->row[e] + 1]++;
    for (uint32_t r = 0; r < rows; r++)
        out->row_ptr[r + 1] += out->row_ptr[r];
    uint64_t *at = promo_mallocn((size_t)rows + 1, sizeof *at);
    if (!at) {
        promo_csr_free(out);
        return PROMO_ENOMEM;
    }
    memcpy(at, out->row_ptr, ((size_t)rows + 1) * sizeof *at);
    for (size_t e = 0; e < b->n; e++) {
        uint64_t q = at[b->row[e]]++;
        out->col_idx[q] = b->col[e];
        out->values[q] = b->w[e];
    }
    promo_free(at);
    /* sort each row by column (insertion: rows are short) and merge duplicates */
    uint64_t w = 0;
    for (uint32_t r = 0; r < rows; r++) {
        uint64_t lo = out->row_ptr[r], hi = out->row_ptr[r + 1];
        for (uint64_t i = lo + 1; i < hi; i++) {
            uint32_t c = out->col_idx[i];
            float v = out->values[i];
            uint64_t j = i;
            while (j > lo && out->col_idx[j - 1] > c) {
                out->col_idx[j] = out->col_idx[j - 1];
                out->values[j] = out->values[j - 1];
                j--;
            }
            out->col_idx[j] = c;
            out->values[j] = v;
        }
        out->row_ptr[r] = w;
        for (uint64_t i = lo; i < hi; i++) {
            if (w > out->row_ptr[r] && out->col_idx[w - 1] == out->col_idx[i])
                out->values[w - 1] += out->values[i];
            else {
                out->col_idx[w] = out->col_idx[i];
                out->values[w++] = out->values[i];
            }
        }
    }
    out->row_ptr[rows] = w;
    out->nnz = w;
    return PROMO_OK;
}

static uint32_t vocab(promo_dict *d, const char *prefix, const char *value)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%s:%s", prefix, value);
    if (n < 0)
        return PROMO_DICT_NONE;
    return promo_dict_intern(d, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* The lower-cased words (3+ letters) of s, each passed to fn. */
static size_t words(const char *s, void (*fn)(void *ctx, const char *w), void *ctx)
{
    char w[64];
    size_t n = 0, count = 0;
    for (const char *p = s;; p++) {
        if (*p && isalpha((unsigned char)*p)) {
            if (n < sizeof w - 1)
                w[n++] = (char)tolower((unsigned char)*p);
            continue;
        }
        if (n >= 3) {
            w[n] = '\0';
            fn(ctx, w);
            count++;
        }
        n = 0;
        if (!*p)
            break;
    }
    return count;
}

/* Products per word: each product's distinct words counted once into counts[] (indices of
 * the word dictionary wd, grown as needed). */
static int count_words(promo_dict *wd, const char *s, uint32_t **counts, size_t *cap)
{
    promo_dict *once = promo_dict_new();
    if (!once)
        return PROMO_ENOMEM;
    char w[64];
    size_t n = 0;
    int rc = PROMO_OK;
    for (const char *p = s; !rc; p++) {
        if (*p && isalpha((unsigned char)*p)) {
            if (n < sizeof w - 1)
                w[n++] = (char)tolower((unsigned char)*p);
            continue;
        }
        if (n >= 3) {
            uint32_t before = promo_dict_size(once), i;
            void *c = *counts;
            if (promo_dict_intern(once, w, n) == PROMO_DICT_NONE)
                rc = PROMO_ENOMEM;
            else if (promo_dict_size(once) > before) {
                size_t old = *cap;
                if ((i = promo_dict_intern(wd, w, n)) == PROMO_DICT_NONE ||
                    promo_grow(&c, cap, (size_t)i + 1, sizeof(uint32_t)))
                    rc = PROMO_ENOMEM;
                else {
                    *counts = c;
                    if (*cap > old) /* promo_grow does not zero the new room */
                        memset(*counts + old, 0, (*cap - old) * sizeof **counts);
                    (*counts)[i]++;
                }
            }
        }
        n = 0;
        if (!*p)
            break;
    }
    promo_dict_free(once);
    return rc;
}

typedef struct add_ctx {
    feat_builder *b;
    promo_dict *vocab, *words;
    const uint32_t *counts;
    uint32_t row;
    float w;
    size_t n_products;
} add_ctx;

static void add_word(void *vctx, const char *w)
{
    add_ctx *c = vctx;
    uint32_t i = promo_dict_find(c->words, w, strlen(w));
    /* a word at least two products share, and not in more than half of them */
    if (i == PROMO_DICT_NONE || c->counts[i] < 2 || c->counts[i] > c->n_products / 2)
        return;
    fb_add(c->b, c->row, vocab(c->vocab, "word", w), c->w);
}

static void count_only(void *vctx, const char *w)
{
    (void)w;
    (*(size_t *)vctx)++;
}

static int build_items(const promo_panel *d, const promo_rec_data *tr, promo_hybrid_features *out)
{
    const promo_table *P = d->products;
    uint32_t ni = tr->m.n_cols;
    feat_builder b = {0};
    promo_dict *wd = NULL;
    uint32_t *counts = NULL, *bought = NULL, *row_of = NULL;
    size_t cap = 0;
    int rc = PROMO_OK;
    if (!(out->item_vocab = promo_dict_new()) || !(wd = promo_dict_new()) ||
        !(bought = promo_calloc(ni ? ni : 1, sizeof *bought)) ||
        !(row_of = promo_mallocn(ni ? ni : 1, sizeof *row_of))) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    for (uint64_t q = 0; q < tr->m.nnz; q++)
        bought[tr->m.col_idx[q]] = 1;
    const promo_column *pid = promo_table_column(P, "product_id"),
                       *name = promo_table_column(P, "name"),
                       *cat = promo_table_column(P, "category"),
                       *brand = promo_table_column(P, "brand"),
                       *price = promo_table_column(P, "price");
    /* matrix column -> products-table row (they are the panel's product rows, but the ids
     * say so explicitly) */
    for (uint32_t i = 0; i < ni; i++)
        row_of[i] = i < P->n_rows ? i : UINT32_MAX;
    if (tr->items && pid && pid->type == PROMO_COL_STRING) {
        uint32_t *m = promo_mallocn(P->n_rows ? P->n_rows : 1, sizeof *m);
        if (!m || promo_column_map_to(pid, tr->items, m)) {
            promo_free(m);
            rc = PROMO_ENOMEM;
            goto done;
        }
        for (uint32_t i = 0; i < ni; i++)
            row_of[i] = UINT32_MAX;
        for (size_t r = 0; r < P->n_rows; r++)
            if (m[r] != PROMO_DICT_NONE && m[r] < ni)
                row_of[m[r]] = (uint32_t)r;
        promo_free(m);
    }
    if (name && name->type == PROMO_COL_STRING)
        for (size_t r = 0; r < P->n_rows && !rc; r++)
            if (!promo_column_is_null(name, r))
                rc = count_words(wd, promo_column_str(name, r), &counts, &cap);
    if (rc)
        goto done;
    for (uint32_t i = 0; i < ni; i++) {
        uint32_t r = row_of[i];
        if (bought[i])
            fb_add(&b, i,
                   vocab(out->item_vocab, "item", tr->items ? promo_dict_key(tr->items, i) : "?"),
                   1.0f);
        if (r == UINT32_MAX)
            continue;
        if (cat && cat->type == PROMO_COL_STRING && !promo_column_is_null(cat, r))
            fb_add(&b, i, vocab(out->item_vocab, "category", promo_column_str(cat, r)), 1.0f);
        if (brand && brand->type == PROMO_COL_STRING && !promo_column_is_null(brand, r))
            fb_add(&b, i, vocab(out->item_vocab, "brand", promo_column_str(brand, r)), 1.0f);
        double pr = price ? promo_column_num(price, r) : NAN;
        if (pr > 0 && isfinite(pr)) {
            char band[32];
            snprintf(band, sizeof band, "%d", (int)lround(2.0 * log2(pr)));
            fb_add(&b, i, vocab(out->item_vocab, "price", band), 1.0f);
        }
        if (name && name->type == PROMO_COL_STRING && !promo_column_is_null(name, r) && counts) {
            size_t nw = 0;
            words(promo_column_str(name, r), count_only, &nw);
            add_ctx ac = {&b,       out->item_vocab, wd, counts, i, nw ? 1.0f / (float)nw : 1.0f,
                          P->n_rows};
            words(promo_column_str(name, r), add_word, &ac);
        }
    }
    if (b.failed) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    rc = fb_to_csr(&b, ni, promo_dict_size(out->item_vocab), &out->IF);
done:
    fb_free(&b);
    promo_dict_free(wd);
    promo_free(counts);
    promo_free(bought);
    promo_free(row_of);
    return rc;
}

static int build_users(const promo_panel *d, const promo_rec_data *tr, promo_hybrid_features *out)
{
    uint32_t nu = tr->m.n_rows;
    feat_builder b = {0};
    uint32_t *m = NULL;
    int rc = PROMO_OK;
    if (!(out->user_vocab = promo_dict_new()))
        return PROMO_ENOMEM;
    for (uint32_t u = 0; u < nu; u++)
        if (tr->m.row_ptr[u + 1] > tr->m.row_ptr[u])
            fb_add(&b, u, vocab(out->user_vocab, "user", promo_dict_key(tr->customers, u)), 1.0f);
    const promo_table *C = d->customers;
    const promo_column *cid = C ? promo_table_column(C, "customer_id") : NULL;
    if (cid && cid->type == PROMO_COL_STRING && C->n_rows) {
        if (!(m = promo_mallocn(C->n_rows, sizeof *m)) ||
            promo_column_map_to(cid, tr->customers, m)) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        static const char *const cols[] = {"location", "gender", "segment"};
        for (size_t k = 0; k < 3; k++) {
            const promo_column *c = promo_table_column(C, cols[k]);
            if (!c || c->type != PROMO_COL_STRING)
                continue;
            for (size_t r = 0; r < C->n_rows; r++)
                if (m[r] != PROMO_DICT_NONE && m[r] < nu && !promo_column_is_null(c, r) &&
                    *promo_column_str(c, r))
                    fb_add(&b, m[r], vocab(out->user_vocab, cols[k], promo_column_str(c, r)), 1.0f);
        }
        const promo_column *age = promo_table_column(C, "age");
        if (age)
            for (size_t r = 0; r < C->n_rows; r++) {
                double a = promo_column_num(age, r);
                if (m[r] != PROMO_DICT_NONE && m[r] < nu && a > 0 && a < 130) {
                    char band[16];
                    snprintf(band, sizeof band, "%ds", (int)(a / 10) * 10);
                    fb_add(&b, m[r], vocab(out->user_vocab, "age", band), 1.0f);
                }
            }
    }
    if (b.failed) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    rc = fb_to_csr(&b, nu, promo_dict_size(out->user_vocab), &out->UF);
done:
    fb_free(&b);
    promo_free(m);
    return rc;
}

int promo_hybrid_features_build(const promo_panel *d,
                                const promo_rec_data *train,
                                promo_hybrid_features *out)
{
    memset(out, 0, sizeof *out);
    if (!train->customers || !train->items)
        return promo_fail(PROMO_EINPUT, "hybrid: the interaction matrix has no ids");
    if (!d->products)
        return promo_fail(PROMO_EINPUT, "hybrid: no products table");
    int rc = build_items(d, train, out);
    if (!rc)
        rc = build_users(d, train, out);
    if (rc)
        promo_hybrid_features_free(out);
    return rc;
}

void promo_hybrid_features_free(promo_hybrid_features *f)
{
    if (!f)
        return;
    promo_csr_free(&f->UF);
    promo_csr_free(&f->IF);
    promo_dict_free(f->user_vocab);
    promo_dict_free(f->item_vocab);
    memset(f, 0, sizeof *f);
}

/* ------------------------------------------------ the recommend.h model handle ---- */

typedef struct hybrid_rec {
    promo_hybrid *m;
    promo_hybrid_features f; /* UF and the vocabularies (f.IF unused: the model's own) */
    uint32_t n_users, n_items, dim;
    uint32_t kd; /* dim + 1: the factor view's width (see hybrid_rec_finish) */
    float *act;  /* n_users: log(1 + products bought in training), the activity */
    float *U;    /* n_users x kd: each customer's embedding, then activity - LSE */
    float *V;    /* n_items x kd: each product's embedding, then 1 */
    float *b;    /* n_items biases */
} hybrid_rec;

static void hybrid_rec_free(void *impl)
{
    hybrid_rec *h = impl;
    if (!h)
        return;
    promo_hybrid_free(h->m);
    promo_hybrid_features_free(&h->f);
    promo_free(h->act);
    promo_free(h->U);
    promo_free(h->V);
    promo_free(h->b);
    promo_free(h);
}

static void scores_of(const hybrid_rec *h, const float *u, float *out)
{
    for (uint32_t i = 0; i < h->n_items; i++) {
        const float *v = h->V + (size_t)i * h->kd;
        float s = h->b[i];
        for (uint32_t d = 0; d < h->kd; d++)
            s += u[d] * v[d];
        out[i] = s;
    }
}

static int hybrid_rec_score_user(const void *impl, uint32_t user, float *scores)
{
    const hybrid_rec *h = impl;
    if (user >= h->n_users)
        return promo_fail(PROMO_EUSAGE, "hybrid: customer row %u outside %u", user, h->n_users);
    scores_of(h, h->U + (size_t)user * h->kd, scores);
    return PROMO_OK;
}

static int hybrid_rec_score_history(
    const void *impl, const uint32_t *items, const float *values, size_t n, float *scores)
{
    (void)values;
    const hybrid_rec *h = impl;
    float *u = promo_calloc(h->kd, sizeof *u); /* u[dim] = 0: no activity term */
    if (!u)
        return PROMO_ENOMEM;
    for (size_t q = 0; q < n; q++) {
        if (items[q] >= h->n_items) {
            promo_free(u);
            return promo_fail(PROMO_EUSAGE, "hybrid: product %u outside %u", items[q], h->n_items);
        }
        for (uint32_t d = 0; d < h->dim; d++)
            u[d] += h->V[(size_t)items[q] * h->kd + d] / (float)n;
    }
    scores_of(h, u, scores);
    promo_free(u);
    return PROMO_OK;
}

static int hybrid_rec_factors(const void *impl, promo_rec_factors *out)
{
    const hybrid_rec *h = impl;
    out->n_users = h->n_users;
    out->n_items = h->n_items;
    out->k = h->kd;
    out->U = h->U;
    out->V = h->V;
    out->item_bias = h->b;
    return PROMO_OK;
}

static int hybrid_rec_save(const void *impl, promo_rec_file *f)
{
    const hybrid_rec *h = impl;
    int rc;
    if ((rc = hybrid_add_sections(h->m, f)) || (rc = rec_add_csr(f, "hybrid_UF", &h->f.UF)) ||
        (rc = promo_rec_file_add(f, "hybrid_activity", PROMO_REC_F32, 1, h->n_users, h->act)) ||
        (rc = promo_rec_file_add_dict(f, "hybrid_user_vocab", h->f.user_vocab)))
        return rc;
    return promo_rec_file_add_dict(f, "hybrid_item_vocab", h->f.item_vocab);
}

static const promo_rec_ops hybrid_ops = {
    .kind = "hybrid",
    .score_user = hybrid_rec_score_user,
    .score_history = hybrid_rec_score_history,
    .factors = hybrid_rec_factors,
    .save = hybrid_rec_save,
    .free = hybrid_rec_free,
};

/* Shapes checked, embeddings computed, the handle made (h consumed). */
static int hybrid_rec_finish(hybrid_rec *h, const promo_rec_data *shape, promo_rec_model **out)
{
    int rc = PROMO_OK;
    const promo_csr *IF = promo_hybrid_item_features(h->m);
    h->n_users = shape->m.n_rows;
    h->n_items = shape->m.n_cols;
    h->dim = promo_hybrid_dim(h->m);
    if (h->f.UF.n_rows != h->n_users || IF->n_rows != h->n_items ||
        h->f.UF.n_cols != promo_hybrid_n_user_features(h->m)) {
        rc = promo_fail(PROMO_EINPUT,
                        "hybrid: features of %u customers x %u products do not fit a %u x %u "
                        "matrix",
                        h->f.UF.n_rows, IF->n_rows, h->n_users, h->n_items);
        goto fail;
    }
    h->kd = h->dim + 1;
    if (!(h->U = promo_mallocn((size_t)h->n_users * h->kd + 1, sizeof *h->U)) ||
        !(h->V = promo_mallocn((size_t)h->n_items * h->kd + 1, sizeof *h->V)) ||
        !(h->b = promo_mallocn((size_t)h->n_items + 1, sizeof *h->b))) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    const promo_csr *UF = &h->f.UF;
    for (uint32_t u = 0; u < h->n_users && !rc; u++)
        rc = promo_hybrid_user_vector(
            h->m, UF->col_idx + UF->row_ptr[u], UF->values + UF->row_ptr[u],
            (size_t)(UF->row_ptr[u + 1] - UF->row_ptr[u]), h->U + (size_t)u * h->kd);
    for (uint32_t i = 0; i < h->n_items && !rc; i++) {
        rc = promo_hybrid_item_vector(
            h->m, IF->col_idx + IF->row_ptr[i], IF->values + IF->row_ptr[i],
            (size_t)(IF->row_ptr[i + 1] - IF->row_ptr[i]), h->V + (size_t)i * h->kd, &h->b[i]);
        h->V[(size_t)i * h->kd + h->dim] = 1.0f;
    }
    if (rc)
        goto fail;
    /* The last column: activity minus the log-sum-exp of the customer's scores over every
     * product. It is the same for all of one customer's products, so their own lists do not
     * change; across customers it turns a score into log(expected purchases of the product)
     * = log(activity) + log softmax, reading the scores as logits. That is what the reverse
     * query (whom to target with product X) needs: taste alone ranks a customer who buys
     * twice a year beside one who buys weekly. */
    for (uint32_t u = 0; u < h->n_users; u++) {
        float *pu = h->U + (size_t)u * h->kd;
        double mx = -INFINITY, sum = 0;
        for (int pass = 0; pass < 2; pass++)
            for (uint32_t i = 0; i < h->n_items; i++) {
                const float *v = h->V + (size_t)i * h->kd;
                double s = h->b[i];
                for (uint32_t d = 0; d < h->dim; d++)
                    s += (double)pu[d] * v[d];
                if (pass == 0)
                    mx = s > mx ? s : mx;
                else
                    sum += exp(s - mx);
            }
        pu[h->dim] = h->n_items ? (float)(h->act[u] - (mx + log(sum))) : 0.0f;
    }
    return promo_rec_model_new(&hybrid_ops, h, shape, out);
fail:
    hybrid_rec_free(h);
    return rc;
}

int promo_hybrid_rec_new(promo_hybrid *m,
                         promo_hybrid_features *feats,
                         const promo_rec_data *train,
                         promo_rec_model **out)
{
    *out = NULL;
    hybrid_rec *h = promo_calloc(1, sizeof *h);
    if (!h) {
        promo_hybrid_free(m);
        promo_hybrid_features_free(feats);
        return PROMO_ENOMEM;
    }
    h->m = m;
    h->f = *feats;
    memset(feats, 0, sizeof *feats);
    if (!(h->act = promo_mallocn((size_t)train->m.n_rows + 1, sizeof *h->act))) {
        hybrid_rec_free(h);
        return PROMO_ENOMEM;
    }
    for (uint32_t u = 0; u < train->m.n_rows; u++)
        h->act[u] = (float)log1p((double)(train->m.row_ptr[u + 1] - train->m.row_ptr[u]));
    return hybrid_rec_finish(h, train, out);
}

int promo_hybrid_rec_load(const promo_rec_file *f,
                          const promo_rec_data *shape,
                          promo_rec_model **out)
{
    *out = NULL;
    hybrid_rec *h = promo_calloc(1, sizeof *h);
    if (!h)
        return PROMO_ENOMEM;
    int rc;
    if ((rc = hybrid_from_sections(f, &h->m)) || (rc = rec_get_csr(f, "hybrid_UF", &h->f.UF)) ||
        (rc = promo_rec_file_get_dict(f, "hybrid_user_vocab", &h->f.user_vocab)) ||
        (rc = promo_rec_file_get_dict(f, "hybrid_item_vocab", &h->f.item_vocab)) ||
        (rc = rec_get_copy(f, "hybrid_activity", PROMO_REC_F32, shape->m.n_rows,
                           (void **)&h->act))) {
        hybrid_rec_free(h);
        return rc;
    }
    return hybrid_rec_finish(h, shape, out);
}
