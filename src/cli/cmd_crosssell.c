/* promo crosssell: customers who buy a rule's antecedents but not the product, offered it as a
 * bundle (promo/crosssell.h). Parses, prints and writes the campaign file. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <promo/crosssell.h>
#include <promo/error.h>
#include <promo/store.h>
#include <promo/table.h>

#include "cli/cli.h"

static void print_json(const promo_crosssell *c, const char *path)
{
    printf("{\"product_id\":");
    cli_json_str(stdout, c->product_id);
    printf(",\"orders\":%zu,\"orders_with_product\":%llu,\"customers_matched\":%zu,"
           "\"customers_already_buying\":%zu,\"targeted\":%zu,\"file\":",
           c->n_orders, (unsigned long long)c->x_orders, c->n_matched, c->n_buyers,
           c->file->n_rows);
    cli_json_str(stdout, path);
    printf(",\"rules\":[");
    for (size_t r = 0; r < c->n_rules; r++) {
        const promo_crosssell_rule *x = &c->rules[r];
        printf("%s{\"antecedent\":", r ? "," : "");
        cli_json_str(stdout, x->antecedent);
        printf(",\"support\":%.6g,\"confidence\":%.6g,\"lift\":%.6g,\"count\":%llu,"
               "\"fits\":%zu,\"customers\":%zu}",
               x->support, x->confidence, x->lift, (unsigned long long)x->count, x->fits,
               x->customers);
    }
    printf("]}\n");
}

static void print_text(const promo_crosssell *c, const char *path)
{
    printf("cross-sell %s: %zu orders mined, %llu hold it; %zu rules predict it\n", c->product_id,
           c->n_orders, (unsigned long long)c->x_orders, c->n_rules);
    /* Only the rules that target someone are listed; a rule whose antecedents' buyers all
     * bought the product already is true of the orders but useless for a campaign, and one
     * whose customers all fit a more confident rule sends nothing. */
    size_t n_none = 0, n_beaten = 0, n_used = 0;
    for (size_t r = 0; r < c->n_rules; r++) {
        n_none += c->rules[r].fits == 0;
        n_beaten += c->rules[r].fits > 0 && c->rules[r].customers == 0;
    }
    size_t n_listed = c->n_rules - n_none - n_beaten;
    if (n_listed) {
        printf("  %-40s %8s %10s %6s %6s %6s %9s\n", "antecedent", "support", "confidence", "lift",
               "orders", "fits", "targeted");
        for (size_t r = 0; r < c->n_rules && n_used < 10; r++) {
            const promo_crosssell_rule *x = &c->rules[r];
            if (!x->customers)
                continue;
            n_used++;
            printf("  %-40.40s %8.5f %10.3f %6.2f %6llu %6zu %9zu\n", x->antecedent, x->support,
                   x->confidence, x->lift, (unsigned long long)x->count, x->fits, x->customers);
        }
        if (n_listed > n_used)
            printf("  ... %zu more that target someone\n", n_listed - n_used);
    }
    if (n_beaten)
        printf("  %zu rule%s not listed: every customer %s fit%s has a more confident rule\n",
               n_beaten, n_beaten == 1 ? "" : "s", n_beaten == 1 ? "it" : "they",
               n_beaten == 1 ? "s" : "");
    if (n_none)
        printf("  %zu rule%s not listed: every customer who bought %s antecedents already bought "
               "the product\n",
               n_none, n_none == 1 ? "" : "s", n_none == 1 ? "its" : "their");
    if (n_beaten || n_none)
        printf("  (--json lists every rule, with the customers it fits and targets)\n");
    if (!c->n_rules)
        printf("  no rule reaches the thresholds: lower --min-support, --min-confidence or "
               "--min-lift\n");
    printf("customers a rule fits who never bought it: %zu (left out as buyers already: %zu)\n",
           c->n_matched, c->n_buyers);
    const promo_column *id = promo_table_column(c->file, "customer_id");
    const promo_column *reason = promo_table_column(c->file, "reason");
    const promo_column *conf = promo_table_column(c->file, "confidence");
    for (size_t i = 0; i < c->file->n_rows && i < 5; i++)
        printf("  %-14s %.3f  %s\n", promo_column_str(id, i), conf->f64[i],
               promo_column_str(reason, i));
    if (c->file->n_rows > 5)
        printf("  ... %zu more\n", c->file->n_rows - 5);
    printf("wrote %s (%zu customers)\n", path, c->file->n_rows);
}

