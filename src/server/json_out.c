/* The replies' JSON text: cJSON's own printer spends most of a campaign reply's time on its
 * numbers (each one "%1.15g", read back with sscanf, and "%1.17g" again when that did not
 * round-trip: ~40% of the server's CPU under load, perf). This printer writes a number with
 * at most 12 significant digits by integer arithmetic (a relative error below 5e-12, far
 * under what any figure of the API means), an integral value below 1e15 as an integer, and
 * everything else as cJSON would. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

typedef struct buf {
    char *p;
    size_t n, cap;
    int oom;
} buf;

static int grow(buf *b, size_t more)
{
    if (b->oom)
        return -1;
    if (b->n + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 16384; /* a campaign of 50 rows: ~14 KB */
    while (cap < b->n + more + 1)
        cap *= 2;
    char *np = realloc(b->p, cap); /* MHD frees the reply with free() */
    if (!np) {
        b->oom = 1;
        return -1;
    }
    b->p = np;
    b->cap = cap;
    return 0;
}

static void put(buf *b, const char *s, size_t n)
{
    if (grow(b, n))
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void putc1(buf *b, char c)
{
    if (grow(b, 1))
        return;
    b->p[b->n++] = c;
}

/* Decimal digits of m (> 0) into s, most significant first; returns the count. */
static int digits_of(unsigned long long m, char *s)
{
    char t[24];
    int k = 0;
    do {
        t[k++] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    for (int i = 0; i < k; i++)
        s[i] = t[k - 1 - i];
    return k;
}

int promo_json_number(double d, char *out, size_t n)
{
    if (n < 32)
        return -1;
    if (!isfinite(d))
        return snprintf(out, n, "null");
    char *o = out;
    double a = fabs(d);
    if (a < 1e15 && d == (double)(long long)d) {
        if (d < 0)
            *o++ = '-';
        o += digits_of((unsigned long long)a, o);
        *o = 0;
        return (int)(o - out);
    }
    /* 12 significant digits: m = round(a 10^p) with 1e11 <= m < 1e12, p = 11 - e. */
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                   1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
    int e = (int)floor(log10(a));
    int p = 11 - e;
    if (e < -7 || e > 14 || p < 0 || p > 18)
        return snprintf(out, n, "%.12g", d); /* rare magnitudes: the C library */
    double m = nearbyint(a * pow10[p]);
    if (m >= 1e12 && p > 0) { /* log10 rounded up across a power of ten */
        p--;
        m = nearbyint(a * pow10[p]);
    }
    char dg[24];
    int len = digits_of((unsigned long long)m, dg);
    if (d < 0)
        *o++ = '-';
    if (len > p) { /* an integer part */
        memcpy(o, dg, (size_t)(len - p));
        o += len - p;
        if (p > 0) {
            *o++ = '.';
            memcpy(o, dg + len - p, (size_t)p);
            o += p;
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int z = 0; z < p - len; z++)
            *o++ = '0';
        memcpy(o, dg, (size_t)len);
        o += len;
    }
    /* trailing zeros of the fraction, then a bare point */
    if (memchr(out, '.', (size_t)(o - out))) {
        while (o[-1] == '0')
            o--;
        if (o[-1] == '.')
            o--;
    }
    *o = 0;
    return (int)(o - out);
}

static void put_string(buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    putc1(b, '"');
    const char *run = s;
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue; /* UTF-8 passes as it is, as cJSON writes it */
        put(b, run, (size_t)(s - run));
        run = s + 1;
        char esc[6] = {'\\', 0};
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            put(b, esc, 2);
            break;
        case '\b':
            put(b, "\\b", 2);
            break;
        case '\f':
            put(b, "\\f", 2);
            break;
        case '\n':
            put(b, "\\n", 2);
            break;
        case '\r':
            put(b, "\\r", 2);
            break;
        case '\t':
            put(b, "\\t", 2);
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            put(b, esc, 6);
        }
    }
    if (s)
        put(b, run, (size_t)(s - run));
    putc1(b, '"');
}

static void put_item(buf *b, const cJSON *it, int depth)
{
    char num[64];
    if (depth > 64) { /* the replies nest a few levels: a loop would be a bug */
        b->oom = 1;
        return;
    }
    switch (it->type & 0xff) {
    case cJSON_False:
        put(b, "false", 5);
        break;
    case cJSON_True:
        put(b, "true", 4);
        break;
    case cJSON_NULL:
        put(b, "null", 4);
        break;
    case cJSON_Number: {
        int k = promo_json_number(it->valuedouble, num, sizeof num);
        if (k > 0)
            put(b, num, (size_t)k);
        else
            b->oom = 1;
        break;
    }
    case cJSON_String:
        put_string(b, it->valuestring);
        break;
    case cJSON_Raw:
        if (it->valuestring)
            put(b, it->valuestring, strlen(it->valuestring));
        break;
    case cJSON_Array:
    case cJSON_Object: {
        int obj = (it->type & 0xff) == cJSON_Object;
        putc1(b, obj ? '{' : '[');
        for (const cJSON *c = it->child; c; c = c->next) {
            if (c != it->child)
                putc1(b, ',');
            if (obj) {
                put_string(b, c->string ? c->string : "");
                putc1(b, ':');
            }
            put_item(b, c, depth + 1);
        }
        putc1(b, obj ? '}' : ']');
        break;
    }
    default:
        b->oom = 1; /* cJSON_Invalid */
    }
}

char *promo_json_print(const cJSON *item, size_t *len)
{
    buf b = {0};
    if (item)
        put_item(&b, item, 0);
    if (!item || b.oom || grow(&b, 0)) {
        free(b.p);
        return NULL;
    }
    b.p[b.n] = 0;
    if (len)
        *len = b.n;
    return b.p;
}
