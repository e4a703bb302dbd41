/* The JSON API (src/server): each handler called directly on the small generated world, then
 * the HTTP layer on loopback (an ephemeral port): status codes, the contract's JSON shapes,
 * the key (401), the limits (413, 414, deep JSON), bad fields (400 naming the field), unknown
 * ids (404), wrong methods (405), static files without path traversal, the metrics, the
 * OpenAPI document against the route table, a workspace trained under a running server (the
 * server holds no lock between requests and reloads), and `promo serve` stopped by SIGTERM. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <promo/error.h>
#include <promo/log.h>

#include "server/api.h"
#include "server/routes.h"
#include "server/server.h"
#include "t.h"
#include "t_http.h"
#include "t_world.h"

#define KEY "test-key-0123456789"

static char g_ws[512]; /* the world with the any and PROD00001 models and personas */

static const char *trained(void)
{
    if (g_ws[0])
        return g_ws;
    t_world_write(g_ws, sizeof g_ws, 200, 30, 4, 10, 9000);
    char args[1400];
    snprintf(args, sizeof args,
             "train --ws '%s' --target any --rounds 30 --no-baselines --no-plots "
             "--threads 1 -q",
             g_ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(args, sizeof args,
             "train --ws '%s' --target product:PROD00001 --rounds 10 --windows 1 --no-baselines "
             "--no-plots --threads 1 -q",
             g_ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "segment --ws '%s' --method personas --k 4 --threads 1 -q", g_ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "train --ws '%s' --model uplift --rounds 5 --threads 1 -q", g_ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    return g_ws;
}

/* A copy of the trained world (for tests that change it). */
static const char *copy_ws(const char *name)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", t_tmpdir(), name);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", trained(), path);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    return path;
}

/* ---- calling handlers directly ---- */

typedef struct q_args {
    const char *k[4], *v[4];
} q_args;

static const char *q_lookup(const promo_api_call *call, const char *key)
{
    const q_args *a = call->http;
    for (int i = 0; i < 4 && a && a->k[i]; i++)
        if (!strcmp(a->k[i], key))
            return a->v[i];
    return NULL;
}

/* Run handler h with the given path parameter, query and body text (NULL = none); returns the
 * status, *out the reply (caller frees out->body). */
static int call(promo_api *api,
                promo_api_handler h,
                const char *param,
                const q_args *q,
                const char *body,
                promo_api_reply *out)
{
    return t_api_call(api, h, param, q_lookup, (void *)q, body, out);
}

static const char *error_field(const promo_api_reply *r)
{
    const cJSON *e = cJSON_GetObjectItem(r->body, "error");
    const cJSON *f = cJSON_GetObjectItem(e, "field");
    return cJSON_IsString(f) ? f->valuestring : NULL;
}

static void reply_free(promo_api_reply *r)
{
    cJSON_Delete(r->body);
    r->body = NULL;
}

T_TEST(server_handlers_read_routes)
{
    promo_api *api = NULL;
    T_OK(promo_api_open(trained(), &api));
    promo_api_reply r;

    T_ASSERT_EQ_INT(call(api, promo_api_health, NULL, NULL, NULL, &r), 200);
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(r.body, "status")->valuestring, "ok");
    T_ASSERT_EQ_INT(cJSON_GetObjectItem(r.body, "customers")->valuedouble, 200);
    T_ASSERT_EQ_INT(cJSON_GetObjectItem(r.body, "products")->valuedouble, 30);
    T_ASSERT(
        cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.body, "models"), "propensity")));
    T_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.body, "generated")));
    reply_free(&r);

    /* Products: best sellers first, a limit, a query that matches by id. */
    q_args q = {{"limit"}, {"5"}};
    T_ASSERT_EQ_INT(call(api, promo_api_products, NULL, &q, NULL, &r), 200);
    const cJSON *ps = cJSON_GetObjectItem(r.body, "products");
    T_ASSERT_EQ_INT(cJSON_GetArraySize(ps), 5);
    double prev = 1e300;
    for (const cJSON *p = ps->child; p; p = p->next) {
        T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(p, "product_id")));
        T_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(p, "price")));
        double o = cJSON_GetObjectItem(p, "orders")->valuedouble;
        T_ASSERT(o <= prev);
        prev = o;
    }
    reply_free(&r);
    q_args q2 = {{"query", "limit"}, {"prod00001", "100"}};
    T_ASSERT_EQ_INT(call(api, promo_api_products, NULL, &q2, NULL, &r), 200);
    ps = cJSON_GetObjectItem(r.body, "products");
    T_ASSERT(cJSON_GetArraySize(ps) >= 1);
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(ps->child, "product_id")->valuestring, "PROD00001");
    reply_free(&r);
    q_args q3 = {{"limit"}, {"101"}};
    T_ASSERT_EQ_INT(call(api, promo_api_products, NULL, &q3, NULL, &r), 400);
    T_ASSERT_STR_EQ(error_field(&r), "limit");
    reply_free(&r);

    /* A customer: profile, segment (personas were stored), tier, reasons of the any model. */
    T_ASSERT_EQ_INT(call(api, promo_api_segments, NULL, NULL, NULL, &r), 200);
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(r.body, "method")->valuestring, "personas");
    const cJSON *segs = cJSON_GetObjectItem(r.body, "segments");
    T_ASSERT(cJSON_GetArraySize(segs) >= 2);
    double share = 0;
    for (const cJSON *s = segs->child; s; s = s->next) {
        T_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(s, "id")));
        T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(s, "tier")));
        T_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(s, "mean_spend")));
        share += cJSON_GetObjectItem(s, "share")->valuedouble;
    }
    T_ASSERT_NEAR(share, 1.0, 1e-9);
    reply_free(&r);

    /* Customers: each has the contract's fields; the any model gives some of them reasons,
     * the stored personas a segment. */
    int with_reasons = 0, with_segment = 0;
    for (int k = 1; k <= 20; k++) {
        char id[32];
        snprintf(id, sizeof id, "CUST%07d", k);
        T_ASSERT_EQ_INT(call(api, promo_api_customer, id, NULL, NULL, &r), 200);
        T_ASSERT_STR_EQ(cJSON_GetObjectItem(r.body, "customer_id")->valuestring, id);
        T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(r.body, "name")));
        T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(r.body, "location")));
        T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(r.body, "tier")));
        T_ASSERT(cJSON_GetObjectItem(r.body, "clv") != NULL);
        T_ASSERT(cJSON_IsArray(cJSON_GetObjectItem(r.body, "recommendations")));
        const cJSON *seg = cJSON_GetObjectItem(r.body, "segment");
        T_ASSERT(cJSON_IsNull(seg) || cJSON_IsNumber(cJSON_GetObjectItem(seg, "id")));
        with_segment += cJSON_IsObject(seg);
        const cJSON *reasons = cJSON_GetObjectItem(r.body, "reasons");
        T_ASSERT(cJSON_IsArray(reasons));
        with_reasons += cJSON_GetArraySize(reasons) > 0;
        if (cJSON_GetArraySize(reasons) > 0)
            T_ASSERT(cJSON_IsString(reasons->child));
        reply_free(&r);
    }
    T_ASSERT(with_reasons > 0);
    T_ASSERT(with_segment > 0);

    T_ASSERT_EQ_INT(call(api, promo_api_customer, "CUST9999999", NULL, NULL, &r), 404);
    T_ASSERT_STR_EQ(error_field(&r), "id");
    reply_free(&r);
    promo_api_free(api);
}

