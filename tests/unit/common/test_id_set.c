/* common/id_set: the string set with values the ledger-writer (order id ->
 * ledger index) and the payment-scheduler (orders counted, records
 * dead-lettered) keep, through growth, with duplicates and misses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>

#include "id_set.h"

static void test_adds_once_and_finds(void **state)
{
    (void)state;
    cw_idset s = {0};
    uint64_t v = 7;
    assert_false(cw_idset_contains(&s, "a"));
    assert_int_equal(cw_idset_get(&s, "a", &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(cw_idset_add(&s, "a", 4), 1);
    assert_int_equal(cw_idset_add(&s, "a", 9), 0);
    assert_int_equal(cw_idset_add(&s, "", 0), 1);
    assert_true(cw_idset_contains(&s, "a"));
    assert_true(cw_idset_contains(&s, ""));
    assert_false(cw_idset_contains(&s, "b"));
    assert_int_equal(cw_idset_get(&s, "a", &v), 1);
    assert_int_equal(v, 4); /* the first value stays */
    assert_int_equal(s.count, 2);
    cw_idset_free(&s);
    assert_int_equal(s.count, 0);
    assert_int_equal(s.capacity, 0);
    assert_false(cw_idset_contains(&s, "a"));
}

static void test_keeps_everything_while_growing(void **state)
{
    (void)state;
    cw_idset s = {0};
    char id[32];
    for (uint64_t i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "O-%llu", (unsigned long long)i);
        assert_int_equal(cw_idset_add(&s, id, i * 3), 1);
    }
    assert_int_equal(s.count, 20000);
    assert_true(s.count * 10 <= s.capacity * 7);
    for (uint64_t i = 0; i < 20000; i++) {
        uint64_t v = 0;
        snprintf(id, sizeof(id), "O-%llu", (unsigned long long)i);
        assert_int_equal(cw_idset_get(&s, id, &v), 1);
        assert_int_equal(v, i * 3);
        assert_int_equal(cw_idset_add(&s, id, 0), 0);
    }
    assert_false(cw_idset_contains(&s, "O-20000"));
    assert_false(cw_idset_contains(&s, "O-"));
    cw_idset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adds_once_and_finds),
        cmocka_unit_test(test_keeps_everything_while_growing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
