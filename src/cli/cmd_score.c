/* promo score: the calibrated propensity of every customer known at a cutoff for one target,
 * as CSV (customer_id, probability), from the saved model; one pass over all customers through
 * the scoring handle (promo/scorer.h). For the target any it reads the features `promo
 * features` stored when they are current for the cutoff (panel.h), else computes them. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>
#include <promo/explain.h>
#include <promo/log.h>
#include <promo/outfile.h>
#include <promo/propensity.h>
#include <promo/scorer.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"
#include "cli/cli_uplift.h"

/* One CSV field (quoted when it needs it) appended at b + *n (room is the caller's). One pass
 * copies and looks for the characters that need quotes (strpbrk then a copy cost 8% of a
 * million-customer score: the ids are short); a field that has one is written again quoted. */
static void put_field(char *b, size_t *n, const char *v)
{
    char *o = b + *n;
    const char *p = v;
    for (; *p; p++) {
        if (*p == ',' || *p == '"' || *p == '\r' || *p == '\n')
            break;
        *o++ = *p;
    }
    if (!*p) {
        *n = (size_t)(o - b);
        return;
    }
    b[(*n)++] = '"';
    for (p = v; *p; p++) {
        if (*p == '"')
            b[(*n)++] = '"';
        b[(*n)++] = *p;
    }
    b[(*n)++] = '"';
}

/* A ranked row: the scores' index, and with --reasons the name and reason. */
typedef struct ranked {
    size_t i;
    double p;
    const char *name;   /* borrowed from the customers table, "" when none */
    const char *reason; /* borrowed from the picks, "" when none */
} ranked;

static int by_p_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? 1 : -1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* A sort key of p: unsigned order is descending p (the IEEE bits made monotonic, then
 * inverted; -0 is 0, as == has them). */
static uint64_t desc_key(double p)
{
    uint64_t u;
    if (p == 0)
        p = 0;
    memcpy(&u, &p, sizeof u);
    u = u >> 63 ? ~u : u | (uint64_t)1 << 63;
    return ~u;
}

typedef struct keyed {
    uint64_t key;
    size_t i;
} keyed;

/* rk[0..n) filled with scores p[0..n) ranked as qsort with by_p_desc ranks them: probability
 * descending, ties in the scores' order (name and reason ""). qsort of a million rows was a
 * tenth of a score; a stable LSD radix sort on the keys, starting from the scores' order, gives
 * the same order (ties keep it) in a few passes over 16-byte pairs, skipping bytes every key
 * shares. A NaN (no order) keeps qsort. */
static int rank_rows(const double *p, size_t n, ranked *rk)
{
    for (size_t i = 0; i < n; i++)
        if (isnan(p[i])) {
            for (size_t j = 0; j < n; j++)
                rk[j] = (ranked){j, p[j], "", ""};
            qsort(rk, n, sizeof *rk, by_p_desc);
            return PROMO_OK;
        }
    keyed *a = promo_mallocn(n ? n : 1, sizeof *a), *t = promo_mallocn(n ? n : 1, sizeof *t);
    int rc = PROMO_ENOMEM;
    if (!a || !t)
        goto done;
    for (size_t i = 0; i < n; i++)
        a[i] = (keyed){desc_key(p[i]), i};
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((a[i].key >> shift) & 0xff) + 1]++;
        if (n && count[((a[0].key >> shift) & 0xff) + 1] == n)
            continue; /* every key has this byte: the pass would not move anything */
        for (int d = 0; d < 256; d++)
            count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++)
            t[count[(a[i].key >> shift) & 0xff]++] = a[i];
        keyed *x = a;
        a = t;
        t = x;
    }
    for (size_t k = 0; k < n; k++)
        rk[k] = (ranked){a[k].i, p[a[k].i], "", ""};
    rc = PROMO_OK;
done:
    promo_free(a);
    promo_free(t);
    return rc;
}

/* What snprintf(.., 64, ..) wrote (a probability or a rank fits; anything longer is cut). */
static size_t fmt_len(int r)
{
    return r < 0 ? 0 : r > 63 ? 63 : (size_t)r;
}

