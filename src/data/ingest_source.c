/* One source file onto one table: the options a user has for data that is not laid out as
 * promo's canonical CSV (ingest_internal.h, ingest_src). Every profile but online-retail and
 * groceries reads its files through here with a preset, so what a profile does can always be
 * written as one `--format canonical` command.
 *
 * Order of work for a file:
 *   1. its bytes: the file itself (mmap, via the CSV reader), or for whitespace-separated
 *      input a copy with every run of blanks turned into one TAB (line breaks kept, so lines
 *      and field numbers in messages are the file's own);
 *   2. its header (or --columns), and every problem with the plan reported at once: missing
 *      required columns with the --map / --amount / --set that would fix each;
 *   3. the timestamp reading, decided per file, never per row: epoch seconds or
 *      milliseconds, YYYYMMDD, ISO, or slashed dates read day-first or month-first as the
 *      whole column allows (a column where no value decides is refused: 03/04/2011 is not
 *      guessed);
 *   4. the typed read (promo_csv_read), then renames, --amount, --set, --recode, checks of
 *      events.kind, and the warning naming the source columns that were not stored.
 * Columns not in the canonical schema are not stored: models read only canonical columns, so a
 * stored extra column would look used while nothing reads it. The warning says so and how to
 * keep one (map it onto a canonical column) or silence it (--ignore). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/schema.h>
#include <promo/timeutil.h>

#include "data/ingest_internal.h"

#define MAX_FIELD_BYTES ((size_t)1 << 20)
#define SNIFF_ROWS      200

/* The canonical event kinds (DESIGN.md). */
static const char *const event_kinds[] = {"view", "cart", "favorite", "purchase"};

enum ts_kind { TS_AUTO, TS_ISO, TS_YMD, TS_EPOCH, TS_EPOCH_MS, TS_DMY, TS_MDY };

static int parse_ts_format(const char *s, enum ts_kind *out)
{
    static const char *const names[] = {"auto", "iso", "ymd", "epoch", "epoch-ms", "dmy", "mdy"};
    if (!s) {
        *out = TS_AUTO;
        return PROMO_OK;
    }
    for (int i = 0; i < 7; i++)
        if (!strcmp(s, names[i])) {
            *out = (enum ts_kind)i;
            return PROMO_OK;
        }
    return promo_fail(PROMO_EUSAGE,
                      "--ts-format: expected auto, iso, ymd (YYYYMMDD), epoch (seconds), "
                      "epoch-ms, dmy or mdy, got '%s'",
                      s);
}

static int parse_sep(const char *s, char *delim, int *blanks)
{
    *delim = 0;
    *blanks = 0;
    if (!s)
        return PROMO_OK;
    if (!strcmp(s, "space") || !strcmp(s, "whitespace") || !strcmp(s, " ")) {
        *blanks = 1;
        *delim = '\t';
    } else if (!strcmp(s, "tab") || !strcmp(s, "\\t") || !strcmp(s, "\t")) {
        *delim = '\t';
    } else if (strlen(s) == 1 && *s != '"' && *s != '\n' && *s != '\r' &&
               (unsigned char)*s < 0x80) {
        *delim = *s;
    } else {
        return promo_fail(PROMO_EUSAGE,
                          "--sep: expected one character (, ; |), tab, or space (runs of blanks "
                          "and tabs), got '%s'",
                          s);
    }
    return PROMO_OK;
}

/* "a,b,c" -> array of copies (one allocation each), *n entries. */
static int split_list(const char *s, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!s || !*s)
        return PROMO_OK;
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    char **v = promo_calloc(cap, sizeof *v);
    if (!v)
        return PROMO_ENOMEM;
    size_t k = 0;
    for (const char *p = s;;) {
        size_t len = strcspn(p, ",");
        const char *a = p, *b = p + len;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        if (!(v[k++] = promo_strndup(a, (size_t)(b - a)))) {
            for (size_t i = 0; i < k; i++)
                promo_free(v[i]);
            promo_free(v);
            return PROMO_ENOMEM;
        }
        if (!p[len])
            break;
        p += len + 1;
    }
    *out = v;
    *n = k;
    return PROMO_OK;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        promo_free(v[i]);
    promo_free(v);
}

static int in_list(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return 1;
    return 0;
}

static const char *pair_get(const map_pair *m, size_t n, const char *our)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].our, our))
            return m[i].their;
    return NULL;
}

char *ingest_base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    return promo_strndup(b, dot && dot != b ? (size_t)(dot - b) : strlen(b));
}

/* Whitespace-separated text -> TAB-separated: leading and trailing blanks of a line dropped,
 * every inner run of blanks one TAB. Line breaks are kept, so line numbers do not move. */
static char *normalise_blanks(const char *p, size_t n, size_t *out_n)
{
    char *o = promo_malloc(n + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    int at_start = 1, gap = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == ' ' || c == '\t' || (c == '\r' && (i + 1 == n || p[i + 1] == '\n'))) {
            gap = !at_start;
            continue;
        }
        if (c == '\n') {
            o[k++] = '\n';
            at_start = 1;
            gap = 0;
            continue;
        }
        if (gap)
            o[k++] = '\t';
        gap = 0;
        at_start = 0;
        o[k++] = c;
    }
    *out_n = k;
    return o;
}

/* ---- the plan ---- */

/* A source column that looks like canonical column `our`: the same name in another case or
 * spelling, or a name retailers commonly use for it. */
