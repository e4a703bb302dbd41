/* promo/csv.h: a fast RFC 4180 CSV reader that parses straight into typed columns.
 *
 * Handles quotes, embedded delimiters/newlines/doubled quotes, CRLF or LF, a UTF-8 BOM, and
 * rejects NUL bytes and invalid UTF-8 with a located message. The input is read into memory
 * (promo/infile.h: no mmap, so a file that shrinks while read is an error, not SIGBUS) and,
 * when large, split at safe record boundaries and parsed by several threads; the result does
 * not depend on the thread count.
 *
 * Columns are matched by header name. For each wanted column the caller may fix the type
 * (an explicit schema); other columns get an inferred type (int64, float64, timestamp, bool,
 * else string). Empty fields are null.
 *
 * Details of the format:
 *   - An unquoted empty field is null; a quoted empty field ("") is the empty string in a
 *     STRING column (null in other types), so promo_csv_write's output reads back exactly.
 *     Fields of only spaces are null in non-string columns; numbers, booleans and timestamps
 *     may have surrounding spaces.
 *   - A quote inside an unquoted field is kept (ab"c); text after a closing quote is an error.
 *   - Empty lines are skipped, except in a one-column file where they are nulls.
 *   - Inference: int64 if every value is an integer, else float64 if every value is a decimal
 *     number (no inf/nan), else bool (true/false, any case), else timestamp
 *     (promo_time_parse with date_order), else string. A column of nulls is a string column.
 *   - A BOOL column accepts true/false, t/f, yes/no, y/n, 1/0 in any case.
 *   - Header names are trimmed; an empty name becomes "column_N" (N = 1-based field).
 *     Without a header, fields are named by opt->field_names, else opt->columns in order,
 *     else "column_N".
 *   - Table columns: the requested columns found in the header, in the order of
 *     opt->columns, then (keep_other_columns) the others in header order; requested columns
 *     that are absent and not required are left out. With columns == NULL, all in header order.
 *   - The table is named after the file's base name without extension ("dir/tx.csv" -> "tx").
 *   - STRING dictionaries hold codes in first-appearance order; the whole result (rows,
 *     codes, errors, rejects) is identical for any n_threads.
 *   - Thread-safety: concurrent calls on different inputs are fine; the call itself uses up to
 *     n_threads OpenMP threads.
 *
 * Errors: "FILE:LINE:COL: column 'quantity': expected a number, got \"abc\"" (LINE is the
 * 1-based physical line where the record starts, COL the 1-based field number), status
 * PROMO_EINPUT, for: a value not of its column's type (ints also "integer out of range"),
 * a record with too many or too few fields ("expected 8 fields, got 9"), an unterminated
 * quote, a NUL byte, invalid UTF-8, a field longer than max_field_bytes, text after a closing
 * quote; "FILE:LINE: missing required column 'x' (the header has N columns: 'a', ...)",
 * "FILE:LINE: duplicate column 'x' in the header", "FILE: empty file (0 bytes)". The first
 * bad record in file order is the one reported. With skip_bad_rows, bad records go to the
 * rejects list instead and parsing goes on (header problems are still errors). A missing file
 * is PROMO_ENOTFOUND, a directory or unreadable file PROMO_EIO ("PATH: strerror").
 * PROMO_ENOMEM when an allocation fails; nothing is leaked on any failure.
 *
 * Usage:
 *   promo_csv_options o = promo_csv_options_default();
 *   promo_csv_column cols[] = {{"Quantity", PROMO_COL_FLOAT64, 1}, {"InvoiceDate",
 *                               PROMO_COL_TIMESTAMP, 1}};
 *   o.columns = cols; o.n_columns = 2;
 *   promo_table *t = NULL; promo_csv_rejects *rej = NULL;
 *   if (promo_csv_read("x.csv", &o, &t, &rej)) fprintf(stderr, "%s\n", promo_last_error());
 */
#ifndef PROMO_CSV_H
#define PROMO_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <promo/table.h>
#include <promo/timeutil.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A column the caller wants, by header name. */
typedef struct promo_csv_column {
    const char *name;    /* header name to match (exact, after trimming surrounding spaces) */
    promo_col_type type; /* type to parse it as */
    int required;        /* 1: the header must have it (else PROMO_EINPUT naming it) */
} promo_csv_column;

