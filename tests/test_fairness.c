/* Fairness of a selection (promo/fairness.h): rates and ratios on hand-made selections, the
 * enforcement against brute force, and attributes a workspace does not record. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/fairness.h>
#include <promo/store.h>
#include <promo/table.h>

#include "t.h"

T_TEST(fairness_report_on_a_hand_made_selection)
{
    /* F: 4 of whom 1 selected (25%), M: 6 of whom 3 (50%), one without a value */
    const char *vals[11] = {"F", "F", "F", "F", "M", "M", "M", "M", "M", "M", NULL};
    const uint8_t sel[11] = {1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1};
    const double profit[11] = {4, 1, 1, 1, 2, 4, 6, 0, 0, 0, 9};
    const double upl[11] = {0.1, 0.2, -0.1, 0.0, 0.3, 0.3, -0.2, 0.1, 0.1, 0.1, 0.5};
    promo_fair_groups *g = NULL;
    T_OK(promo_fair_groups_from_values(PROMO_FAIR_GENDER, vals, 11, &g));
    T_ASSERT_EQ_INT(g->available, 1);
    T_ASSERT_EQ_INT(g->n_groups, 2);
    T_ASSERT_STR_EQ(g->names[0], "F");
    T_ASSERT_EQ_INT(g->group[10], PROMO_FAIR_NONE);
    promo_fair_input in = {.n = 11, .profit = profit, .uplift = upl, .selected = sel};
    promo_fair_report *r = NULL;
    T_OK(promo_fairness_report(&in, g, &r));
    T_ASSERT_EQ_INT(r->groups[0].population, 4);
    T_ASSERT_EQ_INT(r->groups[0].selected, 1);
    T_ASSERT_NEAR(r->groups[0].rate, 0.25, 1e-12);
    T_ASSERT_NEAR(r->groups[1].rate, 0.5, 1e-12);
    T_ASSERT_NEAR(r->groups[1].benefit, 4.0, 1e-12); /* (2 + 4 + 6) / 3 */
    T_ASSERT_NEAR(r->groups[1].mean_uplift, (0.3 + 0.3 - 0.2) / 3, 1e-12);
    T_ASSERT_NEAR(r->di_ratio, 0.5, 1e-12);
    T_ASSERT_EQ_INT(r->four_fifths, 0);
    T_ASSERT_EQ_INT(r->di_min_group, 0);
    T_ASSERT_EQ_INT(r->di_max_group, 1);
    T_ASSERT_EQ_INT(r->unknown.population, 1);
    T_ASSERT_EQ_INT(r->unknown.selected, 1);
    /* qualified = uplift > 0: F {0, 1} of whom 1 selected (1/2), M {4, 5, 7, 8, 9}: 2 of 5 */
    T_ASSERT_EQ_INT(r->groups[0].qualified, 2);
    T_ASSERT_NEAR(r->groups[0].opportunity, 0.5, 1e-12);
    T_ASSERT_NEAR(r->groups[1].opportunity, 0.4, 1e-12);
    T_ASSERT_NEAR(r->eo_difference, 0.1, 1e-12);
    T_ASSERT_NEAR(promo_fairness_di(sel, g, 0), 0.5, 1e-12);
    /* groups under min_group leave the ratio: one rated group, no ratio */
    in.min_group = 5;
    promo_fair_report_free(r);
    T_OK(promo_fairness_report(&in, g, &r));
    T_ASSERT(isnan(r->di_ratio));
    T_ASSERT_EQ_INT(r->four_fifths, -1);
    /* given qualified flags replace uplift > 0 */
    const uint8_t q[11] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
    in.min_group = 0;
    in.qualified = q;
    promo_fair_report_free(r);
    T_OK(promo_fairness_report(&in, g, &r));
    T_ASSERT_NEAR(r->eo_difference, 0.25, 1e-12);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    promo_fair_report_json(mem, r);
    fclose(mem);
    T_ASSERT_CONTAINS(buf, "\"disparate_impact\":0.5,\"four_fifths\":false");
    free(buf);
    promo_fair_report_free(r);
    promo_fair_groups_free(g);
}

