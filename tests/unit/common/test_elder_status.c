/* common/elder_status: which of the registry's periods speaks for an
 * instant, as known by another; their Redis form; and the overlap-
 * detector's ELDER_UNAVAILABLE verdict from it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "overlap-detector/elder_rules.h"
#include "elder_status.h"

#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)
#define T0 1717236000000LL /* 2024-06-01T10:00:00Z */

static cw_elder_period period(cw_elder_status s, int64_t from, int has_to, int64_t to,
                              int64_t received)
{
    cw_elder_period p = {.status = s, .from = from, .has_to = has_to, .to = to,
                         .received_at = received};
    return p;
}

static void test_no_period_is_active(void **state)
{
    (void)state;
    assert_int_equal(cw_elder_status_at(NULL, 0, T0, T0), CW_ELDER_STATUS_ACTIVE);
}

/* A stay is half-open: from its first instant, not at its end. */
static void test_hospital_stay_is_half_open(void **state)
{
    (void)state;
    cw_elder_period p[] = {period(CW_ELDER_STATUS_HOSPITALIZED, T0, 1, T0 + DAY_MS, T0 - DAY_MS)};
    const int64_t late = T0 + 10 * DAY_MS;
    assert_int_equal(cw_elder_status_at(p, 1, T0 - 1, late), CW_ELDER_STATUS_ACTIVE);
    assert_int_equal(cw_elder_status_at(p, 1, T0, late), CW_ELDER_STATUS_HOSPITALIZED);
    assert_int_equal(cw_elder_status_at(p, 1, T0 + DAY_MS - 1, late), CW_ELDER_STATUS_HOSPITALIZED);
    assert_int_equal(cw_elder_status_at(p, 1, T0 + DAY_MS, late), CW_ELDER_STATUS_ACTIVE);
}

/* An open stay lasts until a discharge (ACTIVE from a later instant). */
static void test_open_stay_ends_with_a_discharge(void **state)
{
    (void)state;
    cw_elder_period p[] = {period(CW_ELDER_STATUS_HOSPITALIZED, T0, 0, 0, T0),
                           period(CW_ELDER_STATUS_ACTIVE, T0 + 3 * DAY_MS, 0, 0, T0 + 3 * DAY_MS)};
    const int64_t late = T0 + 10 * DAY_MS;
    assert_int_equal(cw_elder_status_at(p, 2, T0 + 2 * DAY_MS, late), CW_ELDER_STATUS_HOSPITALIZED);
    assert_int_equal(cw_elder_status_at(p, 2, T0 + 3 * DAY_MS, late), CW_ELDER_STATUS_ACTIVE);
    assert_int_equal(cw_elder_status_at(p, 2, T0 + 9 * DAY_MS, late), CW_ELDER_STATUS_ACTIVE);
}

static void test_death_lasts(void **state)
{
    (void)state;
    cw_elder_period p[] = {period(CW_ELDER_STATUS_DECEASED, T0, 0, 0, T0)};
    assert_int_equal(cw_elder_status_at(p, 1, T0 + 400 * DAY_MS, T0 + 400 * DAY_MS),
                     CW_ELDER_STATUS_DECEASED);
    assert_int_equal(cw_elder_status_at(p, 1, T0 - 1, T0), CW_ELDER_STATUS_ACTIVE);
}

/* What was not received by known_by does not count, however it applies. */
static void test_only_periods_received_by_known_by_count(void **state)
{
    (void)state;
    cw_elder_period p[] = {period(CW_ELDER_STATUS_HOSPITALIZED, T0, 0, 0, T0 + 5 * HOUR_MS)};
    assert_int_equal(cw_elder_status_at(p, 1, T0 + HOUR_MS, T0 + 5 * HOUR_MS - 1),
                     CW_ELDER_STATUS_ACTIVE);
    assert_int_equal(cw_elder_status_at(p, 1, T0 + HOUR_MS, T0 + 5 * HOUR_MS),
                     CW_ELDER_STATUS_HOSPITALIZED);
}

/* The latest start speaks; on the same start the later receipt (a
 * correction), then the graver status; the input order does not matter. */
