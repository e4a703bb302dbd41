/* promo score and the uplift scorer on the features `promo features` stored (panel.h, issue
 * 10): mapped instead of recomputed only while provably current. On the small generated world
 * with an "any" propensity model and an uplift model: every output of promo score (model,
 * baselines, reasons, JSON, uplift) is byte for byte the same from the stored features as
 * from the computed ones; an ingest --append after `promo features` makes them stale and they
 * are not used (the popularity scores then differ from the stale ones: the check can fail); another
 * cutoff, other feature parameters and a damaged matrix file are not used either; a handle on
 * the stored features serves "any" only. Few trees: it runs under ASan. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/propensity.h>
#include <promo/report.h>
#include <promo/scorer.h>
#include <promo/store.h>
#include <promo/timeutil.h>
#include <promo/uplift_score.h>

#include "t.h"
#include "t_world.h"

static char g_ws[512]; /* the world with the any and uplift models trained */

static const char *trained(void)
{
    if (g_ws[0])
        return g_ws;
    t_world_write(g_ws, sizeof g_ws, 300, 30, 4, 12, 12000);
    promo_store *s = NULL;
    T_OK(promo_store_open(g_ws, 0, &s));
    promo_propensity_params p = promo_propensity_params_default();
    p.n_train_windows = 1;
    p.gbdt.n_rounds = 15;
    p.gbdt.early_stopping_rounds = 5;
    p.baselines = 0;
    p.plots = 0;
    p.n_threads = 1;
    p.target = "any";
    promo_propensity_report r;
    T_OK(promo_report_propensity_train(s, &p, &r));
    promo_store_close(s);
    char args[1200], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "train --ws '%s' --model uplift --rounds 15 --threads 1", g_ws);
    int ec = t_promo(args, &out, &err);
    T_ASSERT_MSG(ec == 0, "train exit %d: %s", ec, err);
    free(out);
    free(err);
    return g_ws;
}

/* A fresh copy of the trained world under the test's directory. */
static const char *copy(char *buf, size_t n, const char *name)
{
    const char *src = trained();
    char cmd[1400];
    snprintf(buf, n, "%s/%s", t_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", buf, src, buf);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    return buf;
}

/* `promo <fmt>` with the workspace substituted (fmt has one %s): exit 0, stdout returned (free),
 * stderr into *err when err is not NULL. */
static char *run(const char *ws, const char *fmt, char **err)
{
    char args[1600], *out = NULL, *e = NULL;
    snprintf(args, sizeof args, fmt, ws);
    int ec = t_promo(args, &out, &e);
    T_ASSERT_MSG(ec == 0, "promo %s: exit %d: %s", args, ec, e);
    if (err)
        *err = e;
    else
        free(e);
    return out;
}

/* The scoring cutoff of ws as a date (the computed handle's). */
static void cutoff_of(const char *ws, int64_t shift_days, char *day, size_t n)
{
    promo_store *s = NULL;
    promo_scorer *h = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_scorer_open(s, "any", 0, 1, &h));
    promo_time_format(promo_scorer_as_of(h) + shift_days * 86400, 1, day, n);
    promo_scorer_free(h);
    promo_store_close(s);
}

static void store_features(const char *ws, const char *day, const char *extra)
{
    char fmt[300];
    snprintf(fmt, sizeof fmt, "features --ws '%%s' --as-of %s %s", day, extra);
    free(run(ws, fmt, NULL));
}

/* Every customer's scores of target any through the handle, computed or stored (the model,
 * or baseline: PROMO_PROP_POPULARITY); *was_stored: the handle's promo_scorer_stored. */
static promo_prop_scores *api_scores_of(const char *ws, int stored, int baseline, int *was_stored)
{
    promo_store *s = NULL;
    promo_scorer *h = NULL;
    promo_prop_scores *sc = NULL;
    T_OK(promo_store_open_read(ws, &s));
    promo_scorer_params p = {
        .target = "any", .n_threads = 1, .stored = stored, .baseline = baseline};
    T_OK(promo_scorer_open_params(s, &p, &h));
    *was_stored = promo_scorer_stored(h);
    if (baseline)
        T_OK(promo_scorer_score_baseline(h, "any", baseline, &sc));
    else
        T_OK(promo_scorer_score(h, &sc));
    promo_scorer_free(h);
    promo_store_close(s);
    return sc;
}

static promo_prop_scores *api_scores(const char *ws, int stored, int *was_stored)
{
    return api_scores_of(ws, stored, 0, was_stored);
}

static int same_scores(const promo_prop_scores *a, const promo_prop_scores *b)
{
    if (a->n != b->n || a->as_of != b->as_of)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->customer_id[i], b->customer_id[i]) != 0)
            return 0;
    return memcmp(a->probability, b->probability, a->n * sizeof *a->probability) == 0;
}

/* The uplift scorer's effects for a product offer (the ids are the handle's: it is kept). */
typedef struct uplift_run {
    promo_store *s;
    promo_uplift_scorer *h;
    promo_uplift_scores *sc;
} uplift_run;

