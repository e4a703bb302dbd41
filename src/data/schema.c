/* The canonical tables (DESIGN.md), in the order they must be loaded so references resolve. */
#include <string.h>

#include <promo/schema.h>

#define S PROMO_COL_STRING
#define I PROMO_COL_INT64
#define F PROMO_COL_FLOAT64
#define T PROMO_COL_TIMESTAMP
#define B PROMO_COL_BOOL

static const promo_field customers[] = {
    {"customer_id", S, 1, 1, NULL}, {"name", S, 0, 0, NULL},     {"age", I, 0, 0, NULL},
    {"gender", S, 0, 0, NULL},      {"location", S, 0, 0, NULL}, {"signup_date", T, 0, 0, NULL},
    {"segment", S, 0, 0, NULL},
};
static const promo_field products[] = {
    {"product_id", S, 1, 1, NULL},  {"name", S, 0, 0, NULL},  {"category", S, 0, 0, NULL},
    {"subcategory", S, 0, 0, NULL}, {"brand", S, 0, 0, NULL}, {"price", F, 0, 0, NULL},
    {"cost", F, 0, 0, NULL},
};
static const promo_field stores[] = {
    {"store_id", S, 1, 1, NULL},
    {"name", S, 0, 0, NULL},
    {"city", S, 0, 0, NULL},
    {"channel", S, 0, 0, NULL},
};
static const promo_field promotions[] = {
    {"promotion_id", S, 1, 1, NULL},
    {"product_id", S, 0, 0, "products.product_id"},
    {"category", S, 0, 0, NULL},
    {"discount_pct", F, 0, 0, NULL},
    {"coupon_value", F, 0, 0, NULL},
    {"start", T, 0, 0, NULL},
    {"end", T, 0, 0, NULL},
    {"channel", S, 0, 0, NULL},
    {"cost_per_contact", F, 0, 0, NULL},
};
static const promo_field transactions[] = {
    {"order_id", S, 1, 1, NULL},
    {"line", I, 1, 1, NULL},
    {"customer_id", S, 0, 0, "customers.customer_id"},
    {"product_id", S, 1, 0, "products.product_id"},
    {"store_id", S, 0, 0, "stores.store_id"},
    {"ts", T, 1, 0, NULL},
    {"quantity", F, 1, 0, NULL},
    {"unit_price", F, 1, 0, NULL},
    {"discount", F, 0, 0, NULL},
    {"promotion_id", S, 0, 0, "promotions.promotion_id"},
    {"channel", S, 0, 0, NULL},
};
static const promo_field exposures[] = {
    {"promotion_id", S, 1, 1, "promotions.promotion_id"},
    {"customer_id", S, 1, 1, "customers.customer_id"},
    {"ts", T, 0, 0, NULL},
    {"arm", S, 0, 0, NULL},
    {"channel", S, 0, 0, NULL},
    {"cost", F, 0, 0, NULL},
};
static const promo_field responses[] = {
    {"promotion_id", S, 1, 1, "promotions.promotion_id"},
    {"customer_id", S, 1, 1, "customers.customer_id"},
    {"ts", T, 0, 0, NULL},
    {"converted", B, 1, 0, NULL},
    {"revenue", F, 0, 0, NULL},
};
static const promo_field events[] = {
    {"customer_id", S, 1, 1, "customers.customer_id"},
    {"product_id", S, 1, 1, "products.product_id"},
    {"ts", T, 1, 1, NULL},
    {"kind", S, 1, 0, NULL},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const promo_schema schemas[] = {
    {"customers", customers, N(customers)},
    {"products", products, N(products)},
    {"stores", stores, N(stores)},
    {"promotions", promotions, N(promotions)},
    {"transactions", transactions, N(transactions)},
    {"exposures", exposures, N(exposures)},
    {"responses", responses, N(responses)},
    {"events", events, N(events)},
};

const promo_schema *promo_schema_all(size_t *n)
{
    *n = N(schemas);
    return schemas;
}

const promo_schema *promo_schema_find(const char *table)
{
    for (size_t i = 0; i < N(schemas); i++)
        if (strcmp(schemas[i].name, table) == 0)
            return &schemas[i];
    return NULL;
}

const promo_field *promo_schema_field(const promo_schema *s, const char *column)
{
    for (size_t i = 0; i < s->n_fields; i++)
        if (strcmp(s->fields[i].name, column) == 0)
            return &s->fields[i];
    return NULL;
}

promo_table *promo_schema_new_table(const promo_schema *s)
{
    promo_table *t = promo_table_new(s->name);
    if (!t)
        return NULL;
    for (size_t i = 0; i < s->n_fields; i++) {
        if (promo_table_add_column(t, s->fields[i].name, s->fields[i].type, NULL)) {
            promo_table_free(t);
            return NULL;
        }
    }
    return t;
}
