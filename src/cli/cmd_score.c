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
#include <promo/uplift_score.h>

#include "cli/cli.h"
#include "cli/cli_fmt.h"
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

/* Line k of a CSV text: room() bounds its bytes (every field may be doubled quotes), put()
 * writes it at b + *n and advances *n. */
typedef size_t (*csv_room_fn)(const void *ctx, size_t k);
typedef void (*csv_put_fn)(const void *ctx, size_t k, char *b, size_t *n);

/* head, then lines 0..n_lines) of a CSV text. Formatting a million lines is a third of a
 * score's serial time, so chunks of lines are formatted in parallel (the current team), each
 * at an offset its lines' room allows, and then moved together in order: the text is the same
 * whatever the thread count. NULL on ENOMEM. */
static char *csv_text(const char *head,
                      size_t n_lines,
                      csv_room_fn room,
                      csv_put_fn put,
                      const void *ctx,
                      size_t *len)
{
    enum { CHUNK = 8192 };
    size_t n_ch = (n_lines + CHUNK - 1) / CHUNK, n = strlen(head);
    size_t *off = promo_mallocn(n_ch + 1, sizeof *off),
           *used = promo_mallocn(n_ch + 1, sizeof *used);
    char *b = NULL;
    if (!off || !used)
        goto done;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t c = 0; c < n_ch; c++) {
        size_t k1 = (c + 1) * CHUNK < n_lines ? (c + 1) * CHUNK : n_lines, r = 0;
        for (size_t k = c * CHUNK; k < k1; k++)
            r += room(ctx, k);
        off[c + 1] = r;
    }
    off[0] = n;
    for (size_t c = 0; c < n_ch; c++)
        off[c + 1] += off[c];
    if (!(b = promo_malloc(off[n_ch] ? off[n_ch] : 1)))
        goto done;
    memcpy(b, head, n);
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t c = 0; c < n_ch; c++) {
        size_t k1 = (c + 1) * CHUNK < n_lines ? (c + 1) * CHUNK : n_lines, m = off[c];
        for (size_t k = c * CHUNK; k < k1; k++)
            put(ctx, k, b, &m);
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

/* The propensity scores' lines. */
typedef struct prop_csv {
    const promo_prop_scores *sc;
    const ranked *rk;
    int wide, baseline;
} prop_csv;

/* One CSV line of rank k into b + *n (room is the caller's). */
static void prop_line(const void *ctx, size_t k, char *b, size_t *n)
{
    const prop_csv *x = ctx;
    const ranked *rk = x->rk;
    put_field(b, n, x->sc->customer_id[rk[k].i]);
    *n += fmt_len(snprintf(b + *n, 64, x->baseline ? ",%.6g" : ",%.6f", rk[k].p));
    if (x->wide) {
        *n += fmt_len(snprintf(b + *n, 64, ",%zu,", k + 1));
        put_field(b, n, rk[k].name);
        b[(*n)++] = ',';
        put_field(b, n, rk[k].reason);
    }
    b[(*n)++] = '\n';
}

/* Room for one line: the fields twice (every character may be a doubled quote) and the
 * numbers ("%.6f" of a probability, "%.6g" of a score, the rank: under 64 bytes). */
static size_t prop_room(const void *ctx, size_t k)
{
    const prop_csv *x = ctx;
    const ranked *rk = x->rk;
    return 64 + 8 +
           2 * (strlen(x->sc->customer_id[rk[k].i]) + strlen(rk[k].name) + strlen(rk[k].reason));
}

/* CSV text of the ranked scores: customer_id,probability (a baseline: score), and with
 * --reasons rank,name,reason. */
static char *
to_csv(const promo_prop_scores *sc, const ranked *rk, int wide, int baseline, size_t *len)
{
    char head[128];
    snprintf(head, sizeof head, "customer_id,%s%s\n", baseline ? "score" : "probability",
             wide ? ",rank,name,reason" : "");
    prop_csv x = {sc, rk, wide, baseline};
    return csv_text(head, sc->n, prop_room, prop_line, &x, len);
}

/* Close an open_memstream stream f and hand its bytes over in promo's allocator (the stream's
 * buffer comes from malloc); NULL if the stream failed. buf and sz are the stream's: fclose
 * sets them. */
static char *memstream_take(FILE *f, char **buf, const size_t *sz)
{
    if (fclose(f) != 0) {
        free(*buf);
        return NULL;
    }
    char *out = promo_malloc(*sz ? *sz : 1);
    if (out)
        memcpy(out, *buf, *sz);
    free(*buf);
    return out;
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
    promo_time_format_cutoff(sc->as_of, d, sizeof d);
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
    char *out = memstream_take(f, &buf, &sz);
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

/* ------------------------------------------------------- --model uplift ---- */

/* The uplift scores' lines: customer_id, effect per treatment arm, predicted outcome per arm
 * (when the learner has outcome models), best_arm, its expected profit; "%.6g" each. */
typedef struct uplift_csv {
    const promo_uplift_scores *sc;
    const promo_uplift_scorer *h;
    size_t arm_name_max; /* the longest arm name */
} uplift_csv;

/* "%.6g" of a double (at most 13 characters, "-1.23457e-308": 32 bytes are room), printf's
 * bytes without printf (cli_fmt.h). */
static size_t put_g6(char *b, double v)
{
    return cli_fmt_g6(b, v);
}

static size_t uplift_room(const void *ctx, size_t k)
{
    const uplift_csv *x = ctx;
    size_t K = (size_t)x->sc->n_arms;
    return 2 * (strlen(x->sc->customer[k]) + x->arm_name_max) + 33 * (2 * K + 1) + 8;
}

static void uplift_line(const void *ctx, size_t i, char *b, size_t *n)
{
    const uplift_csv *x = ctx;
    const promo_uplift_scores *sc = x->sc;
    size_t K = (size_t)sc->n_arms, E = K - 1;
    int32_t best = sc->best_arm[i];
    put_field(b, n, sc->customer[i]);
    for (size_t a = 1; a < K; a++) {
        b[(*n)++] = ',';
        *n += put_g6(b + *n, (double)sc->effect[i * E + a - 1]);
    }
    for (size_t a = 0; sc->outcome && a < K; a++) {
        b[(*n)++] = ',';
        *n += put_g6(b + *n, (double)sc->outcome[i * K + a]);
    }
    b[(*n)++] = ',';
    put_field(b, n, promo_uplift_scorer_arm_name(x->h, best));
    b[(*n)++] = ',';
    *n += put_g6(b + *n, sc->profit[i * K + (size_t)best]);
    b[(*n)++] = '\n';
}

/* CSV text of every customer's uplift scores, in the scorer's customer order. */
static char *uplift_to_csv(const promo_uplift_scorer *h, const promo_uplift_scores *sc, size_t *len)
{
    size_t K = (size_t)sc->n_arms, hlen = 64, name_max = 0;
    for (size_t a = 0; a < K; a++) {
        size_t l = strlen(promo_uplift_scorer_arm_name(h, (int)a));
        hlen += 2 * (l + 16);
        name_max = l > name_max ? l : name_max;
    }
    char *head = promo_malloc(hlen);
    if (!head)
        return NULL;
    size_t m = (size_t)snprintf(head, hlen, "customer_id");
    for (size_t a = 1; a < K; a++)
        m += (size_t)snprintf(head + m, hlen - m, ",effect_%s",
                              promo_uplift_scorer_arm_name(h, (int)a));
    for (size_t a = 0; sc->outcome && a < K; a++)
        m += (size_t)snprintf(head + m, hlen - m, ",p_%s", promo_uplift_scorer_arm_name(h, (int)a));
    snprintf(head + m, hlen - m, ",best_arm,expected_profit\n");
    uplift_csv x = {sc, h, name_max};
    char *text = csv_text(head, sc->n, uplift_room, uplift_line, &x, len);
    promo_free(head);
    return text;
}

/* JSON text of every customer's uplift scores (new, promo_free). */
static char *uplift_to_json(const promo_uplift_scorer *h,
                            const promo_uplift_scores *sc,
                            const char *target,
                            size_t *len)
{
    size_t K = (size_t)sc->n_arms, E = K - 1, sz = 0;
    char *buf = NULL;
    FILE *f = open_memstream(&buf, &sz);
    if (!f)
        return NULL;
    char d[24];
    promo_time_format_cutoff(sc->as_of, d, sizeof d);
    fprintf(f, "{\"model\": \"uplift\", \"learner\": \"%s\", \"target\": ",
            promo_uplift_learner_name(promo_uplift_scorer_learner(h)));
    cli_json_str(f, target);
    fprintf(f, ", \"as_of\": \"%s\", \"discount_pct\": %g, \"rows\": [", d, sc->discount_pct);
    for (size_t i = 0; i < sc->n; i++) {
        int32_t b = sc->best_arm[i];
        fputs(i ? ", {\"customer_id\": " : "{\"customer_id\": ", f);
        cli_json_str(f, sc->customer[i]);
        fputs(", \"effect\": {", f);
        for (size_t a = 1; a < K; a++) {
            fputs(a > 1 ? ", " : "", f);
            cli_json_str(f, promo_uplift_scorer_arm_name(h, (int)a));
            fprintf(f, ": %.6g", (double)sc->effect[i * E + a - 1]);
        }
        fputs("}, \"best_arm\": ", f);
        cli_json_str(f, promo_uplift_scorer_arm_name(h, b));
        fprintf(f, ", \"expected_profit\": %.6g}", sc->profit[i * K + (size_t)b]);
    }
    fputs("]}\n", f);
    char *out = memstream_take(f, &buf, &sz);
    *len = sz;
    return out;
}

/* promo score --model uplift (cli_uplift.h): the uplift scorer's scores of every customer
 * (uplift_score.h), written as the propensity scores are (the team by load, the CSV formatted
 * in parallel chunks, promo_outfile_write). */
int cli_score_uplift(const char *ws, const char *target, int64_t as_of, const char *out, int json)
{
    promo_store *s = NULL;
    promo_uplift_scorer *h = NULL;
    promo_uplift_scores *sc = NULL;
    char *text = NULL;
    size_t len = 0;
    int team = cli_team_by_load("score");
    int rc = promo_store_open(ws, 0, &s);
    promo_uplift_offer o = {target, NAN};
    /* No names: the scores do not print them. */
    promo_uplift_scorer_params up = {.as_of = as_of, .n_threads = 0, .names = 0};
    if (!rc)
        rc = promo_uplift_scorer_open_params(s, &up, &h);
    if (!rc)
        rc = promo_uplift_scorer_score(h, &o, &sc);
    if (rc)
        goto done;
    text = json ? uplift_to_json(h, sc, target, &len) : uplift_to_csv(h, sc, &len);
    if (!text) {
        rc = PROMO_ENOMEM;
        goto done;
    }
    if (out) {
        if (!(rc = promo_outfile_write(out, text, len)))
            promo_info("scored %zu customers for %s with the uplift model into %s", sc->n, target,
                       out);
    } else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
        rc = promo_fail(PROMO_EIO, "writing to stdout failed");
    }
done:
    promo_free(text);
    promo_uplift_scores_free(sc);
    promo_uplift_scorer_free(h);
    promo_store_close(s);
    omp_set_num_threads(team);
    return cli_report(rc);
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
            promo_time_format_cutoff(sc->as_of, d, sizeof d);
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
