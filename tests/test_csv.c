/* Tests of the CSV reader and writer (src/data/csv*.c): RFC 4180 edge cases, type inference,
 * schemas, every bad-input rule of the foundation issue with its exact message, rejects,
 * parallel == serial, writer round trip, allocation torture and the fuzz corpus replay. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/rng.h>
#include <promo/timeutil.h>

#include "data/csv_internal.h"
#include "t.h"

#define FIX "tests/fixtures/csv/"

/* From fuzz/fuzz_csv.c, linked into the test binary. */
int fuzz_csv_one(const uint8_t *data, size_t n);
int fuzz_csv_paths(const uint8_t *data, size_t n, const promo_csv_options *o);
int fuzz_csv_tables_equal(const promo_table *a, const promo_table *b, char *why, size_t cap);

static promo_table *read_str(const char *s, const promo_csv_options *o)
{
    promo_table *t = NULL;
    int rc = promo_csv_read_buffer(s, strlen(s), "t.csv", o, &t, NULL);
    T_ASSERT_MSG(rc == PROMO_OK, "read failed (%d): %s", rc, promo_last_error());
    return t;
}

/* Read s expecting failure with status rc; returns promo_last_error(). */
static const char *read_fail(const char *s, size_t n, const promo_csv_options *o, int rc)
{
    promo_table *t = NULL;
    int got = promo_csv_read_buffer(s, n, "t.csv", o, &t, NULL);
    T_ASSERT_MSG(got == rc, "expected status %d, got %d: %s", rc, got, promo_last_error());
    T_ASSERT(t == NULL);
    return promo_last_error();
}

static const char *file_fail(const char *path, const promo_csv_options *o, int rc)
{
    promo_table *t = NULL;
    int got = promo_csv_read(path, o, &t, NULL);
    T_ASSERT_MSG(got == rc, "expected status %d, got %d: %s", rc, got, promo_last_error());
    T_ASSERT(t == NULL);
    return promo_last_error();
}

static const char *str_at(const promo_table *t, const char *col, size_t r)
{
    const promo_column *c = promo_table_column(t, col);
    T_ASSERT_MSG(c && c->type == PROMO_COL_STRING, "no string column '%s'", col);
    return promo_column_str(c, r);
}

static const promo_column *col_of(const promo_table *t, const char *name, promo_col_type type)
{
    const promo_column *c = promo_table_column(t, name);
    T_ASSERT_MSG(c != NULL, "no column '%s'", name);
    T_ASSERT_MSG(c->type == type, "column '%s' is %s, expected %s", name,
                 promo_col_type_name(c->type), promo_col_type_name(type));
    return c;
}

/* ---- RFC 4180 ---------------------------------------------------------------------------- */

T_TEST(csv_quoting_edge_cases)
{
    promo_table *t = NULL;
    T_OK(promo_csv_read(FIX "quoting.csv", NULL, &t, NULL));
    T_ASSERT_STR_EQ(t->name, "quoting");
    T_ASSERT_EQ_INT(t->n_rows, 5);
    T_ASSERT_STR_EQ(str_at(t, "text", 0), "multi\nline, with comma");
    T_ASSERT_STR_EQ(str_at(t, "text", 1), "\"quoted\"");
    const promo_column *text = col_of(t, "text", PROMO_COL_STRING);
    T_ASSERT(promo_column_is_null(text, 2));  /* unquoted empty: null */
    T_ASSERT(!promo_column_is_null(text, 3)); /* "": the empty string */
    T_ASSERT_STR_EQ(str_at(t, "text", 3), "");
    T_ASSERT_STR_EQ(str_at(t, "text", 4), "ab\"c"); /* a quote inside an unquoted field */
    const promo_column *n = col_of(t, "n", PROMO_COL_INT64);
    T_ASSERT(promo_column_is_null(n, 2));
    T_ASSERT_EQ_INT(n->i64[4], 5);
    promo_table_free(t);

    /* A quoted last field at EOF without a newline, a trailing delimiter, a lone CR as data. */
    t = read_str("a,b,c\n\"x\",y\rz,\n1,2,\"3\"", NULL);
    T_ASSERT_EQ_INT(t->n_rows, 2);
    T_ASSERT_STR_EQ(str_at(t, "b", 0), "y\rz");
    T_ASSERT(promo_column_is_null(promo_table_column(t, "c"), 0));
    promo_table_free(t);

    const char *m = read_fail("a,b\n\"x\"y,1\n", 11, NULL, PROMO_EINPUT);
    T_ASSERT_STR_EQ(m, "t.csv:2:1: column 'a': unexpected text after a closing quote (quotes "
                       "inside a quoted field must be doubled)");
}

T_TEST(csv_crlf_and_bom)
{
    promo_table *t = NULL;
    T_OK(promo_csv_read(FIX "crlf_bom.csv", NULL, &t, NULL));
    T_ASSERT_EQ_INT(t->n_rows, 2);
    T_ASSERT_EQ_INT(t->n_cols, 3);
    T_ASSERT_STR_EQ(t->cols[0]->name, "id"); /* the BOM is not part of the name */
    T_ASSERT_STR_EQ(str_at(t, "name", 0), "Smith, J");
    T_ASSERT_STR_EQ(str_at(t, "name", 1), "say \"hi\"");
    const promo_column *w = col_of(t, "when", PROMO_COL_TIMESTAMP);
    int64_t ts;
    T_ASSERT_EQ_INT(promo_time_parse("2024-01-03", 10, PROMO_DATE_ISO, &ts), 0);
    T_ASSERT_EQ_INT(w->i64[1], ts);
    promo_table_free(t);

    /* CRLF inside a quoted field is data; CRLF ending records is not. */
    t = read_str("a,b\r\n\"l1\r\nl2\",2\r\n", NULL);
    T_ASSERT_STR_EQ(str_at(t, "a", 0), "l1\r\nl2");
    T_ASSERT_EQ_INT(col_of(t, "b", PROMO_COL_INT64)->i64[0], 2);
    promo_table_free(t);
}

T_TEST(csv_delimiter_detection)
{
    promo_table *t = NULL;
    T_OK(promo_csv_read(FIX "semicolon.csv", NULL, &t, NULL));
    T_ASSERT_EQ_INT(t->n_cols, 3);
    T_ASSERT_STR_EQ(str_at(t, "name", 0), "a;b");
    const promo_column *amount = col_of(t, "amount", PROMO_COL_FLOAT64);
    T_ASSERT_NEAR(amount->f64[0], 1.5, 0);
    T_ASSERT(promo_column_is_null(amount, 1));
    promo_table_free(t);

    t = read_str("x\ty\n1\t2\n", NULL);
    T_ASSERT_EQ_INT(t->n_cols, 2);
    promo_table_free(t);
    t = read_str("x|y|z\n1|2|3\n", NULL);
    T_ASSERT_EQ_INT(t->n_cols, 3);
    promo_table_free(t);
    /* An explicit delimiter wins over detection. */
    promo_csv_options o = promo_csv_options_default();
    o.delimiter = ',';
    t = read_str("a;b,c\n1;2,3\n", &o);
    T_ASSERT_EQ_INT(t->n_cols, 2);
    T_ASSERT_STR_EQ(t->cols[0]->name, "a;b");
    promo_table_free(t);
}

/* ---- types ------------------------------------------------------------------------------- */

T_TEST(csv_type_inference)
{
    promo_table *t = read_str("i,f,b,ts,s,nul,ymd,mixdate,big,sp\n"
                              "1,1,true,2024-01-02,x,,20240102,20240102,1,\n"
                              "-2,2.5,FALSE,2024-01-03 10:00:00,1,,20240103,2024-01-03,"
                              "99999999999999999999, \n"
                              ",,,,,\"\",,,,a\n",
                              NULL);
    T_ASSERT_EQ_INT(t->n_rows, 3);
    const promo_column *i = col_of(t, "i", PROMO_COL_INT64);
    T_ASSERT_EQ_INT(i->i64[1], -2);
    T_ASSERT(promo_column_is_null(i, 2));
    T_ASSERT_EQ_INT(i->n_null, 1);
    T_ASSERT_NEAR(col_of(t, "f", PROMO_COL_FLOAT64)->f64[1], 2.5, 0);
    const promo_column *b = col_of(t, "b", PROMO_COL_BOOL);
    T_ASSERT_EQ_INT(b->b[0], 1);
    T_ASSERT_EQ_INT(b->b[1], 0);
    const promo_column *ts = col_of(t, "ts", PROMO_COL_TIMESTAMP);
    T_ASSERT_EQ_INT(ts->i64[1] - ts->i64[0], 86400 + 36000);
    col_of(t, "s", PROMO_COL_STRING);
    col_of(t, "nul", PROMO_COL_STRING); /* nothing but nulls */
    col_of(t, "ymd", PROMO_COL_INT64);  /* an integer before a date */
    col_of(t, "mixdate", PROMO_COL_TIMESTAMP);
    col_of(t, "big", PROMO_COL_FLOAT64); /* overflows int64, still a number */
    T_ASSERT_STR_EQ(str_at(t, "sp", 1), " ");
    promo_table_free(t);
}

