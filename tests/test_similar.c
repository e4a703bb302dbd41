/* Tests of src/engine/similar.c and `promo similar`: on a tiny catalogue, the products most
 * like a new yoghurt are the yoghurts, their buyers are the customers to target (repeat buyers
 * first), the JSON form, bad input (exit 2, option named, workspace unchanged). */
#include <stdio.h>
#include <stdlib.h>

#include <promo/error.h>
#include <promo/similar.h>
#include <promo/store.h>

#include "t.h"

static const char *tiny_ws(void)
{
    static char ws[700];
    if (ws[0])
        return ws;
    const char *dir = t_tmpdir();
    char path[600];
    static const char products[] = "product_id,name,category,subcategory,brand,price,cost\n"
                                   "P1,Greek yoghurt 500g,dairy,,Farm,3.0,\n"
                                   "P2,Natural yoghurt 500g,dairy,,Farm,2.5,\n"
                                   "P3,Whole milk 1L,dairy,,Farm,1.2,\n"
                                   "P4,Dark chocolate bar,sweets,,Choc,2.9,\n"
                                   "P5,Cheddar cheese 400g,dairy,,Dale,4.0,\n"
                                   "P6,Garden hose 20m,garden,,Hose,25,\n";
    static const char customers[] = "customer_id,name,age,gender,location,signup_date,segment\n"
                                    "C1,Ann,34,F,London,2020-01-05,\n"
                                    "C2,Bob,40,M,Leeds,2020-02-11,\n"
                                    "C3,Cy,51,F,York,2020-03-01,\n"
                                    "C4,Di,29,F,York,2020-03-01,\n";
    static const char tx[] = "order_id,customer_id,product_id,ts,quantity,unit_price,channel\n"
                             "O1,C1,P1,2021-01-02 10:00:00,1,3.0,store\n"
                             "O2,C1,P1,2021-01-09 10:00:00,1,3.0,store\n"
                             "O3,C1,P1,2021-01-16 10:00:00,1,3.0,store\n"
                             "O4,C2,P2,2021-01-03 10:00:00,1,2.5,store\n"
                             "O5,C3,P6,2021-01-04 10:00:00,1,25,store\n"
                             "O6,C3,P6,2021-01-05 10:00:00,1,25,store\n"
                             "O7,C4,P4,2021-01-06 10:00:00,2,2.9,store\n";
    snprintf(path, sizeof path, "%s/products.csv", dir);
    t_write_file(path, products, sizeof products - 1);
    snprintf(path, sizeof path, "%s/customers.csv", dir);
    t_write_file(path, customers, sizeof customers - 1);
    snprintf(path, sizeof path, "%s/transactions.csv", dir);
    t_write_file(path, tx, sizeof tx - 1);
    snprintf(ws, sizeof ws, "%s/ws", dir);
    char args[2400], *err = NULL;
    snprintf(args, sizeof args,
             "ingest --ws '%s' '%s/customers.csv' '%s/products.csv' "
             "'%s/transactions.csv'",
             ws, dir, dir, dir);
    int rc = t_promo(args, NULL, &err);
    T_ASSERT_MSG(rc == 0, "ingest: %s", err);
    free(err);
    return ws;
}