T_TEST(server_body_checks_name_the_field)
{
    static const struct {
        const char *route, *body, *field; /* field NULL: no field at fault */
    } cases[] = {
        {"/api/campaign", "{}", "product_id"},
        {"/api/campaign", "{\"product_id\": 5}", "product_id"},
        {"/api/campaign", "{\"product_id\": \"\"}", "product_id"},
        {"/api/campaign", "{\"product_id\": \"P\", \"discount_pct\": 95}", "discount_pct"},
        {"/api/campaign", "{\"product_id\": \"P\", \"discount_pct\": \"10\"}", "discount_pct"},
        {"/api/campaign", "{\"product_id\": \"P\", \"discount_pct\": 1e999}", "discount_pct"},
        {"/api/campaign", "{\"product_id\": \"P\", \"target\": 2.5}", "target"},
        {"/api/campaign", "{\"product_id\": \"P\", \"target\": 0}", "target"},
        {"/api/campaign", "{\"product_id\": \"P\", \"rows\": 10001}", "rows"},
        {"/api/campaign", "{\"product_id\": \"P\", \"optimize\": 1}", "optimize"},
        {"/api/campaign", "{\"product_id\": \"P\", \"rank_by\": \"luck\"}", "rank_by"},
        {"/api/campaign", "{\"product_id\": \"P\", \"budget\": -1}", "budget"},
        {"/api/campaign", "{\"product_id\": \"P\", \"discount\": 10}", "discount"},
        {"/api/campaign", "{\"product_id\": \"P\", \"product_id\": \"Q\"}", "product_id"},
        {"/api/campaign", "[1, 2]", NULL},
        {"/api/optimize", "{\"product_id\": \"P\", \"discounts\": [10, 5]}", "discounts"},
        {"/api/optimize", "{\"product_id\": \"P\", \"discounts\": []}", "discounts"},
        {"/api/optimize", "{\"product_id\": \"P\", \"discounts\": \"all\"}", "discounts"},
        {"/api/optimize", "{\"product_id\": \"P\", \"max_target\": -3}", "max_target"},
        {"/api/simulate", "{\"product_id\": \"P\", \"target\": null}", "target"},
        {"/api/similar-products", "{\"category\": \"Dairy\"}", "price"},
        {"/api/similar-products", "{\"category\": \"Dairy\", \"price\": 0}", "price"},
        {"/api/similar-products", "{\"price\": 10}", "category"},
        {"/api/similar-products", "{\"category\": \"a\\u0001b\", \"price\": 10}", "category"},
        {"/api/similar-products", "{\"category\": \"D\", \"price\": 10, \"k\": 101}", "k"},
        {"/api/crosssell", "{\"product_id\": \"P\", \"target\": 10001}", "target"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *b = cJSON_Parse(cases[i].body);
        T_ASSERT(b != NULL);
        promo_api_reply r = {0, NULL};
        int bad = promo_api_check_body(cases[i].route, b, &r);
        cJSON_Delete(b);
        T_ASSERT_MSG(bad && r.status == 400, "%s %s: expected 400, got %d", cases[i].route,
                     cases[i].body, r.status);
        const char *f = error_field(&r);
        if (cases[i].field)
            T_ASSERT_MSG(f && !strcmp(f, cases[i].field), "%s %s: field %s, expected %s",
                         cases[i].route, cases[i].body, f ? f : "null", cases[i].field);
        else
            T_ASSERT(f == NULL);
        reply_free(&r);
    }
    /* And acceptable bodies pass. */
    static const char *const good[][2] = {
        {"/api/campaign", "{\"product_id\": \"P\", \"discount_pct\": 0, \"target\": 1, "
                          "\"budget\": 0, \"optimize\": false, \"rank_by\": \"uplift\", "
                          "\"rows\": 0, \"holdout_pct\": 50}"},
        {"/api/optimize", "{\"product_id\": \"P\", \"discounts\": [0, 2.5, 90]}"},
        {"/api/similar-products", "{\"name\": \"Greek yoghurt\", \"category\": \"Dairy\", "
                                  "\"price\": 350, \"brand\": \"X\", \"k\": 5}"},
        {"/api/similar-products", "{\"name\": \"\", \"category\": \"Dairy\", \"price\": 1}"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cJSON *b = cJSON_Parse(good[i][1]);
        promo_api_reply r = {0, NULL};
        T_ASSERT_MSG(promo_api_check_body(good[i][0], b, &r) == 0, "%s refused", good[i][1]);
        cJSON_Delete(b);
        reply_free(&r);
    }
}

T_TEST(server_key_and_depth_helpers)
{
    T_ASSERT(promo_key_equal("abc", "abc"));
    T_ASSERT(!promo_key_equal("abc", "abd"));
    T_ASSERT(!promo_key_equal("abc", "ab"));
    T_ASSERT(!promo_key_equal("abc", "abcd"));
    T_ASSERT(!promo_key_equal("abc", NULL));
    T_ASSERT(!promo_key_equal("", ""));
    char deep[200];
    memset(deep, '[', 33);
    memset(deep + 33, ']', 33);
    T_ASSERT(!promo_json_depth_ok(deep, 66, 32));
    T_ASSERT(promo_json_depth_ok(deep + 1, 64, 32));
    const char *s = "{\"a\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\"}";
    T_ASSERT(promo_json_depth_ok(s, strlen(s), 2));
}

/* The replies' printer: numbers to 12 significant digits without printf, everything else as
 * cJSON writes it; the text parses back to the same tree (numbers within 1e-11 relative). */
T_TEST(server_json_printer_round_trips)
{
    static const double nums[] = {0,
                                  1,
                                  -1,
                                  42,
                                  1e14,
                                  -123456789,
                                  0.1,
                                  0.5,
                                  -0.25,
                                  3.14159265358979,
                                  1e-7,
                                  2.5e-6,
                                  9.99999999999e-4,
                                  999.9999999999999,
                                  1000,
                                  0.09999999999999999,
                                  123456.789012345,
                                  -98765.4321,
                                  1e15 + 0.5,
                                  6.02e23,
                                  -1.5e-300,
                                  4503599627370497.0};
    char buf[64];
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
        int n = promo_json_number(nums[k], buf, sizeof buf);
        T_ASSERT_MSG(n > 0 && (size_t)n == strlen(buf), "%.17g -> %s", nums[k], buf);
        char *end = NULL;
        double back = strtod(buf, &end);
        T_ASSERT_MSG(*end == 0, "%.17g -> '%s' is not a number", nums[k], buf);
        T_ASSERT_MSG(fabs(back - nums[k]) <= 1e-11 * fabs(nums[k]), "%.17g -> %s", nums[k], buf);
        T_ASSERT_MSG(!strchr(buf, 'e') || fabs(nums[k]) >= 1e14 || fabs(nums[k]) < 1e-7,
                     "%.17g -> %s (exponent)", nums[k], buf);
    }
    T_ASSERT_EQ_INT(promo_json_number(0.1, buf, sizeof buf), 3);
    T_ASSERT_STR_EQ(buf, "0.1");
    promo_json_number(-2.5e-6, buf, sizeof buf);
    T_ASSERT_STR_EQ(buf, "-0.0000025");
    promo_json_number(1234.5678, buf, sizeof buf);
    T_ASSERT_STR_EQ(buf, "1234.5678");
    promo_json_number(NAN, buf, sizeof buf);
    T_ASSERT_STR_EQ(buf, "null");
    T_ASSERT_EQ_INT(promo_json_number(1, buf, 8), -1);
    const char *doc = "{\"a\":[1,2.5,-0.001,true,false,null,{}],\"s\":\"q\\\"b\\\\n\\n\\t\\u0001"
                      "\xc3\xa9\",\"o\":{\"x\":[],\"y\":\"\"},\"big\":12345678901234,"
                      "\"p\":0.123456789012}";
    cJSON *j = cJSON_Parse(doc);
    T_ASSERT(j != NULL);
    size_t len = 0;
    char *mine = promo_json_print(j, &len), *theirs = cJSON_PrintUnformatted(j);
    T_ASSERT(mine && theirs && len == strlen(mine));
    T_ASSERT_STR_EQ(mine, theirs); /* nothing here needs more than 12 digits */
    cJSON *back = cJSON_Parse(mine);
    T_ASSERT(back && cJSON_Compare(back, j, 1));
    cJSON_Delete(back);
    free(mine);
    free(theirs);
    cJSON_Delete(j);
}

/* ---- calls in parallel ---- */

/* One request of the concurrent test: what promo_request_handle gets, and the answer the
 * same request had when the calls ran one at a time. */
typedef struct conc_case {
    const char *method, *path, *body;
    q_args q;
    char *expect; /* "STATUS JSON" */
} conc_case;

static char *run_case(promo_api *api, const conc_case *k)
{
    promo_request rq = {
        .method = k->method,
        .path = k->path,
        .url_len = strlen(k->path),
        .authorization = "Bearer " KEY,
        .body = k->body,
        .n_body = k->body ? strlen(k->body) : 0,
        .query = q_lookup,
        .http = (void *)&k->q,
    };
    promo_api_reply rep = {0, NULL};
    int route = 0;
    char *out = NULL;
    if (promo_request_handle(api, KEY, &rq, &rep, &route) == 0 && rep.body) {
        char *text = promo_json_print(rep.body, NULL);
        size_t n = text ? strlen(text) + 16 : 0;
        out = text ? malloc(n) : NULL;
        if (out)
            snprintf(out, n, "%d %s", rep.status, text);
        free(text);
    }
    cJSON_Delete(rep.body);
    return out;
}

#define CONC_THREADS 8
#define CONC_CALLS   24

typedef struct conc_arg {
    promo_api *api;
    const conc_case *cases;
    size_t n_cases;
    int t;
    int mismatches, failures;
    char first_bad[600];
} conc_arg;

static void *conc_worker(void *p)
{
    conc_arg *a = p;
    for (int i = 0; i < CONC_CALLS; i++) {
        /* each thread walks the cases from its own start, so every route runs beside others */
        const conc_case *k = &a->cases[(size_t)(a->t * 5 + i) % a->n_cases];
        char *got = run_case(a->api, k);
        if (!got)
            a->failures++;
        else if (strcmp(got, k->expect) != 0) {
            if (!a->mismatches++)
                snprintf(a->first_bad, sizeof a->first_bad, "%s %s: %.200s ... expected %.200s",
                         k->method, k->path, got, k->expect);
        }
        free(got);
    }
    return NULL;
}

/* Many requests at once against the handlers (threads in the test, through the same request
 * step the HTTP layer runs): every answer equals the one the same request got when the calls
 * ran one at a time, on a fresh API handle, so the first loads, the caches (optima, reasons,
 * cross-sell) and the engine's locks all run concurrently. Health's reload count and the
 * campaign's forecasts included. */
T_TEST(server_concurrent_calls_answer_as_one_at_a_time)
{
    const char *ws = trained();
    conc_case cases[] = {
        {"GET", "/api/health", NULL, {{0}, {0}}, NULL},
        {"GET", "/api/products", NULL, {{"limit"}, {"7"}}, NULL},
        {"GET", "/api/products", NULL, {{"query", "limit"}, {"prod0000", "20"}}, NULL},
        {"GET", "/api/customers/CUST0000001", NULL, {{0}, {0}}, NULL},
        {"GET", "/api/customers/CUST0000007", NULL, {{0}, {0}}, NULL},
        {"GET", "/api/customers/CUST0000012", NULL, {{0}, {0}}, NULL},
        {"GET", "/api/segments", NULL, {{0}, {0}}, NULL},
        {"POST",
         "/api/campaign",
         "{\"product_id\": \"PROD00001\", \"discount_pct\": 10, \"target\": 40, \"rows\": 40}",
         {{0}, {0}},
         NULL},
        {"POST",
         "/api/campaign",
         "{\"product_id\": \"PROD00002\", \"discount_pct\": 20, \"target\": 25, "
         "\"rank_by\": \"uplift\"}",
         {{0}, {0}},
         NULL},
        {"POST",
         "/api/campaign",
         "{\"product_id\": \"PROD00003\", \"optimize\": true, \"rows\": 10}",
         {{0}, {0}},
         NULL},
        {"POST",
         "/api/campaign",
         "{\"product_id\": \"PROD00001\", \"discount_pct\": 15, \"target\": 100, "
         "\"budget\": 500, \"rank_by\": \"probability\", \"rows\": 30}",
         {{0}, {0}},
         NULL},
        {"POST", "/api/optimize", "{\"product_id\": \"PROD00004\"}", {{0}, {0}}, NULL},
        {"POST", "/api/crosssell", "{\"product_id\": \"PROD00001\"}", {{0}, {0}}, NULL},
        {"POST",
         "/api/crosssell",
         "{\"product_id\": \"PROD00002\", \"target\": 5}",
         {{0}, {0}},
         NULL},
        {"POST",
         "/api/simulate",
         "{\"product_id\": \"PROD00001\", \"discount_pct\": 10, \"target\": 20}",
         {{0}, {0}},
         NULL},
        {"POST",
         "/api/similar-products",
         "{\"category\": \"Dairy\", \"price\": 250}",
         {{0}, {0}},
         NULL},
        {"POST", "/api/campaign", "{\"product_id\": \"NOPE\"}", {{0}, {0}}, NULL},
    };
    size_t n = sizeof cases / sizeof cases[0];
    promo_api *one = NULL, *many = NULL;
    T_OK(promo_api_open(ws, &one));
    for (size_t k = 0; k < n; k++) {
        cases[k].expect = run_case(one, &cases[k]);
        T_ASSERT_MSG(cases[k].expect != NULL, "%s %s failed", cases[k].method, cases[k].path);
        /* a second time from the caches: the same answer */
        char *again = run_case(one, &cases[k]);
        T_ASSERT(again != NULL);
        T_ASSERT_STR_EQ(again, cases[k].expect);
        free(again);
    }
    /* Every answer is a real one (not a 5xx), and the campaigns have their rows. */
    for (size_t k = 0; k < n; k++)
        T_ASSERT_MSG(atoi(cases[k].expect) < 500, "%s", cases[k].expect);
    T_ASSERT(!strncmp(cases[7].expect, "200 ", 4) && strstr(cases[7].expect, "\"rows\":[{"));
    T_ASSERT(!strncmp(cases[16].expect, "404 ", 4));
    T_OK(promo_api_open(ws, &many));
    pthread_t th[CONC_THREADS];
    conc_arg args[CONC_THREADS];
    for (int t = 0; t < CONC_THREADS; t++) {
        args[t] = (conc_arg){.api = many, .cases = cases, .n_cases = n, .t = t};
        T_ASSERT_EQ_INT(pthread_create(&th[t], NULL, conc_worker, &args[t]), 0);
    }
    int bad = 0, failed = 0;
    const char *first = NULL;
    for (int t = 0; t < CONC_THREADS; t++) {
        pthread_join(th[t], NULL);
        bad += args[t].mismatches;
        failed += args[t].failures;
        if (args[t].mismatches && !first)
            first = args[t].first_bad;
    }
    T_ASSERT_MSG(failed == 0, "%d concurrent calls failed", failed);
    T_ASSERT_MSG(bad == 0, "%d of %d concurrent answers differ; first: %s", bad,
                 CONC_THREADS * CONC_CALLS, first ? first : "");
    for (size_t k = 0; k < n; k++)
        free(cases[k].expect);
    promo_api_free(one);
    promo_api_free(many);
}

/* ---- the HTTP layer ---- */

static promo_server *start(promo_api *api, const char *web)
{
    promo_server_params p = promo_server_params_default();
    p.port = 0;
    p.api_key = KEY;
    p.quiet = 1;
    p.threads = 2;
    p.web_dir = web;
    promo_server *srv = NULL;
    T_OK(promo_server_start(api, &p, &srv));
    T_ASSERT(promo_server_port(srv) > 0);
    return srv;
}

static int
post(unsigned port, const char *path, const char *auth, const char *body, t_http_reply *r)
{
    char h[256] = "Content-Type: application/json\r\n";
    if (auth)
        snprintf(h + strlen(h), sizeof h - strlen(h), "Authorization: %s\r\n", auth);
    return t_http(port, "POST", path, h, body, strlen(body), r);
}

static cJSON *json_of(const t_http_reply *r)
{
    cJSON *j = cJSON_Parse(r->body);
    T_ASSERT_MSG(j != NULL, "not JSON: %s", r->body);
    return j;
}

/* The reply is an error of this status naming field (NULL: null). */
static void assert_error(const t_http_reply *r, int status, const char *field)
{
    T_ASSERT_MSG(r->status == status, "expected %d, got %d: %s", status, r->status,
                 r->body ? r->body : "");
    cJSON *j = json_of(r);
    const cJSON *e = cJSON_GetObjectItem(j, "error");
    T_ASSERT(e != NULL);
    T_ASSERT_EQ_INT(cJSON_GetObjectItem(e, "status")->valuedouble, status);
    T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(e, "message")));
    const cJSON *f = cJSON_GetObjectItem(e, "field");
    if (field)
        T_ASSERT_MSG(cJSON_IsString(f) && !strcmp(f->valuestring, field), "field: %s", r->body);
    else
        T_ASSERT(cJSON_IsNull(f));
    cJSON_Delete(j);
}

