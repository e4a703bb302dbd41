/* promo rules: frequent itemsets and association rules (promo/assoc.h), from a basket file
 * (--data) or the workspace's orders (--ws). Parses, prints and writes; mining is assoc.h's,
 * reading baskets.h's. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <promo/alloc.h>
#include <promo/assoc.h>
#include <promo/baskets.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/store.h>
#include <promo/table.h>

#include "cli/cli.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Product names by basket item, for --ws at the product level: a marketer reads "WHITE
 * HANGING HEART T-LIGHT HOLDER", not 85123A. names NULL when there are none. */
typedef struct item_names {
    promo_table *t;
    const promo_column *name;
    uint32_t *row; /* basket item -> products row, UINT32_MAX when unknown */
} item_names;

static int names_load(promo_store *s, const promo_basket_file *f, item_names *nm)
{
    static const char *const cols[] = {"product_id", "name"};
    promo_baskets b = promo_basket_file_view(f);
    memset(nm, 0, sizeof *nm);
    if (!promo_store_has_table(s, "products") ||
        promo_store_read_columns(s, "products", cols, 2, &nm->t)) {
        promo_table_free(nm->t);
        nm->t = NULL;
        return PROMO_OK; /* no names: the ids alone */
    }
    const promo_column *id = promo_table_column(nm->t, "product_id");
    nm->name = promo_table_column(nm->t, "name");
    if (!id || !nm->name || nm->name->type != PROMO_COL_STRING || id->type != PROMO_COL_STRING) {
        nm->name = NULL;
        return PROMO_OK;
    }
    if (!(nm->row = promo_mallocn(b.n_items ? b.n_items : 1, sizeof *nm->row)))
        return PROMO_ENOMEM;
    for (uint32_t i = 0; i < b.n_items; i++)
        nm->row[i] = UINT32_MAX;
    for (size_t r = 0; r < nm->t->n_rows; r++) {
        uint32_t i = promo_basket_file_find_item(f, promo_column_str(id, r));
        if (i != UINT32_MAX && !promo_column_is_null(nm->name, r))
            nm->row[i] = (uint32_t)r;
    }
    return PROMO_OK;
}

static void names_free(item_names *nm)
{
    promo_table_free(nm->t);
    promo_free(nm->row);
}

/* The name of item i, or NULL when it has none. */
static const char *name_of(const item_names *nm, uint32_t i)
{
    if (!nm || !nm->name || nm->row[i] == UINT32_MAX)
        return NULL;
    const char *s = promo_column_str(nm->name, nm->row[i]);
    return *s ? s : NULL;
}

/* "NAME A + NAME B => NAME C" (ids where a name is missing) into a growing buffer. */
static const char *rule_names(const promo_basket_file *f,
                              const item_names *nm,
                              const uint32_t *lhs,
                              uint32_t n,
                              uint32_t rhs,
                              char **buf,
                              size_t *cap)
{
    size_t need = 8;
    for (uint32_t k = 0; k <= n; k++) {
        uint32_t i = k < n ? lhs[k] : rhs;
        const char *s = name_of(nm, i);
        need += strlen(s ? s : promo_basket_file_item(f, i)) + 4;
    }
    if (promo_grow((void **)buf, cap, need, 1))
        return "...";
    char *w = *buf;
    for (uint32_t k = 0; k <= n; k++) {
        uint32_t i = k < n ? lhs[k] : rhs;
        const char *s = name_of(nm, i);
        w += sprintf(w, "%s%s",
                     k == 0  ? ""
                     : k < n ? " + "
                             : " => ",
                     s ? s : promo_basket_file_item(f, i));
    }
    return *buf;
}

/* "{a,b}" into a growing buffer. */
static const char *
set_text(const promo_basket_file *f, const uint32_t *items, uint32_t n, char **buf, size_t *cap)
{
    size_t need = 3;
    for (uint32_t k = 0; k < n; k++)
        need += strlen(promo_basket_file_item(f, items[k])) + 1;
    if (promo_grow((void **)buf, cap, need, 1))
        return "{...}";
    char *w = *buf;
    *w++ = '{';
    for (uint32_t k = 0; k < n; k++)
        w += sprintf(w, "%s%s", k ? "," : "", promo_basket_file_item(f, items[k]));
    strcpy(w, "}");
    return *buf;
}

static void json_num(double v)
{
    if (isfinite(v))
        printf("%.6g", v);
    else
        printf("null");
}

/* Every rule as a CSV (lhs,rhs,support,confidence,coverage,lift,conviction,count, and with
 * product names lhs_names,rhs_name). */
