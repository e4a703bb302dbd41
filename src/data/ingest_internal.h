/* src/data/ingest_internal.h: what the ingest (src/data/ingest.c) shares with the profiles
 * (one file each in src/data/profiles/). Private to src/data; not part of the public API.
 *
 * A profile is one function, int ingest_read_<name>(promo_ingest *ing, const char *path),
 * called once per input file. It reads the file with ingest_read_csv (which records the
 * source header, delimiter and the reader's rejects, so later messages can name file, line
 * and column), renames columns onto canonical names with ingest_add_rename, derives what the
 * source lacks as extra items (ingest_new_item, derived = 1), and reports bad rows through
 * ingest_where (an error) or a pending batch (skip_bad_rows). The ingest then runs the
 * duplicate-key check on every item read from a file, and the reference checks at commit.
 * A new profile is listed in PROFILES in ingest.c. */
#ifndef PROMO_INGEST_INTERNAL_H
#define PROMO_INGEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <promo/csv.h>
#include <promo/profile.h>
#include <promo/schema.h>
#include <promo/table.h>

/* One output table and where it came from. */
typedef struct item {
    promo_table *t;         /* owned */
    char *path;             /* source file, NULL for derived tables */
    const promo_schema *sc; /* canonical schema, or NULL */
    char **hdr;             /* source header names (one block), NULL for derived */
    size_t n_hdr;           /* entries in hdr */
    char delim;             /* source delimiter */
    char **our, **their;    /* column renames applied (our <- their), owned strings */
    size_t n_ren;           /* entries in our/their */
    promo_csv_rejects *rej; /* rejects so far (CSV reader's first, sorted by line) */
    size_t n_csv_rej;       /* how many of rej came from the CSV reader */
    uint8_t *drop;          /* drop[r] = 1: row r is rejected; NULL while none is */
    size_t drop_cap;        /* entries allocated in drop */
    int derived;            /* 1: built by the profile or by unknown=ADD */
    int rejects_file;       /* 1: write out/rejects-<table>.csv */
    int no_header;          /* 1: the source has no header record (names from --columns) */
    char *buf;              /* the source as parsed when it is not the file's bytes
                               (whitespace-separated input normalised), owned; else NULL */
    size_t n_buf;           /* bytes of buf */
} item;

/* One --map pair: canonical column `our` is source column `their`. */
typedef struct map_pair {
    char *our, *their;
} map_pair;

struct promo_ingest {
    char *format;             /* profile name */
    promo_ingest_options opt; /* options (string members not kept after read) */
    item *items;              /* output tables */
    size_t n_items, cap_items;
    promo_ingest_stats stats;
    int committed;         /* commit was called */
    const map_pair *map;   /* --map pairs, borrowed during promo_ingest_read only */
    size_t n_map;          /* entries in map */
    const char *cur_table; /* table named by a TABLE=FILE argument, during its read only */
    map_pair *meta;        /* extra run metadata (key, value) written at commit, owned */
    size_t n_meta;
};

/* A profile: its --format name, its reader, and what the ingest does around it. */
enum {
    PROFILE_MAP = 1,      /* takes --map and --table */
    PROFILE_REQUIRED = 2, /* the ingest checks required canonical fields after the read */
};
typedef struct ingest_profile {
    const char *name;                                 /* --format NAME */
    int (*read)(promo_ingest *ing, const char *path); /* read one file into ing's items */
    int (*finish)(promo_ingest *ing);                 /* after every file (joins), or NULL */
    unsigned flags;                                   /* PROFILE_* */
    const char *about;                                /* one line for --help */
} ingest_profile;

/* The profiles (src/data/profiles/). */
int ingest_read_canonical(promo_ingest *ing, const char *path);
int ingest_read_generic(promo_ingest *ing, const char *path);
int ingest_read_online_retail(promo_ingest *ing, const char *path);
int ingest_read_hillstrom(promo_ingest *ing, const char *path);
int ingest_read_lenta(promo_ingest *ing, const char *path);
int ingest_read_criteo(promo_ingest *ing, const char *path);
int ingest_finish_experiment(promo_ingest *ing);
int ingest_read_cdnow(promo_ingest *ing, const char *path);
int ingest_read_taobao(promo_ingest *ing, const char *path);
int ingest_finish_taobao(promo_ingest *ing);
int ingest_read_tmall(promo_ingest *ing, const char *path);
int ingest_finish_tmall(promo_ingest *ing);
int ingest_read_groceries(promo_ingest *ing, const char *path);
int ingest_read_obd(promo_ingest *ing, const char *path);
int ingest_read_instacart(promo_ingest *ing, const char *path);
int ingest_finish_instacart(promo_ingest *ing);
int ingest_read_dunnhumby(promo_ingest *ing, const char *path);
int ingest_finish_dunnhumby(promo_ingest *ing);

/* ---- one source file onto one table (src/data/ingest_source.c) ----
 *
 * The options a user gives `promo ingest` for one file, as the same strings (a profile is a
 * preset of these, so what a profile does can be written as one canonical command). */
