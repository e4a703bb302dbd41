/* promo uplift: who the offer changes, from any treatment/outcome CSV. Reads the file, encodes
 * the features, holds out a stratified test split, fits promo/uplift.h's learner on the rest
 * and evaluates every treatment arm against control on the held-out rows with
 * promo/uplift_metrics.h (Qini, AUUC, uplift@k, the best-arm policy's IPS/DR value beside every
 * single-arm policy, the four groups). The work is the library's; this file parses, encodes,
 * prints and writes files. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/log.h>
#include <promo/rng.h>
#include <promo/table.h>
#include <promo/uplift.h>
#include <promo/uplift_metrics.h>
#include <promo/uplift_policy.h>

#include "cli/cli.h"

/* A string column with more levels than this is count-encoded instead of one-hot. */
#define ONE_HOT_MAX 32
/* Points of the uplift/Qini curves. */
#define CURVE_POINTS 100

/* ---- the data set, encoded ---- */

typedef struct feature_col {
    const promo_column *c;
    int one_hot;  /* STRING: 1 one-hot (one column per level), 0 frequency (share of rows) */
    double *freq; /* frequency encoding: share of rows per code */
    size_t first; /* first output column */
    size_t width; /* output columns */
} feature_col;

typedef struct udata {
    const char *path;
    promo_table *t;
    size_t n, d;
    float *x;     /* n x d */
    int32_t *arm; /* n: 0 control */
    double *y;    /* n */
    int binary;
    int n_arms;
    const char **arm_name; /* n_arms, borrowed from the treatment dictionary; [0] is control */
    char **col_name;       /* d encoded column names */
    feature_col *fc;
    size_t n_fc;
    uint8_t *test; /* n: 1 held out */
    size_t n_test;
} udata;

static void udata_free(udata *u)
{
    promo_table_free(u->t);
    promo_free(u->x);
    promo_free(u->arm);
    promo_free(u->y);
    promo_free(u->arm_name);
    for (size_t j = 0; u->col_name && j < u->d; j++)
        promo_free(u->col_name[j]);
    promo_free(u->col_name);
    for (size_t k = 0; u->fc && k < u->n_fc; k++)
        promo_free(u->fc[k].freq);
    promo_free(u->fc);
    promo_free(u->test);
}

/* The physical line and 1-based field of data row `row`, column `name`, in the CSV at path
 * (walked the way the reader read it), for messages about values the reader accepted (empty
 * ones). 0s when the file cannot be walked. */
static void locate(const char *path, size_t row, const char *name, uint64_t *line, size_t *col)
{
    *line = 0;
    *col = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            char *nb = promo_reallocn(buf, cap, 1);
            if (!nb)
                break;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (!got)
            break;
    }
    fclose(f);
    promo_csv_walker *w = NULL;
    if (buf && !promo_csv_walker_new(buf, n, NULL, &w)) {
        promo_csv_record rec;
        size_t k = 0;
        while (promo_csv_walker_next(w, &rec)) {
            if (k == 0) {
                for (size_t j = 0; j < rec.n_stored; j++) {
                    const promo_csv_field *fl = &rec.fields[j];
                    size_t a = 0, b = fl->n;
                    while (a < b && fl->p[a] == ' ')
                        a++;
                    while (b > a && fl->p[b - 1] == ' ')
                        b--;
                    if (b - a == strlen(name) && !memcmp(fl->p + a, name, b - a))
                        *col = j + 1;
                }
            } else if (k - 1 == row) {
                *line = rec.line;
                break;
            }
            k++;
        }
    }
    promo_csv_walker_free(w);
    promo_free(buf);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Split "a,b,c" into names (copies in one buffer); *n names. */
static int split_list(const char *s, char **buf, const char ***names, size_t *n)
{
    *buf = promo_strdup(s);
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    *names = promo_mallocn(cap, sizeof **names);
    if (!*buf || !*names)
        return PROMO_ENOMEM;
    *n = 0;
    for (char *tok = *buf, *end; tok; tok = end) {
        end = strchr(tok, ',');
        if (end)
            *end++ = '\0';
        while (*tok == ' ')
            tok++;
        size_t len = strlen(tok);
        while (len && tok[len - 1] == ' ')
            tok[--len] = '\0';
        if (*tok)
            (*names)[(*n)++] = tok;
    }
    return PROMO_OK;
}

static int is_numeric(const promo_column *c)
{
    return c->type == PROMO_COL_INT64 || c->type == PROMO_COL_FLOAT64 ||
           c->type == PROMO_COL_BOOL || c->type == PROMO_COL_TIMESTAMP;
}

/* How much of the file's start is looked at to guess which columns are numbers. */
#define SNIFF_BYTES (256 * 1024)

/* A decimal number as the reader's float grammar takes it: sign, digits, a point, an exponent,
 * surrounding spaces (no inf, nan or hex). An empty or all-space field passes (a null). */
static int looks_numeric(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    while (i < n && s[i] == ' ')
        i++;
    while (n > i && s[n - 1] == ' ')
        n--;
    if (i == n)
        return 1;
    if (s[i] == '+' || s[i] == '-')
        i++;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    if (!digits)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            e++;
        if (!e)
            return 0;
    }
    return i == n;
}

/* The header's column names (trimmed, in order: *hdr, *n_hdr, one buffer *hbuf) and which of
 * them hold only numbers in the records of the file's first SNIFF_BYTES (numeric[j]). Reading
 * those columns as float64 rather than inferring their type is 2-3x cheaper for the reader;
 * a later value that is not a number makes that read fail, and load() then reads the file
 * again with every type inferred, so the result is the same either way. Returns 0 with
 * *n_hdr = 0 when the header does not suit (quoted or empty names, duplicates, no records):
 * the caller then just infers. */
static int
sniff_header(const char *path, char **hbuf, const char ***hdr, uint8_t **numeric, size_t *n_hdr)
{
    *hbuf = NULL;
    *hdr = NULL;
    *numeric = NULL;
    *n_hdr = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return PROMO_OK; /* the reader names the problem */
    char *buf = promo_malloc(SNIFF_BYTES);
    size_t n = buf ? fread(buf, 1, SNIFF_BYTES, f) : 0;
    int full = buf && n < SNIFF_BYTES && feof(f);
    fclose(f);
    if (!buf)
        return PROMO_ENOMEM;
    promo_csv_walker *w = NULL;
    promo_csv_record rec;
    size_t nf = 0, len = 0, rows = 0;
    int rc = promo_csv_walker_new(buf, n, NULL, &w), ok = 1;
    if (rc || !promo_csv_walker_next(w, &rec) || rec.problem != PROMO_CSV_OK)
        goto done;
    nf = rec.n_fields;
    for (size_t j = 0; j < nf; j++) {
        const promo_csv_field *fl = &rec.fields[j];
        ok &= !fl->quoted && fl->n > 0;
        len += fl->n + 1;
    }
    if (!ok || !(*hbuf = promo_malloc(len)) || !(*hdr = promo_mallocn(nf, sizeof **hdr)) ||
        !(*numeric = promo_mallocn(nf, 1))) {
        rc = ok ? PROMO_ENOMEM : PROMO_OK;
        goto done;
    }
    char *at = *hbuf;
    for (size_t j = 0; j < nf; j++) {
        const promo_csv_field *fl = &rec.fields[j];
        size_t a = 0, b = fl->n;
        while (a < b && fl->p[a] == ' ')
            a++;
        while (b > a && fl->p[b - 1] == ' ')
            b--;
        memcpy(at, fl->p + a, b - a);
        at[b - a] = '\0';
        ok &= b > a;
        for (size_t k = 0; k < j; k++)
            ok &= strcmp((*hdr)[k], at) != 0;
        (*hdr)[j] = at;
        (*numeric)[j] = 1;
        at += b - a + 1;
    }
    /* Records wholly inside the sample: the last one may be cut (unless the file ended). */
    while (ok && promo_csv_walker_next(w, &rec)) {
        if (!full && rec.text + rec.n_text >= buf + n)
            break;
        if (rec.problem != PROMO_CSV_OK || rec.n_fields != nf) {
            ok = 0; /* the reader reports it, with either read */
            break;
        }
        for (size_t j = 0; j < nf; j++)
            (*numeric)[j] &= (uint8_t)looks_numeric(rec.fields[j].p, rec.fields[j].n);
        rows++;
    }
    if (ok && rows)
        *n_hdr = nf;
done:
    promo_csv_walker_free(w);
    promo_free(buf);
    if (!*n_hdr) {
        promo_free(*hbuf);
        promo_free(*hdr);
        promo_free(*numeric);
        *hbuf = NULL;
        *hdr = NULL;
        *numeric = NULL;
    }
    return rc;
}