static int write_rules(const char *path,
                       const promo_assoc *a,
                       const promo_basket_file *f,
                       const item_names *nm)
{
    static const char *const num[] = {"support", "confidence", "coverage", "lift", "conviction"};
    promo_table *t = promo_table_new("rules");
    char *buf = NULL;
    size_t cap = 0;
    int rc = t ? PROMO_OK : PROMO_ENOMEM;
    rc = rc ? rc : promo_table_add_column(t, "lhs", PROMO_COL_STRING, NULL);
    rc = rc ? rc : promo_table_add_column(t, "rhs", PROMO_COL_STRING, NULL);
    for (int k = 0; !rc && k < 5; k++)
        rc = promo_table_add_column(t, num[k], PROMO_COL_FLOAT64, NULL);
    rc = rc ? rc : promo_table_add_column(t, "count", PROMO_COL_INT64, NULL);
    int named = nm && nm->name;
    if (named) {
        rc = rc ? rc : promo_table_add_column(t, "lhs_names", PROMO_COL_STRING, NULL);
        rc = rc ? rc : promo_table_add_column(t, "rhs_name", PROMO_COL_STRING, NULL);
    }
    for (size_t r = 0; !rc && r < promo_assoc_n_rules(a); r++) {
        const promo_assoc_rule *x = promo_assoc_rule_at(a, r);
        const char *lhs = set_text(f, promo_assoc_rule_lhs(a, r), x->lhs_len, &buf, &cap);
        const char *rhs = promo_basket_file_item(f, x->rhs);
        double v[5] = {x->support, x->confidence, x->coverage, x->lift, x->conviction};
        rc = promo_column_push_str(t->cols[0], lhs, strlen(lhs));
        rc = rc ? rc : promo_column_push_str(t->cols[1], rhs, strlen(rhs));
        for (int k = 0; !rc && k < 5; k++)
            rc = isfinite(v[k]) ? promo_column_push_f64(t->cols[2 + k], v[k])
                                : promo_column_push_null(t->cols[2 + k]);
        rc = rc ? rc : promo_column_push_i64(t->cols[7], (int64_t)x->count);
        if (named && !rc) {
            const uint32_t *l = promo_assoc_rule_lhs(a, r);
            size_t at = 0;
            for (uint32_t k = 0; k < x->lhs_len; k++) {
                const char *s = name_of(nm, l[k]);
                at += strlen(s ? s : promo_basket_file_item(f, l[k])) + 3;
            }
            if (promo_grow((void **)&buf, &cap, at + 1, 1)) {
                rc = PROMO_ENOMEM;
                break;
            }
            char *w = buf;
            *w = 0;
            for (uint32_t k = 0; k < x->lhs_len; k++) {
                const char *s = name_of(nm, l[k]);
                w += sprintf(w, "%s%s", k ? " + " : "", s ? s : promo_basket_file_item(f, l[k]));
            }
            const char *rn = name_of(nm, x->rhs);
            rn = rn ? rn : promo_basket_file_item(f, x->rhs);
            rc = promo_column_push_str(t->cols[8], buf, strlen(buf));
            rc = rc ? rc : promo_column_push_str(t->cols[9], rn, strlen(rn));
        }
    }
    rc = rc ? rc : promo_table_seal(t);
    rc = rc ? rc : promo_csv_write(path, t);
    promo_free(buf);
    promo_table_free(t);
    return rc;
}

static void print_text(const promo_assoc *a,
                       const promo_basket_file *f,
                       const item_names *nm,
                       const promo_assoc_params *p,
                       size_t top,
                       double secs)
{
    promo_baskets b = promo_basket_file_view(f);
    size_t by_len[12] = {0};
    for (size_t k = 0; k < promo_assoc_n_itemsets(a); k++) {
        uint32_t len = 0;
        promo_assoc_itemset(a, k, &len, NULL);
        by_len[len < 11 ? len : 11]++;
    }
    printf("baskets %zu, items %u (%llu occurrences); support >= %g (%.0f baskets)\n", b.n,
           b.n_items, (unsigned long long)promo_basket_file_occurrences(f), p->min_support,
           ceil(p->min_support * (double)b.n * (1 - 1e-12)));
    printf("frequent itemsets %zu (by size:", promo_assoc_n_itemsets(a));
    for (int k = 1; k < 12; k++)
        if (by_len[k])
            printf(" %s%d: %zu", k == 11 ? ">" : "", k == 11 ? 10 : k, by_len[k]);
    printf("), rules %zu at confidence >= %g%s, %.3f s\n", promo_assoc_n_rules(a),
           p->min_confidence, p->min_lift > 0 ? " and the lift asked" : "", secs);
    size_t n = promo_assoc_n_rules(a) < top ? promo_assoc_n_rules(a) : top;
    if (!n)
        return;
    printf("top %zu by lift:\n  %-52s %-22s %8s %10s %6s %10s %6s\n", n, "lhs", "rhs", "support",
           "confidence", "lift", "conviction", "count");
    char *buf = NULL;
    size_t cap = 0;
    for (size_t r = 0; r < n; r++) {
        const promo_assoc_rule *x = promo_assoc_rule_at(a, r);
        printf("  %-52.52s %-22.22s %8.5f %10.3f %6.2f %10.3g %6llu\n",
               set_text(f, promo_assoc_rule_lhs(a, r), x->lhs_len, &buf, &cap),
               promo_basket_file_item(f, x->rhs), x->support, x->confidence, x->lift, x->conviction,
               (unsigned long long)x->count);
        if (nm && nm->name)
            printf("      %s\n",
                   rule_names(f, nm, promo_assoc_rule_lhs(a, r), x->lhs_len, x->rhs, &buf, &cap));
    }
    promo_free(buf);
}

