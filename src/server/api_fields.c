/* Request-body checks: every field's type and range, with a 400 naming the field. JSON has no
 * NaN or Infinity literal (cJSON refuses them as a parse error), but 1e999 parses to infinity:
 * every number is checked finite. Strings are bounded and free of control characters (they
 * end up in logs and CSV downloads). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/error.h>

#include "server/api_internal.h"

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    return "an object";
}

int api_check_object(const cJSON *body, const char *const *known, promo_api_reply *out)
{
    if (!cJSON_IsObject(body))
        return promo_api_fail(out, 400, NULL, "the request body must be a JSON object, got %s",
                              body ? type_name(body) : "nothing") +
               1;
    for (const cJSON *c = body->child; c; c = c->next) {
        const char *k = c->string ? c->string : "";
        int ok = 0;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = !strcmp(known[i], k);
        if (!ok) {
            char list[512] = "";
            size_t len = 0;
            for (size_t i = 0; known[i]; i++)
                len += (size_t)snprintf(list + len, len < sizeof list ? sizeof list - len : 0,
                                        "%s%s", i ? ", " : "", known[i]);
            return promo_api_fail(out, 400, k, "unknown field (this route takes: %s)", list) + 1;
        }
        for (const cJSON *d = body->child; d != c; d = d->next)
            if (d->string && !strcmp(d->string, k))
                return promo_api_fail(out, 400, k, "the field appears twice") + 1;
    }
    return 0;
}

int api_get_number(const cJSON *body,
                   const char *key,
                   int required,
                   double lo,
                   double hi,
                   double def,
                   double *val,
                   promo_api_reply *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!v) {
        if (required)
            return promo_api_fail(out, 400, key, "missing: a number from %g to %g is required", lo,
                                  hi) +
                   1;
        *val = def;
        return 0;
    }
    if (!cJSON_IsNumber(v))
        return promo_api_fail(out, 400, key, "expected a number from %g to %g, got %s", lo, hi,
                              type_name(v)) +
               1;
    double x = v->valuedouble;
    if (!isfinite(x) || x < lo || x > hi)
        return promo_api_fail(out, 400, key, "expected a number from %g to %g, got %g", lo, hi, x) +
               1;
    *val = x;
    return 0;
}

int api_get_int(const cJSON *body,
                const char *key,
                int required,
                long lo,
                long hi,
                long def,
                long *val,
                promo_api_reply *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!v) {
        if (required)
            return promo_api_fail(out, 400, key,
                                  "missing: a whole number from %ld to %ld is "
                                  "required",
                                  lo, hi) +
                   1;
        *val = def;
        return 0;
    }
    if (!cJSON_IsNumber(v))
        return promo_api_fail(out, 400, key, "expected a whole number from %ld to %ld, got %s", lo,
                              hi, type_name(v)) +
               1;
    double x = v->valuedouble;
    if (!isfinite(x) || x != floor(x) || x < (double)lo || x > (double)hi)
        return promo_api_fail(out, 400, key, "expected a whole number from %ld to %ld, got %g", lo,
                              hi, x) +
               1;
    *val = (long)x;
    return 0;
}

int api_get_string(
    const cJSON *body, const char *key, int required, char *buf, int *present, promo_api_reply *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    buf[0] = 0;
    if (present)
        *present = 0;
    if (!v) {
        if (required)
            return promo_api_fail(out, 400, key, "missing: a string is required") + 1;
        return 0;
    }
    if (!cJSON_IsString(v) || !v->valuestring)
        return promo_api_fail(out, 400, key, "expected a string, got %s", type_name(v)) + 1;
    size_t n = strlen(v->valuestring);
    if (n == 0 && !required)
        return 0; /* an optional field left empty (a form's blank input) is absent */
    if (n == 0)
        return promo_api_fail(out, 400, key, "expected a non-empty string") + 1;
    if (n >= API_ID_MAX)
        return promo_api_fail(out, 400, key, "longer than %d bytes", API_ID_MAX - 1) + 1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v->valuestring[i] < 0x20 || v->valuestring[i] == 0x7f)
            return promo_api_fail(out, 400, key, "control character at byte %zu", i) + 1;
    memcpy(buf, v->valuestring, n + 1);
    if (present)
        *present = 1;
    return 0;
}

