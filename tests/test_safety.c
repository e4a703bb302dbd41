/* Safety tests (issue 18): every writing command one unit under the workspace lock, outputs
 * that never replace what is not a regular file, inputs and model files that cannot hang or
 * crash promo, values validated at the store boundary, stale leftovers of killed commands
 * removed. Each test runs the CLI as a separate process (t_promo), so locks and kills are
 * real. Random kills and concurrent writers at scale are bench/soak.sh. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <promo/alloc.h>
#include <promo/error.h>
#include <promo/infile.h>
#include <promo/outfile.h>
#include <promo/schema.h>
#include <promo/store.h>
#include <promo/table.h>

#include "t.h"
#include "t_world.h"

/* A small world with a trained propensity model, copied fresh for each test. */
static char g_trained[600];

static const char *trained_world(void)
{
    if (!g_trained[0]) {
        char ws[512];
        t_world_write(ws, sizeof ws, 200, 25, 4, 6, 6000);
        char args[700];
        snprintf(args, sizeof args, "train --ws %s --rounds 20 --no-baselines", ws);
        char *err = NULL;
        int rc = t_promo(args, NULL, &err);
        T_ASSERT_MSG(rc == 0, "train: %d: %s", rc, err ? err : "");
        free(err);
        snprintf(g_trained, sizeof g_trained, "%s", ws);
    }
    return g_trained;
}

/* A copy of the trained world in a new directory; its path is returned (static buffer). */
static const char *copy_world(void)
{
    static char ws[700];
    const char *src = trained_world();
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "cp -a %s %s", src, ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    return ws;
}

static int run(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **err, const char *fmt, ...)
{
    char args[2000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return t_promo(args, NULL, err);
}

/* A child process that holds the workspace lock (exclusive or shared) for `secs` seconds. */
static pid_t hold_lock(const char *ws, int exclusive, double secs)
{
    char path[700];
    snprintf(path, sizeof path, "%s/.lock", ws);
    int ready[2];
    T_ASSERT_EQ_INT(pipe(ready), 0);
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_RDWR | O_CREAT, 0644);
        if (fd < 0 || flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0)
            _exit(3);
        if (write(ready[1], "x", 1) != 1)
            _exit(4);
        usleep((useconds_t)(secs * 1e6));
        _exit(0);
    }
    close(ready[1]);
    char c;
    T_ASSERT_EQ_INT((int)read(ready[0], &c, 1), 1);
    close(ready[0]);
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

T_TEST(safety_lock_no_wait_refuses_and_changes_nothing)
{
    const char *ws = copy_world();
    char *before = t_dir_digest(ws), *err = NULL;
    pid_t holder = hold_lock(ws, 1, 60);
    int rc = run(&err, "--no-wait train --ws %s --rounds 5 --no-baselines", ws);
    T_ASSERT_EQ_INT(rc, 1);
    T_ASSERT_CONTAINS(err, "is in use by another promo command");
    free(err);
    /* A reader is refused too while a writer holds it. */
    rc = run(&err, "--no-wait score --ws %s --target any", ws);
    T_ASSERT_EQ_INT(rc, 1);
    T_ASSERT_CONTAINS(err, "is in use by another promo command");
    free(err);
    reap(holder);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);
}

T_TEST(safety_lock_second_writer_waits_with_a_message)
{
    const char *ws = copy_world();
    pid_t holder = hold_lock(ws, 1, 1.0);
    char *err = NULL;
    char out_csv[700];
    snprintf(out_csv, sizeof out_csv, "%s/f.csv", t_tmpdir());
    int rc = run(&err, "features --ws %s --as-of 2024-01-01 --out %s", ws, out_csv);
    T_ASSERT_MSG(rc == 0, "features: %d: %s", rc, err);
    T_ASSERT_CONTAINS(err, "waiting for it to finish");
    free(err);
    waitpid(holder, NULL, 0);
}

