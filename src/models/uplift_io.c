/* src/models/uplift_io.c: saving and loading fitted uplift models (include/promo/uplift_io.h).
 *
 * The layout is in the header. The base models are XGBoost boosters saved through
 * promo_learner_save_buffer (XGBoost's JSON, whose float round trip is exact), so a reloaded
 * model predicts bit for bit what the saved one did. The checksum (FNV-1a 64) is checked before
 * any field is read, so random damage is refused at once; the field checks after it are what
 * keeps a well-checksummed but hostile file (the fuzz target recomputes the checksum) from
 * crashing: every length is checked against the bytes left before it is used, and every base
 * model is loaded and checked for the width and output count its place in the model implies.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/learner.h>
#include <promo/uplift_io.h>

#include "models/uplift_internal.h"

#define MAGIC      "PROMOUPL"
#define MAGIC_LEN  8
#define MAX_ARMS   1000
#define MAX_D      1000000u
#define MAX_ATTRS  4096u
#define HEADER_LEN 76 /* magic .. overlap (see the header's table) */

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---------------------------------------------------------------- writing ---- */

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
    int oom;
} wbuf;

static void put(wbuf *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (promo_grow((void **)&b->p, &b->cap, b->n + n, 1)) {
        b->oom = 1;
        return;
    }
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_u32(wbuf *b, uint32_t v)
{
    uint8_t s[4];
    for (int i = 0; i < 4; i++)
        s[i] = (uint8_t)(v >> (8 * i));
    put(b, s, 4);
}

static void put_u64(wbuf *b, uint64_t v)
{
    uint8_t s[8];
    for (int i = 0; i < 8; i++)
        s[i] = (uint8_t)(v >> (8 * i));
    put(b, s, 8);
}

static void put_f64(wbuf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_u64(b, u);
}

static void put_str(wbuf *b, const char *s)
{
    size_t n = strlen(s);
    put_u32(b, (uint32_t)n);
    put(b, s, n);
}

static int is_forest(promo_uplift_learner l)
{
    return l == PROMO_UPLIFT_TREE || l == PROMO_UPLIFT_FOREST;
}

static size_t n_mu_of(promo_uplift_learner l, int K)
{
    return l == PROMO_UPLIFT_DR ? (size_t)N_FOLDS * (size_t)K : (size_t)K;
}

static size_t n_tau_of(promo_uplift_learner l, int K)
{
    return (size_t)(K - 1) * (l == PROMO_UPLIFT_X ? 2 : 1);
}

static int put_learner(wbuf *b, promo_learner *l)
{
    if (!l) {
        put_u64(b, 0);
        return PROMO_OK;
    }
    char *buf = NULL;
    size_t len = 0;
    int rc = promo_learner_save_buffer(l, &buf, &len);
    if (rc)
        return rc;
    put_u64(b, len);
    put(b, buf, len);
    promo_free(buf);
    return PROMO_OK;
}

int promo_uplift_save(
    promo_uplift *m, const char *const *attrs, size_t n_attrs, char **out, size_t *n)
{
    if (!m || !out || !n || (n_attrs && !attrs))
        return promo_fail(PROMO_EUSAGE, "uplift save: needs a model and out");
    *out = NULL;
    *n = 0;
    if (n_attrs > MAX_ATTRS)
        return promo_fail(PROMO_EUSAGE, "uplift save: %zu attributes, at most %u", n_attrs,
                          MAX_ATTRS);
    for (size_t k = 0; k < 2 * n_attrs; k++)
        if (!attrs[k] || (k % 2 == 0 && !attrs[k][0]) || strlen(attrs[k]) > UINT32_MAX)
            return promo_fail(PROMO_EUSAGE, "uplift save: attribute %zu has no key or value",
                              k / 2);
    wbuf b = {0};
    put(&b, MAGIC, MAGIC_LEN);
    put_u32(&b, PROMO_UPLIFT_FORMAT_VERSION);
    put_u32(&b, (uint32_t)m->learner);
    put_u32(&b, (uint32_t)m->n_arms);
    put_u32(&b, (uint32_t)m->binary);
    put_u64(&b, (uint64_t)m->d);
    put_u32(&b, (uint32_t)m->weighting);
    put_f64(&b, m->clip);
    put_f64(&b, m->overlap.clipped_share);
    put_f64(&b, m->overlap.e_min);
    put_f64(&b, m->overlap.e_max);
    put_u64(&b, (uint64_t)m->overlap.n_rows);
    for (int a = 0; a < m->n_arms; a++)
        put_f64(&b, m->share[a]);
    put_u32(&b, (uint32_t)n_attrs);
    for (size_t k = 0; k < 2 * n_attrs; k++)
        put_str(&b, attrs[k]);
    int rc = put_learner(&b, m->prop);
    if (!rc)
        rc = put_learner(&b, m->s);
    for (size_t k = 0; k < n_mu_of(m->learner, m->n_arms) && !rc; k++)
        rc = put_learner(&b, m->mu[k]);
    for (size_t k = 0; k < n_tau_of(m->learner, m->n_arms) && !rc; k++)
        rc = put_learner(&b, m->tau[k]);
    if (!rc && is_forest(m->learner)) { /* the trees, in their own format (uplift_tree.h) */
        char *fb = NULL;
        size_t fn = 0;
        if (!(rc = promo_uplift_forest_save(m->forest, &fb, &fn))) {
            put_u64(&b, fn);
            put(&b, fb, fn);
        }
        promo_free(fb);
    }
    if (!rc && !b.oom)
        put_u64(&b, fnv1a64(b.p, b.n));
    if (!rc && b.oom)
        rc = PROMO_ENOMEM;
    if (rc) {
        promo_free(b.p);
        return rc;
    }
    *out = (char *)b.p;
    *n = b.n;
    return PROMO_OK;
}

/* ---------------------------------------------------------------- reading ---- */

typedef struct rbuf {
    const uint8_t *p;
    size_t n, at;
} rbuf;

static int take(rbuf *r, size_t n, const uint8_t **out)
{
    if (n > r->n - r->at)
        return promo_fail(PROMO_EINPUT, "uplift model: truncated at byte %zu (%zu more needed)",
                          r->at, n);
    *out = r->p + r->at;
    r->at += n;
    return PROMO_OK;
}

static int get_u32(rbuf *r, uint32_t *v)
{
    const uint8_t *s = NULL;
    if (take(r, 4, &s))
        return PROMO_EINPUT;
    *v = 0;
    for (int i = 0; i < 4; i++)
        *v |= (uint32_t)s[i] << (8 * i);
    return PROMO_OK;
}

static int get_u64(rbuf *r, uint64_t *v)
{
    const uint8_t *s = NULL;
    if (take(r, 8, &s))
        return PROMO_EINPUT;
    *v = 0;
    for (int i = 0; i < 8; i++)
        *v |= (uint64_t)s[i] << (8 * i);
    return PROMO_OK;
}

static int get_f64(rbuf *r, double *v)
{
    uint64_t u;
    if (get_u64(r, &u))
        return PROMO_EINPUT;
    memcpy(v, &u, sizeof *v);
    return PROMO_OK;
}

/* A base model of width d with k outputs, or NULL when absent (length 0). */
static int get_learner(rbuf *r, size_t d, size_t k, const char *what, promo_learner **out)
{
    *out = NULL;
    uint64_t len;
    const uint8_t *s = NULL;
    if (get_u64(r, &len))
        return PROMO_EINPUT;
    if (len == 0)
        return PROMO_OK;
    if (len > r->n - r->at || take(r, (size_t)len, &s))
        return promo_fail(PROMO_EINPUT, "uplift model: %s: %llu bytes, %zu left", what,
                          (unsigned long long)len, r->n - r->at);
    int rc = promo_learner_load_buffer(s, (size_t)len, out);
    if (rc)
        return promo_fail_prefix(rc == PROMO_ENOMEM ? rc : PROMO_EINPUT, "uplift model: %s", what);
    if (promo_learner_n_features(*out) != d || promo_learner_n_outputs(*out) != k) {
        size_t nf = promo_learner_n_features(*out), no = promo_learner_n_outputs(*out);
        promo_learner_free(*out);
        *out = NULL;
        return promo_fail(PROMO_EINPUT,
                          "uplift model: %s has %zu features and %zu outputs, expected %zu and %zu",
                          what, nf, no, d, k);
    }
    return PROMO_OK;
}

/* Which base models a learner cannot predict without. */
static int check_present(const promo_uplift *m)
{
    size_t K = (size_t)m->n_arms;
    int ok = 1;
    switch (m->learner) {
    case PROMO_UPLIFT_S:
        ok = m->s != NULL;
        break;
    case PROMO_UPLIFT_T:
        for (size_t a = 0; a < K; a++)
            ok &= m->mu[a] != NULL;
        break;
    case PROMO_UPLIFT_X:
        for (size_t a = 0; a < K; a++)
            ok &= m->mu[a] != NULL;
        for (size_t k = 0; k < 2 * (K - 1); k++)
            ok &= m->tau[k] != NULL;
        break;
    case PROMO_UPLIFT_R:
    case PROMO_UPLIFT_CT: /* one effect model per arm */
        for (size_t k = 0; k < K - 1; k++)
            ok &= m->tau[k] != NULL;
        break;
    case PROMO_UPLIFT_DR:
        for (size_t a = 0; a < N_FOLDS * K; a++)
            ok &= m->mu[a] != NULL;
        for (size_t k = 0; k < K - 1; k++)
            ok &= m->tau[k] != NULL;
        break;
    case PROMO_UPLIFT_TREE:
    case PROMO_UPLIFT_FOREST:
        ok = m->forest != NULL &&
             (m->learner == PROMO_UPLIFT_FOREST || promo_uplift_forest_n_trees(m->forest) == 1);
        break;
    default:
        ok = 0;
        break;
    }
    if (m->weighting && !m->prop)
        ok = 0;
    return ok ? PROMO_OK
              : promo_fail(PROMO_EINPUT,
                           "uplift model: a base model the %s-learner needs is "
                           "missing",
                           promo_uplift_learner_name(m->learner));
}

/* The attribute list: 2 * na strings in one allocation. */
static int get_attrs(rbuf *r, uint32_t na, char ***out)
{
    *out = NULL;
    size_t at0 = r->at, total = 0;
    for (uint32_t k = 0; k < 2 * na; k++) { /* sizes first */
        uint32_t len;
        const uint8_t *s = NULL;
        if (get_u32(r, &len) || take(r, len, &s))
            return PROMO_EINPUT;
        total += (size_t)len + 1;
    }
    size_t ptrs = 2 * (size_t)na * sizeof(char *);
    char **a = promo_malloc(ptrs + total + 1);
    if (!a)
        return PROMO_ENOMEM;
    char *w = (char *)a + ptrs;
    r->at = at0;
    for (uint32_t k = 0; k < 2 * na; k++) {
        uint32_t len;
        const uint8_t *s = NULL;
        get_u32(r, &len);
        take(r, len, &s);
        if (memchr(s, 0, len)) {
            promo_free(a);
            return promo_fail(PROMO_EINPUT, "uplift model: attribute %u holds a NUL byte", k / 2);
        }
        a[k] = w;
        memcpy(w, s, len);
        w[len] = 0;
        w += len + 1;
        if (k % 2 == 0 && len == 0) {
            promo_free(a);
            return promo_fail(PROMO_EINPUT, "uplift model: attribute %u has an empty key", k / 2);
        }
    }
    *out = a;
    return PROMO_OK;
}

int promo_uplift_load(
    const void *data, size_t n, promo_uplift **out, char ***attrs, size_t *n_attrs)
{
    if (!out || (n && !data))
        return promo_fail(PROMO_EUSAGE, "uplift load: needs data and out");
    *out = NULL;
    if (attrs)
        *attrs = NULL;
    if (n_attrs)
        *n_attrs = 0;
    const uint8_t *p = data;
    if (n < HEADER_LEN + 8 || memcmp(p, MAGIC, MAGIC_LEN) != 0)
        return promo_fail(PROMO_EINPUT,
                          "uplift model: not a promo uplift model (%zu bytes, no "
                          "PROMOUPL header)",
                          n);
    rbuf r = {p, n - 8, MAGIC_LEN};
    uint32_t version = 0;
    get_u32(&r, &version);
    if (version != PROMO_UPLIFT_FORMAT_VERSION)
        return promo_fail(PROMO_EVERSION,
                          "uplift model: format version %u; this promo reads version %u", version,
                          PROMO_UPLIFT_FORMAT_VERSION);
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++)
        sum |= (uint64_t)p[n - 8 + (size_t)i] << (8 * i);
    if (sum != fnv1a64(p, n - 8))
        return promo_fail(PROMO_EINPUT, "uplift model: checksum mismatch (the file is damaged)");

    uint32_t learner, K, binary, weighting, na;
    uint64_t d, n_rows;
    double clip, cs, emin, emax;
    get_u32(&r, &learner);
    get_u32(&r, &K);
    get_u32(&r, &binary);
    get_u64(&r, &d);
    get_u32(&r, &weighting);
    get_f64(&r, &clip);
    get_f64(&r, &cs);
    get_f64(&r, &emin);
    get_f64(&r, &emax);
    get_u64(&r, &n_rows);
    if (learner >= PROMO_UPLIFT_LEARNER_COUNT)
        return promo_fail(PROMO_EINPUT, "uplift model: unknown learner %u", learner);
    if (K < 2 || K > MAX_ARMS || binary > 1 || weighting > 1 || d < 1 || d > MAX_D ||
        !(clip >= 0.0 && clip < 0.5) || !isfinite(cs) || !isfinite(emin) || !isfinite(emax))
        return promo_fail(PROMO_EINPUT,
                          "uplift model: bad header (arms %u, binary %u, features %llu, "
                          "weighting %u, clip %g)",
                          K, binary, (unsigned long long)d, weighting, clip);

    int rc = PROMO_OK;
    char **kv = NULL;
    promo_uplift *m = promo_calloc(1, sizeof *m);
    if (!m)
        return PROMO_ENOMEM;
    m->learner = (promo_uplift_learner)learner;
    m->n_arms = (int)K;
    m->d = (size_t)d;
    m->binary = (int)binary;
    m->weighting = (int)weighting;
    m->clip = clip;
    m->overlap.clipped_share = cs;
    m->overlap.e_min = emin;
    m->overlap.e_max = emax;
    m->overlap.n_rows = (size_t)n_rows;
    size_t n_mu = n_mu_of(m->learner, m->n_arms), n_tau = n_tau_of(m->learner, m->n_arms);
    m->share = promo_calloc(K, sizeof *m->share);
    m->mu = promo_calloc(n_mu, sizeof *m->mu);
    m->tau = promo_calloc(n_tau, sizeof *m->tau);
    if (!m->share || !m->mu || !m->tau) {
        rc = PROMO_ENOMEM;
        goto fail;
    }
    for (uint32_t a = 0; a < K && !rc; a++) {
        if ((rc = get_f64(&r, &m->share[a])))
            break;
        if (!(m->share[a] >= 0.0 && m->share[a] <= 1.0))
            rc = promo_fail(PROMO_EINPUT, "uplift model: arm %u share %g", a, m->share[a]);
    }
    if (rc || (rc = get_u32(&r, &na)))
        goto fail;
    if (na > MAX_ATTRS) {
        rc = promo_fail(PROMO_EINPUT, "uplift model: %u attributes, at most %u", na, MAX_ATTRS);
        goto fail;
    }
    if ((rc = get_attrs(&r, na, &kv)))
        goto fail;
    if ((rc = get_learner(&r, m->d, K, "propensity model", &m->prop)) ||
        (rc = get_learner(&r, m->d + K, 1, "S model", &m->s)))
        goto fail;
    for (size_t k = 0; k < n_mu && !rc; k++)
        rc = get_learner(&r, m->d, 1, "outcome model", &m->mu[k]);
    for (size_t k = 0; k < n_tau && !rc; k++)
        rc = get_learner(&r, m->d, 1, "effect model", &m->tau[k]);
    if (!rc && is_forest(m->learner)) {
        uint64_t fl = 0;
        const uint8_t *fs = NULL;
        if ((rc = get_u64(&r, &fl)))
            goto fail;
        if (fl > r.n - r.at || (rc = take(&r, (size_t)fl, &fs))) {
            rc = promo_fail(PROMO_EINPUT, "uplift model: trees: %llu bytes, %zu left",
                            (unsigned long long)fl, r.n - r.at);
            goto fail;
        }
        if ((rc = promo_uplift_forest_load(fs, (size_t)fl, &m->forest))) {
            promo_fail_prefix(rc, "uplift model");
            goto fail;
        }
        if (promo_uplift_forest_n_features(m->forest) != m->d ||
            promo_uplift_forest_n_arms(m->forest) != m->n_arms) {
            rc = promo_fail(PROMO_EINPUT,
                            "uplift model: trees of %zu features and %d arms in a model of %zu "
                            "and %d",
                            promo_uplift_forest_n_features(m->forest),
                            promo_uplift_forest_n_arms(m->forest), m->d, m->n_arms);
            goto fail;
        }
    }
    if (rc || (rc = check_present(m)))
        goto fail;
    if (r.at != r.n) {
        rc = promo_fail(PROMO_EINPUT, "uplift model: %zu unexpected bytes after the last model",
                        r.n - r.at);
        goto fail;
    }
    *out = m;
    m = NULL;
    if (attrs) {
        *attrs = kv;
        kv = NULL;
    }
    if (n_attrs)
        *n_attrs = na;
fail:
    promo_free(kv);
    promo_uplift_free(m);
    return rc;
}

const char *promo_uplift_attr(char *const *attrs, size_t n_attrs, const char *key)
{
    for (size_t k = 0; attrs && key && k < n_attrs; k++)
        if (strcmp(attrs[2 * k], key) == 0)
            return attrs[2 * k + 1];
    return NULL;
}
