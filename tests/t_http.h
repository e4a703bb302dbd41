/* tests/t_http.h: a tiny HTTP/1.1 client on loopback for the server tests: one request per
 * connection (Connection: close), the reply read to the end. */
#ifndef T_HTTP_H
#define T_HTTP_H

#include <stddef.h>

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

#endif