T_TEST(safety_lock_readers_share_writers_exclude)
{
    const char *ws = copy_world();
    pid_t reader = hold_lock(ws, 0, 60);
    char *err = NULL;
    /* Another reader runs beside a reader... */
    int rc = run(&err, "--no-wait score --ws %s --target any", ws);
    T_ASSERT_MSG(rc == 0, "score beside a reader: %d: %s", rc, err);
    free(err);
    /* ...a writer does not. */
    rc = run(&err, "--no-wait features --ws %s --as-of 2024-01-01", ws);
    T_ASSERT_EQ_INT(rc, 1);
    T_ASSERT_CONTAINS(err, "is in use by another promo command");
    free(err);
    reap(reader);
}

T_TEST(safety_sqlite_busy_is_a_readable_message)
{
    const char *ws = copy_world();
    char db_path[800];
    snprintf(db_path, sizeof db_path, "%s/promo.db", ws);
    sqlite3 *db = NULL;
    T_ASSERT_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
    T_ASSERT_EQ_INT(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    char *err = NULL;
    int rc = run(&err, "features --ws %s --as-of 2024-01-01", ws);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    T_ASSERT_EQ_INT(rc, 1);
    T_ASSERT_CONTAINS(err, "is in use by another process");
    T_ASSERT_MSG(!strstr(err, "PRAGMA"), "raw SQL in the message: %s", err);
    free(err);
}

/* Replace one canonical table through the store: the data version changes. */
static void replace_stores(const char *ws)
{
    promo_store *s = NULL;
    promo_table *t = NULL;
    T_OK(promo_store_open(ws, 0, &s));
    T_OK(promo_store_read_table(s, "stores", &t));
    T_OK(promo_store_write_table(s, t));
    promo_table_free(t);
    promo_store_close(s);
}

T_TEST(safety_model_trained_on_replaced_data_is_refused)
{
    const char *ws = copy_world();
    char *err = NULL;
    T_ASSERT_EQ_INT(run(&err, "score --ws %s --target any", ws), 0);
    free(err);
    replace_stores(ws);
    int rc = run(&err, "score --ws %s --target any", ws);
    T_ASSERT_EQ_INT(rc, 2);
    T_ASSERT_CONTAINS(err, "data that has since been replaced");
    free(err);
    rc = run(&err, "campaign --ws %s --product best", ws);
    T_ASSERT_EQ_INT(rc, 2);
    free(err);
    /* Trained again on the current data: accepted. */
    T_ASSERT_EQ_INT(run(NULL, "train --ws %s --rounds 5 --no-baselines", ws), 0);
    T_ASSERT_EQ_INT(run(&err, "score --ws %s --target any", ws), 0);
    free(err);
}

T_TEST(safety_generate_force_removes_models_in_its_unit)
{
    const char *ws = copy_world();
    char models[800], *err = NULL;
    snprintf(models, sizeof models, "%s/models", ws);
    /* Killed after the SQL commit, before the removals: the removals were committed with the
     * tables, and the next open makes them (the new data, no model: exactly the new state). */
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "PROMO_KILL_AT=publish %s generate --ws %s --force --customers 150 --products 20 "
             "--transactions 3000 --months 8 --no-events",
             t_promo_bin(), ws);
    int rc = t_sh(cmd, NULL, &err);
    free(err);
    T_ASSERT_EQ_INT(rc, 128 + SIGKILL);
    char *list = NULL;
    snprintf(cmd, sizeof cmd, "ls %s", models);
    t_sh(cmd, &list, NULL);
    T_ASSERT_MSG(list && *list, "the kill left no model to remove: the test proves nothing");
    free(list);
    T_ASSERT_EQ_INT(run(NULL, "info --ws %s", ws), 0);
    t_sh(cmd, &list, NULL);
    T_ASSERT_STR_EQ(list, "");
    free(list);
    rc = run(&err, "score --ws %s --target any", ws);
    T_ASSERT_EQ_INT(rc, 2);
    T_ASSERT_MSG(!strstr(err, "replaced"), "old model still used: %s", err);
    free(err);
    /* A model trained on the new data after that survives the next opens (the recorded
     * removals are of files made from replaced data only). */
    T_ASSERT_EQ_INT(run(NULL, "train --ws %s --rounds 5 --no-baselines", ws), 0);
    T_ASSERT_EQ_INT(run(NULL, "info --ws %s", ws), 0);
    T_ASSERT_EQ_INT(run(&err, "score --ws %s --target any", ws), 0);
    free(err);
    /* Not killed: the models go with the old data, in the same command. */
    T_ASSERT_EQ_INT(run(NULL, "train --ws %s --rounds 5 --no-baselines", ws), 0);
    rc = run(&err,
             "generate --ws %s --force --customers 150 --products 20 --transactions 3000 "
             "--months 8 --no-events",
             ws);
    T_ASSERT_MSG(rc == 0, "generate --force: %d: %s", rc, err);
    free(err);
    t_sh(cmd, &list, NULL);
    T_ASSERT_STR_EQ(list, "");
    free(list);
    rc = run(&err, "score --ws %s --target any", ws);
    T_ASSERT_EQ_INT(rc, 2); /* no model: not found */
    free(err);
}