T_TEST(csv_schema_override_and_columns)
{
    static const promo_csv_column cols[] = {
        {"qty", PROMO_COL_FLOAT64, 1},
        {"sku", PROMO_COL_STRING, 1},
        {"optional", PROMO_COL_INT64, 0},
        {"flag", PROMO_COL_BOOL, 0},
    };
    promo_csv_options o = promo_csv_options_default();
    o.columns = cols;
    o.n_columns = 4;
    promo_table *t = read_str(" sku , qty,flag,other\n007,3,yes,x\n008,,0,y\n", &o);
    /* Requested columns in the order asked; absent optional ones are left out. */
    T_ASSERT_EQ_INT(t->n_cols, 3);
    T_ASSERT_STR_EQ(t->cols[0]->name, "qty");
    T_ASSERT_STR_EQ(t->cols[1]->name, "sku");
    T_ASSERT_STR_EQ(str_at(t, "sku", 0), "007"); /* a string, not the integer 7 */
    const promo_column *q = col_of(t, "qty", PROMO_COL_FLOAT64);
    T_ASSERT_NEAR(q->f64[0], 3.0, 0);
    T_ASSERT(promo_column_is_null(q, 1));
    const promo_column *f = col_of(t, "flag", PROMO_COL_BOOL);
    T_ASSERT_EQ_INT(f->b[0], 1);
    T_ASSERT_EQ_INT(f->b[1], 0);
    T_ASSERT(promo_table_column(t, "other") == NULL);
    promo_table_free(t);

    o.keep_other_columns = 1;
    t = read_str("sku,qty,other\n1,2,3\n", &o);
    T_ASSERT_EQ_INT(t->n_cols, 3);
    col_of(t, "other", PROMO_COL_INT64);
    promo_table_free(t);

    /* No header: the caller's columns name the fields by position. */
    promo_csv_options h = promo_csv_options_default();
    static const promo_csv_column pos[] = {{"id", PROMO_COL_STRING, 1}, {"v", PROMO_COL_INT64, 1}};
    h.has_header = 0;
    h.columns = pos;
    h.n_columns = 2;
    t = read_str("a,1\nb,2\n", &h);
    T_ASSERT_EQ_INT(t->n_rows, 2);
    T_ASSERT_STR_EQ(str_at(t, "id", 1), "b");
    promo_table_free(t);
    h.columns = NULL;
    h.n_columns = 0;
    t = read_str("a,1\nb,2\n", &h);
    col_of(t, "column_2", PROMO_COL_INT64);
    promo_table_free(t);

    const char *m = read_fail("a,a\n1,2\n", 8, NULL, PROMO_EINPUT);
    T_ASSERT_STR_EQ(m, "t.csv:1: duplicate column 'a' in the header");
}

T_TEST(csv_numbers_ints_overflow_and_nan)
{
    static const promo_csv_column cols[] = {{"i", PROMO_COL_INT64, 1}};
    promo_csv_options o = promo_csv_options_default();
    o.columns = cols;
    o.n_columns = 1;
    promo_table *t = read_str("i\n-9223372036854775808\n9223372036854775807\n +5 \n", &o);
    const promo_column *c = col_of(t, "i", PROMO_COL_INT64);
    T_ASSERT(c->i64[0] == INT64_MIN);
    T_ASSERT(c->i64[1] == INT64_MAX);
    T_ASSERT_EQ_INT(c->i64[2], 5);
    promo_table_free(t);
    const char *m = read_fail("i\n9223372036854775808\n", 22, &o, PROMO_EINPUT);
    T_ASSERT_STR_EQ(m, "t.csv:2:1: column 'i': integer out of range: \"9223372036854775808\"");
    m = read_fail("i\n1.5\n", 6, &o, PROMO_EINPUT);
    T_ASSERT_STR_EQ(m, "t.csv:2:1: column 'i': expected an integer, got \"1.5\"");

    promo_table *tt = NULL;
    T_OK(promo_csv_read(FIX "nan.csv", NULL, &tt, NULL));
    col_of(tt, "price", PROMO_COL_STRING); /* NaN is not a number: inferred as text */
    promo_table_free(tt);
    static const promo_csv_column fc[] = {{"price", PROMO_COL_FLOAT64, 1}};
    o.columns = fc;
    o.display_name = "nan.csv";
    m = file_fail(FIX "nan.csv", &o, PROMO_EINPUT);
    T_ASSERT_STR_EQ(m, "nan.csv:3:2: column 'price': expected a number, got \"NaN\"");
    const char *bad[] = {"1.2.3", "abc", "inf", "-Infinity", "nan", "0x10",
                         "1e",    ".",   "--1", "1e+",       "e5",  "1,5"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "price\n\"%s\"\n", bad[k]);
        promo_table *x = NULL;
        T_ASSERT_EQ_INT(promo_csv_read_buffer(buf, (size_t)n, "t.csv", &o, &x, NULL), PROMO_EINPUT);
        T_ASSERT_CONTAINS(promo_last_error(), "expected a number");
    }
    m = read_fail("price\n1e400\n", 12, &o, PROMO_EINPUT);
    T_ASSERT_STR_EQ(m, "nan.csv:2:1: column 'price': number out of range: \"1e400\"");
}

/* The fast float path must give exactly strtod's double on every input it accepts. */
T_TEST(csv_floats_match_strtod)
{
    promo_rng rng;
    promo_rng_init(&rng, 7, 0);
    size_t n_vals = 100000, cap = n_vals * 48 + 16, len = 0;
    char *buf = promo_malloc(cap);
    char **texts = promo_calloc(n_vals, sizeof *texts);
    T_ASSERT(buf && texts);
    len += (size_t)snprintf(buf, cap, "x\n");
    for (size_t i = 0; i < n_vals; i++) {
        char v[48];
        size_t k = 0;
        if (promo_rng_u64(&rng) % 4 == 0)
            v[k++] = '-';
        int n_dig = 1 + (int)(promo_rng_u64(&rng) % 24);
        int dot = (int)(promo_rng_u64(&rng) % (uint64_t)(n_dig + 1));
        for (int d = 0; d < n_dig; d++) {
            if (d == dot && d)
                v[k++] = '.';
            v[k++] = (char)('0' + promo_rng_u64(&rng) % 10);
        }
        if (promo_rng_u64(&rng) % 3 == 0)
            k += (size_t)snprintf(v + k, sizeof v - k, "e%d", (int)(promo_rng_u64(&rng) % 80) - 40);
        v[k] = '\0';
        texts[i] = promo_strdup(v);
        len += (size_t)snprintf(buf + len, cap - len, "%s\n", v);
    }
    static const promo_csv_column cols[] = {{"x", PROMO_COL_FLOAT64, 1}};
    promo_csv_options o = promo_csv_options_default();
    o.columns = cols;
    o.n_columns = 1;
    promo_table *t = NULL;
    T_OK(promo_csv_read_buffer(buf, len, "f.csv", &o, &t, NULL));
    const promo_column *c = col_of(t, "x", PROMO_COL_FLOAT64);
    T_ASSERT_EQ_INT(c->n, n_vals);
    size_t bad = 0;
    for (size_t i = 0; i < n_vals; i++) {
        double want = strtod(texts[i], NULL);
        if (memcmp(&want, &c->f64[i], sizeof want) != 0 && bad++ < 5)
            fprintf(stderr, "    %s: %.17g vs strtod %.17g\n", texts[i], c->f64[i], want);
        promo_free(texts[i]);
    }
    T_ASSERT_EQ_INT(bad, 0);
    promo_free(texts);
    promo_free(buf);
    promo_table_free(t);
}

/* The one-word path for floats of up to 8 characters cuts the first '.' out of the word: every
 * place of the dot, none, two, and a non-digit anywhere must give strtod's double or a clear
 * rejection, as the general parser does. */
T_TEST(csv_short_floats_every_dot_place)
{
    static const char *ok[] = {
        "0",        "7",        "5.",       "12.",      "1.5",     "64.57",    "0.01", "99999999",
        "1234567.", "1.234567", "0000.125", "9.999999", "12345.6", "00000000", "1.0",  "3.14159"};
    static const char *bad[] = {".",   "1..2", "1.2.3", "..",  "1.2.",  "12a.5",   "1.2x",
                                "1:5", "1/2",  "1 2",   "1;5", "7.5.5", "1234.5.", "\x7f"};
    static const promo_csv_column cols[] = {{"x", PROMO_COL_FLOAT64, 1}};
    promo_csv_options o = promo_csv_options_default();
    o.columns = cols;
    o.n_columns = 1;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "x\n%s\n", ok[i]);
        promo_table *t = NULL;
        T_OK(promo_csv_read_buffer(buf, (size_t)n, "f.csv", &o, &t, NULL));
        double want = strtod(ok[i], NULL);
        const promo_column *c = col_of(t, "x", PROMO_COL_FLOAT64);
        T_ASSERT_MSG(c->n == 1 && memcmp(&want, &c->f64[0], sizeof want) == 0,
                     "%s: %.17g vs strtod %.17g", ok[i], c->n ? c->f64[0] : 0.0, want);
        promo_table_free(t);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "x\n%s\n", bad[i]);
        T_ASSERT_CONTAINS(read_fail(buf, (size_t)n, &o, PROMO_EINPUT), "expected a number");
    }
}

