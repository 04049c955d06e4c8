/* services/overlap-detector/overlap_rules: half-open intervals,
 * SCHEDULE_OVERLAP, VISIT_OVERLAP and FROZEN_CAREGIVER. Boundaries are
 * built in exact integer milliseconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "overlap-detector/overlap_rules.h"

#define MIN_MS 60000LL
/* 2024-06-01T10:00:00Z */
#define T0 1717236000000LL
#define OPEN_MAX (240 * MIN_MS)

/* ---- helpers -------------------------------------------------------------- */

static void assert_minutes(double actual, int64_t expected_ms)
{
    double expected = (double)expected_ms / (double)MIN_MS;
    if (fabs(actual - expected) > 1e-9)
        fail_msg("expected %.12f min (%lld ms), got %.12f", expected, (long long)expected_ms,
                 actual);
}

static overlap_slot order(const char *id, int64_t start, int64_t end)
{
    overlap_slot o;
    memset(&o, 0, sizeof(o));
    snprintf(o.order_id, sizeof(o.order_id), "%s", id);
    o.start = start;
    o.end = end;
    return o;
}

static overlap_visit closed_visit(const char *id, int64_t in_at, int64_t out_at)
{
    overlap_visit v;
    memset(&v, 0, sizeof(v));
    snprintf(v.order_id, sizeof(v.order_id), "%s", id);
    v.in_at = in_at;
    v.has_out = 1;
    v.out_at = out_at;
    return v;
}

/* out_at is deliberately set to a misleading value: it must be ignored. */
static overlap_visit open_visit(const char *id, int64_t in_at)
{
    overlap_visit v = closed_visit(id, in_at, in_at + 1);
    v.has_out = 0;
    return v;
}

static void assert_pass(const cw_verdict *v, long other)
{
    assert_int_equal(v->outcome, CW_OUTCOME_PASS);
    assert_int_equal(v->has_measured, 0);
    assert_int_equal(v->has_threshold, 1);
    assert_minutes(v->threshold, 0);
    assert_string_equal(v->unit, "min");
    assert_int_equal(other, -1);
}

static void assert_red(const cw_verdict *v, long other, long expected_other, int64_t overlap_ms)
{
    assert_int_equal(v->outcome, CW_OUTCOME_RED);
    assert_int_equal(v->has_measured, 1);
    assert_minutes(v->measured, overlap_ms);
    assert_int_equal(v->has_threshold, 1);
    assert_minutes(v->threshold, 0);
    assert_string_equal(v->unit, "min");
    assert_int_equal(other, expected_other);
}

/* Both argument orders must agree. */
static int overlap_both(int64_t as, int64_t ae, int64_t bs, int64_t be)
{
    int ab = overlap_intervals_intersect(as, ae, bs, be);
    int ba = overlap_intervals_intersect(bs, be, as, ae);
    if (ab != ba)
        fail_msg("overlap_intervals_intersect not symmetric: %d vs %d", ab, ba);
    return ab;
}

/* ---- overlap_intervals_intersect ------------------------------------------ */

static void test_intervals_touching_do_not_overlap(void **state)
{
    (void)state;
    assert_int_equal(overlap_both(T0, T0 + 60 * MIN_MS, T0 + 60 * MIN_MS, T0 + 90 * MIN_MS), 0);
}

static void test_intervals_one_ms_overlap(void **state)
{
    (void)state;
    assert_int_equal(overlap_both(T0, T0 + 60 * MIN_MS + 1, T0 + 60 * MIN_MS, T0 + 90 * MIN_MS),
                     1);
}

static void test_intervals_one_ms_gap(void **state)
{
    (void)state;
    assert_int_equal(overlap_both(T0, T0 + 60 * MIN_MS, T0 + 60 * MIN_MS + 1, T0 + 90 * MIN_MS),
                     0);
}