static void test_precedence(void **state)
{
    (void)state;
    cw_elder_period p[] = {
        period(CW_ELDER_STATUS_HOSPITALIZED, T0, 1, T0 + 5 * DAY_MS, T0),
        period(CW_ELDER_STATUS_DECEASED, T0 + 2 * DAY_MS, 0, 0, T0 + 2 * DAY_MS),
    };
    cw_elder_period q[] = {p[1], p[0]};
    const int64_t late = T0 + 10 * DAY_MS;
    assert_int_equal(cw_elder_status_at(p, 2, T0 + 3 * DAY_MS, late), CW_ELDER_STATUS_DECEASED);
    assert_int_equal(cw_elder_status_at(q, 2, T0 + 3 * DAY_MS, late), CW_ELDER_STATUS_DECEASED);
    assert_int_equal(cw_elder_status_at(p, 2, T0 + DAY_MS, late), CW_ELDER_STATUS_HOSPITALIZED);

    cw_elder_period corrected[] = {period(CW_ELDER_STATUS_HOSPITALIZED, T0, 0, 0, T0),
                                   period(CW_ELDER_STATUS_ACTIVE, T0, 0, 0, T0 + HOUR_MS)};
    assert_int_equal(cw_elder_status_at(corrected, 2, T0 + DAY_MS, late), CW_ELDER_STATUS_ACTIVE);
    assert_int_equal(cw_elder_status_at(corrected, 2, T0 + DAY_MS, T0), CW_ELDER_STATUS_HOSPITALIZED);

    cw_elder_period tie[] = {period(CW_ELDER_STATUS_HOSPITALIZED, T0, 0, 0, T0),
                             period(CW_ELDER_STATUS_DECEASED, T0, 0, 0, T0)};
    cw_elder_period eit[] = {tie[1], tie[0]};
    assert_int_equal(cw_elder_status_at(tie, 2, T0, T0), CW_ELDER_STATUS_DECEASED);
    assert_int_equal(cw_elder_status_at(eit, 2, T0, T0), CW_ELDER_STATUS_DECEASED);
}

static void test_redis_form_round_trips(void **state)
{
    (void)state;
    cw_elder_period in[] = {period(CW_ELDER_STATUS_HOSPITALIZED, T0, 1, T0 + DAY_MS, T0 - 5),
                            period(CW_ELDER_STATUS_DECEASED, T0, 0, 0, T0 + 7)};
    for (size_t i = 0; i < 2; i++) {
        char field[96], value[24];
        assert_int_equal(cw_elder_period_field(&in[i], field, sizeof(field)), 0);
        assert_int_equal(cw_elder_period_value(&in[i], value, sizeof(value)), 0);
        cw_elder_period out;
        assert_int_equal(cw_elder_period_parse(field, value, &out), 0);
        assert_int_equal(out.status, in[i].status);
        assert_true(out.from == in[i].from && out.has_to == in[i].has_to &&
                    out.received_at == in[i].received_at);
        assert_true(!out.has_to || out.to == in[i].to);
    }
    char field[96];
    assert_int_equal(cw_elder_period_field(&in[0], field, sizeof(field)), 0);
    assert_string_equal(field, "1717236000000|HOSPITALIZED|1717322400000");
    char tiny[8];
    assert_int_equal(cw_elder_period_field(&in[0], tiny, sizeof(tiny)), -1);
}

static void test_malformed_redis_entries_are_refused(void **state)
{
    (void)state;
    cw_elder_period out;
    assert_int_equal(cw_elder_period_parse("1|ACTIVE|-", "2", &out), 0);
    assert_int_equal(cw_elder_period_parse("1|ASLEEP|-", "2", &out), -1);
    assert_int_equal(cw_elder_period_parse("1|ACTIVE", "2", &out), -1);
    assert_int_equal(cw_elder_period_parse("x|ACTIVE|-", "2", &out), -1);
    assert_int_equal(cw_elder_period_parse("1|ACTIVE|-", "2x", &out), -1);
    assert_int_equal(cw_elder_period_parse("5|ACTIVE|5", "2", &out), -1); /* to <= from */
    assert_int_equal(cw_elder_period_parse("5|ACTIVE|4", "2", &out), -1);
}

static void test_names(void **state)
{
    (void)state;
    cw_elder_status s;
    assert_int_equal(cw_elder_status_parse("DECEASED", &s), 0);
    assert_int_equal(s, CW_ELDER_STATUS_DECEASED);
    assert_int_equal(cw_elder_status_parse("deceased", &s), -1);
    assert_string_equal(cw_elder_status_name(CW_ELDER_STATUS_HOSPITALIZED), "HOSPITALIZED");
}

static void test_elder_unavailable_verdict(void **state)
{
    (void)state;
    cw_verdict v = overlap_rule_elder_unavailable(CW_ELDER_STATUS_ACTIVE);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_true(v.has_measured && v.measured == 0.0);
    v = overlap_rule_elder_unavailable(CW_ELDER_STATUS_HOSPITALIZED);
    assert_int_equal(v.outcome, CW_OUTCOME_RED);
    assert_true(v.measured == 1.0);
    v = overlap_rule_elder_unavailable(CW_ELDER_STATUS_DECEASED);
    assert_int_equal(v.outcome, CW_OUTCOME_RED);
    assert_true(v.measured == 2.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_period_is_active),
        cmocka_unit_test(test_hospital_stay_is_half_open),
        cmocka_unit_test(test_open_stay_ends_with_a_discharge),
        cmocka_unit_test(test_death_lasts),
        cmocka_unit_test(test_only_periods_received_by_known_by_count),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_redis_form_round_trips),
        cmocka_unit_test(test_malformed_redis_entries_are_refused),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_elder_unavailable_verdict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
