/* fuzz/fuzz_csv.c: libFuzzer target for the CSV reader (make fuzz), also linked into the test
 * binary so `make test` replays fuzz/corpus/csv (tests/test_csv.c).
 *
 * Each input is read with three option sets (inferred types; a typed schema; skip_bad_rows
 * with a small field limit). Each is also read split into three chunks (n_threads 3,
 * parallel_min_bytes 1) and the two results must be identical: status, message, every cell,
 * dictionary order and rejects. A difference aborts, which the fuzzer reports as a crash.
 * The record walker (promo_csv_walker) must agree with the reader: with skip_bad_rows, every
 * record after the header is a row or a reject, and each reject's line and raw text are those
 * of a walked record. The structural fast path (64-byte SIMD masks) must walk and read exactly as
 * the byte-by-byte path (fuzz_csv_paths). Under libFuzzer (PROMO_FUZZ), for speed, each input runs
 * one of the option sets, the chunks are parsed by one thread and inputs over 16 KiB are skipped
 * (see LLVMFuzzerInitialize below); the replay runs all three sets on every file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/csv.h>
#include <promo/error.h>

#include "data/csv_internal.h"

int fuzz_csv_one(const uint8_t *data, size_t n);
int fuzz_csv_paths(const uint8_t *data, size_t n, const promo_csv_options *o);
int fuzz_csv_tables_equal(const promo_table *a, const promo_table *b, char *why, size_t cap);

static int column_equal(const promo_column *a, const promo_column *b, char *why, size_t cap)
{
    if (strcmp(a->name, b->name) || a->type != b->type || a->n != b->n || a->n_null != b->n_null) {
        snprintf(why, cap, "column '%s' differs in name, type, rows or nulls", a->name);
        return 0;
    }
    if (a->type == PROMO_COL_STRING) {
        uint32_t na = promo_dict_size(a->dict);
        if (na != promo_dict_size(b->dict)) {
            snprintf(why, cap, "column '%s': dictionary sizes %u vs %u", a->name, na,
                     promo_dict_size(b->dict));
            return 0;
        }
        for (uint32_t k = 0; k < na; k++)
            if (promo_dict_key_len(a->dict, k) != promo_dict_key_len(b->dict, k) ||
                memcmp(promo_dict_key(a->dict, k), promo_dict_key(b->dict, k),
                       promo_dict_key_len(a->dict, k))) {
                snprintf(why, cap, "column '%s': dictionary key %u differs", a->name, k);
                return 0;
            }
    }
    for (size_t r = 0; r < a->n; r++) {
        int na = promo_column_is_null(a, r), nb = promo_column_is_null(b, r);
        int same = na == nb;
        if (same && !na) {
            switch (a->type) {
            case PROMO_COL_INT64:
            case PROMO_COL_TIMESTAMP:
                same = a->i64[r] == b->i64[r];
                break;
            case PROMO_COL_FLOAT64:
                same = memcmp(&a->f64[r], &b->f64[r], sizeof(double)) == 0;
                break;
            case PROMO_COL_STRING:
                same = a->codes[r] == b->codes[r];
                break;
            default:
                same = a->b[r] == b->b[r];
                break;
            }
        }
        if (!same) {
            snprintf(why, cap, "column '%s': row %zu differs", a->name, r);
            return 0;
        }
    }
    return 1;
}

int fuzz_csv_tables_equal(const promo_table *a, const promo_table *b, char *why, size_t cap)
{
    if (!a || !b) {
        snprintf(why, cap, "one table is NULL");
        return a == b;
    }
    if (strcmp(a->name, b->name) || a->n_rows != b->n_rows || a->n_cols != b->n_cols) {
        snprintf(why, cap, "tables differ in name, rows (%zu vs %zu) or columns (%zu vs %zu)",
                 a->n_rows, b->n_rows, a->n_cols, b->n_cols);
        return 0;
    }
    for (size_t c = 0; c < a->n_cols; c++)
        if (!column_equal(a->cols[c], b->cols[c], why, cap))
            return 0;
    return 1;
}

static int rejects_equal(const promo_csv_rejects *a, const promo_csv_rejects *b)
{
    if (!a || !b)
        return a == b;
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->items[i].line != b->items[i].line || a->items[i].col != b->items[i].col ||
            strcmp(a->items[i].reason, b->items[i].reason) ||
            strcmp(a->items[i].raw, b->items[i].raw))
            return 0;
    return 1;
}

static void check_one(const uint8_t *data, size_t n, const promo_csv_options *o)
{
    promo_table *t1 = NULL, *t2 = NULL;
    promo_csv_rejects *r1 = NULL, *r2 = NULL;
    promo_csv_options serial = *o, split = *o;
    serial.n_threads = 1;
    split.n_threads = 3;
    split.parallel_min_bytes = 1;
    int rc1 = promo_csv_read_buffer((const char *)data, n, "fuzz.csv", &serial, &t1, &r1);
    char msg1[4096];
    snprintf(msg1, sizeof msg1, "%s", promo_last_error());
    int rc2 = promo_csv_read_buffer((const char *)data, n, "fuzz.csv", &split, &t2, &r2);
    char why[256] = "";
    if (rc1 != rc2 || (rc1 && strcmp(msg1, promo_last_error()))) {
        fprintf(stderr, "fuzz_csv: serial and split reads differ: %d \"%s\" vs %d \"%s\"\n", rc1,
                msg1, rc2, promo_last_error());
        abort();
    }
    if (!rc1 && (!fuzz_csv_tables_equal(t1, t2, why, sizeof why) || !rejects_equal(r1, r2))) {
        fprintf(stderr, "fuzz_csv: serial and split tables differ: %s\n",
                why[0] ? why : "rejects differ");
        abort();
    }
    if (!rc1 && (rc1 = promo_table_seal(t1)))
        abort();
    promo_table_free(t1);
    promo_table_free(t2);
    promo_csv_rejects_free(r1);
    promo_csv_rejects_free(r2);
}

/* Walk the input and check it against a skip_bad_rows read of it. */
static void check_walker(const uint8_t *data, size_t n, const promo_csv_options *o)
{
    promo_table *t = NULL;
    promo_csv_rejects *rej = NULL;
    promo_csv_options serial = *o;
    serial.n_threads = 1;
    int rc = promo_csv_read_buffer((const char *)data, n, "fuzz.csv", &serial, &t, &rej);
    promo_csv_walker *w = NULL;
    if (promo_csv_walker_new((const char *)data, n, o, &w))
        goto done; /* out of memory */
    promo_csv_record rec;
    int has_first = promo_csv_walker_next(w, &rec);
    if (!rc && has_first) {
        size_t n_rec = 0, k = 0;
        while (promo_csv_walker_next(w, &rec)) {
            if (rec.n_fields < 1 || rec.n_stored > rec.n_fields || rec.text < (const char *)data ||
                rec.text + rec.n_text > (const char *)data + n)
                abort();
            if (k < rej->n && rej->items[k].line == rec.line) {
                /* the raw text is kept up to 4 KiB and up to a NUL byte */
                size_t len = strnlen(rec.text, rec.n_text > 4096 ? 4096 : rec.n_text);
                if (strlen(rej->items[k].raw) != len || memcmp(rej->items[k].raw, rec.text, len)) {
                    fprintf(stderr, "fuzz_csv: reject raw text differs from the walked record\n");
                    abort();
                }
                k++;
            }
            n_rec++;
        }
        if (k != rej->n || n_rec != t->n_rows + rej->n) {
            fprintf(stderr,
                    "fuzz_csv: walker and reader disagree: %zu records, %zu rows + %zu rejects "
                    "(%zu matched)\n",
                    n_rec, t->n_rows, rej->n, k);
            abort();
        }
    }
    promo_csv_walker_free(w);
done:
    promo_table_free(t);
    promo_csv_rejects_free(rej);
}