T_TEST(server_http_statuses)
{
    promo_api *api = NULL;
    T_OK(promo_api_open(trained(), &api));
    promo_server *srv = start(api, NULL);
    unsigned port = promo_server_port(srv);
    t_http_reply r;

    T_ASSERT_EQ_INT(t_http(port, "GET", "/api/health", NULL, NULL, 0, &r), 200);
    T_ASSERT_CONTAINS(t_http_header(&r, "Content-Type"), "application/json");
    cJSON *j = json_of(&r);
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(j, "status")->valuestring, "ok");
    cJSON_Delete(j);
    t_http_reply_free(&r);

    T_ASSERT_EQ_INT(t_http(port, "GET", "/api/products?query=PROD0000&limit=3", NULL, NULL, 0, &r),
                    200);
    j = json_of(&r);
    T_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "products")), 3);
    cJSON_Delete(j);
    t_http_reply_free(&r);
    t_http(port, "GET", "/api/products?limit=abc", NULL, NULL, 0, &r);
    assert_error(&r, 400, "limit");
    t_http_reply_free(&r);

    t_http(port, "GET", "/api/customers/NOBODY", NULL, NULL, 0, &r);
    assert_error(&r, 404, "id");
    t_http_reply_free(&r);
    t_http(port, "GET", "/api/customers/CUST0000001%2Fx", NULL, NULL, 0, &r);
    T_ASSERT(r.status == 404);
    t_http_reply_free(&r);

    t_http(port, "GET", "/api/nothing", NULL, NULL, 0, &r);
    assert_error(&r, 404, NULL);
    t_http_reply_free(&r);
    t_http(port, "DELETE", "/api/health", NULL, NULL, 0, &r);
    assert_error(&r, 405, NULL);
    T_ASSERT_STR_EQ(t_http_header(&r, "Allow"), "GET");
    t_http_reply_free(&r);
    t_http(port, "GET", "/api/campaign", NULL, NULL, 0, &r);
    assert_error(&r, 405, NULL);
    T_ASSERT_STR_EQ(t_http_header(&r, "Allow"), "POST");
    t_http_reply_free(&r);

    /* The key. */
    post(port, "/api/campaign", NULL, "{\"product_id\": \"PROD00001\"}", &r);
    assert_error(&r, 401, NULL);
    T_ASSERT_STR_EQ(t_http_header(&r, "WWW-Authenticate"), "Bearer");
    t_http_reply_free(&r);
    post(port, "/api/campaign", "Bearer wrong", "{\"product_id\": \"PROD00001\"}", &r);
    assert_error(&r, 401, NULL);
    t_http_reply_free(&r);
    post(port, "/api/campaign", KEY, "{\"product_id\": \"PROD00001\"}", &r);
    assert_error(&r, 401, NULL); /* the scheme is required */
    t_http_reply_free(&r);

    /* Hostile bodies. */
    const char *auth = "Bearer " KEY;
    post(port, "/api/campaign", auth, "{\"product_id\": ", &r);
    assert_error(&r, 400, NULL);
    T_ASSERT_CONTAINS(r.body, "malformed JSON");
    t_http_reply_free(&r);
    post(port, "/api/campaign", auth, "{\"product_id\": \"P\"} x", &r);
    assert_error(&r, 400, NULL);
    t_http_reply_free(&r);
    post(port, "/api/campaign", auth, "", &r);
    assert_error(&r, 400, NULL);
    t_http_reply_free(&r);
    post(port, "/api/campaign", auth, "{\"product_id\": NaN}", &r);
    assert_error(&r, 400, NULL);
    t_http_reply_free(&r);
    char deep[2100];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = 0;
    post(port, "/api/campaign", auth, deep, &r);
    assert_error(&r, 400, NULL);
    T_ASSERT_CONTAINS(r.body, "deeper");
    t_http_reply_free(&r);
    post(port, "/api/campaign", auth, "{\"product_id\": \"PROD00001\", \"discount_pct\": \"ten\"}",
         &r);
    assert_error(&r, 400, "discount_pct");
    t_http_reply_free(&r);
    post(port, "/api/campaign", auth, "{\"discount_pct\": 10}", &r);
    assert_error(&r, 400, "product_id");
    t_http_reply_free(&r);

    /* Size limits: a declared body over 1 MiB, the same sent chunked, a long URL. */
    size_t big = PROMO_SERVER_MAX_BODY + 10;
    char *huge = malloc(big + 64);
    memset(huge, ' ', big);
    huge[big] = 0;
    t_http(port, "POST", "/api/campaign", "Authorization: Bearer " KEY "\r\n", huge, big, &r);
    assert_error(&r, 413, NULL);
    t_http_reply_free(&r);
    /* Chunked: one chunk of the whole size. */
    int hl = snprintf(huge, 64, "%zx\r\n", big);
    char *chunked = malloc(big + 128);
    memcpy(chunked, huge, (size_t)hl);
    memset(chunked + hl, ' ', big);
    memcpy(chunked + hl + big, "\r\n0\r\n\r\n", 7);
    t_http(port, "POST", "/api/campaign",
           "Authorization: Bearer " KEY "\r\nTransfer-Encoding: chunked\r\n", chunked,
           (size_t)hl + big + 7, &r);
    assert_error(&r, 413, NULL);
    t_http_reply_free(&r);
    free(chunked);
    char url[PROMO_SERVER_MAX_URL + 100];
    memcpy(url, "/api/products?query=", 20);
    memset(url + 20, 'a', PROMO_SERVER_MAX_URL + 10);
    url[PROMO_SERVER_MAX_URL + 30] = 0;
    t_http(port, "GET", url, NULL, NULL, 0, &r);
    assert_error(&r, 414, NULL);
    t_http_reply_free(&r);
    free(huge);

    /* The metrics count what happened. */
    T_ASSERT_EQ_INT(t_http(port, "GET", "/metrics", NULL, NULL, 0, &r), 200);
    T_ASSERT_CONTAINS(r.body, "promo_http_requests_total{route=\"health\",status=\"200\"} 1\n");
    T_ASSERT_CONTAINS(r.body, "promo_http_requests_total{route=\"campaign\",status=\"401\"} 3\n");
    T_ASSERT_CONTAINS(r.body, "promo_http_requests_total{route=\"campaign\",status=\"413\"} 2\n");
    T_ASSERT_CONTAINS(r.body, "promo_http_requests_total{route=\"products\",status=\"400\"} 1\n");
    T_ASSERT_CONTAINS(r.body, "promo_http_request_duration_seconds_count{route=\"health\"} 1\n");
    T_ASSERT_CONTAINS(r.body,
                      "promo_http_request_duration_seconds_bucket{route=\"health\",le=\"+Inf\"} 1");
    t_http_reply_free(&r);
    char *m = promo_server_metrics(srv);
    T_ASSERT_CONTAINS(m, "promo_http_requests_total{route=\"metrics\",status=\"200\"} 1\n");
    free(m);

    promo_server_stop(srv);
    promo_api_free(api);
}

