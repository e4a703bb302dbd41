/* Profile `online-retail` (include/promo/profile.h): UCI Online Retail I and II. One file of
 * invoice lines becomes transactions (cancellations as returns, a line number per invoice),
 * and products, customers and one online store are derived from it.
 *
 * Product categories: UCI has none, so products.category is derived from the product's name
 * (its most frequent Description) by the keyword table below: the first rule, in table order,
 * with a keyword among the name's words wins; a name matching none is "other"; the
 * non-product StockCodes (postage, discounts, fees, manual adjustments) are "fees". Why words
 * and not the StockCode: the numeric StockCode families are not categories (2xxxx holds mugs,
 * bags, signs and lights alike), while the names are regular English noun phrases whose head
 * noun ("... T-LIGHT HOLDER", "... LUNCH BAG", "... MUG") names what the product is. Rule order
 * puts the strongest signal first: a season word beats the object ("CHRISTMAS ... BAG" is
 * christmas), jewellery and bags beat the colours and motifs that decorate them. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/hash.h>
#include <promo/schema.h>

#include "data/ingest_internal.h"

static int has_hdr(const char *const *hdr, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(hdr[i], name) == 0)
            return 1;
    return 0;
}

/* A constant STRING column. */
static int const_column(promo_table *t, const char *name, const char *value)
{
    promo_column *c = NULL;
    int rc = promo_table_add_column(t, name, PROMO_COL_STRING, &c);
    if (rc)
        return rc;
    if (promo_dict_intern(c->dict, value, strlen(value)) != 0)
        return PROMO_ENOMEM;                  /* the first key of a new dictionary is code 0 */
    return promo_column_resize(c, t->n_rows); /* new rows are code 0 */
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Some UCI exports write CustomerID as a float ("17850.0"): drop the ".0". */
static int fix_float_ids(promo_table *t, const char *name)
{
    int idx = promo_table_column_index(t, name);
    if (idx < 0)
        return PROMO_OK;
    promo_column *c = t->cols[idx];
    int any = 0;
    for (uint32_t k = 0; k < promo_dict_size(c->dict) && !any; k++) {
        size_t len = promo_dict_key_len(c->dict, k);
        any = len > 2 && !strcmp(promo_dict_key(c->dict, k) + len - 2, ".0");
    }
    if (!any)
        return PROMO_OK;
    promo_column *d = NULL;
    int rc = promo_table_add_column(t, "customer_id.fixed", PROMO_COL_STRING, &d);
    if (!rc)
        rc = promo_column_reserve(d, c->n);
    for (size_t r = 0; r < c->n && !rc; r++) {
        if (promo_column_is_null(c, r)) {
            rc = promo_column_push_null(d);
            continue;
        }
        const char *s = promo_dict_key(c->dict, c->codes[r]);
        size_t len = promo_dict_key_len(c->dict, c->codes[r]);
        if (len > 2 && !strcmp(s + len - 2, ".0"))
            len -= 2;
        rc = promo_column_push_str(d, s, len);
    }
    if (!rc)
        rc = promo_table_drop_column(t, name);
    if (!rc)
        rc = promo_table_rename_column(t, "customer_id.fixed", name);
    return rc;
}

/* The keyword table: category, then its keywords (upper case, whole words; a keyword ending in
 * '*' matches any word it begins). 20 categories + other + fees. */
static const char *const cat_rules[][48] = {
    {"christmas", "CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWFLAKE*", "NATIVITY",
     "TREE", "BAUBLE*", "STOCKING", NULL},
    {"easter", "EASTER", "EGG", "EGGS", "CHICK", "CHICKS", "BUNNY", "BUNNIES", NULL},
    {"jewellery", "NECKLACE*", "BRACELET*", "EARRING*", "RING", "RINGS", "CHARM", "CHARMS", "BEAD*",
     "BROOCH", "HAIRCLIP*", "HAIR", "DIAMANTE", "BANGLE*", "PENDANT", NULL},
    {"bags", "BAG", "BAGS", "HANDBAG", "SHOPPER", "WASHBAG", "PURSE", "PURSES", "TOTE", "RUCKSACK",
     "BACKPACK", NULL},
    {"candles_lights", "CANDLE*", "T-LIGHT*", "TLIGHT*", "TEALIGHT*", "LIGHT", "LIGHTS", "LANTERN*",
     "LAMP", "LAMPS", "LAMPSHADE", "NIGHTLIGHT", "INCENSE", "OIL", NULL},
    {"cards_wrap", "CARD", "CARDS", "WRAP", "WRAPPING", "TAG", "TAGS", "RIBBON*", "ENVELOPE*",
     "GIFTWRAP", NULL},
    {"party", "PARTY", "BUNTING", "GARLAND", "BALLOON*", "CONFETTI", "PAPER CHAIN", "CHAIN",
     "INVITES", "BANNER", NULL},
    {"stationery", "NOTEBOOK*", "PEN",      "PENS",  "PENCIL*", "STICKER*", "SKETCHBOOK", "ERASER*",
     "RULER",      "TAPE",      "CALENDAR", "DIARY", "BOOK",    "NOTEPAD",  "NOTE",       "NOTES",
     "MAGNET*",    "PAPER",     "CRAYONS",  "CHALK", "STAMP*",  NULL},
    {"mugs_cups", "MUG", "MUGS", "CUP", "CUPS", "SAUCER*", "BEAKER*", "TEACUP*", "GLASS", "GLASSES",
     "TUMBLER*", "GOBLET*", NULL},
    {"kitchen",   "BOWL*",   "PLATE",   "PLATES",     "DISH",     "DISHES",     "TRAY",
     "TRAYS",     "CUTLERY", "NAPKIN*", "PLACEMAT*",  "JAR",      "JARS",       "TIN",
     "TINS",      "CAKE*",   "BAKING",  "APRON",      "TEA",      "LUNCH",      "SPOON*",
     "TEASPOON*", "TEAPOT",  "JUG",     "CONTAINER*", "DOILY",    "DOILIES",    "COASTER*",
     "CHOPPING",  "KITCHEN", "OVEN",    "JAM",        "CASES",    "RECIPE",     "BREAD",
     "COSY",      "TOWEL",   "TOWELS",  "SNACK",      "BISCUIT*", "CHOPSTICKS", "STRAWS",
     NULL},
    {"toys_games", "TOY",      "TOYS",     "GAME",      "GAMES",      "JIGSAW",
     "PUZZLE*",    "DOLL",     "DOLLS",    "PLAYHOUSE", "DOMINOES",   "SKITTLES",
     "BALL",       "KIT",      "SPACEBOY", "BLOCKS",    "SOLDIER*",   "FELTCRAFT",
     "MONEY",      "BOX GAME", "SPINNING", "TEDDY",     "HELICOPTER", "LADDERS",
     "ROCKING",    "KEYRING",  "WINDMILL", "SLATE",     NULL},
    {"storage", "BOX", "BOXES", "BASKET*", "STORAGE", "HAMPER", "DRAWER*", "CABINET", "CHEST",
     "CRATE", "TRUNK", NULL},
    {"clocks", "CLOCK", "CLOCKS", NULL},
    {"frames_mirrors", "FRAME", "FRAMES", "PHOTOFRAME", "MIRROR", "MIRRORS", "PHOTO", NULL},
    {"signs_plaques", "SIGN", "SIGNS", "PLAQUE", "PLAQUES", "WORD", "LETTERS", "LETTER", NULL},
    {"textiles", "HOT WATER", "CUSHION*", "COVER", "COVERS", "CURTAIN*", "THROW", "BLANKET",
     "HOTTIE", "WARMER", "QUILT", "DOORMAT", "MAT", "FABRIC", "FELT", NULL},
    {"garden", "GARDEN*", "PLANT*", "POT", "POTS", "WATERING", "BIRD", "BIRDHOUSE", "FEEDER",
     "FLOWER", "FLOWERS", "PARASOL", "WICKER", NULL},
    {"bath_beauty", "TISSUE*", "SOAP", "BATH", "BATHROOM", "TOWEL", "COMPACT", "LIP", "MANICURE",
     "PLASTERS", "SPONGE", NULL},
    {"fashion", "UMBRELLA", "SCARF", "GLOVES", "HAT", "SLIPPERS", "SOCKS", "JEWEL", "CLIPS",
     "TATTOO*", "SUNGLASSES", "PATCHES", NULL},
    {"home_decor", "DECORATION*", "HEART",    "HEARTS",     "HOOK",  "HOOKS",  "HANGER*",
     "ORNAMENT*",  "VASE",        "DOORSTOP", "BELL",       "BELLS", "CHIME*", "STAND",
     "RACK",       "HOLDER",      "DOOR",     "DUCKS",      "GLOBE", "WREATH", "BIRDS",
     "FEATHER",    "LOVE",        "WALL",     "CHANDELIER", NULL},
};
#define N_CAT_RULES (sizeof cat_rules / sizeof cat_rules[0])

/* Non-product StockCodes: postage, carriage, discount, fees, manual lines. */
static int is_fee_code(const char *code)
{
    static const char *const fees[] = {
        "POST", "DOT",          "M",         "m",      "D",       "C2",      "CRUK",    "PADS", "S",
        "B",    "BANK CHARGES", "AMAZONFEE", "ADJUST", "ADJUST2", "TEST001", "TEST002", NULL};
    for (int i = 0; fees[i]; i++)
        if (strcmp(code, fees[i]) == 0)
            return 1;
    return !strncmp(code, "gift_", 5) || !strncmp(code, "DCGS", 4);
}

/* Whether word w (len n, upper case) matches keyword k (see cat_rules). */
static int word_matches(const char *w, size_t n, const char *k)
{
    size_t kl = strlen(k);
    if (kl && k[kl - 1] == '*')
        return n >= kl - 1 && !memcmp(w, k, kl - 1);
    return n == kl && !memcmp(w, k, n);
}

/* The category of a product (static string). */
static const char *category_of(const char *code, const char *name, size_t len)
{
    if (is_fee_code(code))
        return "fees";
    if (!name)
        return "other";
    /* Words of the name, upper-cased; a word is a run of letters, digits, '-' and '\''. */
    char buf[256];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        buf[i] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
    }
    buf[n] = 0;
    for (size_t r = 0; r < N_CAT_RULES; r++)
        for (int k = 1; cat_rules[r][k]; k++) {
            const char *kw = cat_rules[r][k];
            if (strchr(kw, ' ')) { /* a phrase: a substring match */
                if (strstr(buf, kw))
                    return cat_rules[r][0];
                continue;
            }
            for (size_t i = 0; i < n;) {
                while (i < n && !(isalnum((unsigned char)buf[i]) || buf[i] == '-'))
                    i++;
                size_t j = i;
                while (j < n && (isalnum((unsigned char)buf[j]) || buf[j] == '-' || buf[j] == '\''))
                    j++;
                if (j > i && word_matches(buf + i, j - i, kw))
                    return cat_rules[r][0];
                i = j;
            }
        }
    return "other";
}