typedef struct promo_csv_options {
    char delimiter;                  /* field separator; 0 = detect from the header (, ; \t |) */
    int has_header;                  /* 1 (default): first record names the columns */
    const promo_csv_column *columns; /* wanted columns with types; NULL = all, inferred */
    size_t n_columns;                /* entries in columns */
    int keep_other_columns;          /* with columns set: 1 also keeps the rest (inferred types) */
    promo_date_order date_order;     /* how to read slashed dates (timeutil.h) */
    int skip_bad_rows;               /* 1: bad records go to rejects and parsing continues */
    int n_threads;                   /* 0 = OpenMP default; 1 = serial */
    size_t max_field_bytes;          /* a longer field is an error (default 16 MiB) */
    const char *display_name;        /* name used in messages (default: the path) */
    size_t parallel_min_bytes;       /* inputs smaller than this parse serially (default 1 MiB);
                                        tests and the fuzzer set it low to exercise the split */
    const char *const *field_names;  /* has_header 0: the name of each field in order (then
                                        `columns` picks and types some of them, the others
                                        are skipped unparsed); NULL = columns' names */
    size_t n_field_names;            /* entries in field_names */
} promo_csv_options;

/* Defaults: delimiter detected, has_header 1, all columns inferred, PROMO_DATE_ISO,
 * skip_bad_rows 0, n_threads 0, max_field_bytes 16 MiB, parallel_min_bytes 1 MiB. */
promo_csv_options promo_csv_options_default(void);

/* One rejected record. */
typedef struct promo_csv_reject {
    uint64_t line; /* 1-based line where the record starts */
    char *reason;  /* "column 'quantity': expected a number, got \"abc\"" */
    char *raw;     /* the record's raw text (truncated to 4 KiB) */
    uint32_t col;  /* 1-based field number the reason refers to */
} promo_csv_reject;

typedef struct promo_csv_rejects {
    promo_csv_reject *items; /* n entries, in file order */
    size_t n;
    size_t cap;
} promo_csv_rejects;

void promo_csv_rejects_free(promo_csv_rejects *r); /* NULL-safe */

/* Read a CSV file into a new table named after the file's base name (without extension).
 * opt may be NULL (defaults). Read with promo_infile_read(PROMO_INFILE_STREAM): a regular file,
 * "-" (stdin) or a FIFO/pipe read as a stream; devices and directories are PROMO_EINPUT.
 * *out is owned by the caller (promo_table_free). rejects may be NULL; when not NULL it
 * receives a new list (possibly empty) owned by the caller (promo_csv_rejects_free).
 * On failure *out (and *rejects) are NULL. */
int promo_csv_read(const char *path,
                   const promo_csv_options *opt,
                   promo_table **out /* OUT */,
                   promo_csv_rejects **rejects /* OUT, may be NULL */);

/* The same over a memory buffer (data need not be NUL-terminated; it is only read, and
 * nothing refers to it after the call). `name` is used in messages (unless
 * opt->display_name is set) and, without directory and extension, as the table name. */
int promo_csv_read_buffer(const char *data,
                          size_t n,
                          const char *name,
                          const promo_csv_options *opt,
                          promo_table **out /* OUT */,
                          promo_csv_rejects **rejects /* OUT, may be NULL */);

/* ---- Walking records -----------------------------------------------------------------
 *
 * The reader's own record grammar, exported so that code which must point back into a CSV
 * file (a row's physical line, its raw text, the header's field numbers) walks it exactly as
 * promo_csv_read did: same BOM and blank-line rules, same quotes, CRLF/LF and lone-CR
 * handling, same line counting. Nothing is copied or converted; fields point into the buffer.
 *
 * Records come in file order: the first is the header (when the file has one), then one per
 * record. Blank lines before the first record are skipped; after it they are skipped too,
 * unless the first record has a single field, in which case a blank line is a record of one
 * empty field (a null, as the reader reads it). So with a header, the K-th record after it is
 * the reader's K-th row, counting the rows it rejected (records whose `problem` is set, or
 * whose field count differs from the header's, or that fail a type).
 *
 *   promo_csv_walker *w = NULL;
 *   promo_csv_record rec;
 *   if (promo_csv_walker_new(data, n, NULL, &w)) return promo_last_error();
 *   while (promo_csv_walker_next(w, &rec))
 *       printf("line %llu: %zu fields\n", (unsigned long long)rec.line, rec.n_fields);
 *   promo_csv_walker_free(w);
 */

/* A structural problem of a record (the first one found in it). Append only. */
typedef enum promo_csv_problem {
    PROMO_CSV_OK = 0,           /* none */
    PROMO_CSV_NUL = 1,          /* a NUL byte */
    PROMO_CSV_UTF8 = 2,         /* invalid UTF-8 */
    PROMO_CSV_TOOLONG = 3,      /* a field longer than max_field_bytes */
    PROMO_CSV_AFTERQUOTE = 4,   /* text after a closing quote ("ab"c) */
    PROMO_CSV_UNTERMINATED = 5, /* a quote that is never closed (the record runs to the end) */
    PROMO_CSV_PROBLEM_COUNT
} promo_csv_problem;