T_TEST(server_static_files_no_traversal)
{
    char web[700], cmd[3000];
    const char *d = t_tmpdir();
    snprintf(web, sizeof web, "%s/web", d);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/web/sub' && printf '<p>page</p>' > '%s/web/index.html' && "
             "printf 'let x = 1;' > '%s/web/app.js' && printf 'SECRET' > '%s/secret.txt' && "
             "ln -s '%s/secret.txt' '%s/web/link.txt' && ln -s /etc '%s/web/etc'",
             d, d, d, d, d, d, d);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    promo_api *api = NULL;
    T_OK(promo_api_open(trained(), &api));
    promo_server *srv = start(api, web);
    unsigned port = promo_server_port(srv);
    t_http_reply r;
    T_ASSERT_EQ_INT(t_http(port, "GET", "/", NULL, NULL, 0, &r), 200);
    T_ASSERT_STR_EQ(r.body, "<p>page</p>");
    T_ASSERT_CONTAINS(t_http_header(&r, "Content-Type"), "text/html");
    t_http_reply_free(&r);
    T_ASSERT_EQ_INT(t_http(port, "GET", "/app.js", NULL, NULL, 0, &r), 200);
    T_ASSERT_CONTAINS(t_http_header(&r, "Content-Type"), "text/javascript");
    t_http_reply_free(&r);
    static const char *const bad[] = {
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/sub/../../secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/link.txt",
        "/etc/passwd",
        "//etc/passwd",
        "/sub/..%2f..%2fsecret.txt",
        "/..\\secret.txt",
        "/./index.html",
        "/sub",
        "/nothing.js",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t_http(port, "GET", bad[i], NULL, NULL, 0, &r);
        T_ASSERT_MSG(r.status == 400 || r.status == 404, "%s: %d", bad[i], r.status);
        T_ASSERT_MSG(!strstr(r.body, "SECRET") && !strstr(r.body, "root:"), "%s leaked", bad[i]);
        t_http_reply_free(&r);
    }
    t_http(port, "POST", "/index.html", "Authorization: Bearer " KEY "\r\n", "{}", 2, &r);
    assert_error(&r, 405, NULL);
    t_http_reply_free(&r);
    promo_server_stop(srv);

    /* Without a web directory: / says how to build it. */
    srv = start(api, NULL);
    T_ASSERT_EQ_INT(t_http(promo_server_port(srv), "GET", "/", NULL, NULL, 0, &r), 200);
    T_ASSERT_CONTAINS(r.body, "make web");
    t_http_reply_free(&r);
    promo_server_stop(srv);
    promo_api_free(api);
}

