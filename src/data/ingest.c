/* The ingest: source files -> checked canonical tables -> workspace. The formats themselves
 * are profiles, one file each under src/data/profiles/, listed in PROFILES below.
 *
 * The contract is in include/promo/profile.h. How it works:
 *
 * - Every source file goes through promo_csv_read with an explicit column plan, so values
 *   are typed while parsing (the reader is parallel and dictionary-encodes strings). The
 *   profile then renames the columns onto canonical names and derives what the source lacks
 *   (line numbers, dimension tables).
 * - Checks run on the columns: required values (null bitmap), duplicate keys (one open-address
 *   hash over the key tuple, string columns compared by dictionary code), references (each
 *   distinct id looked up once: promo_column_map_to). Rows that a policy drops are only
 *   marked; the tables are filtered once, just before writing.
 * - The CSV reader does not keep the source line of each row, and we need it only to report
 *   a problem. So the location is recovered lazily: one pass over the file with the reader's
 *   own record walker (promo_csv_walker: BOM, blank lines, quoted fields spanning lines),
 *   skipping the records the reader rejected, for all the rows that need locating at once.
 *   The happy path pays nothing for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/infile.h>
#include <promo/log.h>
#include <promo/profile.h>
#include <promo/schema.h>

#include "data/ingest_internal.h"

#define MAX_FIELD_BYTES ((size_t)1 << 20) /* longer fields in retail data are garbage */
#define RAW_MAX         4096              /* bytes of a rejected record kept */

/* The profiles, in the order --help and messages list them. A new input format is one file in
 * src/data/profiles/ defining ingest_read_<name> (declared in ingest_internal.h) and one line
 * here. Flags: PROFILE_MAP takes --map and --table; PROFILE_REQUIRED has the ingest check
 * required fields (the other profiles check their own). */
#define PROFILES(X)                                                                          \
    X("canonical", ingest_read_canonical, NULL, PROFILE_MAP | PROFILE_REQUIRED,              \
      "one CSV per table, named by the file or TABLE=FILE")                                  \
    X("generic", ingest_read_generic, NULL, PROFILE_MAP | PROFILE_REQUIRED,                  \
      "as canonical; --table may name any table (columns kept as they are)")                 \
    X("online-retail", ingest_read_online_retail, NULL, 0, "UCI Online Retail I and II")     \
    X("dunnhumby", ingest_read_dunnhumby, ingest_finish_dunnhumby, 0,                        \
      "dunnhumby The Complete Journey (completejourney or original layout)")                 \
    X("instacart", ingest_read_instacart, ingest_finish_instacart, 0,                        \
      "Instacart 2017: order lines joined onto orders, products")                            \
    X("taobao", ingest_read_taobao, ingest_finish_taobao, 0, "Taobao UserBehavior events")   \
    X("tmall", ingest_read_tmall, ingest_finish_tmall, 0,                                    \
      "Tmall buy/cart/collect pairs (MBGCN) as events")                                      \
    X("obd", ingest_read_obd, NULL, 0, "Open Bandit Dataset logs as the table bandit")       \
    X("cdnow", ingest_read_cdnow, NULL, 0, "CDNOW master or sample file as transactions")    \
    X("groceries", ingest_read_groceries, NULL, 0, "one basket per line (arules Groceries)") \
    X("hillstrom", ingest_read_hillstrom, ingest_finish_experiment, 0,                       \
      "MineThatData e-mail experiment as the table experiment")                              \
    X("lenta", ingest_read_lenta, ingest_finish_experiment, 0,                               \
      "Lenta SMS uplift experiment as the table experiment")                                 \
    X("criteo", ingest_read_criteo, ingest_finish_experiment, 0,                             \
      "Criteo uplift v2.1 as the table experiment")

#define AS_PROFILE(name, fn, fin, flags, about) {name, fn, fin, flags, about},
#define AS_NAME(name, fn, fin, flags, about)    name,
static const ingest_profile profiles[] = {PROFILES(AS_PROFILE)};
static const char *const profile_names[] = {PROFILES(AS_NAME) NULL};
#define N_PROFILES (sizeof profiles / sizeof profiles[0])

promo_ingest_options promo_ingest_options_default(void)
{
    promo_ingest_options o;
    memset(&o, 0, sizeof o);
    o.unknown = PROMO_UNKNOWN_ERROR;
    return o;
}

const char *const *promo_profile_names(void)
{
    return profile_names;
}

const char *promo_profile_about(const char *name)
{
    for (size_t i = 0; i < N_PROFILES; i++)
        if (name && !strcmp(profiles[i].name, name))
            return profiles[i].about;
    return "";
}

int ingest_add_meta(promo_ingest *ing, const char *key, const char *value)
{
    map_pair *m = promo_reallocn(ing->meta, ing->n_meta + 1, sizeof *m);
    if (!m)
        return PROMO_ENOMEM;
    ing->meta = m;
    m[ing->n_meta].our = promo_strdup(key);
    m[ing->n_meta].their = promo_strdup(value);
    ing->n_meta++;
    return m[ing->n_meta - 1].our && m[ing->n_meta - 1].their ? PROMO_OK : PROMO_ENOMEM;
}

/* "TABLE=FILE" -> table and file; a plain FILE (or one that exists under its whole name) has
 * no table. *table is a copy (NULL when none); *file points into arg. */
static int split_table_arg(const char *arg, char **table, const char **file)
{
    *table = NULL;
    *file = arg;
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || access(arg, F_OK) == 0)
        return PROMO_OK;
    for (const char *p = arg; p < eq; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return PROMO_OK;
    if (!(*table = promo_strndup(arg, (size_t)(eq - arg))))
        return PROMO_ENOMEM;
    *file = eq + 1;
    return PROMO_OK;
}

int promo_unknown_policy_parse(const char *s, promo_unknown_policy *out)
{
    static const char *const names[] = {"error", "skip", "add"};
    for (int i = 0; i < PROMO_UNKNOWN_POLICY_COUNT; i++)
        if (s && strcmp(s, names[i]) == 0) {
            *out = (promo_unknown_policy)i;
            return PROMO_OK;
        }
    return promo_fail(PROMO_EUSAGE, "unknown policy '%s': expected error, skip or add", s ? s : "");
}

/* ======================================================================================== */
/* Source files: header and record locations                                                */
/* ======================================================================================== */

typedef struct mapped {
    const char *p; /* file bytes */
    size_t n;      /* size */
} mapped;

static int map_file(const char *path, mapped *m)
{
    /* Mapped, so that reading a header costs nothing and a parse no copy; a source that
     * shrinks meanwhile is reported by unmap_file (promo/infile.h), and opened without
     * blocking, so a FIFO is refused instead of hanging. Regular files only: ingest reads each
     * source more than once. */
    int rc = promo_infile_map(path, 0, &m->p, &m->n);
    if (rc == PROMO_ENOTFOUND) /* ingest's own wording for a missing source */
        promo_fail(rc, "%s: cannot open: %s", path, strerror(ENOENT));
    return rc;
}

static int unmap_file(mapped *m)
{
    int rc = promo_infile_unmap(m->p, m->n);
    m->p = NULL;
    return rc;
}