static void print_json(
    const promo_assoc *a, const promo_basket_file *f, const item_names *nm, size_t top, double secs)
{
    promo_baskets b = promo_basket_file_view(f);
    printf("{\"baskets\":%zu,\"items\":%u,\"occurrences\":%llu,\"itemsets\":%zu,\"rules\":%zu,"
           "\"seconds\":%.4f,\"top\":[",
           b.n, b.n_items, (unsigned long long)promo_basket_file_occurrences(f),
           promo_assoc_n_itemsets(a), promo_assoc_n_rules(a), secs);
    size_t n = promo_assoc_n_rules(a) < top ? promo_assoc_n_rules(a) : top;
    for (size_t r = 0; r < n; r++) {
        const promo_assoc_rule *x = promo_assoc_rule_at(a, r);
        const uint32_t *lhs = promo_assoc_rule_lhs(a, r);
        printf("%s{\"lhs\":[", r ? "," : "");
        for (uint32_t k = 0; k < x->lhs_len; k++) {
            printf("%s", k ? "," : "");
            cli_json_str(stdout, promo_basket_file_item(f, lhs[k]));
        }
        printf("],\"rhs\":");
        cli_json_str(stdout, promo_basket_file_item(f, x->rhs));
        if (nm && nm->name) {
            printf(",\"lhs_names\":[");
            for (uint32_t k = 0; k < x->lhs_len; k++) {
                const char *s = name_of(nm, lhs[k]);
                printf("%s", k ? "," : "");
                if (s)
                    cli_json_str(stdout, s);
                else
                    printf("null");
            }
            printf("],\"rhs_name\":");
            if (name_of(nm, x->rhs))
                cli_json_str(stdout, name_of(nm, x->rhs));
            else
                printf("null");
        }
        printf(",\"support\":%.6g,\"confidence\":%.6g,\"coverage\":%.6g,\"lift\":%.6g,"
               "\"conviction\":",
               x->support, x->confidence, x->coverage, x->lift);
        json_num(x->conviction);
        printf(",\"count\":%llu}", (unsigned long long)x->count);
    }
    printf("]}\n");
}