static void test_intervals_partial_overlap(void **state)
{
    (void)state;
    assert_int_equal(overlap_both(T0, T0 + 60 * MIN_MS, T0 + 30 * MIN_MS, T0 + 90 * MIN_MS), 1);
}

static void test_intervals_containment(void **state)
{
    (void)state;
    assert_int_equal(overlap_both(T0, T0 + 120 * MIN_MS, T0 + 30 * MIN_MS, T0 + 60 * MIN_MS), 1);
    /* Sharing the start, and sharing the end. */
    assert_int_equal(overlap_both(T0, T0 + 120 * MIN_MS, T0, T0 + 60 * MIN_MS), 1);
    assert_int_equal(overlap_both(T0, T0 + 120 * MIN_MS, T0 + 60 * MIN_MS, T0 + 120 * MIN_MS), 1);
}

static void test_intervals_identical(void **state)
{
    (void)state;
    assert_int_equal(overlap_both(T0, T0 + 1, T0, T0 + 1), 1);
}

static void test_intervals_disjoint(void **state)
{
    (void)state;
    assert_int_equal(overlap_both(T0, T0 + 30 * MIN_MS, T0 + 120 * MIN_MS, T0 + 150 * MIN_MS), 0);
}

/* ---- overlap_rule_schedule ------------------------------------------------ */

