/* promo train --model KIND for the recommenders (every kind in recommend.h's registry: als,
 * bpr, popularity, ...): its own option table, because a recommender's knobs (factors,
 * iterations, learning rate) are not propensity's. cmd_train hands the whole argv over when
 * --model names a recommender. Fits on the purchases before the cutoff, evaluates on the
 * window after it beside popularity, saves the model under DIR/models. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/error.h>
#include <promo/recommend.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

/* The value of argv's --model (before any "--"), or NULL: how cmd_train picks the trainer
 * (cli_train_is_recommender here, cli_train_is_rec in cmd_train_rec.c). */
const char *cli_train_model_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--model=", 8) == 0)
            return argv[i] + 8;
        if (strcmp(argv[i], "--") == 0)
            break;
    }
    return NULL;
}

/* 1 if argv's --model value names a recommender kind (so cmd_train delegates). */
int cli_train_is_recommender(int argc, char **argv)
{
    const char *v = cli_train_model_arg(argc, argv);
    return v && promo_rec_kind_find(v) != NULL;
}

static void print_metrics_row(FILE *f, const char *name, const promo_rec_metrics *m)
{
    fprintf(f, "  %-12s %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f\n", name, m->precision, m->recall,
            m->ndcg, m->map, m->hit_rate, m->coverage);
}

static void json_metrics(FILE *f, const promo_rec_metrics *m)
{
    fprintf(f,
            "{\"k\": %zu, \"n_users\": %zu, \"precision\": %.6g, \"recall\": %.6g, "
            "\"ndcg\": %.6g, \"map\": %.6g, \"hit_rate\": %.6g, \"coverage\": %.6g}",
            m->k, m->n_users, m->precision, m->recall, m->ndcg, m->map, m->hit_rate, m->coverage);
}

/* One training's figures as a JSON object, left open (the caller may add fields, then '}'). */
static void train_json_open(FILE *f, const promo_rec_train_report *r)
{
    char a[24];
    promo_time_format_cutoff(r->as_of, a, sizeof a);
    fprintf(f, "{\"task\": \"recommend\", \"model\": ");
    cli_json_str(f, r->kind);
    fprintf(f,
            ", \"as_of\": \"%s\", \"horizon_days\": %g, \"n_users\": %u, \"n_items\": %u, "
            "\"nnz\": %llu, \"n_events\": %llu, \"train_seconds\": %.3f, \"evaluated\": %s",
            a, r->horizon_days, r->n_users, r->n_items, (unsigned long long)r->nnz,
            (unsigned long long)r->n_events, r->train_seconds, r->evaluated ? "true" : "false");
    if (r->evaluated) {
        fprintf(f, ", \"metrics\": ");
        json_metrics(f, &r->model);
        fprintf(f, ", \"popularity\": ");
        json_metrics(f, &r->popularity);
    }
    fprintf(f, ", \"model_path\": ");
    cli_json_str(f, r->model_path);
}

void cli_print_recommend_train(FILE *f, const promo_rec_train_report *r, int json)
{
    char a[24];
    promo_time_format_cutoff(r->as_of, a, sizeof a);
    if (json) {
        train_json_open(f, r);
        fputs("}\n", f);
        return;
    }
    char ev[64] = "";
    if (r->n_events)
        snprintf(ev, sizeof ev, " and %llu events", (unsigned long long)r->n_events);
    if (r->n_users) /* a workspace evaluated before the shape was stored has none */
        fprintf(f,
                "recommend: %s on %u customers x %u products (%llu purchases%s) before %s, "
                "%.2f s\n",
                r->kind, r->n_users, r->n_items, (unsigned long long)r->nnz, ev, a,
                r->train_seconds);
    else
        fprintf(f, "recommend: %s on the purchases before %s, %.2f s\n", r->kind, a,
                r->train_seconds);
    if (r->evaluated) {
        fprintf(f, "held out: the %g days from %s, %zu customers with new purchases, K = %zu\n",
                r->horizon_days, a, r->model.n_users, r->model.k);
        fprintf(f, "  %-12s %9s %9s %9s %9s %9s %9s\n", "model", "precision", "recall", "ndcg",
                "map", "hit_rate", "coverage");
        print_metrics_row(f, r->kind, &r->model);
        print_metrics_row(f, "popularity", &r->popularity);
    } else {
        fprintf(f, "no purchases after %s: not evaluated\n", a);
    }
    if (r->model_path[0])
        fprintf(f, "model: %s\n", r->model_path);
}

/* v in fmt, or "null" (JSON) / "-" (table) when there is none. */
static void num_or(FILE *f, double v, const char *fmt, const char *none)
{
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs(none, f);
}

static void json_num(FILE *f, double v)
{
    num_or(f, v, "%.6g", "null");
}

void cli_print_recommend_eval_json(FILE *f, const promo_rec_evaluation *e)
{
    train_json_open(f, &e->r);
    if (e->k_cold) {
        fprintf(f, ", \"k_cold\": %zu, \"cold_user_precision\": ", e->k_cold);
        json_num(f, e->cold_user_precision[0]);
        fprintf(f, ", \"cold_user_precision_popularity\": ");
        json_num(f, e->cold_user_precision[1]);
        fprintf(f, ", \"cold_item_precision\": ");
        json_num(f, e->cold_item_precision[0]);
        fprintf(f, ", \"cold_item_precision_popularity\": ");
        json_num(f, e->cold_item_precision[1]);
    }
    fputc('}', f);
}