/* The reader's shortcut for ISO timestamps must agree with promo_time_parse on every input. */
T_TEST(csv_timestamps_match_timeutil)
{
    promo_rng rng;
    promo_rng_init(&rng, 3, 0);
    size_t n_vals = 20000, cap = n_vals * 40 + 16, len = 0;
    char *buf = promo_malloc(cap);
    int64_t *want = promo_mallocn(n_vals, sizeof *want);
    uint8_t *ok = promo_calloc(n_vals, 1);
    T_ASSERT(buf && want && ok);
    len += (size_t)snprintf(buf, cap, "i,ts\n");
    for (size_t i = 0; i < n_vals; i++) {
        char v[40];
        uint64_t u = promo_rng_u64(&rng);
        int y = u % 3 == 0 ? (int)((u >> 8) % 10000) : 1990 + (int)((u >> 8) % 50);
        int mo = (int)((u >> 20) % 14), d = (int)((u >> 24) % 33), hh = (int)((u >> 30) % 26),
            mi = (int)((u >> 36) % 61), ss = (int)((u >> 42) % 62);
        const char *sep = (u >> 50) % 3 == 0 ? "T" : " ";
        if ((u >> 52) % 4 == 0)
            snprintf(v, sizeof v, "%04d-%02d-%02d", y, mo, d);
        else
            snprintf(v, sizeof v, "%04d-%02d-%02d%s%02d:%02d:%02d", y, mo, d, sep, hh, mi, ss);
        ok[i] = promo_time_parse(v, strlen(v), PROMO_DATE_ISO, &want[i]) == 0;
        len += (size_t)snprintf(buf + len, cap - len, "%zu,%s\n", i, v);
    }
    static const promo_csv_column cols[] = {{"i", PROMO_COL_INT64, 1},
                                            {"ts", PROMO_COL_TIMESTAMP, 1}};
    promo_csv_options o = promo_csv_options_default();
    o.columns = cols;
    o.n_columns = 2;
    o.skip_bad_rows = 1;
    promo_table *t = NULL;
    promo_csv_rejects *rej = NULL;
    T_OK(promo_csv_read_buffer(buf, len, "ts.csv", &o, &t, &rej));
    const promo_column *ic = col_of(t, "i", PROMO_COL_INT64),
                       *tc = col_of(t, "ts", PROMO_COL_TIMESTAMP);
    size_t n_ok = 0;
    for (size_t i = 0; i < n_vals; i++)
        n_ok += ok[i];
    T_ASSERT_EQ_INT(t->n_rows, n_ok);
    T_ASSERT_EQ_INT(rej->n, n_vals - n_ok);
    T_ASSERT_MSG(n_ok > n_vals / 4 && n_ok < n_vals, "%zu of %zu valid", n_ok, n_vals);
    for (size_t r = 0; r < t->n_rows; r++) {
        size_t i = (size_t)ic->i64[r];
        T_ASSERT(ok[i]);
        T_ASSERT_EQ_INT(tc->i64[r], want[i]);
    }
    promo_table_free(t);
    promo_csv_rejects_free(rej);
    promo_free(buf);
    promo_free(want);
    promo_free(ok);
}

/* ---- bad input, one fixture per rule ---------------------------------------------------- */

T_TEST(csv_bad_number_located)
{
    static const promo_csv_column cols[] = {{"quantity", PROMO_COL_FLOAT64, 1}};
    promo_csv_options o = promo_csv_options_default();
    o.columns = cols;
    o.n_columns = 1;
    const char *m = file_fail(FIX "bad_number.csv", &o, PROMO_EINPUT);
    T_ASSERT_STR_EQ(m, FIX "bad_number.csv:3:3: column 'quantity': expected a number, got \"abc\"");
    o.display_name = "orders.csv";
    m = file_fail(FIX "bad_number.csv", &o, PROMO_EINPUT);
    T_ASSERT_STR_EQ(m, "orders.csv:3:3: column 'quantity': expected a number, got \"abc\"");
    /* Lines count physical lines: a quoted newline before moves the error down. */
    static const promo_csv_column qc[] = {{"q", PROMO_COL_FLOAT64, 1}};
    o.columns = qc;
    m = read_fail("q,x\n1,\"a\nb\"\n\n2,y\nzz,w\n", 23, &o, PROMO_EINPUT);
    T_ASSERT_STR_EQ(m, "orders.csv:6:1: column 'q': expected a number, got \"zz\"");
}

T_TEST(csv_bad_missing_required_column)
{
    static const promo_csv_column cols[] = {{"order_id", PROMO_COL_INT64, 1},
                                            {"quantity", PROMO_COL_FLOAT64, 1}};
    promo_csv_options o = promo_csv_options_default();
    o.columns = cols;
    o.n_columns = 2;
    o.display_name = "missing_column.csv";
    const char *m = file_fail(FIX "missing_column.csv", &o, PROMO_EINPUT);
    T_ASSERT_STR_EQ(m, "missing_column.csv:1: missing required column 'quantity' (the header "
                       "has 3 columns: 'order_id', 'product', 'price')");
}

T_TEST(csv_bad_empty_file_and_header_only)
{
    promo_csv_options o = promo_csv_options_default();
    o.display_name = "empty.csv";
    T_ASSERT_STR_EQ(file_fail(FIX "empty.csv", &o, PROMO_EINPUT),
                    "empty.csv: empty file (0 bytes)");
    T_ASSERT_STR_EQ(read_fail("\n\r\n", 3, &o, PROMO_EINPUT),
                    "empty.csv: empty file (only blank lines)");
    /* Header only: not an error, a table with its columns and no rows. */
    static const promo_csv_column cols[] = {{"quantity", PROMO_COL_FLOAT64, 1}};
    o.columns = cols;
    o.n_columns = 1;
    o.keep_other_columns = 1;
    promo_table *t = NULL;
    T_OK(promo_csv_read(FIX "header_only.csv", &o, &t, NULL));
    T_ASSERT_EQ_INT(t->n_rows, 0);
    T_ASSERT_EQ_INT(t->n_cols, 3);
    col_of(t, "quantity", PROMO_COL_FLOAT64);
    col_of(t, "product", PROMO_COL_STRING);
    promo_table_free(t);
}

T_TEST(csv_bad_field_counts)
{
    promo_csv_options o = promo_csv_options_default();
    o.display_name = "f.csv";
    T_ASSERT_STR_EQ(file_fail(FIX "too_many_fields.csv", &o, PROMO_EINPUT),
                    "f.csv:3:4: expected 3 fields, got 4");
    T_ASSERT_STR_EQ(file_fail(FIX "too_few_fields.csv", &o, PROMO_EINPUT),
                    "f.csv:3:3: expected 3 fields, got 2");
}

T_TEST(csv_bad_unterminated_nul_utf8)
{
    promo_csv_options o = promo_csv_options_default();
    o.display_name = "f.csv";
    T_ASSERT_STR_EQ(file_fail(FIX "unterminated_quote.csv", &o, PROMO_EINPUT),
                    "f.csv:2:2: column 'b': unterminated quoted field (reached the end of the "
                    "input)");
    T_ASSERT_STR_EQ(file_fail(FIX "nul_byte.csv", &o, PROMO_EINPUT),
                    "f.csv:2:2: column 'b': NUL byte in field");
    T_ASSERT_STR_EQ(file_fail(FIX "invalid_utf8.csv", &o, PROMO_EINPUT),
                    "f.csv:3:2: column 'b': invalid UTF-8 (byte 0xff at offset 3 of the field)");
    /* Overlong forms and surrogates are invalid too; 4-byte characters are fine. */
    T_ASSERT_CONTAINS(read_fail("a\n\xc0\xaf\n", 5, &o, PROMO_EINPUT), "invalid UTF-8");
    T_ASSERT_CONTAINS(read_fail("a\n\xed\xa0\x80\n", 6, &o, PROMO_EINPUT), "invalid UTF-8");
    promo_table *t = read_str("a\n\xf0\x9f\x98\x80\n", &o);
    T_ASSERT_STR_EQ(str_at(t, "a", 0), "\xf0\x9f\x98\x80");
    promo_table_free(t);
    T_ASSERT_STR_EQ(read_fail("a,b\xff\n1,2\n", 9, &o, PROMO_EINPUT),
                    "f.csv:1:2: header: field 2: invalid UTF-8 (byte 0xff at offset 1 of the "
                    "field)");
}

T_TEST(csv_bad_long_fields)
{
    size_t big = (size_t)10 << 20;
    char *buf = promo_malloc(big + 64);
    T_ASSERT(buf != NULL);
    size_t n = (size_t)sprintf(buf, "id,blob\n1,");
    memset(buf + n, 'x', big);
    n += big;
    n += (size_t)sprintf(buf + n, "\n2,y\n");
    promo_csv_options o = promo_csv_options_default();
    promo_table *t = NULL;
    T_OK(promo_csv_read_buffer(buf, n, "big.csv", &o, &t, NULL));
    const promo_column *c = col_of(t, "blob", PROMO_COL_STRING);
    T_ASSERT_EQ_INT(promo_dict_key_len(c->dict, c->codes[0]), big);
    T_ASSERT_STR_EQ(promo_column_str(c, 1), "y");
    promo_table_free(t);
    o.max_field_bytes = big - 1;
    T_ASSERT_STR_EQ(read_fail(buf, n, &o, PROMO_EINPUT),
                    "t.csv:2:2: column 'blob': field longer than max_field_bytes (10485759)");
    promo_free(buf);
}

T_TEST(csv_bad_missing_file_and_directory)
{
    char path[512];
    snprintf(path, sizeof path, "%s/nope.csv", t_tmpdir());
    char want[600];
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    T_ASSERT_STR_EQ(file_fail(path, NULL, PROMO_ENOTFOUND), want);
    const char *dir = t_tmpdir();
    snprintf(want, sizeof want, "%s: Is a directory", dir);
    /* issue 18: a directory given as input is the user's mistake (exit 2), not an I/O error */
    T_ASSERT_STR_EQ(file_fail(dir, NULL, PROMO_EINPUT), want);
}

