/* server/api.h: the JSON API's handlers, one function per route, free of HTTP.
 *
 * The HTTP layer (libmicrohttpd, src/server/http.c) parses a request, finds its route
 * (routes.h), checks the API key and the size limits, parses a POST body with cJSON, and calls
 * the route's handler with the parsed call; the handler fills a reply (a status and a JSON
 * body) and never sees a socket. Handlers are therefore tested by calling them directly, and
 * the HTTP layer by a client on loopback.
 *
 * State: one promo_api per served workspace. The engine's handles (the scoring handle with the
 * panel and the features of the latest cutoff, the uplift scorer, the recommender, the
 * simulator's world, the forecaster) are opened on first use and kept in memory, so that many
 * requests share one load of the tables, features and models.
 *
 * The server never blocks a writer: it does NOT keep the workspace open between requests
 * (an open store holds the shared workspace lock, store.h, which `promo train` or `promo
 * ingest` would wait for). Each call runs between promo_api_begin and promo_api_end with its
 * own promo_api_ctx. Begin compares the workspace's stamp (its data version, promo.db's
 * inode, size and time, the model files' names, sizes and times) with the one the handles
 * were opened at and drops every handle when it moved. The file part of the stamp is a few
 * stat calls; when it equals the loaded one and every file was already a second old when the
 * stamp was taken (a later write then moves a time), the call goes on WITHOUT opening the
 * store: it is opened on first need (a handle to load, a model file, cross-sell rules) and
 * closed at end. Otherwise begin opens the store (a shared lock: it waits while a writer
 * commits) and reads the data version, as every call did before.
 *
 * Concurrency: calls run in parallel (the HTTP layer's thread pool). State is read-mostly:
 *   rw         a reader-writer lock (writers preferred, so a reload is not starved): every
 *              call holds it for reading from begin to end; dropping the handles (a reload)
 *              takes it for writing, so no call ever sees a handle freed under it.
 *   load_mu    opening a handle on first use: one at a time, double-checked, published with
 *              a release store; calls that need only loaded handles do not wait for it.
 *   engine_mu  calls into the engine's handles that change their state (the scorer's current
 *              model and its explanations, the recommender, the simulator, similar products);
 *   forecast_mu  the forecaster (its cache of scored (product, discount) entries).
 *   cache_mu   the server's own caches: surface optima, cross-sell answers, reasons;
 *   count_mu   /api/health's row counts (the first call counts, the others wait for it).
 * The engine mutexes are held only around the engine call: parsing, validation, the rows'
 * rendering (reading the panel's tables, the id maps and segments, which no call writes)
 * and the JSON text run outside them. The engine handles are shared (one set per workspace,
 * not one per thread: a 1,000,000-customer set takes ~2.5 GB).
 *
 * Errors: a handler answers bad input itself (promo_api_fail with status 400 and the field
 * at fault: {"error": {"status": 400, "field": "discount_pct", "message": "..."}}), an unknown
 * id with 404, a missing model with 409 and the command that trains it; it returns non-zero
 * only for an internal failure, which the HTTP layer turns into a 500 with promo_last_error().
 *
 * Request bodies: an object whose fields are those the route documents; a field the route
 * does not know is refused (400 naming it): a misspelt optional field would otherwise be
 * silently ignored and the default used.
 */
#ifndef PROMO_SERVER_API_H
#define PROMO_SERVER_API_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <promo/store.h>

typedef struct promo_scorer promo_scorer;
typedef struct promo_uplift_scorer promo_uplift_scorer;
typedef struct promo_forecaster promo_forecaster; /* promo/forecast.h */
typedef struct promo_world promo_world;
typedef struct promo_rec_model promo_rec_model;
typedef struct promo_table promo_table;
typedef struct promo_dict promo_dict;

#define PROMO_API_MAX_ROWS 10000 /* cap on rows a handler returns */