/* Whether map_file would succeed, without reading the bytes (mapping a file asks the kernel to
 * read it all ahead, MADV_WILLNEED: for a file that is only checked, I/O for nothing): open and
 * fstat as promo_infile_read does, a one-byte pread for the read errors; anything else (not found,
 * "-", a directory, a FIFO, a failed read) goes through map_file itself, so the message is exactly
 * its own. */
static int check_readable(const char *path)
{
    if (strcmp(path, "-") != 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd >= 0) {
            struct stat st;
            char b;
            int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && pread(fd, &b, 1, 0) >= 0;
            close(fd);
            if (ok)
                return PROMO_OK;
        }
    }
    mapped m;
    int rc = map_file(path, &m);
    if (!rc)
        unmap_file(&m);
    return rc;
}

int ingest_map_file(const char *path, const char **p, size_t *n)
{
    mapped m;
    int rc = map_file(path, &m);
    *p = m.p;
    *n = m.n;
    return rc;
}

int ingest_unmap_file(const char *p, size_t n)
{
    mapped m = {p, n};
    return unmap_file(&m);
}

int ingest_parse_mapped(const char *p,
                        size_t n,
                        const char *path,
                        const promo_csv_options *o,
                        promo_table **t,
                        promo_csv_rejects **rej)
{
    int rc = promo_csv_read_buffer(p, n, path, o, t, rej);
    int changed = ingest_unmap_file(p, n); /* outranks what the parse made of the bytes */
    if (changed && !rc) {
        promo_table_free(*t);
        *t = NULL;
        promo_csv_rejects_free(*rej);
        *rej = NULL;
    }
    return changed ? changed : rc;
}

/* Header field names (unquoted, trimmed) as one allocation: array then strings. The header
 * is the CSV reader's first record, walked by its own grammar (promo_csv_walker). */
