/* Profiles `canonical` and `generic` (include/promo/profile.h): one CSV per table, the table
 * named by the file (or --table), columns by canonical name after --map renames. generic
 * also takes a non-canonical table, all of its columns with inferred types. */
#include <string.h>

#include <promo/alloc.h>
#include <promo/csv.h>
#include <promo/error.h>
#include <promo/schema.h>

#include "data/ingest_internal.h"

static const char *map_their(const map_pair *m, size_t n, const char *our)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].our, our) == 0)
            return m[i].their;
    return our;
}

/* Table name from a path: base name up to the first '.'. */
static char *table_from_path(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t len = strcspn(b, ".");
    return promo_strndup(b, len);
}

static int read_canonical(promo_ingest *ing, const char *path, int generic)
{
    const map_pair *map = ing->map;
    size_t n_map = ing->n_map;
    char *tname = ing->opt.table ? promo_strdup(ing->opt.table) : table_from_path(path);
    if (!tname)
        return PROMO_ENOMEM;
    const promo_schema *sc = promo_schema_find(tname);
    int rc = PROMO_OK;
    if (!sc && !generic) {
        rc = promo_fail(PROMO_EUSAGE,
                        "%s: cannot tell which table this is: name the file after a canonical "
                        "table (customers, products, stores, promotions, transactions, "
                        "exposures, responses, events) or pass --table NAME",
                        path);
    } else if (!*tname || !strncmp(tname, "promo_", 6) || !strncmp(tname, "sqlite_", 7)) {
        rc = promo_fail(PROMO_EUSAGE, "%s: '%s' is not a usable table name", path, tname);
    } else if (ingest_find_item(ing, tname)) {
        rc =
            promo_fail(PROMO_EUSAGE, "%s: a second file for table '%s' in one ingest", path, tname);
    }
    if (rc) {
        promo_free(tname);
        return rc;
    }
    item *it = ingest_new_item(ing);
    promo_csv_column *cols = NULL;
    if (!it) {
        promo_free(tname);
        return PROMO_ENOMEM;
    }
    it->sc = sc;
    size_t n_cols = sc ? sc->n_fields : 0;
    if (sc) {
        cols = promo_calloc(n_cols, sizeof *cols);
        if (!cols) {
            promo_free(tname);
            return PROMO_ENOMEM;
        }
        for (size_t f = 0; f < n_cols; f++) {
            const promo_field *fd = &sc->fields[f];
            cols[f].name = map_their(map, n_map, fd->name);
            cols[f].type = fd->type;
            /* transactions may come without line numbers: we number them */
            cols[f].required =
                fd->required && !(!strcmp(sc->name, "transactions") && !strcmp(fd->name, "line"));
        }
    }
    rc = ingest_read_csv(ing, it, path, cols, n_cols, PROMO_DATE_ISO);
    promo_free(cols);
    if (!rc)
        rc = promo_table_set_name(it->t, tname);
    for (size_t i = 0; i < n_map && !rc; i++)
        if (promo_table_column(it->t, map[i].their) &&
            !(rc = promo_table_rename_column(it->t, map[i].their, map[i].our)))
            rc = ingest_add_rename(it, map[i].our, map[i].their);
    if (!rc && sc && !strcmp(sc->name, "transactions") && !promo_table_column(it->t, "line"))
        rc = ingest_number_lines(it, "order_id");
    promo_free(tname);
    return rc;
}

int ingest_read_canonical(promo_ingest *ing, const char *path)
{
    return read_canonical(ing, path, 0);
}

int ingest_read_generic(promo_ingest *ing, const char *path)
{
    return read_canonical(ing, path, 1);
}
