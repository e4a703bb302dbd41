/* Profile `hillstrom` (include/promo/profile.h): the MineThatData e-mail experiment as the
 * non-canonical table `experiment`, every value required, plus row_id and treatment. */
#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>

#include "data/ingest_internal.h"

int ingest_read_hillstrom(promo_ingest *ing, const char *path)
{
    if (ingest_find_item(ing, "experiment"))
        return promo_fail(PROMO_EUSAGE, "%s: hillstrom takes one file per ingest", path);
    static const promo_csv_column cols[] = {
        {"recency", PROMO_COL_INT64, 1},   {"history_segment", PROMO_COL_STRING, 1},
        {"history", PROMO_COL_FLOAT64, 1}, {"mens", PROMO_COL_BOOL, 1},
        {"womens", PROMO_COL_BOOL, 1},     {"zip_code", PROMO_COL_STRING, 1},
        {"newbie", PROMO_COL_BOOL, 1},     {"channel", PROMO_COL_STRING, 1},
        {"segment", PROMO_COL_STRING, 1},  {"visit", PROMO_COL_BOOL, 1},
        {"conversion", PROMO_COL_BOOL, 1}, {"spend", PROMO_COL_FLOAT64, 1},
    };
    item *it = ingest_new_item(ing);
    if (!it)
        return PROMO_ENOMEM;
    int rc = ingest_read_csv(ing, it, path, cols, sizeof cols / sizeof cols[0], PROMO_DATE_ISO);
    if (rc || (rc = promo_table_set_name(it->t, "experiment")))
        return rc;
    promo_table *t = it->t;
    /* Every value is required: the experiment is only meaningful with complete rows. */
    pending pd = {0};
    for (size_t j = 0; j < t->n_cols && !rc; j++) {
        const promo_column *c = t->cols[j];
        for (size_t r = 0; c->n_null && r < c->n && !rc; r++) {
            if (!promo_column_is_null(c, r) || ingest_is_dropped(it, r))
                continue;
            if (ing->opt.skip_bad_rows) {
                rc = ingest_pending_add(&pd, r, c->name, "column '%s': a value is required",
                                        c->name);
                continue;
            }
            char w[1200];
            if (!(rc = ingest_where(it, r, c->name, w, sizeof w)))
                rc = promo_fail(PROMO_EINPUT,
                                "%scolumn '%s': a value is required, got an empty "
                                "field",
                                w, c->name);
        }
    }
    if (!rc)
        rc = ingest_pending_flush(it, &pd, &ing->stats);
    ingest_pending_free(&pd);
    if (rc)
        return rc;
    promo_column *rid = NULL, *tr = NULL;
    const promo_column *seg = promo_table_column(t, "segment");
    if ((rc = promo_table_add_column(t, "row_id", PROMO_COL_INT64, &rid)) ||
        (rc = promo_column_resize(rid, t->n_rows)) ||
        (rc = promo_table_add_column(t, "treatment", PROMO_COL_STRING, &tr)) ||
        (rc = promo_column_reserve(tr, t->n_rows)))
        return rc;
    for (size_t r = 0; r < t->n_rows; r++) {
        rid->i64[r] = (int64_t)r + 1;
        uint32_t k = seg->codes[r];
        if ((rc = promo_column_push_str(tr, promo_dict_key(seg->dict, k),
                                        promo_dict_key_len(seg->dict, k))))
            return rc;
    }
    return promo_table_seal(t);
}
