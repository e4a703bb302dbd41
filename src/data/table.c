/* Typed columnar tables: growable arrays per column plus a lazily created null bitmap. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/table.h>

const char *promo_col_type_name(promo_col_type t)
{
    switch (t) {
    case PROMO_COL_INT64:
        return "int64";
    case PROMO_COL_FLOAT64:
        return "float64";
    case PROMO_COL_STRING:
        return "string";
    case PROMO_COL_TIMESTAMP:
        return "timestamp";
    case PROMO_COL_BOOL:
        return "bool";
    default:
        return "?";
    }
}

promo_table *promo_table_new(const char *name)
{
    promo_table *t = promo_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->name = promo_strdup(name);
    if (!t->name) {
        promo_free(t);
        return NULL;
    }
    return t;
}

static void column_free(promo_column *c)
{
    if (!c)
        return;
    promo_free(c->name);
    promo_free(c->i64);
    promo_free(c->f64);
    promo_free(c->codes);
    promo_free(c->b);
    promo_free(c->nulls);
    promo_dict_free(c->dict);
    promo_free(c);
}

void promo_table_free(promo_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_cols; i++)
        column_free(t->cols[i]);
    promo_free(t->cols);
    promo_free(t->name);
    promo_free(t);
}

int promo_table_column_index(const promo_table *t, const char *name)
{
    for (size_t i = 0; i < t->n_cols; i++)
        if (strcmp(t->cols[i]->name, name) == 0)
            return (int)i;
    return -1;
}

promo_column *promo_table_column(const promo_table *t, const char *name)
{
    int i = promo_table_column_index(t, name);
    return i < 0 ? NULL : t->cols[i];
}

int promo_table_add_column(promo_table *t,
                           const char *name,
                           promo_col_type type,
                           promo_column **out)
{
    if (out)
        *out = NULL;
    if (promo_table_column_index(t, name) >= 0)
        return promo_fail(PROMO_EINPUT, "table '%s': duplicate column '%s'", t->name, name);
    if ((unsigned)type >= PROMO_COL_TYPE_COUNT)
        return promo_fail(PROMO_EUSAGE, "bad column type %d", (int)type);
    if (promo_grow((void **)&t->cols, &t->cols_cap, t->n_cols + 1, sizeof *t->cols))
        return PROMO_ENOMEM;
    promo_column *c = promo_calloc(1, sizeof *c);
    if (!c)
        return PROMO_ENOMEM;
    c->type = type;
    c->name = promo_strdup(name);
    if (!c->name) {
        column_free(c);
        return PROMO_ENOMEM;
    }
    if (type == PROMO_COL_STRING && !(c->dict = promo_dict_new())) {
        column_free(c);
        return PROMO_ENOMEM;
    }
    t->cols[t->n_cols++] = c;
    if (out)
        *out = c;
    return PROMO_OK;
}

static size_t elem_size(promo_col_type t)
{
    switch (t) {
    case PROMO_COL_INT64:
    case PROMO_COL_TIMESTAMP:
        return sizeof(int64_t);
    case PROMO_COL_FLOAT64:
        return sizeof(double);
    case PROMO_COL_STRING:
        return sizeof(uint32_t);
    default:
        return 1;
    }
}

static void **values_ptr(promo_column *c)
{
    switch (c->type) {
    case PROMO_COL_INT64:
    case PROMO_COL_TIMESTAMP:
        return (void **)&c->i64;
    case PROMO_COL_FLOAT64:
        return (void **)&c->f64;
    case PROMO_COL_STRING:
        return (void **)&c->codes;
    default:
        return (void **)&c->b;
    }
}

int promo_column_reserve(promo_column *c, size_t n_rows)
{
    if (n_rows <= c->cap)
        return PROMO_OK;
    void **vp = values_ptr(c);
    void *nv = promo_reallocn(*vp, n_rows, elem_size(c->type));
    if (!nv)
        return PROMO_ENOMEM;
    *vp = nv;
    if (c->nulls) {
        size_t old_words = (c->cap + 63) / 64, new_words = (n_rows + 63) / 64;
        uint64_t *nn = promo_reallocn(c->nulls, new_words, sizeof *nn);
        if (!nn)
            return PROMO_ENOMEM;
        memset(nn + old_words, 0, (new_words - old_words) * sizeof *nn);
        c->nulls = nn;
    }
    c->cap = n_rows;
    return PROMO_OK;
}

static inline int ensure_one(promo_column *c)
{
    if (c->n < c->cap)
        return PROMO_OK;
    return promo_column_reserve(c, c->cap ? c->cap * 2 : 64);
}

int promo_table_reserve(promo_table *t, size_t n_rows)
{
    for (size_t i = 0; i < t->n_cols; i++)
        if (promo_column_reserve(t->cols[i], n_rows))
            return PROMO_ENOMEM;
    return PROMO_OK;
}

int promo_table_seal(promo_table *t)
{
    size_t n = t->n_cols ? t->cols[0]->n : 0;
    for (size_t i = 1; i < t->n_cols; i++)
        if (t->cols[i]->n != n)
            return promo_fail(PROMO_EINTERNAL, "table '%s': column '%s' has %zu rows, '%s' has %zu",
                              t->name, t->cols[i]->name, t->cols[i]->n, t->cols[0]->name, n);
    t->n_rows = n;
    return PROMO_OK;
}

int promo_column_push_i64(promo_column *c, int64_t v)
{
    PROMO_ASSERT(c->type == PROMO_COL_INT64 || c->type == PROMO_COL_TIMESTAMP);
    if (ensure_one(c))
        return PROMO_ENOMEM;
    c->i64[c->n++] = v;
    return PROMO_OK;
}

int promo_column_push_f64(promo_column *c, double v)
{
    PROMO_ASSERT(c->type == PROMO_COL_FLOAT64);
    if (ensure_one(c))
        return PROMO_ENOMEM;
    c->f64[c->n++] = v;
    return PROMO_OK;
}

int promo_column_push_code(promo_column *c, uint32_t code)
{
    PROMO_ASSERT(c->type == PROMO_COL_STRING && code < promo_dict_size(c->dict));
    if (ensure_one(c))
        return PROMO_ENOMEM;
    c->codes[c->n++] = code;
    return PROMO_OK;
}

int promo_column_push_str(promo_column *c, const char *s, size_t n)
{
    PROMO_ASSERT(c->type == PROMO_COL_STRING);
    if (ensure_one(c))
        return PROMO_ENOMEM;
    uint32_t code = promo_dict_intern(c->dict, s, n);
    if (code == PROMO_DICT_NONE)
        return PROMO_ENOMEM;
    c->codes[c->n++] = code;
    return PROMO_OK;
}

int promo_column_push_bool(promo_column *c, int v)
{
    PROMO_ASSERT(c->type == PROMO_COL_BOOL);
    if (ensure_one(c))
        return PROMO_ENOMEM;
    c->b[c->n++] = v != 0;
    return PROMO_OK;
}

int promo_column_push_null(promo_column *c)
{
    if (ensure_one(c))
        return PROMO_ENOMEM;
    if (!c->nulls) {
        c->nulls = promo_calloc((c->cap + 63) / 64, sizeof *c->nulls);
        if (!c->nulls)
            return PROMO_ENOMEM;
    }
    size_t r = c->n;
    switch (c->type) {
    case PROMO_COL_INT64:
    case PROMO_COL_TIMESTAMP:
        c->i64[r] = 0;
        break;
    case PROMO_COL_FLOAT64:
        c->f64[r] = 0.0;
        break;
    case PROMO_COL_STRING: {
        /* Null strings point at "" so consumers indexing the dict never see a bad code. */
        uint32_t code = promo_dict_intern(c->dict, "", 0);
        if (code == PROMO_DICT_NONE)
            return PROMO_ENOMEM;
        c->codes[r] = code;
        break;
    }
    default:
        c->b[r] = 0;
        break;
    }
    c->nulls[r >> 6] |= (uint64_t)1 << (r & 63);
    c->n_null++;
    c->n++;
    return PROMO_OK;
}