static int parse_header(const mapped *m, char ***names, size_t *n, char *delim)
{
    *names = NULL;
    *n = 0;
    promo_csv_options wo = promo_csv_options_default();
    wo.max_field_bytes = MAX_FIELD_BYTES;
    wo.delimiter = *delim;
    promo_csv_walker *w = NULL;
    int rc = promo_csv_walker_new(m->p, m->n, &wo, &w);
    if (rc)
        return rc;
    promo_csv_record rec;
    if (!promo_csv_walker_next(w, &rec)) {
        promo_csv_walker_free(w);
        return PROMO_OK; /* empty: the CSV reader reports it */
    }
    *delim = promo_csv_walker_delimiter(w);
    size_t nf = rec.n_stored, len = 0;
    for (size_t i = 0; i < nf; i++)
        len += rec.fields[i].n + 1;
    char **arr = promo_malloc(nf * sizeof(char *) + len);
    if (!arr) {
        promo_csv_walker_free(w);
        return PROMO_ENOMEM;
    }
    char *out = (char *)(arr + nf);
    for (size_t k = 0; k < nf; k++) {
        char *start = out;
        char *e = start + promo_csv_field_unescape(&rec.fields[k], start);
        /* trim surrounding spaces, as the reader does when matching names */
        while (e > start && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        char *b = start;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        memmove(start, b, (size_t)(e - b));
        out = start + (e - b);
        *out++ = '\0';
        arr[k] = start;
    }
    promo_csv_walker_free(w);
    *names = arr;
    *n = nf;
    return PROMO_OK;
}

int ingest_source_header(const char *path, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    mapped m;
    char delim = 0;
    int rc = map_file(path, &m);
    if (rc)
        return rc;
    rc = parse_header(&m, names, n, &delim);
    int changed = unmap_file(&m);
    if (changed && !rc) {
        promo_free(*names);
        *names = NULL;
        *n = 0;
    }
    return changed ? changed : rc;
}

static int reject_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Source line (and raw text, when raws != NULL) of table rows rows[0..n) (ascending) of an
 * item read from a file. Rows the reader rejected are not table rows, so their lines are
 * skipped; so are blank lines when the file has more than one column. */
static int locate_rows(const item *it, const size_t *rows, size_t n, uint64_t *lines, char **raws)
{
    for (size_t i = 0; i < n; i++) {
        lines[i] = 0;
        if (raws)
            raws[i] = NULL;
    }
    if (!it->path || n == 0)
        return PROMO_OK;
    mapped m = {it->buf, it->n_buf};
    int rc = it->buf ? PROMO_OK : map_file(it->path, &m);
    if (rc)
        return rc;
    uint64_t *rej_lines = NULL;
    if (it->n_csv_rej) {
        rej_lines = promo_mallocn(it->n_csv_rej, sizeof *rej_lines);
        if (!rej_lines) {
            if (!it->buf)
                unmap_file(&m);
            return PROMO_ENOMEM;
        }
        for (size_t i = 0; i < it->n_csv_rej; i++)
            rej_lines[i] = it->rej->items[i].line;
        qsort(rej_lines, it->n_csv_rej, sizeof *rej_lines, reject_cmp);
    }
    promo_csv_options wo = promo_csv_options_default();
    wo.delimiter = it->delim;
    wo.max_field_bytes = MAX_FIELD_BYTES;
    promo_csv_walker *w = NULL;
    promo_csv_record rec;
    if ((rc = promo_csv_walker_new(m.p, m.n, &wo, &w)))
        goto done;
    if (!it->no_header)
        promo_csv_walker_next(w, &rec); /* the header */
    size_t row = 0, want = 0, ri = 0;
    while (want < n && promo_csv_walker_next(w, &rec)) {
        while (ri < it->n_csv_rej && rej_lines[ri] < rec.line)
            ri++;
        if (ri < it->n_csv_rej && rej_lines[ri] == rec.line)
            continue; /* the reader rejected it: not a table row */
        if (row == rows[want]) {
            lines[want] = rec.line;
            if (raws) {
                raws[want] = promo_strndup(rec.text, rec.n_text > RAW_MAX ? RAW_MAX : rec.n_text);
                if (!raws[want]) {
                    rc = PROMO_ENOMEM;
                    break;
                }
            }
            want++;
            while (want < n && rows[want] == row) { /* repeated row */
                lines[want] = lines[want - 1];
                if (raws)
                    raws[want] = raws[want - 1] ? promo_strdup(raws[want - 1]) : NULL;
                want++;
            }
        }
        row++;
    }
done:
    promo_csv_walker_free(w);
    promo_free(rej_lines);
    if (!it->buf)
        unmap_file(&m);
    return rc;
}

/* Source column name of canonical column `our` in item it. */
static const char *their_name(const item *it, const char *our)
{
    for (size_t i = 0; i < it->n_ren; i++)
        if (strcmp(it->our[i], our) == 0)
            return it->their[i];
    return our;
}

/* 1-based field number of canonical column `our` in the source header, 0 if unknown. */
static unsigned source_col(const item *it, const char *our)
{
    const char *th = their_name(it, our);
    for (size_t i = 0; i < it->n_hdr; i++)
        if (strcmp(it->hdr[i], th) == 0)
            return (unsigned)i + 1;
    return 0;
}

/* "FILE:LINE:COL: " for row `row`, column `our` of item it (into buf). */
int ingest_where(const item *it, size_t row, const char *our, char *buf, size_t n)
{
    uint64_t line = 0;
    int rc = locate_rows(it, &row, 1, &line, NULL);
    if (rc)
        return rc;
    unsigned col = our ? source_col(it, our) : 0;
    if (!it->path)
        snprintf(buf, n, "table %s, row %zu: ", it->t->name, row + 1);
    else if (col)
        snprintf(buf, n, "%s:%llu:%u: ", it->path, (unsigned long long)line, col);
    else
        snprintf(buf, n, "%s:%llu: ", it->path, (unsigned long long)line);
    return PROMO_OK;
}

/* ======================================================================================== */
/* Items, drops and rejects                                                                 */
/* ======================================================================================== */

static void item_clear(item *it)
{
    promo_table_free(it->t);
    promo_free(it->path);
    promo_free(it->hdr);
    for (size_t i = 0; i < it->n_ren; i++) {
        promo_free(it->our[i]);
        promo_free(it->their[i]);
    }
    promo_free(it->our);
    promo_free(it->their);
    promo_csv_rejects_free(it->rej);
    promo_free(it->drop);
    promo_free(it->buf);
    memset(it, 0, sizeof *it);
}

item *ingest_new_item(promo_ingest *ing)
{
    if (promo_grow((void **)&ing->items, &ing->cap_items, ing->n_items + 1, sizeof *ing->items))
        return NULL;
    item *it = &ing->items[ing->n_items++];
    memset(it, 0, sizeof *it);
    it->rej = promo_calloc(1, sizeof *it->rej);
    if (!it->rej) {
        ing->n_items--;
        return NULL;
    }
    return it;
}

int ingest_add_table(promo_ingest *ing, int rc, promo_table *t, const char *table, int derived)
{
    item *it = rc ? NULL : ingest_new_item(ing);
    if (!rc && !it)
        rc = PROMO_ENOMEM;
    if (rc) {
        promo_table_free(t);
        return rc;
    }
    it->t = t;
    it->sc = promo_schema_find(table);
    it->derived = derived;
    return PROMO_OK;
}

void ingest_remove_item(promo_ingest *ing, size_t i)
{
    item_clear(&ing->items[i]);
    memmove(&ing->items[i], &ing->items[i + 1], (ing->n_items - i - 1) * sizeof *ing->items);
    ing->n_items--;
}

item *ingest_find_item(promo_ingest *ing, const char *table)
{
    for (size_t i = 0; i < ing->n_items; i++)
        if (ing->items[i].t && strcmp(ing->items[i].t->name, table) == 0)
            return &ing->items[i];
    return NULL;
}

static int mark_drop(item *it, size_t r)
{
    if (!it->drop || r >= it->drop_cap) {
        size_t cap = it->t->n_rows > r ? it->t->n_rows : r + 1;
        uint8_t *d = promo_reallocn(it->drop, cap, 1);
        if (!d)
            return PROMO_ENOMEM;
        memset(d + it->drop_cap, 0, cap - it->drop_cap);
        it->drop = d;
        it->drop_cap = cap;
    }
    it->drop[r] = 1;
    return PROMO_OK;
}

int ingest_add_rename(item *it, const char *our, const char *their)
{
    char **o = promo_reallocn(it->our, it->n_ren + 1, sizeof *o);
    if (!o)
        return PROMO_ENOMEM;
    it->our = o;
    char **t = promo_reallocn(it->their, it->n_ren + 1, sizeof *t);
    if (!t)
        return PROMO_ENOMEM;
    it->their = t;
    it->our[it->n_ren] = promo_strdup(our);
    it->their[it->n_ren] = promo_strdup(their);
    if (!it->our[it->n_ren] || !it->their[it->n_ren]) {
        promo_free(it->our[it->n_ren]);
        promo_free(it->their[it->n_ren]);
        return PROMO_ENOMEM;
    }
    it->n_ren++;
    return PROMO_OK;
}

static int push_reject(item *it, uint64_t line, uint32_t col, const char *reason, char *raw)
{
    promo_csv_rejects *r = it->rej;
    if (promo_grow((void **)&r->items, &r->cap, r->n + 1, sizeof *r->items)) {
        promo_free(raw);
        return PROMO_ENOMEM;
    }
    char *why = promo_strdup(reason);
    if (!why) {
        promo_free(raw);
        return PROMO_ENOMEM;
    }
    r->items[r->n++] = (promo_csv_reject){line, why, raw, col};
    return PROMO_OK;
}

/* A batch of rows to reject with their reasons, located in one pass over the source. */
int ingest_pending_add(pending *pd, size_t row, const char *col, const char *fmt, ...)
{
    if (pd->n == pd->cap) {
        size_t cap = pd->cap ? pd->cap * 2 : 64;
        size_t *r = promo_reallocn(pd->rows, cap, sizeof *r);
        if (!r)
            return PROMO_ENOMEM;
        pd->rows = r;
        char **s = promo_reallocn(pd->reasons, cap, sizeof *s);
        if (!s)
            return PROMO_ENOMEM;
        pd->reasons = s;
        const char **c = promo_reallocn(pd->cols, cap, sizeof *c);
        if (!c)
            return PROMO_ENOMEM;
        pd->cols = c;
        pd->cap = cap;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!(pd->reasons[pd->n] = promo_strdup(buf)))
        return PROMO_ENOMEM;
    pd->rows[pd->n] = row;
    pd->cols[pd->n] = col;
    pd->n++;
    return PROMO_OK;
}

void ingest_pending_free(pending *pd)
{
    for (size_t i = 0; i < pd->n; i++)
        promo_free(pd->reasons[i]);
    promo_free(pd->rows);
    promo_free(pd->reasons);
    promo_free(pd->cols);
    memset(pd, 0, sizeof *pd);
}

typedef struct row_idx {
    size_t row; /* table row */
    size_t i;   /* index into the pending batch */
} row_idx;

static int row_idx_cmp(const void *a, const void *b)
{
    const row_idx *x = a, *y = b;
    return x->row != y->row ? (x->row < y->row ? -1 : 1) : (x->i < y->i ? -1 : x->i > y->i);
}

/* Turn a batch into rejects of `it` (with lines and raw text) and mark the rows dropped. */
int ingest_pending_flush(item *it, pending *pd, promo_ingest_stats *st)
{
    if (pd->n == 0)
        return PROMO_OK;
    row_idx *ord = promo_mallocn(pd->n, sizeof *ord);
    size_t *rows = promo_mallocn(pd->n, sizeof *rows);
    uint64_t *lines = promo_mallocn(pd->n, sizeof *lines);
    char **raws = promo_calloc(pd->n, sizeof *raws);
    int rc = PROMO_ENOMEM;
    if (!ord || !rows || !lines || !raws)
        goto done;
    for (size_t i = 0; i < pd->n; i++)
        ord[i] = (row_idx){pd->rows[i], i};
    qsort(ord, pd->n, sizeof *ord, row_idx_cmp);
    for (size_t i = 0; i < pd->n; i++)
        rows[i] = ord[i].row;
    if ((rc = locate_rows(it, rows, pd->n, lines, raws)))
        goto done;
    for (size_t i = 0; i < pd->n; i++) {
        size_t k = ord[i].i;
        if (!ingest_is_dropped(it, rows[i]))
            st->rows_rejected++;
        if ((rc = mark_drop(it, rows[i])))
            goto done;
        unsigned col = pd->cols[k] ? source_col(it, pd->cols[k]) : 0;
        rc = push_reject(it, lines[i], col, pd->reasons[k], raws[i]);
        raws[i] = NULL;
        if (rc)
            goto done;
    }
    rc = PROMO_OK;
done:
    if (raws)
        for (size_t i = 0; i < pd->n; i++)
            promo_free(raws[i]);
    promo_free(raws);
    promo_free(lines);
    promo_free(rows);
    promo_free(ord);
    ingest_pending_free(pd);
    return rc;
}

/* ======================================================================================== */
/* Checks                                                                                   */
/* ======================================================================================== */

/* Required canonical fields must not be null. */
int ingest_check_required(promo_ingest *ing, item *it)
{
    if (!it->sc)
        return PROMO_OK;
    pending pd = {0};
    int rc = PROMO_OK;
    for (size_t f = 0; f < it->sc->n_fields && !rc; f++) {
        const promo_field *fd = &it->sc->fields[f];
        const promo_column *c = fd->required ? promo_table_column(it->t, fd->name) : NULL;
        if (!c || c->n_null == 0)
            continue;
        for (size_t r = 0; r < c->n && !rc; r++) {
            if (!promo_column_is_null(c, r) || ingest_is_dropped(it, r))
                continue;
            if (!ing->opt.skip_bad_rows) {
                char w[1200];
                if ((rc = ingest_where(it, r, fd->name, w, sizeof w)))
                    break;
                rc = promo_fail(PROMO_EINPUT,
                                "%scolumn '%s': a value is required, got an empty "
                                "field",
                                w, their_name(it, fd->name));
                break;
            }
            rc = ingest_pending_add(&pd, r, fd->name,
                                    "column '%s': a value is required, got an empty "
                                    "field",
                                    their_name(it, fd->name));
        }
    }
    if (!rc)
        rc = ingest_pending_flush(it, &pd, &ing->stats);
    ingest_pending_free(&pd);
    return rc;
}

/* What check_duplicates' callback needs. */
typedef struct dup_ctx {
    promo_ingest *ing;
    item *it;
    const promo_column *const *kc;
    size_t nk;
    pending pd; /* skip_bad_rows: the repeats, rejected together */
} dup_ctx;

/* Row dup repeats the key of row first: an error, or (skip_bad_rows) a reject. */
static int on_duplicate(void *ctx, size_t first, size_t dup)
{
    dup_ctx *d = ctx;
    const item *it = d->it;
    char key[600];
    promo_table_key_text(d->kc, d->nk, dup, key, sizeof key);
    size_t both[2] = {first, dup};
    uint64_t lines[2];
    int rc = locate_rows(it, both, 2, lines, NULL);
    if (rc)
        return rc;
    if (d->ing->opt.skip_bad_rows)
        return ingest_pending_add(&d->pd, dup, NULL,
                                  "duplicate key (%s): the same key is on line %llu", key,
                                  (unsigned long long)lines[0]);
    if (it->path)
        return promo_fail(PROMO_EINPUT, "%s:%llu: duplicate key (%s): the same key is on line %llu",
                          it->path, (unsigned long long)lines[1], key,
                          (unsigned long long)lines[0]);
    return promo_fail(PROMO_EINPUT, "table %s: duplicate key (%s)", it->t->name, key);
}

/* Key column k of row r as promo_column_key_bits gives it, for the types keys have. */
static inline uint64_t key_at(const promo_column *c, size_t r)
{
    return c->type == PROMO_COL_STRING ? c->codes[r] : (uint64_t)c->i64[r];
}

/* 1 if the keys increase strictly row after row (so they are unique): the first thing
 * promo_table_find_duplicate_keys checks too, here without a call per value (2-3% of a 5M-row
 * ingest). Same order: the raw values as unsigned, column by column. Only for string and
 * integer keys and when no row is dropped; 0 sends the caller the general way. */
static int keys_increase(const promo_column *const *kc, size_t nk, size_t n_rows)
{
    for (size_t k = 0; k < nk; k++)
        if (kc[k]->type != PROMO_COL_STRING && kc[k]->type != PROMO_COL_INT64 &&
            kc[k]->type != PROMO_COL_TIMESTAMP)
            return 0;
    for (size_t r = 1; r < n_rows; r++) {
        size_t k = 0;
        uint64_t a = 0, b = 0;
        for (; k < nk; k++) {
            a = key_at(kc[k], r - 1);
            b = key_at(kc[k], r);
            if (a != b)
                break;
        }
        if (k == nk || a > b)
            return 0;
    }
    return 1;
}

/* No two kept rows may share a key. */
static int check_duplicates(promo_ingest *ing, item *it)
{
    if (!it->sc || it->t->n_rows < 2)
        return PROMO_OK;
    const promo_column *kc[4];
    size_t nk = 0;
    for (size_t f = 0; f < it->sc->n_fields && nk < 4; f++)
        if (it->sc->fields[f].key) {
            kc[nk] = promo_table_column(it->t, it->sc->fields[f].name);
            if (!kc[nk])
                return PROMO_OK; /* a missing key column was reported already */
            nk++;
        }
    if (!it->drop && keys_increase(kc, nk, it->t->n_rows))
        return PROMO_OK;
    dup_ctx d = {ing, it, kc, nk, {0}};
    int rc = promo_table_find_duplicate_keys(kc, nk, it->t->n_rows, it->drop, it->drop_cap,
                                             on_duplicate, &d);
    if (!rc)
        rc = ingest_pending_flush(it, &d.pd, &ing->stats);
    ingest_pending_free(&d.pd);
    return rc;
}

/* ======================================================================================== */
/* Canonical helpers shared by profiles                                                    */
/* ======================================================================================== */

void ingest_free_pairs(map_pair *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        promo_free(m[i].our);
        promo_free(m[i].their);
    }
    promo_free(m);
}