static int records_equal(const promo_csv_record *a, const promo_csv_record *b)
{
    if (a->text != b->text || a->n_text != b->n_text || a->line != b->line ||
        a->n_lines != b->n_lines || a->n_fields != b->n_fields || a->n_stored != b->n_stored ||
        a->problem != b->problem || (a->problem && a->problem_field != b->problem_field) ||
        (a->problem == PROMO_CSV_UTF8 && a->problem_offset != b->problem_offset))
        return 0;
    for (size_t i = 0; i < a->n_stored; i++)
        if (a->fields[i].p != b->fields[i].p || a->fields[i].n != b->fields[i].n ||
            a->fields[i].quoted != b->fields[i].quoted ||
            a->fields[i].escaped != b->fields[i].escaped)
            return 0;
    return 1;
}

/* The structural fast path (64-byte masks: scalar, SSE2, AVX2) against the byte path alone:
 * every walked record identical, and the serial read identical. Returns 0, or 1 after printing
 * the difference (the fuzzer aborts; the test fails). */
int fuzz_csv_paths(const uint8_t *data, size_t n, const promo_csv_options *o)
{
    static const int levels[] = {CSV_SIMD_SCALAR, CSV_SIMD_SSE2, CSV_SIMD_AVX2};
    int bad = 0;
    for (size_t li = 0; li < sizeof levels / sizeof levels[0] && !bad; li++) {
        promo_csv_walker *wa = NULL, *wb = NULL;
        int old = csv_simd_force(CSV_SIMD_OFF);
        int rca = promo_csv_walker_new((const char *)data, n, o, &wa);
        csv_simd_force(levels[li]);
        int rcb = promo_csv_walker_new((const char *)data, n, o, &wb);
        csv_simd_force(old);
        if (!rca && !rcb) {
            promo_csv_record ra, rb;
            for (size_t k = 0;; k++) {
                int ga = promo_csv_walker_next(wa, &ra), gb = promo_csv_walker_next(wb, &rb);
                if (ga != gb || (ga && !records_equal(&ra, &rb))) {
                    fprintf(stderr, "fuzz_csv: SIMD level %d walks record %zu differently\n",
                            levels[li], k);
                    bad = 1;
                }
                if (!ga || !gb || bad)
                    break;
            }
        }
        promo_csv_walker_free(wa);
        promo_csv_walker_free(wb);
    }
    promo_table *t1 = NULL, *t2 = NULL;
    promo_csv_rejects *r1 = NULL, *r2 = NULL;
    promo_csv_options serial = *o;
    serial.n_threads = 1;
    int old = csv_simd_force(CSV_SIMD_OFF);
    int rc1 = promo_csv_read_buffer((const char *)data, n, "fuzz.csv", &serial, &t1, &r1);
    char msg1[4096];
    snprintf(msg1, sizeof msg1, "%s", promo_last_error());
    csv_simd_force(CSV_SIMD_AUTO);
    int rc2 = promo_csv_read_buffer((const char *)data, n, "fuzz.csv", &serial, &t2, &r2);
    csv_simd_force(old);
    char why[256] = "";
    if (!bad &&
        (rc1 != rc2 || (rc1 && strcmp(msg1, promo_last_error())) ||
         (!rc1 && (!fuzz_csv_tables_equal(t1, t2, why, sizeof why) || !rejects_equal(r1, r2))))) {
        fprintf(stderr, "fuzz_csv: byte path and SIMD reads differ: %d vs %d %s\n", rc1, rc2, why);
        bad = 1;
    }
    promo_table_free(t1);
    promo_table_free(t2);
    promo_csv_rejects_free(r1);
    promo_csv_rejects_free(r2);
    return bad;
}