T_TEST(csv_reads_from_a_pipe)
{
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s/in.csv", t_tmpdir());
    T_ASSERT_EQ_INT(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        int fd = open(fifo, O_WRONLY);
        static const char text[] = "a,b\n1,x\n2,y\n";
        ssize_t w = fd >= 0 ? write(fd, text, sizeof text - 1) : -1;
        _exit(w == (ssize_t)(sizeof text - 1) ? 0 : 1);
    }
    promo_table *t = NULL;
    int rc = promo_csv_read(fifo, NULL, &t, NULL);
    int st = 0;
    waitpid(pid, &st, 0);
    T_ASSERT_MSG(rc == PROMO_OK, "%s", promo_last_error());
    T_ASSERT_EQ_INT(t->n_rows, 2);
    T_ASSERT_STR_EQ(str_at(t, "b", 1), "y");
    promo_table_free(t);
}

T_TEST(csv_skip_bad_rows_rejects)
{
    static const promo_csv_column cols[] = {{"q", PROMO_COL_INT64, 1}};
    promo_csv_options o = promo_csv_options_default();
    o.columns = cols;
    o.n_columns = 1;
    o.keep_other_columns = 1;
    o.skip_bad_rows = 1;
    const char *text = "q,s\n1,a\nx,b\n2,\"c\nd\"\n3,e,extra\n\"4\",\"f\x01\xff\"\n5,g\n";
    promo_table *t = NULL;
    promo_csv_rejects *rej = NULL;
    T_OK(promo_csv_read_buffer(text, strlen(text), "r.csv", &o, &t, &rej));
    T_ASSERT_EQ_INT(t->n_rows, 3);
    const promo_column *q = col_of(t, "q", PROMO_COL_INT64);
    T_ASSERT_EQ_INT(q->i64[0], 1);
    T_ASSERT_EQ_INT(q->i64[1], 2);
    T_ASSERT_EQ_INT(q->i64[2], 5);
    /* Rejected rows leave nothing in the dictionaries. */
    const promo_column *s = col_of(t, "s", PROMO_COL_STRING);
    T_ASSERT_EQ_INT(promo_dict_size(s->dict), 3);
    T_ASSERT_STR_EQ(promo_dict_key(s->dict, 1), "c\nd");
    T_ASSERT_EQ_INT(rej->n, 3);
    T_ASSERT_EQ_INT(rej->items[0].line, 3);
    T_ASSERT_EQ_INT(rej->items[0].col, 1);
    T_ASSERT_STR_EQ(rej->items[0].reason, "column 'q': expected an integer, got \"x\"");
    T_ASSERT_STR_EQ(rej->items[0].raw, "x,b");
    T_ASSERT_EQ_INT(rej->items[1].line, 6);
    T_ASSERT_STR_EQ(rej->items[1].reason, "expected 2 fields, got 3");
    T_ASSERT_STR_EQ(rej->items[1].raw, "3,e,extra");
    T_ASSERT_EQ_INT(rej->items[2].line, 7);
    T_ASSERT_STR_EQ(rej->items[2].reason,
                    "column 's': invalid UTF-8 (byte 0xff at offset 2 of the field)");
    promo_csv_rejects_free(rej);
    promo_table_free(t);

    /* Without skip_bad_rows the first bad record is the error. */
    o.skip_bad_rows = 0;
    T_ASSERT_STR_EQ(read_fail(text, strlen(text), &o, PROMO_EINPUT),
                    "t.csv:3:1: column 'q': expected an integer, got \"x\"");
}

/* ---- parallel == serial ------------------------------------------------------------------ */

/* A multi-MB CSV with quoted newlines everywhere and one huge quoted field full of lines that
 * look like records in the middle, where the split points fall. bad_every > 0 plants bad
 * quantities. */
static char *gen_tricky(size_t rows, size_t bad_every, size_t *len_out)
{
    promo_rng rng;
    promo_rng_init(&rng, 11, 0);
    size_t cap = rows * 120 + (4u << 20), len = 0;
    char *b = promo_malloc(cap);
    T_ASSERT(b != NULL);
    len += (size_t)snprintf(b, cap, "id,customer,note,qty,price,ts,flag\n");
    for (size_t r = 0; r < rows; r++) {
        uint64_t u = promo_rng_u64(&rng);
        char note[96];
        switch (u % 7) {
        case 0:
            snprintf(note, sizeof note, "\"line one\nline,two %llu\"",
                     (unsigned long long)(u % 50));
            break;
        case 1:
            snprintf(note, sizeof note, "\"\"\"q\"\"\n\"");
            break;
        case 2:
            snprintf(note, sizeof note, "%s", "");
            break;
        case 3:
            snprintf(note, sizeof note, "\"\"");
            break;
        default:
            snprintf(note, sizeof note, "n%llu", (unsigned long long)(u % 1000));
            break;
        }
        if (r == rows / 2) {
            /* ~0.9 MB of fake records inside one quoted field. */
            len += (size_t)snprintf(b + len, cap - len, "%zu,C1,\"", r);
            for (int k = 0; k < 30000; k++)
                len +=
                    (size_t)snprintf(b + len, cap - len, "%d,C%d,x,1,2.5,2024-01-01,true\n", k, k);
            len += (size_t)snprintf(b + len, cap - len, "\",1,1.0,2024-02-03T04:05:06,false\n");
            continue;
        }
        const char *qty = bad_every && r % bad_every == bad_every - 1 ? "oops" : NULL;
        char qbuf[32];
        if (!qty) {
            snprintf(qbuf, sizeof qbuf, "%llu", (unsigned long long)(u >> 40) % 20);
            qty = (u >> 20) % 13 == 0 ? "" : qbuf;
        }
        len += (size_t)snprintf(
            b + len, cap - len,
            "%zu,C%llu,%s,%s,%llu.%02llu,2023-%02llu-%02llu %02llu:%02llu:00,%s\n", r,
            (unsigned long long)(u >> 8) % 5000, note, qty, (unsigned long long)(u >> 12) % 100,
            (unsigned long long)(u >> 24) % 100, (unsigned long long)(1 + (u >> 30) % 12),
            (unsigned long long)(1 + (u >> 34) % 28), (unsigned long long)((u >> 38) % 24),
            (unsigned long long)((u >> 44) % 60), (u >> 50) & 1 ? "true" : "false");
        T_ASSERT(len + 4096 < cap);
    }
    *len_out = len;
    return b;
}

static void
compare_reads(const char *buf, size_t len, promo_csv_options o, int threads, size_t par_min)
{
    promo_table *t1 = NULL, *t2 = NULL;
    promo_csv_rejects *r1 = NULL, *r2 = NULL;
    o.n_threads = 1;
    int rc1 = promo_csv_read_buffer(buf, len, "p.csv", &o, &t1, &r1);
    char m1[4096];
    snprintf(m1, sizeof m1, "%s", promo_last_error());
    o.n_threads = threads;
    o.parallel_min_bytes = par_min;
    int rc2 = promo_csv_read_buffer(buf, len, "p.csv", &o, &t2, &r2);
    T_ASSERT_EQ_INT(rc1, rc2);
    if (rc1) {
        T_ASSERT_STR_EQ(m1, promo_last_error());
        return;
    }
    char why[256] = "";
    T_ASSERT_MSG(fuzz_csv_tables_equal(t1, t2, why, sizeof why), "%d threads: %s", threads, why);
    T_ASSERT_EQ_INT(r1->n, r2->n);
    for (size_t i = 0; i < r1->n; i++) {
        T_ASSERT_EQ_INT(r1->items[i].line, r2->items[i].line);
        T_ASSERT_STR_EQ(r1->items[i].reason, r2->items[i].reason);
        T_ASSERT_STR_EQ(r1->items[i].raw, r2->items[i].raw);
    }
    promo_table_free(t1);
    promo_table_free(t2);
    promo_csv_rejects_free(r1);
    promo_csv_rejects_free(r2);
}

T_TEST(csv_parallel_equals_serial)
{
    size_t len;
    char *buf = gen_tricky(25000, 0, &len);
    T_ASSERT(len > (3u << 19)); /* past the default 1 MiB threshold: a real split */
    promo_csv_options o = promo_csv_options_default();
    compare_reads(buf, len, o, 2, 0); /* default threshold: a real 2-way split */
    compare_reads(buf, len, o, 5, 1);
    static const promo_csv_column cols[] = {{"qty", PROMO_COL_INT64, 1},
                                            {"ts", PROMO_COL_TIMESTAMP, 1},
                                            {"customer", PROMO_COL_STRING, 1}};
    o.columns = cols;
    o.n_columns = 3;
    o.keep_other_columns = 1;
    compare_reads(buf, len, o, 7, 1);

    /* Check one row by hand: the record after the huge field is there once. */
    promo_table *t = NULL;
    o.n_threads = 2;
    T_OK(promo_csv_read_buffer(buf, len, "p.csv", &o, &t, NULL));
    T_ASSERT_EQ_INT(t->n_rows, 25000);
    const promo_column *id = col_of(t, "id", PROMO_COL_INT64);
    for (size_t r = 0; r < t->n_rows; r++)
        T_ASSERT_EQ_INT(id->i64[r], r);
    promo_table_free(t);
    promo_free(buf);

    /* Bad rows in every chunk: the same first error, the same rejects. */
    buf = gen_tricky(25000, 6000, &len);
    o.skip_bad_rows = 0;
    compare_reads(buf, len, o, 6, 1);
    o.skip_bad_rows = 1;
    compare_reads(buf, len, o, 2, 0);
    promo_free(buf);
}

/* The rows of the test below: nulls, a bad quantity now and then, quoted notes with newlines,
 * and with long_first 600-byte notes in the first 70 KB. */
