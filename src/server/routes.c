/* The route table and its matcher (routes.h). */
#include "server/routes.h"

#include <string.h>

const promo_route promo_routes[] = {
    {"GET", "/api/health", "health", PROMO_ROUTE_API, promo_api_health, 0},
    {"GET", "/api/products", "products", PROMO_ROUTE_API, promo_api_products, 0},
    {"GET", "/api/customers/{id}", "customer", PROMO_ROUTE_API, promo_api_customer, 0},
    {"GET", "/api/segments", "segments", PROMO_ROUTE_API, promo_api_segments, 0},
    {"POST", "/api/campaign", "campaign", PROMO_ROUTE_API, promo_api_campaign, 1},
    {"POST", "/api/optimize", "optimize", PROMO_ROUTE_API, promo_api_optimize, 1},
    {"POST", "/api/similar-products", "similar_products", PROMO_ROUTE_API,
     promo_api_similar_products, 1},
    {"POST", "/api/crosssell", "crosssell", PROMO_ROUTE_API, promo_api_crosssell, 1},
    {"POST", "/api/simulate", "simulate", PROMO_ROUTE_API, promo_api_simulate, 1},
    {"GET", "/api/openapi.json", "openapi", PROMO_ROUTE_OPENAPI, NULL, 0},
    {"GET", "/metrics", "metrics", PROMO_ROUTE_METRICS, NULL, 0},
};
const size_t promo_n_routes = sizeof promo_routes / sizeof promo_routes[0];

/* 1 if path matches pattern, the {param} segment copied into param. */
static int match(const char *pattern, const char *path, char *param, size_t n)
{
    const char *brace = strchr(pattern, '{');
    if (!brace)
        return !strcmp(pattern, path);
    size_t pre = (size_t)(brace - pattern);
    if (strncmp(pattern, path, pre) != 0)
        return 0;
    const char *rest = strchr(brace, '}');
    rest = rest ? rest + 1 : "";
    const char *seg = path + pre, *end = strchr(seg, '/');
    size_t len = end ? (size_t)(end - seg) : strlen(seg);
    if (len == 0 || len >= n || strcmp(seg + len, rest) != 0)
        return 0;
    memcpy(param, seg, len);
    param[len] = 0;
    return 1;
}

int promo_route_find(const char *method, const char *path, char *param, size_t n, char *allow)
{
    int found = PROMO_ROUTE_NOT_FOUND;
    if (allow)
        allow[0] = 0;
    char tmp[512];
    size_t cap = (param && n && n < sizeof tmp) ? n : sizeof tmp;
    for (size_t i = 0; i < promo_n_routes; i++) {
        tmp[0] = 0;
        if (!match(promo_routes[i].path, path, tmp, cap))
            continue;
        if (!strcmp(promo_routes[i].method, method)) {
            if (param && n)
                strcpy(param, tmp);
            return (int)i;
        }
        found = PROMO_ROUTE_BAD_METHOD;
        if (allow && strlen(allow) + 8 < 16) {
            if (allow[0])
                strcat(allow, ", ");
            strcat(allow, promo_routes[i].method);
        }
    }
    return found;
}
