/* Association rules: FP-growth against brute force, arules' figures on Groceries, the basket
 * readers, promo rules and promo crosssell. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/assoc.h>
#include <promo/baskets.h>
#include <promo/campaign.h>
#include <promo/crosssell.h>
#include <promo/error.h>
#include <promo/rng.h>
#include <promo/store.h>

#include "t.h"
#include "t_world.h"

int fuzz_baskets_one(const uint8_t *data, size_t n);

/* Random baskets over n_items (< 16) items, item i bought with probability falling in i. */
static void
random_baskets(uint64_t seed, size_t n, uint32_t n_items, uint64_t **ptr, uint32_t **item)
{
    *ptr = calloc(n + 1, sizeof **ptr);
    *item = calloc(n * n_items + 1, sizeof **item);
    uint64_t s = seed;
    for (size_t b = 0; b < n; b++) {
        (*ptr)[b + 1] = (*ptr)[b];
        for (uint32_t i = 0; i < n_items; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(s >> 11) / 9007199254740992.0;
            if (u < 0.6 / (1 + 0.3 * i))
                (*item)[(*ptr)[b + 1]++] = i;
        }
        /* a repeated item now and then: it must count once */
        if (b % 7 == 0 && (*ptr)[b + 1] > (*ptr)[b]) {
            (*item)[(*ptr)[b + 1]] = (*item)[(*ptr)[b]];
            (*ptr)[b + 1]++;
        }
    }
}

/* Baskets holding every item of mask. */
static uint64_t brute_count(const uint64_t *ptr, const uint32_t *item, size_t n, uint32_t mask)
{
    uint64_t c = 0;
    for (size_t b = 0; b < n; b++) {
        uint32_t have = 0;
        for (uint64_t k = ptr[b]; k < ptr[b + 1]; k++)
            have |= 1u << item[k];
        c += (have & mask) == mask;
    }
    return c;
}

static uint32_t mask_of(const uint32_t *s, uint32_t len)
{
    uint32_t m = 0;
    for (uint32_t k = 0; k < len; k++)
        m |= 1u << s[k];
    return m;
}

/* Every frequent itemset and every rule FP-growth returns is what brute force counts, and
 * none is missing; the result does not depend on the thread count. */
