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

#include <promo/alloc.h>
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
    pthread_mutex_init(&api->lock, NULL);
    api->max_result_rows = PROMO_API_MAX_ROWS;
    api->optima = promo_calloc(API_MAX_OPTIMA, sizeof *api->optima);
    if (!api->optima) {
        promo_free(api);
        return PROMO_ENOMEM;
    }
    *out = api;
    return PROMO_OK;
}

static void drop_handles(promo_api *api)
{
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
    api_segments_free(api->segs);
    api->segs = NULL;
    api->segs_loaded = 0;
    promo_forecaster_free(api->forecaster);
    api->forecaster = NULL;
    api->n_optima = 0;
}

void promo_api_free(promo_api *api)
{
    if (!api)
        return;
    promo_api_end(api);
    drop_handles(api);
    pthread_mutex_destroy(&api->lock);
    promo_free(api->optima);
    promo_free(api);
}

/* The stamp: the data version, promo.db's size and time (a derived table such as `segments`
 * does not move the data version), and every model file's name, size and time (hashed so the
 * order of the listing does not matter). */
static void make_stamp(promo_api *api, char *out, size_t n)
{
    char *ver = promo_store_meta_get(api->store, "data.version");
    char path[4200];
    struct stat st;
    long long db_size = -1, db_ns = -1;
    snprintf(path, sizeof path, "%s/promo.db", api->ws);
    if (stat(path, &st) == 0) {
        db_size = (long long)st.st_size;
        db_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    }
    uint64_t h = 0, n_files = 0;
    const char *models = promo_store_models_dir(api->store);
    DIR *d = models ? opendir(models) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .., and a writer's temporaries */
        char fp[4400];
        snprintf(fp, sizeof fp, "%s/%s", models, e->d_name);
        if (stat(fp, &st) != 0)
            continue;
        char line[600];
        int len = snprintf(line, sizeof line, "%s|%lld|%lld|%ld", e->d_name, (long long)st.st_size,
                           (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
        h += promo_hash_bytes(line, len > 0 ? (size_t)len : 0); /* order-free */
        n_files++;
    }
    if (d)
        closedir(d);
    snprintf(out, n, "%s|%lld|%lld|%llu|%016llx", ver ? ver : "-", db_size, db_ns,
             (unsigned long long)n_files, (unsigned long long)h);
    promo_free(ver);
}

int promo_api_refresh(promo_api *api)
{
    if (!api->store)
        return promo_fail(PROMO_EUSAGE, "api: refresh outside begin .. end");
    char now[sizeof api->stamp];
    make_stamp(api, now, sizeof now);
    if (strcmp(now, api->stamp) != 0) {
        if (api->stamp[0])
            api->n_reloads++;
        drop_handles(api);
        memcpy(api->stamp, now, sizeof now);
    }
    return PROMO_OK;
}

/* 1 when the last open failed because another command holds the workspace (store.h words). */
static int workspace_busy(int rc)
{
    return rc == PROMO_EIO && strstr(promo_last_error(), "in use by another promo command");
}

int promo_api_begin(promo_api *api)
{
    promo_api_end(api);
    api->busy = 0;
    int rc = promo_store_open_read(api->ws, &api->store);
    if (rc) {
        api->store = NULL;
        if (workspace_busy(rc) && api->stamp[0]) {
            api->busy = 1; /* answer from the loaded handles */
            return PROMO_OK;
        }
        return rc;
    }
    if ((rc = promo_api_refresh(api))) {
        promo_api_end(api);
        return rc;
    }
    if (api->scorer)
        promo_scorer_set_store(api->scorer, api->store);
    return PROMO_OK;
}

void promo_api_end(promo_api *api)
{
    if (!api)
        return;
    if (api->scorer)
        promo_scorer_set_store(api->scorer, NULL);
    promo_store_close(api->store);
    api->store = NULL;
}

static int need_store(promo_api *api)
{
    if (api->store)
        return PROMO_OK;
    if (api->busy)
        return promo_fail(PROMO_EIO,
                          "workspace %s is being written by another promo command and "
                          "this answer needs it: try again when it has finished",
                          api->ws);
    return promo_fail(PROMO_EUSAGE, "api: handle used outside begin .. end");
}

int api_need_store(promo_api *api)
{
    return need_store(api);
}

int promo_api_scorer(promo_api *api, promo_scorer **out)
{
    *out = NULL;
    int rc = api->scorer ? PROMO_OK : need_store(api);
    if (rc)
        return rc;
    if (!api->scorer) {
        promo_scorer *h = NULL;
        if ((rc = promo_scorer_open(api->store, NULL, 0, api->n_threads, &h)))
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
        const promo_column *cid =
            d->customers ? promo_table_column(d->customers, "customer_id") : NULL;
        for (size_t r = 0; cid && r < d->customers->n_rows; r++) {
            const char *id = promo_column_str(cid, r);
            uint32_t k = id ? promo_dict_find(ids, id, strlen(id)) : PROMO_DICT_NONE;
            if (k != PROMO_DICT_NONE && k < f->n_customers)
                trow[k] = (uint32_t)r;
        }
        promo_scorer_set_store(h, api->store);
        api->scorer = h;
        api->cust_row = ids;
        api->cust_table_row = trow;
    }
    *out = api->scorer;
    return PROMO_OK;
}

uint32_t promo_api_customer_row(promo_api *api, const char *id)
{
    if (!api->cust_row || !id)
        return UINT32_MAX;
    uint32_t k = promo_dict_find(api->cust_row, id, strlen(id));
    return k == PROMO_DICT_NONE ? UINT32_MAX : k;
}

uint32_t api_product_row(promo_api *api, const char *id)
{
    if (!api->scorer || !id)
        return UINT32_MAX;
    const promo_panel *d = promo_scorer_panel(api->scorer);
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

int promo_api_uplift(promo_api *api, promo_uplift_scorer **out)
{
    *out = NULL;
    int rc = api->uplift ? PROMO_OK : need_store(api);
    if (rc)
        return rc;
    if (!api->uplift &&
        (rc = promo_uplift_scorer_open(api->store, 0, api->n_threads, &api->uplift)))
        return rc;
    *out = api->uplift;
    return PROMO_OK;
}

int promo_api_forecaster(promo_api *api, promo_forecaster **out)
{
    *out = NULL;
    int rc = api->forecaster ? PROMO_OK : need_store(api);
    if (rc)
        return rc;
    if (!api->forecaster &&
        (rc = promo_forecaster_open(api->store, 0, api->n_threads, &api->forecaster)))
        return rc;
    *out = api->forecaster;
    return PROMO_OK;
}

int promo_api_world(promo_api *api, promo_world **out)
{
    *out = NULL;
    int rc = api->world ? PROMO_OK : need_store(api);
    if (rc)
        return rc;
    if (!api->world && (rc = promo_world_load(api->store, &api->world))) {
        if (rc == PROMO_ENOTFOUND)
            promo_fail(PROMO_ENOTFOUND,
                       "workspace %s holds no generated world (only a world made "
                       "by promo generate can be simulated)",
                       api->ws);
        return rc;
    }
    *out = api->world;
    return PROMO_OK;
}

int promo_api_recommender(promo_api *api, promo_rec_model **out)
{
    *out = NULL;
    if (api->rec_loaded) {
        *out = api->rec;
        return PROMO_OK;
    }
    int rc = need_store(api);
    if (rc)
        return rc;
    if (api->rec_loaded) {
        *out = api->rec;
        return PROMO_OK;
    }
    api->rec_loaded = 1;
    /* The first kind trained, in the order of how well they usually rank. */
    static const char *const kinds[] = {"hybrid", "als", "bpr", "knn", "mf", NULL};
    for (size_t k = 0; kinds[k] && !api->rec; k++) {
        char *path = promo_rec_model_path(api->store, kinds[k]);
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
                promo_rec_data_workspace(api->store, NULL, promo_rec_model_as_of(m), hist) ==
                    PROMO_OK &&
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
    *out = api->rec;
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