static char *gen_typed_rows(int long_first, size_t *len_out)
{
    size_t cap = (size_t)6 << 20, len = 0;
    char *buf = malloc(cap);
    T_ASSERT(buf);
    len += (size_t)snprintf(buf, cap, "id,note,qty,price,ts,flag,cust\n");
    promo_rng rng;
    promo_rng_init(&rng, 77, 0);
    for (int i = 0; len + 2048 < cap && i < 120000; i++) {
        uint64_t u = promo_rng_u64(&rng);
        char note[700];
        if (long_first && len < 70000) {
            memset(note, 'x', 600);
            note[600] = 0;
        } else if (i % 5 == 0) {
            snprintf(note, sizeof note, "\"two\nlines, %d\"", i);
        } else {
            snprintf(note, sizeof note, "n%d", (int)(u % 300));
        }
        const char *qty = i % 11 == 3 ? "" : i % 997 == 5 ? "bad" : NULL;
        char q[24];
        if (!qty) {
            snprintf(q, sizeof q, "%d", (int)(u >> 20) % 50);
            qty = q;
        }
        len += (size_t)snprintf(
            buf + len, cap - len, "%d,%s,%s,%d.%02d,2024-03-%02d %02d:00:00,%s,C%d\n", i, note, qty,
            (int)(u >> 30) % 90, (int)(u >> 40) % 100, 1 + (int)(u >> 45) % 28, (int)(u >> 50) % 24,
            (u >> 55) & 1 ? "true" : "false", (int)(u >> 8) % 4000);
    }
    *len_out = len;
    return buf;
}

/* A typed plan read in several chunks writes every chunk into one array per column (the slab)
 * and moves the rows down at the merge: whatever happens to a chunk on the way, the table must
 * be the serial one. Rows have nulls, rejected rows and quoted fields with newlines (where a
 * split point falls inside one, that chunk is parsed again, on its own arrays); with long rows
 * in the first 64 KiB, chunk 0's estimate is far short and it outgrows its room. */
T_TEST(csv_typed_chunks_share_one_array_and_equal_serial)
{
    static const promo_csv_column cols[] = {
        {"id", PROMO_COL_INT64, 1},     {"note", PROMO_COL_STRING, 1},
        {"qty", PROMO_COL_INT64, 1},    {"price", PROMO_COL_FLOAT64, 1},
        {"ts", PROMO_COL_TIMESTAMP, 1}, {"flag", PROMO_COL_BOOL, 1},
        {"cust", PROMO_COL_STRING, 1},
    };
    for (int long_first = 0; long_first <= 1; long_first++) {
        size_t len;
        char *buf = gen_typed_rows(long_first, &len);
        promo_csv_options o = promo_csv_options_default();
        o.columns = cols;
        o.n_columns = sizeof cols / sizeof cols[0];
        o.skip_bad_rows = 1;
        promo_table *t = NULL; /* what the reads compared below must agree on */
        promo_csv_rejects *rej = NULL;
        T_OK(promo_csv_read_buffer(buf, len, "t.csv", &o, &t, &rej));
        T_ASSERT(t->n_rows > 100000 && rej->n > 0);
        promo_table_free(t);
        promo_csv_rejects_free(rej);
        for (int th = 2; th <= 9; th += 3)
            compare_reads(buf, len, o, th, 1);
        o.skip_bad_rows = 0; /* the first bad row stops the read, as serially */
        compare_reads(buf, len, o, 4, 1);
        free(buf);
    }
}

/* ---- writer ------------------------------------------------------------------------------ */

T_TEST(csv_write_roundtrip)
{
    promo_table *t = promo_table_new("rt");
    promo_column *s, *i, *f, *ts, *b;
    T_OK(promo_table_add_column(t, "text, with comma", PROMO_COL_STRING, &s));
    T_OK(promo_table_add_column(t, "i", PROMO_COL_INT64, &i));
    T_OK(promo_table_add_column(t, "f", PROMO_COL_FLOAT64, &f));
    T_OK(promo_table_add_column(t, "ts", PROMO_COL_TIMESTAMP, &ts));
    T_OK(promo_table_add_column(t, "b", PROMO_COL_BOOL, &b));
    const char *strs[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\r\nlf",
                          "",      NULL,  " padded ",   "\"",         "caf\xc3\xa9"};
    double fs[] = {0.1, -0.0, 1e300, 5e-324, 123456789.125, 1.0 / 3, NAN, 2.5e-8, 7, -1e22};
    size_t n = sizeof strs / sizeof strs[0];
    for (size_t r = 0; r < n; r++) {
        T_OK(strs[r] ? promo_column_push_str(s, strs[r], strlen(strs[r]))
                     : promo_column_push_null(s));
        T_OK(r == 3 ? promo_column_push_null(i)
                    : promo_column_push_i64(i, r == 0   ? INT64_MIN
                                               : r == 1 ? INT64_MAX
                                                        : (int64_t)r * 7 - 20));
        T_OK(isnan(fs[r]) ? promo_column_push_null(f) : promo_column_push_f64(f, fs[r]));
        T_OK(r == 5 ? promo_column_push_null(ts)
                    : promo_column_push_i64(ts, 1700000000 + (int64_t)r * 86461));
        T_OK(r == 6 ? promo_column_push_null(b) : promo_column_push_bool(b, (int)(r & 1)));
    }
    T_OK(promo_table_seal(t));
    char path[512];
    snprintf(path, sizeof path, "%s/rt.csv", t_tmpdir());
    T_OK(promo_csv_write(path, t));
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    T_ASSERT(access(tmp, F_OK) != 0);

    static const promo_csv_column cols[] = {
        {"text, with comma", PROMO_COL_STRING, 1},
        {"i", PROMO_COL_INT64, 1},
        {"f", PROMO_COL_FLOAT64, 1},
        {"ts", PROMO_COL_TIMESTAMP, 1},
        {"b", PROMO_COL_BOOL, 1},
    };
    promo_csv_options o = promo_csv_options_default();
    o.columns = cols;
    o.n_columns = 5;
    promo_table *back = NULL;
    T_OK(promo_csv_read(path, &o, &back, NULL));
    char why[256] = "";
    T_ASSERT_MSG(fuzz_csv_tables_equal(t, back, why, sizeof why), "%s", why);
    promo_table_free(back);
    /* Inferred types come back the same too for this table. */
    T_OK(promo_csv_read(path, NULL, &back, NULL));
    T_ASSERT_MSG(fuzz_csv_tables_equal(t, back, why, sizeof why), "%s", why);
    promo_table_free(back);

    /* A single-column table with a null row reads back (a blank line is a null there). */
    promo_table *one = promo_table_new("one");
    promo_column *c1;
    T_OK(promo_table_add_column(one, "v", PROMO_COL_INT64, &c1));
    T_OK(promo_column_push_i64(c1, 1));
    T_OK(promo_column_push_null(c1));
    T_OK(promo_column_push_i64(c1, 3));
    T_OK(promo_table_seal(one));
    snprintf(path, sizeof path, "%s/one.csv", t_tmpdir());
    T_OK(promo_csv_write(path, one));
    T_OK(promo_csv_read(path, NULL, &back, NULL));
    T_ASSERT_MSG(fuzz_csv_tables_equal(one, back, why, sizeof why), "%s", why);
    promo_table_free(back);
    promo_table_free(one);

    snprintf(path, sizeof path, "%s/no/such/dir/x.csv", t_tmpdir());
    /* issue 18: a missing directory is the user's to fix (exit 2), not an I/O error */
    T_ASSERT_EQ_INT(promo_csv_write(path, t), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "No such file or directory");
    promo_table_free(t);
}

/* ---- allocation torture ------------------------------------------------------------------ */

T_TEST(csv_alloc_torture)
{
    static const promo_csv_column cols[] = {{"q", PROMO_COL_FLOAT64, 1},
                                            {"s", PROMO_COL_STRING, 1}};
    promo_csv_options o = promo_csv_options_default();
    o.columns = cols;
    o.n_columns = 2;
    o.keep_other_columns = 1;
    o.skip_bad_rows = 1;
    o.n_threads = 1;
    const char *text = "q,s,x,d\n1.5,a,1,2024-01-01\nbad,b,2,\n,\"c\"\"d\",3,2024-01-02\n"
                       "2,a,4,2024-01-03\n";
    int done = 0;
    long n;
    for (n = 1; n < 2000 && !done; n++) {
        promo_table *t = NULL;
        promo_csv_rejects *rej = NULL;
        promo_alloc_fail_at(n);
        int rc = promo_csv_read_buffer(text, strlen(text), "a.csv", &o, &t, &rej);
        promo_alloc_fail_at(0);
        if (rc == PROMO_OK) {
            T_ASSERT_EQ_INT(t->n_rows, 3);
            T_ASSERT_EQ_INT(rej->n, 1);
            done = 1;
        } else {
            T_ASSERT_MSG(rc == PROMO_ENOMEM, "fail_at %ld: status %d: %s", n, rc,
                         promo_last_error());
            T_ASSERT(t == NULL && rej == NULL);
        }
        promo_table_free(t);
        promo_csv_rejects_free(rej);
    }
    T_ASSERT_MSG(done, "never succeeded");
    T_ASSERT(n > 10); /* the loop really injected failures */

    /* The writer: every failure is clean and leaves no file behind. */
    promo_table *t = NULL;
    T_OK(promo_csv_read_buffer(text, strlen(text), "a.csv", &o, &t, NULL));
    char path[512];
    snprintf(path, sizeof path, "%s/w.csv", t_tmpdir());
    for (n = 1, done = 0; n < 100 && !done; n++) {
        promo_alloc_fail_at(n);
        int rc = promo_csv_write(path, t);
        promo_alloc_fail_at(0);
        if (rc == PROMO_OK)
            done = 1;
        else
            T_ASSERT(rc == PROMO_ENOMEM && access(path, F_OK) != 0);
    }
    T_ASSERT(done);
    promo_table_free(t);
}