T_TEST(server_openapi_matches_routes)
{
    size_t n = 0;
    const char *doc = promo_openapi_json(&n);
    T_ASSERT(n > 0);
    cJSON *j = cJSON_ParseWithLength(doc, n);
    T_ASSERT_MSG(j != NULL, "openapi.json does not parse");
    const cJSON *paths = cJSON_GetObjectItem(j, "paths");
    T_ASSERT(cJSON_IsObject(paths));
    /* Every route is documented with its method ... */
    for (size_t i = 0; i < promo_n_routes; i++) {
        const cJSON *p = cJSON_GetObjectItem(paths, promo_routes[i].path);
        T_ASSERT_MSG(p != NULL, "route %s is not in openapi.json", promo_routes[i].path);
        char m[8];
        snprintf(m, sizeof m, "%s", promo_routes[i].method);
        for (char *c = m; *c; c++)
            *c = (char)(*c - 'A' + 'a');
        T_ASSERT_MSG(cJSON_GetObjectItem(p, m) != NULL, "%s %s is not in openapi.json", m,
                     promo_routes[i].path);
    }
    /* ... and every documented path and method is a route. */
    static const char *const methods[] = {"get", "post", "put", "delete", "patch", "head"};
    for (const cJSON *p = paths->child; p; p = p->next)
        for (size_t k = 0; k < 6; k++) {
            if (!cJSON_GetObjectItem(p, methods[k]))
                continue;
            int found = 0;
            for (size_t i = 0; i < promo_n_routes && !found; i++)
                found = !strcmp(promo_routes[i].path, p->string) &&
                        !strcasecmp(promo_routes[i].method, methods[k]);
            T_ASSERT_MSG(found, "openapi.json documents %s %s, which is not a route", methods[k],
                         p->string);
        }
    cJSON_Delete(j);
}