static const char *looks_like(const char *our, char *const *hdr, size_t n_hdr)
{
    static const char *const syn[][8] = {
        {"order_id", "basket_id", "invoice", "invoiceno", "order", "transaction_id", "basket",
         "receipt"},
        {"customer_id", "household_key", "household_id", "user_id", "customerid", "customer",
         "client", "user"},
        {"product_id", "item_id", "stockcode", "sku", "item", "product", "upc", "article"},
        {"ts", "timestamp", "date", "invoicedate", "transaction_timestamp", "time", "when", "day"},
        {"quantity", "qty", "units", "number_of_cds", "count", NULL},
        {"unit_price", "price", "unitprice", "unit_cost", NULL},
        {"store_id", "store", "shop_id", "shop", NULL},
        {"promotion_id", "campaign_id", "campaign", "coupon_id", NULL},
        {"kind", "behavior", "behavior_type", "event", "event_type", "action", "type", NULL},
        {"converted", "redeemed", "conversion", "response", NULL},
    };
    for (size_t i = 0; i < n_hdr; i++)
        if (!strcasecmp(hdr[i], our))
            return hdr[i];
    for (size_t s = 0; s < sizeof syn / sizeof syn[0]; s++) {
        if (strcmp(syn[s][0], our))
            continue;
        for (size_t k = 1; k < 8 && syn[s][k]; k++)
            for (size_t i = 0; i < n_hdr; i++) {
                char low[128];
                size_t j = 0;
                for (; hdr[i][j] && j + 1 < sizeof low; j++)
                    low[j] = (char)tolower((unsigned char)hdr[i][j]);
                low[j] = '\0';
                if (!strcmp(low, syn[s][k]) || (strlen(syn[s][k]) > 3 && strstr(low, syn[s][k])))
                    return hdr[i];
            }
    }
    return NULL;
}