T_TEST(assoc_fpgrowth_equals_brute_force)
{
    for (int trial = 0; trial < 4; trial++) {
        uint32_t n_items = 12;
        size_t n = 300 + 100 * (size_t)trial;
        uint64_t *ptr;
        uint32_t *item;
        random_baskets(11 + (uint64_t)trial, n, n_items, &ptr, &item);
        promo_baskets b = {.n = n, .ptr = ptr, .item = item, .n_items = n_items};
        promo_assoc_params p = promo_assoc_params_default();
        p.min_support = 0.05 + 0.02 * trial;
        p.min_confidence = 0.3;
        p.max_len = trial == 3 ? 3 : 10;
        p.n_threads = 1;
        promo_assoc *a = NULL, *a4 = NULL;
        T_OK(promo_assoc_mine(&p, &b, &a));
        p.n_threads = 4;
        T_OK(promo_assoc_mine(&p, &b, &a4));
        uint64_t minsup = (uint64_t)ceil(p.min_support * (double)n - 1e-9);
        size_t expect_sets = 0;
        for (uint32_t m = 1; m < (1u << n_items); m++)
            if (__builtin_popcount(m) <= p.max_len && brute_count(ptr, item, n, m) >= minsup)
                expect_sets++;
        T_ASSERT_EQ_INT(promo_assoc_n_itemsets(a), expect_sets);
        T_ASSERT_EQ_INT(promo_assoc_n_itemsets(a4), expect_sets);
        for (size_t k = 0; k < promo_assoc_n_itemsets(a); k++) {
            uint32_t len, len4;
            uint64_t c, c4;
            const uint32_t *s = promo_assoc_itemset(a, k, &len, &c);
            const uint32_t *s4 = promo_assoc_itemset(a4, k, &len4, &c4);
            T_ASSERT_EQ_INT(c, brute_count(ptr, item, n, mask_of(s, len)));
            T_ASSERT(len == len4 && c == c4 && !memcmp(s, s4, len * sizeof *s));
        }
        /* Rules: every (lhs => rhs) over the frequent sets with its confidence. */
        size_t expect_rules = 0;
        for (uint32_t m = 1; m < (1u << n_items); m++) {
            int len = __builtin_popcount(m);
            uint64_t c = brute_count(ptr, item, n, m);
            if (len < 2 || len > p.max_len || c < minsup)
                continue;
            for (uint32_t j = 0; j < n_items; j++)
                if ((m >> j) & 1)
                    expect_rules += (double)c / (double)brute_count(ptr, item, n, m & ~(1u << j)) >=
                                    p.min_confidence;
        }
        T_ASSERT_EQ_INT(promo_assoc_n_rules(a), expect_rules);
        for (size_t r = 0; r < promo_assoc_n_rules(a); r++) {
            const promo_assoc_rule *x = promo_assoc_rule_at(a, r);
            uint32_t lm = mask_of(promo_assoc_rule_lhs(a, r), x->lhs_len);
            double conf = (double)brute_count(ptr, item, n, lm | 1u << x->rhs) /
                          (double)brute_count(ptr, item, n, lm);
            T_ASSERT_NEAR(x->confidence, conf, 1e-12);
            T_ASSERT_NEAR(x->lift,
                          conf / ((double)brute_count(ptr, item, n, 1u << x->rhs) / (double)n),
                          1e-9);
            if (r)
                T_ASSERT(promo_assoc_rule_at(a, r - 1)->lift >= x->lift);
        }
        /* Only the rules predicting one item: the same rules as filtering the full set. */
        p.rhs_only = 5;
        promo_assoc *a5 = NULL;
        T_OK(promo_assoc_mine(&p, &b, &a5));
        size_t want = 0;
        for (size_t r = 0; r < promo_assoc_n_rules(a); r++)
            want += promo_assoc_rule_at(a, r)->rhs == 5;
        T_ASSERT_EQ_INT(promo_assoc_n_rules(a5), want);
        for (size_t r = 0, q = 0; r < promo_assoc_n_rules(a); r++) {
            const promo_assoc_rule *x = promo_assoc_rule_at(a, r);
            if (x->rhs != 5)
                continue;
            const promo_assoc_rule *y = promo_assoc_rule_at(a5, q++);
            T_ASSERT(x->lhs_len == y->lhs_len && x->count == y->count);
            T_ASSERT_NEAR(x->confidence, y->confidence, 1e-12);
        }
        promo_assoc_free(a5);
        promo_assoc_free(a);
        promo_assoc_free(a4);
        free(ptr);
        free(item);
    }
}

T_TEST(assoc_bad_parameters_and_the_itemset_limit)
{
    uint64_t ptr[] = {0, 3, 6, 9};
    uint32_t item[] = {0, 1, 2, 0, 1, 2, 0, 1, 3};
    promo_baskets b = {.n = 3, .ptr = ptr, .item = item, .n_items = 4};
    promo_assoc_params p = promo_assoc_params_default();
    promo_assoc *a = NULL;
    p.min_support = 0;
    T_ASSERT_EQ_INT(promo_assoc_mine(&p, &b, &a), PROMO_EUSAGE);
    p = promo_assoc_params_default();
    p.min_confidence = NAN;
    T_ASSERT_EQ_INT(promo_assoc_mine(&p, &b, &a), PROMO_EUSAGE);
    p = promo_assoc_params_default();
    b.n_items = 3; /* item 3 is out of range */
    T_ASSERT_EQ_INT(promo_assoc_mine(&p, &b, &a), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "out of range");
    b.n_items = 4;
    p.max_itemsets = 5; /* {0},{1},{2},{0,1},{0,2},{1,2},{0,1,2},{3},... */
    T_ASSERT_EQ_INT(promo_assoc_mine(&p, &b, &a), PROMO_EUSAGE);
    T_ASSERT_CONTAINS(promo_last_error(), "raise --min-support");
    T_ASSERT(a == NULL);
    p.max_itemsets = 0;
    T_OK(promo_assoc_mine(&p, &b, &a));
    /* the 7 subsets of {0,1,2}, and {3}, {0,3}, {1,3}, {0,1,3} */
    T_ASSERT_EQ_INT(promo_assoc_n_itemsets(a), 11);
    promo_assoc_free(a);
    /* No basket: nothing found, not an error. */
    b.n = 0;
    T_OK(promo_assoc_mine(&p, &b, &a));
    T_ASSERT_EQ_INT(promo_assoc_n_itemsets(a), 0);
    promo_assoc_free(a);
}