typedef struct ingest_src {
    const char *table;     /* target table (canonical, or any name with keep_all) */
    const char *map;       /* "our=their,..." */
    const char *set;       /* "col=value,...": constant columns */
    const char *amount;    /* source column of line amounts: unit_price = amount / quantity */
    const char *ignore;    /* "col,...": source columns not read */
    const char *sep;       /* NULL detect; "," ";" "|" "tab" or "space" (runs of blanks) */
    const char *columns;   /* "a,b,...": names of the fields when no_header */
    const char *ts_format; /* NULL/"auto", "iso", "ymd", "epoch", "epoch-ms", "dmy", "mdy" */
    const char *recode;    /* "col=from:to,...": value recoding of one column */
    const char *orders;    /* "customer-second" / "customer-day": order ids made for a
                              transactions file that has none (promo_ingest_options.orders) */
    const char *keep;      /* "col,...": source columns kept as text under their own names
                              (for the profile's finish, which drops them) */
    int no_header;         /* 1: the first record is data */
    int keep_all;          /* 1: not a canonical table: keep every column, types inferred */
    int quiet;             /* 1: no warning about source columns not stored */
    int append;            /* 1: a table already read gets this file's rows appended (it then
                              has no single source: messages name table and row) */
} ingest_src;

/* Read `path` through src into a new item of ing (table src->table). All missing required
 * columns are reported at once with the --map/--amount/--set that would fix them; source
 * columns left out are listed in a warning. *out (may be NULL) is the new item (valid until
 * the next ingest_new_item). */
int ingest_read_source(promo_ingest *ing, const char *path, const ingest_src *src, item **out);
/* Split "a=b,c=d" (sep '=') into pairs; `opt` names the option in messages. */
int ingest_parse_pairs(const char *s, char sep, const char *opt, map_pair **out, size_t *n);
void ingest_free_pairs(map_pair *m, size_t n);
/* Record a metadata pair written at commit ("experiment.outcomes" ...). */
int ingest_add_meta(promo_ingest *ing, const char *key, const char *value);
/* Append the rows of `src` to `dst` (same column names and types; extra columns of dst
 * get nulls). */
int ingest_append_rows(promo_table *dst, const promo_table *src);
/* A STRING column of n copies of s. */
int ingest_const_string(promo_table *t, const char *name, const char *s, size_t n);
/* The base name of a path without directory and extension (malloc'd). */
char *ingest_base_name(const char *path);
/* File bytes (mapped: promo_infile_map) for the readers that walk records themselves.
 * ingest_unmap_file returns PROMO_EINPUT when the file shrank meanwhile (what was made of its
 * bytes is then wrong). */
int ingest_map_file(const char *path, const char **p, size_t *n);
int ingest_unmap_file(const char *p, size_t n);
/* promo_csv_read_buffer of the mapped bytes p[0..n) (ingest_map_file), which are then given
 * back: a file that changed while it was read outranks what the parse made of it (*t and *rej
 * dropped, the change's PROMO_EINPUT returned). */
int ingest_parse_mapped(const char *p,
                        size_t n,
                        const char *path,
                        const promo_csv_options *o,
                        promo_table **t,
                        promo_csv_rejects **rej);

/* ---- items ---- */

/* A new empty item at the end of ing->items (zeroed). The array may move: pointers to other
 * items become invalid (find them again with ingest_find_item). NULL on ENOMEM. */
item *ingest_new_item(promo_ingest *ing);
/* A table a profile built, as a new item of canonical table `table` (derived: see item).
 * Takes t: on failure, or when rc (the builder's status so far) is not PROMO_OK, t is freed and
 * that status returned, so a builder's every exit is one call. */
int ingest_add_table(promo_ingest *ing, int rc, promo_table *t, const char *table, int derived);
/* Free item i and close the gap. */
void ingest_remove_item(promo_ingest *ing, size_t i);
/* The item of table `table`, or NULL. */
item *ingest_find_item(promo_ingest *ing, const char *table);
/* Record that canonical column `our` came from source column `their` (for messages). */
int ingest_add_rename(item *it, const char *our, const char *their);

/* Row r of it was rejected (by a check or a policy). */
static inline int ingest_is_dropped(const item *it, size_t r)
{
    return it->drop && r < it->drop_cap && it->drop[r];
}

/* ---- sources ---- */

/* Read `path` into it->t with an explicit column plan (the CSV reader, typed while parsing;
 * skip_bad_rows and threads from ing's options), recording path, header, delimiter and the
 * reader's rejects in it, and counting rows in ing->stats. */
int ingest_read_csv(promo_ingest *ing,
                    item *it,
                    const char *path,
                    const promo_csv_column *cols,
                    size_t n_cols,
                    promo_date_order order);
/* The header names of `path` (unquoted, trimmed), one allocation freed with promo_free;
 * *names NULL and *n 0 for an empty file. */
int ingest_source_header(const char *path, char ***names /* OUT */, size_t *n /* OUT */);
/* Add `line` to transactions that lack it: 1, 2, ... per order_col in file order. */
int ingest_number_lines(item *it, const char *order_col);

/* ---- bad rows ---- */

/* "FILE:LINE:COL: " for row `row`, canonical column `our` (may be NULL) of it, into buf;
 * "table T, row R: " for a derived item. */
int ingest_where(const item *it, size_t row, const char *our, char *buf, size_t n);

/* A batch of rows to reject with their reasons, located in one pass over the source. */
typedef struct pending {
    size_t *rows;      /* table rows, ascending */
    char **reasons;    /* owned */
    const char **cols; /* canonical column each reason refers to (borrowed), or NULL */
    size_t n, cap;
} pending;

int ingest_pending_add(pending *pd, size_t row, const char *col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Turn a batch into rejects of it (with lines and raw text) and mark the rows dropped. */
int ingest_pending_flush(item *it, pending *pd, promo_ingest_stats *st);
void ingest_pending_free(pending *pd);

/* Required canonical fields must not be null: an error at the first, or (skip_bad_rows)
 * rejects. */
int ingest_check_required(promo_ingest *ing, item *it);

#endif