typedef struct pair_count {
    uint64_t key;   /* product code << 32 | description code, +1 (0 = empty slot) */
    uint32_t count; /* rows */
} pair_count;

/* Products from the transactions: name = most frequent non-empty description, category from
 * the name (category_of), price = median unit price of sales (quantity > 0, price > 0, not a
 * cancellation). */
static int
derive_products(promo_ingest *ing, item *tx, const promo_column *desc, const uint8_t *is_cancel)
{
    const promo_table *t = tx->t;
    const promo_column *pid = promo_table_column(t, "product_id");
    const promo_column *q = promo_table_column(t, "quantity");
    const promo_column *up = promo_table_column(t, "unit_price");
    const promo_column *oid = promo_table_column(t, "order_id");
    uint32_t np = promo_dict_size(pid->dict);
    size_t n = t->n_rows;
    uint32_t *best = promo_calloc(np + 1, sizeof *best);     /* description code + 1 */
    uint32_t *best_n = promo_calloc(np + 1, sizeof *best_n); /* its count */
    size_t *off = promo_calloc(np + 2, sizeof *off);         /* sales per product (CSR) */
    uint8_t *used = promo_calloc(np + 1, 1);
    double *prices = NULL;
    pair_count *pc = NULL;
    size_t cap = 16;
    while (cap < 2 * n + 2)
        cap *= 2;
    pc = desc ? promo_calloc(cap, sizeof *pc) : NULL;
    item *out = NULL;
    int rc = PROMO_ENOMEM;
    if (!best || !best_n || !off || !used || (desc && !pc))
        goto done;
    for (size_t r = 0; r < n; r++) {
        if (ingest_is_dropped(tx, r))
            continue;
        uint32_t p = pid->codes[r];
        used[p] = 1;
        int sale = q->f64[r] > 0 && up->f64[r] > 0 && !is_cancel[oid->codes[r]];
        off[p + 1] += sale;
        if (!desc || promo_column_is_null(desc, r))
            continue;
        uint32_t d = desc->codes[r];
        const char *ds = promo_dict_key(desc->dict, d);
        while (*ds == ' ')
            ds++;
        if (!*ds)
            continue;
        uint64_t key = ((uint64_t)p << 32 | d) + 1;
        size_t s = (size_t)promo_fmix64(key) & (cap - 1);
        while (pc[s].key && pc[s].key != key)
            s = (s + 1) & (cap - 1);
        pc[s].key = key;
        /* Strictly more wins, so among equally frequent names the first to get there stays. */
        if (++pc[s].count > best_n[p]) {
            best_n[p] = pc[s].count;
            best[p] = d + 1;
        }
    }
    for (uint32_t p = 0; p < np; p++)
        off[p + 1] += off[p];
    prices = promo_mallocn(off[np] ? off[np] : 1, sizeof *prices);
    if (!prices)
        goto done;
    {
        size_t *fill = promo_mallocn(np + 1, sizeof *fill);
        if (!fill)
            goto done;
        memcpy(fill, off, (np + 1) * sizeof *fill);
        for (size_t r = 0; r < n; r++)
            if (!ingest_is_dropped(tx, r) && q->f64[r] > 0 && up->f64[r] > 0 &&
                !is_cancel[oid->codes[r]])
                prices[fill[pid->codes[r]]++] = up->f64[r];
        promo_free(fill);
    }
    out = ingest_new_item(ing);
    if (!out)
        goto done;
    out->derived = 1;
    out->sc = promo_schema_find("products");
    out->t = promo_table_new("products");
    promo_column *cid, *cname, *ccat, *cprice;
    if (!out->t || (rc = promo_table_add_column(out->t, "product_id", PROMO_COL_STRING, &cid)) ||
        (rc = promo_table_add_column(out->t, "name", PROMO_COL_STRING, &cname)) ||
        (rc = promo_table_add_column(out->t, "category", PROMO_COL_STRING, &ccat)) ||
        (rc = promo_table_add_column(out->t, "price", PROMO_COL_FLOAT64, &cprice)))
        goto done;
    for (uint32_t p = 0; p < np; p++) {
        if (!used[p])
            continue;
        if ((rc = promo_column_push_str(cid, promo_dict_key(pid->dict, p),
                                        promo_dict_key_len(pid->dict, p))))
            goto done;
        if (best[p]) {
            const char *s = promo_dict_key(desc->dict, best[p] - 1);
            size_t len = promo_dict_key_len(desc->dict, best[p] - 1);
            while (len && *s == ' ') {
                s++;
                len--;
            }
            while (len && s[len - 1] == ' ')
                len--;
            rc = promo_column_push_str(cname, s, len);
            const char *cat = category_of(promo_dict_key(pid->dict, p), s, len);
            if (!rc)
                rc = promo_column_push_str(ccat, cat, strlen(cat));
        } else {
            const char *cat = category_of(promo_dict_key(pid->dict, p), NULL, 0);
            rc = promo_column_push_null(cname);
            if (!rc)
                rc = promo_column_push_str(ccat, cat, strlen(cat));
        }
        if (rc)
            goto done;
        size_t a = off[p], k = off[p + 1] - off[p];
        if (k) {
            qsort(prices + a, k, sizeof *prices, dbl_cmp);
            double med =
                k % 2 ? prices[a + k / 2] : (prices[a + k / 2 - 1] + prices[a + k / 2]) / 2;
            rc = promo_column_push_f64(cprice, med);
        } else {
            rc = promo_column_push_null(cprice);
        }
        if (rc)
            goto done;
    }
    rc = promo_table_seal(out->t);
done:
    promo_free(best);
    promo_free(best_n);
    promo_free(off);
    promo_free(used);
    promo_free(prices);
    promo_free(pc);
    return rc;
}

