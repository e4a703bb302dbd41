/* The API's state: the store opened per call, the workspace stamp, the handles opened on first
 * use and dropped when the stamp moves (see api.h for why the store is not kept open). */
#include "server/api.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <promo/alloc.h>
#include <promo/campaign.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/features.h>
#include <promo/forecast.h>
#include <promo/hash.h>
#include <promo/panel.h>
#include <promo/recommend.h>
#include <promo/scorer.h>
#include <promo/store.h>
#include <promo/synth.h>
#include <promo/table.h>
#include <promo/uplift_score.h>

#include "server/api_internal.h"

/* Pointers published to calls that do not hold load_mu: release stores, acquire loads. */
#define LOAD(p)     __atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)

static void free_json(void *p)
{
    cJSON_Delete(p);
}

int promo_api_open(const char *ws, promo_api **out)
{
    *out = NULL;
    if (!ws || strlen(ws) >= sizeof((promo_api *)0)->ws)
        return promo_fail(PROMO_EUSAGE, "serve: workspace path missing or too long");
    promo_store *s = NULL;
    int rc = promo_store_open_read(ws, &s);
    promo_store_close(s); /* only a check: the lock is not kept */
    if (rc)
        return rc;
    promo_api *api = promo_calloc(1, sizeof *api);
    if (!api)
        return PROMO_ENOMEM;
    snprintf(api->ws, sizeof api->ws, "%s", ws);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* Writers first: under a steady stream of calls a reload would otherwise wait forever. */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&api->rw, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&api->load_mu, NULL);
    pthread_mutex_init(&api->engine_mu, NULL);
    pthread_mutex_init(&api->forecast_mu, NULL);
    pthread_mutex_init(&api->cache_mu, NULL);
    pthread_mutex_init(&api->count_mu, NULL);
    api->max_result_rows = PROMO_API_MAX_ROWS;
    api->n_customers = api->n_products = -1;
    api->optima = promo_calloc(API_MAX_OPTIMA, sizeof *api->optima);
    api->xsell = api_cache_new(256, free_json);
    api->reasons = api_cache_new(1 << 16, promo_free);
    api->bundles = api_cache_new(256, promo_free);
    if (!api->optima || !api->xsell || !api->reasons || !api->bundles) {
        promo_api_free(api);
        return PROMO_ENOMEM;
    }
    *out = api;
    return PROMO_OK;
}

/* Called with rw held for writing (or by free). */
static void drop_handles(promo_api *api)
{
    promo_campaign_profiles_free(api->profiles); /* borrows the scorer's features */
    api->profiles = NULL;
    api->profiles_loaded = 0;
    promo_scorer_free(api->scorer);
    api->scorer = NULL;
    promo_dict_free(api->cust_row);
    api->cust_row = NULL;
    promo_free(api->cust_table_row);
    api->cust_table_row = NULL;
    promo_uplift_scorer_free(api->uplift);
    api->uplift = NULL;
    promo_world_free(api->world);
    api->world = NULL;
    promo_rec_model_free(api->rec);
    api->rec = NULL;
    if (api->rec_hist) {
        promo_rec_data_free(api->rec_hist);
        promo_free(api->rec_hist);
        api->rec_hist = NULL;
    }
    api->rec_loaded = 0;
    api->n_customers = api->n_products = -1;
    api_segments_free(api->segs);
    api->segs = NULL;
    api->segs_loaded = 0;
    promo_forecaster_free(api->forecaster);
    api->forecaster = NULL;
    api->n_optima = 0;
    api_cache_clear(api->xsell);
    api_cache_clear(api->reasons);
    api_cache_clear(api->bundles);
}

void promo_api_free(promo_api *api)
{
    if (!api)
        return;
    drop_handles(api);
    api_cache_free(api->xsell);
    api_cache_free(api->reasons);
    api_cache_free(api->bundles);
    pthread_rwlock_destroy(&api->rw);
    pthread_mutex_destroy(&api->load_mu);
    pthread_mutex_destroy(&api->engine_mu);
    pthread_mutex_destroy(&api->forecast_mu);
    pthread_mutex_destroy(&api->cache_mu);
    pthread_mutex_destroy(&api->count_mu);
    promo_free(api->optima);
    promo_free(api);
}

