/* Profiles `canonical` and `generic` (include/promo/profile.h): one CSV per table, the table
 * named by a TABLE=FILE argument, --table or the file's base name; columns by canonical name
 * after --map renames, read through the source options (ingest_source.c). `experiment` (a
 * randomised test: a treatment column, outcomes, covariates) is taken by both, every column
 * kept; generic also takes any other non-canonical table. */
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/schema.h>

#include "data/ingest_internal.h"

/* Table name from a path: base name up to the first '.'. */
static char *table_from_path(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t len = strcspn(b, ".");
    return promo_strndup(b, len);
}

/* The arm is a name: a numeric treatment column (0/1 flags) becomes its values as text, so
 * "0" is the control wherever arms are listed. */
static int arm_as_text(promo_table *t)
{
    const promo_column *c = promo_table_column(t, "treatment");
    if (!c || c->type == PROMO_COL_STRING)
        return PROMO_OK;
    promo_column *s = NULL;
    int rc = promo_table_add_column(t, "treatment_text", PROMO_COL_STRING, &s);
    c = promo_table_column(t, "treatment");
    for (size_t r = 0; r < t->n_rows && !rc; r++) {
        char b[48];
        if (promo_column_is_null(c, r)) {
            rc = promo_column_push_null(s);
            continue;
        }
        int k = snprintf(b, sizeof b, "%.15g", promo_column_num(c, r));
        rc = promo_column_push_str(s, b, (size_t)k);
    }
    if (!rc)
        rc = promo_table_seal(t);
    if (!rc)
        rc = promo_table_drop_column(t, "treatment");
    if (!rc)
        rc = promo_table_rename_column(t, "treatment_text", "treatment");
    return rc;
}

static int read_canonical(promo_ingest *ing, const char *path, int generic)
{
    const char *given = ing->cur_table ? ing->cur_table : ing->opt.table;
    char *tname = given ? promo_strdup(given) : table_from_path(path);
    if (!tname)
        return PROMO_ENOMEM;
    const promo_schema *sc = promo_schema_find(tname);
    int experiment = !strcmp(tname, "experiment");
    int rc = PROMO_OK;
    if (!sc && !generic && !experiment && given) {
        rc = promo_fail(PROMO_EUSAGE,
                        "%s: '%s' is not a canonical table (customers, products, stores, "
                        "promotions, transactions, exposures, responses, events) nor experiment; "
                        "--format generic takes any other table",
                        path, tname);
        promo_free(tname);
        return rc;
    }
    if (!sc && !generic && !experiment) {
        rc = promo_fail(PROMO_EUSAGE,
                        "%s: cannot tell which table this is: name the file after a canonical "
                        "table (customers, products, stores, promotions, transactions, "
                        "exposures, responses, events) or experiment, write TABLE=%s, or pass "
                        "--table NAME",
                        path, path);
        promo_free(tname);
        return rc;
    }
    ingest_src src = {
        .table = tname,
        .map = ing->opt.map,
        .set = ing->opt.set,
        .amount = ing->opt.amount,
        .ignore = ing->opt.ignore,
        .sep = ing->opt.sep,
        .columns = ing->opt.columns,
        .ts_format = ing->opt.ts_format,
        .recode = ing->opt.recode,
        .orders = ing->opt.orders,
        .no_header = ing->opt.no_header,
        .keep_all = !sc,
    };
    item *it = NULL;
    rc = ingest_read_source(ing, path, &src, &it);
    if (!rc && experiment && !promo_table_column(it->t, "treatment"))
        rc = promo_fail(PROMO_EINPUT,
                        "%s: an experiment table needs a column 'treatment' (each row's arm): "
                        "--map treatment=COLUMN names the source column that holds it",
                        path);
    if (!rc && experiment)
        rc = arm_as_text(it->t);
    promo_free(tname);
    return rc;
}

int ingest_read_canonical(promo_ingest *ing, const char *path)
{
    return read_canonical(ing, path, 0);
}

int ingest_read_generic(promo_ingest *ing, const char *path)
{
    return read_canonical(ing, path, 1);
}