/* A writer runs beside a running server (no lock held between requests) and the next request
 * sees what it wrote: a recommender trained while serving gives the customer recommendations. */
T_TEST(server_reloads_after_train_beside_it)
{
    const char *ws = copy_ws("reload");
    promo_api *api = NULL;
    T_OK(promo_api_open(ws, &api));
    promo_server *srv = start(api, NULL);
    unsigned port = promo_server_port(srv);
    t_http_reply r;
    T_ASSERT_EQ_INT(t_http(port, "GET", "/api/customers/CUST0000001", NULL, NULL, 0, &r), 200);
    cJSON *j = json_of(&r);
    T_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "recommendations")), 0);
    cJSON_Delete(j);
    t_http_reply_free(&r);
    T_ASSERT_EQ_INT(t_http(port, "GET", "/api/health", NULL, NULL, 0, &r), 200);
    j = json_of(&r);
    T_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "models"), "recommender")));
    T_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "reloads")->valuedouble, 0);
    cJSON_Delete(j);
    t_http_reply_free(&r);
    /* --no-wait: the train fails at once if anyone holds the workspace lock. */
    char args[1200];
    snprintf(args, sizeof args,
             "--no-wait train --ws '%s' --model als --factors 8 --iterations 3 --threads 1 -q", ws);
    char *err = NULL;
    int rc = t_promo(args, NULL, &err);
    T_ASSERT_MSG(rc == 0, "train beside the server: %d: %s", rc, err ? err : "");
    free(err);
    T_ASSERT_EQ_INT(t_http(port, "GET", "/api/health", NULL, NULL, 0, &r), 200);
    j = json_of(&r);
    T_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "models"), "recommender")));
    T_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "reloads")->valuedouble, 1);
    cJSON_Delete(j);
    t_http_reply_free(&r);
    /* The reloaded handles answer, with the new model's recommendations. */
    T_ASSERT_EQ_INT(t_http(port, "GET", "/api/customers/CUST0000001", NULL, NULL, 0, &r), 200);
    j = json_of(&r);
    const cJSON *recs = cJSON_GetObjectItem(j, "recommendations");
    T_ASSERT(cJSON_GetArraySize(recs) >= 1);
    T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(recs->child, "product_id")));
    T_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(recs->child, "score")));
    cJSON_Delete(j);
    t_http_reply_free(&r);
    promo_server_stop(srv);
    promo_api_free(api);
}

/* While another command holds the workspace (a writer's exclusive lock), a server that does
 * not wait answers from its loaded handles; what needs the workspace is 503. */
T_TEST(server_answers_from_memory_while_a_writer_runs)
{
    const char *ws = copy_ws("busy");
    promo_api *api = NULL;
    T_OK(promo_api_open(ws, &api));
    promo_server *srv = start(api, NULL);
    unsigned port = promo_server_port(srv);
    t_http_reply r;
    T_ASSERT_EQ_INT(t_http(port, "GET", "/api/customers/CUST0000002", NULL, NULL, 0, &r), 200);
    t_http_reply_free(&r);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "flock -x '%s/.lock' -c 'sleep 4' > /dev/null 2>&1 &", ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    usleep(500000);
    promo_store_set_wait(0);
    T_ASSERT_EQ_INT(t_http(port, "GET", "/api/health", NULL, NULL, 0, &r), 200);
    cJSON *j = json_of(&r);
    T_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(j, "busy")));
    T_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "customers")->valuedouble, 200);
    cJSON_Delete(j);
    t_http_reply_free(&r);
    T_ASSERT_EQ_INT(t_http(port, "GET", "/api/customers/CUST0000001", NULL, NULL, 0, &r), 200);
    t_http_reply_free(&r);
    post(port, "/api/crosssell", "Bearer " KEY, "{\"product_id\": \"PROD00001\"}", &r);
    assert_error(&r, 503, NULL);
    T_ASSERT_CONTAINS(r.body, "another promo command");
    t_http_reply_free(&r);
    /* Once the writer is gone, everything answers again. */
    for (int i = 0; i < 100; i++) {
        t_http(port, "GET", "/api/health", NULL, NULL, 0, &r);
        int busy = strstr(r.body, "\"busy\":true") != NULL;
        t_http_reply_free(&r);
        if (!busy)
            break;
        usleep(100000);
    }
    promo_store_set_wait(1);
    post(port, "/api/crosssell", "Bearer " KEY, "{\"product_id\": \"PROD00001\"}", &r);
    T_ASSERT_EQ_INT(r.status, 200);
    t_http_reply_free(&r);
    promo_server_stop(srv);
    promo_api_free(api);
}

/* ---- the engine routes ---- */

static double num_at(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    T_ASSERT_MSG(cJSON_IsNumber(v), "%s is not a number", k);
    return v->valuedouble;
}