/* One CSV line of rank k into b + *n (room is the caller's). */
static void csv_line(const promo_prop_scores *sc,
                     const ranked *rk,
                     size_t k,
                     int wide,
                     int baseline,
                     char *b,
                     size_t *n)
{
    put_field(b, n, sc->customer_id[rk[k].i]);
    *n += fmt_len(snprintf(b + *n, 64, baseline ? ",%.6g" : ",%.6f", rk[k].p));
    if (wide) {
        *n += fmt_len(snprintf(b + *n, 64, ",%zu,", k + 1));
        put_field(b, n, rk[k].name);
        b[(*n)++] = ',';
        put_field(b, n, rk[k].reason);
    }
    b[(*n)++] = '\n';
}

/* Room for one line: the fields twice (every character may be a doubled quote) and the
 * numbers ("%.6f" of a probability, "%.6g" of a score, the rank: under 64 bytes). */
static size_t csv_room(const promo_prop_scores *sc, const ranked *rk, size_t k)
{
    return 64 + 8 +
           2 * (strlen(sc->customer_id[rk[k].i]) + strlen(rk[k].name) + strlen(rk[k].reason));
}

/* CSV text of the ranked scores: customer_id,probability (a baseline: score), and with
 * --reasons rank,name,reason. Formatting a million lines is a third of a score's serial time,
 * so chunks of lines are formatted in parallel, each at an offset its lines' room allows, and
 * then moved together in order: the text is the same whatever the thread count. */
static char *
to_csv(const promo_prop_scores *sc, const ranked *rk, int wide, int baseline, size_t *len)
{
    enum { CHUNK = 8192 };
    size_t n_ch = (sc->n + CHUNK - 1) / CHUNK, head = 128;
    size_t *off = promo_mallocn(n_ch + 1, sizeof *off),
           *used = promo_mallocn(n_ch + 1, sizeof *used);
    char *b = NULL;
    if (!off || !used)
        goto done;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t c = 0; c < n_ch; c++) {
        size_t k1 = (c + 1) * CHUNK < sc->n ? (c + 1) * CHUNK : sc->n, room = 0;
        for (size_t k = c * CHUNK; k < k1; k++)
            room += csv_room(sc, rk, k);
        off[c + 1] = room;
    }
    off[0] = head;
    for (size_t c = 0; c < n_ch; c++)
        off[c + 1] += off[c];
    if (!(b = promo_malloc(off[n_ch])))
        goto done;
    size_t n = (size_t)snprintf(b, head, "customer_id,%s%s\n", baseline ? "score" : "probability",
                                wide ? ",rank,name,reason" : "");
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t c = 0; c < n_ch; c++) {
        size_t k1 = (c + 1) * CHUNK < sc->n ? (c + 1) * CHUNK : sc->n, m = off[c];
        for (size_t k = c * CHUNK; k < k1; k++)
            csv_line(sc, rk, k, wide, baseline, b, &m);
        used[c] = m - off[c];
    }
    for (size_t c = 0; c < n_ch; c++) { /* n <= off[c]: each chunk moves down or stays */
        memmove(b + n, b + off[c], used[c]);
        n += used[c];
    }
    *len = n;
done:
    promo_free(off);
    promo_free(used);
    return b;
}

static char *to_json(const promo_prop_scores *sc,
                     const ranked *rk,
                     int wide,
                     int baseline,
                     size_t n_left_out,
                     size_t *len)
{
    char *buf = NULL;
    size_t sz = 0;
    FILE *f = open_memstream(&buf, &sz);
    if (!f)
        return NULL;
    char d[24];
    promo_time_format(sc->as_of, 1, d, sizeof d);
    fprintf(f, "{\"target\":");
    cli_json_str(f, sc->target);
    fprintf(f, ",\"as_of\":\"%s\",\"n\":%zu,\"n_left_out\":%zu,\"score\":\"%s\",\"customers\":[", d,
            sc->n, n_left_out, baseline ? "baseline" : "probability");
    for (size_t k = 0; k < sc->n; k++) {
        fprintf(f, "%s{\"rank\":%zu,\"customer_id\":", k ? "," : "", k + 1);
        cli_json_str(f, sc->customer_id[rk[k].i]);
        fprintf(f, ",\"%s\":%.6g", baseline ? "score" : "probability", rk[k].p);
        if (wide) {
            fprintf(f, ",\"name\":");
            cli_json_str(f, rk[k].name);
            fprintf(f, ",\"reason\":");
            cli_json_str(f, rk[k].reason);
        }
        fputc('}', f);
    }
    fprintf(f, "]}\n");
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    char *out = promo_malloc(sz ? sz : 1);
    if (out)
        memcpy(out, buf, sz);
    free(buf);
    *len = sz;
    return out;
}