/* arules' figures for Groceries at support 0.001 and confidence 0.8 (Hahsler et al.; the
 * package's vignette and the book this copy comes with): 410 rules, the strongest
 * {liquor, red/blush wine} => {bottled beer}, support 0.0019, confidence 0.905, lift 11.24. */
T_TEST(assoc_groceries_gives_arules_410_rules)
{
    const char *path = t_shared_data("groceries/groceries.csv");
    if (!path)
        T_SKIP("../shared/data/groceries is absent");
    promo_basket_file *f = NULL;
    T_OK(promo_baskets_read(path, NULL, &f));
    promo_baskets b = promo_basket_file_view(f);
    T_ASSERT_EQ_INT(b.n, 9835);
    T_ASSERT_EQ_INT(b.n_items, 169);
    T_ASSERT_EQ_INT(promo_basket_file_occurrences(f), 43367);
    promo_assoc_params p = promo_assoc_params_default();
    promo_assoc *a = NULL;
    T_OK(promo_assoc_mine(&p, &b, &a));
    T_ASSERT_EQ_INT(promo_assoc_n_rules(a), 410);
    const promo_assoc_rule *top = promo_assoc_rule_at(a, 0);
    T_ASSERT_STR_EQ(promo_basket_file_item(f, top->rhs), "bottled beer");
    T_ASSERT_EQ_INT(top->lhs_len, 2);
    T_ASSERT_EQ_INT(top->count, 19);
    T_ASSERT_NEAR(top->lift, 11.235, 0.001);
    promo_assoc_free(a);
    promo_basket_file_free(f);
}

T_TEST(assoc_basket_lines_quotes_blank_lines_and_repeats)
{
    const char *txt = "\xEF\xBB\xBF"
                      "milk, bread ,milk\r\n"
                      "\n"
                      "\"eggs, large\",milk\n"
                      ",,\n"
                      "\"say \"\"cheese\"\"\"\n";
    promo_basket_file *f = NULL;
    T_OK(promo_baskets_read_buffer(txt, strlen(txt), "b.csv", NULL, &f));
    promo_baskets b = promo_basket_file_view(f);
    T_ASSERT_EQ_INT(b.n, 3);
    T_ASSERT_EQ_INT(b.ptr[1], 2); /* milk once */
    T_ASSERT_EQ_INT(b.n_items, 4);
    T_ASSERT_STR_EQ(promo_basket_file_item(f, 2), "eggs, large");
    T_ASSERT_STR_EQ(promo_basket_file_item(f, 3), "say \"cheese\"");
    promo_basket_file_free(f);

    const char *bad = "a,b\n\"c,d\n";
    T_ASSERT_EQ_INT(promo_baskets_read_buffer(bad, strlen(bad), "b.csv", NULL, &f), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "b.csv:2:1");
    const char *after = "a,\"b\"x\n";
    T_ASSERT_EQ_INT(promo_baskets_read_buffer(after, strlen(after), "b.csv", NULL, &f),
                    PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "b.csv:1:6");
    const char nul[] = "a,b\0"
                       "c\n";
    T_ASSERT_EQ_INT(promo_baskets_read_buffer(nul, sizeof nul - 1, "b.csv", NULL, &f),
                    PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "NUL");
    T_ASSERT(f == NULL);
}