int ingest_parse_pairs(const char *s, char sep, const char *opt, map_pair **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!s || !*s)
        return PROMO_OK;
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    map_pair *m = promo_calloc(cap, sizeof *m);
    if (!m)
        return PROMO_ENOMEM;
    size_t k = 0;
    const char *p = s;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, sep, len);
        if (!eq || eq == p || eq == p + len - 1) {
            ingest_free_pairs(m, k);
            return promo_fail(PROMO_EUSAGE, "%s: expected A%cB, got '%.*s'%s", opt, sep, (int)len,
                              p, sep == '=' ? " (to leave a source column out: --ignore COL)" : "");
        }
        m[k].our = promo_strndup(p, (size_t)(eq - p));
        m[k].their = promo_strndup(eq + 1, (size_t)(p + len - eq - 1));
        k++;
        if (!m[k - 1].our || !m[k - 1].their) {
            ingest_free_pairs(m, k);
            return PROMO_ENOMEM;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    *out = m;
    *n = k;
    return PROMO_OK;
}

int ingest_read_csv(promo_ingest *ing,
                    item *it,
                    const char *path,
                    const promo_csv_column *cols,
                    size_t n_cols,
                    promo_date_order order)
{
    if (!(it->path = promo_strdup(path)))
        return PROMO_ENOMEM;
    mapped m;
    int rc = map_file(path, &m);
    if (rc)
        return rc;
    rc = parse_header(&m, &it->hdr, &it->n_hdr, &it->delim);
    if (rc) {
        unmap_file(&m);
        return rc;
    }
    promo_csv_options o = promo_csv_options_default();
    o.columns = cols;
    o.n_columns = n_cols;
    o.skip_bad_rows = ing->opt.skip_bad_rows;
    o.n_threads = ing->opt.n_threads;
    o.max_field_bytes = MAX_FIELD_BYTES;
    o.date_order = order;
    promo_csv_rejects *rej = NULL;
    /* The bytes the header came from: a second read would copy the whole file again. */
    if ((rc = ingest_parse_mapped(m.p, m.n, path, &o, &it->t, &rej)))
        return rc;
    promo_csv_rejects_free(it->rej);
    it->rej = rej;
    it->n_csv_rej = rej ? rej->n : 0;
    if (!it->rej && !(it->rej = promo_calloc(1, sizeof *it->rej)))
        return PROMO_ENOMEM;
    ing->stats.rows_read += it->t->n_rows + it->n_csv_rej;
    ing->stats.rows_rejected += it->n_csv_rej;
    it->rejects_file = ing->opt.skip_bad_rows || ing->opt.unknown == PROMO_UNKNOWN_SKIP;
    return PROMO_OK;
}