static const char *looks_like_amount(char *const *hdr, size_t n_hdr)
{
    static const char *const names[] = {"sales_value",  "amount",  "line_total", "total",
                                        "dollar_value", "revenue", "value",      "sales"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        for (size_t i = 0; i < n_hdr; i++)
            if (!strcasecmp(hdr[i], names[k]))
                return hdr[i];
    return NULL;
}

static void sb_add(char *buf, size_t cap, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void sb_add(char *buf, size_t cap, size_t *at, const char *fmt, ...)
{
    if (*at >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + *at, cap - *at, fmt, ap);
    va_end(ap);
    *at = m < 0 ? cap : *at + (size_t)m;
    if (*at >= cap)
        *at = cap;
}

/* Everything missing at once: "FILE:1: missing required column(s) 'a', 'b' (the header has
 * ...); --map a=X would fix 'a'; ...". */
static int report_missing(const char *path,
                          uint64_t line,
                          const char *const *missing,
                          size_t n_missing,
                          char *const *hdr,
                          size_t n_hdr,
                          int no_header)
{
    char msg[3000];
    size_t at = 0;
    sb_add(msg, sizeof msg, &at, "%s:%llu: missing required column%s ", path,
           (unsigned long long)line, n_missing > 1 ? "s" : "");
    for (size_t i = 0; i < n_missing; i++)
        sb_add(msg, sizeof msg, &at, "%s'%s'", i ? ", " : "", missing[i]);
    sb_add(msg, sizeof msg, &at,
           " (the %s has %zu columns: ", no_header ? "--columns list" : "header", n_hdr);
    for (size_t i = 0; i < n_hdr && at < 1500; i++)
        sb_add(msg, sizeof msg, &at, "%s'%s'", i ? ", " : "", hdr[i]);
    sb_add(msg, sizeof msg, &at, ")");
    char maps[1000];
    size_t mat = 0;
    for (size_t i = 0; i < n_missing; i++) {
        const char *m = missing[i];
        if (!strcmp(m, "unit_price") && looks_like_amount(hdr, n_hdr) &&
            !looks_like("unit_price", hdr, n_hdr)) {
            sb_add(msg, sizeof msg, &at,
                   "; '%s' looks like a line amount: --amount %s gives unit_price = %s / "
                   "quantity",
                   looks_like_amount(hdr, n_hdr), looks_like_amount(hdr, n_hdr),
                   looks_like_amount(hdr, n_hdr));
            continue;
        }
        if (!strcmp(m, "order_id") && !looks_like(m, hdr, n_hdr)) {
            sb_add(msg, sizeof msg, &at,
                   "; --orders customer-second (or customer-day) makes one order of a customer's "
                   "lines in the same second (day)");
            continue;
        }
        if (!strcmp(m, "converted") && !looks_like(m, hdr, n_hdr)) {
            sb_add(msg, sizeof msg, &at, "; --set converted=true if every row is a conversion");
            continue;
        }
        const char *l = looks_like(m, hdr, n_hdr);
        if (l)
            sb_add(maps, sizeof maps, &mat, "%s%s=%s", mat ? "," : "", m, l);
    }
    if (mat)
        sb_add(msg, sizeof msg, &at, "; --map %s would use the columns that look like them", maps);
    return promo_fail(PROMO_EINPUT, "%s", msg);
}

/* ---- timestamps ---- */

/* What a timestamp value looks like. */
static enum ts_kind classify_ts(const char *s, size_t n, int *first, int *second)
{
    while (n && (*s == ' ' || *s == '"')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '"'))
        n--;
    size_t d = 0;
    while (d < n && s[d] >= '0' && s[d] <= '9')
        d++;
    if (d == n && n > 0) {
        if (n == 8)
            return TS_YMD;
        if (n >= 9 && n <= 11)
            return TS_EPOCH;
        if (n >= 12 && n <= 14)
            return TS_EPOCH_MS;
        return TS_ISO; /* the typed read will report it */
    }
    if (d >= 1 && d <= 2 && d < n && s[d] == '/') {
        *first = atoi(s);
        *second = atoi(s + d + 1);
        return TS_DMY; /* slashed; the order is decided over the column */
    }
    return TS_ISO;
}

/* Decide how the file's timestamp fields (0-based field numbers f[0..nf)) are read. */
static int decide_ts(const char *data,
                     size_t n,
                     const char *path,
                     char delim,
                     int no_header,
                     const size_t *f,
                     const char *const *fname,
                     size_t nf,
                     enum ts_kind *kind)
{
    if (nf == 0 || (*kind != TS_AUTO && *kind != TS_DMY && *kind != TS_MDY))
        return PROMO_OK;
    promo_csv_options wo = promo_csv_options_default();
    wo.delimiter = delim;
    wo.max_field_bytes = MAX_FIELD_BYTES;
    promo_csv_walker *w = NULL;
    int rc = promo_csv_walker_new(data, n, &wo, &w);
    if (rc)
        return rc;
    promo_csv_record rec;
    if (!no_header)
        promo_csv_walker_next(w, &rec);
    enum ts_kind seen = TS_AUTO;
    int slashed = 0, first_gt12 = 0, second_gt12 = 0;
    uint64_t line_a = 0, line_b = 0;
    size_t col_a = 0, col_b = 0;
    for (size_t r = 0; promo_csv_walker_next(w, &rec); r++) {
        if (r >= SNIFF_ROWS && !slashed)
            break;
        for (size_t k = 0; k < nf; k++) {
            if (f[k] >= rec.n_stored || rec.fields[f[k]].n == 0)
                continue;
            int a = 0, b = 0;
            enum ts_kind c = classify_ts(rec.fields[f[k]].p, rec.fields[f[k]].n, &a, &b);
            if (c == TS_DMY) {
                slashed = 1;
                if (a > 12 && !first_gt12) {
                    first_gt12 = 1;
                    line_a = rec.line;
                    col_a = k;
                }
                if (b > 12 && !second_gt12) {
                    second_gt12 = 1;
                    line_b = rec.line;
                    col_b = k;
                }
            } else if (seen == TS_AUTO) {
                seen = c;
            }
        }
    }
    promo_csv_walker_free(w);
    if (slashed) {
        if (*kind == TS_DMY || *kind == TS_MDY)
            return PROMO_OK;
        if (first_gt12 && second_gt12)
            return promo_fail(PROMO_EINPUT,
                              "%s: column '%s' mixes day-first (line %llu) and month-first "
                              "(line %llu) slashed dates; write them as YYYY-MM-DD",
                              path, fname[col_a], (unsigned long long)line_a,
                              (unsigned long long)line_b);
        if (first_gt12) {
            *kind = TS_DMY;
        } else if (second_gt12) {
            *kind = TS_MDY;
        } else {
            return promo_fail(PROMO_EINPUT,
                              "%s: column '%s' has slashed dates that read both day-first and "
                              "month-first (no value has a day above 12): pass --ts-format dmy "
                              "or --ts-format mdy",
                              path, fname[0]);
        }
        (void)col_b;
        return PROMO_OK;
    }
    if (*kind == TS_AUTO)
        *kind = seen == TS_AUTO ? TS_ISO : seen;
    return PROMO_OK;
}

/* Replace INT64 column `name` (epoch seconds, or ms when div = 1000) by a TIMESTAMP column. */
static int epoch_to_ts(promo_table *t, const char *name, int64_t div)
{
    promo_column *src = promo_table_column(t, name);
    if (!src || src->type != PROMO_COL_INT64)
        return PROMO_OK;
    promo_column *dst = NULL;
    int rc = promo_table_add_column(t, "__ts_tmp", PROMO_COL_TIMESTAMP, &dst);
    if (!rc)
        rc = promo_column_resize(dst, t->n_rows);
    src = promo_table_column(t, name);
    for (size_t r = 0; !rc && r < t->n_rows; r++) {
        if (promo_column_is_null(src, r)) {
            rc = promo_column_set_null(dst, r);
            continue;
        }
        int64_t v = src->i64[r];
        dst->i64[r] = v >= 0 ? v / div : -((-v + div - 1) / div);
    }
    if (!rc)
        rc = promo_table_drop_column(t, name);
    if (!rc)
        rc = promo_table_rename_column(t, "__ts_tmp", name);
    return rc;
}

/* ---- after the read ---- */

static int parse_const(const promo_field *f, const char *v, promo_table *t, size_t n)
{
    promo_column *c = NULL;
    int rc = promo_table_add_column(t, f->name, f->type, &c);
    if (rc)
        return rc;
    if ((rc = promo_column_reserve(c, n)))
        return rc;
    char *end = NULL;
    errno = 0;
    switch (f->type) {
    case PROMO_COL_BOOL: {
        int b = !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes");
        if (!b && strcasecmp(v, "false") && strcmp(v, "0") && strcasecmp(v, "no"))
            return promo_fail(PROMO_EUSAGE, "--set %s=%s: expected true or false", f->name, v);
        for (size_t r = 0; r < n && !rc; r++)
            rc = promo_column_push_bool(c, b);
        break;
    }
    case PROMO_COL_FLOAT64: {
        double d = strtod(v, &end);
        if (!*v || *end || errno)
            return promo_fail(PROMO_EUSAGE, "--set %s=%s: expected a number", f->name, v);
        for (size_t r = 0; r < n && !rc; r++)
            rc = promo_column_push_f64(c, d);
        break;
    }
    case PROMO_COL_INT64: {
        long long d = strtoll(v, &end, 10);
        if (!*v || *end || errno)
            return promo_fail(PROMO_EUSAGE, "--set %s=%s: expected an integer", f->name, v);
        for (size_t r = 0; r < n && !rc; r++)
            rc = promo_column_push_i64(c, d);
        break;
    }
    case PROMO_COL_TIMESTAMP: {
        int64_t ts;
        if (promo_time_parse_iso(v, strlen(v), &ts))
            return promo_fail(PROMO_EUSAGE, "--set %s=%s: expected a date YYYY-MM-DD[THH:MM:SS]",
                              f->name, v);
        for (size_t r = 0; r < n && !rc; r++)
            rc = promo_column_push_i64(c, ts);
        break;
    }
    default:
        /* interned once; every row then shares the code */
        if (n && !(rc = promo_column_push_str(c, v, strlen(v))))
            for (size_t r = 1; r < n && !rc; r++)
                rc = promo_column_push_code(c, c->codes[0]);
    }
    return rc ? rc : promo_table_seal(t);
}

int ingest_const_string(promo_table *t, const char *name, const char *s, size_t n)
{
    promo_column *c = NULL;
    int rc = promo_table_add_column(t, name, PROMO_COL_STRING, &c);
    if (!rc)
        rc = promo_column_reserve(c, n);
    if (!rc && n && !(rc = promo_column_push_str(c, s, strlen(s))))
        for (size_t r = 1; r < n && !rc; r++)
            rc = promo_column_push_code(c, c->codes[0]);
    return rc ? rc : promo_table_seal(t);
}

/* --orders: order_id from customer_id and ts, "<customer_id>@<epoch seconds>" (per second)
 * or "<customer_id>@<YYYY-MM-DD>" (per day); a null customer or time reads as "". */
static int make_order_ids(item *it, const char *per)
{
    int per_day = !strcmp(per, "customer-day");
    const promo_column *cust = promo_table_column(it->t, "customer_id"),
                       *ts = promo_table_column(it->t, "ts");
    promo_column *oid = NULL;
    int rc = promo_table_add_column(it->t, "order_id", PROMO_COL_STRING, &oid);
    for (size_t r = 0; r < it->t->n_rows && !rc; r++) {
        char id[600], when[32] = "";
        const char *c = cust && !promo_column_is_null(cust, r) ? promo_column_str(cust, r) : "";
        if (ts && !promo_column_is_null(ts, r)) {
            if (per_day)
                promo_time_format(ts->i64[r], 1, when, sizeof when);
            else
                snprintf(when, sizeof when, "%lld", (long long)ts->i64[r]);
        }
        int k = snprintf(id, sizeof id, "%s@%s", c, when);
        if (k < 0 || (size_t)k >= sizeof id)
            return promo_fail(PROMO_EINPUT,
                              "%s: customer_id '%.40s...' is too long for an order id", it->path,
                              c);
        rc = promo_column_push_str(oid, id, (size_t)k);
    }
    return rc ? rc : promo_table_seal(it->t);
}

/* unit_price = amount / quantity; a line with quantity 0 has a price only when its amount is
 * 0 too (then 0), else it is a bad row. */
static int amount_to_price(promo_ingest *ing, item *it, const char *amount_col)
{
    promo_table *t = it->t;
    const promo_column *a = promo_table_column(t, amount_col);
    const promo_column *q = promo_table_column(t, "quantity");
    promo_column *u = NULL;
    int rc = promo_table_add_column(t, "unit_price", PROMO_COL_FLOAT64, &u);
    if (!rc)
        rc = promo_column_resize(u, t->n_rows);
    if (rc)
        return rc;
    a = promo_table_column(t, amount_col);
    q = promo_table_column(t, "quantity");
    pending pd = {0};
    for (size_t r = 0; r < t->n_rows && !rc; r++) {
        if (promo_column_is_null(a, r) || !q || promo_column_is_null(q, r)) {
            rc = promo_column_set_null(u, r); /* reported by the required check */
            continue;
        }
        double qty = q->f64[r], amt = a->f64[r];
        if (qty != 0) {
            u->f64[r] = amt / qty;
            continue;
        }
        if (amt == 0) {
            u->f64[r] = 0;
            continue;
        }
        if (ing->opt.skip_bad_rows) {
            rc = ingest_pending_add(&pd, r, "quantity",
                                    "quantity 0 with a line amount of %g: no unit price", amt);
            continue;
        }
        char w[1200];
        if (!(rc = ingest_where(it, r, "quantity", w, sizeof w)))
            rc = promo_fail(PROMO_EINPUT,
                            "%squantity 0 with a line amount of %g in '%s': no unit price "
                            "(--skip-bad-rows to leave such lines out)",
                            w, amt, amount_col);
    }
    if (!rc)
        rc = ingest_pending_flush(it, &pd, &ing->stats);
    ingest_pending_free(&pd);
    if (!rc)
        rc = promo_table_drop_column(t, amount_col);
    return rc;
}

/* Recode the values of STRING column `col`, then check events.kind. Values neither recoded
 * nor already a target are refused when the column is events.kind (unknown kinds) or when a
 * recoding was asked for (a value the map forgot). */
static int
recode_column(promo_ingest *ing, item *it, const char *col, const map_pair *rc_map, size_t n_rc)
{
    promo_column *c = promo_table_column(it->t, col);
    if (!c)
        return PROMO_OK;
    if (c->type != PROMO_COL_STRING)
        return promo_fail(PROMO_EUSAGE, "--recode %s: not a text column", col);
    int is_kind = !strcmp(it->t->name, "events") && !strcmp(col, "kind");
    uint32_t nd = promo_dict_size(c->dict);
    promo_dict *nd_dict = promo_dict_new();
    uint32_t *to = promo_mallocn(nd ? nd : 1, sizeof *to);
    uint8_t *bad = promo_calloc(nd ? nd : 1, 1);
    int rc = nd_dict && to && bad ? PROMO_OK : PROMO_ENOMEM;
    for (uint32_t k = 0; k < nd && !rc; k++) {
        const char *v = promo_dict_key(c->dict, k);
        const char *r = pair_get(rc_map, n_rc, v);
        int ok = r != NULL;
        for (size_t i = 0; i < n_rc && !ok; i++)
            ok = !strcmp(rc_map[i].their, v);
        if (!r)
            r = v;
        if (is_kind) {
            ok = 0;
            for (int e = 0; e < 4; e++)
                ok |= !strcmp(r, event_kinds[e]);
        } else if (!n_rc) {
            ok = 1;
        }
        bad[k] = !ok;
        to[k] = promo_dict_intern(nd_dict, r, strlen(r));
        if (to[k] == PROMO_DICT_NONE)
            rc = PROMO_ENOMEM;
    }
    pending pd = {0};
    for (size_t r = 0; r < it->t->n_rows && !rc; r++) {
        if (promo_column_is_null(c, r) || !bad[c->codes[r]] || ingest_is_dropped(it, r))
            continue;
        const char *v = promo_dict_key(c->dict, c->codes[r]);
        if (ing->opt.skip_bad_rows) {
            rc = ingest_pending_add(&pd, r, col, "column '%s': unknown value '%s'", col, v);
            continue;
        }
        char w[1200];
        if ((rc = ingest_where(it, r, col, w, sizeof w)))
            break;
        if (is_kind)
            rc = promo_fail(PROMO_EINPUT,
                            "%scolumn '%s': unknown event kind '%s' (the kinds are view, cart, "
                            "favorite and purchase; --recode kind=%s:view,... maps source "
                            "values onto them)",
                            w, col, v, v);
        else
            rc =
                promo_fail(PROMO_EINPUT, "%scolumn '%s': value '%s' is not in --recode", w, col, v);
    }
    if (!rc)
        rc = ingest_pending_flush(it, &pd, &ing->stats);
    ingest_pending_free(&pd);
    if (!rc) {
        for (size_t r = 0; r < it->t->n_rows; r++)
            c->codes[r] = to[c->codes[r]];
        promo_column_set_dict(c, nd_dict);
        nd_dict = NULL;
    }
    promo_dict_free(nd_dict);
    promo_free(to);
    promo_free(bad);
    return rc;
}

/* ---- the read ---- */

typedef struct plan_col {
    const char *their; /* source name */
    const char *our;   /* canonical name (NULL: read to be dropped) */
    promo_col_type type;
    int required;
} plan_col;

int ingest_read_source(promo_ingest *ing, const char *path, const ingest_src *src, item **out)
{
    if (out)
        *out = NULL;
    const char *tname = src->table;
    const promo_schema *sc = promo_schema_find(tname);
    if (!sc && !src->keep_all)
        return promo_fail(PROMO_EUSAGE,
                          "%s: '%s' is not a canonical table (customers, products, stores, "
                          "promotions, transactions, exposures, responses, events) nor "
                          "experiment",
                          path, tname);
    if (!*tname || !strncmp(tname, "promo_", 6) || !strncmp(tname, "sqlite_", 7) ||
        !strncmp(tname, "features_", 9) || !strncmp(tname, "truth_", 6))
        return promo_fail(PROMO_EUSAGE, "%s: '%s' is not a usable table name", path, tname);
    item *prev = ingest_find_item(ing, tname);
    if (prev && !src->append)
        return promo_fail(PROMO_EUSAGE, "%s: a second file for table '%s' in one ingest", path,
                          tname);
    size_t prev_idx = prev ? (size_t)(prev - ing->items) : 0;
    map_pair *map = NULL, *set = NULL, *rcm = NULL;
    size_t n_map = 0, n_set = 0, n_rcm = 0, n_ign = 0, n_names = 0, n_plan = 0;
    char **ign = NULL, **names = NULL, *rc_col = NULL;
    plan_col *plan = NULL;
    promo_csv_column *cols = NULL;
    const char *data = NULL;
    size_t n_data = 0;
    int mapped_file = 0;
    char delim = 0;
    int blanks = 0;
    enum ts_kind tsk = TS_AUTO;
    const char *missing[16];
    size_t n_missing = 0;
    item *it = NULL;
    int rc;
    if ((rc = parse_sep(src->sep, &delim, &blanks)) || (rc = parse_ts_format(src->ts_format, &tsk)))
        return rc;
    if ((rc = ingest_parse_pairs(src->map, '=', "--map", &map, &n_map)) ||
        (rc = ingest_parse_pairs(src->set, '=', "--set", &set, &n_set)) ||
        (rc = split_list(src->ignore, &ign, &n_ign)))
        goto done;
    if (src->recode) {
        const char *eq = strchr(src->recode, '=');
        if (!eq || eq == src->recode) {
            rc = promo_fail(PROMO_EUSAGE, "--recode: expected COL=from:to,..., got '%s'",
                            src->recode);
            goto done;
        }
        if (!(rc_col = promo_strndup(src->recode, (size_t)(eq - src->recode)))) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        if ((rc = ingest_parse_pairs(eq + 1, ':', "--recode", &rcm, &n_rcm)))
            goto done;
    }
    for (size_t i = 0; sc && i < n_set; i++)
        if (!promo_schema_field(sc, set[i].our)) {
            rc = promo_fail(PROMO_EUSAGE, "--set %s=%s: '%s' is not a column of %s", set[i].our,
                            set[i].their, set[i].our, tname);
            goto done;
        }
    if (src->amount && (!sc || strcmp(sc->name, "transactions"))) {
        rc = promo_fail(PROMO_EUSAGE, "--amount goes with the transactions table, not %s", tname);
        goto done;
    }
    if (src->orders && (!sc || strcmp(sc->name, "transactions"))) {
        rc = promo_fail(PROMO_EUSAGE, "--orders goes with the transactions table, not %s", tname);
        goto done;
    }
    if (rc_col && sc && !promo_schema_field(sc, rc_col)) {
        rc = promo_fail(PROMO_EUSAGE, "--recode %s: not a column of %s", rc_col, tname);
        goto done;
    }

    /* 1. the bytes */
    if ((rc = ingest_map_file(path, &data, &n_data)))
        goto done;
    mapped_file = 1;
    if (!(it = ingest_new_item(ing))) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    if (!(it->path = promo_strdup(path))) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    it->sc = sc;
    it->no_header = src->no_header;
    if (blanks) {
        if (!(it->buf = normalise_blanks(data, n_data, &it->n_buf))) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        mapped_file = 0;
        if ((rc = ingest_unmap_file(data, n_data))) /* the copy has the zeros of a lost tail */
            goto done;
        data = it->buf;
        n_data = it->n_buf;
    }
    if (n_data == 0) {
        rc = promo_fail(PROMO_EINPUT, "%s: empty file (0 bytes)", path);
        goto done;
    }

    /* 2. the header and the plan */
    {
        promo_csv_options wo = promo_csv_options_default();
        wo.delimiter = delim;
        wo.max_field_bytes = MAX_FIELD_BYTES;
        promo_csv_walker *w = NULL;
        promo_csv_record rec;
        if ((rc = promo_csv_walker_new(data, n_data, &wo, &w)))
            goto done;
        int got = promo_csv_walker_next(w, &rec);
        it->delim = promo_csv_walker_delimiter(w);
        size_t nf = got ? rec.n_fields : 0;
        if (!src->no_header && got) {
            size_t len = 0;
            for (size_t i = 0; i < rec.n_stored; i++)
                len += rec.fields[i].n + 1;
            char **arr = promo_malloc(rec.n_stored * (sizeof(char *) + 24) + len + 1);
            if (!arr) {
                promo_csv_walker_free(w);
                rc = PROMO_ENOMEM;
                goto done;
            }
            char *o = (char *)(arr + rec.n_stored);
            for (size_t k = 0; k < rec.n_stored; k++) {
                char *st = o;
                char *e = st + promo_csv_field_unescape(&rec.fields[k], st);
                while (e > st && (e[-1] == ' ' || e[-1] == '\t'))
                    e--;
                char *b = st;
                while (b < e && (*b == ' ' || *b == '\t'))
                    b++;
                memmove(st, b, (size_t)(e - b));
                o = st + (e - b);
                if (o == st) /* an empty name: the reader's column_N */
                    o += snprintf(st, 24, "column_%zu", k + 1);
                *o++ = '\0';
                arr[k] = st;
            }
            it->hdr = arr;
            it->n_hdr = rec.n_stored;
        }
        promo_csv_walker_free(w);
        if (!got) {
            rc = promo_fail(PROMO_EINPUT, "%s: empty file (only blank lines)", path);
            goto done;
        }
        if (src->no_header) {
            if ((rc = split_list(src->columns, &names, &n_names)))
                goto done;
            if (n_names != nf) {
                rc = promo_fail(PROMO_EINPUT,
                                "%s:1: --columns names %zu fields but the first line has %zu", path,
                                n_names, nf);
                goto done;
            }
            size_t len = 0;
            for (size_t i = 0; i < n_names; i++)
                len += strlen(names[i]) + 1;
            char **arr = promo_malloc(n_names * sizeof(char *) + len + 1);
            if (!arr) {
                rc = PROMO_ENOMEM;
                goto done;
            }
            char *o = (char *)(arr + n_names);
            for (size_t i = 0; i < n_names; i++) {
                arr[i] = o;
                o = stpcpy(o, names[i]) + 1;
            }
            it->hdr = arr;
            it->n_hdr = n_names;
        }
    }
    for (size_t i = 0; i < n_ign; i++)
        if (!in_list(it->hdr, it->n_hdr, ign[i])) {
            rc = promo_fail(PROMO_EUSAGE, "--ignore %s: %s has no column '%s'", ign[i], path,
                            ign[i]);
            goto done;
        }
    if (src->amount && !in_list(it->hdr, it->n_hdr, src->amount)) {
        rc = promo_fail(PROMO_EUSAGE, "--amount %s: %s has no column '%s'", src->amount, path,
                        src->amount);
        goto done;
    }
    if (!(plan = promo_calloc(it->n_hdr + 40, sizeof *plan))) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    if (sc) {
        for (size_t f = 0; f < sc->n_fields; f++) {
            const promo_field *fd = &sc->fields[f];
            if (pair_get(set, n_set, fd->name))
                continue;
            if (src->amount && !strcmp(fd->name, "unit_price")) {
                plan[n_plan++] = (plan_col){src->amount, NULL, PROMO_COL_FLOAT64, 1};
                continue;
            }
            const char *th = pair_get(map, n_map, fd->name);
            th = th ? th : fd->name;
            int present = in_list(it->hdr, it->n_hdr, th) && !in_list(ign, n_ign, th);
            if (present && src->orders && !strcmp(fd->name, "order_id")) {
                rc = promo_fail(PROMO_EUSAGE,
                                "--orders %s: %s has an order id column ('%s'): --orders is "
                                "for a file without one",
                                src->orders, path, th);
                goto done;
            }
            if (present) {
                plan[n_plan++] = (plan_col){th, fd->name, fd->type, fd->required};
            } else if (fd->required &&
                       !(!strcmp(sc->name, "transactions") && !strcmp(fd->name, "line")) &&
                       !(src->orders && !strcmp(fd->name, "order_id"))) {
                if (n_missing < 16)
                    missing[n_missing++] = fd->name;
            }
        }
        char **keep = NULL;
        size_t n_keep = 0;
        if ((rc = split_list(src->keep, &keep, &n_keep)))
            goto done;
        for (size_t i = 0; i < n_keep; i++)
            for (size_t h = 0; h < it->n_hdr; h++)
                if (!strcmp(it->hdr[h], keep[i]))
                    plan[n_plan++] = (plan_col){it->hdr[h], NULL, PROMO_COL_STRING, 0};
        free_list(keep, n_keep);
        if (n_missing) {
            rc = report_missing(path, 1, missing, n_missing, it->hdr, it->n_hdr, src->no_header);
            goto done;
        }
    }
    /* a --map onto an optional column whose source is not in this file would be silently
     * empty: say so (an error would break one --map shared by several files) */
    for (size_t i = 0; sc && !src->quiet && i < n_map; i++) {
        const promo_field *fd = promo_schema_field(sc, map[i].our);
        if (fd && !fd->required && !in_list(it->hdr, it->n_hdr, map[i].their))
            promo_warn("%s: --map %s=%s: the file has no column '%s'; %s stays empty", path,
                       map[i].our, map[i].their, map[i].their, map[i].our);
    }
    /* 3. timestamps */
    {
        size_t tf[16], ntf = 0;
        const char *tfn[16];
        for (size_t k = 0; k < n_plan && ntf < 16; k++)
            if (plan[k].type == PROMO_COL_TIMESTAMP)
                for (size_t i = 0; i < it->n_hdr; i++)
                    if (!strcmp(it->hdr[i], plan[k].their)) {
                        tfn[ntf] = plan[k].their;
                        tf[ntf++] = i;
                    }
        if ((rc = decide_ts(data, n_data, path, it->delim, src->no_header, tf, tfn, ntf, &tsk)))
            goto done;
        if (tsk == TS_EPOCH || tsk == TS_EPOCH_MS)
            for (size_t k = 0; k < n_plan; k++)
                if (plan[k].type == PROMO_COL_TIMESTAMP)
                    plan[k].type = PROMO_COL_INT64;
    }

    /* 4. the typed read */
    {
        promo_csv_options o = promo_csv_options_default();
        o.delimiter = it->delim;
        o.has_header = !src->no_header;
        o.skip_bad_rows = ing->opt.skip_bad_rows;
        o.n_threads = ing->opt.n_threads;
        o.max_field_bytes = MAX_FIELD_BYTES;
        o.date_order = tsk == TS_MDY   ? PROMO_DATE_MDY
                       : tsk == TS_DMY ? PROMO_DATE_DMY
                                       : PROMO_DATE_ISO;
        o.display_name = path;
        size_t n_cols = 0;
        if (src->no_header) {
            /* the reader names the fields; the plan picks some and skips the rest unparsed */
            o.field_names = (const char *const *)it->hdr;
            o.n_field_names = it->n_hdr;
        }
        if (sc) {
            if (!(cols = promo_calloc(n_plan + 1, sizeof *cols))) {
                rc = PROMO_ENOMEM;
                goto done;
            }
            for (size_t k = 0; k < n_plan; k++)
                cols[k] = (promo_csv_column){plan[k].their, plan[k].type, plan[k].required};
            n_cols = n_plan;
        }
        o.columns = cols;
        o.n_columns = n_cols;
        promo_csv_rejects *rej = NULL;
        /* The bytes read in step 1 (or their normalised copy): reading the file again would
         * cost a second copy of it, and the header and timestamps were decided on these. */
        if (mapped_file) { /* nothing below reads the bytes: given back before the checks */
            rc = ingest_parse_mapped(data, n_data, path, &o, &it->t, &rej);
            mapped_file = 0;
            data = NULL;
            n_data = 0;
        } else {
            rc = promo_csv_read_buffer(data, n_data, path, &o, &it->t, &rej);
        }
        if (rc)
            goto done;
        promo_csv_rejects_free(it->rej);
        it->rej = rej;
        it->n_csv_rej = rej ? rej->n : 0;
        if (!it->rej && !(it->rej = promo_calloc(1, sizeof *it->rej))) {
            rc = PROMO_ENOMEM;
            goto done;
        }
        ing->stats.rows_read += it->t->n_rows + it->n_csv_rej;
        ing->stats.rows_rejected += it->n_csv_rej;
        it->rejects_file = ing->opt.skip_bad_rows || ing->opt.unknown == PROMO_UNKNOWN_SKIP;
    }
    if ((rc = promo_table_set_name(it->t, tname)))
        goto done;
    /* drop what was read only to be dropped, and --ignore'd columns of a kept-all table */
    for (size_t i = 0; i < it->n_hdr && !rc; i++) {
        int planned = !sc;
        for (size_t k = 0; k < n_plan; k++)
            planned |= !strcmp(plan[k].their, it->hdr[i]);
        if ((!planned || in_list(ign, n_ign, it->hdr[i])) && promo_table_column(it->t, it->hdr[i]))
            rc = promo_table_drop_column(it->t, it->hdr[i]);
    }
    /* renames onto canonical names */
    for (size_t k = 0; k < n_plan && !rc; k++)
        if (plan[k].our && strcmp(plan[k].our, plan[k].their)) {
            if (!(rc = promo_table_rename_column(it->t, plan[k].their, plan[k].our)))
                rc = ingest_add_rename(it, plan[k].our, plan[k].their);
        }
    for (size_t i = 0; !sc && i < n_map && !rc; i++)
        if (promo_table_column(it->t, map[i].their) &&
            !(rc = promo_table_rename_column(it->t, map[i].their, map[i].our)))
            rc = ingest_add_rename(it, map[i].our, map[i].their);
    if (rc)
        goto done;
    if (tsk == TS_EPOCH || tsk == TS_EPOCH_MS)
        for (size_t k = 0; k < n_plan && !rc; k++)
            if (plan[k].our && sc && plan[k].type == PROMO_COL_INT64 &&
                promo_schema_field(sc, plan[k].our)->type == PROMO_COL_TIMESTAMP)
                rc = epoch_to_ts(it->t, plan[k].our, tsk == TS_EPOCH_MS ? 1000 : 1);
    if (!rc && src->amount) {
        if (!(rc = amount_to_price(ing, it, src->amount)))
            rc = ingest_add_rename(it, "unit_price", src->amount);
    }
    for (size_t i = 0; i < n_set && !rc; i++) {
        if (promo_table_column(it->t, set[i].our)) {
            rc = promo_fail(PROMO_EUSAGE,
                            "--set %s: %s already has a column '%s' (--ignore it to "
                            "replace it by the constant)",
                            set[i].our, path, set[i].our);
            break;
        }
        if (sc)
            rc =
                parse_const(promo_schema_field(sc, set[i].our), set[i].their, it->t, it->t->n_rows);
        else
            rc = ingest_const_string(it->t, set[i].our, set[i].their, it->t->n_rows);
    }
    if (!rc && rc_col)
        rc = recode_column(ing, it, rc_col, rcm, n_rcm);
    if (!rc && sc && !strcmp(sc->name, "events") && (!rc_col || strcmp(rc_col, "kind")))
        rc = recode_column(ing, it, "kind", NULL, 0);
    if (!rc && src->orders)
        rc = make_order_ids(it, src->orders);
    if (!rc && sc && !strcmp(sc->name, "transactions") && !promo_table_column(it->t, "line"))
        rc = ingest_number_lines(it, "order_id");
    if (rc)
        goto done;
    /* 5. what was not stored */
    if (sc && !src->quiet) {
        char list[1200];
        size_t at = 0, n_left = 0;
        for (size_t i = 0; i < it->n_hdr; i++) {
            int used = in_list(ign, n_ign, it->hdr[i]);
            for (size_t k = 0; k < n_plan && !used; k++)
                used = !strcmp(plan[k].their, it->hdr[i]);
            if (!used) {
                sb_add(list, sizeof list, &at, "%s'%s'", n_left ? ", " : "", it->hdr[i]);
                n_left++;
            }
        }
        if (n_left)
            promo_warn("%s: %zu source column%s not stored (not canonical columns of %s; --map "
                       "one onto a canonical column to keep it, --ignore to silence this): %s",
                       path, n_left, n_left == 1 ? "" : "s", tname, list);
    }
    if (prev) {
        /* the rows join the table read before; its rows no longer have one source file */
        size_t idx = (size_t)(it - ing->items);
        item *pv = &ing->items[prev_idx];
        if (it->rej->n || pv->drop || it->drop) {
            rc = promo_fail(PROMO_EINPUT,
                            "%s: rows were rejected; they cannot be appended to "
                            "table %s (fix them, or ingest the files one by one)",
                            path, tname);
            goto done;
        }
        if ((rc = ingest_append_rows(pv->t, it->t)))
            goto done;
        promo_free(pv->path);
        pv->path = NULL;
        ingest_remove_item(ing, idx);
        it = &ing->items[prev_idx];
    }
    if (out)
        *out = it;
done:
    if (mapped_file) {
        int changed = ingest_unmap_file(data, n_data);
        if (changed && !rc)
            rc = changed;
    }
    ingest_free_pairs(map, n_map);
    ingest_free_pairs(set, n_set);
    ingest_free_pairs(rcm, n_rcm);
    free_list(ign, n_ign);
    free_list(names, n_names);
    promo_free(rc_col);
    promo_free(plan);
    promo_free(cols);
    return rc;
}

/* ---- helpers for profiles ---- */

int ingest_append_rows(promo_table *dst, const promo_table *src)
{
    int rc = PROMO_OK;
    /* columns only the new rows have: nulls for the rows already there */
    for (size_t j = 0; j < src->n_cols && !rc; j++) {
        promo_column *d = NULL;
        if (promo_table_column(dst, src->cols[j]->name))
            continue;
        if (!(rc = promo_table_add_column(dst, src->cols[j]->name, src->cols[j]->type, &d)))
            for (size_t r = 0; r < dst->n_rows && !rc; r++)
                rc = promo_column_push_null(d);
    }
    for (size_t j = 0; j < dst->n_cols && !rc; j++) {
        promo_column *d = dst->cols[j];
        const promo_column *s = promo_table_column(src, d->name);
        for (size_t r = 0; r < src->n_rows && !rc; r++) {
            if (!s || promo_column_is_null(s, r) || s->type != d->type) {
                rc = promo_column_push_null(d);
                continue;
            }
            switch (d->type) {
            case PROMO_COL_INT64:
            case PROMO_COL_TIMESTAMP:
                rc = promo_column_push_i64(d, s->i64[r]);
                break;
            case PROMO_COL_FLOAT64:
                rc = promo_column_push_f64(d, s->f64[r]);
                break;
            case PROMO_COL_BOOL:
                rc = promo_column_push_bool(d, s->b[r]);
                break;
            default:
                rc = promo_column_push_str(d, promo_dict_key(s->dict, s->codes[r]),
                                           promo_dict_key_len(s->dict, s->codes[r]));
            }
        }
    }
    return rc ? rc : promo_table_seal(dst);
}
