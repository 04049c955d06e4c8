/* services/ledger-writer/order_index: the order id -> ledger index map,
 * through growth, with duplicates and misses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>

#include "order_index.h"

static void test_empty_index_finds_nothing(void **state)
{
    (void)state;
    order_index ix = {0};
    uint64_t v = 7;
    assert_int_equal(order_index_get(&ix, "O1", &v), 0);
    assert_int_equal(v, 7);
    order_index_free(&ix);
}

static void test_many_ids_through_growth(void **state)
{
    (void)state;
    order_index ix = {0};
    char id[32];
    for (uint64_t i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "O-%llu", (unsigned long long)i);
        assert_int_equal(order_index_put(&ix, id, i * 3), 0);
    }
    assert_int_equal(ix.count, 20000);
    for (uint64_t i = 0; i < 20000; i++) {
        uint64_t v = 0;
        snprintf(id, sizeof(id), "O-%llu", (unsigned long long)i);
        assert_int_equal(order_index_get(&ix, id, &v), 1);
        assert_int_equal(v, i * 3);
    }
    uint64_t v;
    assert_int_equal(order_index_get(&ix, "O-20000", &v), 0);
    assert_int_equal(order_index_get(&ix, "O-", &v), 0);
    order_index_free(&ix);
    assert_int_equal(ix.capacity, 0);
}

static void test_duplicate_keeps_first_value(void **state)
{
    (void)state;
    order_index ix = {0};
    assert_int_equal(order_index_put(&ix, "O1", 4), 0);
    assert_int_equal(order_index_put(&ix, "O1", 9), 1);
    uint64_t v = 0;
    assert_int_equal(order_index_get(&ix, "O1", &v), 1);
    assert_int_equal(v, 4);
    assert_int_equal(ix.count, 1);
    order_index_free(&ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_index_finds_nothing),
        cmocka_unit_test(test_many_ids_through_growth),
        cmocka_unit_test(test_duplicate_keeps_first_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
