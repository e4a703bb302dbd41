/* tests/t_world.h: workspaces of the model tests: the small generated world that the panel,
 * propensity and scorer tests read, the table an old workspace held, and a digest of a
 * table's values. */
#ifndef T_WORLD_H
#define T_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include <promo/store.h>
#include <promo/table.h>

/* Generate a world (synth.h defaults: seed, start date) of 3 stores and 8 months without
 * events, with the given counts, and write it into a new workspace <t_tmpdir()>/ws; its path
 * goes into ws (n bytes), which is returned. Sets the log level to errors (the generator and
 * the trainings are chatty). Fails the test on any error. */
const char *t_world_write(char *ws,
                          size_t n,
                          uint32_t customers,
                          uint32_t products,
                          uint32_t categories,
                          uint32_t promotions,
                          uint64_t transactions);

/* Write into s the table a workspace evaluated before the generic `evaluations` table held:
 * `propensity_eval`, one row (auc 0.5). */
void t_world_write_old_eval(promo_store *s);

/* Digest of a table's values (strings by content, nulls apart), to compare two copies. */
uint64_t t_table_digest(const promo_table *t);

/* The first column of the first row of an SQL query on the workspace's database, or -1 (with
 * the query and SQLite's message on stderr). */
long long t_sql_int(promo_store *s, const char *sql);

#endif
