/* services/payment-scheduler/id_set: the set of order ids and dead-letter
 * keys, across its growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>

#include "id_set.h"

static void adds_once_and_finds(void **state)
{
    (void)state;
    pay_idset s = {0};
    assert_false(pay_idset_contains(&s, "a"));
    assert_int_equal(pay_idset_add(&s, "a"), 1);
    assert_int_equal(pay_idset_add(&s, "a"), 0);
    assert_int_equal(pay_idset_add(&s, ""), 1);
    assert_true(pay_idset_contains(&s, "a"));
    assert_true(pay_idset_contains(&s, ""));
    assert_false(pay_idset_contains(&s, "b"));
    assert_int_equal(s.count, 2);
    pay_idset_free(&s);
    assert_int_equal(s.count, 0);
    assert_false(pay_idset_contains(&s, "a"));
}

static void keeps_everything_while_growing(void **state)
{
    (void)state;
    pay_idset s = {0};
    char id[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "orders.finalized/%d/%d", i % 3, i);
        assert_int_equal(pay_idset_add(&s, id), 1);
    }
    assert_int_equal(s.count, 20000);
    assert_true(s.count * 10 <= s.capacity * 7);
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "orders.finalized/%d/%d", i % 3, i);
        assert_true(pay_idset_contains(&s, id));
        assert_int_equal(pay_idset_add(&s, id), 0);
        snprintf(id, sizeof(id), "orders.finalized/%d/%d", (i + 1) % 3, i);
        assert_false(pay_idset_contains(&s, id));
    }
    pay_idset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adds_once_and_finds),
        cmocka_unit_test(keeps_everything_while_growing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