T_TEST(assoc_basket_long_layout_groups_by_basket)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/op.csv", t_tmpdir());
    const char *txt = "order_id,product_id,add_to_cart_order\n"
                      "o2,p1,1\no1,p2,1\no2,p3,2\no2,p1,3\no1,p1,2\n";
    t_write_file(path, txt, strlen(txt));
    promo_baskets_options o = promo_baskets_options_default();
    o.layout = PROMO_BASKETS_LONG;
    o.delimiter = 0;
    promo_basket_file *f = NULL;
    T_OK(promo_baskets_read(path, &o, &f));
    promo_baskets b = promo_basket_file_view(f);
    T_ASSERT_EQ_INT(b.n, 2);
    T_ASSERT_EQ_INT(b.ptr[1], 2); /* o2: p1 (once), p3 */
    T_ASSERT_EQ_INT(b.ptr[2], 4); /* o1: p2, p1 */
    promo_basket_file_free(f);
    o.item_col = "sku";
    T_ASSERT_EQ_INT(promo_baskets_read(path, &o, &f), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "sku");
}

T_TEST(assoc_cli_rules_and_crosssell)
{
    char dir[1024], path[1400], args[3000];
    snprintf(dir, sizeof dir, "%s", t_tmpdir());
    snprintf(path, sizeof path, "%s/b.csv", dir);
    const char *txt = "a,b,c\na,b\na,b,d\nb,c\na,b,c\n";
    t_write_file(path, txt, strlen(txt));
    char *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "rules --data %s --min-support 0.4 --min-confidence 0.9 --json",
             path);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    /* {a}=>{b} (4/4), {a,c}=>{b} (2/2), {c}=>{b} (3/3): b is in every basket, lift 1 */
    T_ASSERT_CONTAINS(out, "\"rules\":3");
    T_ASSERT_CONTAINS(out, "\"rhs\":\"b\"");
    free(out);
    free(err);
    snprintf(args, sizeof args, "rules --data %s --ws %s", path, dir);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "exactly one");
    free(err);
    snprintf(args, sizeof args, "rules --data %s --min-support 0", path);
    T_ASSERT_EQ_INT(t_promo(args, NULL, NULL), 2);
    snprintf(args, sizeof args, "rules --data %s/missing.csv", dir);
    T_ASSERT(t_promo(args, NULL, &err) != 0);
    T_ASSERT_CONTAINS(err, "missing.csv");
    free(err);

    /* crosssell on a generated world: a file simulate's reader accepts, every customer in it
     * a non-buyer of the product whose rule holds; a bad product exits 2 and writes nothing */
    char ws[1024];
    t_world_write(ws, sizeof ws, 400, 60, 6, 10, 20000);
    snprintf(args, sizeof args, "rules --ws %s --min-support 0.001 --min-confidence 0.05 --top 1",
             ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "frequent itemsets");
    free(out);
    promo_store *s = NULL;
    {
        /* --ws names the products of the rules beside their ids (text and JSON) */
        static const char *const pc[] = {"product_id", "name"};
        promo_table *pt = NULL;
        T_OK(promo_store_open_read(ws, &s));
        T_OK(promo_store_read_columns(s, "products", pc, 2, &pt));
        promo_store_close(s); /* the commands below take the workspace's lock */
        s = NULL;
        snprintf(args, sizeof args,
                 "rules --ws %s --min-support 0.001 --min-confidence 0.05 --top 1 --json", ws);
        T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
        const char *rhs = strstr(out, "\"rhs\":\"");
        T_ASSERT(rhs != NULL);
        char id[64] = "";
        sscanf(rhs + 7, "%63[^\"]", id);
        const promo_column *pid = promo_table_column(pt, "product_id"),
                           *pnm = promo_table_column(pt, "name");
        size_t r = 0;
        while (r < pt->n_rows && strcmp(promo_column_str(pid, r), id) != 0)
            r++;
        T_ASSERT_MSG(r < pt->n_rows, "rhs %s not a product", id);
        char want[300];
        snprintf(want, sizeof want, "\"rhs_name\":\"%s\"", promo_column_str(pnm, r));
        T_ASSERT_CONTAINS(out, want);
        free(out);
        args[strlen(args) - strlen(" --json")] = 0;
        T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
        T_ASSERT_CONTAINS(out, promo_column_str(pnm, r));
        free(out);
        promo_table_free(pt);
    }
    T_OK(promo_store_open(ws, 0, &s));
    char best[256];
    T_OK(promo_campaign_best_seller(s, best, sizeof best));
    promo_crosssell_params p = promo_crosssell_params_default();
    p.product_id = best;
    p.min_support = 0.001;
    p.min_lift = 1.0;
    promo_crosssell *c = NULL;
    T_OK(promo_crosssell_build(s, &p, &c));
    promo_basket_file *f = NULL;
    T_OK(promo_baskets_from_store(s, 0, 0, &f));
    T_ASSERT(c->n_rules > 0 && c->file->n_rows > 0);
    T_ASSERT_EQ_INT(c->file->n_rows, c->n_matched);
    promo_baskets b = promo_basket_file_view(f);
    uint32_t x = promo_basket_file_find_item(f, best);
    /* Each rule's fits counted by brute force over the customers' baskets: those who bought
     * every antecedent and never X; every targeted customer is counted by one rule only. */
    {
        uint32_t nc = promo_basket_file_n_customers(f);
        size_t sum = 0;
        for (size_t r = 0; r < c->n_rules; r++) {
            T_ASSERT(c->rules[r].fits >= c->rules[r].customers);
            sum += c->rules[r].customers;
        }
        T_ASSERT_EQ_INT(sum, c->n_matched);
        for (size_t r = 0; r < c->n_rules && r < 6; r++) {
            const promo_crosssell_rule *ru = &c->rules[r];
            uint32_t ante[8];
            uint32_t na = 0;
            char buf[512];
            snprintf(buf, sizeof buf, "%s", ru->antecedent);
            for (char *tok = strtok(buf, "+"); tok && na < 8; tok = strtok(NULL, "+"))
                ante[na++] = promo_basket_file_find_item(f, tok);
            size_t fits = 0;
            for (uint32_t k = 0; k < nc; k++) {
                uint32_t has = 0, got_x = 0;
                for (size_t i = 0; i < b.n; i++) {
                    if (promo_basket_file_customer(f, i) != k)
                        continue;
                    for (uint64_t j = b.ptr[i]; j < b.ptr[i + 1]; j++) {
                        got_x |= b.item[j] == x;
                        for (uint32_t q = 0; q < na; q++)
                            has |= (b.item[j] == ante[q]) << q;
                    }
                }
                fits += !got_x && has == (1u << na) - 1;
            }
            T_ASSERT_EQ_INT(ru->fits, fits); /* six rules: the scan is per customer and basket */
        }
    }
    const promo_column *cid = promo_table_column(c->file, "customer_id");
    for (size_t r = 0; r < c->file->n_rows; r++) {
        uint32_t key = promo_basket_file_find_customer(f, promo_column_str(cid, r));
        for (size_t i = 0; i < b.n; i++)
            if (promo_basket_file_customer(f, i) == key)
                for (uint64_t k = b.ptr[i]; k < b.ptr[i + 1]; k++)
                    T_ASSERT_MSG(b.item[k] != x, "customer %s already bought %s",
                                 promo_column_str(cid, r), best);
    }
    promo_basket_file_free(f);
    promo_crosssell_free(c);
    promo_store_close(s);
    snprintf(args, sizeof args,
             "crosssell --ws %s --product %s --min-support 0.001 --min-lift 1 --target 5", ws,
             best);
    T_ASSERT_EQ_INT(t_promo(args, &out, NULL), 0);
    T_ASSERT_CONTAINS(out, "wrote ");
    T_ASSERT_CONTAINS(out, "targeted");
    free(out);
    snprintf(path, sizeof path, "%s/out/crosssell_%s.csv", ws, best);
    promo_campaign_file *cf = NULL;
    T_OK(promo_campaign_read(path, &cf));
    T_ASSERT_EQ_INT(promo_campaign_file_rows(cf), 5);
    promo_campaign_file_free(cf);
    char *before = t_dir_digest(ws);
    snprintf(args, sizeof args, "crosssell --ws %s --product NOPE", ws);
    T_ASSERT_EQ_INT(t_promo(args, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "NOPE");
    free(err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);
}

T_TEST(assoc_fuzz_corpus_replay)
{
    T_ASSERT(t_replay_corpus("fuzz/corpus/baskets", fuzz_baskets_one) > 0);
}
