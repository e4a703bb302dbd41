/* promo train --model knn|user-knn|mf|hybrid: item/user-kNN, the category matrix factorisation
 * and the hybrid recommender with side features, with the options they read (cmd_train hands
 * argv over). kNN trains through recommend.h's workspace trainer (the same evaluation and
 * model file as ALS and BPR), with its weighting and neighbour count passed as the model's
 * own parameters. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/error.h>
#include <promo/features.h>
#include <promo/hybrid.h>
#include <promo/knn.h>
#include <promo/mf_category.h>
#include <promo/outfile.h>
#include <promo/recommend.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

static void print_num(FILE *f, double v, const char *fmt)
{
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fprintf(f, "null");
}

static void print_mf(FILE *f, const promo_mf_report *r, int json)
{
    char a[24], b[24];
    promo_time_format_cutoff(r->as_of, a, sizeof a);
    promo_time_format(r->as_of + (int64_t)(r->horizon_days * 86400), 1, b, sizeof b);
    if (json) {
        fprintf(f,
                "{\"model\":\"mf\",\"as_of\":\"%s\",\"customers\":%zu,\"categories\":%u,"
                "\"observed\":%llu,\"k\":%u,\"epochs\":%zu,\"loss_first\":%.6g,"
                "\"loss_last\":%.6g,\"rmse_observed\":%.6g,\"test_customers\":%zu,\"hit2_mf\":",
                a, r->n_customers, r->n_categories, (unsigned long long)r->n_observed, r->k,
                r->n_epochs, r->loss_first, r->loss_last, r->rmse_observed, r->n_test);
        print_num(f, r->hit_mf, "%.6g");
        fprintf(f, ",\"hit2_popularity\":");
        print_num(f, r->hit_pop, "%.6g");
        fprintf(f, ",\"tiers\":[");
        for (int t = 0; t < PROMO_TIER_COUNT; t++) {
            const promo_mf_tier_report *tr = &r->tiers[t];
            fprintf(f, "%s{\"tier\":\"%s\",\"customers\":%zu,\"pred_spend\":%.2f,\"picks\":[",
                    t ? "," : "", promo_spend_tier_name(tr->tier), tr->n_customers, tr->pred_spend);
            for (size_t j = 0; j < tr->n_picks; j++) {
                fprintf(f, "%s{\"category\":", j ? "," : "");
                cli_json_str(f, r->category_names[tr->picks[j].category]);
                fprintf(f, ",\"customers\":%zu,\"mean_pred_spend\":%.2f}", tr->picks[j].n_customers,
                        tr->picks[j].mean_pred_spend);
            }
            fprintf(f, "],\"test_customers\":%zu,\"hit2_mf\":", tr->n_test);
            print_num(f, tr->hit_mf, "%.6g");
            fprintf(f, ",\"hit2_popularity\":");
            print_num(f, tr->hit_pop, "%.6g");
            fprintf(f, "}");
        }
        fprintf(f, "],\"model_path\":");
        if (r->model_path)
            cli_json_str(f, r->model_path);
        else
            fprintf(f, "null");
        fprintf(f, "}\n");
        return;
    }
    fprintf(f,
            "mf: customer x category spend before %s, %zu customers x %u categories, %llu "
            "observed cells\n",
            a, r->n_customers, r->n_categories, (unsigned long long)r->n_observed);
    fprintf(f,
            "  k %u, %zu gradient steps, loss %.4g -> %.4g, RMSE on the observed cells %.4f "
            "(normalised; training fit)\n",
            r->k, r->n_epochs, r->loss_first, r->loss_last, r->rmse_observed);
    fprintf(f, "  held out %s .. %s: %zu customers bought a category new to them; top-2 hit rate",
            a, b, r->n_test);
    fprintf(f, " mf ");
    print_num(f, r->hit_mf, "%.3f");
    fprintf(f, ", popularity ");
    print_num(f, r->hit_pop, "%.3f");
    fprintf(f, "\n");
    fprintf(f, "  tier  customers  top-2 predicted  hit mf  hit pop  most recommended new "
               "categories (customers, mean predicted spend)\n");
    for (int t = 0; t < PROMO_TIER_COUNT; t++) {
        const promo_mf_tier_report *tr = &r->tiers[t];
        fprintf(f, "  %-4s %10zu %16.2f  ", promo_spend_tier_name(tr->tier), tr->n_customers,
                tr->pred_spend);
        print_num(f, tr->hit_mf, "%6.3f");
        fprintf(f, "   ");
        print_num(f, tr->hit_pop, "%6.3f");
        fprintf(f, "  ");
        for (size_t j = 0; j < tr->n_picks; j++)
            fprintf(f, "%s%s (%zu, %.2f)", j ? ", " : "", r->category_names[tr->picks[j].category],
                    tr->picks[j].n_customers, tr->picks[j].mean_pred_spend);
        fprintf(f, "\n");
    }
    if (r->model_path)
        fprintf(f, "  model: %s\n", r->model_path);
}

int cli_train_is_rec(int argc, char **argv)
{
    const char *v = cli_train_model_arg(argc, argv);
    return v && (!strcmp(v, "mf") || !strcmp(v, "hybrid") || !strcmp(v, "knn") ||
                 !strcmp(v, "user-knn"));
}

/* CSV field, quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Each customer's top-2: customer_id,tier,rank,category,predicted_spend, written atomically. */
static int write_mf_picks(const char *path, const promo_mf_report *r)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return promo_fail(PROMO_ENOMEM, "%s: out of memory", path);
    fprintf(f, "customer_id,tier,rank,category,predicted_spend\n");
    for (size_t i = 0; i < r->n_customers; i++) {
        const promo_mf_customer_pick *p = &r->picks[i];
        for (size_t j = 0; j < p->n; j++) {
            csv_field(f, p->customer_id);
            fprintf(f, ",%s,%zu,", promo_spend_tier_name(p->tier), j + 1);
            csv_field(f, r->category_names[p->category[j]]);
            fprintf(f, ",%.2f\n", p->pred_spend[j]);
        }
    }
    int bad = ferror(f);
    fclose(f);
    int rc = bad ? promo_fail(PROMO_ENOMEM, "%s: out of memory", path)
                 : promo_outfile_write(path, buf, n);
    free(buf);
    return rc;
}

