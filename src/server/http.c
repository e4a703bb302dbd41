/* The HTTP layer of `promo serve` on libmicrohttpd: a daemon with its own polling thread and a
 * pool of connection threads (MHD_OPTION_THREAD_POOL_SIZE). It collects a request's body (up
 * to the limit: a Content-Length over it is answered 413 before the body is read), runs the
 * HTTP-free step of request.c, and sends the reply; it answers /metrics, the OpenAPI document
 * and the web page's static files itself, and keeps the metrics and the request log.
 *
 * Static files: the path is decoded by libmicrohttpd (so %2e%2e arrives as ..); a path with a
 * "." or ".." segment or a backslash is refused, and what remains is resolved with realpath and
 * served only when it lies under the web directory's own real path (a symlink that leads out
 * is refused). Only regular files are served. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <promo/error.h>

#include "server/routes.h"
#include "server/server.h"

/* Latency buckets of the histogram, seconds (Prometheus `le`). */
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,   0.25,   0.5,   1,    2.5,   5};
#define N_BUCKETS  (sizeof buckets / sizeof buckets[0])
#define N_STATUS   600
#define MAX_LABELS 32 /* routes + "static" + "unmatched" */

typedef struct route_metrics {
    uint64_t by_status[N_STATUS]; /* requests by status code */
    uint64_t le[N_BUCKETS + 1];   /* histogram: count per bucket (last: +Inf), not cumulative */
    double sum_s;                 /* total seconds */
    uint64_t count;
} route_metrics;

struct promo_server {
    struct MHD_Daemon *d;
    promo_api *api;
    char key[256];
    char web_root[PATH_MAX]; /* realpath of the web directory, "" when absent */
    int quiet;
    unsigned port;
    pthread_mutex_t mu; /* guards metrics */
    route_metrics metrics[MAX_LABELS];
};

/* One request's state across the access handler's calls. */
typedef struct req {
    struct timespec t0;
    char *body;
    size_t n, cap;
    int too_large;
} req;

promo_server_params promo_server_params_default(void)
{
    return (promo_server_params){.bind = "127.0.0.1", .port = 8080, .threads = 4};
}

/* ------------------------------------------------------------------ metrics ---- */

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static size_t label_of(int route)
{
    if (route >= 0)
        return (size_t)route;
    return route == PROMO_ROUTE_NOT_FOUND ? promo_n_routes : promo_n_routes + 1;
}

static const char *label_name(size_t k)
{
    if (k < promo_n_routes)
        return promo_routes[k].name;
    return k == promo_n_routes ? "static" : "unmatched";
}

static void record(promo_server *srv, int route, int status, double secs)
{
    size_t k = label_of(route);
    if (k >= MAX_LABELS)
        return;
    pthread_mutex_lock(&srv->mu);
    route_metrics *m = &srv->metrics[k];
    if (status > 0 && status < N_STATUS)
        m->by_status[status]++;
    size_t b = 0;
    while (b < N_BUCKETS && secs > buckets[b])
        b++;
    m->le[b]++;
    m->sum_s += secs;
    m->count++;
    pthread_mutex_unlock(&srv->mu);
}