int cmd_rules(int argc, char **argv)
{
    static const char *const layout_words[] = {"lines", "long", NULL};
    static const char *const level_words[] = {"product", "category", NULL};
    const char *ws = NULL, *data = NULL, *sep = NULL, *basket_col = "order_id",
               *item_col = "product_id", *rhs = NULL, *out = NULL;
    promo_assoc_params p = promo_assoc_params_default();
    unsigned layout = 0, level = 0;
    double max_len = p.max_len, top = 20, max_itemsets = (double)p.max_itemsets;
    int64_t as_of = 0;
    int json = 0;
    const cli_opt opts[] = {
        {CLI_PATH("ws", "DIR", &ws),
         .help = "mine the workspace's orders (one basket per order_id)"},
        {CLI_PATH("data", "FILE", &data), .help = "mine a basket file instead of a workspace"},
        {CLI_ENUM("layout", layout_words, &layout), .metavar = "lines|long",
         .help = "--data: one basket per line (items separated by --sep), or a CSV with a "
                 "header and one (basket, item) pair per row"},
        {CLI_STRING("sep", "C", &sep), .help = "--data: the separator",
         .def = "',' (long: detected)"},
        {CLI_STRING("basket-col", "NAME", &basket_col),
         .help = "--layout long: the basket id column"},
        {CLI_STRING("item-col", "NAME", &item_col), .help = "--layout long: the item column"},
        {CLI_ENUM("level", level_words, &level), .metavar = "product|category",
         .help = "--ws: items are products or their categories"},
        {CLI_AS_OF(&as_of), .help = "--ws: orders before DATE", .def = "all"},
        {CLI_NUMBER("min-support", "F", 1e-9, 1, &p.min_support),
         .help = "smallest share of baskets an itemset must be in"},
        {CLI_NUMBER("min-confidence", "F", 0, 1, &p.min_confidence),
         .help = "smallest P(rhs | lhs) of a rule"},
        {CLI_NUMBER("min-lift", "F", 0, 1e12, &p.min_lift), .help = "smallest lift of a rule"},
        {CLI_UINT("max-len", "N", 2, 64, &max_len),
         .help = "most items in an itemset (arules' maxlen)"},
        {CLI_UINT("max-itemsets", "N", 1, 1e12, &max_itemsets),
         .help = "stop with an error beyond this many frequent itemsets (bounds memory)"},
        {CLI_STRING("rhs", "ITEM", &rhs), .help = "only the rules predicting ITEM (faster)"},
        {CLI_UINT("top", "N", 0, 1e9, &top), .help = "rules printed"},
        {CLI_PATH("out", "FILE.csv", &out),
         .help = "every rule: lhs,rhs,support,confidence,coverage,lift,conviction,count"},
        {CLI_THREADS(&p.n_threads)},
        {CLI_JSON(&json), .help = "print the result as JSON"},
        {0},
    };
    const cli_spec spec = {
        .name = "rules",
        .usage = "usage: promo rules --data FILE [--layout lines|long] [options]\n"
                 "       promo rules --ws DIR [--level product|category] [--as-of DATE] "
                 "[options]\n",
        .about = "Find the itemsets bought together in at least --min-support of the baskets\n"
                 "(FP-growth) and the rules {a,b} => {c} with P(c | a,b) >= --min-confidence,\n"
                 "as the arules package defines them (one item on the right, maxlen 10). With\n"
                 "--ws a basket is an order's products (or categories); returns are left out.\n",
        .opts = opts,
    };
    int ec = cli_parse(&spec, argc, argv, NULL);
    if (ec != CLI_CONTINUE)
        return ec;
    if (!!data == !!ws) {
        fprintf(stderr, "promo rules: give exactly one of --data FILE and --ws DIR\n");
        return CLI_EXIT_INPUT;
    }
    if (sep && (strlen(sep) != 1 && strcmp(sep, "\\t") && strcmp(sep, "tab"))) {
        fprintf(stderr, "promo rules: --sep: expected one character (or 'tab'), got '%s'\n", sep);
        return CLI_EXIT_INPUT;
    }
    p.max_len = (int)max_len;
    p.max_itemsets = (size_t)max_itemsets;
    promo_basket_file *f = NULL;
    promo_assoc *a = NULL;
    promo_store *s = NULL;
    item_names nm = {0};
    int rc;
    if (data) {
        promo_baskets_options o = promo_baskets_options_default();
        o.layout = layout ? PROMO_BASKETS_LONG : PROMO_BASKETS_LINES;
        o.delimiter = sep ? (strlen(sep) == 1 ? sep[0] : '\t') : (layout ? 0 : ',');
        o.basket_col = basket_col;
        o.item_col = item_col;
        rc = promo_baskets_read(data, &o, &f);
    } else {
        rc = promo_store_open_read(ws, &s);
        rc = rc ? rc : promo_baskets_from_store(s, as_of, (int)level, &f);
        if (!rc && level == 0)
            rc = names_load(s, f, &nm);
    }
    if (rc)
        goto done;
    if (rhs) {
        uint32_t it = promo_basket_file_find_item(f, rhs);
        if (it == UINT32_MAX) {
            rc = promo_fail(PROMO_EINPUT, "--rhs %s: no basket holds this item", rhs);
            goto done;
        }
        p.rhs_only = it;
    }
    promo_baskets b = promo_basket_file_view(f);
    double t0 = now_s();
    if ((rc = promo_assoc_mine(&p, &b, &a)))
        goto done;
    double secs = now_s() - t0;
    if (out && (rc = write_rules(out, a, f, &nm)))
        goto done;
    if (json)
        print_json(a, f, &nm, (size_t)top, secs);
    else {
        print_text(a, f, &nm, &p, (size_t)top, secs);
        if (out)
            printf("wrote %s (%zu rules)\n", out, promo_assoc_n_rules(a));
    }
done:
    names_free(&nm);
    promo_assoc_free(a);
    promo_basket_file_free(f);
    promo_store_close(s);
    return cli_report(rc);
}
