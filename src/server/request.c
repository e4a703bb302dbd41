/* One request, HTTP-free (server.h): limits, route, key, body, handler. */
#include <stdio.h>
#include <string.h>

#include <promo/error.h>

#include "server/routes.h"
#include "server/server.h"

int promo_json_depth_ok(const char *s, size_t n, int max_depth)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++; /* the escaped character, whatever it is */
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return 0;
        } else if ((c == ']' || c == '}') && depth > 0)
            depth--;
    }
    return 1;
}

int promo_key_equal(const char *expected, const char *got)
{
    size_t n = strlen(expected), m = got ? strlen(got) : 0;
    /* Every byte of the expected key is compared, whatever got is: the time says nothing about
     * how much of got was right. */
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++) {
        unsigned char g = i < m ? (unsigned char)got[i] : 0;
        diff |= (unsigned char)(g ^ (unsigned char)expected[i]);
    }
    return n > 0 && diff == 0;
}

/* The key of an "Authorization: Bearer KEY" header, or NULL. */
static const char *bearer(const char *h)
{
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return h;
}

int promo_request_handle(
    promo_api *api, const char *api_key, const promo_request *rq, promo_api_reply *out, int *route)
{
    out->status = 0;
    out->body = NULL;
    *route = PROMO_ROUTE_NOT_FOUND;
    if (rq->url_len > PROMO_SERVER_MAX_URL)
        return promo_api_fail(out, 414, NULL, "the URL is longer than %d bytes",
                              PROMO_SERVER_MAX_URL);
    char param[512], allow[16];
    int r = promo_route_find(rq->method, rq->path, param, sizeof param, allow);
    *route = r;
    int is_api = !strncmp(rq->path, "/api/", 5) || !strcmp(rq->path, "/api");
    if (r == PROMO_ROUTE_BAD_METHOD)
        return promo_api_fail(out, 405, NULL, "%s is not allowed here; allowed: %s", rq->method,
                              allow);
    if (r == PROMO_ROUTE_NOT_FOUND) {
        if (is_api)
            return promo_api_fail(out, 404, NULL, "no route %s %s", rq->method, rq->path);
        if (strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD"))
            return promo_api_fail(out, 405, NULL, "%s is not allowed here; allowed: GET",
                                  rq->method);
        return 0; /* a static file: the HTTP layer's */
    }
    const promo_route *rt = &promo_routes[r];
    if (rt->kind != PROMO_ROUTE_API)
        return 0;
    if (rt->auth && !promo_key_equal(api_key ? api_key : "", bearer(rq->authorization)))
        return promo_api_fail(out, 401, NULL,
                              "this route needs the header Authorization: Bearer "
                              "KEY (the key promo serve printed, or "
                              "$PROMO_API_KEY)");
    cJSON *body = NULL;
    if (!strcmp(rt->method, "POST")) {
        if (rq->body_too_large)
            return promo_api_fail(out, 413, NULL, "the request body is larger than %u bytes",
                                  PROMO_SERVER_MAX_BODY);
        if (!rq->body || rq->n_body == 0)
            return promo_api_fail(out, 400, NULL, "the request body must be a JSON object");
        if (!promo_json_depth_ok(rq->body, rq->n_body, PROMO_SERVER_MAX_DEPTH))
            return promo_api_fail(out, 400, NULL, "the JSON nests deeper than %d levels",
                                  PROMO_SERVER_MAX_DEPTH);
        const char *end = NULL;
        body = cJSON_ParseWithLengthOpts(rq->body, rq->n_body, &end, 0);
        size_t at = end && end >= rq->body ? (size_t)(end - rq->body) : 0;
        /* Only white space may follow the value (the body is not NUL-terminated, so cJSON's
         * own check for that cannot be used). */
        while (body && at < rq->n_body && strchr(" \t\r\n", rq->body[at]) && rq->body[at])
            at++;
        if (body && at < rq->n_body) {
            cJSON_Delete(body);
            return promo_api_fail(out, 400, NULL,
                                  "malformed JSON: text after the value at byte "
                                  "%zu",
                                  at);
        }
        if (!body)
            return promo_api_fail(out, 400, NULL, "malformed JSON at byte %zu", at);
        if (!cJSON_IsObject(body)) {
            cJSON_Delete(body);
            return promo_api_fail(out, 400, NULL, "the request body must be a JSON object");
        }
    }
    int rc = 0;
    if (!api) {
        /* Check only (the fuzz target): the route's body checks, no engine. */
        if (body && !promo_api_check_body(rt->path, body, out))
            promo_api_fail(out, 200, NULL, "checked");
        else if (!body)
            promo_api_fail(out, 200, NULL, "checked");
        cJSON_Delete(body);
        return 0;
    }
    promo_api_ctx ctx;
    promo_api_call call = {
        .path_param = strchr(rt->path, '{') ? param : NULL,
        .body = body,
        .query = rq->query,
        .http = rq->http,
        .ctx = &ctx,
    };
    /* No lock here: begin takes the API's read lock, the handlers the engine's own (api.h). */
    rc = promo_api_begin(api, &ctx);
    if (rc) {
        promo_api_fail(out, 503, NULL, "the workspace cannot be opened: %s", promo_last_error());
        rc = 0;
    } else {
        out->status = 200;
        rc = rt->handler(api, &call, out);
        if (rc && ctx.busy && rc == PROMO_EIO) {
            promo_api_fail(out, 503, NULL, "%s", promo_last_error());
            rc = 0;
        } else if (rc) {
            promo_api_fail(out, 500, NULL, "internal error: %s", promo_last_error());
            rc = 0;
        } else if (!out->body) {
            promo_api_fail(out, 500, NULL, "internal error: the handler gave no reply");
        }
        promo_api_end(api, &ctx);
    }
    cJSON_Delete(body);
    return out->body ? rc : PROMO_ENOMEM;
}