T_TEST(server_campaign_forecast_and_optimum)
{
    promo_api *api = NULL;
    T_OK(promo_api_open(trained(), &api));
    promo_api_reply r;
    T_ASSERT_EQ_INT(call(api, promo_api_campaign, NULL, NULL,
                         "{\"product_id\": \"PROD00001\", \"discount_pct\": 10, \"target\": 20, "
                         "\"rows\": 5}",
                         &r),
                    200);
    const cJSON *b = r.body;
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(b, "product_id")->valuestring, "PROD00001");
    T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(b, "product_name")));
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(b, "rank_by")->valuestring, "profit");
    T_ASSERT_EQ_INT(num_at(b, "target"), 20);
    const cJSON *fc = cJSON_GetObjectItem(b, "forecast");
    T_ASSERT_EQ_INT(num_at(fc, "contacts"), 18); /* 10% held out */
    static const char *const figs[] = {"expected_conversions", "incremental_conversions",
                                       "incremental_revenue",  "discount_cost",
                                       "contact_cost",         "incremental_profit"};
    for (size_t k = 0; k < 6; k++)
        num_at(fc, figs[k]);
    const cJSON *iv = cJSON_GetObjectItem(fc, "profit_interval");
    T_ASSERT_EQ_INT(cJSON_GetArraySize(iv), 2);
    T_ASSERT(iv->child->valuedouble <= num_at(fc, "incremental_profit"));
    T_ASSERT(iv->child->next->valuedouble >= num_at(fc, "incremental_profit"));
    const cJSON *opt = cJSON_GetObjectItem(b, "optimum");
    double best = num_at(opt, "incremental_profit");
    T_ASSERT_NEAR(num_at(b, "gap_to_optimum"), best - num_at(fc, "incremental_profit"), 1e-6);
    T_ASSERT(num_at(b, "gap_to_optimum") >= -1e-6); /* no campaign beats the optimum */
    const cJSON *rows = cJSON_GetObjectItem(b, "rows");
    T_ASSERT_EQ_INT(cJSON_GetArraySize(rows), 5);
    double prev = 1e300;
    for (const cJSON *w = rows->child; w; w = w->next) {
        T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(w, "customer_id")));
        T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(w, "name")));
        /* personas are stored, and every known customer has one (not null) */
        T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(w, "segment")));
        num_at(w, "probability");
        num_at(w, "uplift");
        double ep = num_at(w, "expected_profit");
        T_ASSERT(ep <= prev + 1e-12); /* ranked by expected profit */
        prev = ep;
        T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(w, "reason")));
        T_ASSERT(strlen(cJSON_GetObjectItem(w, "reason")->valuestring) > 0);
        T_ASSERT(cJSON_IsBool(cJSON_GetObjectItem(w, "holdout")));
    }
    double opt_discount = num_at(opt, "discount_pct"), opt_target = num_at(opt, "target");
    reply_free(&r);

    /* optimize: true takes the optimum's discount and count: no gap (nobody held out; the
     * optimum and the campaign both leave the fatigued out, the default rule). */
    T_ASSERT_EQ_INT(call(api, promo_api_campaign, NULL, NULL,
                         "{\"product_id\": \"PROD00001\", \"optimize\": true, \"holdout_pct\": 0, "
                         "\"rows\": 0}",
                         &r),
                    200);
    T_ASSERT_NEAR(num_at(r.body, "discount_pct"), opt_discount, 1e-9);
    if (opt_target > 0)
        T_ASSERT_NEAR(num_at(r.body, "target"), opt_target, 1e-9);
    T_ASSERT_NEAR(num_at(r.body, "gap_to_optimum"), 0, 1e-6 * (1 + fabs(best)));
    T_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r.body, "rows")), 0);
    reply_free(&r);

    /* A budget caps the spend. */
    T_ASSERT_EQ_INT(call(api, promo_api_campaign, NULL, NULL,
                         "{\"product_id\": \"PROD00001\", \"target\": 150, \"budget\": 50, "
                         "\"holdout_pct\": 0}",
                         &r),
                    200);
    fc = cJSON_GetObjectItem(r.body, "forecast");
    T_ASSERT(num_at(fc, "discount_cost") + num_at(fc, "contact_cost") <= 50 + 1e-9);
    reply_free(&r);

    T_ASSERT_EQ_INT(call(api, promo_api_campaign, NULL, NULL, "{\"product_id\": \"NOPE\"}", &r),
                    404);
    T_ASSERT_STR_EQ(error_field(&r), "product_id");
    reply_free(&r);
    promo_api_free(api);
}

T_TEST(server_optimize_surface)
{
    promo_api *api = NULL;
    T_OK(promo_api_open(trained(), &api));
    promo_api_reply r;
    /* fatigue off: every customer a row (the default leaves the suppressed out, as promo
     * campaign --optimize: tests/test_api_optimize.c) */
    T_ASSERT_EQ_INT(call(api, promo_api_optimize, NULL, NULL,
                         "{\"product_id\": \"PROD00001\", \"discounts\": [0, 10, 25], "
                         "\"fatigue\": \"off\"}",
                         &r),
                    200);
    const cJSON *b = r.body;
    const cJSON *ds = cJSON_GetObjectItem(b, "discounts"), *ts = cJSON_GetObjectItem(b, "targets");
    T_ASSERT_EQ_INT(cJSON_GetArraySize(ds), 3);
    int nt = cJSON_GetArraySize(ts);
    T_ASSERT(nt >= 2 && nt <= 200);
    double prev = 0;
    for (const cJSON *t = ts->child; t; t = t->next) {
        T_ASSERT(t->valuedouble > prev);
        prev = t->valuedouble;
    }
    T_ASSERT_EQ_INT(prev, num_at(b, "n_customers")); /* ends at every customer */
    double best = num_at(cJSON_GetObjectItem(b, "optimum"), "incremental_profit");
    static const char *const mats[] = {"profit", "revenue", "conversions",
                                       "incremental_conversions", "roi"};
    for (size_t k = 0; k < 5; k++) {
        const cJSON *m = cJSON_GetObjectItem(b, mats[k]);
        T_ASSERT_EQ_INT(cJSON_GetArraySize(m), 3);
        for (const cJSON *row = m->child; row; row = row->next)
            T_ASSERT_EQ_INT(cJSON_GetArraySize(row), nt);
    }
    /* No cell beats the optimum among the discounts it was sought in (the log's range). */
    const cJSON *sup = cJSON_GetObjectItem(b, "support");
    T_ASSERT_EQ_INT(cJSON_GetArraySize(sup), 2);
    double lo = cJSON_GetArrayItem(sup, 0)->valuedouble,
           hi = cJSON_GetArrayItem(sup, 1)->valuedouble;
    int inside = 0;
    const cJSON *d = ds->child;
    for (const cJSON *row = cJSON_GetObjectItem(b, "profit")->child; row && d;
         row = row->next, d = d->next) {
        if (d->valuedouble < lo || d->valuedouble > hi)
            continue;
        inside++;
        for (const cJSON *c = row->child; c; c = c->next)
            T_ASSERT(c->valuedouble <= best + 1e-9);
    }
    T_ASSERT(inside >= 1);
    double od = num_at(cJSON_GetObjectItem(b, "optimum"), "discount_pct");
    T_ASSERT(od >= lo && od <= hi);
    reply_free(&r);
    promo_api_free(api);
}