T_TEST(safety_kill_at_publish_train_rolls_forward)
{
    const char *ws = copy_world();
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "PROMO_KILL_AT=publish:1 %s train --ws %s --rounds 7 --no-baselines 2>/dev/null",
             t_promo_bin(), ws);
    char *err = NULL;
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, &err), 128 + SIGKILL);
    free(err);
    /* The next command finishes the commit: no temporary left, the model matches the data. */
    T_ASSERT_EQ_INT(run(&err, "info --ws %s", ws), 0);
    free(err);
    char d[800];
    snprintf(d, sizeof d, "%s/models", ws);
    T_ASSERT_EQ_INT(t_count_temps(d), 0);
    snprintf(d, sizeof d, "%s/out", ws);
    T_ASSERT_EQ_INT(t_count_temps(d), 0);
    T_ASSERT_EQ_INT(run(&err, "score --ws %s --target any", ws), 0);
    free(err);
}

T_TEST(safety_stale_leftovers_of_dead_processes_are_removed)
{
    const char *ws = copy_world();
    /* A pid that is surely dead: a child we reaped. */
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char stage[800], tmp_dead[800], tmp_live[800], cmd[4000];
    char *parent = strdup(ws);
    *strrchr(parent, '/') = 0;
    snprintf(stage, sizeof stage, "%s/.ws.tmp-%ld", parent, (long)dead);
    snprintf(tmp_dead, sizeof tmp_dead, "%s/models/.x.json.tmp-%ld-7", ws, (long)dead);
    snprintf(tmp_live, sizeof tmp_live, "%s/models/.x.json.tmp-%ld-7", ws, (long)getpid());
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/models && echo x > %s/models/m && echo t > %s && echo l > %s", stage,
             stage, tmp_dead, tmp_live);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    T_ASSERT_EQ_INT(run(NULL, "features --ws %s --as-of 2024-01-01", ws), 0);
    struct stat st;
    T_ASSERT_MSG(stat(stage, &st) != 0, "%s is still there", stage);
    T_ASSERT_MSG(stat(tmp_dead, &st) != 0, "%s is still there", tmp_dead);
    T_ASSERT_MSG(stat(tmp_live, &st) == 0, "a live process's %s was removed", tmp_live);
    unlink(tmp_live);
    free(parent);
}

