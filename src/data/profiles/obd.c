/* Profile `obd` (include/promo/profile.h): Open Bandit Dataset logs ({random,bts}/{men,women,
 * all}/{men,women,all}.csv) as the non-canonical table `bandit`: one row per impression with
 * ts, action (item_id), position, reward (click), propensity (the logging policy's
 * probability of the action), the user features and affinities as they are, plus policy
 * (random or bts, from the path) and campaign (the file's base name). The leading unnamed
 * pandas index is dropped. Several log files append into one table; item_context.csv goes to
 * `bandit_items` (item_id and its features). */
#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>

#include "data/ingest_internal.h"

int ingest_read_obd(promo_ingest *ing, const char *path)
{
    char *base = ingest_base_name(path);
    if (!base)
        return PROMO_ENOMEM;
    int items = !strcmp(base, "item_context");
    const char *policy = strstr(path, "bts/") ? "bts" : strstr(path, "random/") ? "random" : NULL;
    int rc = PROMO_OK;
    if (!items && !policy)
        rc = promo_fail(PROMO_EUSAGE,
                        "%s: obd needs the logging policy in the path (.../random/... or "
                        ".../bts/..., as the dataset ships)",
                        path);
    char set[128];
    snprintf(set, sizeof set, "policy=%s,campaign=%s", policy ? policy : "", base);
    ingest_src src = {
        .table = items ? "bandit_items" : "bandit",
        .map =
            items ? NULL : "ts=timestamp,action=item_id,reward=click,propensity=propensity_score",
        .set = items ? NULL : set,
        .ignore = "column_1",
        .keep_all = 1,
        .append = 1,
    };
    item *it = NULL;
    if (!rc)
        rc = ingest_read_source(ing, path, &src, &it);
    (void)it;
    promo_free(base);
    return rc;
}