/* Option set k (0..3) on the input: inferred types; a typed schema (MDY dates); skip_bad_rows
 * with a small field limit, plus the walker; only the typed columns (every kept column typed:
 * the split read's chunks then share one array per column, moved down at the merge). */
static void run_set(int k, const uint8_t *data, size_t n)
{
    static const promo_csv_column typed[] = {
        {"a", PROMO_COL_INT64, 0}, {"b", PROMO_COL_FLOAT64, 0}, {"c", PROMO_COL_TIMESTAMP, 0},
        {"d", PROMO_COL_BOOL, 0},  {"e", PROMO_COL_STRING, 0},
    };
    promo_csv_options o = promo_csv_options_default();
    if (k == 1) {
        o.columns = typed;
        o.n_columns = sizeof typed / sizeof typed[0];
        o.keep_other_columns = 1;
        o.date_order = PROMO_DATE_MDY;
    } else if (k == 2) {
        o.skip_bad_rows = 1;
        o.max_field_bytes = 64;
        o.columns = typed;
        o.n_columns = 2;
        o.keep_other_columns = 1;
    } else if (k == 3) {
        o.skip_bad_rows = 1;
        o.columns = typed;
        o.n_columns = sizeof typed / sizeof typed[0];
    }
    check_one(data, n, &o);
    if (k == 2)
        check_walker(data, n, &o);
    if (fuzz_csv_paths(data, n, &o))
        abort();
}

int fuzz_csv_one(const uint8_t *data, size_t n)
{
    for (int k = 0; k < 4; k++)
        run_set(k, data, n);
    return 0;
}

#ifdef PROMO_FUZZ
#include <omp.h>

/* Speed (issue 18: 58 inputs/s was too slow to find much). Parallel regions run with a team of
 * one: the split read still cuts the input into 3 chunks and parses them one after another, so
 * the chunk boundaries and the merge are what is compared with the serial read, without a
 * thread team woken for every region of every input on a loaded machine. (Races are not what
 * this target can find: ASan does not see them; tests/test_csv.c runs the threads for real.)
 * Inputs are capped at 16 KiB: CSV bugs show on small inputs, and big ones slow the search.
 * And one option set per input (below). Measured: bench/RESULTS.md. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    omp_set_max_active_levels(0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n > 16384)
        return 0;
    /* One option set per input, chosen by the last byte (which stays in the CSV): a quarter
     * of the work per input; the corpus replay in make test runs all four on every file. */
    if (n)
        run_set(d[n - 1] % 4, d, n);
    return 0;
}
#endif