/* Customers of the workspace the scores leave out: those with purchase lines but none before
 * the cutoff that counts (only cancellations or returns, or all after it). */
static size_t left_out(const promo_scorer *h, const promo_prop_scores *sc)
{
    const promo_panel *d = promo_scorer_panel(h);
    return d->n_keys > sc->n ? d->n_keys - sc->n : 0;
}

/* The customers table's name of each scored customer ("" when none). */
static void names_of(const promo_scorer *h, const promo_prop_scores *sc, ranked *rk)
{
    const promo_panel *d = promo_scorer_panel(h);
    const promo_column *id = d->customers ? promo_table_column(d->customers, "customer_id") : NULL,
                       *nm = d->customers ? promo_table_column(d->customers, "name") : NULL;
    if (!id || !nm)
        return;
    promo_dict *map = promo_dict_new();
    if (!map)
        return;
    size_t nr = d->customers->n_rows;
    uint32_t *row = promo_mallocn(nr ? nr : 1, sizeof *row);
    if (!row) {
        promo_dict_free(map);
        return;
    }
    for (size_t r = 0; r < nr; r++) {
        const char *v = promo_column_str(id, r);
        uint32_t code = promo_dict_intern(map, v, strlen(v));
        if (code < nr)
            row[code] = (uint32_t)r;
    }
    for (size_t k = 0; k < sc->n; k++) {
        const char *v = sc->customer_id[rk[k].i];
        uint32_t code = promo_dict_find(map, v, strlen(v));
        if (code < nr && !promo_column_is_null(nm, row[code]))
            rk[k].name = promo_column_str(nm, row[code]);
    }
    promo_free(row);
    promo_dict_free(map);
}