/* Customers: location = country of the customer's latest row. */
static int derive_customers(promo_ingest *ing, item *tx, const promo_column *country)
{
    const promo_table *t = tx->t;
    const promo_column *cid = promo_table_column(t, "customer_id");
    const promo_column *ts = promo_table_column(t, "ts");
    if (!cid)
        return PROMO_OK;
    uint32_t nc = promo_dict_size(cid->dict);
    int64_t *last = promo_mallocn(nc + 1, sizeof *last);
    uint32_t *loc = promo_calloc(nc + 1, sizeof *loc); /* country code + 1 */
    uint8_t *used = promo_calloc(nc + 1, 1);
    int rc = PROMO_ENOMEM;
    if (!last || !loc || !used)
        goto done;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (ingest_is_dropped(tx, r) || promo_column_is_null(cid, r))
            continue;
        uint32_t c = cid->codes[r];
        if (!used[c] || ts->i64[r] >= last[c]) {
            last[c] = ts->i64[r];
            loc[c] = country && !promo_column_is_null(country, r) ? country->codes[r] + 1 : 0;
        }
        used[c] = 1;
    }
    item *out = ingest_new_item(ing);
    if (!out)
        goto done;
    out->derived = 1;
    out->sc = promo_schema_find("customers");
    out->t = promo_table_new("customers");
    promo_column *oid, *oloc;
    if (!out->t || (rc = promo_table_add_column(out->t, "customer_id", PROMO_COL_STRING, &oid)) ||
        (rc = promo_table_add_column(out->t, "location", PROMO_COL_STRING, &oloc)))
        goto done;
    for (uint32_t c = 0; c < nc; c++) {
        if (!used[c])
            continue;
        if ((rc = promo_column_push_str(oid, promo_dict_key(cid->dict, c),
                                        promo_dict_key_len(cid->dict, c))))
            goto done;
        rc = loc[c] ? promo_column_push_str(oloc, promo_dict_key(country->dict, loc[c] - 1),
                                            promo_dict_key_len(country->dict, loc[c] - 1))
                    : promo_column_push_null(oloc);
        if (rc)
            goto done;
    }
    rc = promo_table_seal(out->t);