/* Read, check and encode. Messages name the file, the column and the option. */
/* Rows encoded per block (load). */
#define ENCODE_BLOCK 2048

/* A column that only numbers the rows (0, 1, 2, ... or 1, 2, 3, ...): a file saved with its
 * index (pandas' unnamed first column) carries one, and as a feature it would only learn the
 * file's order. */
static int is_row_number(const promo_column *c)
{
    if (c->n < 2 || (c->type != PROMO_COL_INT64 && c->type != PROMO_COL_FLOAT64))
        return 0;
    double first = promo_column_num(c, 0);
    if (first != 0 && first != 1)
        return 0;
    for (size_t r = 0; r < c->n; r++)
        if (promo_column_is_null(c, r) || promo_column_num(c, r) != first + (double)r)
            return 0;
    return 1;
}

static int load(const char *path,
                const char *treatment,
                const char *outcome,
                const char *control,
                const char *features,
                udata *u)
{
    char *fbuf = NULL, *hbuf = NULL;
    const char **fnames = NULL, **sorted = NULL, **hdr = NULL;
    uint8_t *numeric = NULL;
    size_t n_hdr = 0;
    promo_csv_column *typed = NULL;
    size_t n_fnames = 0;
    int rc = PROMO_OK;
    memset(u, 0, sizeof *u);
    u->path = path;
    if (!strcmp(treatment, outcome))
        return promo_fail(PROMO_EUSAGE, "--treatment and --outcome name the same column '%s'",
                          outcome);
    promo_csv_options o = promo_csv_options_default();
    const promo_csv_column want[] = {{treatment, PROMO_COL_STRING, 1},
                                     {outcome, PROMO_COL_FLOAT64, 1}};
    o.keep_other_columns = 1;
    double t0 = promo_now_s();
    /* Columns that look numeric are read as float64 (no inference); if one is not, read again
     * inferring every type, as if that first read had not happened. */
    if ((rc = sniff_header(path, &hbuf, &hdr, &numeric, &n_hdr)))
        goto done;
    size_t n_typed = 0;
    if (n_hdr) {
        if (!(typed = promo_mallocn(n_hdr + 2, sizeof *typed)))
            goto nomem;
        typed[n_typed++] = want[0];
        typed[n_typed++] = want[1];
        for (size_t j = 0; j < n_hdr; j++)
            if (numeric[j] && strcmp(hdr[j], treatment) && strcmp(hdr[j], outcome))
                typed[n_typed++] = (promo_csv_column){hdr[j], PROMO_COL_FLOAT64, 1};
    }
    rc = PROMO_EINPUT;
    if (n_typed > 2) {
        o.columns = typed;
        o.n_columns = n_typed;
        if ((rc = promo_csv_read(path, &o, &u->t, NULL)) == PROMO_EINPUT)
            promo_clear_error();
        else if (rc)
            goto done;
    }
    if (rc) {
        n_hdr = 0; /* the table's columns are in header order */
        o.columns = want;
        o.n_columns = 2;
        if ((rc = promo_csv_read(path, &o, &u->t, NULL)))
            goto done;
    }
    promo_debug("uplift: read %.3f s (%s)", promo_now_s() - t0,
                n_hdr ? "numeric-looking columns as float64" : "types inferred");
    const promo_column *tc = promo_table_column(u->t, treatment);
    const promo_column *yc = promo_table_column(u->t, outcome);
    size_t n = u->n = u->t->n_rows;
    /* empty treatment or outcome values: the reader keeps them as nulls */
    for (size_t i = 0; i < n; i++) {
        const promo_column *c = promo_column_is_null(tc, i)   ? tc
                                : promo_column_is_null(yc, i) ? yc
                                                              : NULL;
        if (c) {
            uint64_t line;
            size_t col;
            locate(path, i, c->name, &line, &col);
            rc = promo_fail(PROMO_EINPUT, "%s:%llu:%zu: column '%s': empty value (data row %zu)",
                            path, (unsigned long long)line, col, c->name, i);
            goto done;
        }
    }
    if (n < 4) {
        rc = promo_fail(PROMO_EINPUT, "%s: %zu data rows: too few to split", path, n);
        goto done;
    }

    /* arms: control first, then the others in sorted order */
    uint32_t n_vals = promo_dict_size(tc->dict);
    sorted = promo_mallocn(n_vals ? n_vals : 1, sizeof *sorted);
    if (!sorted)
        goto nomem;
    for (uint32_t v = 0; v < n_vals; v++)
        sorted[v] = promo_dict_key(tc->dict, v);
    qsort(sorted, n_vals, sizeof *sorted, cmp_str);
    const char *ctl = NULL;
    if (control) {
        for (uint32_t v = 0; v < n_vals; v++)
            if (!strcmp(sorted[v], control))
                ctl = sorted[v];
    } else {
        /* The usual names of a control arm, in order: the canonical exposures' "control",
         * Hillstrom's "No E-Mail", and the 0 of a 0/1 treatment flag (Lenta, Criteo). */
        static const char *const usual[] = {"control", "No E-Mail", "0"};
        for (size_t k = 0; k < sizeof usual / sizeof *usual && !ctl; k++)
            for (uint32_t v = 0; v < n_vals && !ctl; v++)
                if (!strcmp(sorted[v], usual[k]))
                    ctl = sorted[v];
    }
    if (!ctl || n_vals < 2) {
        char list[1024];
        size_t at = 0;
        list[0] = '\0';
        for (uint32_t v = 0; v < n_vals && at < sizeof list - 64; v++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s'%s'", v ? ", " : "", sorted[v]);
        if (n_vals < 2)
            rc = promo_fail(PROMO_EINPUT,
                            "%s: column '%s' has %u distinct value (%s): uplift needs a control "
                            "and at least one treatment arm",
                            path, treatment, n_vals, list);
        else if (control)
            rc = promo_fail(PROMO_EINPUT,
                            "--control '%s' is not a value of column '%s' in %s (values: %s)",
                            control, treatment, path, list);
        else
            rc = promo_fail(PROMO_EINPUT,
                            "%s: column '%s' has no value 'control', 'No E-Mail' or '0': name the "
                            "control arm with --control (values: %s)",
                            path, treatment, list);
        goto done;
    }
    u->n_arms = (int)n_vals;
    u->arm_name = promo_mallocn(n_vals, sizeof *u->arm_name);
    int32_t *code_arm = promo_mallocn(n_vals, sizeof *code_arm);
    if (!u->arm_name || !code_arm) {
        promo_free(code_arm);
        goto nomem;
    }
    u->arm_name[0] = ctl;
    for (uint32_t v = 0, a = 1; v < n_vals; v++)
        if (sorted[v] != ctl)
            u->arm_name[a++] = sorted[v];
    for (uint32_t v = 0; v < n_vals; v++)
        for (int a = 0; a < u->n_arms; a++)
            if (!strcmp(promo_dict_key(tc->dict, v), u->arm_name[a]))
                code_arm[v] = a;
    u->arm = promo_mallocn(n, sizeof *u->arm);
    u->y = promo_mallocn(n, sizeof *u->y);
    if (!u->arm || !u->y) {
        promo_free(code_arm);
        goto nomem;
    }
    u->binary = 1;
    for (size_t i = 0; i < n; i++) {
        u->arm[i] = code_arm[tc->codes[i]];
        u->y[i] = yc->f64[i];
        if (!isfinite(u->y[i])) {
            uint64_t line;
            size_t col;
            locate(path, i, outcome, &line, &col);
            promo_free(code_arm);
            rc = promo_fail(PROMO_EINPUT, "%s:%llu:%zu: column '%s': not a finite number", path,
                            (unsigned long long)line, col, outcome);
            goto done;
        }
        if (u->y[i] != 0 && u->y[i] != 1)
            u->binary = 0;
    }
    promo_free(code_arm);

    /* features: the named columns, or every other one */
    if (features) {
        if ((rc = split_list(features, &fbuf, &fnames, &n_fnames)))
            goto done;
        if (!n_fnames) {
            rc = promo_fail(PROMO_EUSAGE, "--features: no column named");
            goto done;
        }
        for (size_t k = 0; k < n_fnames; k++) {
            if (!promo_table_column(u->t, fnames[k])) {
                rc = promo_fail(PROMO_EINPUT, "--features: %s has no column '%s'", path, fnames[k]);
                goto done;
            }
            if (!strcmp(fnames[k], treatment) || !strcmp(fnames[k], outcome)) {
                rc = promo_fail(PROMO_EUSAGE, "--features: '%s' is the %s column, not a feature",
                                fnames[k], strcmp(fnames[k], treatment) ? "outcome" : "treatment");
                goto done;
            }
        }
    } else {
        fnames = promo_mallocn(u->t->n_cols, sizeof *fnames);
        if (!fnames)
            goto nomem;
        /* Other outcomes are measured after the treatment: as features they would leak it
         * (Hillstrom's conversion implies a visit). Columns with an outcome's name are left
         * out unless named in --features. */
        static const char *const outcome_names[] = {"visit",     "visits",    "conversion",
                                                    "converted", "spend",     "revenue",
                                                    "redeemed",  "purchased", "exposure"};
        /* in header order (the typed read puts its float64 columns first) */
        for (size_t j = 0; j < u->t->n_cols; j++) {
            const promo_column *c = n_hdr ? promo_table_column(u->t, hdr[j]) : u->t->cols[j];
            if (c == tc || c == yc)
                continue;
            int is_outcome = 0;
            for (size_t k = 0; k < sizeof outcome_names / sizeof *outcome_names; k++)
                is_outcome |= !strcasecmp(c->name, outcome_names[k]);
            if (is_outcome)
                fprintf(stderr,
                        "promo uplift: column '%s' left out of the features (an outcome, "
                        "measured after the treatment); name it in --features to use it\n",
                        c->name);
            else if (is_row_number(c))
                fprintf(stderr,
                        "promo uplift: column '%s' left out of the features (a row number: "
                        "0, 1, 2, ... or 1, 2, 3, ..., e.g. a saved pandas index); name it in "
                        "--features to use it\n",
                        c->name);
            else
                fnames[n_fnames++] = c->name;
        }
        if (!n_fnames) {
            rc = promo_fail(PROMO_EINPUT, "%s: no feature column besides '%s' and '%s'", path,
                            treatment, outcome);
            goto done;
        }
    }
    u->fc = promo_calloc(n_fnames, sizeof *u->fc);
    if (!u->fc)
        goto nomem;
    u->n_fc = n_fnames;
    size_t d = 0;
    for (size_t k = 0; k < n_fnames; k++) {
        feature_col *f = &u->fc[k];
        f->c = promo_table_column(u->t, fnames[k]);
        f->first = d;
        if (is_numeric(f->c)) {
            f->width = 1;
        } else {
            uint32_t levels = promo_dict_size(f->c->dict);
            f->one_hot = levels <= ONE_HOT_MAX;
            f->width = f->one_hot ? (levels ? levels : 1) : 1;
            if (!f->one_hot) {
                f->freq = promo_calloc(levels, sizeof *f->freq);
                if (!f->freq)
                    goto nomem;
                for (size_t i = 0; i < n; i++)
                    if (!promo_column_is_null(f->c, i))
                        f->freq[f->c->codes[i]] += 1.0 / (double)n;
            }
        }
        d += f->width;
    }
    u->d = d;
    u->col_name = promo_calloc(d, sizeof *u->col_name);
    u->x = promo_mallocn(n * d, sizeof *u->x);
    if (!u->col_name || !u->x)
        goto nomem;
    for (size_t k = 0; k < u->n_fc; k++) {
        const feature_col *f = &u->fc[k];
        for (size_t w = 0; w < f->width; w++) {
            char name[512];
            if (f->one_hot && f->c->dict && promo_dict_size(f->c->dict))
                snprintf(name, sizeof name, "%s=%s", f->c->name,
                         promo_dict_key(f->c->dict, (uint32_t)w));
            else
                snprintf(name, sizeof name, "%s", f->c->name);
            if (!(u->col_name[f->first + w] = promo_strdup(name)))
                goto nomem;
        }
    }
    /* Row blocks, every column within a block: the block of x stays in cache instead of one
     * strided pass over all of x per column (1M rows x 20 columns: 80 MB twenty times). */
    for (size_t i0 = 0; i0 < n; i0 += ENCODE_BLOCK) {
        size_t i1 = n - i0 < ENCODE_BLOCK ? n : i0 + ENCODE_BLOCK;
        for (size_t k = 0; k < u->n_fc; k++) {
            const feature_col *f = &u->fc[k];
            if (f->c->type == PROMO_COL_FLOAT64 && !f->c->nulls) {
                for (size_t i = i0; i < i1; i++)
                    u->x[i * d + f->first] = (float)f->c->f64[i];
                continue;
            }
            for (size_t i = i0; i < i1; i++) {
                float *row = u->x + i * d + f->first;
                int null = promo_column_is_null(f->c, i);
                if (is_numeric(f->c))
                    row[0] = null ? NAN : (float)promo_column_num(f->c, i);
                else if (f->one_hot)
                    for (size_t w = 0; w < f->width; w++)
                        row[w] = null ? 0.0f : (float)(f->c->codes[i] == w);
                else
                    row[0] = null ? NAN : (float)f->freq[f->c->codes[i]];
            }
        }
    }
    goto done;
nomem:
    rc = promo_fail(PROMO_ENOMEM, "out of memory");
done:
    promo_free(fbuf);
    promo_free(fnames);
    promo_free(sorted);
    promo_free(hbuf);
    promo_free(hdr);
    promo_free(numeric);
    promo_free(typed);
    return rc;
}

/* A stratified (arm x outcome class) seeded split: round(frac * size) rows of every stratum
 * are held out. Continuous outcomes stratify on y > 0 (spend: buyers and the rest). */
static int split(udata *u, double frac, uint64_t seed)
{
    size_t n = u->n, ns = (size_t)u->n_arms * 2;
    size_t *idx = promo_mallocn(n, sizeof *idx), *start = promo_calloc(ns + 1, sizeof *start);
    u->test = promo_calloc(n, 1);
    if (!idx || !start || !u->test) {
        promo_free(idx);
        promo_free(start);
        return promo_fail(PROMO_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        start[(size_t)u->arm[i] * 2 + (u->y[i] > 0) + 1]++;
    for (size_t s = 0; s < ns; s++)
        start[s + 1] += start[s];
    size_t *pos = promo_mallocn(ns, sizeof *pos);
    if (!pos) {
        promo_free(idx);
        promo_free(start);
        return promo_fail(PROMO_ENOMEM, "out of memory");
    }
    memcpy(pos, start, ns * sizeof *pos);
    for (size_t i = 0; i < n; i++)
        idx[pos[(size_t)u->arm[i] * 2 + (u->y[i] > 0)]++] = i;
    promo_rng r;
    promo_rng_init(&r, seed, 0x75706c69667473ULL /* "uplifts" */);
    u->n_test = 0;
    for (size_t s = 0; s < ns; s++) {
        size_t m = start[s + 1] - start[s], k = (size_t)floor(frac * (double)m + 0.5);
        size_t *v = idx + start[s];
        for (size_t j = 0; j < k; j++) { /* partial Fisher-Yates: the first k are held out */
            size_t q = j + (size_t)promo_rng_below(&r, m - j);
            size_t tmp = v[j];
            v[j] = v[q];
            v[q] = tmp;
            u->test[v[j]] = 1;
        }
        u->n_test += k;
    }
    promo_free(pos);
    promo_free(idx);
    promo_free(start);
    if (u->n_test == 0 || u->n_test == n)
        return promo_fail(PROMO_EUSAGE, "--test-frac %g: holds out %zu of %zu rows", frac,
                          u->n_test, n);
    /* A binary outcome seen a handful of times cannot be modelled: every figure below would be
     * the noise of those few rows, so say it before printing them (one line per arm, or one
     * line for many: a log of 34 items is not 34 warnings). */
    char rare_list[512] = "";
    int n_rare = 0;
    for (int a = 0; a < u->n_arms; a++) {
        size_t tr = 0, te = 0, tr_pos = 0;
        for (size_t i = 0; i < n; i++)
            if (u->arm[i] == a) {
                te += u->test[i];
                tr += !u->test[i];
                tr_pos += !u->test[i] && u->y[i] > 0;
            }
        if (!tr || !te)
            return promo_fail(PROMO_EINPUT,
                              "%s: arm '%s' has %zu training and %zu held-out rows: too few "
                              "(--test-frac %g)",
                              u->path, u->arm_name[a], tr, te, frac);
        size_t rare = tr_pos < tr - tr_pos ? tr_pos : tr - tr_pos;
        if (!u->binary || rare >= 10)
            continue;
        const char *which = tr_pos < tr - tr_pos ? "1" : "0";
        if (u->n_arms <= 4) {
            promo_warn("uplift: %s: arm '%s' has %zu row%s with outcome %s among its %zu "
                       "training rows: too few to learn from; its effects and metrics are noise",
                       u->path, u->arm_name[a], rare, rare == 1 ? "" : "s", which, tr);
            continue;
        }
        size_t used = strlen(rare_list);
        if (n_rare++ < 4)
            snprintf(rare_list + used, sizeof rare_list - used, "%s'%s' %zu of %zu",
                     used ? ", " : "", u->arm_name[a], rare, tr);
    }
    if (n_rare)
        promo_warn("uplift: %s: %d of %d arms have fewer than 10 training rows of one outcome "
                   "(%s%s): too few to learn from; their effects and metrics are noise",
                   u->path, n_rare, u->n_arms, rare_list, n_rare > 4 ? ", ..." : "");
    return PROMO_OK;
}

/* --cost "ARM=X,ARM=Y": per-arm contact cost in outcome units x margin. */
static int parse_costs(const char *s, const udata *u, double *cost)
{
    for (int a = 0; a < u->n_arms; a++)
        cost[a] = 0;
    if (!s)
        return PROMO_OK;
    char *buf = NULL;
    const char **items = NULL;
    size_t n = 0;
    int rc = split_list(s, &buf, &items, &n);
    for (size_t k = 0; !rc && k < n; k++) {
        char *eq = strrchr(items[k], '=');
        char *end = NULL;
        double v = eq ? strtod(eq + 1, &end) : NAN;
        if (!eq || end == eq + 1 || *end || !isfinite(v)) {
            rc = promo_fail(PROMO_EUSAGE, "--cost: expected ARM=NUMBER[,ARM=NUMBER...], got \"%s\"",
                            items[k]);
            break;
        }
        *eq = '\0';
        int found = -1;
        for (int a = 0; a < u->n_arms; a++)
            if (!strcmp(u->arm_name[a], items[k]))
                found = a;
        if (found < 0)
            rc = promo_fail(PROMO_EUSAGE, "--cost: '%s' is not an arm of %s", items[k], u->path);
        else
            cost[found] = v;
    }
    promo_free(buf);
    promo_free(items);
    return rc;
}

/* A number for JSON: null when not finite. */
static void json_num(double v)
{
    if (isfinite(v))
        printf("%.6g", v);
    else
        printf("null");
}

typedef struct policy_row {
    const char *name;
    promo_policy_value v;
    double share_treated; /* rows the policy treats (any arm) */
    double net;           /* margin x DR value - mean cost */
    /* against the best single-arm policy (the single arm of the largest net on these rows):
     * the paired difference of the nets, row by row, with its 95% interval */
    double vs, vs_lo, vs_hi;
} policy_row;

/* Row i's term of a policy's value (promo/uplift_metrics.h): DR with outcome predictions mu,
 * IPS without; e = the arm's share of the held-out rows, as promo_policy_value_estimate uses. */
static double
policy_term(int32_t pi, int32_t arm, double y, const double *mu_i, const double *share)
{
    double m = mu_i ? mu_i[pi] : 0.0;
    return m + (arm == pi ? (y - m) / share[pi] : 0.0);
}

/* Paired difference of two policies' nets on the same rows: mean and 95% interval of
 * margin (term(pol) - term(ref)) - (cost[pol] - cost[ref]). The rows are shared, so this is
 * far tighter than comparing the two policies' own intervals. */
static void policy_diff(const int32_t *pol,
                        const int32_t *ref,
                        const int32_t *arm,
                        const double *y,
                        const double *mu,
                        size_t n,
                        int K,
                        double margin,
                        const double *cost,
                        double *d,
                        double *lo,
                        double *hi)
{
    double *share = promo_calloc((size_t)K, sizeof *share);
    *d = *lo = *hi = NAN;
    if (!share || n < 2)
        goto done;
    for (size_t i = 0; i < n; i++)
        share[arm[i]] += 1.0 / (double)n;
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        const double *mi = mu ? mu + i * (size_t)K : NULL;
        double v = margin * (policy_term(pol[i], arm[i], y[i], mi, share) -
                             policy_term(ref[i], arm[i], y[i], mi, share)) -
                   (cost[pol[i]] - cost[ref[i]]);
        s += v;
        ss += v * v;
    }
    double mean = s / (double)n, var = (ss - s * mean) / (double)(n - 1);
    double se = sqrt(var > 0 ? var : 0) / sqrt((double)n);
    *d = mean;
    *lo = mean - 1.96 * se;
    *hi = mean + 1.96 * se;
done:
    promo_free(share);
}

/* "--plot out.png" with several arms: out-1.png, out-2.png, ... (arm index). */
static void plot_path(const char *path, int arm, int n_arms, char *buf, size_t n)
{
    if (n_arms == 2) {
        snprintf(buf, n, "%s", path);
        return;
    }
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        dot = path + strlen(path);
    snprintf(buf, n, "%.*s-%d%s", (int)(dot - path), path, arm, dot);
}

static int write_predictions(const char *path,
                             const udata *u,
                             const size_t *rows,
                             size_t nt,
                             const float *effect,
                             const int32_t *best)
{
    int K = u->n_arms, rc;
    promo_table *t = promo_table_new("predictions");
    promo_column *rc_row = NULL, *rc_best = NULL, **ac = promo_calloc((size_t)K, sizeof *ac);
    rc = !t || !ac ? PROMO_ENOMEM : promo_table_add_column(t, "row", PROMO_COL_INT64, &rc_row);
    for (int a = 1; !rc && a < K; a++)
        rc = promo_table_add_column(t, u->arm_name[a], PROMO_COL_FLOAT64, &ac[a]);
    if (!rc)
        rc = promo_table_add_column(t, "best_arm", PROMO_COL_STRING, &rc_best);
    if (rc == PROMO_EINPUT)
        rc = promo_fail(PROMO_EINPUT, "--predictions-out: an arm is named 'row' or 'best_arm'");
    for (size_t i = 0; !rc && i < nt; i++) {
        rc = promo_column_push_i64(rc_row, (int64_t)rows[i]);
        for (int a = 1; !rc && a < K; a++)
            rc = promo_column_push_f64(ac[a], effect[i * (size_t)(K - 1) + (size_t)(a - 1)]);
        const char *b = u->arm_name[best[i]];
        if (!rc)
            rc = promo_column_push_str(rc_best, b, strlen(b));
    }
    if (!rc && !(rc = promo_table_seal(t)))
        rc = promo_csv_write(path, t);
    promo_free(ac);
    promo_table_free(t);
    return rc;
}

/* A group's profile: the features whose mean in the group is furthest from their mean over all
 * held-out rows, in standard deviations of the feature (NaN values left out). */
#define N_PROFILE 3
typedef struct profile {
    int n;
    size_t j[N_PROFILE];
    double z[N_PROFILE], group_mean[N_PROFILE], all_mean[N_PROFILE];
} profile;

static void
group_profile(const float *x, size_t n, size_t d, const int32_t *grp, int g, profile *out)
{
    memset(out, 0, sizeof *out);
    for (size_t j = 0; j < d; j++) {
        double s = 0, ss = 0, sg = 0, c = 0, cg = 0;
        for (size_t i = 0; i < n; i++) {
            double v = x[i * d + j];
            if (isnan(v))
                continue;
            s += v;
            ss += v * v;
            c++;
            if (grp[i] == g) {
                sg += v;
                cg++;
            }
        }
        if (c < 2 || cg < 1)
            continue;
        double mean = s / c, var = ss / c - mean * mean;
        if (!(var > 1e-12))
            continue;
        double gm = sg / cg, z = (gm - mean) / sqrt(var);
        if (out->n == N_PROFILE && fabs(z) <= fabs(out->z[N_PROFILE - 1]))
            continue;
        int k = out->n < N_PROFILE ? out->n++ : N_PROFILE - 1;
        for (; k > 0 && fabs(out->z[k - 1]) < fabs(z); k--) {
            out->j[k] = out->j[k - 1];
            out->z[k] = out->z[k - 1];
            out->group_mean[k] = out->group_mean[k - 1];
            out->all_mean[k] = out->all_mean[k - 1];
        }
        out->j[k] = j;
        out->z[k] = z;
        out->group_mean[k] = gm;
        out->all_mean[k] = mean;
    }
}

static int run(const udata *u,
               promo_uplift_learner learner,
               uint64_t seed,
               int n_threads,
               double margin,
               const double *cost,
               const char *pred_out,
               const char *plot,
               int json,
               double test_frac,
               int calibrated,
               unsigned rounds,
               double eta)
{
    int K = u->n_arms, rc = PROMO_OK;
    size_t n = u->n, d = u->d, nt = u->n_test, ntr = n - nt;
    float *xtr = promo_mallocn(ntr * d, sizeof *xtr), *ytr = promo_mallocn(ntr, sizeof *ytr);
    float *xte = promo_mallocn(nt * d, sizeof *xte);
    int32_t *atr = promo_mallocn(ntr, sizeof *atr), *ate = promo_mallocn(nt, sizeof *ate);
    double *yte = promo_mallocn(nt, sizeof *yte), *score = promo_mallocn(nt, sizeof *score);
    size_t *rows = promo_mallocn(nt, sizeof *rows);
    float *effect = promo_mallocn(nt * (size_t)(K - 1), sizeof *effect);
    float *muf = promo_mallocn(nt * (size_t)K, sizeof *muf);
    double *mu = promo_mallocn(nt * (size_t)K, sizeof *mu);
    int32_t *best = promo_mallocn(nt, sizeof *best), *pol = promo_mallocn(nt, sizeof *pol);
    int32_t *best_max = promo_mallocn(nt, sizeof *best_max);
    promo_uplift_policy_cal *cal = NULL;
    int32_t *treated = promo_mallocn(nt, sizeof *treated), *grp = promo_mallocn(nt, sizeof *grp);
    double *pt = promo_mallocn(nt, sizeof *pt), *pc = promo_mallocn(nt, sizeof *pc);
    double *sy = promo_mallocn(nt, sizeof *sy);
    promo_uplift_metrics *met = promo_calloc((size_t)K, sizeof *met);
    size_t(*groups)[4] = promo_calloc((size_t)K, sizeof *groups);
    profile(*prof)[4] = promo_calloc((size_t)K, sizeof *prof);
    policy_row *pr = promo_calloc((size_t)K + 2, sizeof *pr);
    promo_uplift *m = NULL;
    if (!xtr || !ytr || !xte || !atr || !ate || !yte || !score || !rows || !effect || !muf || !mu ||
        !best || !best_max || !pol || !treated || !grp || !pt || !pc || !sy || !met || !groups ||
        !prof || !pr) {
        rc = promo_fail(PROMO_ENOMEM, "out of memory");
        goto done;
    }
    double ymean = 0;
    for (size_t i = 0, a = 0, b = 0; i < n; i++) {
        if (u->test[i]) {
            memcpy(xte + b * d, u->x + i * d, d * sizeof *xte);
            ate[b] = u->arm[i];
            yte[b] = u->y[i];
            rows[b++] = i;
        } else {
            memcpy(xtr + a * d, u->x + i * d, d * sizeof *xtr);
            atr[a] = u->arm[i];
            ytr[a] = (float)u->y[i];
            ymean += u->y[i] / (double)ntr;
            a++;
        }
    }
    promo_uplift_params p = promo_uplift_params_default(learner);
    p.seed = seed;
    p.n_threads = n_threads;
    p.gbdt.seed = seed;
    p.gbdt.nthread = n_threads;
    if (rounds)
        p.gbdt.n_rounds = (int)rounds;
    if (eta > 0)
        p.gbdt.eta = eta;
    p.tree.seed = seed;
    p.tree.n_threads = n_threads;
    promo_uplift_data train = {.x = xtr,
                               .n = ntr,
                               .d = d,
                               .arm = atr,
                               .n_arms = K,
                               .y = ytr,
                               .binary = u->binary,
                               .w = NULL};
    double t_fit = promo_now_s();
    if ((rc = promo_uplift_fit(&p, &train, &m)))
        goto done;
    double t_pred = promo_now_s();
    promo_debug("uplift: fit %.3f s", t_pred - t_fit);
    int have_mu = promo_uplift_predict_outcomes(m, xte, nt, d, muf) == PROMO_OK;
    promo_clear_error();
    if (have_mu && (learner == PROMO_UPLIFT_S || learner == PROMO_UPLIFT_T)) {
        /* S's and T's effects are these outcome differences (promo/uplift.h), in float as
         * promo_uplift_predict computes them: no second pass over the trees. */
        for (size_t i = 0; i < nt; i++)
            for (int a = 1; a < K; a++)
                effect[i * (size_t)(K - 1) + (size_t)(a - 1)] =
                    muf[i * (size_t)K + (size_t)a] - muf[i * (size_t)K];
    } else if ((rc = promo_uplift_predict(m, xte, nt, d, effect))) {
        goto done;
    }
    for (size_t i = 0; have_mu && i < nt * (size_t)K; i++)
        mu[i] = muf[i];
    /* the argmax rule, and the calibrated one (promo/uplift_policy.h: two half-size refits on
     * the training rows; the held-out rows are not looked at) */
    if ((rc = promo_uplift_policy(effect, nt, K, margin, cost, best_max)))
        goto done;
    if (calibrated) {
        double t_cal = promo_now_s();
        rc = promo_uplift_policy_calibrate(&p, &train, margin, cost, &cal);
        if (rc == PROMO_EINPUT) {
            /* the model fitted on all training rows, but half of them leave an arm too small */
            promo_warn("uplift: %s: too few rows to calibrate the policy on halves of the "
                       "training rows; the best arm is the argmax of the effects",
                       promo_last_error());
            promo_clear_error();
            calibrated = 0;
            rc = PROMO_OK;
        } else if (rc || (rc = promo_uplift_policy_apply(cal, effect, nt, margin, cost, best))) {
            goto done;
        }
        promo_debug("uplift: policy calibration %.3f s", promo_now_s() - t_cal);
    }
    if (!calibrated) {
        memcpy(best, best_max, nt * sizeof *best);
    }

    /* per arm: Qini, AUUC, uplift@k on the rows of that arm and control */
    for (int a = 1; a < K; a++) {
        size_t k = 0;
        for (size_t i = 0; i < nt; i++)
            if (ate[i] == 0 || ate[i] == a) {
                score[k] = effect[i * (size_t)(K - 1) + (size_t)(a - 1)];
                treated[k] = ate[i] == a;
                sy[k++] = yte[i];
            }
        promo_uplift_curve curve = {0};
        if ((rc = promo_uplift_evaluate(score, treated, sy, k, CURVE_POINTS, &met[a],
                                        plot ? &curve : NULL)))
            goto done;
        if (plot) {
            char path[4096], title[512];
            plot_path(plot, a, K, path, sizeof path);
            snprintf(title, sizeof title, "%s vs %s: %s learner", u->arm_name[a], u->arm_name[0],
                     promo_uplift_learner_name(learner));
            rc = promo_plot_uplift(&curve, title, path);
            promo_uplift_curve_free(&curve);
            if (rc)
                goto done;
        }
        if (have_mu) {
            for (size_t i = 0; i < nt; i++) {
                pt[i] = mu[i * (size_t)K + (size_t)a];
                pc[i] = mu[i * (size_t)K];
            }
            if ((rc = promo_uplift_groups(pt, pc, nt, ymean, grp, groups[a])))
                goto done;
            for (int g = 0; g < 4; g++)
                group_profile(xte, nt, d, grp, g, &prof[a][g]);
        }
    }

    /* policies: the best arm per row, then every arm for everyone (control first), then (with
     * the calibrated rule) the plain argmax for comparison */
    int n_pol = K + 1 + (cal != NULL);
    for (int q = 0; q < n_pol; q++) {
        double c = 0, tr = 0;
        for (size_t i = 0; i < nt; i++) {
            pol[i] = q == 0 ? best[i] : q <= K ? q - 1 : best_max[i];
            c += cost[pol[i]] / (double)nt;
            tr += (pol[i] != 0) / (double)nt;
        }
        pr[q].name = q == 0 ? "best arm" : q <= K ? u->arm_name[q - 1] : "argmax";
        if ((rc = promo_policy_value_estimate(pol, ate, yte, NULL, have_mu ? mu : NULL, nt, K,
                                              &pr[q].v)))
            goto done;
        pr[q].share_treated = tr;
        pr[q].net = margin * (isfinite(pr[q].v.dr) ? pr[q].v.dr : pr[q].v.ips) - c;
    }
    int ref = 1;
    for (int q = 2; q <= K; q++)
        if (pr[q].net > pr[ref].net)
            ref = q;
    for (size_t i = 0; i < nt; i++)
        pol[i] = ref - 1;
    for (int q = 0; q < n_pol; q++) {
        pr[q].vs = pr[q].vs_lo = pr[q].vs_hi = NAN;
        if (q >= 1 && q <= K)
            continue;
        policy_diff(q == 0 ? best : best_max, pol, ate, yte, have_mu ? mu : NULL, nt, K, margin,
                    cost, &pr[q].vs, &pr[q].vs_lo, &pr[q].vs_hi);
    }
    if (pred_out && (rc = write_predictions(pred_out, u, rows, nt, effect, best)))
        goto done;
    promo_debug("uplift: predict, metrics, groups, policies %.3f s", promo_now_s() - t_pred);

    if (json) {
        printf("{\"data\":");
        cli_json_str(stdout, u->path);
        printf(",\"learner\":\"%s\",\"rows\":%zu,\"train\":%zu,\"test\":%zu,\"test_frac\":",
               promo_uplift_learner_name(learner), n, ntr, nt);
        json_num(test_frac);
        printf(",\"outcome\":\"%s\",\"control\":", u->binary ? "binary" : "continuous");
        cli_json_str(stdout, u->arm_name[0]);
        printf(",\"features\":[");
        for (size_t k = 0; k < u->n_fc; k++) {
            const feature_col *f = &u->fc[k];
            printf("%s{\"column\":", k ? "," : "");
            cli_json_str(stdout, f->c->name);
            printf(",\"encoding\":\"%s\",\"width\":%zu}",
                   is_numeric(f->c) ? "numeric"
                   : f->one_hot     ? "one-hot"
                                    : "frequency",
                   f->width);
        }
        printf("],\"arms\":[");
        for (int a = 1; a < K; a++) {
            const promo_uplift_metrics *e = &met[a];
            printf("%s{\"arm\":", a > 1 ? "," : "");
            cli_json_str(stdout, u->arm_name[a]);
            printf(",\"n_treated\":%zu,\"n_control\":%zu,\"qini\":", e->n_treated, e->n_control);
            json_num(e->qini_coef);
            printf(",\"auuc\":");
            json_num(e->auuc);
            printf(",\"ate\":");
            json_num(e->ate);
            printf(",\"uplift_at_10\":");
            json_num(e->uplift_at[0]);
            printf(",\"uplift_at_20\":");
            json_num(e->uplift_at[1]);
            printf(",\"uplift_at_30\":");
            json_num(e->uplift_at[2]);
            if (have_mu) {
                printf(",\"groups\":{");
                for (int g = 0; g < 4; g++)
                    printf("%s\"%s\":%zu", g ? "," : "", promo_uplift_group_name(g), groups[a][g]);
                printf("},\"profiles\":{");
                for (int g = 0; g < 4; g++) {
                    printf("%s\"%s\":[", g ? "," : "", promo_uplift_group_name(g));
                    for (int k = 0; k < prof[a][g].n; k++) {
                        printf("%s{\"feature\":", k ? "," : "");
                        cli_json_str(stdout, u->col_name[prof[a][g].j[k]]);
                        printf(",\"group_mean\":");
                        json_num(prof[a][g].group_mean[k]);
                        printf(",\"mean\":");
                        json_num(prof[a][g].all_mean[k]);
                        printf(",\"sd_from_mean\":");
                        json_num(prof[a][g].z[k]);
                        printf("}");
                    }
                    printf("]");
                }
                printf("}");
            }
            printf("}");
        }
        printf("],\"margin\":");
        json_num(margin);
        printf(",\"policies\":[");
        for (int q = 0; q < n_pol; q++) {
            printf("%s{\"policy\":", q ? "," : "");
            cli_json_str(stdout, pr[q].name);
            printf(",\"treated_share\":");
            json_num(pr[q].share_treated);
            const double v[] = {pr[q].v.ips,   pr[q].v.ips_lo, pr[q].v.ips_hi, pr[q].v.dr,
                                pr[q].v.dr_lo, pr[q].v.dr_hi,  pr[q].net};
            const char *const nm[] = {"ips", "ips_lo", "ips_hi", "dr", "dr_lo", "dr_hi", "net"};
            for (size_t j = 0; j < 7; j++) {
                printf(",\"%s\":", nm[j]);
                json_num(have_mu || j < 3 || j == 6 ? v[j] : NAN);
            }
            if (q == 0 || q > K) {
                printf(",\"vs_best_single\":");
                json_num(pr[q].vs);
                printf(",\"vs_lo\":");
                json_num(pr[q].vs_lo);
                printf(",\"vs_hi\":");
                json_num(pr[q].vs_hi);
            }
            printf("}");
        }
        printf("],\"policy_rule\":\"%s\",\"best_single\":", calibrated ? "calibrated" : "argmax");
        cli_json_str(stdout, pr[ref].name);
        printf(",\"policy_estimator\":\"%s\"", have_mu ? "dr" : "ips");
        if (cal) {
            printf(",\"policy_calibration\":{\"base_arm\":");
            cli_json_str(stdout, u->arm_name[cal->base_arm]);
            printf(",\"rows\":%zu,\"arms\":[", cal->n_rows);
            for (int a = 0, k = 0; a < K; a++) {
                if (a == cal->base_arm)
                    continue;
                printf("%s{\"arm\":", k++ ? "," : "");
                cli_json_str(stdout, u->arm_name[a]);
                printf(",\"gain\":");
                json_num(cal->level[a]);
                printf(",\"slope\":");
                json_num(cal->slope[a]);
                printf(",\"slope_se\":");
                json_num(cal->slope_se[a]);
                printf(",\"slope_used\":");
                json_num(cal->c[a]);
                printf("}");
            }
            printf("]}");
        }
        printf("}\n");
    } else {
        printf("%s: %zu rows (%zu train, %zu held out, stratified by arm and outcome), %s "
               "outcome, control '%s', learner %s\n",
               u->path, n, ntr, nt, u->binary ? "binary" : "continuous", u->arm_name[0],
               promo_uplift_learner_name(learner));
        printf("features (%zu columns):", d);
        for (size_t k = 0; k < u->n_fc; k++) {
            const feature_col *f = &u->fc[k];
            printf("%s %s", k ? "," : "", f->c->name);
            if (!is_numeric(f->c))
                printf(" (%s)", f->one_hot ? "one-hot" : "frequency");
        }
        printf("\n\n%-20s %8s %8s %10s %10s %10s %10s %10s\n", "arm vs control", "treated",
               "control", "qini", "auuc", "ate", "uplift@10", "uplift@30");
        for (int a = 1; a < K; a++) {
            const promo_uplift_metrics *e = &met[a];
            printf("%-20s %8zu %8zu %10.4f %10.4f %10.4f %10.4f %10.4f\n", u->arm_name[a],
                   e->n_treated, e->n_control, e->qini_coef, e->auuc, e->ate, e->uplift_at[0],
                   e->uplift_at[2]);
        }
        if (have_mu) {
            printf("\nthe four groups (held-out rows; predicted outcome treated vs control, "
                   "threshold %.4g = the training mean):\n%-20s",
                   ymean, "arm");
            for (int g = 0; g < 4; g++)
                printf(" %13s", promo_uplift_group_name(g));
            printf("\n");
            for (int a = 1; a < K; a++) {
                printf("%-20s", u->arm_name[a]);
                for (int g = 0; g < 4; g++)
                    printf(" %13zu", groups[a][g]);
                printf("\n");
            }
            printf("profiles (the features whose group mean is furthest from all held-out rows' "
                   "mean, in sd):\n");
            for (int a = 1; a < K; a++)
                for (int g = 0; g < 4; g++) {
                    if (!groups[a][g])
                        continue;
                    if (groups[a][g] == nt) { /* everyone: no mean to stand apart from */
                        printf("  %-18.18s %-14s every held-out row: the model tells no one "
                               "apart\n",
                               u->arm_name[a], promo_uplift_group_name(g));
                        continue;
                    }
                    printf("  %-18.18s %-14s", u->arm_name[a], promo_uplift_group_name(g));
                    for (int k = 0; k < prof[a][g].n; k++)
                        printf("%s %s %+.2f (%.4g vs %.4g)", k ? "," : "",
                               u->col_name[prof[a][g].j[k]], prof[a][g].z[k],
                               prof[a][g].group_mean[k], prof[a][g].all_mean[k]);
                    printf("\n");
                }
        }
        printf("\npolicy value (mean outcome if every held-out row got the policy's arm; 95%% "
               "intervals), margin %g, rule %s:\n%-20s %7s %26s %26s %10s %28s\n",
               margin, calibrated ? "calibrated" : "argmax", "policy", "treated", "IPS",
               have_mu ? "DR" : "DR (no outcome model)", "net", "net - best single (paired)");
        for (int q = 0; q < n_pol; q++) {
            printf("%-20s %6.1f%% %9.4f [%6.4f,%6.4f]", pr[q].name, 100 * pr[q].share_treated,
                   pr[q].v.ips, pr[q].v.ips_lo, pr[q].v.ips_hi);
            if (have_mu)
                printf(" %9.4f [%6.4f,%6.4f]", pr[q].v.dr, pr[q].v.dr_lo, pr[q].v.dr_hi);
            else
                printf(" %26s", "-");
            printf(" %10.4f", pr[q].net);
            if (q == 0 || q > K)
                printf(" %9.4f [%7.4f,%7.4f]", pr[q].vs, pr[q].vs_lo, pr[q].vs_hi);
            printf("\n");
        }
        printf("best single arm on these rows: %s (%s)\n", pr[ref].name, have_mu ? "DR" : "IPS");
        if (cal) {
            printf("calibrated rule (training rows, 2-fold cross-fitted): base arm %s",
                   u->arm_name[cal->base_arm]);
            for (int a = 0; a < K; a++)
                if (a != cal->base_arm)
                    printf("; %s: gain %.4g, slope %.3g +- %.3g -> %.3g", u->arm_name[a],
                           cal->level[a], cal->slope[a], cal->slope_se[a], cal->c[a]);
            printf("\n");
        }
        if (pred_out)
            printf("\npredictions for the %zu held-out rows written to %s\n", nt, pred_out);
    }
done:
    promo_uplift_free(m);
    promo_free(xtr);
    promo_free(ytr);
    promo_free(xte);
    promo_free(atr);
    promo_free(ate);
    promo_free(yte);
    promo_free(score);
    promo_free(rows);
    promo_free(effect);
    promo_free(muf);
    promo_free(mu);
    promo_free(best);
    promo_free(best_max);
    promo_uplift_policy_cal_free(cal);
    promo_free(pol);
    promo_free(treated);
    promo_free(grp);
    promo_free(pt);
    promo_free(pc);
    promo_free(sy);
    promo_free(met);
    promo_free(groups);
    promo_free(prof);
    promo_free(pr);
    return rc;
}

int cmd_uplift(int argc, char **argv)
{
    static const char *const learner_words[] = {"s",    "t",      "x",  "r", "dr",
                                                "tree", "forest", "ct", NULL};
    const char *data = NULL, *treatment = NULL, *outcome = NULL, *control = NULL;
    const char *features = NULL, *pred_out = NULL, *plot = NULL, *costs = NULL;
    static const char *const policy_words[] = {"argmax", "calibrated", NULL};
    unsigned learner = 1;     /* t */
    unsigned policy_rule = 1; /* calibrated */
    double test_frac = 0.3, margin = 1.0, eta = 0;
    unsigned rounds = 0;
    unsigned long long seed = 1;
    unsigned n_threads = 0;
    int json = 0;
    const cli_opt opts[] = {
        {CLI_PATH("data", "FILE.csv", &data), .required = 1,
         .help = "the treatment/outcome table: a CSV with a header"},
        {CLI_STRING("treatment", "COL", &treatment), .required = 1,
         .help = "the column naming each row's arm (its distinct values are the arms)"},
        {CLI_STRING("outcome", "COL", &outcome), .required = 1,
         .help = "the numeric outcome column (binary when every value is 0 or 1)"},
        {CLI_STRING("control", "VALUE", &control), .help = "the treatment value of the control arm",
         .def = "control, else No E-Mail, else 0"},
        {CLI_ENUM("learner", learner_words, &learner),
         .help = "S-, T-, X-, R-, DR-learner (XGBoost base models), uplift tree or forest, or "
                 "ct: class transformation (one XGBoost model of the effect per arm; eta 0.15 "
                 "and bigger leaves by default; on 1M rows t's Qini with 55 trees instead of 340, "
                 "in half the CPU time)"},
        {CLI_STRING("features", "COLS", &features),
         .help = "comma-separated feature columns; string columns are one-hot encoded (at "
                 "most 32 levels) or frequency encoded",
         .def = "every other column but those named like an outcome: visit, conversion, "
                "converted, spend, revenue, redeemed, purchased, exposure"},
        {CLI_NUMBER("test-frac", "F", 0, 1, &test_frac),
         .help = "share of the rows held out (stratified by arm and outcome), strictly "
                 "between 0 and 1"},
        {CLI_SEED(&seed), .help = "split and model seed"},
        {CLI_NUMBER("margin", "M", 0, 1e12, &margin),
         .help = "value of one unit of outcome, for the best-arm policy"},
        {CLI_ENUM("policy", policy_words, &policy_rule),
         .help = "the best-arm rule: argmax of effect x margin - cost, or calibrated (the best "
                 "single arm on the training rows, another arm only where cross-fitted "
                 "predictions confirm its gain; two more half-size fits)"},
        {CLI_STRING("cost", "ARM=X,...", &costs),
         .help = "cost per row treated with each arm, in the units of margin x outcome",
         .def = "0"},
        {CLI_PATH("predictions-out", "FILE.csv", &pred_out),
         .help = "write row (0-based data row of --data), one effect column per treatment arm "
                 "(named as the arm) and best_arm for every held-out row"},
        {CLI_PATH("plot", "FILE.png", &plot),
         .help = "uplift and Qini curves (several arms: FILE-1.png, FILE-2.png, ...)"},
        {CLI_UINT("rounds", "N", 1, 100000, &rounds),
         .help = "boosting rounds at most per base model (early stopping)", .def = "300"},
        {CLI_NUMBER("eta", "X", 0.001, 1, &eta), .help = "the base models' learning rate",
         .def = "0.1; ct 0.15"},
        {CLI_THREADS(&n_threads)},
        {CLI_JSON(&json), .help = "print the result as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "uplift",
        .usage = "usage: promo uplift --data FILE.csv --treatment COL --outcome COL\n"
                 "                    [--control VALUE] [--learner s|t|x|r|dr|tree|forest|ct]\n"
                 "                    [--features COLS] [--test-frac 0.3] [--seed S]\n"
                 "                    [--predictions-out FILE.csv] [--json] [--plot FILE.png]\n",
        .about = "Estimate who each treatment arm changes, from a CSV of rows with their arm and\n"
                 "outcome: fit the uplift learner on a stratified training split, then on the\n"
                 "held-out rows report per arm vs control the Qini coefficient, AUUC and\n"
                 "uplift@k, the four groups (learners with outcome models), and the value of\n"
                 "the best-arm policy (effect x margin - cost; by default calibrated on halves\n"
                 "of the training rows) beside every single-arm policy by IPS and doubly\n"
                 "robust estimators with 95% intervals, and its paired difference to the\n"
                 "best single arm.",
        .opts = opts,
        .epilog = "exit status: 0 ok, 1 internal failure, 2 bad input or usage\n",
    };
    int rc = cli_parse(&spec, argc, argv, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if (!(test_frac > 0 && test_frac < 1))
        return cli_usage_error("uplift",
                               "--test-frac: expected a number strictly between 0 and "
                               "1, got %g",
                               test_frac);
    udata u;
    double *cost = NULL;
    double t0 = promo_now_s();
    if (!(rc = load(data, treatment, outcome, control, features, &u)) &&
        !(rc = split(&u, test_frac, seed))) {
        promo_debug("uplift: read, encode, split %.3f s", promo_now_s() - t0);
        cost = promo_calloc((size_t)u.n_arms, sizeof *cost);
        rc = !cost ? PROMO_ENOMEM : parse_costs(costs, &u, cost);
    }
    if (!rc)
        rc = run(&u, (promo_uplift_learner)learner, seed, (int)n_threads, margin, cost, pred_out,
                 plot, json, test_frac, policy_rule == 1, rounds, eta);
    promo_free(cost);
    udata_free(&u);
    if (rc == PROMO_EUSAGE) {
        fprintf(stderr, "promo uplift: %s\n", promo_last_error());
        return CLI_EXIT_INPUT;
    }
    return cli_report(rc);
}