int cmd_score(int argc, char **argv)
{
    static const char *const baseline_words[] = {"none", "popularity", "rfm", NULL};
    const char *ws = CLI_DEFAULT_WS, *target = NULL, *out = NULL, *model = "propensity";
    int64_t as_of = 0;
    int json = 0, reasons = 0, baseline = 0, recompute = 0;
    const cli_opt opts[] = {
        {CLI_STRING("model", "NAME", &model),
         .help = "propensity, or uplift (effect per arm vs control, best arm: cli_uplift.h)"},
        {CLI_WS(&ws)},
        {CLI_STRING("target", "T", &target), .required = 1,
         .help = "the target (any, product:ID, category:NAME)"},
        {CLI_AS_OF(&as_of), .help = "cutoff", .def = "the day after the last transaction"},
        {CLI_PATH("out", "FILE.csv", &out), .help = "output file", .def = "stdout"},
        {CLI_FLAG("reasons", &reasons),
         .help = "add rank, name and the top reason of each customer (TreeSHAP)"},
        {CLI_ENUM("baseline", baseline_words, &baseline),
         .help = "rank by a baseline instead of the model (column score, not a probability): "
                 "what train suggests when the model ranks worse"},
        {CLI_FLAG("recompute", &recompute),
         .help = "compute the features from the tables even when those promo features stored "
                 "are current (the same scores, slower: for checking)"},
        {CLI_JSON(&json), .help = "JSON instead of CSV"},
        {0},
    };
    const cli_spec spec = {
        .name = "score",
        .usage = "usage: promo score --ws DIR --target T [--as-of DATE] [--out FILE.csv]\n"
                 "                   [--reasons] [--baseline popularity|rfm] [--recompute] "
                 "[--json]\n",
        .about = "Score every customer known at DATE (default: the day after the last\n"
                 "transaction) for target T (any, product:ID, category:NAME) with the model\n"
                 "promo train saved, most likely buyers first.\n"
                 "CSV columns: customer_id, probability (with --reasons also rank, name,\n"
                 "reason); to FILE.csv (written atomically) or stdout. Customers whose only\n"
                 "lines before DATE are cancellations or returns are left out (a line on\n"
                 "stderr says how many).\n"
                 "For the target any, the features `promo features --as-of DATE` stored are\n"
                 "read instead of computed while the workspace's tables are unchanged since\n"
                 "(-v says which, and why not).\n",
        .opts = opts,
        .epilog = "exit status: 0 ok, 2 bad input or usage (unknown target, no model), 1 "
                  "internal failure\n",
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    if (baseline && reasons)
        return cli_usage_error("score", "--reasons explains the model: not with --baseline");
    if (!strcmp(model, "uplift") && recompute)
        return cli_usage_error("score", "--recompute: for the propensity model only");
    if (!strcmp(model, "uplift"))
        return cli_score_uplift(ws, target, as_of, out, json);
    if (strcmp(model, "propensity") != 0)
        return cli_usage_error("score", "--model %s: expected propensity or uplift", model);
    promo_store *s = NULL;
    promo_scorer *h = NULL;
    promo_prop_scores *sc = NULL;
    promo_campaign_pick *pk = NULL;
    ranked *rk = NULL;
    char *text = NULL;
    size_t n_pk = 0, len = 0;
    int team = cli_team_by_load("score");
    int rc = promo_store_open_read(ws, &s);
    /* The stored features when `promo features` left them current for this cutoff: no
     * table is read then (scorer.h); else they are computed as always. */
    promo_scorer_params sp = {.target = target,
                              .as_of = as_of,
                              .baseline = baseline == 1   ? PROMO_PROP_POPULARITY
                                          : baseline == 2 ? PROMO_PROP_RFM
                                                          : 0,
                              .stored = !recompute,
                              .names = reasons};
    if (!rc)
        rc = promo_scorer_open_params(s, &sp, &h);
    if (!rc)
        rc = baseline ? promo_scorer_score_baseline(
                            h, target, baseline == 1 ? PROMO_PROP_POPULARITY : PROMO_PROP_RFM, &sc)
                      : promo_scorer_score(h, &sc);
    if (!rc && reasons)
        rc = promo_scorer_top(h, sc->n, &pk, &n_pk);
    if (!rc && !(rk = promo_calloc(sc->n ? sc->n : 1, sizeof *rk)))
        rc = PROMO_ENOMEM;
    if (rc)
        goto done;
    if ((rc = rank_rows(sc->probability, sc->n, rk)))
        goto done;
    if (reasons) {
        /* promo_scorer_top ranks the same scores with the same tie order: pick k is rank k. */
        for (size_t k = 0; k < sc->n && k < n_pk; k++)
            rk[k].reason = pk[k].reason;
        names_of(h, sc, rk);
    }
    size_t n_out = left_out(h, sc);
    text = json ? to_json(sc, rk, reasons, baseline, n_out, &len)
                : to_csv(sc, rk, reasons, baseline, &len);
    if (!text) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    if (out) {
        rc = promo_outfile_write(out, text, len);
        if (!rc) {
            char d[24];
            promo_time_format(sc->as_of, 1, d, sizeof d);
            promo_info("scored %zu customers for %s as of %s into %s", sc->n, target, d, out);
        }
    } else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
        rc = promo_fail(PROMO_EIO, "writing to stdout failed");
    }
    if (!rc && n_out)
        promo_info("%zu customer%s of the workspace left out: no purchase before the cutoff "
                   "(only cancellations or returns)",
                   n_out, n_out == 1 ? "" : "s");
done:
    promo_free(text);
    promo_free(rk);
    promo_free(pk);
    promo_prop_scores_free(sc);
    promo_scorer_free(h);
    promo_store_close(s);
    omp_set_num_threads(team);
    return cli_report(rc);
}
