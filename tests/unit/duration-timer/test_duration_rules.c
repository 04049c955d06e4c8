/* services/duration-timer/duration_rules: SHORT_DURATION, NO_SHOW,
 * NO_CHECKOUT, DAILY_HOURS_EXCEEDED, the timer due times and members, and
 * what a record or a timer leads to. Boundaries are built in exact integer
 * milliseconds; thresholds are crossed only when strictly exceeded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "duration-timer/duration_rules.h"

#define SEC_MS 1000LL
#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
/* 2024-06-01T10:00:00Z */
#define T0 1717236000000LL

/* ---- helpers -------------------------------------------------------------- */

static void assert_minutes(double actual, int64_t expected_ms)
{
    double expected = (double)expected_ms / (double)MIN_MS;
    if (fabs(actual - expected) > 1e-9)
        fail_msg("expected %.12f min (%lld ms), got %.12f", expected, (long long)expected_ms,
                 actual);
}

static void assert_unit_min(const duration_verdict *v)
{
    assert_non_null(v->unit);
    assert_string_equal(v->unit, "min");
}

static duration_thresholds defaults(void)
{
    duration_thresholds t;
    memset(&t, 0xa5, sizeof(t));
    duration_thresholds_default(&t);
    return t;
}

/* ---- duration_thresholds_default ---------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    assert_int_equal(t.no_show_grace_ms, 1800000LL);
    assert_int_equal(t.short_margin_ms, 300000LL);
    assert_int_equal(t.no_checkout_ms, 14400000LL);
    assert_int_equal(t.evidence_window_ms, 259200000LL);
    assert_int_equal(t.daily_visit_max_ms, 600 * MIN_MS);
    assert_int_equal(t.utc_offset_minutes, 480);
}

/* ---- DAILY_HOURS_EXCEEDED ------------------------------------------------- */