int api_get_bool(
    const cJSON *body, const char *key, int required, int def, int *val, promo_api_reply *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!v) {
        if (required)
            return promo_api_fail(out, 400, key, "missing: true or false is required") + 1;
        *val = def;
        return 0;
    }
    if (!cJSON_IsBool(v))
        return promo_api_fail(out, 400, key, "expected true or false, got %s", type_name(v)) + 1;
    *val = cJSON_IsTrue(v) ? 1 : 0;
    return 0;
}

/* ------------------------------------------------------------------ the bodies ---- */

int api_parse_campaign(const cJSON *b, api_campaign_req *r, promo_api_reply *out)
{
    static const char *const known[] = {"product_id", "discount_pct", "target", "budget",
                                        "optimize",   "rank_by",      "rows",   "holdout_pct",
                                        "send_time",  "fatigue",      "bundle", NULL};
    memset(r, 0, sizeof *r);
    double budget = -1;
    if (api_check_object(b, known, out) ||
        api_get_string(b, "product_id", 1, r->product_id, NULL, out) ||
        api_get_number(b, "discount_pct", 0, 0, 90, 10, &r->discount_pct, out) ||
        api_get_int(b, "target", 0, 1, 10000000, 50, &r->target, out) ||
        api_get_number(b, "budget", 0, 0, 1e12, -1, &budget, out) ||
        api_get_bool(b, "optimize", 0, 0, &r->optimize, out) ||
        api_get_int(b, "rows", 0, 0, PROMO_API_MAX_ROWS, -1, &r->rows, out) ||
        api_get_number(b, "holdout_pct", 0, 0, 50, 10, &r->holdout_pct, out) ||
        (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(b, "bundle")) &&
         api_get_string(b, "bundle", 0, r->bundle, NULL, out)))
        return 1;
    r->has_budget = budget >= 0;
    r->budget = r->has_budget ? budget : 0;
    /* send time and fatigue as promo campaign applies them, unless asked otherwise */
    static const struct {
        const char *key, *on, *off;
    } modes[] = {{"send_time", "best", "fixed"}, {"fatigue", "suppress", "off"}};
    int *mode_val[] = {&r->send_time_best, &r->fatigue};
    for (int k = 0; k < 2; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, modes[k].key);
        *mode_val[k] = 1;
        if (!v)
            continue;
        if (cJSON_IsString(v) && v->valuestring && !strcmp(v->valuestring, modes[k].off))
            *mode_val[k] = 0;
        else if (!cJSON_IsString(v) || !v->valuestring || strcmp(v->valuestring, modes[k].on))
            return promo_api_fail(out, 400, modes[k].key, "expected \"%s\" or \"%s\"", modes[k].on,
                                  modes[k].off) +
                   1;
    }
    r->rank_by = -1;
    const cJSON *rb = cJSON_GetObjectItemCaseSensitive(b, "rank_by");
    if (rb) {
        static const char *const words[] = {"probability", "uplift", "profit"};
        if (!cJSON_IsString(rb) || !rb->valuestring)
            return promo_api_fail(out, 400, "rank_by",
                                  "expected \"profit\", \"uplift\" or \"probability\", got %s",
                                  type_name(rb)) +
                   1;
        for (int k = 0; k < 3; k++)
            if (!strcmp(rb->valuestring, words[k]))
                r->rank_by = k;
        if (r->rank_by < 0)
            return promo_api_fail(out, 400, "rank_by",
                                  "expected \"profit\", \"uplift\" or \"probability\"") +
                   1;
    }
    return 0;
}