typedef struct promo_api {
    char ws[4096];                  /* the workspace directory */
    pthread_rwlock_t rw;            /* see the top: read by calls, written by reloads */
    pthread_mutex_t load_mu;        /* opening a handle */
    pthread_mutex_t engine_mu;      /* the scorer, recommender, world, similar products */
    pthread_mutex_t forecast_mu;    /* the forecaster */
    pthread_mutex_t cache_mu;       /* optima, cross-sell and reason caches */
    pthread_mutex_t count_mu;       /* the row counts of /api/health */
    char stamp[512];                /* what the workspace was when the handles were opened (its
                                       data version, then the file stamp) */
    char fstamp[448];               /* the file part of stamp */
    _Atomic long long fstamp_quiet; /* 1: every file in fstamp was a second old when a call
                                      took it (calls may then skip opening the store) */
    size_t max_result_rows;         /* cap on rows a handler returns (default PROMO_API_MAX_ROWS) */
    int n_threads;                  /* engine threads (0 = OpenMP default) */
    _Atomic unsigned long long n_reloads; /* times the handles were dropped because the
                                             workspace moved */
    /* Opened on first use by the getters below (under load_mu, then read without it: the
     * pointers are published with release stores), dropped by a reload. */
    promo_scorer *scorer;         /* panel + features of the latest cutoff, propensity models */
    promo_dict *cust_row;         /* customer id -> features row (code = row) */
    uint32_t *cust_table_row;     /* features row -> customers-table row (UINT32_MAX: none) */
    promo_uplift_scorer *uplift;  /* uplift scorer */
    promo_forecaster *forecaster; /* campaign forecasts and the response surface */
    promo_world *world;           /* the generated world (simulate) */
    promo_rec_model *rec;         /* the workspace's trained recommender, or NULL */
    void *rec_hist;               /* the recommender's promo_rec_data (owned), its history */
    struct api_segments *segs;    /* the stored segments by features row (api_read.c) */
    int segs_loaded;              /* 1 once tried (segs stays NULL when none are stored) */
    int rec_loaded;               /* 1 once tried */
    /* The campaign engine's send time and fatigue of every customer (campaign.h's profiles,
     * default targeting), from the scorer's features: built on the first campaign call (one
     * pass over the features), kept until a reload, so a campaign call only looks customers
     * up. Borrows the scorer's features: dropped before it. */
    struct promo_campaign_profiles *profiles;
    int profiles_loaded; /* 1 once built */
    /* The optimum of each product's response surface, computed once per product and budget
     * (a surface scores every customer at every discount of the grid: seconds on a large
     * workspace, where the campaign route answers in milliseconds from the forecaster's cache). */
    struct api_optimum *optima; /* n_optima entries, most recent last */
    size_t n_optima;
    long long n_customers, n_products; /* row counts for health, -1 until counted (a count
                                          scans the table: 1M rows take ~1 s, once a reload) */
    struct api_cache *xsell;           /* cross-sell answers by (product, target) (api_engine.c) */
    struct api_cache *reasons;         /* campaign rows' reasons by (product, customer) */
    struct api_cache *bundles; /* the bundle of each (product, "bundle", cutoff): choosing one
                                  reads every order of the year (api_engine.c) */
} promo_api;

/* One call's own state (promo_api_begin .. promo_api_end). */
typedef struct promo_api_ctx {
    promo_store *store; /* open for reading: by begin, or on first need; else NULL */
    int busy;           /* 1 when another command writes the workspace and the call answers from the
                           loaded handles (what needs the store fails with PROMO_EIO) */
    int locked;         /* holds api->rw for reading */
    int scorer_lent;    /* the store is lent to the scorer (under engine_mu) */
    char fstamp[448];   /* the file stamp the call began at */
} promo_api_ctx;

/* Open the workspace for serving: checks that it is a workspace (promo_store_open_read, then
 * closed at once). Errors: those of promo_store_open_read. *out: new. */
int promo_api_open(const char *ws, promo_api **out /* OUT */);
void promo_api_free(promo_api *api); /* NULL-safe */

/* Begin a call (see the top): takes api->rw for reading, drops the handles first when the
 * workspace moved, and opens the store unless the stamp shows nothing moved. On failure
 * nothing is held.
 *
 * While another command writes the workspace (it holds the exclusive lock until it ends, e.g.
 * a training of several minutes), opening waits, unless the process said not to
 * (promo_store_set_wait(0), as promo serve does): then, when handles are loaded, the call
 * goes on without a store (ctx->busy 1) and answers from memory what it can; what needs the
 * store (a handle not loaded yet, cross-sell rules, another model file) fails with PROMO_EIO,
 * which the HTTP layer answers 503. */
