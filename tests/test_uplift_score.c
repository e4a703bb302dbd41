/* Scoring with the workspace's uplift model (promo/uplift_score.h): a T-learner's arm models
 * predicted once per offer their trees tell apart give the scores of predicting every arm at
 * every offer, bit for bit. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/error.h>
#include <promo/store.h>
#include <promo/uplift_score.h>

#include "t.h"
#include "t_world.h"

static const char *fixture(void)
{
    static char ws[1024];
    if (ws[0])
        return ws;
    char args[1300];
    t_world_write(ws, sizeof ws, 300, 30, 4, 12, 12000);
    snprintf(args, sizeof args, "train --ws %s --model uplift --rounds 30 --threads 1 -q", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 0);
    return ws;
}

static int same_scores(const promo_uplift_scores *a, const promo_uplift_scores *b)
{
    size_t n = a->n, K = (size_t)a->n_arms;
    if (a->n != b->n || a->n_arms != b->n_arms || !a->outcome || !b->outcome)
        return 0;
    return memcmp(a->effect, b->effect, n * (K - 1) * sizeof *a->effect) == 0 &&
           memcmp(a->outcome, b->outcome, n * K * sizeof *a->outcome) == 0 &&
           memcmp(a->profit, b->profit, n * K * sizeof *a->profit) == 0 &&
           memcmp(a->best_arm, b->best_arm, n * sizeof *a->best_arm) == 0;
}

T_TEST(uplift_score_reused_arm_predictions_equal_predicting_every_arm)
{
    promo_store *s = NULL;
    promo_uplift_scorer *h = NULL, *every = NULL;
    T_OK(promo_store_open(fixture(), 0, &s));
    T_OK(promo_uplift_scorer_open(s, 0, 1, &h));
    T_OK(promo_uplift_scorer_open(s, 0, 2, &every));
    T_ASSERT_EQ_INT(promo_uplift_scorer_learner(h), PROMO_UPLIFT_T);
    promo_uplift_scorer_set_reuse(every, 0);
    size_t K = (size_t)promo_uplift_scorer_n_arms(h);
    T_ASSERT(K >= 2);
    /* the log's discounts, points between and past them, the median (NaN), repeats, and
     * targets of another product, a category and any (other offer columns) */
    const double disc[] = {5, 7.5, 10, 10, 15, 20, 25, 30, 30, 0, 45, 90, NAN, NAN, 25, 5};
    const char *targets[] = {"product:PROD00001", "product:PROD00002", "any"};
    size_t calls = 0;
    for (size_t t = 0; t < sizeof targets / sizeof *targets; t++)
        for (size_t k = 0; k < sizeof disc / sizeof *disc; k++) {
            promo_uplift_offer o = {targets[t], disc[k]};
            promo_uplift_scores *a = NULL, *b = NULL;
            size_t before = promo_uplift_scorer_predictions(h);
            T_OK(promo_uplift_scorer_score(h, &o, &a));
            T_OK(promo_uplift_scorer_score(every, &o, &b));
            T_ASSERT_MSG(same_scores(a, b), "%s at %g%%: scores differ", targets[t], disc[k]);
            size_t used = promo_uplift_scorer_predictions(h) - before;
            T_ASSERT(used <= K);
            /* the same offer again: nothing to predict */
            if (k && (disc[k] == disc[k - 1] || (isnan(disc[k]) && isnan(disc[k - 1]))))
                T_ASSERT_EQ_INT(used, 0);
            /* another target than the last call's: every arm again */
            if (k == 0)
                T_ASSERT_EQ_INT(used, K);
            promo_uplift_scores_free(a);
            promo_uplift_scores_free(b);
            calls++;
        }
    T_ASSERT_EQ_INT(promo_uplift_scorer_predictions(every), calls * K);
    T_ASSERT(promo_uplift_scorer_predictions(h) < calls * K);
    /* forgotten: the next score predicts every arm, the same bits */
    promo_uplift_scorer_forget(h);
    promo_uplift_offer o = {"product:PROD00001", 5};
    promo_uplift_scores *a = NULL, *b = NULL;
    size_t before = promo_uplift_scorer_predictions(h);
    T_OK(promo_uplift_scorer_score(h, &o, &a));
    T_ASSERT_EQ_INT(promo_uplift_scorer_predictions(h) - before, K);
    T_OK(promo_uplift_scorer_score(every, &o, &b));
    T_ASSERT(same_scores(a, b));
    promo_uplift_scores_free(a);
    promo_uplift_scores_free(b);
    promo_uplift_scorer_free(h);
    promo_uplift_scorer_free(every);
    promo_store_close(s);
}