T_TEST(similar_tiny_catalogue)
{
    const char *ws = tiny_ws();
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    promo_similar_query q = promo_similar_query_default();
    q.category = "Dairy"; /* case does not matter */
    q.price = 3.2;
    q.name = "Strawberry YOGHURT 500g";
    q.brand = "Farm";
    q.k = 3;
    promo_similar_result r;
    T_OK(promo_similar_find(s, &q, &r));
    T_ASSERT(r.category_known);
    T_ASSERT_EQ_INT(r.n_catalogue, 6);
    T_ASSERT_EQ_INT(r.n_products, 3);
    /* the two yoghurts first: Greek (price 3.0 is nearer 3.2) before Natural */
    T_ASSERT_STR_EQ(r.products[0].product_id, "P1");
    T_ASSERT_STR_EQ(r.products[1].product_id, "P2");
    T_ASSERT_NEAR(r.products[0].sim_category, 1, 0);
    T_ASSERT_NEAR(r.products[0].sim_brand, 1, 0);
    T_ASSERT_NEAR(r.products[0].sim_price, exp2(-fabs(log2(3.0 / 3.2))), 1e-12);
    /* TF-IDF cosine with idf = log((6 + 2) / (df + 1)): "yoghurt" (df 2) is the one word
     * shared, "greek" (df 1) and "strawberry" (df 0) are not */
    double iy = log(8.0 / 3), ig = log(4.0), is = log(8.0);
    T_ASSERT_NEAR(r.products[0].sim_name,
                  iy * iy / (sqrt(ig * ig + iy * iy) * sqrt(is * is + iy * iy)), 1e-12);
    T_ASSERT_EQ_INT(r.products[0].n_buyers, 1);
    T_ASSERT(r.products[0].similarity >= r.products[1].similarity);
    T_ASSERT(r.products[1].similarity >= r.products[2].similarity);
    /* targets: C1 (three orders of P1) before C2 (one of P2); C3 and C4 bought nothing alike */
    T_ASSERT_EQ_INT(r.n_customers, 2);
    T_ASSERT_STR_EQ(r.customers[0].customer_id, "C1");
    T_ASSERT_STR_EQ(r.customers[1].customer_id, "C2");
    T_ASSERT_NEAR(r.customers[0].score, r.products[0].similarity * log(4.0), 1e-12);
    T_ASSERT_EQ_INT(r.customers[0].n_orders, 3);
    promo_similar_result_free(&r);
    /* the hose: garden category unknown to the query, price decides */
    q = promo_similar_query_default();
    q.category = "tools";
    q.price = 24;
    q.k = 1;
    T_OK(promo_similar_find(s, &q, &r));
    T_ASSERT(!r.category_known);
    T_ASSERT_STR_EQ(r.products[0].product_id, "P6");
    T_ASSERT_STR_EQ(r.customers[0].customer_id, "C3");
    promo_similar_result_free(&r);
    q.price = -1;
    T_ASSERT_EQ_INT(promo_similar_find(s, &q, &r), PROMO_EUSAGE);
    promo_store_close(s);
}

T_TEST(similar_cli_and_bad_input)
{
    const char *ws = tiny_ws();
    char args[1400], *out = NULL, *err = NULL;
    snprintf(args, sizeof args,
             "similar --ws '%s' --category dairy --price 3.2 --name 'Greek yoghurt' --k 2", ws);
    int rc = t_promo(args, &out, &err);
    T_ASSERT_MSG(rc == 0, "exit %d: %s", rc, err);
    T_ASSERT_CONTAINS(out, "P1");
    T_ASSERT_CONTAINS(out, "customers to target");
    T_ASSERT_CONTAINS(out, "C1");
    free(out);
    free(err);
    snprintf(args, sizeof args, "similar --ws '%s' --category dairy --price 3 --json", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 0);
    T_ASSERT_CONTAINS(out, "\"products\": [{\"rank\": 1");
    T_ASSERT_CONTAINS(out, "\"customers\"");
    free(out);
    free(err);
    char *before = t_dir_digest(ws);
    static const struct {
        const char *args, *want;
    } bad[] = {
        {"--category dairy --price -3", "--price"},
        {"--category dairy --price abc", "--price"},
        {"--price 3", "--category"},
        {"--category dairy", "--price"},
        {"--category dairy --price 3 --k 0", "--k"},
        {"--category '' --price 3", "--category"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "similar --ws '%s' %s", ws, bad[i].args);
        rc = t_promo(args, &out, &err);
        T_ASSERT_MSG(rc == 2, "exit %d for %s: %s", rc, bad[i].args, err);
        T_ASSERT_CONTAINS(err, bad[i].want);
        free(out);
        free(err);
    }
    snprintf(args, sizeof args, "similar --ws '%s/none' --category dairy --price 3", ws);
    T_ASSERT_EQ_INT(t_promo(args, &out, &err), 2);
    free(out);
    free(err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);
}
