/* promo score's ranking and CSV at more than one chunk of lines (issue 10: the million-customer
 * score ranks with a radix sort and formats chunks of lines in parallel): on a world of 10,000
 * customers (two chunks) and no model (the popularity baseline has many ties, rfm few), the
 * CSV is the one built here from the handle's scores with qsort (probability descending, ties
 * in the scores' order) and printf, byte for byte, on one thread and on two. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/propensity.h>
#include <promo/scorer.h>
#include <promo/store.h>

#include "t.h"
#include "t_world.h"

typedef struct row {
    double p;
    size_t i;
} row;

static int by_p_desc(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? 1 : -1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* The CSV promo score --baseline <model> should print, from the handle's scores. */
static char *expected_csv(const char *ws, int model)
{
    promo_store *s = NULL;
    promo_scorer *h = NULL;
    promo_prop_scores *sc = NULL;
    T_OK(promo_store_open_read(ws, &s));
    promo_scorer_params p = {.target = "any", .n_threads = 1, .baseline = model};
    T_OK(promo_scorer_open_params(s, &p, &h));
    T_OK(promo_scorer_score_baseline(h, "any", model, &sc));
    row *r = malloc((sc->n ? sc->n : 1) * sizeof *r);
    T_ASSERT(r != NULL);
    for (size_t i = 0; i < sc->n; i++)
        r[i] = (row){sc->probability[i], i};
    qsort(r, sc->n, sizeof *r, by_p_desc);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    T_ASSERT(f != NULL);
    fprintf(f, "customer_id,score\n");
    for (size_t k = 0; k < sc->n; k++) {
        T_ASSERT(strpbrk(sc->customer_id[r[k].i], ",\"\r\n") == NULL); /* no quoting here */
        fprintf(f, "%s,%.6g\n", sc->customer_id[r[k].i], r[k].p);
    }
    T_ASSERT(fclose(f) == 0);
    free(r);
    T_ASSERT_MSG(sc->n > 8192, "%zu customers: one chunk only", sc->n);
    promo_prop_scores_free(sc);
    promo_scorer_free(h);
    promo_store_close(s);
    return buf;
}

T_TEST(score_ranks_and_formats_chunks_as_qsort_and_printf_on_any_team)
{
    char ws[512];
    t_world_write(ws, sizeof ws, 10000, 20, 4, 6, 60000);
    static const char *const words[] = {"popularity", "rfm"};
    static const int models[] = {PROMO_PROP_POPULARITY, PROMO_PROP_RFM};
    int team = omp_get_max_threads();
    /* OMP_DYNAMIC set: promo score keeps the team it is given instead of sizing it by load. */
    T_ASSERT(setenv("OMP_DYNAMIC", "false", 1) == 0);
    for (int m = 0; m < 2; m++) {
        char *want = expected_csv(ws, models[m]);
        for (int nt = 1; nt <= 2; nt++) {
            char args[700], *out = NULL, *err = NULL;
            snprintf(args, sizeof args, "score --ws '%s' --target any --baseline %s", ws, words[m]);
            omp_set_num_threads(nt);
            int ec = t_promo(args, &out, &err);
            T_ASSERT_MSG(ec == 0, "%s: exit %d: %s", args, ec, err);
            T_ASSERT_MSG(strcmp(out, want) == 0, "%s on %d threads: not qsort's order", args, nt);
            free(out);
            free(err);
        }
        free(want);
    }
    omp_set_num_threads(team);
    unsetenv("OMP_DYNAMIC");
}