T_TEST(server_simulate_similar_crosssell)
{
    promo_api *api = NULL;
    T_OK(promo_api_open(trained(), &api));
    promo_api_reply r;
    T_ASSERT_EQ_INT(call(api, promo_api_simulate, NULL, NULL,
                         "{\"product_id\": \"PROD00001\", \"discount_pct\": 10, \"target\": 30}",
                         &r),
                    200);
    T_ASSERT_EQ_INT(num_at(r.body, "contacts"), 30);
    num_at(r.body, "incremental_profit");
    num_at(r.body, "roi");
    const cJSON *ip =
        cJSON_GetObjectItem(cJSON_GetObjectItem(r.body, "interval"), "incremental_profit");
    T_ASSERT_EQ_INT(cJSON_GetArraySize(ip), 2);
    T_ASSERT(ip->child->valuedouble <= ip->child->next->valuedouble);
    reply_free(&r);
    T_ASSERT_EQ_INT(call(api, promo_api_simulate, NULL, NULL, "{\"product_id\": \"X1\"}", &r), 404);
    reply_free(&r);

    /* A product like an existing one: its neighbours, best first, and a suggested campaign. */
    T_ASSERT_EQ_INT(call(api, promo_api_products, NULL, NULL, NULL, &r), 200);
    const cJSON *p0 = cJSON_GetObjectItem(r.body, "products")->child;
    char body[700];
    snprintf(body, sizeof body, "{\"name\": \"%s\", \"category\": \"%s\", \"price\": %g, \"k\": 4}",
             cJSON_GetObjectItem(p0, "name")->valuestring,
             cJSON_GetObjectItem(p0, "category")->valuestring,
             cJSON_GetObjectItem(p0, "price")->valuedouble);
    reply_free(&r);
    T_ASSERT_EQ_INT(call(api, promo_api_similar_products, NULL, NULL, body, &r), 200);
    const cJSON *nb = cJSON_GetObjectItem(r.body, "neighbours");
    T_ASSERT(cJSON_GetArraySize(nb) >= 1 && cJSON_GetArraySize(nb) <= 4);
    double prev = 2;
    for (const cJSON *n = nb->child; n; n = n->next) {
        double s = num_at(n, "similarity");
        T_ASSERT(s <= prev && s >= 0);
        prev = s;
    }
    T_ASSERT(cJSON_IsArray(cJSON_GetObjectItem(r.body, "customers")));
    const cJSON *sc = cJSON_GetObjectItem(r.body, "suggested_campaign");
    T_ASSERT(cJSON_IsObject(sc));
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(sc, "product_id")->valuestring,
                    cJSON_GetObjectItem(nb->child, "product_id")->valuestring);
    num_at(cJSON_GetObjectItem(sc, "forecast"), "incremental_profit");
    reply_free(&r);

    /* Cross-sell of the best seller: rules predicting it, customers they fit. */
    T_ASSERT_EQ_INT(call(api, promo_api_crosssell, NULL, NULL,
                         "{\"product_id\": \"PROD00001\", \"target\": 10}", &r),
                    200);
    const cJSON *rules = cJSON_GetObjectItem(r.body, "rules");
    T_ASSERT(cJSON_IsArray(rules));
    for (const cJSON *ru = rules->child; ru; ru = ru->next) {
        T_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItem(ru, "antecedent")) >= 1);
        T_ASSERT_STR_EQ(cJSON_GetObjectItem(ru, "consequent")->valuestring, "PROD00001");
        T_ASSERT(num_at(ru, "lift") > 0);
    }
    const cJSON *cs = cJSON_GetObjectItem(r.body, "customers");
    T_ASSERT(cJSON_GetArraySize(cs) <= 10);
    for (const cJSON *c = cs->child; c; c = c->next)
        T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(c, "antecedent_product_id")));
    reply_free(&r);
    T_ASSERT_EQ_INT(call(api, promo_api_crosssell, NULL, NULL, "{\"product_id\": \"X1\"}", &r),
                    404);
    reply_free(&r);
    promo_api_free(api);
}

/* Without models: 409 naming the command that trains what is missing. */
T_TEST(server_missing_models_are_409)
{
    char ws[512];
    t_world_write(ws, sizeof ws, 120, 20, 3, 5, 3000);
    promo_api *api = NULL;
    T_OK(promo_api_open(ws, &api));
    promo_api_reply r;
    T_ASSERT_EQ_INT(call(api, promo_api_campaign, NULL, NULL,
                         "{\"product_id\": \"PROD00001\", \"rank_by\": \"profit\"}", &r),
                    409);
    T_ASSERT_CONTAINS(
        cJSON_GetObjectItem(cJSON_GetObjectItem(r.body, "error"), "message")->valuestring,
        "promo train");
    reply_free(&r);
    T_ASSERT_EQ_INT(
        call(api, promo_api_campaign, NULL, NULL, "{\"product_id\": \"PROD00001\"}", &r), 409);
    T_ASSERT_CONTAINS(r.body->child->child->next->next->valuestring, "promo train");
    reply_free(&r);
    T_ASSERT_EQ_INT(
        call(api, promo_api_optimize, NULL, NULL, "{\"product_id\": \"PROD00001\"}", &r), 409);
    reply_free(&r);
    /* The read routes work without any model. */
    T_ASSERT_EQ_INT(call(api, promo_api_customer, "CUST0000001", NULL, NULL, &r), 200);
    T_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r.body, "reasons")), 0);
    reply_free(&r);
    T_ASSERT_EQ_INT(call(api, promo_api_segments, NULL, NULL, NULL, &r), 200);
    T_ASSERT_STR_EQ(cJSON_GetObjectItem(r.body, "method")->valuestring, "tiers");
    reply_free(&r);
    promo_api_free(api);
}

/* `promo serve` prints where it listens and the page with the key, answers, and stops cleanly
 * on SIGTERM (exit 0: under ASan a leak would make it exit non-zero). */
T_TEST(server_cli_serves_and_stops_on_sigterm)
{
    const char *ws = trained(); /* before the fork: the child only execs */
    int out[2];
    T_ASSERT(pipe(out) == 0);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 2);
        unsetenv("PROMO_API_KEY");
        execl(t_promo_bin(), "promo", "serve", "--ws", ws, "--port", "0", "--web", "/nonexistent",
              (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char buf[2048];
    size_t n = 0;
    while (n < sizeof buf - 1 && !strstr(buf, "#key=")) {
        ssize_t r = read(out[0], buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = 0;
    }
    buf[n] = 0;
    unsigned port = 0;
    const char *at = strstr(buf, "listening on http://127.0.0.1:");
    T_ASSERT_MSG(at && sscanf(at, "listening on http://127.0.0.1:%u/", &port) == 1, "printed: %s",
                 buf);
    char want[64];
    snprintf(want, sizeof want, "open http://127.0.0.1:%u/#key=", port);
    T_ASSERT_CONTAINS(buf, want);
    char key[128] = "";
    sscanf(strstr(buf, "#key=") + 5, "%127s", key);
    T_ASSERT_EQ_INT(strlen(key), 32);
    t_http_reply r;
    T_ASSERT_EQ_INT(t_http(port, "GET", "/api/health", NULL, NULL, 0, &r), 200);
    t_http_reply_free(&r);
    char auth[200];
    snprintf(auth, sizeof auth, "Bearer %s", key);
    post(port, "/api/crosssell", auth, "{\"product_id\": 1}", &r);
    assert_error(&r, 400, "product_id"); /* past the key */
    t_http_reply_free(&r);
    kill(pid, SIGTERM);
    int st = 0;
    T_ASSERT(waitpid(pid, &st, 0) == pid);
    close(out[0]);
    T_ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "promo serve ended with status %d", st);
}

int fuzz_request_one(const uint8_t *data, size_t n);

/* The fuzz target's seed corpus (and whatever crashes were kept) replays clean. */
T_TEST(server_fuzz_request_corpus)
{
    T_ASSERT(t_replay_corpus("fuzz/corpus/request", fuzz_request_one) >= 20);
}
