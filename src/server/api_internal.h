/* server/api_internal.h: what the handlers share: JSON field checks (each failure a 400 naming
 * the field), the parsed request bodies of the POST routes, and small JSON builders. Private
 * to src/server. */
#ifndef PROMO_SERVER_API_INTERNAL_H
#define PROMO_SERVER_API_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <promo/forecast.h>

#include "server/api.h"

#define API_ID_MAX 256 /* longest id or name a body may carry, bytes */

/* ---- field checks: return 0 when the value is acceptable (stored in *out, or the default
 * when absent and not required), else set the 400 reply naming the field and return 1. ---- */

/* body must be an object whose keys are all in known (NULL-terminated) and none twice. */
int api_check_object(const cJSON *body, const char *const *known, promo_api_reply *out);
int api_get_number(const cJSON *body,
                   const char *key,
                   int required,
                   double lo,
                   double hi,
                   double def,
                   double *val,
                   promo_api_reply *out);
int api_get_int(const cJSON *body,
                const char *key,
                int required,
                long lo,
                long hi,
                long def,
                long *val,
                promo_api_reply *out);
/* A string of 1..API_ID_MAX-1 bytes without control characters into buf (API_ID_MAX bytes);
 * *present (may be NULL) says whether it was given. An optional field given as "" counts as
 * absent (a form's blank input); a required one is refused. */
int api_get_string(const cJSON *body,
                   const char *key,
                   int required,
                   char *buf,
                   int *present,
                   promo_api_reply *out);
int api_get_bool(
    const cJSON *body, const char *key, int required, int def, int *val, promo_api_reply *out);

/* ---- the POST bodies ---- */

typedef enum api_rank_by {
    API_RANK_PROBABILITY = 0,
    API_RANK_UPLIFT = 1,
    API_RANK_PROFIT = 2
} api_rank_by;

typedef struct api_campaign_req {
    char product_id[API_ID_MAX];
    double discount_pct; /* 0..90 (10) */
    long target;         /* 1..10,000,000 (50) */
    int has_budget;
    double budget;           /* >= 0 */
    int optimize;            /* bool (false) */
    int rank_by;             /* api_rank_by; -1 = not given (profit with an uplift model, else
                                probability) */
    long rows;               /* 0..10,000; -1 = not given (min(target, 10000)) */
    double holdout_pct;      /* 0..50 (10) */
    int send_time_best;      /* "send_time": "best" (1, the default) or "fixed" (0: day 0, 10:00) */
    int fatigue;             /* "fatigue": "suppress" (1, the default) or "off" (0) */
    char bundle[API_ID_MAX]; /* "bundle": "auto" or a product id (promo campaign --bundle);
                                "" = none (absent, null or "") */
} api_campaign_req;

#define API_MAX_DISCOUNTS 91
typedef struct api_optimize_req {
    char product_id[API_ID_MAX];
    size_t n_discounts;                  /* 0 = not given (0..50 by 1) */
    double discounts[API_MAX_DISCOUNTS]; /* ascending, distinct, 0..90 */
    long max_target;                     /* -1 = not given (all customers) */
    int fatigue; /* "fatigue": "suppress" (1, the default: the fatigued are no rows, as promo
                    campaign --optimize) or "off" (0) */
} api_optimize_req;

typedef struct api_simulate_req {
    char product_id[API_ID_MAX];
    double discount_pct; /* 0..90 (10) */
    long target;         /* 1..10,000,000 (50) */
} api_simulate_req;

typedef struct api_similar_req {
    char name[API_ID_MAX], category[API_ID_MAX], brand[API_ID_MAX];
    int has_name, has_brand;
    double price; /* > 0 */
    long k;       /* 1..100 (10) */
} api_similar_req;

typedef struct api_crosssell_req {
    char product_id[API_ID_MAX];
    long target; /* 0..10,000 (50); 0 = every customer a rule fits */
} api_crosssell_req;

int api_parse_campaign(const cJSON *b, api_campaign_req *r, promo_api_reply *out);
int api_parse_optimize(const cJSON *b, api_optimize_req *r, promo_api_reply *out);
int api_parse_simulate(const cJSON *b, api_simulate_req *r, promo_api_reply *out);
int api_parse_similar(const cJSON *b, api_similar_req *r, promo_api_reply *out);
int api_parse_crosssell(const cJSON *b, api_crosssell_req *r, promo_api_reply *out);

/* ---- JSON builders (NULL on allocation failure is carried: cJSON_Add* tolerate a NULL
 * parent, and the caller checks the final object) ---- */

/* A number, or null when not finite (JSON has no NaN). */
cJSON *api_add_num(cJSON *obj, const char *key, double v);
cJSON *api_add_str(cJSON *obj, const char *key, const char *s); /* NULL s -> null */
/* Set out to 200 with body (owned); PROMO_ENOMEM when body is NULL. */
int api_ok(promo_api_reply *out, cJSON *body);

/* The stored segments (table `segments`, one method's rows) by features row. */
typedef struct api_segments {
    char method[16];     /* "personas", "kmeans" or "hdbscan" */
    size_t n_rows;       /* features rows */
    int32_t *seg;        /* n_rows: segment id, or INT32_MIN when the customer has none */
    int n_ids;           /* ids 0 .. n_ids - 1 (-1, noise, is kept apart) */
    char (*persona)[32]; /* n_ids + 1 persona names ("" = none); [n_ids] is noise's */
} api_segments;
void api_segments_free(api_segments *g); /* NULL-safe */
/* The stored segments (api_read.c), loaded once per handle set; *out NULL without any. */
int api_load_segments(promo_api *api, promo_api_ctx *ctx, api_segments **out /* OUT */);

/* A cached surface optimum (api.h: optima). */
#define API_MAX_OPTIMA 64
typedef struct api_optimum {
    char product_id[API_ID_MAX];
    double budget;             /* INFINITY = none */
    int fatigue;               /* 1: of the customers the fatigue rule does not suppress */
    promo_surface_optimum opt; /* as the forecaster found it */
} api_optimum;

/* PROMO_OK when the call has the store (opened now if need be: promo_api_store). */
int api_need_store(promo_api *api, promo_api_ctx *ctx);

/* Lend the call's store to the scorer for a retarget (which may load a model file), and take
 * it back: lend under engine_mu, after promo_api_store succeeded; unlend before unlocking. */
void api_scorer_lend(promo_api *api, promo_api_ctx *ctx);
void api_scorer_unlend(promo_api *api, promo_api_ctx *ctx);

/* A bounded cache of values by string key (the server's answers that cost a model call or a
 * mining pass). Used under api->cache_mu. When full it is emptied (the keys are a product
 * and a customer or a count: a working set that outgrows the cap has no locality an LRU
 * would keep). */
typedef struct api_cache api_cache;
api_cache *api_cache_new(size_t max_entries, void (*free_val)(void *));
void api_cache_free(api_cache *c);  /* NULL-safe */
void api_cache_clear(api_cache *c); /* every entry freed; NULL-safe */
/* The value under key (borrowed until the next put), or NULL. */
void *api_cache_get(const api_cache *c, const char *key);
/* Store val under key (c not NULL; the cache owns val, freed even on failure); a key already
 * present keeps its old value (val freed). */
int api_cache_put(api_cache *c, const char *key, void *val);

/* Products-table row of a product id, or UINT32_MAX (needs the scorer's panel). */
uint32_t api_product_row(promo_api *api, const char *id);

#endif