T_TEST(fairness_age_bands)
{
    T_ASSERT_EQ_INT(promo_fair_age_band(18), 0);
    T_ASSERT_EQ_INT(promo_fair_age_band(24.9), 0);
    T_ASSERT_EQ_INT(promo_fair_age_band(25), 1);
    T_ASSERT_EQ_INT(promo_fair_age_band(34.99), 1);
    T_ASSERT_EQ_INT(promo_fair_age_band(35), 2);
    T_ASSERT_EQ_INT(promo_fair_age_band(54), 3);
    T_ASSERT_EQ_INT(promo_fair_age_band(64), 4);
    T_ASSERT_EQ_INT(promo_fair_age_band(65), 5);
    T_ASSERT_EQ_INT(promo_fair_age_band(99), 5);
    T_ASSERT_EQ_INT(promo_fair_age_band(NAN), -1);
    const char *vals[4] = {"30", "abc", "70", ""};
    promo_fair_groups *g = NULL;
    T_OK(promo_fair_groups_from_values(PROMO_FAIR_AGE, vals, 4, &g));
    T_ASSERT_EQ_INT(g->n_groups, 6);
    T_ASSERT_STR_EQ(g->names[5], "65+");
    T_ASSERT_EQ_INT(g->group[0], 1);
    T_ASSERT_EQ_INT(g->group[1], PROMO_FAIR_NONE);
    T_ASSERT_EQ_INT(g->group[2], 5);
    T_ASSERT_EQ_INT(g->group[3], PROMO_FAIR_NONE);
    promo_fair_groups_free(g);
    promo_fair_attr a;
    T_OK(promo_fair_attr_parse("location", &a));
    T_ASSERT_EQ_INT(a, PROMO_FAIR_LOCATION);
    T_ASSERT_EQ_INT(promo_fair_attr_parse("race", &a), PROMO_EUSAGE);
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* The best selection of k with DI >= r by brute force over every subset: its profit, or -inf. */
static double
brute_best(const double *profit, const promo_fair_groups *g, size_t n, size_t k, double r)
{
    double best = -INFINITY;
    uint8_t sel[20];
    for (uint32_t m = 0; m < (1u << n); m++) {
        if ((size_t)__builtin_popcount(m) != k)
            continue;
        double v = 0;
        for (size_t i = 0; i < n; i++) {
            sel[i] = (m >> i) & 1;
            v += sel[i] ? profit[i] : 0;
        }
        double di = promo_fairness_di(sel, g, 0);
        if (!isnan(di) && di >= r - 1e-12 && v > best)
            best = v;
    }
    return best;
}

T_TEST(fairness_enforce_reaches_the_ratio_at_the_brute_force_optimum)
{
    uint64_t seed = 7;
    int checked = 0, greedy_checked = 0;
    for (int round = 0; round < 40; round++) {
        size_t n = 10 + (size_t)(lcg(&seed) % 4); /* 10..13 */
        size_t G = 2 + (size_t)(lcg(&seed) % 2);  /* 2 or 3 groups */
        const char *names[3] = {"a", "b", "c"};
        const char *vals[13];
        double profit[13];
        uint8_t sel[13];
        for (size_t i = 0; i < n; i++) {
            /* skewed: group a has the profitable customers; one in five has no value */
            size_t grp = (size_t)(lcg(&seed) % G);
            vals[i] = lcg(&seed) % 5 == 0 ? NULL : names[grp];
            profit[i] = (double)(lcg(&seed) % 1000) / 10.0 - 20 + (grp == 0 ? 40 : 0);
        }
        size_t k = 3 + (size_t)(lcg(&seed) % 4);
        double r = round % 2 ? 0.8 : 0.6;
        promo_fair_groups *g = NULL;
        T_OK(promo_fair_groups_from_values(PROMO_FAIR_GENDER, vals, n, &g));
        if (g->n_groups < 2) { /* nothing to compare (the enforcement keeps the selection) */
            promo_fair_groups_free(g);
            continue;
        }
        /* the selection: the top k by profit (ties: index) */
        memset(sel, 0, sizeof sel);
        for (size_t j = 0; j < k; j++) {
            size_t b = SIZE_MAX;
            for (size_t i = 0; i < n; i++)
                if (!sel[i] && (b == SIZE_MAX || profit[i] > profit[b]))
                    b = i;
            sel[b] = 1;
        }
        double top = 0;
        for (size_t i = 0; i < n; i++)
            top += sel[i] ? profit[i] : 0;
        double opt = brute_best(profit, g, n, k, r);
        promo_fair_input in = {.n = n, .profit = profit, .selected = sel};
        promo_fair_enforced *e = NULL;
        int rc = promo_fairness_enforce(&in, g, r, PROMO_FAIR_EXACT, &e);
        if (opt == -INFINITY) {
            T_ASSERT_MSG(rc == PROMO_EINPUT, "round %d: infeasible but rc %d", round, rc);
        } else {
            T_ASSERT_MSG(rc == 0, "round %d: %s", round, promo_last_error());
            T_ASSERT_NEAR(e->profit_before, top, 1e-9);
            T_ASSERT_NEAR(e->profit_after, opt, 1e-9);
            T_ASSERT(e->cost >= -1e-9);
            T_ASSERT(e->di_after >= r - 1e-12);
            size_t kk = 0;
            for (size_t i = 0; i < n; i++)
                kk += e->selected[i];
            T_ASSERT_EQ_INT(kk, k);
            T_ASSERT_EQ_INT(e->k, k);
            checked++;
        }
        promo_fair_enforced_free(e);
        e = NULL;
        /* greedy: the ratio when it succeeds, never cheaper than the optimum */
        rc = promo_fairness_enforce(&in, g, r, PROMO_FAIR_GREEDY, &e);
        if (rc == 0) {
            T_ASSERT(!(opt == -INFINITY));
            T_ASSERT(isnan(e->di_before) ? 1 : e->di_after >= r - 1e-12);
            T_ASSERT(e->profit_after <= opt + 1e-9);
            T_ASSERT(e->cost >= -1e-9);
            greedy_checked++;
        } else {
            T_ASSERT_EQ_INT(rc, PROMO_EINPUT);
        }
        promo_fair_enforced_free(e);
        promo_fair_groups_free(g);
    }
    T_ASSERT_MSG(checked >= 15, "only %d feasible rounds", checked);
    T_ASSERT(greedy_checked >= 10);
}

T_TEST(fairness_enforce_keeps_a_fair_selection_and_refuses_the_impossible)
{
    const char *vals[4] = {"F", "F", "M", "M"};
    const double profit[4] = {5, 4, 1, 0};
    uint8_t sel[4] = {1, 0, 1, 0};
    promo_fair_groups *g = NULL;
    T_OK(promo_fair_groups_from_values(PROMO_FAIR_GENDER, vals, 4, &g));
    promo_fair_input in = {.n = 4, .profit = profit, .selected = sel};
    promo_fair_enforced *e = NULL;
    T_OK(promo_fairness_enforce(&in, g, 0.8, PROMO_FAIR_AUTO, &e));
    T_ASSERT_EQ_INT(e->swaps, 0);
    T_ASSERT_NEAR(e->cost, 0, 0);
    promo_fair_enforced_free(e);
    e = NULL;
    /* one selected among two groups: one group's rate is always 0 */
    uint8_t one[4] = {1, 0, 0, 0};
    in.selected = one;
    T_ASSERT_EQ_INT(promo_fairness_enforce(&in, g, 0.8, PROMO_FAIR_EXACT, &e), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "--fair-min-ratio 0.8");
    T_ASSERT_EQ_INT(promo_fairness_enforce(&in, g, 0.8, PROMO_FAIR_GREEDY, &e), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_fairness_enforce(&in, g, 1.5, PROMO_FAIR_GREEDY, &e), PROMO_EUSAGE);
    T_ASSERT(e == NULL);
    promo_fair_groups_free(g);
}

/* A workspace from a retailer that records no gender: a customers table without the column. */
T_TEST(fairness_attribute_not_recorded_is_not_available)
{
    char ws[1024];
    snprintf(ws, sizeof ws, "%s/nogender", t_tmpdir());
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 1, &s));
    promo_table *t = promo_table_new("customers");
    promo_column *id = NULL, *age = NULL, *loc = NULL;
    T_OK(promo_table_add_column(t, "customer_id", PROMO_COL_STRING, &id));
    T_OK(promo_table_add_column(t, "age", PROMO_COL_INT64, &age));
    T_OK(promo_table_add_column(t, "location", PROMO_COL_STRING, &loc));
    const char *ids[5] = {"C1", "C2", "C3", "C4", "C5"};
    const int ages[5] = {22, 40, 41, 70, 0};
    const char *locs[5] = {"Kandy", "Galle", "Kandy", "Galle", "Kandy"};
    for (int i = 0; i < 5; i++) {
        T_OK(promo_column_push_str(id, ids[i], strlen(ids[i])));
        if (i == 4)
            T_OK(promo_column_push_null(age));
        else
            T_OK(promo_column_push_i64(age, ages[i]));
        T_OK(promo_column_push_str(loc, locs[i], strlen(locs[i])));
    }
    T_OK(promo_table_seal(t));
    T_OK(promo_store_write_table(s, t));
    promo_table_free(t);
    /* candidates: the five, and one the table does not know */
    const char *cand[6] = {"C1", "C2", "C3", "C4", "C5", "C9"};
    const uint8_t sel[6] = {1, 1, 0, 0, 0, 0};
    const double profit[6] = {1, 2, 3, 4, 5, 6};
    promo_fair_input in = {.n = 6, .profit = profit, .selected = sel};
    promo_fair_groups *g = NULL;
    promo_fair_report *r = NULL;
    T_OK(promo_fair_groups_load(s, PROMO_FAIR_GENDER, cand, 6, &g));
    T_ASSERT_EQ_INT(g->available, 0);
    T_OK(promo_fairness_report(&in, g, &r));
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    promo_fair_report_print(mem, r);
    promo_fair_report_json(mem, r);
    fclose(mem);
    T_ASSERT_CONTAINS(buf, "gender: not available");
    T_ASSERT_CONTAINS(buf, "{\"attribute\":\"gender\",\"available\":false}");
    free(buf);
    promo_fair_enforced *e = NULL;
    T_ASSERT_EQ_INT(promo_fairness_enforce(&in, g, 0.8, PROMO_FAIR_AUTO, &e), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "not available");
    promo_fair_report_free(r);
    promo_fair_groups_free(g);
    /* age and location are there: bands, the null age and the unknown customer as unknown */
    T_OK(promo_fair_groups_load(s, PROMO_FAIR_AGE, cand, 6, &g));
    T_ASSERT_EQ_INT(g->available, 1);
    T_ASSERT_EQ_INT(g->group[0], 0);
    T_ASSERT_EQ_INT(g->group[1], 2);
    T_ASSERT_EQ_INT(g->group[3], 5);
    T_ASSERT_EQ_INT(g->group[4], PROMO_FAIR_NONE);
    T_ASSERT_EQ_INT(g->group[5], PROMO_FAIR_NONE);
    promo_fair_groups_free(g);
    T_OK(promo_fair_groups_load(s, PROMO_FAIR_LOCATION, cand, 6, &g));
    T_ASSERT_EQ_INT(g->n_groups, 2);
    T_ASSERT_STR_EQ(g->names[g->group[0]], "Kandy");
    T_OK(promo_fairness_report(&in, g, &r));
    T_ASSERT_NEAR(r->di_ratio, (1.0 / 3) / (1.0 / 2), 1e-12); /* Kandy 1/3, Galle 1/2 */
    promo_fair_report_free(r);
    promo_fair_groups_free(g);
    promo_store_close(s);
}