/* Add `line` to transactions that lack it: 1, 2, ... per order_id in file order. */
int ingest_number_lines(item *it, const char *order_col)
{
    const promo_column *o = promo_table_column(it->t, order_col);
    promo_column *l = NULL;
    if (!o)
        return PROMO_OK;
    uint32_t n_codes = promo_dict_size(o->dict);
    uint32_t *next = promo_calloc(n_codes ? n_codes : 1, sizeof *next);
    if (!next)
        return PROMO_ENOMEM;
    int rc = promo_table_add_column(it->t, "line", PROMO_COL_INT64, &l);
    if (!rc)
        rc = promo_column_resize(l, it->t->n_rows);
    if (!rc)
        for (size_t r = 0; r < it->t->n_rows; r++)
            l->i64[r] = ++next[o->codes[r]];
    promo_free(next);
    return rc;
}

/* ======================================================================================== */
/* Public: read                                                                             */
/* ======================================================================================== */

static void compute_stats(promo_ingest *ing)
{
    promo_ingest_stats *st = &ing->stats;
    st->transactions = st->returns = st->rows_without_customer = 0;
    st->customers = st->products = st->orders = 0;
    item *tx = ingest_find_item(ing, "transactions");
    if (!tx)
        return;
    const promo_table *t = tx->t;
    const promo_column *q = promo_table_column(t, "quantity");
    const promo_column *cols[3] = {promo_table_column(t, "customer_id"),
                                   promo_table_column(t, "product_id"),
                                   promo_table_column(t, "order_id")};
    uint64_t *counts[3] = {&st->customers, &st->products, &st->orders};
    /* One pass over the rows for every count (they were four: 5M rows cost 70 ms of them). */
    uint8_t *seen[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++) {
        uint32_t nd = cols[k] ? promo_dict_size(cols[k]->dict) : 0;
        if (cols[k] && !(seen[k] = promo_calloc(nd ? nd : 1, 1)))
            goto done; /* figures only; the caller's data is fine */
    }
    if (tx->drop) {
        for (size_t r = 0; r < t->n_rows; r++) {
            if (ingest_is_dropped(tx, r))
                continue;
            st->transactions++;
            st->returns += q && !promo_column_is_null(q, r) && q->f64[r] < 0;
            st->rows_without_customer += !cols[0] || promo_column_is_null(cols[0], r);
            for (int k = 0; k < 3; k++) {
                const promo_column *c = cols[k];
                if (c && !promo_column_is_null(c, r) && !seen[k][c->codes[r]]) {
                    seen[k][c->codes[r]] = 1;
                    (*counts[k])++;
                }
            }
        }
        goto done;
    }
    /* Nothing dropped (the usual case): a column at a time, without a branch per row where
     * a column has no nulls (it runs twice per ingest: 5M rows cost ~90 ms the other way). */
    st->transactions = t->n_rows;
    for (size_t r = 0; q && r < t->n_rows; r++)
        st->returns += q->f64[r] < 0 && !promo_column_is_null(q, r);
    if (!cols[0])
        st->rows_without_customer = t->n_rows;
    for (size_t r = 0; cols[0] && cols[0]->nulls && r < t->n_rows; r++)
        st->rows_without_customer += promo_column_is_null(cols[0], r);
    for (int k = 0; k < 3; k++) {
        const promo_column *c = cols[k];
        if (!c)
            continue;
        if (c->nulls) {
            for (size_t r = 0; r < t->n_rows; r++)
                if (!promo_column_is_null(c, r))
                    seen[k][c->codes[r]] = 1;
        } else {
            for (size_t r = 0; r < t->n_rows; r++)
                seen[k][c->codes[r]] = 1;
        }
        uint32_t nd = promo_dict_size(c->dict);
        uint64_t n = 0;
        for (uint32_t i = 0; i < nd; i++)
            n += seen[k][i];
        *counts[k] = n;
    }
done:
    for (int k = 0; k < 3; k++)
        promo_free(seen[k]);
}