/* One field of a record, pointing into the walked buffer. */
typedef struct promo_csv_field {
    const char *p;      /* first content byte (after an opening quote) */
    uint32_t n;         /* content bytes, doubled quotes still doubled when escaped; at most
                           max_field_bytes (a longer field is cut and flagged TOOLONG) */
    uint8_t quoted;     /* 1: the field was quoted, so "" is an empty string, not a null */
    uint8_t escaped;    /* 1: contains doubled quotes: promo_csv_field_unescape before use */
    uint16_t reserved_; /* padding; 0 */
} promo_csv_field;

/* One record. Everything points into the walker's buffer or the walker and is valid until
 * the next promo_csv_walker_next or promo_csv_walker_free. */
typedef struct promo_csv_record {
    const char *text;              /* the record's raw text (its line terminator excluded) */
    size_t n_text;                 /* bytes of text */
    uint64_t line;                 /* 1-based physical line where the record starts */
    uint64_t n_lines;              /* newlines the record consumed, its terminator's included */
    size_t n_fields;               /* fields in the record (>= 1) */
    size_t n_stored;               /* fields stored in `fields`: min(n_fields, first record's
                                      field count + 1); the rest are only counted */
    const promo_csv_field *fields; /* the first n_stored fields */
    promo_csv_problem problem;     /* first structural problem, PROMO_CSV_OK if none */
    size_t problem_field;          /* its 0-based field */
    size_t problem_offset;         /* PROMO_CSV_UTF8: byte offset of the bad sequence in it */
} promo_csv_record;

typedef struct promo_csv_walker promo_csv_walker;

/* A walker over data[0..n) (need not be NUL-terminated; it is only read and must outlive the
 * walker). opt may be NULL; only opt->delimiter (0 = detected as promo_csv_read detects it)
 * and opt->max_field_bytes (0 = 16 MiB) are used. Empty input (or only a BOM and blank lines)
 * is not an error: the walker yields no record. *out is freed with promo_csv_walker_free.
 * Errors: PROMO_EUSAGE (NULL out, or n > 0 with NULL data), PROMO_ENOMEM. */
int promo_csv_walker_new(const char *data,
                         size_t n,
                         const promo_csv_options *opt,
                         promo_csv_walker **out /* OUT */);

/* The next record into *rec: returns 1, or 0 (rec untouched) after the last one. Never fails
 * and never allocates: structural problems are reported in rec->problem and walking goes on
 * after the record, where the reader would go on. */
int promo_csv_walker_next(promo_csv_walker *w, promo_csv_record *rec /* OUT */);

/* The delimiter in use (given or detected). */
char promo_csv_walker_delimiter(const promo_csv_walker *w);

void promo_csv_walker_free(promo_csv_walker *w); /* NULL-safe */

/* Copy f's text into dst (room for f->n bytes), undoubling quotes when f->escaped. Returns
 * the bytes written (no NUL is added). */
size_t promo_csv_field_unescape(const promo_csv_field *f, char *dst /* OUT */);

/* Write a table as RFC 4180 CSV (header + rows, LF line ends; quoting only where needed;
 * timestamps as ISO 8601 "YYYY-MM-DDTHH:MM:SS"; bools as true/false; floats as the shortest
 * of %.15g..%.17g that reads back exactly, in the C locale; nulls as empty fields, the empty
 * string as ""). NaN and infinities are written as null: the reader rejects them as numbers.
 * Reading the file back with the same column types gives the same table (codes included).
 * Written through promo_outfile (outfile.h): a regular PATH atomically (temporary, fsync,
 * rename; on failure PATH untouched, no temporary left), "-" to stdout, a device or FIFO in
 * place with every write checked, a symlink followed. Errors: PROMO_EINPUT (a path that
 * cannot be written: missing directory, a directory...), PROMO_EIO ("PATH: write failed:
 * strerror"), PROMO_ENOMEM. */
int promo_csv_write(const char *path, const promo_table *t);
/* The same CSV to an open stream (e.g. promo_outfile_stream, to write the file before a
 * store commit and put it in place after). Write errors are left in ferror(f). */
int promo_csv_write_stream(FILE *f, const promo_table *t);

#ifdef __cplusplus
}
#endif
#endif
