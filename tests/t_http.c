/* A tiny loopback HTTP client for the server tests (t_http.h). */
#include "t_http.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <promo/error.h>

#include "t.h"

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int t_http(unsigned port,
           const char *method,
           const char *target,
           const char *headers,
           const char *body,
           size_t n_body,
           t_http_reply *out)
{
    memset(out, 0, sizeof *out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return 0;
    }
    size_t hn = strlen(method) + strlen(target) + (headers ? strlen(headers) : 0) + 128;
    char *head = malloc(hn);
    int chunked = headers && strstr(headers, "Transfer-Encoding");
    if (body && !chunked)
        snprintf(head, hn,
                 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s"
                 "Content-Length: %zu\r\n\r\n",
                 method, target, headers ? headers : "", n_body);
    else
        snprintf(head, hn, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n",
                 method, target, headers ? headers : "");
    /* A server may answer (413) and close before the whole body is sent: a failed send is
     * not an error here, the reply is what counts. */
    if (send_all(fd, head, strlen(head)) == 0 && body)
        send_all(fd, body, n_body);
    free(head);
    shutdown(fd, SHUT_WR);
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) {
        free(buf);
        out->status = 0;
        return 0;
    }
    size_t hl = (size_t)(sep - buf);
    out->headers = malloc(hl + 1);
    memcpy(out->headers, buf, hl);
    out->headers[hl] = 0;
    out->n_body = n - hl - 4;
    out->body = malloc(out->n_body + 1);
    memcpy(out->body, sep + 4, out->n_body);
    out->body[out->n_body] = 0;
    free(buf);
    return out->status;
}

const char *t_http_header(const t_http_reply *r, const char *name)
{
    static _Thread_local char val[512];
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *e = strstr(p, "\r\n");
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - p);
            if (vl >= sizeof val)
                vl = sizeof val - 1;
            memcpy(val, v, vl);
            val[vl] = 0;
            return val;
        }
        p += len + (e ? 2 : 0);
    }
    return NULL;
}

void t_http_reply_free(t_http_reply *r)
{
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

int t_api_call(promo_api *api,
               promo_api_handler h,
               const char *param,
               const char *(*query)(const promo_api_call *call, const char *key),
               void *http,
               const char *body,
               promo_api_reply *out)
{
    cJSON *b = body ? cJSON_Parse(body) : NULL;
    if (body)
        T_ASSERT(b != NULL);
    promo_api_ctx ctx;
    promo_api_call c = {param, b, query, http, &ctx};
    out->status = 200;
    out->body = NULL;
    T_OK(promo_api_begin(api, &ctx));
    int rc = h(api, &c, out);
    promo_api_end(api, &ctx);
    cJSON_Delete(b);
    T_ASSERT_MSG(rc == 0, "handler failed: %s", promo_last_error());
    T_ASSERT(out->body != NULL);
    return out->status;
}