int cmd_crosssell(int argc, char **argv)
{
    const char *ws = CLI_DEFAULT_WS, *product = NULL, *out = NULL;
    promo_crosssell_params p = promo_crosssell_params_default();
    double max_len = p.max_len, target = 0, send_day = 0, send_hour = p.send_hour;
    int json = 0;
    const cli_opt opts[] = {
        {CLI_WS(&ws)},
        {CLI_STRING("product", "ID", &product), .required = 1,
         .help = "the product to cross-sell (the rules' consequent)"},
        {CLI_AS_OF(&p.as_of), .help = "mine the orders before DATE", .def = "all"},
        {CLI_NUMBER("min-support", "F", 1e-9, 1, &p.min_support),
         .help = "smallest share of orders holding a rule's items"},
        {CLI_NUMBER("min-confidence", "F", 0, 1, &p.min_confidence),
         .help = "smallest P(product | antecedents)"},
        {CLI_NUMBER("min-lift", "F", 0, 1e12, &p.min_lift),
         .help = "smallest lift: how many times more likely than in any order"},
        {CLI_UINT("max-len", "N", 2, 10, &max_len), .help = "items in a rule, product included"},
        {CLI_NUMBER("discount", "PCT", 0, 90, &p.discount_pct), .help = "bundle discount, 0-90"},
        {CLI_UINT("target", "N", 0, 100000000, &target),
         .help = "customers to contact, best fit first", .def = "every one a rule fits"},
        {CLI_UINT("send-day", "D", 0, 3650, &send_day),
         .help = "days after the history's end to send"},
        {CLI_UINT("send-hour", "H", 0, 23, &send_hour), .help = "hour to send, 0-23"},
        {CLI_PATH("out", "FILE.csv", &out), .help = "the campaign file",
         .def = "DIR/out/crosssell_<product>.csv"},
        {CLI_THREADS(&p.n_threads)},
        {CLI_JSON(&json), .help = "print the result as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "crosssell",
        .usage = "usage: promo crosssell --ws DIR --product ID [--discount PCT] [--target N]\n"
                 "                       [--min-support F] [--min-confidence F] [--min-lift F]\n"
                 "                       [--as-of DATE] [--out FILE.csv] [--json]\n",
        .about = "Mine the orders for the rules {A,...} => {product} (FP-growth), then target\n"
                 "the customers who bought a rule's antecedents but never the product, each\n"
                 "with the rule that fits them best, the product offered with the antecedent as\n"
                 "a bundle at --discount. Writes a campaign file that `promo simulate` reads;\n"
                 "its probability column is the rule's confidence.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    p.product_id = product;
    p.max_len = (int)max_len;
    p.n_target = (size_t)target;
    p.send_day = (int32_t)send_day;
    p.send_hour = (int32_t)send_hour;
    promo_store *s = NULL;
    promo_crosssell *c = NULL;
    char path[1300];
    int rc = promo_store_open_read(ws, &s);
    rc = rc ? rc : promo_crosssell_build(s, &p, &c);
    if (rc)
        goto done;
    if (out)
        snprintf(path, sizeof path, "%s", out);
    else
        promo_crosssell_default_path(s, product, path, sizeof path);
    if ((rc = promo_crosssell_write(c, path)))
        goto done;
    if (json)
        print_json(c, path);
    else
        print_text(c, path);
done:
    promo_crosssell_free(c);
    promo_store_close(s);
    return cli_report(rc);
}