T_TEST(safety_out_never_replaces_what_is_not_a_regular_file)
{
    const char *ws = copy_world();
    const char *dir = t_tmpdir();
    char target[700], link[700], fifo[700], got[700], cmd[4000], *err = NULL;
    /* A symlink is followed: the target gets the scores, the link stays a link. */
    snprintf(target, sizeof target, "%s/target.csv", dir);
    snprintf(link, sizeof link, "%s/link.csv", dir);
    t_write_file(target, "old\n", 4);
    T_ASSERT_EQ_INT(symlink(target, link), 0);
    T_ASSERT_EQ_INT(run(&err, "score --ws %s --target any --out %s", ws, link), 0);
    free(err);
    struct stat st;
    T_ASSERT(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    char *body = t_read_file(target, NULL);
    T_ASSERT(body && !strncmp(body, "customer_id,probability\n", 24));
    free(body);
    /* A FIFO is written in place, not replaced by a regular file. */
    snprintf(fifo, sizeof fifo, "%s/out.fifo", dir);
    snprintf(got, sizeof got, "%s/got.csv", dir);
    T_ASSERT_EQ_INT(mkfifo(fifo, 0644), 0);
    snprintf(cmd, sizeof cmd,
             "cat %s > %s & %s score --ws %s --target any --out %s; rc=$?; wait; exit $rc", fifo,
             got, t_promo_bin(), ws, fifo);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    T_ASSERT(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    body = t_read_file(got, NULL);
    T_ASSERT(body && !strncmp(body, "customer_id,probability\n", 24));
    free(body);
    /* A full device: an error, and the device is still a device. */
    int rc = run(&err, "score --ws %s --target any --out /dev/full", ws);
    T_ASSERT_EQ_INT(rc, 1);
    T_ASSERT_CONTAINS(err, "No space left on device");
    free(err);
    T_ASSERT(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode));
    /* A directory, a missing directory, a dangling link: the user's to fix. */
    T_ASSERT_EQ_INT(run(NULL, "score --ws %s --target any --out %s", ws, dir), 2);
    T_ASSERT_EQ_INT(run(NULL, "score --ws %s --target any --out %s/no/x.csv", ws, dir), 2);
    snprintf(link, sizeof link, "%s/dangling.csv", dir);
    T_ASSERT_EQ_INT(symlink("/nonexistent/promo/x.csv", link), 0);
    T_ASSERT_EQ_INT(run(NULL, "score --ws %s --target any --out %s", ws, link), 2);
}

T_TEST(safety_out_disk_full_keeps_the_old_file)
{
    const char *ws = copy_world();
    char path[700], cmd[2000], *err = NULL;
    snprintf(path, sizeof path, "%s/scores.csv", t_tmpdir());
    t_write_file(path, "old\n", 4);
    /* RLIMIT_FSIZE 1 KiB: the write fails (SIGXFSZ is ignored, so it is an error we report). */
    snprintf(cmd, sizeof cmd, "ulimit -f 1; %s score --ws %s --target any --out %s", t_promo_bin(),
             ws, path);
    int rc = t_sh(cmd, NULL, &err);
    T_ASSERT_EQ_INT(rc, 1);
    T_ASSERT_CONTAINS(err, "File too large");
    free(err);
    char *body = t_read_file(path, NULL);
    T_ASSERT_STR_EQ(body, "old\n");
    free(body);
    T_ASSERT_EQ_INT(t_count_temps(t_tmpdir()), 0);
}

T_TEST(safety_features_out_to_a_missing_directory_changes_nothing)
{
    const char *ws = copy_world();
    char *before = t_dir_digest(ws), *err = NULL;
    int rc =
        run(&err, "features --ws %s --as-of 2024-01-01 --out %s/no/such/f.csv", ws, t_tmpdir());
    T_ASSERT_EQ_INT(rc, 2);
    free(err);
    char *after = t_dir_digest(ws);
    T_ASSERT_STR_EQ(before, after);
    free(before);
    free(after);
}

T_TEST(safety_hostile_inputs_fail_fast_with_exit_2)
{
    const char *ws = copy_world();
    const char *dir = t_tmpdir();
    char fifo[700], loop1[700], loop2[700], model[800], cmd[2000], *err = NULL;
    /* A FIFO with no writer as ingest input: refused at once (timeout would say 124). */
    snprintf(fifo, sizeof fifo, "%s/in.csv", dir);
    T_ASSERT_EQ_INT(mkfifo(fifo, 0644), 0);
    snprintf(cmd, sizeof cmd,
             "timeout 60 %s ingest --ws %s/new --format canonical --table stores %s", t_promo_bin(),
             dir, fifo);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "FIFO");
    free(err);
    /* A symlink loop and a directory as input. */
    snprintf(loop1, sizeof loop1, "%s/loop1.csv", dir);
    snprintf(loop2, sizeof loop2, "%s/loop2.csv", dir);
    T_ASSERT_EQ_INT(symlink(loop2, loop1), 0);
    T_ASSERT_EQ_INT(symlink(loop1, loop2), 0);
    T_ASSERT_EQ_INT(
        run(NULL, "ingest --ws %s/new --format canonical --table stores %s", dir, loop1), 2);
    T_ASSERT_EQ_INT(run(NULL, "ingest --ws %s/new --format canonical --table stores %s", dir, dir),
                    2);
    /* A model file that is /dev/zero, then a FIFO: refused, no hang. */
    snprintf(model, sizeof model, "%s/models/propensity_any.json", ws);
    T_ASSERT_EQ_INT(unlink(model), 0);
    T_ASSERT_EQ_INT(symlink("/dev/zero", model), 0);
    snprintf(cmd, sizeof cmd, "timeout 60 %s score --ws %s --target any", t_promo_bin(), ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "character device");
    free(err);
    T_ASSERT_EQ_INT(unlink(model), 0);
    T_ASSERT_EQ_INT(mkfifo(model, 0644), 0);
    snprintf(cmd, sizeof cmd, "timeout 60 %s explain --ws %s --target any --customer CUST0000001",
             t_promo_bin(), ws);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, &err), 2);
    T_ASSERT_CONTAINS(err, "FIFO");
    free(err);
}