/* ---- real data and fuzz corpus ----------------------------------------------------------- */

T_TEST(csv_online_retail_fixture_and_full)
{
    static const promo_csv_column cols[] = {
        {"InvoiceNo", PROMO_COL_STRING, 1},      {"Quantity", PROMO_COL_INT64, 1},
        {"InvoiceDate", PROMO_COL_TIMESTAMP, 1}, {"UnitPrice", PROMO_COL_FLOAT64, 1},
        {"CustomerID", PROMO_COL_STRING, 1},
    };
    promo_csv_options o = promo_csv_options_default();
    o.columns = cols;
    o.n_columns = 5;
    o.keep_other_columns = 1;
    promo_table *t = NULL;
    T_OK(promo_csv_read(FIX "online_retail_head.csv", &o, &t, NULL));
    T_ASSERT_EQ_INT(t->n_rows, 30);
    T_ASSERT_STR_EQ(str_at(t, "Description", 0), "WHITE HANGING HEART T-LIGHT HOLDER");
    T_ASSERT_EQ_INT(col_of(t, "Quantity", PROMO_COL_INT64)->i64[0], 6);
    promo_table_free(t);

    const char *full = t_shared_data("online_retail/online_retail.csv");
    if (!full)
        T_SKIP("../shared/data/online_retail/online_retail.csv is absent");
    T_OK(promo_csv_read(full, &o, &t, NULL));
    T_ASSERT_EQ_INT(t->n_rows, 541909);
    T_ASSERT_EQ_INT(col_of(t, "CustomerID", PROMO_COL_STRING)->n_null, 135080);
    T_ASSERT_EQ_INT(col_of(t, "Description", PROMO_COL_STRING)->n_null, 1454);
    promo_table_free(t);
}

T_TEST(csv_fuzz_corpus_replay)
{
    T_ASSERT(t_replay_corpus("fuzz/corpus/csv", fuzz_csv_one) > 0);
}

/* The reader keeps a chunk's string dictionary in "sorted mode" while keys arrive in
 * increasing order and bulk-appends sorted chunks: ids sorted, then reversed, then repeated
 * must still give exactly the serial table (codes in first-appearance order). */
T_TEST(csv_sorted_then_reversed_ids_parallel_equals_serial)
{
    size_t n = 60000, cap = n * 32 + 64, at = 0;
    char *buf = malloc(cap);
    at += (size_t)snprintf(buf, cap, "order_id,qty\n");
    for (size_t i = 0; i < n; i++) {
        size_t k = i < n / 2 ? i : i < n * 3 / 4 ? n - i : i % 97;
        at += (size_t)snprintf(buf + at, cap - at, "ORD%08zu,%zu\n", k, i % 7);
    }
    promo_table *t[3] = {NULL, NULL, NULL};
    for (int th = 1; th <= 3; th++) {
        promo_csv_options o = promo_csv_options_default();
        o.n_threads = th;
        o.parallel_min_bytes = 1;
        T_OK(promo_csv_read_buffer(buf, at, "ids.csv", &o, &t[th - 1], NULL));
    }
    for (int th = 1; th < 3; th++) {
        const promo_column *a = t[0]->cols[0], *b = t[th]->cols[0];
        T_ASSERT_EQ_INT(a->n, n);
        T_ASSERT_EQ_INT(b->n, n);
        T_ASSERT_EQ_INT(promo_dict_size(a->dict), promo_dict_size(b->dict));
        for (uint32_t k = 0; k < promo_dict_size(a->dict); k++)
            T_ASSERT_STR_EQ(promo_dict_key(a->dict, k), promo_dict_key(b->dict, k));
        T_ASSERT(memcmp(a->codes, b->codes, n * sizeof *a->codes) == 0);
        T_ASSERT_EQ_INT(promo_dict_find(b->dict, "ORD00000096", 11), 96);
    }
    for (int i = 0; i < 3; i++)
        promo_table_free(t[i]);
    free(buf);
}

/* Walk s and return the records' lines, field counts and texts as one string:
 * "LINE:NF:TEXT|..." (problems as "!P"). */
static void walk_str(const char *s, size_t n, const promo_csv_options *o, char *out, size_t cap)
{
    promo_csv_walker *w = NULL;
    T_ASSERT_EQ_INT(promo_csv_walker_new(s, n, o, &w), PROMO_OK);
    promo_csv_record rec;
    size_t k = 0;
    out[0] = '\0';
    while (promo_csv_walker_next(w, &rec)) {
        k += (size_t)snprintf(out + k, cap - k, "%llu:%zu:%.*s%s%s|", (unsigned long long)rec.line,
                              rec.n_fields, (int)rec.n_text, rec.text, rec.problem ? "!" : "",
                              rec.problem ? (rec.problem == PROMO_CSV_UNTERMINATED ? "U" : "P")
                                          : "");
        T_ASSERT(k < cap);
    }
    T_ASSERT_EQ_INT(promo_csv_walker_next(w, &rec), 0); /* stays at the end */
    promo_csv_walker_free(w);
}

T_TEST(csv_walker_records_lines_and_text)
{
    char got[512];
    /* BOM and leading blank lines skipped; CRLF; a quoted field spanning two lines; blank
     * lines between records skipped (more than one column); a final record without LF. */
    const char *s = "\xef\xbb\xbf\r\n\na,b\r\n1,\"x\ny\"\r\n\r\n\n2,\"q\"\"r\"\n3,z";
    walk_str(s, strlen(s), NULL, got, sizeof got);
    T_ASSERT_STR_EQ(got, "3:2:a,b|4:2:1,\"x\ny\"|8:2:2,\"q\"\"r\"|9:2:3,z|");

    /* One column: a blank line after the header is a record (a null), as the reader reads it. */
    s = "v\n1\n\n2\n";
    walk_str(s, strlen(s), NULL, got, sizeof got);
    T_ASSERT_STR_EQ(got, "1:1:v|2:1:1|3:1:|4:1:2|");

    /* A lone CR inside a field is data; a final CR ends the record. */
    s = "a,b\nx\ry,2\r";
    walk_str(s, strlen(s), NULL, got, sizeof got);
    T_ASSERT_STR_EQ(got, "1:2:a,b|2:2:x\ry,2|");

    /* Structural problems are flagged and walking goes on where the reader would. */
    s = "a,b\n\"x\"y,1\n2,3\n\"open,4\n5,6";
    walk_str(s, strlen(s), NULL, got, sizeof got);
    T_ASSERT_STR_EQ(got, "1:2:a,b|2:2:\"x\"y,1!P|3:2:2,3|4:1:\"open,4\n5,6!U|");

    /* Empty input and only blank lines: no record, not an error. */
    walk_str("", 0, NULL, got, sizeof got);
    T_ASSERT_STR_EQ(got, "");
    walk_str("\n\r\n", 3, NULL, got, sizeof got);
    T_ASSERT_STR_EQ(got, "");
}

T_TEST(csv_walker_fields_delimiter_and_unescape)
{
    const char *s = "id;\"na;me\" ;x\n7;\"a\"\"b\";\n8;c;d;e\n";
    promo_csv_walker *w = NULL;
    T_ASSERT_EQ_INT(promo_csv_walker_new(s, strlen(s), NULL, &w), PROMO_OK);
    T_ASSERT_EQ_INT(promo_csv_walker_delimiter(w), ';');
    promo_csv_record rec;
    char buf[32];
    T_ASSERT_EQ_INT(promo_csv_walker_next(w, &rec), 1);
    T_ASSERT_EQ_INT(rec.n_fields, 3);
    T_ASSERT_EQ_INT(rec.problem, PROMO_CSV_AFTERQUOTE); /* "na;me" followed by a space */
    T_ASSERT_EQ_INT(rec.problem_field, 1);
    T_ASSERT_EQ_INT(promo_csv_walker_next(w, &rec), 1);
    T_ASSERT_EQ_INT(rec.n_fields, 3);
    T_ASSERT(rec.fields[1].quoted && rec.fields[1].escaped);
    size_t k = promo_csv_field_unescape(&rec.fields[1], buf);
    T_ASSERT_EQ_INT(k, 3);
    T_ASSERT(memcmp(buf, "a\"b", 3) == 0);
    T_ASSERT_EQ_INT(rec.fields[2].n, 0);
    T_ASSERT(!rec.fields[2].quoted);
    /* A record with more fields than the header: all counted, header + 1 stored. */
    T_ASSERT_EQ_INT(promo_csv_walker_next(w, &rec), 1);
    T_ASSERT_EQ_INT(rec.n_fields, 4);
    T_ASSERT_EQ_INT(rec.n_stored, 4);
    T_ASSERT_EQ_INT(rec.line, 3);
    T_ASSERT_EQ_INT(promo_csv_walker_next(w, &rec), 0);
    promo_csv_walker_free(w);
    promo_csv_walker_free(NULL);

    /* A given delimiter wins over detection. */
    promo_csv_options o = promo_csv_options_default();
    o.delimiter = ',';
    T_ASSERT_EQ_INT(promo_csv_walker_new(s, strlen(s), &o, &w), PROMO_OK);
    T_ASSERT_EQ_INT(promo_csv_walker_delimiter(w), ',');
    promo_csv_walker_free(w);
    T_ASSERT_EQ_INT(promo_csv_walker_new(NULL, 1, NULL, &w), PROMO_EUSAGE);
}