static void test_daily_hours_exactly_at_the_cap_passes(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict v = duration_rule_daily_hours(600 * MIN_MS, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_minutes(v.measured, 600 * MIN_MS);
    assert_minutes(v.threshold, 600 * MIN_MS);
    assert_unit_min(&v);
}

static void test_daily_hours_one_ms_over_the_cap_is_orange(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict v = duration_rule_daily_hours(600 * MIN_MS + 1, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    assert_minutes(v.measured, 600 * MIN_MS + 1);
}

static void test_daily_hours_cap_is_a_parameter(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    t.daily_visit_max_ms = 480 * MIN_MS;
    assert_int_equal(duration_rule_daily_hours(480 * MIN_MS, &t).outcome, CW_OUTCOME_PASS);
    assert_int_equal(duration_rule_daily_hours(481 * MIN_MS, &t).outcome, CW_OUTCOME_ORANGE);
    assert_minutes(duration_rule_daily_hours(0, &t).threshold, 480 * MIN_MS);
}

/* Visits count on the UTC+8 date of their check-in: 15:59:59.999Z is
 * 23:59:59.999 in UTC+8, one ms later is the next service day. */
static void test_daily_hours_day_is_the_check_ins_utc8_date(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    const int64_t midnight_utc8 = 1717257600000LL; /* 2024-06-02T00:00+08:00 */
    int64_t day = duration_service_day(midnight_utc8, &t);
    assert_int_equal(day, 19876); /* days from 1970-01-01 to 2024-06-02 */
    assert_int_equal(duration_service_day(midnight_utc8 - 1, &t), day - 1);
    assert_int_equal(duration_service_day(midnight_utc8 + 24 * HOUR_MS - 1, &t), day);
    t.utc_offset_minutes = 0;
    assert_int_equal(duration_service_day(midnight_utc8, &t), day - 1);
}

static void test_visit_length_is_half_open_and_never_negative(void **state)
{
    (void)state;
    assert_int_equal(duration_visit_length_ms(T0, T0 + 210 * MIN_MS), 210 * MIN_MS);
    assert_int_equal(duration_visit_length_ms(T0, T0), 0);
    assert_int_equal(duration_visit_length_ms(T0 + 1, T0), 0);
}

/* Three 211-minute visits: 422 min after two, 633 after the third. */
static void test_daily_hours_third_long_visit_crosses_the_cap(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    int64_t total = 0;
    cw_outcome got[3];
    for (int i = 0; i < 3; i++) {
        int64_t in = T0 + i * 4 * HOUR_MS;
        total += duration_visit_length_ms(in, in + 211 * MIN_MS);
        got[i] = duration_rule_daily_hours(total, &t).outcome;
    }
    assert_int_equal(got[0], CW_OUTCOME_PASS);
    assert_int_equal(got[1], CW_OUTCOME_PASS);
    assert_int_equal(got[2], CW_OUTCOME_ORANGE);
}

/* ---- rule_short_duration ------------------------------------------------- */

static void test_short_exactly_at_threshold_passes(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict v = duration_rule_short(T0, T0 + 55 * MIN_MS, 60, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_int_equal(v.has_measured, 1);
    assert_minutes(v.measured, 55 * MIN_MS);
    assert_int_equal(v.has_threshold, 1);
    assert_minutes(v.threshold, 55 * MIN_MS);
    assert_unit_min(&v);
}

static void test_short_one_ms_under_threshold_is_orange(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    int64_t dur = 54 * MIN_MS + 59 * SEC_MS + 999;
    duration_verdict v = duration_rule_short(T0, T0 + dur, 60, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    assert_int_equal(v.has_measured, 1);
    assert_minutes(v.measured, dur);
    assert_true(v.measured < 55.0);
    assert_int_equal(v.has_threshold, 1);
    assert_minutes(v.threshold, 55 * MIN_MS);
    assert_unit_min(&v);
}

static void test_short_one_ms_over_threshold_passes(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict v = duration_rule_short(T0, T0 + 55 * MIN_MS + 1, 60, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_minutes(v.measured, 55 * MIN_MS + 1);
}

static void test_short_scheduled_30_threshold_25(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict at = duration_rule_short(T0, T0 + 25 * MIN_MS, 30, &t);
    assert_int_equal(at.outcome, CW_OUTCOME_PASS);
    assert_minutes(at.threshold, 25 * MIN_MS);
    assert_minutes(at.measured, 25 * MIN_MS);

    duration_verdict under = duration_rule_short(T0, T0 + 25 * MIN_MS - 1, 30, &t);
    assert_int_equal(under.outcome, CW_OUTCOME_ORANGE);
    assert_minutes(under.threshold, 25 * MIN_MS);
    assert_minutes(under.measured, 25 * MIN_MS - 1);
}

static void test_short_full_and_overlong_visits_pass(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict full = duration_rule_short(T0, T0 + 60 * MIN_MS, 60, &t);
    assert_int_equal(full.outcome, CW_OUTCOME_PASS);
    assert_minutes(full.measured, 60 * MIN_MS);

    duration_verdict longer = duration_rule_short(T0, T0 + 3 * HOUR_MS, 60, &t);
    assert_int_equal(longer.outcome, CW_OUTCOME_PASS);
    assert_minutes(longer.measured, 3 * HOUR_MS);
    assert_minutes(longer.threshold, 55 * MIN_MS);
}

static void test_short_zero_length_visit_is_orange(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict v = duration_rule_short(T0, T0, 60, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    assert_int_equal(v.has_measured, 1);
    assert_minutes(v.measured, 0);
}

static void test_short_margin_comes_from_thresholds(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    t.short_margin_ms = 10 * MIN_MS;
    duration_verdict at = duration_rule_short(T0, T0 + 50 * MIN_MS, 60, &t);
    assert_int_equal(at.outcome, CW_OUTCOME_PASS);
    assert_minutes(at.threshold, 50 * MIN_MS);
    duration_verdict under = duration_rule_short(T0, T0 + 50 * MIN_MS - 1, 60, &t);
    assert_int_equal(under.outcome, CW_OUTCOME_ORANGE);

    /* A default-margin visit of 54 min would be short; with the wider
     * margin it is not. */
    duration_verdict wider = duration_rule_short(T0, T0 + 54 * MIN_MS, 60, &t);
    assert_int_equal(wider.outcome, CW_OUTCOME_PASS);

    t.short_margin_ms = 0;
    duration_verdict none = duration_rule_short(T0, T0 + 60 * MIN_MS - 1, 60, &t);
    assert_int_equal(none.outcome, CW_OUTCOME_ORANGE);
    assert_minutes(none.threshold, 60 * MIN_MS);

    t.short_margin_ms = 90 * SEC_MS;
    duration_verdict half = duration_rule_short(T0, T0 + 58 * MIN_MS + 30 * SEC_MS, 60, &t);
    assert_int_equal(half.outcome, CW_OUTCOME_PASS);
    assert_minutes(half.threshold, 58 * MIN_MS + 30 * SEC_MS);
}

static void test_short_threshold_zero_accepts_zero_length(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict v = duration_rule_short(T0, T0, 5, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_minutes(v.threshold, 0);
}

/* ---- rule_no_show -------------------------------------------------------- */

static void test_no_show_without_check_in_is_orange(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    /* check_in_at is ignored without a check-in, even inside the grace. */
    duration_verdict v = duration_rule_no_show(0, T0 + MIN_MS, T0, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    assert_int_equal(v.has_measured, 0);
    assert_int_equal(v.has_threshold, 1);
    assert_minutes(v.threshold, 30 * MIN_MS);
    assert_unit_min(&v);
}

static void test_no_show_check_in_exactly_at_grace_passes(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict v = duration_rule_no_show(1, T0 + 30 * MIN_MS, T0, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_int_equal(v.has_measured, 1);
    assert_minutes(v.measured, 30 * MIN_MS);
    assert_int_equal(v.has_threshold, 1);
    assert_minutes(v.threshold, 30 * MIN_MS);
    assert_unit_min(&v);
}

static void test_no_show_one_ms_after_grace_is_orange(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict v = duration_rule_no_show(1, T0 + 30 * MIN_MS + 1, T0, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    assert_int_equal(v.has_measured, 1);
    assert_minutes(v.measured, 30 * MIN_MS + 1);
    assert_true(v.measured > 30.0);
}

static void test_no_show_on_time_and_early_pass(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict on_time = duration_rule_no_show(1, T0, T0, &t);
    assert_int_equal(on_time.outcome, CW_OUTCOME_PASS);
    assert_int_equal(on_time.has_measured, 1);
    assert_minutes(on_time.measured, 0);

    duration_verdict early = duration_rule_no_show(1, T0 - 10 * MIN_MS, T0, &t);
    assert_int_equal(early.outcome, CW_OUTCOME_PASS);
    assert_int_equal(early.has_measured, 1);
    assert_minutes(early.measured, -10 * MIN_MS);
    assert_true(early.measured < 0);

    duration_verdict hours_early = duration_rule_no_show(1, T0 - 5 * HOUR_MS - 1, T0, &t);
    assert_int_equal(hours_early.outcome, CW_OUTCOME_PASS);
    assert_minutes(hours_early.measured, -5 * HOUR_MS - 1);
}

static void test_no_show_grace_comes_from_thresholds(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    t.no_show_grace_ms = 10 * MIN_MS;
    duration_verdict at = duration_rule_no_show(1, T0 + 10 * MIN_MS, T0, &t);
    assert_int_equal(at.outcome, CW_OUTCOME_PASS);
    assert_minutes(at.threshold, 10 * MIN_MS);
    duration_verdict after = duration_rule_no_show(1, T0 + 10 * MIN_MS + 1, T0, &t);
    assert_int_equal(after.outcome, CW_OUTCOME_ORANGE);

    t.no_show_grace_ms = 0;
    assert_int_equal(duration_rule_no_show(1, T0, T0, &t).outcome, CW_OUTCOME_PASS);
    assert_int_equal(duration_rule_no_show(1, T0 + 1, T0, &t).outcome, CW_OUTCOME_ORANGE);
}

/* ---- rule_no_checkout ---------------------------------------------------- */

static void test_no_checkout_exactly_at_window_passes(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict v = duration_rule_no_checkout(T0, 1, T0 + 240 * MIN_MS, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_int_equal(v.has_measured, 1);
    assert_minutes(v.measured, 240 * MIN_MS);
    assert_int_equal(v.has_threshold, 1);
    assert_minutes(v.threshold, 240 * MIN_MS);
    assert_unit_min(&v);
}

static void test_no_checkout_one_ms_after_window_is_orange(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict v = duration_rule_no_checkout(T0, 1, T0 + 240 * MIN_MS + 1, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    assert_int_equal(v.has_measured, 1);
    assert_minutes(v.measured, 240 * MIN_MS + 1);
    assert_minutes(v.threshold, 240 * MIN_MS);
}

static void test_no_checkout_without_check_out_is_orange(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    /* out_at is ignored without a check-out, even inside the window. */
    duration_verdict v = duration_rule_no_checkout(T0, 0, T0 + MIN_MS, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    assert_int_equal(v.has_measured, 0);
    assert_int_equal(v.has_threshold, 1);
    assert_minutes(v.threshold, 240 * MIN_MS);
    assert_unit_min(&v);
}

static void test_no_checkout_short_visit_passes(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_verdict v = duration_rule_no_checkout(T0, 1, T0 + 45 * MIN_MS + 30 * SEC_MS, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_minutes(v.measured, 45 * MIN_MS + 30 * SEC_MS);

    duration_verdict zero = duration_rule_no_checkout(T0, 1, T0, &t);
    assert_int_equal(zero.outcome, CW_OUTCOME_PASS);
    assert_minutes(zero.measured, 0);
}

static void test_no_checkout_window_comes_from_thresholds(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    t.no_checkout_ms = 120 * MIN_MS;
    duration_verdict at = duration_rule_no_checkout(T0, 1, T0 + 120 * MIN_MS, &t);
    assert_int_equal(at.outcome, CW_OUTCOME_PASS);
    assert_minutes(at.threshold, 120 * MIN_MS);
    duration_verdict after = duration_rule_no_checkout(T0, 1, T0 + 120 * MIN_MS + 1, &t);
    assert_int_equal(after.outcome, CW_OUTCOME_ORANGE);
}

/* ---- due times ----------------------------------------------------------- */

static void test_due_times_default(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    assert_int_equal(duration_due_no_show(T0, &t), T0 + 30 * MIN_MS);
    assert_int_equal(duration_due_no_checkout(T0, &t), T0 + 240 * MIN_MS);
    assert_int_equal(duration_due_evidence(T0, &t), T0 + 72 * HOUR_MS);
    assert_int_equal(duration_due_evidence(T0, &t), 1717495200000LL);
}

static void test_due_times_follow_thresholds(void **state)
{
    (void)state;
    duration_thresholds t = {.no_show_grace_ms = 7,
                             .short_margin_ms = 11,
                             .no_checkout_ms = 13,
                             .evidence_window_ms = 17};
    assert_int_equal(duration_due_no_show(T0, &t), T0 + 7);
    assert_int_equal(duration_due_no_checkout(T0, &t), T0 + 13);
    assert_int_equal(duration_due_evidence(T0, &t), T0 + 17);
}

/* The timer fires at the due time, and the rule judged then agrees with it:
 * a check-in exactly at due passes, a check-in after due does not. */
static void test_due_times_match_rule_boundaries(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    int64_t show = duration_due_no_show(T0, &t);
    assert_int_equal(duration_rule_no_show(1, show, T0, &t).outcome, CW_OUTCOME_PASS);
    assert_int_equal(duration_rule_no_show(1, show + 1, T0, &t).outcome, CW_OUTCOME_ORANGE);

    int64_t out = duration_due_no_checkout(T0, &t);
    assert_int_equal(duration_rule_no_checkout(T0, 1, out, &t).outcome, CW_OUTCOME_PASS);
    assert_int_equal(duration_rule_no_checkout(T0, 1, out + 1, &t).outcome, CW_OUTCOME_ORANGE);
}

/* ---- revisions of an order (docs/maintenance.md) --------------------------------- */

static void test_no_show_timer_remembers_its_revisions_start(void **state)
{
    (void)state;
    duration_thresholds t;
    duration_thresholds_default(&t);
    assert_int_equal(duration_no_show_start(duration_due_no_show(T0, &t), &t), T0);
    t.no_show_grace_ms = 45 * MIN_MS;
    assert_int_equal(duration_no_show_start(duration_due_no_show(T0 + HOUR_MS, &t), &t),
                     T0 + HOUR_MS);
}

static void test_no_show_members_carry_the_revision(void **state)
{
    (void)state;
    char buf[128];
    assert_int_equal(
        duration_timer_member(DURATION_TIMER_NO_SHOW, "P01:O1", 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "NO_SHOW|P01:O1");
    assert_int_equal(
        duration_timer_member(DURATION_TIMER_NO_SHOW, "P01:O1", 2, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "NO_SHOW|P01:O1@2");
    char small[12];
    assert_int_equal(
        duration_timer_member(DURATION_TIMER_NO_SHOW, "P01:O1", 2, small, sizeof(small)), -1);
}

static void test_timer_members_parse_back(void **state)
{
    (void)state;
    char rule[32], subject[96], order[72];
    assert_int_equal(duration_timer_member_parse("NO_SHOW|P01:O1@2", rule, sizeof(rule), subject,
                                        sizeof(subject), order, sizeof(order)),
                     0);
    assert_string_equal(rule, "NO_SHOW");
    assert_string_equal(subject, "P01:O1@2");
    assert_string_equal(order, "P01:O1");
    assert_int_equal(duration_timer_member_parse("NO_CHECKOUT|P01:O1", rule, sizeof(rule), subject,
                                        sizeof(subject), order, sizeof(order)),
                     0);
    assert_string_equal(rule, "NO_CHECKOUT");
    assert_string_equal(subject, "P01:O1");
    assert_string_equal(order, "P01:O1");
    static const char *const bad[] = {"NO_SHOW", "|O1", "NO_SHOW|", "NO_SHOW|@2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (duration_timer_member_parse(bad[i], rule, sizeof(rule), subject, sizeof(subject), order,
                               sizeof(order)) == 0)
            fail_msg("parsed %s", bad[i]);
    char tiny[4];
    assert_int_equal(duration_timer_member_parse("NO_SHOW|O1", tiny, sizeof(tiny), subject,
                                        sizeof(subject), order, sizeof(order)),
                     -1);
}

static void test_other_timers_carry_the_order_id(void **state)
{
    (void)state;
    char buf[128];
    assert_int_equal(duration_timer_member(DURATION_TIMER_NO_CHECKOUT, "P01:O1", 3, buf,
                                           sizeof(buf)),
                     0);
    assert_string_equal(buf, "NO_CHECKOUT|P01:O1");
    assert_int_equal(duration_timer_member(DURATION_TIMER_EVIDENCE_DEADLINE, "P01:O1", 0, buf,
                                           sizeof(buf)),
                     0);
    assert_string_equal(buf, "EVIDENCE_DEADLINE|P01:O1");
    assert_int_equal(duration_timer_member(DURATION_TIMER_NONE, "P01:O1", 0, buf, sizeof(buf)),
                     -1);
    assert_null(duration_timer_rule(DURATION_TIMER_NONE));
    assert_string_equal(duration_timer_rule(DURATION_TIMER_NO_SHOW), "NO_SHOW");
}

/* ---- what a record or a timer leads to ------------------------------------------- */

static void test_an_assignment_sets_its_no_show_timer(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    cw_order_revision first = {.revision = 0, .stream_key = "C1"};
    duration_assignment_plan p = duration_plan_assignment(0, &first, "C1", T0, &t);
    assert_true(p.set_no_show && !p.drop_previous && !p.mark_left0 && !p.mark_cancelled);
    assert_int_equal(p.no_show_due, T0 + 30 * MIN_MS);
    /* A revision on orders.assigned is only stored: its copy moves the timers. */
    cw_order_revision later = {.revision = 1, .kind = "RESCHEDULE", .reason_code = "R",
                               .stream_key = "C1", .previous_stream_key = "C1"};
    p = duration_plan_assignment(0, &later, "C1", T0, &t);
    assert_true(!p.set_no_show && !p.drop_previous && !p.mark_left0 && !p.mark_cancelled);
}

static void test_a_revisions_copies_move_the_no_show_timer(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    /* A reschedule: one copy, which leaves and arrives. */
    cw_order_revision moved = {.revision = 1, .kind = "RESCHEDULE", .reason_code = "R",
                               .stream_key = "C1", .previous_stream_key = "C1"};
    duration_assignment_plan p = duration_plan_assignment(1, &moved, "C1", T0 + HOUR_MS, &t);
    assert_true(p.mark_left0 && p.drop_previous && p.set_no_show && !p.mark_cancelled);
    assert_int_equal(p.no_show_due, T0 + HOUR_MS + 30 * MIN_MS);
    /* A reassign's two copies: the old caregiver's leaves, the new one's arrives. */
    cw_order_revision reassigned = {.revision = 2, .kind = "REASSIGN", .reason_code = "R",
                                    .stream_key = "C2", .previous_stream_key = "C1"};
    p = duration_plan_assignment(1, &reassigned, "C1", T0, &t);
    assert_true(p.drop_previous && !p.set_no_show && !p.mark_left0);
    p = duration_plan_assignment(1, &reassigned, "C2", T0, &t);
    assert_true(!p.drop_previous && p.set_no_show && !p.mark_left0);
    /* A cancel leaves and marks the order. */
    cw_order_revision cancel = {.revision = 1, .kind = "CANCEL", .reason_code = "ELDER_ILL",
                                .stream_key = "C1", .previous_stream_key = "C1"};
    p = duration_plan_assignment(1, &cancel, "C1", T0, &t);
    assert_true(p.mark_cancelled && p.drop_previous && p.mark_left0 && !p.set_no_show);
}

static duration_visit visit(int64_t in_at, const char *in_event, int64_t out_at,
                            const char *out_event)
{
    duration_visit v = {.has_in = in_event != NULL, .has_out = out_event != NULL,
                        .in_at = in_at, .out_at = out_at};
    snprintf(v.caregiver_id, sizeof(v.caregiver_id), "C1");
    snprintf(v.in_event, sizeof(v.in_event), "%s", in_event ? in_event : "");
    snprintf(v.out_event, sizeof(v.out_event), "%s", out_event ? out_event : "");
    return v;
}

static void test_first_events_set_their_timers(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    int64_t due = 0;
    duration_visit v = visit(T0, "E-in", 0, NULL);
    assert_int_equal(duration_timer_after_visit(&v, 1, "E-in", &t, &due),
                     DURATION_TIMER_NO_CHECKOUT);
    assert_int_equal(due, T0 + 240 * MIN_MS);
    /* A second check-in changes nothing. */
    assert_int_equal(duration_timer_after_visit(&v, 1, "E-in2", &t, &due), DURATION_TIMER_NONE);
    v = visit(T0, "E-in", T0 + HOUR_MS, "E-out");
    assert_int_equal(duration_timer_after_visit(&v, 0, "E-out", &t, &due),
                     DURATION_TIMER_EVIDENCE_DEADLINE);
    assert_int_equal(due, T0 + HOUR_MS + 72 * HOUR_MS);
    assert_int_equal(duration_timer_after_visit(&v, 0, "E-out2", &t, &due), DURATION_TIMER_NONE);
    /* A check-in that raced its order's cancel sets nothing. */
    v.cancelled = 1;
    assert_int_equal(duration_timer_after_visit(&v, 1, "E-in", &t, &due), DURATION_TIMER_NONE);
}

static void test_which_timers_are_judged(void **state)
{
    (void)state;
    duration_timer_kind kind = DURATION_TIMER_NONE;
    duration_visit none = visit(0, NULL, 0, NULL);
    duration_visit in = visit(T0, "E-in", 0, NULL);
    assert_int_equal(duration_fire_of("NO_SHOW", "O1", "O1", &none, &kind), DURATION_FIRE_JUDGE);
    assert_int_equal(kind, DURATION_TIMER_NO_SHOW);
    assert_int_equal(duration_fire_of("NO_CHECKOUT", "O1", "O1", &in, &kind),
                     DURATION_FIRE_JUDGE);
    assert_int_equal(kind, DURATION_TIMER_NO_CHECKOUT);
    assert_int_equal(duration_fire_of("EVIDENCE_DEADLINE", "O1", "O1", &none, &kind),
                     DURATION_FIRE_JUDGE);
    assert_int_equal(kind, DURATION_TIMER_EVIDENCE_DEADLINE);
    assert_int_equal(duration_fire_of("NO_CHECKOUT", "O1", "O1", &none, &kind),
                     DURATION_FIRE_UNKNOWN);
    assert_int_equal(duration_fire_of("LUNCH", "O1", "O1", &in, &kind), DURATION_FIRE_UNKNOWN);
    /* The original assignment's NO_SHOW after revision 1 left; a revision's still fires. */
    none.left0 = 1;
    assert_int_equal(duration_fire_of("NO_SHOW", "O1", "O1", &none, &kind), DURATION_FIRE_SKIP);
    assert_int_equal(duration_fire_of("NO_SHOW", "O1@1", "O1", &none, &kind),
                     DURATION_FIRE_JUDGE);
    /* Nothing of a cancelled order fires. */
    in.cancelled = 1;
    assert_int_equal(duration_fire_of("NO_CHECKOUT", "O1", "O1", &in, &kind),
                     DURATION_FIRE_SKIP);
    assert_int_equal(duration_fire_of("LUNCH", "O1", "O1", &in, &kind), DURATION_FIRE_SKIP);
}

static void test_timer_verdicts(void **state)
{
    (void)state;
    duration_thresholds t = defaults();
    duration_visit late = visit(T0 + 31 * MIN_MS, "E-in", 0, NULL);
    int64_t due = duration_due_no_show(T0, &t);
    duration_verdict v = duration_rule_timer(DURATION_TIMER_NO_SHOW, &late, due, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    assert_minutes(v.measured, 31 * MIN_MS);
    v = duration_rule_timer(DURATION_TIMER_NO_CHECKOUT, &late, due, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    assert_int_equal(v.has_measured, 0);
    v = duration_rule_timer(DURATION_TIMER_EVIDENCE_DEADLINE, &late, due, &t);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_true(v.measured == 72.0 && v.threshold == 72.0);
    assert_string_equal(v.unit, "h");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_short_exactly_at_threshold_passes),
        cmocka_unit_test(test_short_one_ms_under_threshold_is_orange),
        cmocka_unit_test(test_short_one_ms_over_threshold_passes),
        cmocka_unit_test(test_short_scheduled_30_threshold_25),
        cmocka_unit_test(test_short_full_and_overlong_visits_pass),
        cmocka_unit_test(test_short_zero_length_visit_is_orange),
        cmocka_unit_test(test_short_margin_comes_from_thresholds),
        cmocka_unit_test(test_short_threshold_zero_accepts_zero_length),
        cmocka_unit_test(test_no_show_without_check_in_is_orange),
        cmocka_unit_test(test_no_show_check_in_exactly_at_grace_passes),
        cmocka_unit_test(test_no_show_one_ms_after_grace_is_orange),
        cmocka_unit_test(test_no_show_on_time_and_early_pass),
        cmocka_unit_test(test_no_show_grace_comes_from_thresholds),
        cmocka_unit_test(test_no_checkout_exactly_at_window_passes),
        cmocka_unit_test(test_no_checkout_one_ms_after_window_is_orange),
        cmocka_unit_test(test_no_checkout_without_check_out_is_orange),
        cmocka_unit_test(test_no_checkout_short_visit_passes),
        cmocka_unit_test(test_no_checkout_window_comes_from_thresholds),
        cmocka_unit_test(test_due_times_default),
        cmocka_unit_test(test_due_times_follow_thresholds),
        cmocka_unit_test(test_due_times_match_rule_boundaries),
        cmocka_unit_test(test_daily_hours_exactly_at_the_cap_passes),
        cmocka_unit_test(test_daily_hours_one_ms_over_the_cap_is_orange),
        cmocka_unit_test(test_daily_hours_cap_is_a_parameter),
        cmocka_unit_test(test_daily_hours_day_is_the_check_ins_utc8_date),
        cmocka_unit_test(test_visit_length_is_half_open_and_never_negative),
        cmocka_unit_test(test_no_show_timer_remembers_its_revisions_start),
        cmocka_unit_test(test_no_show_members_carry_the_revision),
        cmocka_unit_test(test_timer_members_parse_back),
        cmocka_unit_test(test_daily_hours_third_long_visit_crosses_the_cap),
        cmocka_unit_test(test_other_timers_carry_the_order_id),
        cmocka_unit_test(test_an_assignment_sets_its_no_show_timer),
        cmocka_unit_test(test_a_revisions_copies_move_the_no_show_timer),
        cmocka_unit_test(test_first_events_set_their_timers),
        cmocka_unit_test(test_which_timers_are_judged),
        cmocka_unit_test(test_timer_verdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