void cli_print_recommend_evals(FILE *f, const promo_rec_evaluation *e, size_t n, int json)
{
    if (json) {
        if (n != 1)
            fprintf(f, "{\"evaluations\":[");
        for (size_t k = 0; k < n; k++) {
            if (k)
                fputc(',', f);
            cli_print_recommend_eval_json(f, &e[k]);
        }
        fputs(n != 1 ? "]}\n" : "\n", f);
        return;
    }
    for (size_t k = 0; k < n; k++) {
        if (k)
            fputc('\n', f);
        cli_print_recommend_train(f, &e[k].r, 0);
        if (e[k].k_cold) {
            fprintf(f, "cold start (held-out window), Precision@%zu: new customers %s ",
                    e[k].k_cold, e[k].r.kind);
            num_or(f, e[k].cold_user_precision[0], "%.4f", "-");
            fprintf(f, ", popularity ");
            num_or(f, e[k].cold_user_precision[1], "%.4f", "-");
            fprintf(f, "; new products %s ", e[k].r.kind);
            num_or(f, e[k].cold_item_precision[0], "%.4f", "-");
            fprintf(f, ", most active customers ");
            num_or(f, e[k].cold_item_precision[1], "%.4f", "-");
            fputc('\n', f);
        }
    }
}

int cli_rec_train_run(const char *ws, const promo_rec_train_params *p, int json)
{
    promo_store *s = NULL;
    promo_rec_train_report r;
    int rc = promo_store_open(ws, 0, &s);
    if (!rc)
        rc = promo_rec_train_workspace(s, p, &r);
    promo_store_close(s);
    if (rc)
        return cli_report(rc);
    cli_print_recommend_train(stdout, &r, json);
    return CLI_EXIT_OK;
}

int cmd_train_recommend(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS;
    promo_rec_train_params p = promo_rec_train_params_default();
    unsigned long long k = 20, factors = p.model.factors, iterations = 0, cg = p.model.cg_steps;
    double reg = -1, lr = p.model.learning_rate, alpha = p.model.alpha;
    int json = 0, hogwild = 0, include_bought = 0, log_conf = 1;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_STRING("model", "NAME", &p.kind), .help = "als, bpr or another recommender"},
        {CLI_AS_OF(&p.as_of), .help = "cutoff: learn before it, evaluate after it",
         .def = "the last complete horizon"},
        {CLI_NUMBER("horizon", "DAYS", 1, 3650, &p.horizon_days), .help = "held-out window"},
        {CLI_UINT("k", "K", 1, 100000, &k), .help = "list length of the evaluation"},
        {CLI_UINT("factors", "N", 1, 4096, &factors), .help = "latent factors"},
        {CLI_UINT("iterations", "N", 1, 100000, &iterations), .help = "ALS sweeps / BPR epochs",
         .def = "ALS 15, BPR 100"},
        {CLI_UINT("cg-steps", "N", 0, 1000, &cg),
         .help = "ALS conjugate-gradient steps per row, 0 = exact solve"},
        {CLI_NUMBER("regularization", "L", 0, 1e6, &reg), .help = "L2 weight",
         .def = "ALS 30, BPR 0.01"},
        {CLI_NUMBER("alpha", "A", 0, 1e6, &alpha), .help = "ALS confidence 1 + A log(1 + orders)"},
        {CLI_FLAG_CLEAR("linear-confidence", &log_conf),
         .help = "ALS confidence 1 + A orders (no log)"},
        {CLI_NUMBER("learning-rate", "R", 1e-9, 100, &lr), .help = "BPR SGD step"},
        {CLI_FLAG("hogwild", &hogwild),
         .help = "BPR: lock-free parallel SGD (faster; depends on scheduling)"},
        {CLI_FLAG("include-bought", &include_bought),
         .help = "evaluation: count repeat purchases as hits"},
        {CLI_STRING("events", "KIND=W,...", &p.events),
         .help = "also learn from the events table before the cutoff: each view, cart or "
                 "favorite adds its weight W to the customer's entry for the product (e.g. "
                 "view=0.1,cart=0.5,favorite=0.5); the evaluation stays on purchases",
         .def = "purchases only"},
        {CLI_SEED(&p.model.seed), .help = "initialisation and sampling seed"},
        {CLI_THREADS(&p.model.n_threads)},
        {CLI_JSON(&json), .help = "print the evaluation as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "train",
        .usage = "usage: promo train --ws DIR --model als|bpr [--as-of DATE] [--factors K]\n"
                 "                   [--iterations N] [--k K] [options]\n",
        .about = "Train a recommender on the customer x product purchases before DATE, evaluate\n"
                 "it on the purchases of the next DAYS (Precision, Recall, NDCG, MAP at K,\n"
                 "catalogue coverage; only products new to each customer count) beside the\n"
                 "popularity baseline, and save it under DIR/models with the interaction\n"
                 "matrix. promo recommend then lists products per customer.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    const promo_rec_kind *kind = promo_rec_kind_find(p.kind);
    if (!kind || !kind->fit)
        return cli_usage_error("train", "--model %s: not a trainable recommender", p.kind);
    p.k = (size_t)k;
    p.exclude_bought = !include_bought;
    p.model.factors = (uint32_t)factors;
    p.model.cg_steps = (uint32_t)cg;
    if (iterations) {
        p.model.iterations = (uint32_t)iterations;
        p.model.epochs = (uint32_t)iterations;
    }
    if (reg >= 0)
        p.model.regularization = reg;
    p.model.learning_rate = lr;
    p.model.alpha = alpha;
    p.model.confidence = log_conf;
    p.model.hogwild = hogwild;
    return cli_rec_train_run(ws, &p, json);
}
