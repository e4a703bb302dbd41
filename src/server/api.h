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
 * ingest` would wait for). Each call runs between promo_api_begin and promo_api_end: begin
 * opens the store for reading (a shared lock: the call sees one consistent state, and waits
 * while a writer commits), compares the workspace's stamp (its data version and the model
 * files' names, sizes and times) with the one the handles were opened at, drops every handle
 * when it moved, and lends the store to the handles that borrow one (the scoring handle loads
 * further model files through it); end takes the store back and closes it (the lock is
 * released). Handles that borrow the store only while opening (uplift scorer, world,
 * recommender) keep nothing of it.
 *
 * The engine's handles are one-thread objects: the HTTP layer calls begin, the handler and end
 * with api->lock held, so handlers run one at a time and need no locking of their own.
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
    char ws[4096];          /* the workspace directory */
    promo_store *store;     /* open for reading between promo_api_begin and _end, else NULL */
    pthread_mutex_t lock;   /* held by the HTTP layer around begin, the handler and end */
    char stamp[512];        /* what the workspace was when the handles were opened (its data
                               version, the model files' names, sizes and times) */
    size_t max_result_rows; /* cap on rows a handler returns (default PROMO_API_MAX_ROWS) */
    int n_threads;          /* engine threads (0 = OpenMP default) */
    uint64_t n_reloads;     /* times the handles were dropped because the workspace moved */
    int busy; /* 1 during a call made while another command writes the workspace (see begin) */
    /* Opened on first use by the getters below, dropped by promo_api_refresh. */
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
    /* The optimum of each product's response surface, computed once per product and budget
     * (a surface scores every customer at every discount of the grid: seconds on a large
     * workspace, where the campaign route answers in milliseconds from the forecaster's cache). */
    struct api_optimum *optima; /* n_optima entries, most recent last */
    size_t n_optima;
} promo_api;

/* Open the workspace for serving: checks that it is a workspace (promo_store_open_read, then
 * closed at once). Errors: those of promo_store_open_read. *out: new. */
int promo_api_open(const char *ws, promo_api **out /* OUT */);
void promo_api_free(promo_api *api); /* NULL-safe */

/* Open the store for one call and refresh (see the top). Called with api->lock held. On
 * failure nothing is open.
 *
 * While another command writes the workspace (it holds the exclusive lock until it ends, e.g.
 * a training of several minutes), opening waits, unless the process said not to
 * (promo_store_set_wait(0), as promo serve does): then, when handles are loaded, the call
 * goes on without a store (api->store NULL, api->busy 1) and answers from memory what it can;
 * what needs the store (a handle not loaded yet, cross-sell rules, another model file) fails
 * with PROMO_EIO, which the HTTP layer answers 503. */
int promo_api_begin(promo_api *api);
/* Take the store back from the handles and close it. NULL-safe, idempotent. */
void promo_api_end(promo_api *api);

/* Drop the handles if the workspace changed since they were opened (cheap when it did not:
 * one meta read and a listing of models/). Needs api->store (begin calls it). */
int promo_api_refresh(promo_api *api);

/* The handles, opened on first use (inside begin .. end). A missing model is not an internal
 * error: these return PROMO_ENOTFOUND with promo_last_error() naming the command that trains
 * it, which handlers turn into a 409. The scorer is opened without a target (panel and
 * features only: no model needed); callers retarget it. */
int promo_api_scorer(promo_api *api, promo_scorer **out /* OUT */);
int promo_api_uplift(promo_api *api, promo_uplift_scorer **out /* OUT */);
int promo_api_forecaster(promo_api *api, promo_forecaster **out /* OUT */);
int promo_api_world(promo_api *api, promo_world **out /* OUT */);
/* The recommender: *out NULL (and PROMO_OK) when the workspace has none. */
int promo_api_recommender(promo_api *api, promo_rec_model **out /* OUT */);
/* Features row of a customer id, or UINT32_MAX (needs the scorer). */
uint32_t promo_api_customer_row(promo_api *api, const char *id);

/* One parsed request. */
typedef struct promo_api_call {
    const char *path_param; /* the {id} of a route like /api/customers/{id} (decoded), or NULL */
    const cJSON *body;      /* the parsed JSON body of a POST (an object), NULL for a GET */
    /* A query-string argument (decoded), NULL when absent. */
    const char *(*query)(const struct promo_api_call *call, const char *key);
    void *http; /* the HTTP layer's own (the connection), for query() */
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
