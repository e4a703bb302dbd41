/* server/routes.h: the route table, one row per route the server answers (static files of the
 * web page aside), and the matching of a method and path to a row. HTTP-free, so the tests
 * and the fuzz target use it as the server does; the OpenAPI document lists exactly these
 * paths (a test checks it both ways). */
#ifndef PROMO_SERVER_ROUTES_H
#define PROMO_SERVER_ROUTES_H

#include <stddef.h>

#include "server/api.h"

typedef enum promo_route_kind {
    PROMO_ROUTE_API = 0,     /* a handler of api.h, run under the API lock */
    PROMO_ROUTE_METRICS = 1, /* GET /metrics, answered by the HTTP layer */
    PROMO_ROUTE_OPENAPI = 2, /* GET /api/openapi.json, answered by the HTTP layer */
} promo_route_kind;

typedef struct promo_route {
    const char *method; /* "GET" or "POST" */
    const char *path;   /* "/api/customers/{id}": one {param} at most, a whole segment */
    const char *name;   /* metrics label */
    promo_route_kind kind;
    promo_api_handler handler; /* PROMO_ROUTE_API only */
    int auth;                  /* 1: needs Authorization: Bearer KEY (every POST) */
} promo_route;

extern const promo_route promo_routes[];
extern const size_t promo_n_routes;

#define PROMO_ROUTE_NOT_FOUND  (-1) /* no route has this path */
#define PROMO_ROUTE_BAD_METHOD (-2) /* the path is a route's, the method is not */

/* The route of (method, path): its index, PROMO_ROUTE_NOT_FOUND or PROMO_ROUTE_BAD_METHOD
 * (then allow, when not NULL, gets the methods the path takes, "GET" or "POST" or "GET, POST").
 * path is the decoded path without the query string. A {param} matches one non-empty segment
 * (no '/'), copied into param (n bytes; a longer one does not match). */
int promo_route_find(const char *method,
                     const char *path,
                     char *param /* OUT */,
                     size_t n,
                     char *allow /* OUT, 16 bytes */);

#endif
