/* services/payment-scheduler/service_months: UNDER_SERVED per elder and
 * UTC+8 month, judged at the month's cutoff with the orders finalized
 * before it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payment-scheduler/service_months.h"
#include "time_fixture.h"

static pay_month_order visit(const char *id, const char *elder, const char *service_day, int valid,
                             int minutes, const char *finalized_at)
{
    pay_month_order o = {.order_id = id,
                         .elder_id = elder,
                         .service_day = day(service_day),
                         .valid = valid,
                         .has_duration = minutes >= 0,
                         .duration_minutes = minutes,
                         .visits_per_month = 4,
                         .minutes_per_visit = 60,
                         .finalized_at = at(finalized_at)};
    return o;
}

typedef struct {
    pay_month_verdict *v;
    size_t n, cap;
} verdicts;

static void advance(pay_months *m, const char *watermark, verdicts *out)
{
    assert_int_equal(pay_months_advance(m, at(watermark), &out->v, &out->n, &out->cap), 0);
}

static void test_rule(void **state)
{
    (void)state;
    assert_false(pay_under_served(4, 0, 4, 60));
    assert_true(pay_under_served(3, 0, 4, 60));
    assert_true(pay_under_served(5, 1, 4, 60)); /* enough visits, one short */
    assert_false(pay_under_served(0, 0, 0, 0)); /* no duty */
    assert_false(pay_under_served(0, 3, 0, 0));
    assert_true(pay_under_served(1, 0, 2, 0));
    assert_false(pay_under_served(0, 0, 0, 60)); /* minutes only: no visit, none short */
}

/* Cutoff: 00:00 UTC+8 of the next month's first day plus the lag. */
static void test_cutoff(void **state)
{
    (void)state;
    pay_months *m = pay_months_new(480, 3);
    assert_true(pay_month_cutoff(m, day("2024-05-01")) == at("2024-06-04T00:00:00+08:00"));
    assert_true(pay_month_cutoff(m, day("2024-05-31")) == at("2024-06-04T00:00:00+08:00"));
    assert_true(pay_month_cutoff(m, day("2024-12-15")) == at("2025-01-04T00:00:00+08:00"));
    assert_true(pay_month_cutoff(m, day("2024-02-29")) == at("2024-03-04T00:00:00+08:00"));
    pay_months_free(m);
    m = pay_months_new(480, 0);
    assert_true(pay_month_cutoff(m, day("2024-05-20")) == at("2024-06-01T00:00:00+08:00"));
    pay_months_free(m);
}

static void test_month_is_judged_at_its_cutoff_per_elder(void **state)
{
    (void)state;
    pay_months *m = pay_months_new(480, 3);
    verdicts out = {0};
    /* E1: four valid visits of an hour or more: served. */
    const char *days[] = {"2024-05-02", "2024-05-09", "2024-05-16", "2024-05-23"};
    char id[16];
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof(id), "A%d", i);
        pay_month_order o = visit(id, "E1", days[i], 1, 61, "2024-05-28T10:00:00+08:00");
        assert_int_equal(pay_months_note(m, &o), 0);
    }
    /* E2: three valid and one invalid. */
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof(id), "B%d", i);
        pay_month_order o = visit(id, "E2", days[i], i < 3, 61, "2024-05-28T10:00:00+08:00");
        assert_int_equal(pay_months_note(m, &o), 0);
    }
    /* E0: four valid, one 59 minutes long. */
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof(id), "C%d", i);
        pay_month_order o = visit(id, "E0", days[i], 1, i == 2 ? 59 : 60,
                                  "2024-05-28T10:00:00+08:00");
        assert_int_equal(pay_months_note(m, &o), 0);
    }
    assert_true(pay_months_next_due(m) == at("2024-06-04T00:00:00+08:00"));
    advance(m, "2024-06-03T23:59:59.999+08:00", &out);
    assert_int_equal(out.n, 0);
    advance(m, "2024-06-04T00:00:00+08:00", &out);
    assert_int_equal(out.n, 3);
    /* Elders in id order. */
    assert_string_equal(out.v[0].elder_id, "E0");
    assert_true(out.v[0].under_served);
    assert_int_equal(out.v[0].short_valid_orders, 1);
    assert_string_equal(out.v[1].elder_id, "E1");
    assert_false(out.v[1].under_served);
    assert_int_equal(out.v[1].valid_orders, 4);
    assert_string_equal(out.v[2].elder_id, "E2");
    assert_true(out.v[2].under_served);
    assert_int_equal(out.v[2].valid_orders, 3);
    assert_int_equal(out.v[2].orders, 4);
    assert_int_equal(out.v[2].visits_per_month, 4);
    assert_true(out.v[2].at == at("2024-06-04T00:00:00+08:00"));
    assert_true(out.v[2].month_first_day == day("2024-05-01"));
    /* Judged once. */
    advance(m, "2024-07-01T00:00:00+08:00", &out);
    assert_int_equal(out.n, 3);
    assert_true(pay_months_next_due(m) == INT64_MAX);
    free(out.v);
    pay_months_free(m);
}

