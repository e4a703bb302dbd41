/* server/api.h: the JSON API's handlers, one function per route, free of HTTP.
 *
 * The HTTP layer (libmicrohttpd, src/server/http.c) parses a request, finds its route, checks
 * the API key and the size limits, parses a POST body with cJSON, and calls the route's
 * handler with the parsed call; the handler fills a reply (a status and a JSON body) and
 * never sees a socket. Handlers are therefore tested by calling them directly, and the HTTP
 * layer by a client on loopback.
 *
 * State: one promo_api per served workspace. The store is opened for reading once; the
 * engine's handles (the scoring handle, the uplift scorer, the forecaster) are opened on
 * first use and kept, so that many requests share one load of the tables, features and
 * models. The server must never block a writer: `promo ingest` or `promo train` run beside a
 * running server proceed (the server does not hold the workspace lock between requests), and
 * when the workspace changed under the server (its data version or a model file moved),
 * promo_api_refresh drops every handle and the next request opens them again. The engine's handles are one-thread objects: the HTTP layer calls every
 * handler with api->lock held, so handlers run one at a time and need no locking of their own.
 *
 * Errors: a handler answers bad input itself (promo_api_fail with status 400 and the field
 * at fault: {"error": {"status": 400, "field": "discount_pct", "message": "..."}}), an unknown
 * id with 404, a missing model with 409 and the command that trains it; it returns non-zero
 * only for an internal failure, which the HTTP layer turns into a 500 with promo_last_error().
 */
#ifndef PROMO_SERVER_API_H
#define PROMO_SERVER_API_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include <promo/store.h>

typedef struct promo_scorer promo_scorer;
typedef struct promo_uplift_scorer promo_uplift_scorer;
typedef struct promo_forecaster promo_forecaster; /* promo/forecast.h */

typedef struct promo_api {
    char ws[4096];         /* the workspace directory */
    promo_store *store;    /* opened for reading (promo_store_open_read) */
    pthread_mutex_t lock;  /* held by the HTTP layer around every handler */
    char stamp[256];       /* what the workspace was when the handles were opened (its data
                              version, the model files' sizes and times): refresh compares */
    /* Opened on first use by the getters below, dropped by promo_api_refresh. */
    promo_scorer *scorer;           /* propensity scoring handle */
    promo_uplift_scorer *uplift;    /* uplift scorer */
    promo_forecaster *forecaster;   /* campaign forecasts and the response surface */
    size_t max_result_rows;         /* cap on rows a handler returns (default 10,000) */
} promo_api;

/* Open the workspace for serving. Errors: those of promo_store_open_read. *out: new. */
int promo_api_open(const char *ws, promo_api **out /* OUT */);
void promo_api_free(promo_api *api); /* NULL-safe */

/* Drop the handles if the workspace changed since they were opened (cheap when it did not).
 * Called by the HTTP layer, with the lock held, before each handler. */
int promo_api_refresh(promo_api *api);

/* The handles, opened on first use. A missing model is not an internal error: these return
 * PROMO_ENOTFOUND with promo_last_error() naming the command that trains it, which handlers
 * turn into a 409. */
int promo_api_scorer(promo_api *api, const char *target, promo_scorer **out /* OUT */);
int promo_api_uplift(promo_api *api, promo_uplift_scorer **out /* OUT */);
int promo_api_forecaster(promo_api *api, promo_forecaster **out /* OUT */);

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
 * Returns 0 (an answered error is not a handler failure), so a handler can end with
 * `return promo_api_fail(out, 400, "discount_pct", "expected a number from 0 to 90");`. */
int promo_api_fail(promo_api_reply *out, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

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

#endif