int promo_ingest_read(const promo_ingest_options *o,
                      const char *const *files,
                      size_t n_files,
                      promo_ingest **out)
{
    *out = NULL;
    const char *fmt = o->format ? o->format : "canonical";
    const ingest_profile *prof = NULL;
    for (size_t i = 0; i < N_PROFILES && !prof; i++)
        if (!strcmp(fmt, profiles[i].name))
            prof = &profiles[i];
    if (!prof) {
        char list[256] = "";
        for (size_t i = 0, at = 0; i < N_PROFILES && at < sizeof list; i++) {
            const char *sep = i == 0 ? "" : i + 1 == N_PROFILES ? " or " : ", ";
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", sep, profiles[i].name);
        }
        return promo_fail(PROMO_EUSAGE, "unknown format '%s': expected %s", fmt, list);
    }
    if (n_files == 0)
        return promo_fail(PROMO_EUSAGE, "no input files");
    if ((unsigned)o->unknown >= PROMO_UNKNOWN_POLICY_COUNT)
        return promo_fail(PROMO_EUSAGE, "bad unknown policy %d", (int)o->unknown);
    {
        const char *given = o->map         ? "--map"
                            : o->table     ? "--table"
                            : o->sep       ? "--sep"
                            : o->no_header ? "--no-header"
                            : o->columns   ? "--columns"
                            : o->set       ? "--set"
                            : o->amount    ? "--amount"
                            : o->ignore    ? "--ignore"
                            : o->ts_format ? "--ts-format"
                            : o->recode    ? "--recode"
                            : o->orders    ? "--orders"
                                           : NULL;
        if (given && !(prof->flags & PROFILE_MAP))
            return promo_fail(PROMO_EUSAGE,
                              "%s goes with --format canonical or generic, not %s (the profile "
                              "sets the source options itself)",
                              given, fmt);
        if (o->orders && strcmp(o->orders, "customer-second") && strcmp(o->orders, "customer-day"))
            return promo_fail(PROMO_EUSAGE, "--orders %s: expected customer-second or customer-day",
                              o->orders);
        if (o->columns && !o->no_header)
            return promo_fail(PROMO_EUSAGE, "--columns names the fields of a file without a "
                                            "header: add --no-header");
        if (o->no_header && !o->columns)
            return promo_fail(PROMO_EUSAGE,
                              "--no-header needs --columns a,b,... to name the fields");
    }
    if (o->table && n_files > 1)
        return promo_fail(PROMO_EUSAGE, "--table names the table of one file; got %zu files",
                          n_files);
    double t0 = promo_now_s();
    promo_ingest *ing = promo_calloc(1, sizeof *ing);
    if (!ing)
        return PROMO_ENOMEM;
    map_pair *map = NULL;
    size_t n_map = 0;
    int rc = PROMO_ENOMEM;
    if (!(ing->format = promo_strdup(fmt)))
        goto fail;
    if ((rc = ingest_parse_pairs(o->map, '=', "--map", &map, &n_map)))
        goto fail;
    /* Every file must be readable before we spend time parsing any of them. */
    for (size_t i = 0; i < n_files && !rc; i++) {
        char *tname = NULL;
        const char *file = files[i];
        if ((rc = split_table_arg(files[i], &tname, &file)))
            break;
        promo_free(tname);
        rc = check_readable(file);
    }
    if (rc)
        goto fail;
    {
        /* The options' borrowed strings are used only during the read. */
        ing->opt = *o;
        ing->opt.format = NULL;
        ing->map = map;
        ing->n_map = n_map;
        for (size_t i = 0; i < n_files && !rc; i++) {
            char *tname = NULL;
            const char *file = files[i];
            if ((rc = split_table_arg(files[i], &tname, &file)))
                break;
            if (tname && o->table)
                rc = promo_fail(PROMO_EUSAGE,
                                "%s: give the table either as TABLE=FILE or with "
                                "--table, not both",
                                files[i]);
            ing->cur_table = tname;
            if (!rc)
                rc = prof->read(ing, file);
            ing->cur_table = NULL;
            promo_free(tname);
        }
        if (!rc && prof->finish)
            rc = prof->finish(ing);
        ing->opt = *o;
        ing->opt.format = ing->opt.table = ing->opt.map = NULL;
        ing->opt.sep = ing->opt.columns = ing->opt.set = ing->opt.amount = NULL;
        ing->opt.ignore = ing->opt.ts_format = ing->opt.recode = ing->opt.orders = NULL;
        ing->map = NULL;
        ing->n_map = 0;
    }
    if (rc)
        goto fail;
    for (size_t i = 0; i < n_map; i++) {
        int used = 0;
        for (size_t k = 0; k < ing->n_items; k++)
            used |= ing->items[k].sc && promo_schema_field(ing->items[k].sc, map[i].our) != NULL;
        for (size_t k = 0; k < ing->n_items && !used; k++)
            used |= promo_table_column(ing->items[k].t, map[i].our) != NULL;
        if (!used) {
            rc = promo_fail(PROMO_EUSAGE, "--map %s=%s: '%s' is not a column of the target table",
                            map[i].our, map[i].their, map[i].our);
            goto fail;
        }
    }
    for (size_t i = 0; i < ing->n_items && !rc; i++) {
        item *it = &ing->items[i];
        if (it->derived)
            continue;
        if (prof->flags & PROFILE_REQUIRED)
            rc = ingest_check_required(ing, it);
        if (!rc)
            rc = check_duplicates(ing, it);
    }
    if (rc)
        goto fail;
    ingest_free_pairs(map, n_map);
    compute_stats(ing);
    ing->stats.read_s = promo_now_s() - t0;
    *out = ing;
    return PROMO_OK;
fail:
    ingest_free_pairs(map, n_map);
    promo_ingest_free(ing);
    return rc;
}

/* ======================================================================================== */
/* Public: commit                                                                           */
/* ======================================================================================== */

/* Workspace tables read for reference checks, by name. */
typedef struct ws_cache {
    promo_table **t;
    size_t n, cap;
} ws_cache;

static int ws_column(
    promo_store *s, ws_cache *wc, const char *table, const char *col, const promo_column **out)
{
    *out = NULL;
    for (size_t i = 0; i < wc->n; i++)
        if (!strcmp(wc->t[i]->name, table)) {
            *out = promo_table_column(wc->t[i], col);
            return PROMO_OK;
        }
    if (!s || !promo_store_has_table(s, table))
        return PROMO_OK;
    if (promo_grow((void **)&wc->t, &wc->cap, wc->n + 1, sizeof *wc->t))
        return PROMO_ENOMEM;
    const char *cols[] = {col};
    promo_table *t = NULL;
    int rc = promo_store_read_columns(s, table, cols, 1, &t);
    if (rc == PROMO_ENOTFOUND)
        return PROMO_OK; /* a table without that column: nothing to check against */
    if (rc)
        return rc;
    wc->t[wc->n++] = t;
    *out = promo_table_column(t, col);
    return PROMO_OK;
}

static int schema_rank(const item *it)
{
    size_t n;
    const promo_schema *all = promo_schema_all(&n);
    for (size_t i = 0; i < n; i++)
        if (it->t && !strcmp(all[i].name, it->t->name))
            return (int)i;
    return (int)n;
}

/* Append ids (other columns null) to dimension table t. */
static int
add_ids(promo_table *t, const char *col, const promo_column *src, const uint32_t *codes, size_t n)
{
    for (size_t j = 0; j < t->n_cols; j++) {
        promo_column *c = t->cols[j];
        for (size_t i = 0; i < n; i++) {
            int rc = strcmp(c->name, col)
                         ? promo_column_push_null(c)
                         : promo_column_push_str(c, promo_dict_key(src->dict, codes[i]),
                                                 promo_dict_key_len(src->dict, codes[i]));
            if (rc)
                return rc;
        }
    }
    return promo_table_seal(t);
}

