/* promo_dict_append_sorted and the index it leaves unfilled: lookups, interning, clones and
 * concurrent readers after it give what interning one by one gives; keys out of order are
 * refused with the dictionary unchanged. */
#include "t.h"

#include <stdio.h>
#include <string.h>

#include <promo/alloc.h>
#include <promo/dict.h>
#include <promo/error.h>

/* Increasing ids "O000000000" + step * k (fixed width: byte order is numeric order). */
typedef struct ids {
    size_t first, step;
} ids;

static size_t id_key(void *ctx, size_t k, char *buf)
{
    const ids *s = ctx;
    return (size_t)snprintf(buf, PROMO_DICT_KEY_MAX, "O%09zu", s->first + s->step * k);
}

/* Keys in a given table (to place one out of order). */
static size_t list_key(void *ctx, size_t k, char *buf)
{
    const char *const *keys = ctx;
    size_t n = strlen(keys[k]);
    memcpy(buf, keys[k], n);
    return n;
}

T_TEST(dict_append_sorted_then_find_and_intern)
{
    promo_dict *d = promo_dict_new(), *ref = promo_dict_new();
    T_ASSERT(d && ref);
    char buf[PROMO_DICT_KEY_MAX];
    /* reserve first, as the CSV reader does: the index is allocated, not filled */
    T_OK(promo_dict_reserve(d, 150000));
    ids a = {10, 3}, b = {10 + 3 * 100000, 2};
    T_OK(promo_dict_append_sorted(d, 100000, id_key, &a));
    T_OK(promo_dict_append_sorted(d, 50000, id_key, &b)); /* a second chunk after the first */
    for (size_t k = 0; k < 100000; k++)
        T_ASSERT(promo_dict_intern(ref, buf, id_key(&a, k, buf)) == k);
    for (size_t k = 0; k < 50000; k++)
        T_ASSERT(promo_dict_intern(ref, buf, id_key(&b, k, buf)) == 100000 + k);
    T_ASSERT_EQ_INT(promo_dict_size(d), 150000);
    for (uint32_t i = 0; i < 150000; i++) {
        T_ASSERT_EQ_INT(promo_dict_key_len(d, i), promo_dict_key_len(ref, i));
        T_ASSERT_STR_EQ(promo_dict_key(d, i), promo_dict_key(ref, i));
    }
    /* Lookups from several threads at once: one of them fills the index. */
    int bad = 0;
#pragma omp parallel for num_threads(4) reduction(+ : bad)
    for (size_t k = 0; k < 150000; k++) {
        char kb[PROMO_DICT_KEY_MAX];
        size_t len = k < 100000 ? id_key(&a, k, kb) : id_key(&b, k - 100000, kb);
        bad += promo_dict_find(d, kb, len) != k;
    }
    T_ASSERT_EQ_INT(bad, 0);
    T_ASSERT(promo_dict_find(d, "O000000011", 10) == PROMO_DICT_NONE);
    /* Interning after it: present keys keep their index, new ones come next. */
    T_ASSERT(promo_dict_intern(d, buf, id_key(&a, 7, buf)) == 7);
    T_ASSERT(promo_dict_intern(d, "A-new", 5) == 150000);
    T_ASSERT(promo_dict_find(d, "A-new", 5) == 150000);
    promo_dict_free(d);
    promo_dict_free(ref);
}

T_TEST(dict_append_sorted_refuses_keys_out_of_order)
{
    promo_dict *d = promo_dict_new();
    T_ASSERT(d != NULL);
    const char *ok[] = {"a", "ab", "b"};
    T_OK(promo_dict_append_sorted(d, 3, list_key, (void *)ok));
    /* equal to the last key, out of order within, and a prefix after its extension */
    const char *dup[] = {"b", "c"}, *swap[] = {"c", "e", "d"}, *pre[] = {"ca", "c"};
    T_ASSERT_EQ_INT(promo_dict_append_sorted(d, 2, list_key, (void *)dup), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_dict_append_sorted(d, 3, list_key, (void *)swap), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_dict_append_sorted(d, 2, list_key, (void *)pre), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_dict_size(d), 3);
    T_ASSERT_EQ_INT(promo_dict_find(d, "c", 1), PROMO_DICT_NONE);
    T_ASSERT_EQ_INT(promo_dict_find(d, "ab", 2), 1);
    /* A live index with room: the keys are placed at once. */
    const char *more[] = {"c", "d"};
    T_OK(promo_dict_append_sorted(d, 2, list_key, (void *)more));
    T_ASSERT_EQ_INT(promo_dict_find(d, "d", 1), 4);
    T_ASSERT_EQ_INT(promo_dict_intern(d, "c", 1), 3);
    /* Interning a smaller key makes the dictionary unsorted: sorted appends are refused. */
    T_ASSERT_EQ_INT(promo_dict_intern(d, "0", 1), 5);
    const char *z[] = {"z"};
    T_ASSERT_EQ_INT(promo_dict_append_sorted(d, 1, list_key, (void *)z), PROMO_EINPUT);
    T_ASSERT_EQ_INT(promo_dict_size(d), 6);
    promo_dict_free(d);
}

T_TEST(dict_append_sorted_clone_and_alloc_failures)
{
    ids a = {0, 1};
    promo_dict *d = promo_dict_new();
    T_ASSERT(d != NULL);
    T_OK(promo_dict_append_sorted(d, 5000, id_key, &a));
    promo_dict *c = promo_dict_clone(d); /* of an unfilled index */
    T_ASSERT(c != NULL);
    T_ASSERT_EQ_INT(promo_dict_find(c, "O000004999", 10), 4999);
    T_ASSERT_EQ_INT(promo_dict_intern(c, "x", 1), 5000);
    T_ASSERT_EQ_INT(promo_dict_find(d, "x", 1), PROMO_DICT_NONE);
    T_ASSERT_EQ_INT(promo_dict_find(d, "O000000000", 10), 0);
    promo_dict_free(c);
    promo_dict_free(d);
    /* Every allocation failure point: an error, no crash or leak, and what was appended reads
     * back. */
    for (long k = 1; k < 40; k++) {
        promo_dict *e = promo_dict_new();
        promo_alloc_fail_at(k);
        int rc = e ? promo_dict_append_sorted(e, 3000, id_key, &a) : PROMO_ENOMEM;
        promo_alloc_fail_at(0);
        if (e) {
            T_ASSERT(rc == PROMO_OK || rc == PROMO_ENOMEM);
            T_ASSERT_EQ_INT(promo_dict_size(e), rc ? 0 : 3000);
            if (!rc)
                T_ASSERT_EQ_INT(promo_dict_find(e, "O000002999", 10), 2999);
        }
        promo_dict_free(e);
    }
}