int promo_api_begin(promo_api *api, promo_api_ctx *ctx /* OUT */);
/* Close the call's store and release the lock. NULL-safe, idempotent. */
void promo_api_end(promo_api *api, promo_api_ctx *ctx);

/* The call's store: the open one, or opened now. PROMO_EIO when another command writes the
 * workspace (busy), PROMO_EUSAGE outside begin .. end. */
int promo_api_store(promo_api *api, promo_api_ctx *ctx, promo_store **out /* OUT */);

/* The handles, opened on first use (inside begin .. end). A missing model is not an internal
 * error: these return PROMO_ENOTFOUND with promo_last_error() naming the command that trains
 * it, which handlers turn into a 409. The scorer is opened without a target (panel and
 * features only: no model needed); callers retarget it under engine_mu, lending it the
 * call's store (api_scorer_lend). The forecaster is used under forecast_mu. */
int promo_api_scorer(promo_api *api, promo_api_ctx *ctx, promo_scorer **out /* OUT */);
int promo_api_uplift(promo_api *api, promo_api_ctx *ctx, promo_uplift_scorer **out /* OUT */);
int promo_api_forecaster(promo_api *api, promo_api_ctx *ctx, promo_forecaster **out /* OUT */);
int promo_api_world(promo_api *api, promo_api_ctx *ctx, promo_world **out /* OUT */);
/* The recommender: *out NULL (and PROMO_OK) when the workspace has none. */
int promo_api_recommender(promo_api *api, promo_api_ctx *ctx, promo_rec_model **out /* OUT */);
/* Features row of a customer id, or UINT32_MAX (needs the scorer). */
uint32_t promo_api_customer_row(promo_api *api, const char *id);

/* One parsed request. */
typedef struct promo_api_call {
    const char *path_param; /* the {id} of a route like /api/customers/{id} (decoded), or NULL */
    const cJSON *body;      /* the parsed JSON body of a POST (an object), NULL for a GET */
    /* A query-string argument (decoded), NULL when absent. */
    const char *(*query)(const struct promo_api_call *call, const char *key);
    void *http;         /* the HTTP layer's own (the connection), for query() */
    promo_api_ctx *ctx; /* the call's state (promo_api_begin) */
} promo_api_call;

/* The answer. */
typedef struct promo_api_reply {
    int status;  /* HTTP status: 200 unless a handler says otherwise */
    cJSON *body; /* the JSON answer (the reply owns it) */
} promo_api_reply;

/* Set reply to an error: status, the request field at fault (NULL when none) and a message.
 * Replaces a body already set. Returns 0 (an answered error is not a handler failure), so a
 * handler can end with `return promo_api_fail(out, 400, "discount_pct", "expected ...");`. */
int promo_api_fail(promo_api_reply *out, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The reply of a failed engine call rc: PROMO_ENOTFOUND -> 409 (a model or table is missing;
 * the message names the command), PROMO_EINPUT/EUSAGE -> 400 naming field, else returns rc
 * (an internal failure: 500). */
int promo_api_fail_engine(promo_api_reply *out, int rc, const char *field);

typedef int (*promo_api_handler)(promo_api *api, const promo_api_call *call, promo_api_reply *out);

/* The routes' handlers. */
int promo_api_health(promo_api *api, const promo_api_call *call, promo_api_reply *out);
int promo_api_products(promo_api *api, const promo_api_call *call, promo_api_reply *out);
int promo_api_customer(promo_api *api, const promo_api_call *call, promo_api_reply *out);
int promo_api_segments(promo_api *api, const promo_api_call *call, promo_api_reply *out);
int promo_api_campaign(promo_api *api, const promo_api_call *call, promo_api_reply *out);
int promo_api_optimize(promo_api *api, const promo_api_call *call, promo_api_reply *out);
int promo_api_similar_products(promo_api *api, const promo_api_call *call, promo_api_reply *out);
int promo_api_crosssell(promo_api *api, const promo_api_call *call, promo_api_reply *out);
int promo_api_simulate(promo_api *api, const promo_api_call *call, promo_api_reply *out);

/* The request-body checks of the POST routes alone (no engine: what the fuzz target drives):
 * 0 and reply untouched when body is acceptable, else the 400 reply set. */
int promo_api_check_body(const char *route_path, const cJSON *body, promo_api_reply *out);

#endif