static void print_hybrid(FILE *f, const promo_hybrid_report *r, int json)
{
    if (json) {
        fprintf(f, "{\"hybrid\": ");
        /* the recommend.h figures as promo train --model als prints them, then cold start */
        char *buf = NULL;
        size_t n = 0;
        FILE *m = open_memstream(&buf, &n);
        if (m) {
            cli_print_recommend_train(m, &r->base, 1);
            fclose(m);
            if (n && buf[n - 1] == '\n')
                buf[n - 1] = '\0';
            fputs(buf, f);
        }
        free(buf);
        fprintf(f,
                ", \"user_features\": %u, \"item_features\": %u, \"k_cold\": %zu, "
                "\"cold_users\": %zu, \"cold_user_precision\": ",
                r->n_user_features, r->n_item_features, r->k_cold, r->n_cold_users);
        print_num(f, r->cold_user_p, "%.6g");
        fprintf(f, ", \"cold_user_precision_popularity\": ");
        print_num(f, r->cold_user_p_pop, "%.6g");
        fprintf(f, ", \"cold_items\": %zu, \"cold_item_precision\": ", r->n_cold_items);
        print_num(f, r->cold_item_p, "%.6g");
        fprintf(f, ", \"cold_item_precision_popularity\": ");
        print_num(f, r->cold_item_p_pop, "%.6g");
        fprintf(f, ", \"cold_item_precision_similar\": ");
        print_num(f, r->cold_item_p_similar, "%.6g");
        fprintf(f, "}\n");
        return;
    }
    cli_print_recommend_train(f, &r->base, 0);
    fprintf(f, "side features: %u customer, %u product\n", r->n_user_features, r->n_item_features);
    fprintf(f, "cold start (held-out window), Precision@%zu:\n", r->k_cold);
    fprintf(f, "  %zu new customers (no purchase before), from their attributes: hybrid ",
            r->n_cold_users);
    print_num(f, r->cold_user_p, "%.4f");
    fprintf(f, ", popularity ");
    print_num(f, r->cold_user_p_pop, "%.4f");
    fprintf(f, "\n  %zu new products (never bought before), customers targeted: hybrid ",
            r->n_cold_items);
    print_num(f, r->cold_item_p, "%.4f");
    fprintf(f, ", most active customers ");
    print_num(f, r->cold_item_p_pop, "%.4f");
    fprintf(f, ", buyers of similar products (promo similar) ");
    print_num(f, r->cold_item_p_similar, "%.4f");
    fprintf(f, "\n");
}

