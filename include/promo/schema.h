/* promo/schema.h: the canonical tables of DESIGN.md, as data.
 *
 * The CSV reader uses it to type and check columns, the store to create SQL tables with keys
 * and indexes, the generator and the profiles to produce conforming tables.
 */
#ifndef PROMO_SCHEMA_H
#define PROMO_SCHEMA_H

#include <stddef.h>

#include <promo/table.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a canonical table or the stored layout changes shape; recorded in promo.db.
 * 2: tables as rows; 3: the large tables as column chunks; 4: float64 chunks whose values are
 * all floats stored as 4-byte floats (chunk.c's F_F32), which a version-3 promo would take for
 * damage. A version-3 workspace is read as it is and marked 4 by its first writer (its chunks
 * are version-4 chunks); a version-2 one is migrated to chunks. */
#define PROMO_SCHEMA_VERSION 4

typedef struct promo_field {
    const char *name;    /* column name */
    promo_col_type type; /* its type */
    int required;        /* 1: must be present in input and never null */
    int key;             /* 1: part of the primary key */
    const char *ref;     /* foreign key "table.column" or NULL */
} promo_field;

typedef struct promo_schema {
    const char *name;          /* table name */
    const promo_field *fields; /* n_fields entries */
    size_t n_fields;
} promo_schema;

/* The canonical schemas, in load order (referenced tables first). */
const promo_schema *promo_schema_all(size_t *n /* OUT */);
/* Schema by table name, or NULL. */
const promo_schema *promo_schema_find(const char *table);
/* Field by name, or NULL. */
const promo_field *promo_schema_field(const promo_schema *s, const char *column);
/* A new empty table with the schema's columns. */
promo_table *promo_schema_new_table(const promo_schema *s);

#ifdef __cplusplus
}
#endif
#endif