T_TEST(safety_infile_reads_streams_on_purpose_and_refuses_devices)
{
    char *data = NULL;
    size_t n = 0;
    T_ASSERT_EQ_INT(promo_infile_read("/dev/zero", PROMO_INFILE_STREAM, &data, &n), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "character device");
    char fifo[700];
    snprintf(fifo, sizeof fifo, "%s/s.fifo", t_tmpdir());
    T_ASSERT_EQ_INT(mkfifo(fifo, 0644), 0);
    /* Without the stream flag a FIFO is refused; with it, a FIFO that has a writer is read. */
    T_ASSERT_EQ_INT(promo_infile_read(fifo, 0, &data, &n), PROMO_EINPUT);
    pid_t w = fork();
    if (w == 0) {
        int fd = open(fifo, O_WRONLY);
        _exit(fd >= 0 && write(fd, "a,b\n1,2\n", 8) == 8 ? 0 : 1);
    }
    usleep(100000);
    T_OK(promo_infile_read(fifo, PROMO_INFILE_STREAM, &data, &n));
    T_ASSERT_EQ_INT((int)n, 8);
    promo_free(data);
    waitpid(w, NULL, 0);
}

T_TEST(safety_mapped_input_that_shrinks_reads_zeros_and_is_reported)
{
    /* A file mapped by promo_infile_map and truncated under the mapping: touching its lost
     * pages reads zeros (the SIGBUS guard), and unmapping reports the change. An untouched
     * file unmaps clean; an empty one maps to "". */
    char path[700];
    snprintf(path, sizeof path, "%s/shrinks.csv", t_tmpdir());
    FILE *f = fopen(path, "w");
    T_ASSERT(f);
    for (int i = 0; i < 5000; i++)
        fputs("abcdefghi\n", f);
    fclose(f);
    const char *data = NULL;
    size_t n = 0;
    T_OK(promo_infile_map(path, 0, &data, &n));
    T_ASSERT_EQ_INT((int)n, 50000);
    T_ASSERT_EQ_INT(data[40000], 'a');
    T_OK(promo_infile_unmap(data, n));

    T_OK(promo_infile_map(path, 0, &data, &n));
    T_ASSERT_EQ_INT(truncate(path, 100), 0);
    volatile char lost = data[40000];
    T_ASSERT_EQ_INT(lost, 0);
    T_ASSERT_EQ_INT(data[10], 'a'); /* the page still in the file is intact */
    T_ASSERT_EQ_INT(promo_infile_unmap(data, n), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "changed while it was read (100 of 50000 bytes)");

    T_ASSERT_EQ_INT(truncate(path, 0), 0);
    T_OK(promo_infile_map(path, 0, &data, &n));
    T_ASSERT_EQ_INT((int)n, 0);
    T_OK(promo_infile_unmap(data, n));
}

