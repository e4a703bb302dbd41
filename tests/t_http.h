/* tests/t_http.h: a tiny HTTP/1.1 client on loopback for the server tests: one request per
 * connection (Connection: close), the reply read to the end; and API handlers called
 * in-process. */
#ifndef T_HTTP_H
#define T_HTTP_H

#include <stddef.h>

#include "server/api.h"

typedef struct t_http_reply {
    int status;    /* status code, 0 when no reply could be read */
    char *headers; /* the header block, NUL-terminated (malloc'd) */
    char *body;    /* the body, NUL-terminated (malloc'd; NULs inside are kept) */
    size_t n_body; /* its length */
} t_http_reply;

/* Send `method target` to 127.0.0.1:port with the extra header lines (each ending "\r\n",
 * may be NULL) and the body (NULL = none; a Content-Length is sent when body is given, unless
 * headers carry "Transfer-Encoding", in which case the body is sent as it is). Returns the
 * status. */
int t_http(unsigned port,
           const char *method,
           const char *target,
           const char *headers,
           const char *body,
           size_t n_body,
           t_http_reply *out);
/* A header's value in the reply (a static buffer), or NULL. */
const char *t_http_header(const t_http_reply *r, const char *name);
void t_http_reply_free(t_http_reply *r);

/* Run API handler h in-process, between promo_api_begin and promo_api_end as the server does,
 * with the path parameter, the query lookup and its connection, and the JSON body text (each
 * NULL = none). Fails the test when the body does not parse, the handler fails or leaves no
 * reply. Returns the status; out->body is the caller's (cJSON_Delete). */
int t_api_call(promo_api *api,
               promo_api_handler h,
               const char *param,
               const char *(*query)(const promo_api_call *call, const char *key),
               void *http,
               const char *body,
               promo_api_reply *out);

#endif
