/* server/server.h: `promo serve`'s HTTP server (libmicrohttpd, a thread pool) and the
 * HTTP-free request step it runs for every request.
 *
 * A request goes through promo_request_handle: the URL-length limit, the route (404, 405 with
 * Allow), the API key of a POST (401; compared in constant time), the body-size limit (413),
 * the JSON nesting limit (checked on the raw bytes before cJSON parses them: 400), the parse
 * (400 naming the byte), then the route's handler between promo_api_begin and promo_api_end
 * (calls run in parallel: api.h says what they share and how it is locked) (503 when the workspace
 * cannot be opened, 500 on an internal failure). The HTTP layer (http.c) only moves bytes: it
 * collects the body, calls this, and sends the reply; it serves /metrics, /api/openapi.json and the
 * web page's static files itself. With api NULL the step stops after the body checks of the route
 * (promo_api_check_body): what the fuzz target drives without a workspace.
 *
 * Usage:
 *   promo_server_params p = promo_server_params_default();
 *   p.api_key = key; p.port = 0;                 // 0: an ephemeral port
 *   promo_server *srv = NULL;
 *   if (promo_server_start(api, &p, &srv)) ...promo_last_error()...;
 *   printf("listening on %u\n", promo_server_port(srv));
 *   ...; promo_server_stop(srv);
 */
#ifndef PROMO_SERVER_SERVER_H
#define PROMO_SERVER_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "server/api.h"

#define PROMO_SERVER_MAX_BODY  (1u << 20) /* bytes of a request body (413 above) */
#define PROMO_SERVER_MAX_DEPTH 32         /* JSON nesting of a body (400 above) */
#define PROMO_SERVER_MAX_URL   2048       /* bytes of the URL, query included (414 above) */

typedef struct promo_request {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* decoded path, no query string */
    size_t url_len;            /* bytes of the URL as sent (path and query) */
    const char *authorization; /* the Authorization header, or NULL */
    const char *body;          /* the body's bytes (not NUL-terminated), or NULL */
    size_t n_body;             /* its length */
    int body_too_large;        /* 1: the body went over the limit and was not kept */
    /* query-string arguments (decoded), as for promo_api_call */
    const char *(*query)(const promo_api_call *call, const char *key);
    void *http;
} promo_request;

/* Run one request (see the top). *route gets the route's index, or PROMO_ROUTE_NOT_FOUND /
 * PROMO_ROUTE_BAD_METHOD (routes.h). On return out is the reply (status and JSON body), except
 * for what the HTTP layer serves itself (the metrics, the OpenAPI document and, for a path
 * outside /api/ with GET or HEAD, the static files): then out->status is 0 and out->body NULL.
 * Returns non-zero only when the reply could not be built (no memory). */
int promo_request_handle(promo_api *api,
                         const char *api_key,
                         const promo_request *rq,
                         promo_api_reply *out /* OUT */,
                         int *route /* OUT */);

/* 1 when the JSON text nests at most max_depth arrays/objects deep (strings skipped, escapes
 * honoured). Malformed text is the parser's business: only the depth is judged here. */
int promo_json_depth_ok(const char *s, size_t n, int max_depth);

/* A reply's JSON text (json_out.c), as cJSON_PrintUnformatted writes it but for numbers: at
 * most 12 significant digits, written without printf (cJSON's own printer spent ~40% of the
 * server's CPU on them). NULL on allocation failure; free() it. */
char *promo_json_print(const cJSON *item, size_t *len /* OUT, may be NULL */);
/* One number as promo_json_print writes it ("null" when not finite) into out (n >= 32):
 * its length, or -1 when n is too small. */
int promo_json_number(double d, char *out, size_t n);

/* 1 when the two keys are equal, in time that depends only on the expected key's length. */
int promo_key_equal(const char *expected, const char *got);

/* ---- the daemon ---- */

typedef struct promo_server_params {
    const char *bind;    /* IPv4 or IPv6 address to listen on (default "127.0.0.1") */
    unsigned port;       /* TCP port; 0 = an ephemeral one (promo_server_port) (default 8080) */
    unsigned threads;    /* connection threads (default 4) */
    const char *web_dir; /* the web page's files; NULL or absent = a page saying `make web` */
    const char *api_key; /* the key every POST must carry (required, non-empty) */
    int quiet;           /* 1: no log line per request */
} promo_server_params;

promo_server_params promo_server_params_default(void);

typedef struct promo_server promo_server;

/* Listen and serve api until promo_server_stop. The server borrows api (it must outlive the
 * server). Errors: PROMO_EUSAGE for bad params (an address that does not parse, no key),
 * PROMO_EIO when the address cannot be bound. *out: new. */
int promo_server_start(promo_api *api, const promo_server_params *p, promo_server **out /* OUT */);
/* The port listened on. */
unsigned promo_server_port(const promo_server *srv);
/* Stop listening, finish the requests in flight, free. NULL-safe. */
void promo_server_stop(promo_server *srv);

/* The Prometheus text of /metrics (malloc'd, free()). */
char *promo_server_metrics(promo_server *srv);

/* The OpenAPI document compiled into the binary (src/server/openapi.json), and its length. */
const char *promo_openapi_json(size_t *n /* OUT */);

#endif