int api_parse_optimize(const cJSON *b, api_optimize_req *r, promo_api_reply *out)
{
    static const char *const known[] = {"product_id", "discounts", "max_target", "fatigue", NULL};
    memset(r, 0, sizeof *r);
    if (api_check_object(b, known, out) ||
        api_get_string(b, "product_id", 1, r->product_id, NULL, out) ||
        api_get_int(b, "max_target", 0, 1, 10000000, -1, &r->max_target, out))
        return 1;
    /* fatigue as promo campaign --optimize applies it, unless asked otherwise */
    const cJSON *fv = cJSON_GetObjectItemCaseSensitive(b, "fatigue");
    r->fatigue = 1;
    if (fv && cJSON_IsString(fv) && fv->valuestring && !strcmp(fv->valuestring, "off"))
        r->fatigue = 0;
    else if (fv && (!cJSON_IsString(fv) || !fv->valuestring || strcmp(fv->valuestring, "suppress")))
        return promo_api_fail(out, 400, "fatigue", "expected \"suppress\" or \"off\"") + 1;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(b, "discounts");
    if (!d)
        return 0;
    if (!cJSON_IsArray(d))
        return promo_api_fail(out, 400, "discounts",
                              "expected an array of numbers from 0 to 90, "
                              "got %s",
                              type_name(d)) +
               1;
    int n = cJSON_GetArraySize(d);
    if (n < 1 || n > API_MAX_DISCOUNTS)
        return promo_api_fail(out, 400, "discounts", "expected 1 to %d discounts, got %d",
                              API_MAX_DISCOUNTS, n) +
               1;
    size_t k = 0;
    for (const cJSON *c = d->child; c; c = c->next, k++) {
        double x = cJSON_IsNumber(c) ? c->valuedouble : NAN;
        if (!isfinite(x) || x < 0 || x > 90)
            return promo_api_fail(out, 400, "discounts",
                                  "entry %zu: expected a number from 0 to "
                                  "90",
                                  k) +
                   1;
        if (k && x <= r->discounts[k - 1])
            return promo_api_fail(out, 400, "discounts",
                                  "entry %zu: discounts must be ascending "
                                  "and distinct",
                                  k) +
                   1;
        r->discounts[k] = x;
    }
    r->n_discounts = k;
    return 0;
}

int api_parse_simulate(const cJSON *b, api_simulate_req *r, promo_api_reply *out)
{
    static const char *const known[] = {"product_id", "discount_pct", "target", NULL};
    memset(r, 0, sizeof *r);
    return api_check_object(b, known, out) ||
           api_get_string(b, "product_id", 1, r->product_id, NULL, out) ||
           api_get_number(b, "discount_pct", 0, 0, 90, 10, &r->discount_pct, out) ||
           api_get_int(b, "target", 0, 1, 10000000, 50, &r->target, out);
}

int api_parse_similar(const cJSON *b, api_similar_req *r, promo_api_reply *out)
{
    static const char *const known[] = {"name", "category", "price", "brand", "k", NULL};
    memset(r, 0, sizeof *r);
    if (api_check_object(b, known, out) ||
        api_get_string(b, "name", 0, r->name, &r->has_name, out) ||
        api_get_string(b, "category", 1, r->category, NULL, out) ||
        api_get_number(b, "price", 1, 0, 1e12, 0, &r->price, out) ||
        api_get_string(b, "brand", 0, r->brand, &r->has_brand, out) ||
        api_get_int(b, "k", 0, 1, 100, 10, &r->k, out))
        return 1;
    if (r->price <= 0)
        return promo_api_fail(out, 400, "price", "expected a price above 0") + 1;
    return 0;
}

int api_parse_crosssell(const cJSON *b, api_crosssell_req *r, promo_api_reply *out)
{
    static const char *const known[] = {"product_id", "target", NULL};
    memset(r, 0, sizeof *r);
    return api_check_object(b, known, out) ||
           api_get_string(b, "product_id", 1, r->product_id, NULL, out) ||
           api_get_int(b, "target", 0, 0, PROMO_API_MAX_ROWS, 50, &r->target, out);
}

int promo_api_check_body(const char *route_path, const cJSON *body, promo_api_reply *out)
{
    union {
        api_campaign_req c;
        api_optimize_req o;
        api_simulate_req s;
        api_similar_req m;
        api_crosssell_req x;
    } u;
    if (!strcmp(route_path, "/api/campaign"))
        return api_parse_campaign(body, &u.c, out);
    if (!strcmp(route_path, "/api/optimize"))
        return api_parse_optimize(body, &u.o, out);
    if (!strcmp(route_path, "/api/simulate"))
        return api_parse_simulate(body, &u.s, out);
    if (!strcmp(route_path, "/api/similar-products"))
        return api_parse_similar(body, &u.m, out);
    if (!strcmp(route_path, "/api/crosssell"))
        return api_parse_crosssell(body, &u.x, out);
    return 0;
}
