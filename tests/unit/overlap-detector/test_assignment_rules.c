/* services/overlap-detector/assignment_rules: UNCERTIFIED at assignment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "overlap-detector/assignment_rules.h"

static const char *const DEFAULT_TYPES[] = {"bathing", "health_check", "medication", "nursing",
                                            "rehabilitation"};
#define N_DEFAULT (sizeof(DEFAULT_TYPES) / sizeof(DEFAULT_TYPES[0]))

/* The outcome for an uncertified caregiver given the service. */
static cw_outcome uncertified(const char *service_type, const char *const *types, size_t n)
{
    return overlap_rule_uncertified(1, 0, service_type, types, n).outcome;
}

static void test_uncertified_on_a_certified_service_is_red(void **state)
{
    (void)state;
    cw_verdict v = overlap_rule_uncertified(1, 0, "nursing", DEFAULT_TYPES, N_DEFAULT);
    assert_int_equal(v.outcome, CW_OUTCOME_RED);
    assert_true(v.has_measured);
    assert_true(v.measured == 0.0);
    assert_true(v.has_threshold);
    assert_true(v.threshold == 1.0);
}

static void test_every_listed_service_needs_the_certificate(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_DEFAULT; i++)
        assert_int_equal(uncertified(DEFAULT_TYPES[i], DEFAULT_TYPES, N_DEFAULT), CW_OUTCOME_RED);
}

static void test_uncertified_on_an_open_service_passes(void **state)
{
    (void)state;
    assert_int_equal(uncertified("cleaning", DEFAULT_TYPES, N_DEFAULT), CW_OUTCOME_PASS);
    assert_int_equal(uncertified("meal", DEFAULT_TYPES, N_DEFAULT), CW_OUTCOME_PASS);
}

static void test_certified_passes_everything(void **state)
{
    (void)state;
    cw_verdict v = overlap_rule_uncertified(1, 1, "medication", DEFAULT_TYPES, N_DEFAULT);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_true(v.measured == 1.0);
}

static void test_unstamped_assignment_passes_without_a_measure(void **state)
{
    (void)state;
    cw_verdict v = overlap_rule_uncertified(0, 0, "nursing", DEFAULT_TYPES, N_DEFAULT);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_false(v.has_measured);
}

/* Exact text: neither a prefix nor another case names a listed service. */
static void test_service_type_is_matched_exactly(void **state)
{
    (void)state;
    assert_int_equal(uncertified("Nursing", DEFAULT_TYPES, N_DEFAULT), CW_OUTCOME_PASS);
    assert_int_equal(uncertified("nurs", DEFAULT_TYPES, N_DEFAULT), CW_OUTCOME_PASS);
    assert_int_equal(uncertified("nursing ", DEFAULT_TYPES, N_DEFAULT), CW_OUTCOME_PASS);
}

/* The table is configuration: an empty one asks no certificate at all. */
static void test_the_table_is_a_parameter(void **state)
{
    (void)state;
    static const char *const only_cleaning[] = {"cleaning"};
    assert_int_equal(uncertified("nursing", NULL, 0), CW_OUTCOME_PASS);
    assert_int_equal(uncertified("cleaning", only_cleaning, 1), CW_OUTCOME_RED);
    assert_int_equal(uncertified("nursing", only_cleaning, 1), CW_OUTCOME_PASS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uncertified_on_a_certified_service_is_red),
        cmocka_unit_test(test_every_listed_service_needs_the_certificate),
        cmocka_unit_test(test_uncertified_on_an_open_service_passes),
        cmocka_unit_test(test_certified_passes_everything),
        cmocka_unit_test(test_unstamped_assignment_passes_without_a_measure),
        cmocka_unit_test(test_service_type_is_matched_exactly),
        cmocka_unit_test(test_the_table_is_a_parameter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