T_TEST(safety_shrinking_input_is_an_error_not_sigbus)
{
    /* ingest reads a 40 MB file while it is truncated under it: whatever the timing, exit 0
     * (read before the truncation), 2 (a clear error), never a signal. */
    const char *dir = t_tmpdir();
    char path[700], cmd[2000];
    snprintf(path, sizeof path, "%s/transactions.csv", dir);
    FILE *f = fopen(path, "w");
    T_ASSERT(f);
    fprintf(f, "order_id,line,customer_id,product_id,store_id,ts,quantity,unit_price\n");
    for (int i = 0; i < 600000; i++)
        fprintf(f, "O%d,1,C%d,P%d,S1,2024-01-%02dT10:00:00,1,%d.5\n", i, i % 997, i % 89,
                1 + i % 28, i % 50);
    fclose(f);
    for (int k = 0; k < 3; k++) {
        snprintf(cmd, sizeof cmd,
                 "%s ingest --ws %s/ws%d --format canonical %s >/dev/null 2>&1 & p=$!; "
                 "sleep 0.0%d; truncate -s 1000000 %s; wait $p",
                 t_promo_bin(), dir, k, path, 2 + 3 * k, path);
        int rc = t_sh(cmd, NULL, NULL);
        T_ASSERT_MSG(rc == 0 || rc == 2, "run %d: exit %d (a signal?)", k, rc);
    }
}

T_TEST(safety_store_validates_values_and_names_the_row)
{
    promo_store *s = NULL;
    char ws[700];
    snprintf(ws, sizeof ws, "%s/ws", t_tmpdir());
    T_OK(promo_store_open(ws, 1, &s));
    promo_table *t = promo_schema_new_table(promo_schema_find("products"));
    T_ASSERT(t);
    promo_column *id = (promo_column *)promo_table_column(t, "product_id");
    promo_column *price = (promo_column *)promo_table_column(t, "price");
    for (size_t j = 0; j < t->n_cols; j++)
        if (t->cols[j] != id && t->cols[j] != price)
            for (int r = 0; r < 2; r++)
                T_OK(promo_column_push_null(t->cols[j]));
    T_OK(promo_column_push_str(id, "P1", 2));
    T_OK(promo_column_push_str(id, "P2", 2));
    T_OK(promo_column_push_f64(price, 9.5));
    T_OK(promo_column_push_f64(price, 1e308));
    T_OK(promo_table_seal(t));
    T_ASSERT_EQ_INT(promo_store_write_table(s, t), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "row 2 (product_id='P2')");
    T_ASSERT_CONTAINS(promo_last_error(), "'price'");
    promo_table_free(t);
    /* A timestamp at INT64_MIN: refused when written... */
    promo_table *e = promo_table_new("events_extra");
    promo_column *ts = NULL;
    T_OK(promo_table_add_column(e, "ts", PROMO_COL_TIMESTAMP, &ts));
    T_OK(promo_column_push_i64(ts, INT64_MIN));
    T_OK(promo_table_seal(e));
    T_ASSERT_EQ_INT(promo_store_write_table(s, e), PROMO_EINPUT);
    T_ASSERT_CONTAINS(promo_last_error(), "outside 1900-01-01");
    promo_table_free(e);
    promo_store_close(s);
}

/* Put `value` into row `row` (0-based) of the transactions' ts as stored, by other means than
 * promo: in the row layout an UPDATE of the data table; in the chunked layout (store.h) the
 * chunk's ts blob rewritten with plain SQLite calls (header 'C', type, width, flags, u32 n,
 * i64 base, [null bitmap], values; rewritten as width 8, base 0). */