/* The walker's lines are the reader's: every reject is a walked record, same line and text. */
T_TEST(csv_walker_agrees_with_reader_rejects)
{
    const char *s = "a,b\n1,2\n\n\"x\ny\",3\nbad\n4,\"5\n6\"\n7,8,9\n\"u\"v,1\n10,11\n";
    promo_csv_options o = promo_csv_options_default();
    o.skip_bad_rows = 1;
    promo_table *t = NULL;
    promo_csv_rejects *rej = NULL;
    T_ASSERT_EQ_INT(promo_csv_read_buffer(s, strlen(s), "t.csv", &o, &t, &rej), PROMO_OK);
    T_ASSERT_EQ_INT(rej->n, 3);
    promo_csv_walker *w = NULL;
    T_ASSERT_EQ_INT(promo_csv_walker_new(s, strlen(s), &o, &w), PROMO_OK);
    promo_csv_record rec;
    promo_csv_walker_next(w, &rec);
    size_t k = 0, n_rec = 0;
    while (promo_csv_walker_next(w, &rec)) {
        if (k < rej->n && rej->items[k].line == rec.line) {
            T_ASSERT_EQ_INT(strlen(rej->items[k].raw), rec.n_text);
            T_ASSERT(memcmp(rej->items[k].raw, rec.text, rec.n_text) == 0);
            k++;
        }
        n_rec++;
    }
    T_ASSERT_EQ_INT(k, 3);
    T_ASSERT_EQ_INT(n_rec, t->n_rows + rej->n);
    promo_csv_walker_free(w);
    promo_table_free(t);
    promo_csv_rejects_free(rej);
    /* The fuzz target's own check, on this input. */
    fuzz_csv_one((const uint8_t *)s, strlen(s));
}

/* ---- The structural fast path (64-byte masks) ------------------------------------------ */

static void repeat_into(char *dst, char c, size_t n)
{
    memset(dst, c, n);
    dst[n] = 0;
}

/* Fields placed across the 64-byte blocks the fast path reads, relative to each record's
 * start: a field spanning bytes 61..70; a CRLF whose CR is byte 63 and LF byte 64; a quoted
 * field (comma and doubled quote inside) opening at byte 64; a 130-byte field over three blocks;
 * a last record without a newline, the file's length not a multiple of 64. Read at every
 * level, the byte path included, the values must be these. */
T_TEST(csv_simd_fields_across_block_boundaries)
{
    char a1[61], a2[60], a3[64], a4[131], b1[11], buf[1024];
    repeat_into(a1, 'x', 60);
    repeat_into(b1, 'y', 10);
    repeat_into(a2, 'k', 59);
    repeat_into(a3, 'm', 63);
    repeat_into(a4, 'n', 130);
    int len = snprintf(buf, sizeof buf,
                       "a,b,c\n%s,%s,z\n%s,q,w\r\n%s,\"he said \"\"hi\"\", ok\",e\n%s,,end", a1, b1,
                       a2, a3, a4);
    T_ASSERT(len > 0 && (size_t)len < sizeof buf && len % 64 != 0);
    /* where the test means them to be */
    const char *r2 = strchr(buf, '\n') + 1 + 61 + 11 + 2;
    T_ASSERT(r2[63] == '\r' && r2[64] == '\n');
    T_ASSERT(r2[65 + 63] == ',' && r2[65 + 64] == '"');
    static const int levels[] = {CSV_SIMD_OFF,  CSV_SIMD_SCALAR, CSV_SIMD_SSE2,
                                 CSV_SIMD_AVX2, CSV_SIMD_AVX512, CSV_SIMD_AUTO};
    for (size_t li = 0; li < sizeof levels / sizeof levels[0]; li++) {
        int old = csv_simd_force(levels[li]);
        promo_table *t = NULL;
        int rc = promo_csv_read_buffer(buf, (size_t)len, "t.csv", NULL, &t, NULL);
        csv_simd_force(old);
        T_ASSERT_MSG(rc == PROMO_OK, "level %d: %s", levels[li], promo_last_error());
        T_ASSERT_EQ_INT(t->n_rows, 4);
        T_ASSERT_STR_EQ(str_at(t, "a", 0), a1);
        T_ASSERT_STR_EQ(str_at(t, "b", 0), b1);
        T_ASSERT_STR_EQ(str_at(t, "c", 0), "z");
        T_ASSERT_STR_EQ(str_at(t, "a", 1), a2);
        T_ASSERT_STR_EQ(str_at(t, "b", 1), "q");
        T_ASSERT_STR_EQ(str_at(t, "c", 1), "w"); /* the CR is the line end's, not the value's */
        T_ASSERT_STR_EQ(str_at(t, "a", 2), a3);
        T_ASSERT_STR_EQ(str_at(t, "b", 2), "he said \"hi\", ok");
        T_ASSERT_STR_EQ(str_at(t, "c", 2), "e");
        T_ASSERT_STR_EQ(str_at(t, "a", 3), a4);
        T_ASSERT(promo_column_is_null(promo_table_column(t, "b"), 3));
        T_ASSERT_STR_EQ(str_at(t, "c", 3), "end");
        promo_table_free(t);
    }
}

/* Plain records of 60..70 bytes, lengths that put the newline on either side of byte 64, a
 * lone CR, a NUL and a UTF-8 byte at block edges: the fast path must walk and read them as the
 * byte path does (lines, fields, problems, values, rejects). */
T_TEST(csv_simd_paths_agree_on_generated_records)
{
    static const char alphabet[] = "ab1,,,\n\n\r\" .;";
    promo_rng rng;
    promo_rng_init(&rng, 77, 1);
    char buf[700];
    promo_csv_options opts[3];
    opts[0] = promo_csv_options_default();
    opts[1] = promo_csv_options_default();
    opts[1].max_field_bytes = 5;
    opts[1].skip_bad_rows = 1;
    opts[2] = promo_csv_options_default();
    opts[2].delimiter = ';';
    for (int it = 0; it < 300; it++) {
        size_t n = promo_rng_u64(&rng) % sizeof buf;
        int mode = it % 3;
        for (size_t i = 0; i < n; i++) {
            uint64_t u = promo_rng_u64(&rng);
            if (mode == 0) { /* structure-heavy */
                buf[i] = alphabet[u % (sizeof alphabet - 1)];
            } else { /* plain records of 60..70 bytes, some bytes made special */
                size_t at = i % 66;
                buf[i] = at == 65 ? '\n' : at % 9 == 8 ? ',' : (char)('a' + u % 26);
                if (u % 97 == 0)
                    buf[i] = (char)"\r\"\0\xc3\xff;"[u / 97 % 6];
            }
        }
        for (size_t k = 0; k < 3; k++)
            T_ASSERT_MSG(fuzz_csv_paths((const uint8_t *)buf, n, &opts[k]) == 0,
                         "input %d (%zu bytes), options %zu", it, n, k);
    }
}

/* A typed transactions file (every column typed: the rows go from the masks to the columns in
 * one pass, run_plain) with what makes that pass stop and hand one record to the usual way:
 * quoted fields, CRLF endings, blank lines, UTF-8, NUL, a lone CR, too many or too few fields,
 * bad values, nulls, long numbers, exponents, other timestamp forms, fields past the limit.
 * Strict, skipping bad rows, and with a small field limit, the read must equal the byte path's
 * (same table, rejects and message), and on 3 threads the serial read's. */
static char *gen_typed_odd(size_t rows, uint64_t seed, size_t *len_out)
{
    static const char *odd[] = {
        "\"7\",C1,P2,S3,2024-01-02 03:04:05,1,2.50",
        "7,\"C,1\",P2,S3,2024-01-02 03:04:05,1,2.5",
        "7,C1,P2,S3,2024-01-02 03:04:05,1,2.5\r",
        "",
        "7,Cé,P2,S3,2024-01-02 03:04:05,1,2.5",
        "7,C1,P2,S3,2024-01-02 03:04:05,1",
        "7,C1,P2,S3,2024-01-02 03:04:05,1,2.5,extra",
        "x7,C1,P2,S3,2024-01-02 03:04:05,1,2.5",
        "7,C1,P2,S3,2024-13-02 03:04:05,1,2.5",
        "7,C1,P2,S3,2024-01-02 03:04:05,,2.5",
        "7,,P2,S3,2024-01-02 03:04:05,1,",
        "1234567890123,C1,P2,S3,2024-01-02,1,2.5",
        "7,C1,P2,S3,2024-01-02T03:04:05,-1,2.5e3",
        "7,C1,P2,S3, 2024-01-02 03:04:05 ,1 ,2.5",
        "7,C1,P2,S3,2024-01-02 03:04:05,1,123456.789",
        "7,C1,P2,CUSTOMERNUMBER12345,2024-01-02,1,1",
        "7,C1\r2,P2,S3,2024-01-02 03:04:05,1,2.5",
        "7,C1,P2,S3,01/02/2024,1,2.5",
    };
    size_t n_odd = sizeof odd / sizeof *odd, cap = rows * 96 + 64, len = 0;
    char *b = promo_malloc(cap);
    T_ASSERT(b != NULL);
    promo_rng rng;
    promo_rng_init(&rng, seed, 0);
    len += (size_t)snprintf(b, cap, "order_id,customer_id,product_id,store_id,ts,quantity,price\n");
    for (size_t r = 0; r < rows; r++) {
        uint64_t u = promo_rng_u64(&rng);
        if (u % 53 == 0) {
            const char *o = odd[(u >> 8) % n_odd];
            len += (size_t)snprintf(b + len, cap - len, "%s\n", o);
            if (o[0] == '7' && strstr(o, "NUMBER")) /* a NUL inside a record, once in a while */
                b[len - 3] = '\0';
            continue;
        }
        unsigned v[11] = {
            (unsigned)(u >> 10) % 900,    (unsigned)(u >> 20) % 90,     (unsigned)(u >> 27) % 9,
            1 + (unsigned)(u >> 31) % 12, 1 + (unsigned)(u >> 35) % 28, (unsigned)(u >> 40) % 24,
            (unsigned)(u >> 45) % 60,     (unsigned)(u >> 51) % 60,     1 + (unsigned)(u >> 57) % 9,
            (unsigned)(u >> 4) % 1000,    (unsigned)(u >> 14) % 10};
        len += (size_t)snprintf(b + len, cap - len,
                                "%zu,C%u,P%u,S%u,2024-%02u-%02u %02u:%02u:%02u,%u,%u.%0*u\n",
                                1000 + r / 3, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8],
                                v[9], (int)(1 + (u >> 61) % 3), v[10]);
    }
    *len_out = len;
    return b;
}