static uplift_run uplift_scores(const char *ws)
{
    uplift_run u = {0};
    T_OK(promo_store_open_read(ws, &u.s));
    T_OK(promo_uplift_scorer_open(u.s, 0, 1, &u.h));
    promo_uplift_offer o = {"product:PROD00001", NAN};
    T_OK(promo_uplift_scorer_score(u.h, &o, &u.sc));
    promo_store_close(u.s); /* not held while the CLI runs: it would wait for the lock */
    u.s = NULL;
    return u;
}

static void uplift_run_free(uplift_run *u)
{
    promo_uplift_scores_free(u->sc);
    promo_uplift_scorer_free(u->h);
    promo_store_close(u->s);
}

static void assert_same_uplift(const promo_uplift_scores *a, const promo_uplift_scores *b)
{
    T_ASSERT_EQ_INT(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        T_ASSERT_STR_EQ(a->customer[i], b->customer[i]);
    T_ASSERT(memcmp(a->effect, b->effect, a->n * sizeof *a->effect) == 0);
    T_ASSERT(memcmp(a->best_arm, b->best_arm, a->n * sizeof *a->best_arm) == 0);
}

static const char *const SCORE_CMDS[] = {
    "-v score --ws '%s' --target any",
    "-v score --ws '%s' --target any --baseline popularity",
    "-v score --ws '%s' --target any --baseline rfm",
    "-v score --ws '%s' --target any --reasons",
    "-v score --ws '%s' --target any --json",
};
enum { N_CMDS = sizeof SCORE_CMDS / sizeof *SCORE_CMDS };

T_TEST(score_from_stored_features_is_byte_identical)
{
    char ws[600], day[24];
    copy(ws, sizeof ws, "same");
    cutoff_of(ws, 0, day, sizeof day);
    char *before[N_CMDS], *err = NULL;
    for (int k = 0; k < N_CMDS; k++) {
        before[k] = run(ws, SCORE_CMDS[k], &err);
        T_ASSERT_CONTAINS(err, "stored ones not used: no stored features");
        free(err);
    }
    int st = -1;
    promo_prop_scores *computed = api_scores(ws, 1, &st);
    T_ASSERT_EQ_INT(st, 0);
    uplift_run up_computed = uplift_scores(ws);
    char *up_before = run(ws, "score --ws '%s' --model uplift --target any", NULL);

    store_features(ws, day, "");
    for (int k = 0; k < N_CMDS; k++) {
        char *after = run(ws, SCORE_CMDS[k], &err);
        T_ASSERT_CONTAINS(err, "score: the stored features as of");
        T_ASSERT_MSG(strcmp(before[k], after) == 0, "%s: output differs", SCORE_CMDS[k]);
        free(err);
        free(after);
        free(before[k]);
    }
    promo_prop_scores *stored = api_scores(ws, 1, &st);
    T_ASSERT_EQ_INT(st, 1);
    T_ASSERT(same_scores(computed, stored));
    /* The uplift scorer (the forecaster's open) takes them too, with the same effects. */
    char *up_after = run(ws, "-v score --ws '%s' --model uplift --target any", &err);
    T_ASSERT_CONTAINS(err, "uplift: the stored features of the cutoff");
    T_ASSERT_STR_EQ(up_before, up_after);
    uplift_run up_stored = uplift_scores(ws);
    assert_same_uplift(up_computed.sc, up_stored.sc);
    /* Opened as promo score opens it (no names, two threads): the same effects, and a
     * campaign (whose file has the names) is refused, not written without them. */
    promo_store *s2 = NULL;
    promo_uplift_scorer *h2 = NULL;
    promo_uplift_scores *sc2 = NULL;
    T_OK(promo_store_open_read(ws, &s2));
    promo_uplift_scorer_params up = {.as_of = 0, .n_threads = 2, .names = 0};
    T_OK(promo_uplift_scorer_open_params(s2, &up, &h2));
    promo_store_close(s2);
    promo_uplift_offer o2 = {"product:PROD00001", NAN};
    T_OK(promo_uplift_scorer_score(h2, &o2, &sc2));
    assert_same_uplift(up_computed.sc, sc2);
    promo_uplift_campaign_params cp = {
        .product_id = "PROD00001", .discount_pct = 10, .n_target = 5};
    char camp[700];
    snprintf(camp, sizeof camp, "%s/out/never.csv", ws);
    size_t nw = 9;
    T_ASSERT_EQ_INT(promo_uplift_campaign(h2, &cp, camp, &nw, NULL), PROMO_EUSAGE);
    T_ASSERT_EQ_INT(nw, 0);
    T_ASSERT(access(camp, F_OK) != 0);
    promo_uplift_scores_free(sc2);
    promo_uplift_scorer_free(h2);
    /* A handle on the stored features serves "any" only. */
    promo_store *s = NULL;
    promo_scorer *h = NULL;
    T_OK(promo_store_open_read(ws, &s));
    promo_scorer_params p = {.target = "any", .n_threads = 1, .stored = 1};
    T_OK(promo_scorer_open_params(s, &p, &h));
    T_ASSERT_EQ_INT(promo_scorer_retarget(h, "product:PROD00001"), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "serve only the target any");
    T_ASSERT_STR_EQ(promo_scorer_target(h), "any");
    promo_scorer_free(h);
    promo_store_close(s);
    free(err);
    free(up_before);
    free(up_after);
    uplift_run_free(&up_computed);
    uplift_run_free(&up_stored);
    promo_prop_scores_free(computed);
    promo_prop_scores_free(stored);
}

T_TEST(score_does_not_use_features_stale_after_an_append)
{
    char ws[600], day[24], last[24];
    copy(ws, sizeof ws, "stale");
    cutoff_of(ws, 0, day, sizeof day);
    cutoff_of(ws, -5, last, sizeof last);
    store_features(ws, day, "");
    int st = -1;
    promo_prop_scores *old = api_scores_of(ws, 1, PROMO_PROP_POPULARITY, &st);
    T_ASSERT_EQ_INT(st, 1);
    /* Orders for the first and last customers, dated before the last purchase: the cutoff stays
     * the same, only the data version tells that the stored features are stale. */
    char csv[700], text[1200];
    snprintf(csv, sizeof csv, "%s/more.csv", t_tmpdir());
    snprintf(text, sizeof text,
             "order_id,line,customer_id,product_id,store_id,ts,quantity,unit_price,discount,"
             "promotion_id,channel\n"
             "ORDX0001,1,%s,PROD00001,ST01,%sT10:00:00,40,25.5,0,,offline\n"
             "ORDX0002,1,%s,PROD00002,ST01,%sT11:00:00,30,99.0,0,,online\n",
             old->customer_id[0], last, old->customer_id[old->n - 1], last);
    t_write_file(csv, text, strlen(text));
    char fmt[1400];
    snprintf(fmt, sizeof fmt, "ingest --ws '%%s' --append --table transactions '%s'", csv);
    free(run(ws, fmt, NULL));

    /* (The models are refused now: made from the replaced data. The baseline needs none.) */
    char *err = NULL, *out = run(ws, "-v score --ws '%s' --target any --baseline popularity", &err);
    T_ASSERT_CONTAINS(err, "the tables changed since `promo features` stored them");
    promo_prop_scores *now = api_scores_of(ws, 1, PROMO_PROP_POPULARITY, &st);
    T_ASSERT_EQ_INT(st, 0);
    promo_prop_scores *computed = api_scores_of(ws, 0, PROMO_PROP_POPULARITY, &st);
    T_ASSERT(same_scores(now, computed));
    T_ASSERT_EQ_INT(now->as_of, old->as_of);
    T_ASSERT(!same_scores(now, old)); /* the stale features would have scored otherwise */
    free(out);
    free(err);

    /* Stored again from the appended tables: current again, and the same bits. */
    store_features(ws, day, "");
    promo_prop_scores *again = api_scores_of(ws, 1, PROMO_PROP_POPULARITY, &st);
    T_ASSERT_EQ_INT(st, 1);
    T_ASSERT(same_scores(again, computed));
    promo_prop_scores_free(again);
    promo_prop_scores_free(old);
    promo_prop_scores_free(now);
    promo_prop_scores_free(computed);
}

T_TEST(score_does_not_use_features_of_another_cutoff_parameters_or_file)
{
    char ws[600], day[24], before[24];
    copy(ws, sizeof ws, "other");
    cutoff_of(ws, 0, day, sizeof day);
    cutoff_of(ws, -1, before, sizeof before);
    int st = -1;
    promo_prop_scores *computed = api_scores(ws, 0, &st);

    store_features(ws, before, "");
    char *err = NULL, *out = run(ws, "-v score --ws '%s' --target any", &err);
    T_ASSERT_CONTAINS(err, "stored ones not used: stored as of");
    free(out);
    free(err);

    store_features(ws, day, "--no-clv");
    out = run(ws, "-v score --ws '%s' --target any", &err);
    T_ASSERT_CONTAINS(err, "stored with other feature parameters");
    free(out);
    free(err);

    /* A damaged matrix (cut short, its header intact): computed instead, same scores. */
    store_features(ws, day, "");
    char path[700], cmd[1600];
    snprintf(path, sizeof path, "%s/models/features_customers.bin", ws);
    snprintf(cmd, sizeof cmd, "truncate -s -100 '%s'", path);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    out = run(ws, "score --ws '%s' --target any", &err);
    T_ASSERT_CONTAINS(err, "damaged");
    promo_prop_scores *now = api_scores(ws, 1, &st);
    T_ASSERT_EQ_INT(st, 0);
    T_ASSERT(same_scores(now, computed));
    free(out);
    free(err);
    /* No matrix at all (removed by hand): computed. */
    T_ASSERT_EQ_INT(remove(path), 0);
    out = run(ws, "-v score --ws '%s' --target any", &err);
    T_ASSERT_CONTAINS(err, "no stored feature matrix");
    free(out);
    free(err);
    promo_prop_scores_free(now);
    promo_prop_scores_free(computed);
}