const char *promo_column_str(const promo_column *c, size_t row)
{
    PROMO_ASSERT(c->type == PROMO_COL_STRING && row < c->n);
    if (promo_column_is_null(c, row))
        return "";
    return promo_dict_key(c->dict, c->codes[row]);
}

double promo_column_num(const promo_column *c, size_t row)
{
    PROMO_ASSERT(row < c->n);
    if (promo_column_is_null(c, row))
        return NAN;
    switch (c->type) {
    case PROMO_COL_INT64:
    case PROMO_COL_TIMESTAMP:
        return (double)c->i64[row];
    case PROMO_COL_FLOAT64:
        return c->f64[row];
    case PROMO_COL_BOOL:
        return c->b[row];
    default:
        return NAN;
    }
}

int promo_column_map_to(const promo_column *c, const promo_dict *target, uint32_t *out)
{
    PROMO_ASSERT(c->type == PROMO_COL_STRING);
    uint32_t n_codes = promo_dict_size(c->dict);
    uint32_t *by_code = promo_mallocn(n_codes ? n_codes : 1, sizeof *by_code);
    if (!by_code)
        return PROMO_ENOMEM;
    for (uint32_t k = 0; k < n_codes; k++)
        by_code[k] =
            promo_dict_find(target, promo_dict_key(c->dict, k), promo_dict_key_len(c->dict, k));
    for (size_t r = 0; r < c->n; r++)
        out[r] = promo_column_is_null(c, r) ? PROMO_DICT_NONE : by_code[c->codes[r]];
    promo_free(by_code);
    return PROMO_OK;
}