char *promo_server_metrics(promo_server *srv)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    pthread_mutex_lock(&srv->mu);
    fprintf(f, "# HELP promo_http_requests_total HTTP requests by route and status.\n"
               "# TYPE promo_http_requests_total counter\n");
    size_t n_labels = promo_n_routes + 2;
    for (size_t k = 0; k < n_labels; k++)
        for (int s = 0; s < N_STATUS; s++)
            if (srv->metrics[k].by_status[s])
                fprintf(f, "promo_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                        label_name(k), s, (unsigned long long)srv->metrics[k].by_status[s]);
    fprintf(f, "# HELP promo_http_request_duration_seconds Time from a request's first byte to "
               "its reply, by route.\n"
               "# TYPE promo_http_request_duration_seconds histogram\n");
    for (size_t k = 0; k < n_labels; k++) {
        const route_metrics *m = &srv->metrics[k];
        if (!m->count)
            continue;
        uint64_t cum = 0;
        for (size_t b = 0; b < N_BUCKETS; b++) {
            cum += m->le[b];
            fprintf(f, "promo_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                    label_name(k), buckets[b], (unsigned long long)cum);
        }
        fprintf(f, "promo_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                label_name(k), (unsigned long long)m->count);
        fprintf(f, "promo_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", label_name(k),
                m->sum_s);
        fprintf(f, "promo_http_request_duration_seconds_count{route=\"%s\"} %llu\n", label_name(k),
                (unsigned long long)m->count);
    }
    fprintf(f,
            "# HELP promo_workspace_reloads_total Times the handles were reloaded because the "
            "workspace changed.\n# TYPE promo_workspace_reloads_total counter\n"
            "promo_workspace_reloads_total %llu\n",
            (unsigned long long)srv->api->n_reloads);
    pthread_mutex_unlock(&srv->mu);
    fclose(f);
    return buf;
}

/* ------------------------------------------------------------------ replies ---- */

static enum MHD_Result
send_buf(struct MHD_Connection *c, int status, const char *type, char *data, size_t n, int owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        n, data, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_json(struct MHD_Connection *c, promo_api_reply *rep, const char *allow)
{
    size_t n = 0;
    char *text = rep->body ? promo_json_print(rep->body, &n) : NULL;
    if (!text)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (rep->status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (rep->status == 405 && allow && *allow)
        MHD_add_response_header(r, "Allow", allow);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)rep->status, r);
    MHD_destroy_response(r);
    return ok;
}

/* ------------------------------------------------------------- static files ---- */

static const char *content_type(const char *path)
{
    static const char *const map[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(dot, map[i][0]))
            return map[i][1];
    return "application/octet-stream";
}

static const char no_web_page[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>promo</title></head><body>"
    "<h1>promo serve</h1><p>The JSON API is up (<a href=\"/api/health\">/api/health</a>, "
    "<a href=\"/api/openapi.json\">/api/openapi.json</a>), but the web page is not built: run "
    "<code>make web</code>, or start <code>promo serve --web DIR</code> with the page's "
    "directory.</p></body></html>\n";

/* 1 when the decoded path has a "." or ".." segment, a backslash or is not absolute. */
static int bad_path(const char *p)
{
    if (p[0] != '/' || strchr(p, '\\'))
        return 1;
    for (const char *s = p; *s;) {
        while (*s == '/')
            s++;
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
            return 1;
        s += len;
    }
    return 0;
}

/* Serve a file of the web page; *status gets what was sent. */
static enum MHD_Result
serve_static(promo_server *srv, struct MHD_Connection *c, const char *path, int *status)
{
    promo_api_reply rep = {0, NULL};
    enum MHD_Result ok;
    if (bad_path(path) || strlen(path) > 1024) {
        promo_api_fail(&rep, 400, NULL, "bad path");
        goto json;
    }
    if (!srv->web_root[0]) {
        if (!strcmp(path, "/") || !strcmp(path, "/index.html")) {
            *status = 200;
            return send_buf(c, 200, "text/html; charset=utf-8", (char *)no_web_page,
                            sizeof no_web_page - 1, 0);
        }
        promo_api_fail(&rep, 404, NULL, "no such file (the web page is not built: make web)");
        goto json;
    }
    char want[PATH_MAX + 1100], real[PATH_MAX];
    snprintf(want, sizeof want, "%s%s", srv->web_root, strcmp(path, "/") ? path : "/index.html");
    size_t nroot = strlen(srv->web_root);
    struct stat st;
    int fd = -1;
    if (!realpath(want, real) || strncmp(real, srv->web_root, nroot) != 0 || real[nroot] != '/' ||
        (fd = open(real, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 ||
        !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        promo_api_fail(&rep, 404, NULL, "no such file");
        goto json;
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", content_type(real));
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    *status = 200;
    ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
json:
    *status = rep.status;
    ok = send_json(c, &rep, NULL);
    cJSON_Delete(rep.body);
    return ok;
}

/* ------------------------------------------------------------------ requests ---- */

static const char *query_arg(const promo_api_call *call, const char *key)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)call->http, MHD_GET_ARGUMENT_KIND,
                                       key);
}

static enum MHD_Result
add_arg_len(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    *(size_t *)cls += 2 + strlen(key) + (value ? strlen(value) : 0);
    return MHD_YES;
}

static enum MHD_Result
finish(promo_server *srv, struct MHD_Connection *c, const char *url, const char *method, req *r)
{
    /* The URL's length: the path here is decoded, so the query's arguments are added from the
     * connection's values (decoded too: a close lower bound, enough for the limit). */
    size_t url_len = strlen(url);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg_len, &url_len);
    promo_request rq = {
        .method = method,
        .path = url,
        .url_len = url_len,
        .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
        .body = r->body,
        .n_body = r->n,
        .body_too_large = r->too_large,
        .query = query_arg,
        .http = c,
    };
    promo_api_reply rep = {0, NULL};
    int route = PROMO_ROUTE_NOT_FOUND, status = 500;
    enum MHD_Result ok;
    if (promo_request_handle(srv->api, srv->key, &rq, &rep, &route)) {
        cJSON_Delete(rep.body);
        return MHD_NO;
    }
    if (rep.body) {
        char allow[16] = "";
        if (rep.status == 405) {
            char p[512];
            if (promo_route_find(method, url, p, sizeof p, allow) != PROMO_ROUTE_BAD_METHOD)
                snprintf(allow, sizeof allow, "GET, HEAD");
        }
        status = rep.status;
        ok = send_json(c, &rep, allow);
        cJSON_Delete(rep.body);
    } else if (route >= 0 && promo_routes[route].kind == PROMO_ROUTE_METRICS) {
        char *text = promo_server_metrics(srv);
        status = 200;
        ok = text ? send_buf(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text),
                             1)
                  : MHD_NO;
    } else if (route >= 0 && promo_routes[route].kind == PROMO_ROUTE_OPENAPI) {
        size_t n = 0;
        const char *doc = promo_openapi_json(&n);
        status = 200;
        ok = send_buf(c, 200, "application/json", (char *)doc, n, 0);
    } else {
        ok = serve_static(srv, c, url, &status);
    }
    double secs = since(&r->t0);
    record(srv, route, status, secs);
    if (!srv->quiet) {
        /* The decoded path may hold any byte (%0a included): control bytes are logged as '?'
         * so a request cannot forge log lines; long paths are cut. */
        char shown[256];
        size_t k = 0;
        for (const char *p = url; *p && k < sizeof shown - 4; p++)
            shown[k++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
        if (url[k] && k >= sizeof shown - 4) {
            memcpy(shown + k, "...", 3);
            k += 3;
        }
        shown[k] = 0;
        fprintf(stderr, "%s %s %d %.1fms\n", method, shown, status, 1e3 * secs);
    }
    return ok;
}

static enum MHD_Result on_request(void *cls,
                                  struct MHD_Connection *c,
                                  const char *url,
                                  const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_size,
                                  void **con_cls)
{
    (void)version;
    promo_server *srv = cls;
    req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &r->t0);
        *con_cls = r;
        /* A declared body over the limit is refused before a byte of it is read. */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > PROMO_SERVER_MAX_BODY) {
            r->too_large = 1;
            return finish(srv, c, url, method, r);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->too_large) {
            if (r->n + *upload_size > PROMO_SERVER_MAX_BODY) {
                r->too_large = 1; /* the rest is read and dropped; 413 at the end */
                free(r->body);
                r->body = NULL;
                r->n = r->cap = 0;
            } else {
                if (r->n + *upload_size > r->cap) {
                    size_t cap = r->cap ? r->cap : 4096;
                    while (cap < r->n + *upload_size)
                        cap *= 2;
                    char *nb = realloc(r->body, cap);
                    if (!nb)
                        return MHD_NO;
                    r->body = nb;
                    r->cap = cap;
                }
                memcpy(r->body + r->n, upload_data, *upload_size);
                r->n += *upload_size;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return finish(srv, c, url, method, r);
}

static void on_completed(void *cls,
                         struct MHD_Connection *c,
                         void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    req *r = *con_cls;
    if (r) {
        free(r->body);
        free(r);
    }
    *con_cls = NULL;
}

/* ------------------------------------------------------------------ daemon ---- */

int promo_server_start(promo_api *api, const promo_server_params *p, promo_server **out)
{
    *out = NULL;
    if (!api || !p || !p->api_key || !p->api_key[0] || strlen(p->api_key) >= 256)
        return promo_fail(PROMO_EUSAGE, "serve: an API key (1 to 255 bytes) is required");
    const char *bind = p->bind ? p->bind : "127.0.0.1";
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    int v6 = 0;
    if (p->port > 65535)
        return promo_fail(PROMO_EUSAGE, "--port %u: expected 0 to 65535", p->port);
    if (inet_pton(AF_INET, bind, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)p->port);
    } else if (inet_pton(AF_INET6, bind, &a6.sin6_addr) == 1) {
        v6 = 1;
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)p->port);
    } else {
        return promo_fail(PROMO_EUSAGE, "--bind %s: expected an IPv4 or IPv6 address", bind);
    }
    promo_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return PROMO_ENOMEM;
    srv->api = api;
    srv->quiet = p->quiet;
    snprintf(srv->key, sizeof srv->key, "%s", p->api_key);
    if (p->web_dir && !realpath(p->web_dir, srv->web_root))
        srv->web_root[0] = 0;
    pthread_mutex_init(&srv->mu, NULL);
    unsigned threads = p->threads ? p->threads : 4;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | (v6 ? MHD_USE_IPv6 : 0);
    srv->d = MHD_start_daemon(
        flags, (uint16_t)p->port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR,
        v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_END);
    if (!srv->d) {
        pthread_mutex_destroy(&srv->mu);
        free(srv);
        return promo_fail(PROMO_EIO,
                          "serve: cannot listen on %s port %u (in use, or not an "
                          "address of this machine)",
                          bind, p->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : p->port;
    *out = srv;
    return PROMO_OK;
}

unsigned promo_server_port(const promo_server *srv)
{
    return srv->port;
}

void promo_server_stop(promo_server *srv)
{
    if (!srv)
        return;
    MHD_stop_daemon(srv->d);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}
