/* promo similar: the registered products nearest to a product we have never sold (from its
 * category, price, name and brand) and the customers whose purchases of them make them the
 * ones to target (similar.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <promo/error.h>
#include <promo/similar.h>
#include <promo/store.h>
#include <promo/timeutil.h>

#include "cli/cli.h"

static void print_json(const promo_similar_query *q, const promo_similar_result *r)
{
    printf("{\"query\": {\"category\": ");
    cli_json_str(stdout, q->category);
    printf(", \"price\": %.17g, \"name\": ", q->price);
    if (q->name)
        cli_json_str(stdout, q->name);
    else
        printf("null");
    printf(", \"brand\": ");
    if (q->brand)
        cli_json_str(stdout, q->brand);
    else
        printf("null");
    printf("}, \"category_known\": %s, \"catalogue\": %zu, \"products\": [",
           r->category_known ? "true" : "false", r->n_catalogue);
    for (size_t i = 0; i < r->n_products; i++) {
        const promo_similar_product *p = &r->products[i];
        printf("%s{\"rank\": %zu, \"product_id\": ", i ? ", " : "", i + 1);
        cli_json_str(stdout, p->product_id);
        printf(", \"name\": ");
        cli_json_str(stdout, p->name);
        printf(", \"category\": ");
        cli_json_str(stdout, p->category);
        if (isfinite(p->price))
            printf(", \"price\": %.17g", p->price);
        else
            printf(", \"price\": null");
        printf(", \"similarity\": %.6g, \"category_match\": %.6g, \"price_match\": %.6g, "
               "\"brand_match\": %.6g, \"name_match\": %.6g, \"buyers\": %u}",
               p->similarity, p->sim_category, p->sim_price, p->sim_brand, p->sim_name,
               p->n_buyers);
    }
    printf("], \"customers\": [");
    for (size_t i = 0; i < r->n_customers; i++) {
        const promo_similar_customer *c = &r->customers[i];
        printf("%s{\"rank\": %zu, \"customer_id\": ", i ? ", " : "", i + 1);
        cli_json_str(stdout, c->customer_id);
        printf(", \"score\": %.6g, \"neighbours_bought\": %u, \"orders\": %u}", c->score,
               c->n_products, c->n_orders);
    }
    printf("]}\n");
}

static void print_text(const promo_similar_query *q, const promo_similar_result *r)
{
    printf("products like a new one: category \"%s\"%s, price %.2f", q->category,
           r->category_known ? "" : " (a category the catalogue does not have)", q->price);
    if (q->name)
        printf(", name \"%s\"", q->name);
    if (q->brand)
        printf(", brand \"%s\"", q->brand);
    printf("\nthe %zu nearest of %zu registered products:\n", r->n_products, r->n_catalogue);
    printf("  rank  %-12s %-32s %-20s %10s  similar   cat  price  brand  name  buyers\n",
           "product_id", "name", "category", "price");
    for (size_t i = 0; i < r->n_products; i++) {
        const promo_similar_product *p = &r->products[i];
        printf("  %4zu  %-12s %-32.32s %-20.20s ", i + 1, p->product_id, p->name, p->category);
        if (isfinite(p->price))
            printf("%10.2f", p->price);
        else
            printf("%10s", "-");
        printf("  %7.3f %5.2f  %5.2f  %5.2f %5.2f  %6u\n", p->similarity, p->sim_category,
               p->sim_price, p->sim_brand, p->sim_name, p->n_buyers);
    }
    printf("customers to target (buyers of those products; score = sum of similarity x "
           "log(1 + orders)):\n");
    if (!r->n_customers)
        printf("  none: no customer bought any of them\n");
    else
        printf("  rank  %-14s %8s  neighbours  orders\n", "customer_id", "score");
    for (size_t i = 0; i < r->n_customers; i++) {
        const promo_similar_customer *c = &r->customers[i];
        printf("  %4zu  %-14s %8.3f  %10u  %6u\n", i + 1, c->customer_id, c->score, c->n_products,
               c->n_orders);
    }
}

int cmd_similar(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS;
    promo_similar_query q = promo_similar_query_default();
    unsigned long long k = q.k, n_cust = q.n_customers;
    unsigned threads = 0;
    int json = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_STRING("category", "C", &q.category), .required = 1,
         .help = "the new product's category"},
        {CLI_NUMBER("price", "P", 1e-9, 1e15, &q.price), .required = 1, .help = "its price (> 0)",
         .def = ""},
        {CLI_STRING("name", "TEXT", &q.name), .help = "its name (words compared by TF-IDF)"},
        {CLI_STRING("brand", "B", &q.brand), .help = "its brand"},
        {CLI_UINT("k", "K", 1, 100000, &k), .help = "similar products to list"},
        {CLI_UINT("customers", "N", 1, 100000, &n_cust), .help = "customers to target"},
        {CLI_AS_OF(&q.as_of), .help = "count purchases before DATE", .def = "all"},
        {CLI_THREADS(&threads)},
        {CLI_JSON(&json), .help = "print the result as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "similar",
        .usage = "usage: promo similar --ws DIR --category C --price P [--name \"...\"]\n"
                 "                     [--brand B] [--k 10] [--customers 20] [--json]\n",
        .about = "For a product not in the catalogue, the registered products most like it\n"
                 "(same category, near price, shared name words, same brand) and the\n"
                 "customers who bought those products, best first: whom to target with it.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    if (!*q.category)
        return cli_usage_error("similar", "--category: expected a category name, got \"\"");
    q.k = (size_t)k;
    q.n_customers = (size_t)n_cust;
    q.n_threads = (int)threads;
    promo_store *s = NULL;
    promo_similar_result r;
    memset(&r, 0, sizeof r);
    int rc = promo_store_open_read(ws, &s);
    if (!rc)
        rc = promo_similar_find(s, &q, &r);
    promo_store_close(s);
    if (rc)
        return cli_report(rc);
    if (json)
        print_json(&q, &r);
    else
        print_text(&q, &r);
    promo_similar_result_free(&r);
    return CLI_EXIT_OK;
}