promo_table *promo_table_filter(const promo_table *t, const uint8_t *keep)
{
    promo_table *o = promo_table_new(t->name);
    if (!o)
        return NULL;
    for (size_t j = 0; j < t->n_cols; j++) {
        const promo_column *c = t->cols[j];
        promo_column *d;
        if (promo_table_add_column(o, c->name, c->type, &d))
            goto fail;
        for (size_t r = 0; r < c->n; r++) {
            if (keep && !keep[r])
                continue;
            int rc;
            if (promo_column_is_null(c, r))
                rc = promo_column_push_null(d);
            else if (c->type == PROMO_COL_STRING)
                rc = promo_column_push_str(d, promo_dict_key(c->dict, c->codes[r]),
                                           promo_dict_key_len(c->dict, c->codes[r]));
            else if (c->type == PROMO_COL_FLOAT64)
                rc = promo_column_push_f64(d, c->f64[r]);
            else if (c->type == PROMO_COL_BOOL)
                rc = promo_column_push_bool(d, c->b[r]);
            else
                rc = promo_column_push_i64(d, c->i64[r]);
            if (rc)
                goto fail;
        }
    }
    if (promo_table_seal(o))
        goto fail;
    return o;
fail:
    promo_table_free(o);
    return NULL;
}

int promo_column_resize(promo_column *c, size_t n_rows)
{
    if (promo_column_reserve(c, n_rows))
        return PROMO_ENOMEM;
    if (n_rows > c->n) {
        size_t k = n_rows - c->n;
        switch (c->type) {
        case PROMO_COL_INT64:
        case PROMO_COL_TIMESTAMP:
            memset(c->i64 + c->n, 0, k * sizeof *c->i64);
            break;
        case PROMO_COL_FLOAT64:
            memset(c->f64 + c->n, 0, k * sizeof *c->f64);
            break;
        case PROMO_COL_STRING:
            memset(c->codes + c->n, 0, k * sizeof *c->codes);
            break;
        default:
            memset(c->b + c->n, 0, k);
            break;
        }
    } else if (c->nulls) {
        /* Shrinking: forget nulls past the new end so a later grow starts clean. */
        for (size_t r = n_rows; r < c->n; r++) {
            uint64_t bit = (uint64_t)1 << (r & 63);
            if (c->nulls[r >> 6] & bit) {
                c->nulls[r >> 6] &= ~bit;
                c->n_null--;
            }
        }
    }
    c->n = n_rows;
    return PROMO_OK;
}

int promo_column_set_null(promo_column *c, size_t row)
{
    PROMO_ASSERT(row < c->n);
    if (!c->nulls && !(c->nulls = promo_calloc((c->cap + 63) / 64, sizeof *c->nulls)))
        return PROMO_ENOMEM;
    uint64_t bit = (uint64_t)1 << (row & 63);
    if (!(c->nulls[row >> 6] & bit)) {
        c->nulls[row >> 6] |= bit;
        c->n_null++;
    }
    return PROMO_OK;
}

int promo_table_set_name(promo_table *t, const char *name)
{
    char *n = promo_strdup(name);
    if (!n)
        return PROMO_ENOMEM;
    promo_free(t->name);
    t->name = n;
    return PROMO_OK;
}

int promo_table_rename_column(promo_table *t, const char *old_name, const char *new_name)
{
    int i = promo_table_column_index(t, old_name);
    if (i < 0)
        return promo_fail(PROMO_ENOTFOUND, "table '%s' has no column '%s'", t->name, old_name);
    if (strcmp(old_name, new_name) == 0)
        return PROMO_OK;
    if (promo_table_column_index(t, new_name) >= 0)
        return promo_fail(PROMO_EINPUT, "table '%s': duplicate column '%s'", t->name, new_name);
    char *n = promo_strdup(new_name);
    if (!n)
        return PROMO_ENOMEM;
    promo_free(t->cols[i]->name);
    t->cols[i]->name = n;
    return PROMO_OK;
}

