/* promo_store_stage_parts (store.h), which `promo features` stages the matrix file with
 * (panel.c): the parts written in order with nothing assembled, invisible until the commit,
 * fsynced by the commit before the SQL commit, gone after a rollback or a close without a
 * commit, the later bytes when staged twice, written at once outside a transaction; and a
 * kill between the SQL commit and the rename rolls the file forward at the next open. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <promo/error.h>
#include <promo/store.h>
#include <promo/table.h>

#include "t.h"

/* A committed workspace with one small table and models/m.bin = "old". */
static const char *stage_ws(void)
{
    static char ws[600];
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    promo_store *s = NULL;
    promo_table *t = promo_table_new("things");
    promo_column *c = NULL;
    T_OK(promo_table_add_column(t, "x", PROMO_COL_INT64, &c));
    T_OK(promo_column_push_i64(c, 1));
    T_OK(promo_table_seal(t));
    T_OK(promo_store_open(ws, 1, &s));
    T_OK(promo_store_write_table(s, t));
    promo_store_close(s);
    promo_table_free(t);
    char path[700];
    snprintf(path, sizeof path, "%s/models/m.bin", ws);
    t_write_file(path, "old", 3);
    return ws;
}

static void assert_content(const char *path, const char *want, size_t n)
{
    size_t got_n = 0;
    char *got = t_read_file(path, &got_n);
    T_ASSERT_MSG(got && got_n == n && memcmp(got, want, n) == 0, "%s: %zu bytes '%s', want '%s'",
                 path, got_n, got ? got : "(none)", want);
    free(got);
}

T_TEST(panel_stage_parts_in_order_at_commit_only)
{
    const char *ws = stage_ws();
    char *before = t_dir_digest(ws);
    promo_store *s = NULL;
    char m[700];
    static const char zero[8];
    promo_store_part parts[] = {{"head", 4}, {NULL, 0}, {"-mid-", 5}, {zero, 3}, {"tail", 4}};
    const char want[] = "head-mid-\0\0\0tail";
    for (int close_it = 0; close_it < 2; close_it++) { /* rollback, then close: nothing */
        T_OK(promo_store_open(ws, 0, &s));
        snprintf(m, sizeof m, "%s/m.bin", promo_store_models_dir(s));
        T_OK(promo_store_begin(s));
        T_OK(promo_store_stage_parts(s, m, parts, 5));
        assert_content(m, "old", 3);
        T_ASSERT_EQ_INT(t_count_temps(promo_store_models_dir(s)), 1);
        if (!close_it)
            T_OK(promo_store_rollback(s));
        promo_store_close(s);
        char *after = t_dir_digest(ws);
        T_ASSERT_MSG(!strcmp(after, before), "close_it=%d: workspace changed", close_it);
        free(after);
    }
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_store_begin(s));
    T_OK(promo_store_stage_parts(s, m, parts, 2)); /* staged twice: the later bytes */
    T_OK(promo_store_stage_parts(s, m, parts, 5));
    T_ASSERT_EQ_INT(t_count_temps(promo_store_models_dir(s)), 1);
    T_OK(promo_store_commit(s));
    assert_content(m, want, sizeof want - 1);
    T_ASSERT_EQ_INT(t_count_temps(promo_store_models_dir(s)), 0);
    /* Outside a transaction: written at once. */
    T_OK(promo_store_stage_parts(s, m, parts + 4, 1));
    assert_content(m, "tail", 4);
    T_ASSERT_EQ_INT(t_count_temps(promo_store_models_dir(s)), 0);
    /* A part that cannot be written (a bad address) fails the stage with nothing left. */
    T_OK(promo_store_begin(s));
    promo_store_part bad[] = {{"ok", 2}, {(const void *)(uintptr_t)16, 4096}};
    T_ASSERT_EQ_INT(promo_store_stage_parts(s, m, bad, 2), PROMO_EIO);
    T_ASSERT_EQ_INT(t_count_temps(promo_store_models_dir(s)), 0);
    T_OK(promo_store_rollback(s));
    assert_content(m, "tail", 4);
    promo_store_close(s);
    free(before);
}

T_TEST(panel_stage_parts_killed_after_the_commit_rolls_forward)
{
    const char *ws = stage_ws();
    char m[700];
    snprintf(m, sizeof m, "%s/models/m.bin", ws);
    /* A child stages, commits and is killed before the rename (PROMO_KILL_AT=publish). */
    fflush(NULL);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        setenv("PROMO_KILL_AT", "publish", 1);
        promo_store *s = NULL;
        promo_store_part parts[] = {{"new ", 4}, {"bytes", 5}};
        if (promo_store_open(ws, 0, &s) || promo_store_begin(s) ||
            promo_store_stage_parts(s, m, parts, 2) || promo_store_commit(s))
            _exit(3);
        _exit(4); /* not killed: the kill point was not reached */
    }
    int st = 0;
    T_ASSERT(waitpid(pid, &st, 0) == pid);
    T_ASSERT_MSG(WIFSIGNALED(st), "the child was not killed (status %d)", st);
    assert_content(m, "old", 3); /* not yet in place */
    promo_store *s = NULL;
    T_OK(promo_store_open(ws, 0, &s)); /* rolls the commit forward */
    assert_content(m, "new bytes", 9);
    T_ASSERT_EQ_INT(t_count_temps(promo_store_models_dir(s)), 0);
    promo_store_close(s);
}
