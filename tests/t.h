/* tests/t.h: promo's in-house test runner (STYLE.md 3.7).
 *
 * One process, so AddressSanitizer/LeakSanitizer and valgrind turn a leak into a failed run.
 * Tests register themselves (a constructor per test), so each tests/test_*.c stands alone:
 *
 *   #include "t.h"
 *   T_TEST(dict_roundtrip) {
 *       promo_dict *d = promo_dict_new();
 *       T_ASSERT(d != NULL);
 *       T_ASSERT_EQ_INT(promo_dict_intern(d, "a", 1), 0);
 *       promo_dict_free(d);
 *   }
 *
 * A failed assertion prints both values with file:line and ends that test (longjmp), so
 * resources a failing test allocated may leak; passing tests must be clean.
 * `promo-tests [substring...]` runs the tests whose name contains any substring.
 * The run ends with the line CI reads: `promo: N passed, N failed, N skipped`.
 */
#ifndef PROMO_T_H
#define PROMO_T_H

#include <math.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*t_fn)(void);
void t_register(const char *name, const char *file, t_fn fn);
void t_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
void t_skip(const char *reason) __attribute__((noreturn));

#define T_TEST(name)                                            \
    static void t_fn_##name(void);                              \
    __attribute__((constructor)) static void t_reg_##name(void) \
    {                                                           \
        t_register(#name, __FILE__, t_fn_##name);               \
    }                                                           \
    static void t_fn_##name(void)

#define T_ASSERT(c)                                                    \
    do {                                                               \
        if (!(c))                                                      \
            t_fail_at(__FILE__, __LINE__, "assertion failed: %s", #c); \
    } while (0)

#define T_ASSERT_MSG(c, ...)                            \
    do {                                                \
        if (!(c))                                       \
            t_fail_at(__FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

#define T_ASSERT_EQ_INT(a, b)                                                            \
    do {                                                                                 \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                          \
        if (t_a_ != t_b_)                                                                \
            t_fail_at(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, t_a_, t_b_); \
    } while (0)

#define T_ASSERT_NEAR(a, b, tol)                                                                   \
    do {                                                                                           \
        double t_a_ = (double)(a), t_b_ = (double)(b), t_t_ = (double)(tol);                       \
        if (!(fabs(t_a_ - t_b_) <= t_t_))                                                          \
            t_fail_at(__FILE__, __LINE__, "%s ~= %s: %.10g vs %.10g (tol %g)", #a, #b, t_a_, t_b_, \
                      t_t_);                                                                       \
    } while (0)

#define T_ASSERT_STR_EQ(a, b)                                                   \
    do {                                                                        \
        const char *t_a_ = (a), *t_b_ = (b);                                    \
        if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0)                          \
            t_fail_at(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, \
                      t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");          \
    } while (0)

/* Assert that haystack contains needle. */
#define T_ASSERT_CONTAINS(hay, needle)                                                             \
    do {                                                                                           \
        const char *t_h_ = (hay), *t_n_ = (needle);                                                \
        if (!t_h_ || !strstr(t_h_, t_n_))                                                          \
            t_fail_at(__FILE__, __LINE__, "expected \"%s\" in: %s", t_n_, t_h_ ? t_h_ : "(null)"); \
    } while (0)

/* Assert a promo call returns PROMO_OK, printing promo_last_error() if not. */
#define T_OK(call)                                                                                 \
    do {                                                                                           \
        int t_rc_ = (call);                                                                        \
        if (t_rc_ != 0)                                                                            \
            t_fail_at(__FILE__, __LINE__, "%s returned %d: %s", #call, t_rc_, promo_last_error()); \
    } while (0)

#define T_SKIP(reason) t_skip(reason)

/* ---- helpers for CLI and workspace tests ---- */

/* Path of the promo binary under test (env PROMO_BIN, default build/asan/promo). */
const char *t_promo_bin(void);
/* A fresh empty directory under the test temp root, removed at exit. Borrowed string. */
const char *t_tmpdir(void);
/* Run `sh -c cmd`; capture stdout and stderr (malloc'd, caller frees; may pass NULL).
 * Returns the exit status (128+signal if killed). */
int t_sh(const char *cmd, char **out, char **err);
/* Run the promo binary with the given argument string (shell-quoted by the caller). */
int t_promo(const char *args, char **out, char **err);
/* Write a file with the given contents. */
void t_write_file(const char *path, const char *data, size_t n);
/* Read a whole file (malloc'd, NUL-terminated; *n = its byte count, NULs included) or NULL. */
char *t_read_file(const char *path, size_t *n);
/* A digest of every file under dir (names, sizes, contents), to prove it did not change.
 * Returns a malloc'd hex string; "" for a missing directory. */
char *t_dir_digest(const char *dir);
/* Entries of dir whose name holds ".tmp-" (the store's temporaries); 0 for a missing dir. */
int t_count_temps(const char *dir);
/* Run one(data, n) on every file of a fuzz corpus directory (a fuzz target's replay in make
 * test); skips the test when the directory is absent. Returns the number of files. */
size_t t_replay_corpus(const char *dir, int (*one)(const uint8_t *data, size_t n));
/* Path of a shared dataset (../shared/data/REL) if it exists, else NULL. Borrowed. */
const char *t_shared_data(const char *rel);

#endif