int promo_table_drop_column(promo_table *t, const char *name)
{
    int i = promo_table_column_index(t, name);
    if (i < 0)
        return promo_fail(PROMO_ENOTFOUND, "table '%s' has no column '%s'", t->name, name);
    column_free(t->cols[i]);
    memmove(t->cols + i, t->cols + i + 1, (t->n_cols - (size_t)i - 1) * sizeof *t->cols);
    t->n_cols--;
    return PROMO_OK;
}

void promo_column_set_dict(promo_column *c, promo_dict *d)
{
    PROMO_ASSERT(c->type == PROMO_COL_STRING && d);
    if (c->dict != d)
        promo_dict_free(c->dict);
    c->dict = d;
}

/* ---- duplicate keys ---- */

static int skipped(const uint8_t *skip, size_t n_skip, size_t r)
{
    return skip && r < n_skip && skip[r];
}

int promo_table_find_duplicate_keys(const promo_column *const *key,
                                    size_t n_key,
                                    size_t n_rows,
                                    const uint8_t *skip,
                                    size_t n_skip,
                                    promo_key_dup_fn on_dup,
                                    void *ctx)
{
    if (n_key == 0 || n_rows < 2)
        return PROMO_OK;
    /* Increasing keys are unique: one sequential pass instead of a hash probe per row, which
     * on 5M rows is a cache miss each in a 64 MB table. Any strict order will do; this one
     * compares the raw key values (codes, bits) as unsigned. */
    size_t prev = SIZE_MAX, r = 0;
    for (; r < n_rows; r++) {
        if (skipped(skip, n_skip, r))
            continue;
        if (prev != SIZE_MAX) {
            size_t k = 0;
            while (k < n_key &&
                   promo_column_key_bits(key[k], prev) == promo_column_key_bits(key[k], r))
                k++;
            if (k == n_key ||
                promo_column_key_bits(key[k], prev) > promo_column_key_bits(key[k], r))
                break;
        }
        prev = r;
    }
    if (r == n_rows)
        return PROMO_OK;
    if (n_rows >= UINT32_MAX / 2)
        return promo_fail(PROMO_EUSAGE, "too many rows (%zu)", n_rows);
    size_t cap = 16;
    while (cap < 2 * n_rows)
        cap *= 2;
    uint32_t *slots = promo_calloc(cap, sizeof *slots); /* row + 1, 0 = empty */
    if (!slots)
        return PROMO_ENOMEM;
    int rc = PROMO_OK;
    for (r = 0; r < n_rows && !rc; r++) {
        if (skipped(skip, n_skip, r))
            continue;
        uint64_t h = 0x9e3779b97f4a7c15ULL;
        for (size_t k = 0; k < n_key; k++)
            h = promo_fmix64(h ^ promo_column_key_bits(key[k], r));
        for (size_t s = (size_t)h & (cap - 1);; s = (s + 1) & (cap - 1)) {
            if (!slots[s]) {
                slots[s] = (uint32_t)r + 1;
                break;
            }
            size_t o = slots[s] - 1, k = 0;
            while (k < n_key &&
                   promo_column_key_bits(key[k], o) == promo_column_key_bits(key[k], r))
                k++;
            if (k == n_key) { /* r repeats o's key; r stays out of the set */
                rc = on_dup(ctx, o, r);
                break;
            }
        }
    }
    promo_free(slots);
    return rc;
}

void promo_table_key_text(
    const promo_column *const *key, size_t n_key, size_t row, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < n_key && at < cap; k++) {
        const promo_column *c = key[k];
        const char *sep = k ? ", " : "";
        int w;
        if (c->type == PROMO_COL_STRING)
            w = snprintf(buf + at, cap - at, "%s%s='%s'", sep, c->name, promo_column_str(c, row));
        else if (c->type == PROMO_COL_FLOAT64)
            w = snprintf(buf + at, cap - at, "%s%s=%g", sep, c->name, c->f64[row]);
        else if (c->type == PROMO_COL_BOOL)
            w = snprintf(buf + at, cap - at, "%s%s=%d", sep, c->name, c->b[row]);
        else
            w = snprintf(buf + at, cap - at, "%s%s=%lld", sep, c->name, (long long)c->i64[row]);
        if (w < 0)
            break;
        at += (size_t)w;
    }
}