/* Check one reference column of `it` and apply the policy. */
static int
check_ref(promo_ingest *ing, size_t idx, const promo_field *f, promo_store *s, ws_cache *wc)
{
    item *it = &ing->items[idx];
    const promo_column *c = promo_table_column(it->t, f->name);
    if (!c || c->type != PROMO_COL_STRING)
        return PROMO_OK;
    char ref_table[64];
    const char *dot = strchr(f->ref, '.');
    snprintf(ref_table, sizeof ref_table, "%.*s", (int)(dot - f->ref), f->ref);
    const char *ref_col = dot + 1;
    item *ri = ingest_find_item(ing, ref_table);
    const promo_column *rc_col = NULL;
    int rc = PROMO_OK;
    if (ri)
        rc_col = promo_table_column(ri->t, ref_col);
    else if ((rc = ws_column(s, wc, ref_table, ref_col, &rc_col)))
        return rc;
    if (!rc_col || rc_col->type != PROMO_COL_STRING)
        return PROMO_OK;
    size_t n = it->t->n_rows;
    uint32_t *m = promo_mallocn(n ? n : 1, sizeof *m);
    if (!m)
        return PROMO_ENOMEM;
    if ((rc = promo_column_map_to(c, rc_col->dict, m))) {
        promo_free(m);
        return rc;
    }
    const char *from = ri ? (ri->path ? ri->path : "this ingest") : "the workspace";
    pending pd = {0};
    uint32_t nd = promo_dict_size(c->dict);
    uint8_t *added = NULL;
    uint32_t *add = NULL;
    size_t n_add = 0;
    for (size_t r = 0; r < n && !rc; r++) {
        if (m[r] != PROMO_DICT_NONE || promo_column_is_null(c, r) || ingest_is_dropped(it, r))
            continue;
        const char *id = promo_dict_key(c->dict, c->codes[r]);
        if (ing->opt.unknown == PROMO_UNKNOWN_ERROR) {
            char w[1200];
            if (!(rc = ingest_where(it, r, f->name, w, sizeof w)))
                rc = promo_fail(PROMO_EINPUT,
                                "%scolumn '%s': unknown %s '%s' (not in %s from %s; --unknown "
                                "skip|add to go on)",
                                w, their_name(it, f->name), f->name, id, ref_table, from);
        } else if (ing->opt.unknown == PROMO_UNKNOWN_SKIP) {
            rc = ingest_pending_add(&pd, r, f->name, "column '%s': unknown %s '%s' (not in %s)",
                                    their_name(it, f->name), f->name, id, ref_table);
        } else {
            if (!added &&
                (!(added = promo_calloc(nd, 1)) || !(add = promo_mallocn(nd, sizeof *add))))
                rc = PROMO_ENOMEM;
            else if (!added[c->codes[r]]) {
                added[c->codes[r]] = 1;
                add[n_add++] = c->codes[r];
            }
        }
    }
    promo_free(m);
    if (!rc)
        rc = ingest_pending_flush(it, &pd, &ing->stats);
    ingest_pending_free(&pd);
    if (!rc && n_add) {
        if (!ri) {
            /* The dimension lives in the workspace: rewrite it with the new ids. */
            item *ni = ingest_new_item(ing);
            if (!ni) {
                rc = PROMO_ENOMEM;
            } else {
                ni->derived = 1;
                ni->sc = promo_schema_find(ref_table);
                if (!(rc = promo_store_read_table(s, ref_table, &ni->t)))
                    ri = ni;
                it = &ing->items[idx];
                c = promo_table_column(it->t, f->name);
            }
        }
        if (!rc)
            rc = add_ids(ri->t, ref_col, c, add, n_add);
        if (!rc) {
            ing->stats.unknown_added += n_add;
            promo_info("%s: added %zu unknown %s to %s", it->path ? it->path : it->t->name, n_add,
                       f->name, ref_table);
        }
    }
    promo_free(added);
    promo_free(add);
    return rc;
}

/* The other direction: a dimension that arrives after the tables that reference it (products
 * into a workspace that has transactions) must still hold every id they use, or the
 * workspace would hold references to nothing. ADD puts the missing ids into the new
 * dimension; ERROR and SKIP refuse (the referencing rows are not part of this ingest, so
 * there is nothing to skip). */
static int check_backrefs(promo_ingest *ing, size_t idx, promo_store *s)
{
    size_t n_sc;
    const promo_schema *all = promo_schema_all(&n_sc);
    int rc = PROMO_OK;
    for (size_t k = 0; k < n_sc && !rc; k++) {
        const promo_schema *fs = &all[k];
        if (ingest_find_item(ing, fs->name) || !s || !promo_store_has_table(s, fs->name))
            continue;
        for (size_t f = 0; f < fs->n_fields && !rc; f++) {
            const promo_field *fd = &fs->fields[f];
            item *it = &ing->items[idx];
            size_t tl = strlen(it->t->name);
            if (!fd->ref || strncmp(fd->ref, it->t->name, tl) || fd->ref[tl] != '.')
                continue;
            const char *col = fd->ref + tl + 1;
            const promo_column *dim = promo_table_column(it->t, col);
            if (!dim || dim->type != PROMO_COL_STRING)
                continue;
            const char *cols[] = {fd->name};
            promo_table *ft = NULL;
            rc = promo_store_read_columns(s, fs->name, cols, 1, &ft);
            if (rc == PROMO_ENOTFOUND) {
                rc = PROMO_OK;
                continue;
            }
            if (rc)
                break;
            const promo_column *fc = promo_table_column(ft, fd->name);
            uint32_t nd = fc && fc->type == PROMO_COL_STRING ? promo_dict_size(fc->dict) : 0;
            uint32_t *m = promo_mallocn(nd ? nd : 1, sizeof *m);
            uint8_t *used = promo_calloc(nd ? nd : 1, 1);
            uint32_t *add = promo_mallocn(nd ? nd : 1, sizeof *add);
            size_t n_add = 0;
            if (!m || !used || !add)
                rc = PROMO_ENOMEM;
            for (size_t r = 0; fc && nd && r < fc->n && !rc; r++)
                if (!promo_column_is_null(fc, r))
                    used[fc->codes[r]] = 1;
            for (uint32_t c = 0; c < nd && !rc; c++) {
                if (!used[c] || promo_dict_find(dim->dict, promo_dict_key(fc->dict, c),
                                                promo_dict_key_len(fc->dict, c)) != PROMO_DICT_NONE)
                    continue;
                if (ing->opt.unknown != PROMO_UNKNOWN_ADD) {
                    rc = promo_fail(PROMO_EINPUT,
                                    "%s: %s has no %s '%s', which %s in the workspace uses "
                                    "(ingest %s again with it, or --unknown add to create the "
                                    "missing ids)",
                                    it->path ? it->path : it->t->name, it->t->name, col,
                                    promo_dict_key(fc->dict, c), fs->name, fs->name);
                    break;
                }
                add[n_add++] = c;
            }
            if (!rc && n_add) {
                rc = add_ids(it->t, col, fc, add, n_add);
                ing->stats.unknown_added += n_add;
            }
            promo_free(m);
            promo_free(used);
            promo_free(add);
            promo_table_free(ft);
        }
    }
    return rc;
}

static void csv_quoted(char **buf, size_t *n, size_t *cap, int *failed, const char *s)
{
    size_t len = strlen(s), need = *n + 2 * len + 3;
    if (*failed || promo_grow((void **)buf, cap, need, 1)) {
        *failed = 1;
        return;
    }
    char *o = *buf + *n;
    *o++ = '"';
    for (; *s; s++) {
        if (*s == '"')
            *o++ = '"';
        *o++ = *s;
    }
    *o++ = '"';
    *n = (size_t)(o - *buf);
}

static void csv_text(char **buf, size_t *n, size_t *cap, int *failed, const char *s)
{
    size_t len = strlen(s);
    if (*failed || promo_grow((void **)buf, cap, *n + len + 1, 1)) {
        *failed = 1;
        return;
    }
    memcpy(*buf + *n, s, len);
    *n += len;
}