static void poke_ts(const char *ws, int row, const char *value)
{
    sqlite3 *db = NULL;
    char p[800], sql[300];
    snprintf(p, sizeof p, "%s/promo.db", ws);
    T_ASSERT_EQ_INT(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    int chunked = sqlite3_prepare_v2(db,
                                     "SELECT c.id, c.data FROM promo_chunks__transactions c, "
                                     "promo_columns p WHERE p.table_name='transactions' AND "
                                     "p.column_name='ts' AND c.col=p.position AND c.chunk=0",
                                     -1, &st, NULL) == SQLITE_OK;
    if (!chunked) {
        snprintf(sql, sizeof sql, "UPDATE promo_data__transactions SET ts=%s WHERE rowid=%d", value,
                 row + 1);
        T_ASSERT_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        return;
    }
    T_ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    sqlite3_int64 id = sqlite3_column_int64(st, 0);
    const unsigned char *b = sqlite3_column_blob(st, 1);
    size_t len = (size_t)sqlite3_column_bytes(st, 1);
    T_ASSERT(len >= 16 && b[0] == 'C');
    uint32_t n;
    int64_t base;
    memcpy(&n, b + 4, 4);
    memcpy(&base, b + 8, 8);
    int width = b[2];
    size_t nb = (b[3] & 1) ? ((size_t)n + 7) / 8 : 0;
    T_ASSERT((size_t)row < n && len == 16 + nb + (size_t)n * (size_t)width);
    size_t out_len = 16 + nb + (size_t)n * 8;
    unsigned char *o = malloc(out_len);
    T_ASSERT(o != NULL);
    memcpy(o, b, 16 + nb);
    o[2] = 8;
    memset(o + 8, 0, 8);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t raw = 0;
        memcpy(&raw, b + 16 + nb + (size_t)i * (size_t)width, (size_t)width);
        uint64_t v = (uint64_t)base + raw;
        if ((int)i == row)
            v = (uint64_t)strtoll(value, NULL, 10);
        memcpy(o + 16 + nb + 8 * (size_t)i, &v, 8);
    }
    sqlite3_finalize(st);
    T_ASSERT_EQ_INT(sqlite3_prepare_v2(db,
                                       "UPDATE promo_chunks__transactions SET data=? WHERE id=?",
                                       -1, &st, NULL),
                    SQLITE_OK);
    sqlite3_bind_blob(st, 1, o, (int)out_len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, id);
    T_ASSERT_EQ_INT(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    free(o);
    sqlite3_close(db);
}

T_TEST(safety_int64_timestamps_in_the_store_fail_fast)
{
    /* ...and when a promo.db changed by other means holds one, every reader refuses it. */
    const char *ws = copy_world();
    char cmd[1200], *err = NULL;
    const char *vals[] = {"-9223372036854775808", "9223372036854775807"};
    for (int k = 0; k < 2; k++) {
        poke_ts(ws, 2, vals[k]);
        snprintf(cmd, sizeof cmd, "timeout 120 %s features --ws %s --as-of 2024-01-01",
                 t_promo_bin(), ws);
        T_ASSERT_EQ_INT(t_sh(cmd, NULL, &err), 2);
        T_ASSERT_CONTAINS(err, "row 3");
        free(err);
        snprintf(cmd, sizeof cmd, "timeout 120 %s score --ws %s --target any", t_promo_bin(), ws);
        T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 2);
    }
}

T_TEST(safety_outfile_api_checks_every_write)
{
    promo_outfile *o = NULL;
    T_OK(promo_outfile_open("/dev/full", &o));
    for (int i = 0; i < 10000; i++)
        fputs("0123456789", promo_outfile_stream(o));
    T_ASSERT_EQ_INT(promo_outfile_commit(o), PROMO_EIO);
    T_ASSERT_CONTAINS(promo_last_error(), "No space left on device");
    char path[700];
    snprintf(path, sizeof path, "%s/a.txt", t_tmpdir());
    T_OK(promo_outfile_write(path, "hello", 5));
    T_OK(promo_outfile_open(path, &o));
    fputs("discarded", promo_outfile_stream(o));
    promo_outfile_abort(o);
    char *body = t_read_file(path, NULL);
    T_ASSERT_STR_EQ(body, "hello");
    free(body);
    T_ASSERT_EQ_INT(t_count_temps(t_tmpdir()), 0);
}

