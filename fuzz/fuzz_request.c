/* fuzz/fuzz_request.c: libFuzzer target for the API server's request step (server.h:
 * promo_request_handle without a workspace: URL limit, route match, API key, body size, JSON
 * depth, the parse, and each POST route's field checks), built by `make fuzz`; linked into the
 * test binary without PROMO_FUZZ, where tests/test_server.c replays fuzz/corpus/request.
 *
 * Why without a workspace: the handlers behind the checks load a world's panel and models
 * (tens of milliseconds an input even on the smallest world), which would leave the fuzzer a
 * few hundred inputs a minute; everything a request can put in front of them is checked here.
 *
 * Input: line 1 "METHOD TARGET" (TARGET = path[?query]), line 2 the Authorization header's
 * value (empty = none), the rest the body. Invariants: the reply is a JSON error object whose
 * status is the reply's (or the check-only 200), a 2xx only for a route's method with the
 * right key, and the whole thing is free of leaks and sanitizer reports. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/routes.h"
#include "server/server.h"

int fuzz_request_one(const uint8_t *data, size_t n);

#define FUZZ_KEY "fuzz-key-0123456789abcdef"

/* The next line of data[*at..n) into a new NUL-terminated string (without the newline). */
static char *take_line(const uint8_t *data, size_t n, size_t *at)
{
    size_t b = *at, e = b;
    while (e < n && data[e] != '\n')
        e++;
    char *s = malloc(e - b + 1);
    if (!s)
        abort();
    memcpy(s, data + b, e - b);
    s[e - b] = 0;
    *at = e < n ? e + 1 : e;
    return s;
}

static const char *no_query(const promo_api_call *call, const char *key)
{
    (void)call;
    (void)key;
    return NULL;
}

int fuzz_request_one(const uint8_t *data, size_t n)
{
    if (n > (2u << 20))
        return 0;
    size_t at = 0;
    char *line = take_line(data, n, &at), *auth = take_line(data, n, &at);
    char *sp = strchr(line, ' ');
    const char *method = line, *target = sp ? sp + 1 : "/";
    if (sp)
        *sp = 0;
    size_t url_len = strlen(target);
    char *path = strdup(target);
    char *q = strchr(path, '?');
    if (q)
        *q = 0;
    promo_request rq = {
        .method = method,
        .path = path,
        .url_len = url_len,
        .authorization = auth[0] ? auth : NULL,
        .body = (const char *)data + at,
        .n_body = n - at,
        .body_too_large = n - at > PROMO_SERVER_MAX_BODY,
        .query = no_query,
        .http = NULL,
    };
    promo_api_reply rep = {0, NULL};
    int route = 0;
    if (promo_request_handle(NULL, FUZZ_KEY, &rq, &rep, &route) != 0)
        abort();
    if (rep.body) {
        const cJSON *e = cJSON_GetObjectItem(rep.body, "error");
        const cJSON *st = cJSON_GetObjectItem(e, "status");
        if (!cJSON_IsNumber(st) || (int)st->valuedouble != rep.status)
            abort();
        if (rep.status < 200 || rep.status > 599)
            abort();
        if (rep.status == 200) {
            /* Accepted: a real route with its own method, and the key for a POST. */
            if (route < 0 || strcmp(promo_routes[route].method, method) != 0)
                abort();
            if (promo_routes[route].auth &&
                !promo_key_equal(FUZZ_KEY, auth + (strncmp(auth, "Bearer ", 7) ? 0 : 7)))
                abort();
        }
    } else if (rep.status != 0) {
        abort();
    }
    cJSON_Delete(rep.body);
    free(path);
    free(auth);
    free(line);
    return 0;
}

#ifdef PROMO_FUZZ
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_request_one(data, size);
}
#endif
