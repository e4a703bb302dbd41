/* Profiles `lenta` and `criteo` (include/promo/profile.h), and what every experiment profile
 * (hillstrom too) records: the randomised uplift tests as the non-canonical table
 * `experiment`, every source column kept with its inferred type, plus row_id (1-based) and
 * treatment (the arm's name: "treatment" / "control" for a 0/1 flag). The metadata
 * experiment.treatment, experiment.control and experiment.outcomes tell `promo info` which
 * columns are the arm and the outcomes. */
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>

#include "data/ingest_internal.h"

/* row_id 1..n and treatment = "treatment" / "control" from 0/1 column `flag`. */
static int add_arm(item *it, const char *flag)
{
    promo_table *t = it->t;
    const promo_column *f = promo_table_column(t, flag);
    if (!f || (f->type != PROMO_COL_INT64 && f->type != PROMO_COL_BOOL))
        return promo_fail(PROMO_EINPUT, "%s: column '%s' must hold 0 or 1", it->path, flag);
    for (size_t r = 0; r < t->n_rows; r++) {
        double v = promo_column_num(f, r);
        if (v != 0 && v != 1) {
            char w[1200];
            int rc = ingest_where(it, r, flag, w, sizeof w);
            return rc ? rc
                      : promo_fail(PROMO_EINPUT, "%scolumn '%s': expected 0 or 1, got %g", w, flag,
                                   v);
        }
    }
    promo_column *rid = NULL, *tr = NULL;
    int rc;
    if ((rc = promo_table_add_column(t, "row_id", PROMO_COL_INT64, &rid)) ||
        (rc = promo_column_resize(rid, t->n_rows)) ||
        (rc = promo_table_add_column(t, "treatment", PROMO_COL_STRING, &tr)) ||
        (rc = promo_column_reserve(tr, t->n_rows)))
        return rc;
    f = promo_table_column(t, flag);
    for (size_t r = 0; r < t->n_rows && !rc; r++) {
        rid->i64[r] = (int64_t)r + 1;
        const char *a = promo_column_num(f, r) == 1 ? "treatment" : "control";
        rc = promo_column_push_str(tr, a, strlen(a));
    }
    return rc ? rc : promo_table_seal(t);
}

static int read_flagged(promo_ingest *ing, const char *path, const char *map, const char *flag)
{
    if (ingest_find_item(ing, "experiment"))
        return promo_fail(PROMO_EUSAGE, "%s: %s takes one file per ingest", path, ing->format);
    ingest_src src = {.table = "experiment", .map = map, .keep_all = 1};
    item *it = NULL;
    int rc = ingest_read_source(ing, path, &src, &it);
    return rc ? rc : add_arm(it, flag);
}

/* Lenta: is_treatment, response_att, food_share_15d, age, is_women (the 50k sample). */
int ingest_read_lenta(promo_ingest *ing, const char *path)
{
    return read_flagged(ing, path, NULL, "is_treatment");
}

/* Criteo v2.1: f0..f11, treatment (0/1, kept as treatment_flag), conversion, visit, exposure. */
int ingest_read_criteo(promo_ingest *ing, const char *path)
{
    return read_flagged(ing, path, "treatment_flag=treatment", "treatment_flag");
}

int ingest_finish_experiment(promo_ingest *ing)
{
    const char *control = "control", *outcomes = NULL;
    if (!strcmp(ing->format, "hillstrom")) {
        control = "No E-Mail";
        outcomes = "visit,conversion,spend";
    } else if (!strcmp(ing->format, "lenta")) {
        outcomes = "response_att";
    } else if (!strcmp(ing->format, "criteo")) {
        outcomes = "visit,conversion";
    }
    int rc = ingest_add_meta(ing, "experiment.treatment", "treatment");
    if (!rc)
        rc = ingest_add_meta(ing, "experiment.control", control);
    if (!rc && outcomes)
        rc = ingest_add_meta(ing, "experiment.outcomes", outcomes);
    return rc;
}