static int cmp_reject(const void *a, const void *b)
{
    const promo_csv_reject *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int stage_rejects(item *it, promo_store *s)
{
    size_t len = strlen(promo_store_out_dir(s)) + strlen(it->t->name) + 32;
    char *path = promo_malloc(len);
    if (!path)
        return PROMO_ENOMEM;
    snprintf(path, len, "%s/rejects-%s.csv", promo_store_out_dir(s), it->t->name);
    qsort(it->rej->items, it->rej->n, sizeof *it->rej->items, cmp_reject);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int failed = 0;
    csv_text(&buf, &n, &cap, &failed, "file,line,column,reason,raw\n");
    for (size_t i = 0; i < it->rej->n; i++) {
        const promo_csv_reject *r = &it->rej->items[i];
        char num[64];
        csv_quoted(&buf, &n, &cap, &failed, it->path ? it->path : "");
        snprintf(num, sizeof num, ",%llu,%u,", (unsigned long long)r->line, r->col);
        csv_text(&buf, &n, &cap, &failed, num);
        csv_quoted(&buf, &n, &cap, &failed, r->reason ? r->reason : "");
        csv_text(&buf, &n, &cap, &failed, ",");
        csv_quoted(&buf, &n, &cap, &failed, r->raw ? r->raw : "");
        csv_text(&buf, &n, &cap, &failed, "\n");
    }
    int rc = failed ? PROMO_ENOMEM : promo_store_stage_file(s, path, buf, n);
    promo_free(buf);
    promo_free(path);
    return rc;
}

static int item_rank_cmp(const void *a, const void *b)
{
    const item *x = a, *y = b;
    int rx = schema_rank(x), ry = schema_rank(y);
    if (rx != ry)
        return rx - ry;
    return strcmp(x->t->name, y->t->name);
}

/* The tables --append adds rows to: the ones stored as column chunks (store.h). */
static int appendable(const char *name)
{
    return !strcmp(name, "transactions") || !strcmp(name, "events") || !strcmp(name, "exposures") ||
           !strcmp(name, "responses");
}

int promo_ingest_commit(promo_ingest *ing, promo_store *s)
{
    if (ing->committed)
        return promo_fail(PROMO_EUSAGE, "ingest: commit called twice");
    ing->committed = 1;
    /* --append replaces the tables it cannot add to; for a dimension (products, customers)
     * that is the update it means, for a log (an experiment, a bandit log) it would drop the
     * rows stored before: refused, the workspace as it was. */
    for (size_t i = 0; ing->opt.append && i < ing->n_items; i++) {
        const char *nm = ing->items[i].t->name;
        if ((!strcmp(nm, "bandit") || !strcmp(nm, "experiment")) && promo_store_has_table(s, nm))
            return promo_fail(PROMO_EUSAGE,
                              "--append: the workspace's %s table would be replaced, not added "
                              "to (--append adds to transactions, events, exposures and "
                              "responses); ingest all its files in one call to keep them together",
                              nm);
    }
    double t0 = promo_now_s();
    /* Referenced tables first, so ADD to a dimension happens before it is itself checked. */
    qsort(ing->items, ing->n_items, sizeof *ing->items, item_rank_cmp);
    ws_cache wc = {0};
    int rc = PROMO_OK;
    size_t n_items = ing->n_items; /* items added by ADD need no check of their own */
    for (size_t i = 0; i < n_items && !rc; i++) {
        const promo_schema *sc = ing->items[i].sc;
        for (size_t f = 0; sc && f < sc->n_fields && !rc; f++)
            if (sc->fields[f].ref)
                rc = check_ref(ing, i, &sc->fields[f], s, &wc);
    }
    for (size_t i = 0; i < n_items && !rc; i++)
        if (ing->items[i].sc)
            rc = check_backrefs(ing, i, s);
    for (size_t i = 0; i < wc.n; i++)
        promo_table_free(wc.t[i]);
    promo_free(wc.t);
    if (rc)
        return rc;
    qsort(ing->items, ing->n_items, sizeof *ing->items, item_rank_cmp);
    compute_stats(ing);
    /* Apply the drops, then write everything in one transaction. */
    for (size_t i = 0; i < ing->n_items; i++) {
        item *it = &ing->items[i];
        if (!it->drop)
            continue;
        uint8_t *keep = promo_malloc(it->t->n_rows ? it->t->n_rows : 1);
        if (!keep)
            return PROMO_ENOMEM;
        for (size_t r = 0; r < it->t->n_rows; r++)
            keep[r] = !ingest_is_dropped(it, r);
        promo_table *nt = promo_table_filter(it->t, keep);
        promo_free(keep);
        if (!nt)
            return PROMO_ENOMEM;
        promo_table_free(it->t);
        it->t = nt;
        promo_free(it->drop);
        it->drop = NULL;
        it->drop_cap = 0;
    }
    if ((rc = promo_store_begin(s)))
        return rc;
    for (size_t i = 0; i < ing->n_items && !rc; i++) {
        item *it = &ing->items[i];
        if (ing->opt.append && !it->derived && appendable(it->t->name)) {
            /* new chunks after the stored ones; their statistics (rows, nulls, ranges) go
             * with them and the dictionaries grow, so promo info adds them up at once */
            rc = promo_store_append_table(s, it->t);
            if (rc == PROMO_EINPUT && it->path) {
                char why[1024];
                snprintf(why, sizeof why, "%s", promo_last_error());
                rc = promo_fail(rc, "%s: %s (--append)", it->path, why);
            }
        } else {
            rc = promo_store_write_table(s, it->t);
        }
        if (!rc && it->rejects_file)
            rc = stage_rejects(it, s);
        if (!rc && it->path) {
            char key[128];
            snprintf(key, sizeof key, "ingest.%s.source", it->t->name);
            rc = promo_store_meta_set(s, key, it->path);
        }
    }
    if (!rc)
        rc = promo_store_meta_set(s, "ingest.format", ing->format);
    for (size_t i = 0; i < ing->n_meta && !rc; i++)
        rc = promo_store_meta_set(s, ing->meta[i].our, ing->meta[i].their);
    if (!rc)
        rc = promo_store_commit(s);
    else
        promo_store_rollback(s);
    ing->stats.write_s = promo_now_s() - t0;
    return rc;
}

/* ======================================================================================== */
/* Accessors                                                                                */
/* ======================================================================================== */

size_t promo_ingest_n_tables(const promo_ingest *ing)
{
    return ing->n_items;
}

const promo_table *promo_ingest_table(const promo_ingest *ing, size_t i)
{
    return i < ing->n_items ? ing->items[i].t : NULL;
}

size_t promo_ingest_n_rejects(const promo_ingest *ing, size_t i)
{
    return i < ing->n_items && ing->items[i].rej ? ing->items[i].rej->n : 0;
}

const promo_ingest_stats *promo_ingest_get_stats(const promo_ingest *ing)
{
    return &ing->stats;
}

const char *promo_ingest_format(const promo_ingest *ing)
{
    return ing->format;
}

void promo_ingest_free(promo_ingest *ing)
{
    if (!ing)
        return;
    for (size_t i = 0; i < ing->n_items; i++)
        item_clear(&ing->items[i]);
    promo_free(ing->items);
    promo_free(ing->format);
    ingest_free_pairs(ing->meta, ing->n_meta);
    promo_free(ing);
}