/* An order finalized at or after the cutoff, or read after the month was
 * judged, changes nothing: the verdict depends on the records alone. */
static void test_late_orders_do_not_count(void **state)
{
    (void)state;
    pay_months *m = pay_months_new(480, 3);
    verdicts out = {0};
    pay_month_order in_time = visit("A1", "E1", "2024-05-31", 1, 61, "2024-06-03T23:59:59+08:00");
    pay_month_order late = visit("A2", "E1", "2024-05-31", 1, 61, "2024-06-04T00:00:00+08:00");
    assert_int_equal(pay_months_note(m, &late), 0);
    assert_int_equal(pay_months_note(m, &in_time), 0);
    advance(m, "2024-06-05T00:00:00+08:00", &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.v[0].valid_orders, 1);
    pay_month_order after = visit("A3", "E9", "2024-05-20", 1, 61, "2024-05-21T10:00:00+08:00");
    assert_int_equal(pay_months_note(m, &after), 0); /* read after the judgment */
    advance(m, "2024-06-06T00:00:00+08:00", &out);
    assert_int_equal(out.n, 1);
    free(out.v);
    pay_months_free(m);
}

/* The duty of the order finalized last; months are judged apart; a
 * restart skips what the restored statements show was judged. */
static void test_duty_months_and_restart(void **state)
{
    (void)state;
    pay_months *m = pay_months_new(480, 3);
    verdicts out = {0};
    pay_month_order a = visit("A1", "E1", "2024-05-10", 1, 61, "2024-05-11T10:00:00+08:00");
    pay_month_order b = visit("A2", "E1", "2024-05-20", 1, 61, "2024-05-21T10:00:00+08:00");
    b.visits_per_month = 2;
    pay_month_order june = visit("A3", "E1", "2024-06-10", 1, 61, "2024-06-11T10:00:00+08:00");
    assert_int_equal(pay_months_note(m, &b), 0);
    assert_int_equal(pay_months_note(m, &a), 0);
    assert_int_equal(pay_months_note(m, &june), 0);
    advance(m, "2024-07-10T00:00:00+08:00", &out);
    assert_int_equal(out.n, 2);
    assert_true(out.v[0].month_first_day == day("2024-05-01"));
    assert_int_equal(out.v[0].visits_per_month, 2); /* B, finalized last */
    assert_false(out.v[0].under_served);
    assert_true(out.v[1].month_first_day == day("2024-06-01"));
    assert_true(out.v[1].under_served);
    free(out.v);
    pay_months_free(m);

    pay_months *r = pay_months_new(480, 3);
    verdicts again = {0};
    pay_months_judged_through(r, at("2024-06-05T00:00:00+08:00"));
    assert_int_equal(pay_months_note(r, &a), 0);
    assert_int_equal(pay_months_note(r, &june), 0);
    advance(r, "2024-07-10T00:00:00+08:00", &again);
    assert_int_equal(again.n, 1); /* May was judged before the restart */
    assert_true(again.v[0].month_first_day == day("2024-06-01"));
    free(again.v);
    pay_months_free(r);
}

static void test_overlong_ids_are_refused(void **state)
{
    (void)state;
    pay_months *m = pay_months_new(480, 3);
    char elder[80];
    memset(elder, 'E', sizeof(elder) - 1);
    elder[sizeof(elder) - 1] = '\0';
    pay_month_order o = visit("A1", elder, "2024-05-10", 1, 61, "2024-05-11T10:00:00+08:00");
    assert_int_equal(pay_months_note(m, &o), -1);
    pay_months_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_cutoff),
        cmocka_unit_test(test_month_is_judged_at_its_cutoff_per_elder),
        cmocka_unit_test(test_late_orders_do_not_count),
        cmocka_unit_test(test_duty_months_and_restart),
        cmocka_unit_test(test_overlong_ids_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