int cmd_train_rec(int argc, char **argv)
{
    static const char *const loss_words[] = {"warp", "bpr", NULL};
    static const char *const weight_words[] = {"none", "tfidf", "bm25", NULL};
    const char *ws = CLI_DEFAULT_WS, *model = "mf", *out_path = NULL, *exclude = NULL,
               *events = NULL;
    int64_t as_of = 0;
    double horizon = 30, lr = 0, l2 = -1, zero_weight = -1;
    unsigned long long k = 20, k_cold = 10, factors = 0, epochs = 0, seed = 1;
    unsigned threads = 0;
    int loss = PROMO_HYBRID_WARP, json = 0, weighting = PROMO_KNN_WEIGHT_BM25;
    unsigned long long neighbours = 100;
    int counts = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_STRING("model", "NAME", &model),
         .help = "knn, user-knn, mf (customer x category spend) or hybrid (side features)"},
        {CLI_AS_OF(&as_of), .help = "cutoff: learn before it, evaluate after it",
         .def = "the last complete horizon"},
        {CLI_NUMBER("horizon", "DAYS", 1, 3650, &horizon), .help = "held-out window"},
        {CLI_UINT("k", "K", 1, 100000, &k), .help = "knn, hybrid: list length of the evaluation"},
        {CLI_ENUM("weighting", weight_words, &weighting),
         .help = "knn: weighting before the cosine"},
        {CLI_UINT("neighbours", "N", 1, 1000000, &neighbours),
         .help = "knn: neighbours kept per product (user-knn: per customer)"},
        {CLI_FLAG("counts", &counts),
         .help = "knn: weigh by order counts (default: 0/1, bought or not)"},
        {CLI_STRING("events", "KIND=W,...", &events),
         .help = "knn, user-knn: also learn the similarities from the events table before "
                 "the cutoff (view, cart, favorite with their weights, as for als)",
         .def = "purchases only"},
        {CLI_UINT("k-cold", "K", 1, 100000, &k_cold),
         .help = "hybrid: K of the cold-start figures"},
        {CLI_UINT("factors", "N", 1, 1024, &factors), .help = "latent factors",
         .def = "mf 4, hybrid 32"},
        {CLI_UINT("epochs", "N", 1, 1000000, &epochs),
         .help = "hybrid: passes over the purchases; mf: gradient steps at most",
         .def = "hybrid 20, mf 2000"},
        {CLI_ENUM("loss", loss_words, &loss), .help = "hybrid: ranking loss"},
        {CLI_STRING("exclude-category", "LIST", &exclude),
         .help = "mf: categories (comma-separated) never recommended nor counted as new,\n"
                 "e.g. fees (still fitted)"},
        {CLI_NUMBER("zero-weight", "W", 0, 1, &zero_weight),
         .help = "mf: weight of never-bought categories as spend 0 (0 = observed cells only)",
         .def = "0"},
        {CLI_NUMBER("learning-rate", "R", 1e-9, 100, &lr), .help = "first step",
         .def = "mf 0.05, hybrid 0.05"},
        {CLI_NUMBER("regularization", "L", 0, 1e6, &l2), .help = "L2 weight",
         .def = "mf 0.02, hybrid 1e-6"},
        {CLI_PATH("out", "FILE.csv", &out_path),
         .help = "mf: each customer's top-2 new categories (customer_id, tier, rank, category,\n"
                 "predicted_spend), as of the cutoff"},
        {CLI_SEED(&seed), .help = "initialisation and sampling seed"},
        {CLI_THREADS(&threads)},
        {CLI_JSON(&json), .help = "print the figures as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "train",
        .usage = "usage: promo train --ws DIR --model knn|user-knn [--weighting bm25]\n"
                 "                   [--neighbours 100] [--as-of DATE] [--k 20] [--json]\n"
                 "       promo train --ws DIR --model mf [--as-of DATE] [--horizon DAYS]\n"
                 "                   [--factors 4] [--exclude-category fees] [--json]\n"
                 "       promo train --ws DIR --model hybrid [--as-of DATE] [--loss warp|bpr]\n"
                 "                   [--factors 32] [--epochs 20] [--k 20] [--json]\n",
        .about = "knn, user-knn: cosine similarity between products (customers) after BM25,\n"
                 "TF-IDF or no weighting, the nearest N kept; evaluated on the next DAYS beside\n"
                 "popularity as promo train --model als is.\n"
                 "mf: factorise the customer x category spend matrix before DATE (k factors, L2,\n"
                 "gradient descent), predict spend in the categories each customer never\n"
                 "bought, and report each spend tier's top-2 recommended categories with the\n"
                 "hit rate of the top-2 on the next DAYS beside popularity.\n"
                 "hybrid: learn customer and product embeddings from side features (location,\n"
                 "gender, age band, segment; category, brand, price band, name words) with a\n"
                 "WARP or BPR loss, evaluate at K beside popularity, and measure cold start:\n"
                 "customers and products first seen after DATE. Saved under DIR/models.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    promo_store *s = NULL;
    int rc;
    if (!strcmp(model, "knn") || !strcmp(model, "user-knn")) {
        promo_rec_train_params p = promo_rec_train_params_default();
        promo_knn_params kp = promo_knn_params_default();
        kp.weighting = (promo_knn_weighting)weighting;
        kp.n_neighbours = (uint32_t)neighbours;
        kp.binary = !counts;
        kp.n_threads = (int)threads;
        p.kind = model;
        p.as_of = as_of;
        p.horizon_days = horizon;
        p.k = (size_t)k;
        p.model.n_threads = (int)threads;
        p.model.seed = seed;
        p.model.extra = &kp;
        p.events = events;
        return cli_rec_train_run(ws, &p, json);
    }
    if (events)
        return cli_usage_error("train", "--events: for als, bpr, knn and user-knn (not %s)", model);
    if (strcmp(model, "mf") != 0 && strcmp(model, "hybrid") != 0)
        return cli_usage_error("train", "--model %s: expected knn, user-knn, mf or hybrid here",
                               model);
    if (out_path && strcmp(model, "mf") != 0)
        return cli_usage_error("train", "--out: only --model mf writes a file");
    if (exclude && strcmp(model, "mf") != 0)
        return cli_usage_error("train", "--exclude-category: only for --model mf");
    if (!strcmp(model, "mf")) {
        promo_mf_train_params p = promo_mf_train_params_default();
        p.as_of = as_of;
        p.horizon_days = horizon;
        p.n_threads = (int)threads;
        p.mf.seed = seed;
        if (factors)
            p.mf.k = (uint32_t)factors;
        if (epochs)
            p.mf.n_epochs = (uint32_t)epochs;
        if (lr > 0)
            p.mf.learning_rate = lr;
        if (l2 >= 0)
            p.mf.l2 = l2;
        if (zero_weight >= 0)
            p.mf.zero_weight = zero_weight;
        p.exclude = exclude;
        promo_mf_report r;
        memset(&r, 0, sizeof r);
        rc = promo_store_open(ws, 0, &s);
        if (!rc)
            rc = promo_mf_category_train(s, &p, &r);
        promo_store_close(s);
        if (rc)
            return cli_report(rc);
        if (out_path && (rc = write_mf_picks(out_path, &r))) {
            promo_mf_report_free(&r);
            return cli_report(rc);
        }
        print_mf(stdout, &r, json);
        if (out_path && !json)
            printf("  each customer's top-2: %s\n", out_path);
        promo_mf_report_free(&r);
        return CLI_EXIT_OK;
    }
    promo_hybrid_train_params p = promo_hybrid_train_params_default();
    p.as_of = as_of;
    p.horizon_days = horizon;
    p.k = (size_t)k;
    p.k_cold = (size_t)k_cold;
    p.n_threads = (int)threads;
    p.model.seed = seed;
    p.model.loss = (promo_hybrid_loss)loss;
    if (factors)
        p.model.dim = (uint32_t)factors;
    if (epochs)
        p.model.epochs = (uint32_t)epochs;
    if (lr > 0)
        p.model.learning_rate = lr;
    if (l2 >= 0)
        p.model.l2 = l2;
    promo_hybrid_report r;
    rc = promo_store_open(ws, 0, &s);
    if (!rc)
        rc = promo_hybrid_train_workspace(s, &p, &r);
    promo_store_close(s);
    if (rc)
        return cli_report(rc);
    print_hybrid(stdout, &r, json);
    return CLI_EXIT_OK;
}