static void test_schedule_empty_list_passes(void **state)
{
    (void)state;
    overlap_slot added = order("O-NEW", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_schedule(NULL, 0, &added, &other);
    assert_pass(&v, other);
}

static void test_schedule_touching_passes(void **state)
{
    (void)state;
    overlap_slot existing[] = {
        order("O-BEFORE", T0 - 60 * MIN_MS, T0),
        order("O-AFTER", T0 + 60 * MIN_MS, T0 + 120 * MIN_MS),
    };
    overlap_slot added = order("O-NEW", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_schedule(existing, 2, &added, &other);
    assert_pass(&v, other);
}

static void test_schedule_30_minute_overlap_is_red(void **state)
{
    (void)state;
    overlap_slot existing[] = {
        order("O-EARLY", T0 - 120 * MIN_MS, T0 - 60 * MIN_MS),
        order("O-CLASH", T0 + 30 * MIN_MS, T0 + 90 * MIN_MS),
    };
    overlap_slot added = order("O-NEW", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_schedule(existing, 2, &added, &other);
    assert_red(&v, other, 1, 30 * MIN_MS);
}

static void test_schedule_overlap_from_before(void **state)
{
    (void)state;
    overlap_slot existing[] = {order("O-CLASH", T0 - 30 * MIN_MS, T0 + 30 * MIN_MS)};
    overlap_slot added = order("O-NEW", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_schedule(existing, 1, &added, &other);
    assert_red(&v, other, 0, 30 * MIN_MS);
}

static void test_schedule_one_ms_overlap_is_red(void **state)
{
    (void)state;
    overlap_slot existing[] = {order("O-CLASH", T0 - 60 * MIN_MS, T0 + 1)};
    overlap_slot added = order("O-NEW", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_schedule(existing, 1, &added, &other);
    assert_red(&v, other, 0, 1);
}

static void test_schedule_containment_measures_inner(void **state)
{
    (void)state;
    overlap_slot existing[] = {order("O-LONG", T0 - 60 * MIN_MS, T0 + 180 * MIN_MS)};
    overlap_slot added = order("O-NEW", T0, T0 + 45 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_schedule(existing, 1, &added, &other);
    assert_red(&v, other, 0, 45 * MIN_MS);

    overlap_slot inner[] = {order("O-SHORT", T0 + 10 * MIN_MS, T0 + 20 * MIN_MS)};
    overlap_slot wide = order("O-WIDE", T0, T0 + 60 * MIN_MS);
    v = overlap_rule_schedule(inner, 1, &wide, &other);
    assert_red(&v, other, 0, 10 * MIN_MS);
}

static void test_schedule_ignores_the_order_itself(void **state)
{
    (void)state;
    overlap_slot existing[] = {order("O-NEW", T0, T0 + 60 * MIN_MS)};
    overlap_slot added = order("O-NEW", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_schedule(existing, 1, &added, &other);
    assert_pass(&v, other);
}

static void test_schedule_skips_itself_and_reports_later_index(void **state)
{
    (void)state;
    overlap_slot existing[] = {
        order("O-NEW", T0, T0 + 60 * MIN_MS),
        order("O-FAR", T0 + 300 * MIN_MS, T0 + 360 * MIN_MS),
        order("O-CLASH", T0 + 50 * MIN_MS, T0 + 100 * MIN_MS),
    };
    overlap_slot added = order("O-NEW", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_schedule(existing, 3, &added, &other);
    assert_red(&v, other, 2, 10 * MIN_MS);
}

static void test_schedule_reports_first_overlapping_index(void **state)
{
    (void)state;
    overlap_slot existing[] = {
        order("O-FAR", T0 - 300 * MIN_MS, T0 - 240 * MIN_MS),
        order("O-SECOND", T0 + 40 * MIN_MS, T0 + 100 * MIN_MS),
        order("O-THIRD", T0 - 30 * MIN_MS, T0 + 30 * MIN_MS),
    };
    overlap_slot added = order("O-NEW", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_schedule(existing, 3, &added, &other);
    assert_red(&v, other, 1, 20 * MIN_MS);
}

static void test_schedule_id_prefix_is_not_itself(void **state)
{
    (void)state;
    overlap_slot existing[] = {order("O-1", T0, T0 + 60 * MIN_MS)};
    overlap_slot added = order("O-10", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_schedule(existing, 1, &added, &other);
    assert_red(&v, other, 0, 60 * MIN_MS);
}

/* ---- overlap_visit_end ---------------------------------------------------- */

static void test_visit_end_with_check_out(void **state)
{
    (void)state;
    overlap_visit v = closed_visit("O-1", T0, T0 + 45 * MIN_MS);
    assert_int_equal(overlap_visit_end(&v, OPEN_MAX), T0 + 45 * MIN_MS);
    /* A check-out after in + open_max still ends the visit. */
    overlap_visit late = closed_visit("O-1", T0, T0 + 300 * MIN_MS);
    assert_int_equal(overlap_visit_end(&late, OPEN_MAX), T0 + 300 * MIN_MS);
}

static void test_visit_end_without_check_out(void **state)
{
    (void)state;
    overlap_visit v = open_visit("O-1", T0);
    assert_int_equal(overlap_visit_end(&v, OPEN_MAX), T0 + 240 * MIN_MS);
    assert_int_equal(overlap_visit_end(&v, 90 * MIN_MS), T0 + 90 * MIN_MS);
    assert_int_equal(overlap_visit_end(&v, 0), T0);
}

/* ---- overlap_rule_visit --------------------------------------------------- */

static void test_visit_empty_list_passes(void **state)
{
    (void)state;
    overlap_visit x = closed_visit("O-X", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(NULL, 0, &x, OPEN_MAX, &other);
    assert_pass(&v, other);
}

static void test_visit_earlier_still_open_is_red(void **state)
{
    (void)state;
    overlap_visit others[] = {closed_visit("O-A", T0 - 30 * MIN_MS, T0 + 30 * MIN_MS)};
    overlap_visit x = closed_visit("O-X", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, OPEN_MAX, &other);
    assert_red(&v, other, 0, 30 * MIN_MS);
}

/* measured = min(end_other, end_x) - x.in: here x ends first. */
static void test_visit_overlap_capped_by_x_end(void **state)
{
    (void)state;
    overlap_visit others[] = {closed_visit("O-A", T0 - 30 * MIN_MS, T0 + 120 * MIN_MS)};
    overlap_visit x = closed_visit("O-X", T0, T0 + 20 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, OPEN_MAX, &other);
    assert_red(&v, other, 0, 20 * MIN_MS);
}

static void test_visit_overlap_with_open_x(void **state)
{
    (void)state;
    overlap_visit others[] = {closed_visit("O-A", T0 - 30 * MIN_MS, T0 + 500 * MIN_MS)};
    overlap_visit x = open_visit("O-X", T0);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, OPEN_MAX, &other);
    assert_red(&v, other, 0, 240 * MIN_MS);

    overlap_visit shorter[] = {closed_visit("O-A", T0 - 30 * MIN_MS, T0 + 15 * MIN_MS)};
    v = overlap_rule_visit(shorter, 1, &x, OPEN_MAX, &other);
    assert_red(&v, other, 0, 15 * MIN_MS);
}

/* The overlap-detector decides VISIT_OVERLAP when a check-in is processed,
 * over the visits known then; a visit whose check-out is not known yet is
 * open. A check-in one second before the open visit's check-out overlaps it
 * by that second; one second after, the visit was over. */
static void test_check_in_one_second_before_the_check_out_is_red(void **state)
{
    (void)state;
    overlap_visit others[] = {closed_visit("O-A", T0, T0 + 60 * MIN_MS)};
    overlap_visit x = open_visit("O-X", T0 + 60 * MIN_MS - 1000);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, OPEN_MAX, &other);
    assert_red(&v, other, 0, 1000);
}

static void test_check_in_one_second_after_the_check_out_passes(void **state)
{
    (void)state;
    overlap_visit others[] = {closed_visit("O-A", T0, T0 + 60 * MIN_MS)};
    overlap_visit x = open_visit("O-X", T0 + 60 * MIN_MS + 1000);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, OPEN_MAX, &other);
    assert_pass(&v, other);
}

/* Neither check-out known when the later check-in is processed: both count
 * as open for open_max, and that is the overlap measured. */
static void test_check_in_while_the_other_has_no_check_out_is_red(void **state)
{
    (void)state;
    overlap_visit others[] = {open_visit("O-A", T0)};
    overlap_visit x = open_visit("O-X", T0 + 38 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, OPEN_MAX, &other);
    assert_red(&v, other, 0, (240 - 38) * MIN_MS);
}

static void test_visit_earlier_closed_exactly_at_x_in_passes(void **state)
{
    (void)state;
    overlap_visit others[] = {closed_visit("O-A", T0 - 60 * MIN_MS, T0)};
    overlap_visit x = closed_visit("O-X", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, OPEN_MAX, &other);
    assert_pass(&v, other);
}

static void test_visit_earlier_closed_one_ms_after_x_in_is_red(void **state)
{
    (void)state;
    overlap_visit others[] = {closed_visit("O-A", T0 - 60 * MIN_MS, T0 + 1)};
    overlap_visit x = closed_visit("O-X", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, OPEN_MAX, &other);
    assert_red(&v, other, 0, 1);
}

/* The later visit of an overlapping pair is the one flagged. */
static void test_visit_other_started_later_passes(void **state)
{
    (void)state;
    overlap_visit others[] = {
        closed_visit("O-B", T0 + 10 * MIN_MS, T0 + 90 * MIN_MS),
        open_visit("O-C", T0 + 1),
    };
    overlap_visit x = closed_visit("O-X", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 2, &x, OPEN_MAX, &other);
    assert_pass(&v, other);
}

static void test_visit_equal_check_in_larger_id_is_red(void **state)
{
    (void)state;
    overlap_visit others[] = {closed_visit("O-A", T0, T0 + 40 * MIN_MS)};
    overlap_visit x = closed_visit("O-B", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, OPEN_MAX, &other);
    assert_red(&v, other, 0, 40 * MIN_MS);
}

static void test_visit_equal_check_in_smaller_id_passes(void **state)
{
    (void)state;
    overlap_visit others[] = {closed_visit("O-B", T0, T0 + 40 * MIN_MS)};
    overlap_visit x = closed_visit("O-A", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, OPEN_MAX, &other);
    assert_pass(&v, other);
}

static void test_visit_open_other_exactly_open_max_before_passes(void **state)
{
    (void)state;
    overlap_visit others[] = {open_visit("O-A", T0 - 240 * MIN_MS)};
    overlap_visit x = closed_visit("O-X", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, OPEN_MAX, &other);
    assert_pass(&v, other);
}

static void test_visit_open_other_239_minutes_before_is_red(void **state)
{
    (void)state;
    overlap_visit others[] = {open_visit("O-A", T0 - 239 * MIN_MS)};
    overlap_visit x = closed_visit("O-X", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, OPEN_MAX, &other);
    assert_red(&v, other, 0, 1 * MIN_MS);

    overlap_visit by_ms[] = {open_visit("O-A", T0 - 240 * MIN_MS + 1)};
    v = overlap_rule_visit(by_ms, 1, &x, OPEN_MAX, &other);
    assert_red(&v, other, 0, 1);
}

static void test_visit_open_max_is_a_parameter(void **state)
{
    (void)state;
    overlap_visit others[] = {open_visit("O-A", T0 - 60 * MIN_MS)};
    overlap_visit x = closed_visit("O-X", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 1, &x, 60 * MIN_MS, &other);
    assert_pass(&v, other);
    v = overlap_rule_visit(others, 1, &x, 90 * MIN_MS, &other);
    assert_red(&v, other, 0, 30 * MIN_MS);
}

static void test_visit_ignores_x_itself(void **state)
{
    (void)state;
    /* A stale copy of x under its own id, earlier and still open, must not
     * count as another visit. */
    overlap_visit others[] = {
        closed_visit("O-X", T0, T0 + 60 * MIN_MS),
        open_visit("O-X", T0 - 10 * MIN_MS),
    };
    overlap_visit x = closed_visit("O-X", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 2, &x, OPEN_MAX, &other);
    assert_pass(&v, other);
}

static void test_visit_reports_first_overlapping_index(void **state)
{
    (void)state;
    overlap_visit others[] = {
        closed_visit("O-X", T0, T0 + 60 * MIN_MS),
        closed_visit("O-DONE", T0 - 90 * MIN_MS, T0 - 30 * MIN_MS),
        closed_visit("O-LATER", T0 + 5 * MIN_MS, T0 + 50 * MIN_MS),
        closed_visit("O-FIRST", T0 - 20 * MIN_MS, T0 + 10 * MIN_MS),
        open_visit("O-SECOND", T0 - 100 * MIN_MS),
    };
    overlap_visit x = closed_visit("O-X", T0, T0 + 60 * MIN_MS);
    long other = 42;
    cw_verdict v = overlap_rule_visit(others, 5, &x, OPEN_MAX, &other);
    assert_red(&v, other, 3, 10 * MIN_MS);
}

/* ---- overlap_rule_frozen -------------------------------------------------- */

static void test_frozen_caregiver(void **state)
{
    (void)state;
    cw_verdict frozen = overlap_rule_frozen(1);
    assert_int_equal(frozen.outcome, CW_OUTCOME_RED);
    assert_int_equal(frozen.has_measured, 0);
    assert_int_equal(frozen.has_threshold, 0);

    cw_verdict any_true = overlap_rule_frozen(7);
    assert_int_equal(any_true.outcome, CW_OUTCOME_RED);

    cw_verdict active = overlap_rule_frozen(0);
    assert_int_equal(active.outcome, CW_OUTCOME_PASS);
    assert_int_equal(active.has_measured, 0);
    assert_int_equal(active.has_threshold, 0);
}

/* ---- overlap_caregiver_step ----------------------------------------------- */

#define EVENT OVERLAP_CG_VISIT_EVENT
#define RED OVERLAP_CG_RED_VERDICT
#define UNFREEZE OVERLAP_CG_UNFREEZE

/* Judges a caregiver's stream item by item; returns the visit events'
 * outcomes in order. */
static size_t judge_stream(const overlap_cg_item *items, size_t n, cw_outcome *out)
{
    int frozen = 0;
    size_t events = 0;
    for (size_t i = 0; i < n; i++) {
        cw_verdict v = overlap_caregiver_step(&frozen, items[i]);
        if (items[i] == OVERLAP_CG_VISIT_EVENT)
            out[events++] = v.outcome;
        else
            assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    }
    return events;
}

/* The overlapping check-in is not frozen by its own verdict; the events
 * after it are, until the unfreeze; the events after the unfreeze are not,
 * however soon after it they come. */
static void test_unfreeze_between_two_events_of_one_caregiver(void **state)
{
    (void)state;
    const overlap_cg_item items[] = {EVENT, RED, EVENT, EVENT, UNFREEZE, EVENT};
    cw_outcome got[6];
    assert_int_equal(judge_stream(items, 6, got), 4);
    assert_int_equal(got[0], CW_OUTCOME_PASS);
    assert_int_equal(got[1], CW_OUTCOME_RED);
    assert_int_equal(got[2], CW_OUTCOME_RED);
    assert_int_equal(got[3], CW_OUTCOME_PASS);
}

/* The unfreeze a moment earlier in the stream: the event after it passes;
 * a later red verdict freezes again. */
static void test_unfreeze_then_freeze_again(void **state)
{
    (void)state;
    const overlap_cg_item items[] = {RED, UNFREEZE, EVENT, EVENT, RED, EVENT};
    cw_outcome got[6];
    assert_int_equal(judge_stream(items, 6, got), 3);
    assert_int_equal(got[0], CW_OUTCOME_PASS);
    assert_int_equal(got[1], CW_OUTCOME_PASS);
    assert_int_equal(got[2], CW_OUTCOME_RED);
}

/* ---- a stream's kept schedule (docs/maintenance.md) ----------------------- */

static void test_schedule_slot_round_trip(void **state)
{
    (void)state;
    char buf[128], cg[65];
    overlap_slot so = {0};
    assert_int_equal(overlap_slot_format(1714957200000LL, 1714960800000LL, "CG-1", buf,
                                          sizeof(buf)),
                     0);
    assert_string_equal(buf, "1714957200000|1714960800000|CG-1");
    assert_int_equal(overlap_slot_parse(buf, &so, cg, sizeof(cg)), 0);
    assert_int_equal(so.start, 1714957200000LL);
    assert_int_equal(so.end, 1714960800000LL);
    assert_string_equal(cg, "CG-1");
    char small[16];
    assert_int_equal(overlap_slot_format(1, 2, "CG-1-and-more", small, sizeof(small)), -1);
}

static void test_schedule_slot_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "1|2", "1|2|", "x|2|CG", "1|x|CG", "5|4|CG",
                                      "1 2|CG"};
    char cg[65];
    overlap_slot so = {0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (overlap_slot_parse(bad[i], &so, cg, sizeof(cg)) == 0)
            fail_msg("parsed '%s'", bad[i]);
    char tiny[3];
    assert_int_equal(overlap_slot_parse("1|2|CG-1", &so, tiny, sizeof(tiny)), -1);
}

/* ---- a visit's check-in as the store records it ----------------------------- */

/* The first check-in of a visit is recorded and judged; a check-out stored
 * before it keeps its time. */
static void test_first_check_in_is_recorded_and_judged(void **state)
{
    (void)state;
    overlap_visit_row row;
    memset(&row, 0, sizeof(row));
    row.v.has_out = 1;
    row.v.out_at = T0 + 30 * MIN_MS;
    assert_int_equal(overlap_visit_check_in(&row, T0, "E-IN"), 1);
    assert_true(row.has_in);
    assert_int_equal(row.v.in_at, T0);
    assert_string_equal(row.in_event, "E-IN");
    assert_true(row.v.has_out);
    assert_int_equal(row.v.out_at, T0 + 30 * MIN_MS);
}

/* The same check-in again (a replay) is judged again; a second check-in of
 * the order leaves the first one's time and is not judged. */
static void test_the_first_check_in_stands(void **state)
{
    (void)state;
    overlap_visit_row row;
    memset(&row, 0, sizeof(row));
    assert_int_equal(overlap_visit_check_in(&row, T0, "E-IN"), 1);
    assert_int_equal(overlap_visit_check_in(&row, T0, "E-IN"), 1);
    assert_int_equal(overlap_visit_check_in(&row, T0 + MIN_MS, "E-IN-2"), 0);
    assert_int_equal(row.v.in_at, T0);
    assert_string_equal(row.in_event, "E-IN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intervals_touching_do_not_overlap),
        cmocka_unit_test(test_schedule_slot_round_trip),
        cmocka_unit_test(test_schedule_slot_malformed),
        cmocka_unit_test(test_intervals_one_ms_overlap),
        cmocka_unit_test(test_intervals_one_ms_gap),
        cmocka_unit_test(test_intervals_partial_overlap),
        cmocka_unit_test(test_intervals_containment),
        cmocka_unit_test(test_intervals_identical),
        cmocka_unit_test(test_intervals_disjoint),
        cmocka_unit_test(test_schedule_empty_list_passes),
        cmocka_unit_test(test_schedule_touching_passes),
        cmocka_unit_test(test_schedule_30_minute_overlap_is_red),
        cmocka_unit_test(test_schedule_overlap_from_before),
        cmocka_unit_test(test_schedule_one_ms_overlap_is_red),
        cmocka_unit_test(test_schedule_containment_measures_inner),
        cmocka_unit_test(test_schedule_ignores_the_order_itself),
        cmocka_unit_test(test_schedule_skips_itself_and_reports_later_index),
        cmocka_unit_test(test_schedule_reports_first_overlapping_index),
        cmocka_unit_test(test_schedule_id_prefix_is_not_itself),
        cmocka_unit_test(test_visit_end_with_check_out),
        cmocka_unit_test(test_visit_end_without_check_out),
        cmocka_unit_test(test_visit_empty_list_passes),
        cmocka_unit_test(test_visit_earlier_still_open_is_red),
        cmocka_unit_test(test_visit_overlap_capped_by_x_end),
        cmocka_unit_test(test_visit_overlap_with_open_x),
        cmocka_unit_test(test_check_in_one_second_before_the_check_out_is_red),
        cmocka_unit_test(test_check_in_one_second_after_the_check_out_passes),
        cmocka_unit_test(test_check_in_while_the_other_has_no_check_out_is_red),
        cmocka_unit_test(test_visit_earlier_closed_exactly_at_x_in_passes),
        cmocka_unit_test(test_visit_earlier_closed_one_ms_after_x_in_is_red),
        cmocka_unit_test(test_visit_other_started_later_passes),
        cmocka_unit_test(test_visit_equal_check_in_larger_id_is_red),
        cmocka_unit_test(test_visit_equal_check_in_smaller_id_passes),
        cmocka_unit_test(test_visit_open_other_exactly_open_max_before_passes),
        cmocka_unit_test(test_visit_open_other_239_minutes_before_is_red),
        cmocka_unit_test(test_visit_open_max_is_a_parameter),
        cmocka_unit_test(test_visit_ignores_x_itself),
        cmocka_unit_test(test_visit_reports_first_overlapping_index),
        cmocka_unit_test(test_frozen_caregiver),
        cmocka_unit_test(test_unfreeze_between_two_events_of_one_caregiver),
        cmocka_unit_test(test_unfreeze_then_freeze_again),
        cmocka_unit_test(test_first_check_in_is_recorded_and_judged),
        cmocka_unit_test(test_the_first_check_in_stands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