T_TEST(csv_typed_rows_from_masks_agree_with_byte_path)
{
    static const promo_csv_column cols[] = {
        {"order_id", PROMO_COL_INT64, 1},    {"customer_id", PROMO_COL_STRING, 1},
        {"product_id", PROMO_COL_STRING, 1}, {"store_id", PROMO_COL_STRING, 1},
        {"ts", PROMO_COL_TIMESTAMP, 1},      {"quantity", PROMO_COL_INT64, 1},
        {"price", PROMO_COL_FLOAT64, 1},
    };
    for (uint64_t seed = 1; seed <= 4; seed++) {
        size_t len;
        char *buf = gen_typed_odd(seed == 4 ? 30000 : 3000, seed, &len);
        promo_csv_options o = promo_csv_options_default();
        o.columns = cols;
        o.n_columns = sizeof cols / sizeof *cols;
        o.skip_bad_rows = 1;
        T_ASSERT_MSG(fuzz_csv_paths((const uint8_t *)buf, len, &o) == 0, "seed %llu, skip",
                     (unsigned long long)seed);
        compare_reads(buf, len, o, 3, 1);
        o.max_field_bytes = 12;
        T_ASSERT_MSG(fuzz_csv_paths((const uint8_t *)buf, len, &o) == 0, "seed %llu, limit",
                     (unsigned long long)seed);
        o.max_field_bytes = 0;
        o.skip_bad_rows = 0; /* stops at the first bad record, with the same message */
        T_ASSERT_MSG(fuzz_csv_paths((const uint8_t *)buf, len, &o) == 0, "seed %llu, strict",
                     (unsigned long long)seed);
        /* The rows kept: every record but the odd ones that are bad. */
        o.skip_bad_rows = 1;
        promo_table *t = NULL;
        promo_csv_rejects *rej = NULL;
        T_OK(promo_csv_read_buffer(buf, len, "t.csv", &o, &t, &rej));
        T_ASSERT(t->n_rows > (seed == 4 ? 29000u : 2900u) && rej->n > 0);
        promo_table_free(t);
        promo_csv_rejects_free(rej);
        promo_free(buf);
    }
}

/* Sorted id columns, as exports sorted by order give them: each chunk's keys go into the
 * column's dictionary without a hash index (promo_dict_append_sorted) when they follow the
 * previous chunk's, and the general way when they do not (ids that restart, a null). Same
 * table as the serial read; lookups in the unindexed dictionary work afterwards. */
static char *gen_sorted(size_t n, size_t null_row, size_t *len_out)
{
    size_t cap = n * 64 + 64, len = 0;
    char *buf = promo_malloc(cap);
    T_ASSERT(buf != NULL);
    len += (size_t)snprintf(buf, cap, "order_id,restart,prefix,qty\n");
    for (size_t r = 0; r < n; r++) {
        /* order ids repeat on consecutive rows; restart goes back to 0 half way (a chunk
         * then starts below the previous one's last key); prefix grows by extension ("a",
         * "aa", ...) then moves to the next letter. */
        size_t h = (r < n / 2 ? r : r - n / 2) / 2, pl = 1 + (r / 7) % 8;
        char id[32] = "", pre[16];
        if (r != null_row)
            snprintf(id, sizeof id, "O%09zu", r / 3);
        memset(pre, 'a' + (int)(r / 56 % 26), pl);
        pre[pl] = '\0';
        len += (size_t)snprintf(buf + len, cap - len, "%s,R%06zu,%s,%s\n", id, h, pre,
                                r == 33333 ? "" : "1");
    }
    *len_out = len;
    return buf;
}

T_TEST(csv_sorted_ids_across_chunks)
{
    size_t n = 40000, len;
    char *buf = gen_sorted(n, SIZE_MAX, &len);
    promo_csv_options o = promo_csv_options_default();
    compare_reads(buf, len, o, 2, 1);
    compare_reads(buf, len, o, 5, 1);
    promo_free(buf);
    /* A null in the sorted column: its chunk's rows go the push way. First in the file, ""
     * is the chunk's first key and the chunk stays sorted (codes shifted); in the middle, ""
     * comes after greater keys and the chunk goes the general way. */
    static const size_t null_rows[] = {0, 20000};
    for (size_t i = 0; i < 2; i++) {
        size_t nr = null_rows[i];
        buf = gen_sorted(n, nr, &len);
        compare_reads(buf, len, o, 3, 1);
        promo_table *t = NULL;
        o.n_threads = 4;
        o.parallel_min_bytes = 1;
        T_OK(promo_csv_read_buffer(buf, len, "s.csv", &o, &t, NULL));
        const promo_column *id = col_of(t, "order_id", PROMO_COL_STRING);
        T_ASSERT_EQ_INT(promo_column_is_null(id, nr), 1);
        char key[32];
        for (size_t r = 1; r < n; r += 997) {
            if (r == nr)
                continue;
            snprintf(key, sizeof key, "O%09zu", r / 3);
            T_ASSERT_EQ_INT(promo_dict_find(id->dict, key, 10), id->codes[r]);
        }
        T_ASSERT_EQ_INT(promo_dict_find(id->dict, "O999999999", 10), PROMO_DICT_NONE);
        promo_table_free(t);
        promo_free(buf);
    }
}

/* The one-pass row path for plain typed records (put_row_plain) against the general one: rows
 * of a fully typed schema, each value drawn from forms the short paths take (bare digits, "d.d",
 * ISO dates and date-times) and forms they must hand over (signs, spaces, exponents, 19 digits
 * and more, invalid dates, nulls, quotes, bad values), read with the byte path alone (every
 * record general) and with the structural scan (plain records one-pass): same table, same
 * rejects, same first error. */
T_TEST(csv_plain_row_path_agrees_with_general)
{
    static const char *ints[] = {"7",
                                 "0",
                                 "007",
                                 "123456789012345678",
                                 "1234567890123456789",
                                 "9223372036854775807",
                                 "9223372036854775808",
                                 "-3",
                                 "+4",
                                 " 5",
                                 "6 ",
                                 "",
                                 "x",
                                 "1.5",
                                 "99999999999999999999"};
    static const char *floats[] = {"1.5",
                                   "3",
                                   "0.10",
                                   "12.",
                                   "123456789012345678",
                                   "9007199254740993",
                                   "9007199254740992.5",
                                   ".5",
                                   "-2.25",
                                   "1e3",
                                   " 2.5",
                                   "",
                                   "nan",
                                   "1.2.3",
                                   "0.000000000000000001"};
    static const char *stamps[] = {"2023-01-31 08:00:00", "2024-02-29", "2023-02-29",
                                   "2023-12-31T23:59:60", "2023-13-01", "2023-06-15 24:00:00",
                                   "2023-06-15 23:61:00", "",           " 2023-06-15",
                                   "2023-6-15",           "06/15/2023", "2023-06-15 07:08"};
    static const char *strs[] = {"C00001",  "C00002",    "P0003",    "",     "\"\"",
                                 "\"q,1\"", "abcdefghi", "abcdefgh", "a\"b", "S1"};
    static const promo_csv_column cols[] = {
        {"i", PROMO_COL_INT64, 1},
        {"f", PROMO_COL_FLOAT64, 1},
        {"t", PROMO_COL_TIMESTAMP, 1},
        {"s", PROMO_COL_STRING, 1},
    };
    promo_csv_options opts[2];
    opts[0] = promo_csv_options_default();
    opts[0].columns = cols;
    opts[0].n_columns = 4;
    opts[1] = opts[0];
    opts[1].skip_bad_rows = 1;
    promo_rng rng;
    promo_rng_init(&rng, 2026, 12);
    char buf[8192];
    for (int it = 0; it < 200; it++) {
        size_t at = (size_t)snprintf(buf, sizeof buf, "s,t,f,i\n");
        /* Mostly short-form values; every so often one of the others. */
        size_t rows = 1 + promo_rng_u64(&rng) % 60;
        for (size_t r = 0; r < rows && at + 128 < sizeof buf; r++) {
            uint64_t u = promo_rng_u64(&rng);
            int odd = it % 4 == 0 || u % 5 == 0;
#define PICK(arr, k) arr[odd ? (u >> (k)) % (sizeof arr / sizeof arr[0]) : (u >> (k)) % 2]
            at += (size_t)snprintf(buf + at, sizeof buf - at, "%s,%s,%s,%s\n", PICK(strs, 8),
                                   PICK(stamps, 16), PICK(floats, 24), PICK(ints, 32));
#undef PICK
        }
        for (size_t k = 0; k < 2; k++)
            T_ASSERT_MSG(fuzz_csv_paths((const uint8_t *)buf, at, &opts[k]) == 0,
                         "input %d, options %zu:\n%s", it, k, buf);
    }
}