static long long mtime_ns(const struct stat *st)
{
    return (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* The file stamp: promo.db's inode, size and time (a derived table such as `segments` does
 * not move the data version; a replaced file moves the inode), and every model file's name,
 * size and time (hashed so the order of the listing does not matter). *newest: the latest
 * time seen, ns. No store needed: a few stat calls. */
static void file_stamp(const char *ws, char *out, size_t n, long long *newest)
{
    char path[4200];
    struct stat st;
    long long db_size = -1, db_ns = -1, db_ino = -1;
    *newest = 0;
    snprintf(path, sizeof path, "%s/promo.db", ws);
    if (stat(path, &st) == 0) {
        db_size = (long long)st.st_size;
        db_ns = mtime_ns(&st);
        db_ino = (long long)st.st_ino;
        *newest = db_ns;
    }
    uint64_t h = 0, n_files = 0;
    snprintf(path, sizeof path, "%s/models", ws);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .., and a writer's temporaries */
        char fp[4500];
        snprintf(fp, sizeof fp, "%s/%s", path, e->d_name);
        if (stat(fp, &st) != 0)
            continue;
        char line[600];
        int len = snprintf(line, sizeof line, "%s|%lld|%lld|%ld", e->d_name, (long long)st.st_size,
                           (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
        h += promo_hash_bytes(line, len > 0 ? (size_t)len : 0); /* order-free */
        n_files++;
        if (mtime_ns(&st) > *newest)
            *newest = mtime_ns(&st);
    }
    if (d)
        closedir(d);
    snprintf(out, n, "%lld|%lld|%lld|%llu|%016llx", db_ino, db_size, db_ns,
             (unsigned long long)n_files, (unsigned long long)h);
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t); /* the clock file times are taken from */
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* 1 when the last open failed because another command holds the workspace (store.h words). */
static int workspace_busy(int rc)
{
    return rc == PROMO_EIO && strstr(promo_last_error(), "in use by another promo command");
}

/* With rw held for reading: make the handles those of stamp, dropping them when they are of
 * another. Returns with rw still held for reading. */
static void settle(promo_api *api, const char *stamp, const char *fstamp)
{
    for (int tries = 0; tries < 3 && strcmp(api->stamp, stamp) != 0; tries++) {
        pthread_rwlock_unlock(&api->rw);
        pthread_rwlock_wrlock(&api->rw);
        if (strcmp(api->stamp, stamp) != 0) {
            if (api->stamp[0])
                api->n_reloads++;
            drop_handles(api);
            snprintf(api->stamp, sizeof api->stamp, "%s", stamp);
            snprintf(api->fstamp, sizeof api->fstamp, "%s", fstamp);
            api->fstamp_quiet = 0;
        }
        pthread_rwlock_unlock(&api->rw);
        pthread_rwlock_rdlock(&api->rw);
    }
}

int promo_api_begin(promo_api *api, promo_api_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    long long t0 = now_ns(), newest = 0;
    file_stamp(api->ws, ctx->fstamp, sizeof ctx->fstamp, &newest);
    pthread_rwlock_rdlock(&api->rw);
    ctx->locked = 1;
    /* Nothing moved since a call saw every file quiet: no store needed (see api.h). */
    if (api->stamp[0] && api->fstamp_quiet && !strcmp(api->fstamp, ctx->fstamp))
        return PROMO_OK;
    int rc = promo_store_open_read(api->ws, &ctx->store);
    if (rc) {
        ctx->store = NULL;
        if (workspace_busy(rc) && api->stamp[0]) {
            ctx->busy = 1; /* answer from the loaded handles */
            return PROMO_OK;
        }
        promo_api_end(api, ctx);
        return rc;
    }
    /* Under the shared lock no writer commits: the version and the files agree. */
    file_stamp(api->ws, ctx->fstamp, sizeof ctx->fstamp, &newest);
    char *ver = promo_store_meta_get(ctx->store, "data.version");
    char stamp[sizeof api->stamp];
    snprintf(stamp, sizeof stamp, "%s|%s", ver ? ver : "-", ctx->fstamp);
    promo_free(ver);
    settle(api, stamp, ctx->fstamp);
    if (!strcmp(api->stamp, stamp) && t0 - newest > 1000000000LL)
        api->fstamp_quiet = 1;
    return PROMO_OK;
}

void promo_api_end(promo_api *api, promo_api_ctx *ctx)
{
    if (!api || !ctx)
        return;
    promo_store_close(ctx->store);
    ctx->store = NULL;
    if (ctx->locked)
        pthread_rwlock_unlock(&api->rw);
    ctx->locked = 0;
}

int promo_api_store(promo_api *api, promo_api_ctx *ctx, promo_store **out)
{
    *out = NULL;
    if (!ctx || !ctx->locked)
        return promo_fail(PROMO_EUSAGE, "api: handle used outside begin .. end");
    if (ctx->busy)
        return promo_fail(PROMO_EIO,
                          "workspace %s is being written by another promo command and "
                          "this answer needs it: try again when it has finished",
                          api->ws);
    if (!ctx->store) {
        int rc = promo_store_open_read(api->ws, &ctx->store);
        if (rc) {
            ctx->store = NULL;
            if (workspace_busy(rc))
                ctx->busy = 1;
            return rc;
        }
        /* Opened after the stamp was compared: what it holds is as new as the stamp or newer;
         * a newer state moves the stamp, and the next call reloads. */
    }
    *out = ctx->store;
    return PROMO_OK;
}

int api_need_store(promo_api *api, promo_api_ctx *ctx)
{
    promo_store *s = NULL;
    return promo_api_store(api, ctx, &s);
}
void api_scorer_lend(promo_api *api, promo_api_ctx *ctx)
{
    promo_scorer_set_store(api->scorer, ctx->store);
    ctx->scorer_lent = 1;
}

void api_scorer_unlend(promo_api *api, promo_api_ctx *ctx)
{
    if (ctx->scorer_lent)
        promo_scorer_set_store(api->scorer, NULL);
    ctx->scorer_lent = 0;
}

/* The panel and features with the routes' id maps; called under load_mu. */
static int open_scorer(promo_api *api, promo_store *store)
{
    promo_scorer *h = NULL;
    int rc = promo_scorer_open(store, NULL, 0, api->n_threads, &h);
    if (rc)
        return rc;
    const promo_features *f = promo_scorer_features(h);
    const promo_panel *d = promo_scorer_panel(h);
    promo_dict *ids = promo_dict_new();
    uint32_t *trow = promo_mallocn(f->n_customers ? f->n_customers : 1, sizeof *trow);
    if (!ids || !trow) {
        promo_dict_free(ids);
        promo_free(trow);
        promo_scorer_free(h);
        return PROMO_ENOMEM;
    }
    /* Features rows -> customers-table rows by id (the customers table may list customers
     * the features do not know, and the other way round). */
    for (size_t i = 0; i < f->n_customers; i++) {
        const char *id = promo_features_customer_id(f, i);
        promo_dict_intern(ids, id, strlen(id));
        trow[i] = UINT32_MAX;
    }
    const promo_column *cid = d->customers ? promo_table_column(d->customers, "customer_id") : NULL;
    for (size_t r = 0; cid && r < d->customers->n_rows; r++) {
        const char *id = promo_column_str(cid, r);
        uint32_t k = id ? promo_dict_find(ids, id, strlen(id)) : PROMO_DICT_NONE;
        if (k != PROMO_DICT_NONE && k < f->n_customers)
            trow[k] = (uint32_t)r;
    }
    /* The scorer keeps no store between calls: each call lends its own (api_scorer_lend). */
    promo_scorer_set_store(h, NULL);
    api->cust_row = ids;
    api->cust_table_row = trow;
    STORE(api->scorer, h); /* last: a scorer says the maps are ready */
    return PROMO_OK;
}

/* The getters: a loaded handle at once; else, under load_mu, checked again and opened with
 * the call's store. */
int promo_api_scorer(promo_api *api, promo_api_ctx *ctx, promo_scorer **out)
{
    *out = LOAD(api->scorer);
    if (*out)
        return PROMO_OK;
    promo_store *s = NULL;
    int rc = promo_api_store(api, ctx, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&api->load_mu);
    if (!api->scorer)
        rc = open_scorer(api, s);
    pthread_mutex_unlock(&api->load_mu);
    *out = rc ? NULL : api->scorer;
    return rc;
}

uint32_t promo_api_customer_row(promo_api *api, const char *id)
{
    const promo_dict *ids = LOAD(api->scorer) ? api->cust_row : NULL;
    if (!ids || !id)
        return UINT32_MAX;
    uint32_t k = promo_dict_find(ids, id, strlen(id));
    return k == PROMO_DICT_NONE ? UINT32_MAX : k;
}

uint32_t api_product_row(promo_api *api, const char *id)
{
    const promo_scorer *h = LOAD(api->scorer);
    if (!h || !id)
        return UINT32_MAX;
    const promo_panel *d = promo_scorer_panel(h);
    const promo_column *c = d->prod_id;
    if (!c || !c->dict)
        return UINT32_MAX;
    uint32_t code = promo_dict_find(c->dict, id, strlen(id));
    if (code == PROMO_DICT_NONE)
        return UINT32_MAX;
    for (size_t r = 0; r < c->n; r++)
        if (c->codes[r] == code && !promo_column_is_null(c, r))
            return (uint32_t)r;
    return UINT32_MAX;
}

int promo_api_uplift(promo_api *api, promo_api_ctx *ctx, promo_uplift_scorer **out)
{
    *out = LOAD(api->uplift);
    if (*out)
        return PROMO_OK;
    promo_store *s = NULL;
    int rc = promo_api_store(api, ctx, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&api->load_mu);
    if (!api->uplift) {
        promo_uplift_scorer *h = NULL;
        if (!(rc = promo_uplift_scorer_open(s, 0, api->n_threads, &h)))
            STORE(api->uplift, h);
    }
    pthread_mutex_unlock(&api->load_mu);
    *out = rc ? NULL : api->uplift;
    return rc;
}

int promo_api_forecaster(promo_api *api, promo_api_ctx *ctx, promo_forecaster **out)
{
    *out = LOAD(api->forecaster);
    if (*out)
        return PROMO_OK;
    promo_store *s = NULL;
    int rc = promo_api_store(api, ctx, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&api->load_mu);
    if (!api->forecaster) {
        promo_forecaster *h = NULL;
        if (!(rc = promo_forecaster_open(s, 0, api->n_threads, &h)))
            STORE(api->forecaster, h);
    }
    pthread_mutex_unlock(&api->load_mu);
    *out = rc ? NULL : api->forecaster;
    return rc;
}

int promo_api_world(promo_api *api, promo_api_ctx *ctx, promo_world **out)
{
    *out = LOAD(api->world);
    if (*out)
        return PROMO_OK;
    promo_store *s = NULL;
    int rc = promo_api_store(api, ctx, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&api->load_mu);
    if (!api->world) {
        promo_world *w = NULL;
        if (!(rc = promo_world_load(s, &w)))
            STORE(api->world, w);
        else if (rc == PROMO_ENOTFOUND)
            promo_fail(PROMO_ENOTFOUND,
                       "workspace %s holds no generated world (only a world made "
                       "by promo generate can be simulated)",
                       api->ws);
    }
    pthread_mutex_unlock(&api->load_mu);
    *out = rc ? NULL : api->world;
    return rc;
}

/* The first kind trained, in the order of how well they usually rank; under load_mu. */
static int open_recommender(promo_api *api, promo_store *s)
{
    static const char *const kinds[] = {"hybrid", "als", "bpr", "knn", "mf", NULL};
    for (size_t k = 0; kinds[k] && !api->rec; k++) {
        char *path = promo_rec_model_path(s, kinds[k]);
        if (!path)
            return PROMO_ENOMEM;
        struct stat st;
        if (stat(path, &st) == 0) {
            promo_rec_model *m = NULL;
            promo_rec_data *hist = promo_calloc(1, sizeof *hist);
            if (!hist) {
                promo_free(path);
                return PROMO_ENOMEM;
            }
            if (promo_rec_model_load(path, &m) == PROMO_OK &&
                promo_rec_data_workspace(s, NULL, promo_rec_model_as_of(m), hist) == PROMO_OK &&
                hist->m.n_rows == promo_rec_model_n_users(m) &&
                hist->m.n_cols == promo_rec_model_n_items(m)) {
                api->rec = m;
                api->rec_hist = hist;
            } else {
                /* A damaged or mismatched model is skipped: the page works without one. */
                promo_rec_model_free(m);
                promo_rec_data_free(hist);
                promo_free(hist);
            }
        }
        promo_free(path);
    }
    return PROMO_OK;
}

int promo_api_recommender(promo_api *api, promo_api_ctx *ctx, promo_rec_model **out)
{
    *out = NULL;
    if (LOAD(api->rec_loaded)) {
        *out = api->rec;
        return PROMO_OK;
    }
    promo_store *s = NULL;
    int rc = promo_api_store(api, ctx, &s);
    if (rc)
        return rc;
    pthread_mutex_lock(&api->load_mu);
    if (!api->rec_loaded && !(rc = open_recommender(api, s)))
        STORE(api->rec_loaded, 1);
    pthread_mutex_unlock(&api->load_mu);
    *out = rc ? NULL : api->rec;
    return rc;
}

/* ------------------------------------------------------------------- cache ---- */

struct api_cache {
    promo_dict *keys;
    void **vals; /* by key code */
    size_t max;
    void (*free_val)(void *);
};

api_cache *api_cache_new(size_t max_entries, void (*free_val)(void *))
{
    api_cache *c = promo_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max = max_entries ? max_entries : 1;
    c->free_val = free_val;
    c->keys = promo_dict_new();
    c->vals = promo_calloc(c->max, sizeof *c->vals);
    if (!c->keys || !c->vals) {
        api_cache_free(c);
        return NULL;
    }
    return c;
}

void api_cache_clear(api_cache *c)
{
    if (!c)
        return;
    uint32_t n = c->keys ? promo_dict_size(c->keys) : 0;
    for (uint32_t i = 0; i < n && i < c->max; i++) {
        c->free_val(c->vals[i]);
        c->vals[i] = NULL;
    }
    promo_dict_free(c->keys);
    c->keys = promo_dict_new();
}

void api_cache_free(api_cache *c)
{
    if (!c)
        return;
    if (c->vals)
        api_cache_clear(c);
    promo_dict_free(c->keys);
    promo_free(c->vals);
    promo_free(c);
}

void *api_cache_get(const api_cache *c, const char *key)
{
    if (!c || !c->keys)
        return NULL;
    uint32_t k = promo_dict_find(c->keys, key, strlen(key));
    return k == PROMO_DICT_NONE ? NULL : c->vals[k];
}

int api_cache_put(api_cache *c, const char *key, void *val)
{
    if (!val)
        return PROMO_OK;
    if (c->keys && promo_dict_find(c->keys, key, strlen(key)) != PROMO_DICT_NONE) {
        c->free_val(val);
        return PROMO_OK;
    }
    if (!c->keys || promo_dict_size(c->keys) >= c->max)
        api_cache_clear(c);
    uint32_t k = c->keys ? promo_dict_intern(c->keys, key, strlen(key)) : PROMO_DICT_NONE;
    if (k == PROMO_DICT_NONE || k >= c->max) {
        c->free_val(val);
        return PROMO_ENOMEM;
    }
    c->vals[k] = val;
    return PROMO_OK;
}

/* ------------------------------------------------------------------ replies ---- */

int promo_api_fail(promo_api_reply *out, int status, const char *field, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON_Delete(out->body);
    out->status = status;
    out->body = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(out->body, "error");
    cJSON_AddNumberToObject(e, "status", status);
    if (field)
        cJSON_AddStringToObject(e, "field", field);
    else
        cJSON_AddNullToObject(e, "field");
    cJSON_AddStringToObject(e, "message", msg);
    return 0;
}

int promo_api_fail_engine(promo_api_reply *out, int rc, const char *field)
{
    const char *msg = promo_last_error();
    if (rc == PROMO_ENOTFOUND)
        return promo_api_fail(out, 409, NULL, "%s", msg);
    if (rc == PROMO_EINPUT || rc == PROMO_EUSAGE)
        return promo_api_fail(out, 400, field, "%s", msg);
    return rc;
}

cJSON *api_add_num(cJSON *obj, const char *key, double v)
{
    return isfinite(v) ? cJSON_AddNumberToObject(obj, key, v) : cJSON_AddNullToObject(obj, key);
}

cJSON *api_add_str(cJSON *obj, const char *key, const char *s)
{
    return s ? cJSON_AddStringToObject(obj, key, s) : cJSON_AddNullToObject(obj, key);
}

int api_ok(promo_api_reply *out, cJSON *body)
{
    if (!body)
        return promo_fail(PROMO_ENOMEM, "api: out of memory building the reply");
    cJSON_Delete(out->body);
    out->status = 200;
    out->body = body;
    return PROMO_OK;
}