done:
    promo_free(last);
    promo_free(loc);
    promo_free(used);
    return rc;
}

static int derive_store(promo_ingest *ing)
{
    item *out = ingest_new_item(ing);
    if (!out)
        return PROMO_ENOMEM;
    out->derived = 1;
    out->sc = promo_schema_find("stores");
    out->t = promo_table_new("stores");
    promo_column *id, *name, *ch;
    int rc = PROMO_ENOMEM;
    if (out->t && !(rc = promo_table_add_column(out->t, "store_id", PROMO_COL_STRING, &id)) &&
        !(rc = promo_table_add_column(out->t, "name", PROMO_COL_STRING, &name)) &&
        !(rc = promo_table_add_column(out->t, "channel", PROMO_COL_STRING, &ch)) &&
        !(rc = promo_column_push_str(id, "online", 6)) &&
        !(rc = promo_column_push_str(name, "online shop", 11)) &&
        !(rc = promo_column_push_str(ch, "online", 6)))
        rc = promo_table_seal(out->t);
    return rc;
}

int ingest_read_online_retail(promo_ingest *ing, const char *path)
{
    if (ingest_find_item(ing, "transactions"))
        return promo_fail(PROMO_EUSAGE, "%s: online-retail takes one file per ingest", path);
    char **hdr = NULL;
    size_t n_hdr = 0;
    int rc = ingest_source_header(path, &hdr, &n_hdr);
    if (rc)
        return rc;
    const char *const *h = (const char *const *)hdr;
    /* Online Retail II renamed three columns. */
    const char *inv = has_hdr(h, n_hdr, "Invoice") ? "Invoice" : "InvoiceNo";
    const char *price = has_hdr(h, n_hdr, "Price") ? "Price" : "UnitPrice";
    const char *cust = has_hdr(h, n_hdr, "Customer ID") ? "Customer ID" : "CustomerID";
    promo_free(hdr);
    const promo_csv_column cols[] = {
        {inv, PROMO_COL_STRING, 1},
        {"StockCode", PROMO_COL_STRING, 1},
        {"Description", PROMO_COL_STRING, 0},
        {"Quantity", PROMO_COL_FLOAT64, 1},
        {"InvoiceDate", PROMO_COL_TIMESTAMP, 1},
        {price, PROMO_COL_FLOAT64, 1},
        {cust, PROMO_COL_STRING, 0},
        {"Country", PROMO_COL_STRING, 0},
    };
    const char *ren[][2] = {{"order_id", inv},        {"product_id", "StockCode"},
                            {"quantity", "Quantity"}, {"ts", "InvoiceDate"},
                            {"unit_price", price},    {"customer_id", cust}};
    item *it = ingest_new_item(ing);
    if (!it)
        return PROMO_ENOMEM;
    it->sc = promo_schema_find("transactions");
    /* The UCI export writes m/d/yyyy h:mm; our copies write ISO (always accepted). */
    if ((rc = ingest_read_csv(ing, it, path, cols, sizeof cols / sizeof cols[0], PROMO_DATE_MDY)) ||
        (rc = promo_table_set_name(it->t, "transactions")))
        return rc;
    for (size_t i = 0; i < sizeof ren / sizeof ren[0]; i++)
        if (promo_table_column(it->t, ren[i][1]) &&
            ((rc = promo_table_rename_column(it->t, ren[i][1], ren[i][0])) ||
             (rc = ingest_add_rename(it, ren[i][0], ren[i][1]))))
            return rc;
    if (!promo_table_column(it->t, "customer_id")) {
        promo_column *c = NULL;
        if ((rc = promo_table_add_column(it->t, "customer_id", PROMO_COL_STRING, &c)))
            return rc;
        for (size_t r = 0; r < it->t->n_rows; r++)
            if ((rc = promo_column_push_null(c)))
                return rc;
    }
    if ((rc = fix_float_ids(it->t, "customer_id")) || (rc = ingest_check_required(ing, it)))
        return rc;
    /* Cancellations: invoices starting with 'C'; their quantities are returns (< 0). */
    promo_column *oid = promo_table_column(it->t, "order_id");
    promo_column *q = promo_table_column(it->t, "quantity");
    uint32_t n_orders = promo_dict_size(oid->dict);
    uint8_t *is_cancel = promo_calloc(n_orders ? n_orders : 1, 1);
    if (!is_cancel)
        return PROMO_ENOMEM;
    for (uint32_t k = 0; k < n_orders; k++)
        is_cancel[k] = promo_dict_key(oid->dict, k)[0] == 'C';
    for (size_t r = 0; r < it->t->n_rows; r++) {
        if (ingest_is_dropped(it, r) || !is_cancel[oid->codes[r]])
            continue;
        ing->stats.cancellations++;
        if (q->f64[r] > 0)
            q->f64[r] = -q->f64[r];
    }
    if ((rc = ingest_number_lines(it, "order_id")) ||
        (rc = derive_products(ing, it, promo_table_column(it->t, "Description"), is_cancel))) {
        promo_free(is_cancel);
        return rc;
    }
    promo_free(is_cancel);
    it = ingest_find_item(ing, "transactions"); /* new_item may have moved the array */
    if ((rc = derive_customers(ing, it, promo_table_column(it->t, "Country"))) ||
        (rc = derive_store(ing)))
        return rc;
    it = ingest_find_item(ing, "transactions");
    if ((promo_table_column(it->t, "Description") &&
         (rc = promo_table_drop_column(it->t, "Description"))) ||
        (promo_table_column(it->t, "Country") &&
         (rc = promo_table_drop_column(it->t, "Country"))) ||
        (rc = const_column(it->t, "store_id", "online")) ||
        (rc = const_column(it->t, "channel", "online")))
        return rc;
    return promo_table_seal(it->t);
}