/* ---- fuzz corpora replayed (fuzz/fuzz_campaign.c, fuzz/fuzz_map.c; `make fuzz` builds the
 * libFuzzer targets) ---- */

int fuzz_campaign_one(const uint8_t *data, size_t n);
int fuzz_map_one(const uint8_t *data, size_t n);

T_TEST(safety_fuzz_campaign_corpus_replay)
{
    T_ASSERT(t_replay_corpus("fuzz/corpus/campaign", fuzz_campaign_one) >= 5);
}

T_TEST(safety_fuzz_map_corpus_replay)
{
    T_ASSERT(t_replay_corpus("fuzz/corpus/map", fuzz_map_one) >= 8);
}

/* Under an address-space limit OpenBLAS retries a failed work-buffer allocation forever, in
 * every thread that calls it (memguard.h): the features' elasticity fits (one OpenMP thread
 * each) hung `features`, `train` and `score` at 256 MiB, the recommenders' evaluation
 * (sgemm) `train --model als`. Now: "out of memory", exit 1. The
 * release binary, since ASan cannot run under ulimit -v; the timeout only tells a hang. */
T_TEST(safety_out_of_memory_under_ulimit_v_exits_1_not_hangs)
{
    const char *rel = getenv("PROMO_RELEASE_BIN");
    T_ASSERT_MSG(rel && access(rel, X_OK) == 0, "PROMO_RELEASE_BIN (make test sets it) missing");
    const char *ws = copy_world();
    /* features fits the price elasticities (LAPACK per OpenMP thread), train --model als
     * evaluates with sgemm: both need OpenBLAS's buffers and must fail cleanly. score and
     * train no longer fit elasticities (no model reads them): they may work, never hang. */
    const struct {
        const char *args;
        int must_fail;
    } cmds[] = {{"features --ws %s --as-of 2024-01-01", 1},
                {"train --ws %s --model als", 1},
                {"score --ws %s --target any", 0},
                {"train --ws %s --rounds 5 --no-baselines --retrain", 0}};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        char sub[900], cmd[1400], *err = NULL;
        snprintf(sub, sizeof sub, cmds[i].args, ws);
        snprintf(cmd, sizeof cmd, "ulimit -v 262144; timeout 300 %s %s", rel, sub);
        int rc = t_sh(cmd, NULL, &err);
        int oom = rc == 1 && err && strstr(err, "out of memory");
        T_ASSERT_MSG(oom || (!cmds[i].must_fail && rc == 0),
                     "%s under ulimit -v 256 MiB: exit %d (124: hung): %s", sub, rc,
                     err ? err : "");
        free(err);
    }
}

/* Training records its model and chart paths as its command was given them: a workspace
 * trained as `--ws ws` from its parent directory, then evaluated by absolute path from
 * another directory, said its model had CHANGED (the relative path named nothing) and
 * printed charts that did not exist there. */
T_TEST(safety_evaluate_from_another_directory_finds_the_model)
{
    const char *ws = copy_world();
    char parent[700], cmd[6000], bin[PATH_MAX], *out = NULL, *err = NULL;
    T_ASSERT(realpath(t_promo_bin(), bin) != NULL);
    snprintf(parent, sizeof parent, "%s", ws);
    *strrchr(parent, '/') = 0;
    snprintf(cmd, sizeof cmd, "cd %s && %s train --ws ws --rounds 5 --no-baselines --retrain",
             parent, bin);
    T_ASSERT_EQ_INT(t_sh(cmd, NULL, NULL), 0);
    snprintf(cmd, sizeof cmd, "cd / && %s evaluate --ws %s", bin, ws);
    int rc = t_sh(cmd, &out, &err);
    T_ASSERT_MSG(rc == 0, "evaluate: %d: %s", rc, err ? err : "");
    T_ASSERT_MSG(out && !strstr(out, "CHANGED"), "evaluate from /: %s", out ? out : "");
    char chart[900];
    snprintf(chart, sizeof chart, "chart: %s/out/propensity_any_lift.png", ws);
    T_ASSERT_CONTAINS(out, chart);
    free(out);
    free(err);
}
