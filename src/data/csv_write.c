/* CSV writer: RFC 4180 output that promo_csv_read reads back to the same table.
 *
 * Quoting only where needed: a field is quoted when it contains the delimiter, a quote, CR or
 * LF, starts or ends with a space or tab (the reader trims those for non-string types), or is
 * the non-null empty string ("" reads back as the empty string; an unquoted empty field is
 * null). Floats use the shortest of %.15g/%.16g/%.17g that reads back exactly; NaN and
 * infinities have no CSV form the reader accepts, so they are written as null (empty).
 * Written through promo_outfile (outfile.h): a regular file by temporary, fsync and rename,
 * a device or FIFO in place with every write checked, a symlink followed. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/outfile.h>

#include "data/csv_internal.h"

static int needs_quotes(const char *s, size_t n)
{
    if (n == 0)
        return 1;
    if (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
        return 1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            return 1;
    return 0;
}

static void put_text(FILE *f, const char *s, size_t n)
{
    if (!needs_quotes(s, n)) {
        fwrite(s, 1, n, f);
        return;
    }
    putc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            putc('"', f);
        putc(s[i], f);
    }
    putc('"', f);
}

static void put_value(FILE *f, const promo_column *c, size_t r)
{
    if (promo_column_is_null(c, r))
        return;
    char buf[64];
    switch (c->type) {
    case PROMO_COL_INT64:
        fprintf(f, "%" PRId64, c->i64[r]);
        break;
    case PROMO_COL_TIMESTAMP:
        promo_time_format(c->i64[r], 0, buf, sizeof buf);
        fputs(buf, f);
        break;
    case PROMO_COL_FLOAT64:
        if (isfinite(c->f64[r])) {
            size_t n = csv_format_f64(c->f64[r], buf, sizeof buf);
            fwrite(buf, 1, n, f);
        }
        break;
    case PROMO_COL_BOOL:
        fputs(c->b[r] ? "true" : "false", f);
        break;
    default:
        put_text(f, promo_dict_key(c->dict, c->codes[r]), promo_dict_key_len(c->dict, c->codes[r]));
        break;
    }
}

int promo_csv_write(const char *path, const promo_table *t)
{
    if (!path || !t)
        return promo_fail(PROMO_EUSAGE, "promo_csv_write: NULL argument");
    promo_outfile *o = NULL;
    int rc = promo_outfile_open(path, &o);
    if (rc)
        return rc;
    if ((rc = promo_csv_write_stream(promo_outfile_stream(o), t))) {
        promo_outfile_abort(o);
        return rc;
    }
    return promo_outfile_commit(o);
}

int promo_csv_write_stream(FILE *f, const promo_table *t)
{
    for (size_t c = 0; c < t->n_cols; c++) {
        if (c)
            putc(',', f);
        put_text(f, t->cols[c]->name, strlen(t->cols[c]->name));
    }
    putc('\n', f);
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            if (c)
                putc(',', f);
            put_value(f, t->cols[c], r);
        }
        putc('\n', f);
    }
    return PROMO_OK; /* write errors stay in ferror(f) for the caller's commit */
}
