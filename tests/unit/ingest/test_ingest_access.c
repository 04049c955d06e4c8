/* What a provider key may create (access_rules.h): the id namespace
 * "<provider_id>:" and the contract cover of an order's elder and day. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ingest/access_rules.h"

static void namespace_is_the_provider_id_and_a_colon(void **state)
{
    (void)state;
    assert_true(ingest_id_in_namespace("P01", "P01:O1"));
    assert_true(ingest_id_in_namespace("P01", "P01:O1-in"));
    assert_false(ingest_id_in_namespace("P01", "P02:O1"));
    assert_false(ingest_id_in_namespace("P01", "P01O1"));   /* no separator */
    assert_false(ingest_id_in_namespace("P01", "P01:"));    /* nothing after it */
    assert_false(ingest_id_in_namespace("P01", "P011:O1")); /* a longer provider id */
    assert_false(ingest_id_in_namespace("P0", "P01:O1"));
    assert_false(ingest_id_in_namespace("P01", "p01:O1")); /* case matters */
    assert_false(ingest_id_in_namespace("P01", "O1"));
    assert_false(ingest_id_in_namespace("", ":O1"));
}

static void cover_entries_are_read_as_written(void **state)
{
    (void)state;
    char buf[128];
    const char *streets[] = {"S01", "S02"};
    cw_contract_row c = {.period_start_day = 19844, .period_end_day = 19874};
    assert_int_equal(cw_contract_cover_entry(&c, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "19844 19874 ");
    const char *every[] = {buf};
    assert_int_equal(ingest_contracts_cover(every, 1, 19850, "S77"), CW_COVER_SERVED);
    c.street_ids = streets;
    c.street_count = 2;
    assert_int_equal(cw_contract_cover_entry(&c, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "19844 19874 S01,S02");
    const char *two[] = {buf};
    assert_int_equal(ingest_contracts_cover(two, 1, 19850, "S02"), CW_COVER_SERVED);
    assert_int_equal(ingest_contracts_cover(two, 1, 19850, "S77"), CW_COVER_OTHER_STREET);
    assert_int_equal(cw_contract_cover_entry(&c, buf, 15), -1);
}

static void contracts_hold_their_period_inclusive(void **state)
{
    (void)state;
    const char *one[] = {"19844 19874 "};
    assert_int_equal(ingest_contracts_cover(one, 1, 19843, "S01"), CW_COVER_NONE);
    assert_int_equal(ingest_contracts_cover(one, 1, 19844, "S01"), CW_COVER_SERVED);
    assert_int_equal(ingest_contracts_cover(one, 1, 19874, "S99"), CW_COVER_SERVED);
    assert_int_equal(ingest_contracts_cover(one, 1, 19875, "S01"), CW_COVER_NONE);
    assert_int_equal(ingest_contracts_cover(one, 0, 19850, "S01"), CW_COVER_NONE);
}

static void named_streets_limit_the_cover(void **state)
{
    (void)state;
    const char *entries[] = {"19844 19874 S01,S03", "19875 19904 S02"};
    assert_int_equal(ingest_contracts_cover(entries, 2, 19850, "S01"), CW_COVER_SERVED);
    assert_int_equal(ingest_contracts_cover(entries, 2, 19850, "S03"), CW_COVER_SERVED);
    assert_int_equal(ingest_contracts_cover(entries, 2, 19850, "S02"),
                     CW_COVER_OTHER_STREET); /* next period's */
    assert_int_equal(ingest_contracts_cover(entries, 2, 19880, "S02"), CW_COVER_SERVED);
    assert_int_equal(ingest_contracts_cover(entries, 2, 19880, "S01"), CW_COVER_OTHER_STREET);
    assert_int_equal(ingest_contracts_cover(entries, 2, 19850, "S0"),
                     CW_COVER_OTHER_STREET);   /* a prefix only */
    assert_int_equal(ingest_contracts_cover(entries, 2, 19850, "S01,S03"), CW_COVER_OTHER_STREET);
}

static void malformed_entries_serve_nothing(void **state)
{
    (void)state;
    const char *entries[] = {"", "x y ", "19844", "19844 ", "19844 19874", NULL, "19844 x S01"};
    assert_int_equal(ingest_contracts_cover(entries, 7, 19850, "S01"), CW_COVER_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(namespace_is_the_provider_id_and_a_colon),
        cmocka_unit_test(cover_entries_are_read_as_written),
        cmocka_unit_test(contracts_hold_their_period_inclusive),
        cmocka_unit_test(named_streets_limit_the_cover),
        cmocka_unit_test(malformed_entries_serve_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
