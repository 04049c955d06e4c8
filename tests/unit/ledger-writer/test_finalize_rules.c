/* services/ledger-writer/finalize_rules: when an order is final, VALID or
 * INVALID, its reasons and its event-time finalized_at, on every path of
 * docs/design.md §5: complete or not, red, no-show within and beyond
 * 24 h, questionable cured by evidence at and after the 72 h deadline,
 * with and without a check-out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ledger-writer/finalize_rules.h"

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
/* 2024-05-06T09:00:00+08:00 */
#define START 1714957200000LL
#define IN_AT (START + 2 * MIN_MS)
#define OUT_AT (START + 65 * MIN_MS)
#define MAX_CHECKS 64

typedef struct {
    ledger_fin_dossier d;
    ledger_fin_check checks[MAX_CHECKS];
} order_case;

static void add_check(order_case *c, const char *subject, const char *rule, cw_outcome outcome,
                      int64_t at)
{
    assert_true(c->d.check_count < MAX_CHECKS);
    ledger_fin_check *k = &c->checks[c->d.check_count++];
    snprintf(k->subject, sizeof(k->subject), "%s", subject);
    snprintf(k->rule, sizeof(k->rule), "%s", rule);
    k->outcome = outcome;
    k->at = at;
}

static void add_all(order_case *c, const char *subject, const char *const *rules, int64_t at,
                    int skip_short)
{
    for (size_t i = 0; rules[i] != NULL; i++)
        if (!(skip_short && (strcmp(rules[i], "SHORT_DURATION") == 0 ||
                             strcmp(rules[i], "DAILY_HOURS_EXCEEDED") == 0)))
            add_check(c, subject, rules[i], CW_OUTCOME_PASS, at);
}

/* Removes every verdict of one rule (it has not come yet). */
static void drop_rule(order_case *c, const char *rule)
{
    size_t kept = 0;
    for (size_t i = 0; i < c->d.check_count; i++)
        if (strcmp(c->checks[i].rule, rule) != 0)
            c->checks[kept++] = c->checks[i];
    c->d.check_count = kept;
}

/* Sets the outcome of one check already added. */
static void set_outcome(order_case *c, const char *subject, const char *rule, cw_outcome o)
{
    for (size_t i = 0; i < c->d.check_count; i++) {
        if (strcmp(c->checks[i].subject, subject) == 0 && strcmp(c->checks[i].rule, rule) == 0) {
            c->checks[i].outcome = o;
            return;
        }
    }
    fail_msg("no check %s %s", subject, rule);
}

static void order_only(order_case *c)
{
    memset(c, 0, sizeof(*c));
    c->d.checks = c->checks;
    c->d.has_order = 1;
    snprintf(c->d.order_id, sizeof(c->d.order_id), "O1");
    c->d.scheduled_start = START;
    add_check(c, "O1", "NO_SHOW", CW_OUTCOME_PASS, START + 30 * MIN_MS);
    add_check(c, "O1", "SCHEDULE_OVERLAP", CW_OUTCOME_PASS, START - HOUR_MS);
    add_check(c, "O1", "CROSS_PROVIDER_OVERLAP", CW_OUTCOME_PASS, START - HOUR_MS);
    add_check(c, "O1", "UNCERTIFIED", CW_OUTCOME_PASS, START - HOUR_MS);
}

static void with_check_in(order_case *c, int64_t in_at)
{
    c->d.has_in = 1;
    c->d.in_at = in_at;
    snprintf(c->d.in_event, sizeof(c->d.in_event), "O1-in");
    add_all(c, "O1-in", ledger_fin_check_in_rules, in_at, 0);
    /* NO_CHECKOUT is judged when its timer fires, 240 min after check-in. */
    set_outcome(c, "O1-in", "NO_CHECKOUT", CW_OUTCOME_PASS);
    c->checks[c->d.check_count - 1].at = in_at;
}

static void with_check_out(order_case *c, int64_t out_at)
{
    c->d.has_out = 1;
    c->d.out_at = out_at;
    snprintf(c->d.out_event, sizeof(c->d.out_event), "O1-out");
    add_all(c, "O1-out", ledger_fin_check_out_rules, out_at, !c->d.has_in);
}

static void full_visit(order_case *c)
{
    order_only(c);
    with_check_in(c, IN_AT);
    with_check_out(c, OUT_AT);
}

static ledger_fin_decision run(const order_case *c, int64_t wm)
{
    ledger_fin_windows w;
    ledger_fin_windows_default(&w);
    return ledger_finalize_decide(&c->d, wm, &w);
}

static void assert_reasons(const ledger_fin_decision *f, const char *expected_csv)
{
    char got[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < f->reason_count; i++)
        used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s", i ? "," : "",
                                 f->reasons[i]);
    assert_string_equal(got, expected_csv);
}

/* ---- completeness ---------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    ledger_fin_windows w;
    memset(&w, 0x5a, sizeof(w));
    ledger_fin_windows_default(&w);
    assert_int_equal(w.no_show_invalid_ms, 24 * HOUR_MS);
    assert_int_equal(w.no_checkout_ms, 240 * MIN_MS);
    assert_int_equal(w.evidence_window_ms, 72 * HOUR_MS);
}

static void test_unknown_order_waits(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    c.d.has_order = 0;
    ledger_fin_decision f = run(&c, INT64_MAX);
    assert_int_equal(f.state, LEDGER_FIN_WAIT);
    assert_int_equal(f.wake_at, INT64_MAX);
    assert_string_equal(f.missing_rule, "OrderAssigned");
}

static void test_honest_visit_is_valid_once_complete(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    ledger_fin_decision f = run(&c, OUT_AT);
    assert_int_equal(f.state, LEDGER_FIN_VALID);
    assert_int_equal(f.reason_count, 0);
    assert_int_equal(f.finalized_at, OUT_AT);
}

static void test_each_missing_verdict_waits(void **state)
{
    (void)state;
    order_case full;
    full_visit(&full);
    for (size_t skip = 0; skip < full.d.check_count; skip++) {
        order_case c = full;
        c.d.checks = c.checks;
        c.checks[skip] = c.checks[c.d.check_count - 1];
        c.d.check_count--;
        ledger_fin_decision f = run(&c, INT64_MAX);
        assert_int_equal(f.state, LEDGER_FIN_WAIT);
        assert_int_equal(f.wake_at, INT64_MAX);
        assert_string_equal(f.missing_rule, full.checks[skip].rule);
        assert_string_equal(f.missing_subject, full.checks[skip].subject);
    }
}

static void test_verdict_of_another_event_does_not_complete(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    snprintf(c.checks[c.d.check_count - 1].subject, LEDGER_FIN_ID_MAX, "O1-out-2");
    assert_int_equal(run(&c, INT64_MAX).state, LEDGER_FIN_WAIT);
}

/* DAILY_HOURS_EXCEEDED is owed for a visit with both events: without it
 * the order waits; orange makes it questionable like SHORT_DURATION. */
static void test_daily_hours_is_awaited_and_questionable(void **state)
{
    (void)state;
    order_case w;
    full_visit(&w);
    drop_rule(&w, "DAILY_HOURS_EXCEEDED");
    ledger_fin_decision wait = run(&w, OUT_AT + 100 * HOUR_MS);
    assert_int_equal(wait.state, LEDGER_FIN_WAIT);
    assert_string_equal(wait.missing_rule, "DAILY_HOURS_EXCEEDED");

    order_case c;
    full_visit(&c);
    set_outcome(&c, "O1-out", "DAILY_HOURS_EXCEEDED", CW_OUTCOME_ORANGE);
    ledger_fin_decision f = run(&c, OUT_AT + 72 * HOUR_MS + 1);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_reasons(&f, "DAILY_HOURS_EXCEEDED,EVIDENCE_EXPIRED");
}

static void test_check_out_without_check_in_needs_no_short_duration(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    with_check_out(&c, OUT_AT);
    set_outcome(&c, "O1", "NO_SHOW", CW_OUTCOME_ORANGE);
    ledger_fin_decision f = run(&c, START + 24 * HOUR_MS + 1);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_reasons(&f, "NO_SHOW");
}

static void test_pass_verdicts_wait_for_the_events_they_vouch_for(void **state)
{
    (void)state;
    order_case c;
    order_only(&c); /* NO_SHOW PASS: a check-in came in time */
    ledger_fin_decision f = run(&c, INT64_MAX);
    assert_int_equal(f.state, LEDGER_FIN_WAIT);
    assert_string_equal(f.missing_rule, "CHECK_IN");

    order_only(&c);
    with_check_in(&c, IN_AT); /* NO_CHECKOUT PASS: a check-out came in time */
    f = run(&c, INT64_MAX);
    assert_int_equal(f.state, LEDGER_FIN_WAIT);
    assert_int_equal(f.wake_at, INT64_MAX);
    assert_string_equal(f.missing_rule, "CHECK_OUT");

    with_check_out(&c, OUT_AT);
    assert_int_equal(run(&c, INT64_MAX).state, LEDGER_FIN_VALID);
}

/* ---- red and no-show -------------------------------------------------------- */

static void test_red_is_invalid_at_once(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    set_outcome(&c, "O1-in", "VISIT_OVERLAP", CW_OUTCOME_RED);
    set_outcome(&c, "O1-out", "GEO_DISTANCE", CW_OUTCOME_YELLOW);
    c.d.has_evidence = 1;
    c.d.evidence_at = OUT_AT + HOUR_MS; /* evidence does not cure red */
    ledger_fin_decision f = run(&c, OUT_AT);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_reasons(&f, "GEO_DISTANCE,VISIT_OVERLAP");
    assert_int_equal(f.finalized_at, OUT_AT);
}

static void test_no_check_in_is_invalid_only_after_24h(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    set_outcome(&c, "O1", "NO_SHOW", CW_OUTCOME_ORANGE);
    int64_t deadline = START + 24 * HOUR_MS;
    ledger_fin_decision waiting = run(&c, deadline);
    assert_int_equal(waiting.state, LEDGER_FIN_WAIT);
    assert_int_equal(waiting.wake_at, deadline);
    assert_int_equal(waiting.reason_count, 0);

    ledger_fin_decision f = run(&c, deadline + 1);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_reasons(&f, "NO_SHOW");
    assert_int_equal(f.finalized_at, deadline);
}

/* An unvisited order of an elder in hospital (or dead) at its start is
 * CANCELLED, not a no-show: neither paid nor deducted. */
static void test_unvisited_order_of_an_elder_away_is_cancelled(void **state)
{
    (void)state;
    int64_t deadline = START + 24 * HOUR_MS;
    const cw_elder_status away[] = {CW_ELDER_STATUS_HOSPITALIZED, CW_ELDER_STATUS_DECEASED};
    const char *reason[] = {"ELDER_HOSPITALIZED", "ELDER_DECEASED"};
    for (int i = 0; i < 2; i++) {
        order_case c;
        order_only(&c);
        set_outcome(&c, "O1", "NO_SHOW", CW_OUTCOME_ORANGE);
        c.d.elder_at_start = away[i];
        ledger_fin_decision waiting = run(&c, deadline);
        assert_int_equal(waiting.state, LEDGER_FIN_WAIT);
        assert_int_equal(waiting.wake_at, deadline);
        ledger_fin_decision f = run(&c, deadline + 1);
        assert_int_equal(f.state, LEDGER_FIN_CANCELLED);
        assert_reasons(&f, reason[i]);
        assert_int_equal(f.finalized_at, deadline);
        assert_string_equal(ledger_fin_state_name(f.state), "CANCELLED");
    }
    /* A red verdict still makes it INVALID. */
    order_case r;
    order_only(&r);
    set_outcome(&r, "O1", "NO_SHOW", CW_OUTCOME_ORANGE);
    set_outcome(&r, "O1", "SCHEDULE_OVERLAP", CW_OUTCOME_RED);
    r.d.elder_at_start = CW_ELDER_STATUS_HOSPITALIZED;
    assert_int_equal(run(&r, deadline + 1).state, LEDGER_FIN_INVALID);
    /* Visited anyway: judged as a visit (ELDER_UNAVAILABLE flags it). */
    order_case v;
    full_visit(&v);
    v.d.elder_at_start = CW_ELDER_STATUS_HOSPITALIZED;
    assert_int_equal(run(&v, OUT_AT).state, LEDGER_FIN_VALID);
}

static void test_no_show_evidence_does_not_cure_an_undelivered_order(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    set_outcome(&c, "O1", "NO_SHOW", CW_OUTCOME_ORANGE);
    c.d.has_evidence = 1;
    c.d.evidence_at = START + HOUR_MS;
    ledger_fin_decision f = run(&c, START + 25 * HOUR_MS);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_reasons(&f, "NO_SHOW");
}

static void test_check_in_after_24h_is_no_visit(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    set_outcome(&c, "O1", "NO_SHOW", CW_OUTCOME_ORANGE);
    with_check_in(&c, START + 24 * HOUR_MS + 1);
    with_check_out(&c, START + 25 * HOUR_MS);
    c.d.has_evidence = 1;
    c.d.evidence_at = START + 26 * HOUR_MS;
    ledger_fin_decision f = run(&c, START + 25 * HOUR_MS);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_reasons(&f, "NO_SHOW");
    assert_int_equal(f.finalized_at, START + 25 * HOUR_MS);
}

static void test_check_in_exactly_at_24h_is_a_late_visit(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    set_outcome(&c, "O1", "NO_SHOW", CW_OUTCOME_ORANGE);
    with_check_in(&c, START + 24 * HOUR_MS);
    with_check_out(&c, START + 25 * HOUR_MS);
    c.d.has_evidence = 1;
    c.d.evidence_at = START + 26 * HOUR_MS;
    ledger_fin_decision f = run(&c, START + 25 * HOUR_MS);
    assert_int_equal(f.state, LEDGER_FIN_VALID);
    assert_reasons(&f, "NO_SHOW");
    assert_int_equal(f.finalized_at, START + 26 * HOUR_MS);
}

/* ---- questionable ------------------------------------------------------------- */

static void test_questionable_waits_for_the_deadline(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    set_outcome(&c, "O1-in", "FACE_MISMATCH", CW_OUTCOME_ORANGE);
    int64_t deadline = OUT_AT + 72 * HOUR_MS;
    ledger_fin_decision f = run(&c, deadline);
    assert_int_equal(f.state, LEDGER_FIN_WAIT);
    assert_int_equal(f.wake_at, deadline);
}

static void test_questionable_expires_one_ms_after_deadline(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    set_outcome(&c, "O1-in", "FACE_MISMATCH", CW_OUTCOME_ORANGE);
    set_outcome(&c, "O1-out", "VOICE_UNCONFIRMED", CW_OUTCOME_YELLOW);
    int64_t deadline = OUT_AT + 72 * HOUR_MS;
    ledger_fin_decision f = run(&c, deadline + 1);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_reasons(&f, "EVIDENCE_EXPIRED,FACE_MISMATCH,VOICE_UNCONFIRMED");
    assert_int_equal(f.finalized_at, deadline);
}

static void test_evidence_exactly_at_deadline_cures(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    set_outcome(&c, "O1-out", "SHORT_DURATION", CW_OUTCOME_ORANGE);
    c.d.has_evidence = 1;
    c.d.evidence_at = OUT_AT + 72 * HOUR_MS;
    /* Decided as soon as the evidence is known, whatever the watermark. */
    ledger_fin_decision f = run(&c, OUT_AT);
    assert_int_equal(f.state, LEDGER_FIN_VALID);
    assert_reasons(&f, "SHORT_DURATION");
    assert_int_equal(f.finalized_at, c.d.evidence_at);
}

static void test_evidence_one_ms_late_does_not_cure(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    set_outcome(&c, "O1-out", "SHORT_DURATION", CW_OUTCOME_ORANGE);
    c.d.has_evidence = 1;
    c.d.evidence_at = OUT_AT + 72 * HOUR_MS + 1;
    assert_int_equal(run(&c, OUT_AT + 72 * HOUR_MS).state, LEDGER_FIN_WAIT);
    ledger_fin_decision f = run(&c, OUT_AT + 72 * HOUR_MS + 1);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_reasons(&f, "EVIDENCE_EXPIRED,SHORT_DURATION");
}

static void test_no_checkout_deadline_counts_from_check_in(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    with_check_in(&c, IN_AT);
    set_outcome(&c, "O1-in", "NO_CHECKOUT", CW_OUTCOME_ORANGE);
    int64_t deadline = IN_AT + 240 * MIN_MS + 72 * HOUR_MS;
    ledger_fin_decision waiting = run(&c, deadline);
    assert_int_equal(waiting.state, LEDGER_FIN_WAIT);
    assert_int_equal(waiting.wake_at, deadline);

    c.d.has_evidence = 1;
    c.d.evidence_at = deadline;
    ledger_fin_decision cured = run(&c, deadline);
    assert_int_equal(cured.state, LEDGER_FIN_VALID);
    assert_reasons(&cured, "NO_CHECKOUT");

    c.d.evidence_at = deadline + 1;
    ledger_fin_decision expired = run(&c, deadline + 1);
    assert_int_equal(expired.state, LEDGER_FIN_INVALID);
    assert_reasons(&expired, "EVIDENCE_EXPIRED,NO_CHECKOUT");
    assert_int_equal(expired.finalized_at, deadline);
}

static void test_late_check_in_within_24h_is_questionable(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    set_outcome(&c, "O1", "NO_SHOW", CW_OUTCOME_ORANGE);
    with_check_in(&c, START + 3 * HOUR_MS);
    with_check_out(&c, START + 4 * HOUR_MS);
    ledger_fin_decision f = run(&c, START + 4 * HOUR_MS + 72 * HOUR_MS + 1);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_reasons(&f, "EVIDENCE_EXPIRED,NO_SHOW");
}

/* ---- reasons and times ------------------------------------------------------- */

static void test_reasons_sorted_once_whatever_the_arrival_order(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    set_outcome(&c, "O1-out", "PHOTO_REUSE", CW_OUTCOME_ORANGE);
    set_outcome(&c, "O1-in", "PHOTO_REUSE", CW_OUTCOME_ORANGE);
    set_outcome(&c, "O1-in", "GEO_DISTANCE", CW_OUTCOME_YELLOW);
    set_outcome(&c, "O1-out", "FROZEN_CAREGIVER", CW_OUTCOME_RED);
    ledger_fin_decision a = run(&c, OUT_AT);

    order_case reversed = c;
    reversed.d.checks = reversed.checks;
    for (size_t i = 0; i < c.d.check_count; i++)
        reversed.checks[i] = c.checks[c.d.check_count - 1 - i];
    ledger_fin_decision b = run(&reversed, OUT_AT);
    assert_reasons(&a, "FROZEN_CAREGIVER,GEO_DISTANCE,PHOTO_REUSE");
    assert_reasons(&b, "FROZEN_CAREGIVER,GEO_DISTANCE,PHOTO_REUSE");
    assert_int_equal(a.finalized_at, b.finalized_at);
}

static void test_finalized_at_is_the_latest_verdict(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    int64_t timer_at = IN_AT + 240 * MIN_MS; /* NO_CHECKOUT's timer */
    for (size_t i = 0; i < c.d.check_count; i++)
        if (strcmp(c.checks[i].rule, "NO_CHECKOUT") == 0)
            c.checks[i].at = timer_at;
    ledger_fin_decision f = run(&c, timer_at);
    assert_int_equal(f.state, LEDGER_FIN_VALID);
    assert_int_equal(f.finalized_at, timer_at);
}

static void test_assignment_receipt_time_is_not_event_time(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    /* Received live, years after the replayed visit. */
    for (size_t i = 0; i < c.d.check_count; i++)
        if (strcmp(c.checks[i].subject, "O1") == 0 && strcmp(c.checks[i].rule, "NO_SHOW") != 0)
            c.checks[i].at = START + 900LL * 24 * HOUR_MS;
    ledger_fin_decision f = run(&c, OUT_AT);
    assert_int_equal(f.state, LEDGER_FIN_VALID);
    assert_int_equal(f.finalized_at, OUT_AT);
    /* The check-in's CROSS_PROVIDER_OVERLAP is event time: it counts. */
    for (size_t i = 0; i < c.d.check_count; i++)
        if (strcmp(c.checks[i].subject, "O1-in") == 0 &&
            strcmp(c.checks[i].rule, "CROSS_PROVIDER_OVERLAP") == 0)
            c.checks[i].at = OUT_AT + HOUR_MS;
    assert_int_equal(run(&c, OUT_AT).finalized_at, OUT_AT + HOUR_MS);
}

/* UNCERTIFIED is owed for every order; red makes it INVALID however well
 * it was visited, and evidence does not cure it. */
static void test_uncertified_is_awaited_and_red_invalidates(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    set_outcome(&c, "O1", "UNCERTIFIED", CW_OUTCOME_RED);
    c.d.has_evidence = 1;
    c.d.evidence_at = OUT_AT + HOUR_MS;
    ledger_fin_decision f = run(&c, OUT_AT + HOUR_MS);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_int_equal(f.reason_count, 1);
    assert_string_equal(f.reasons[0], "UNCERTIFIED");

    order_case w;
    full_visit(&w);
    drop_rule(&w, "UNCERTIFIED");
    ledger_fin_decision wait = run(&w, OUT_AT + 100 * HOUR_MS);
    assert_int_equal(wait.state, LEDGER_FIN_WAIT);
    assert_string_equal(wait.missing_rule, "UNCERTIFIED");
}

/* Evidence showing another order's photo or recording (EVIDENCE_REUSE)
 * cures nothing: the questionable order expires, and names the reuse. */
static void test_reused_evidence_cures_nothing_and_is_named(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    set_outcome(&c, "O1-in", "GEO_DISTANCE", CW_OUTCOME_YELLOW);
    c.d.has_reused_evidence = 1;
    c.d.reused_evidence_at = OUT_AT + 2 * HOUR_MS;
    ledger_fin_decision f = run(&c, OUT_AT + 71 * HOUR_MS);
    assert_int_equal(f.state, LEDGER_FIN_WAIT);
    f = run(&c, OUT_AT + 73 * HOUR_MS);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_reasons(&f, "EVIDENCE_EXPIRED,EVIDENCE_REUSE,GEO_DISTANCE");
    /* Genuine evidence in time still cures it. */
    c.d.has_evidence = 1;
    c.d.evidence_at = OUT_AT + 3 * HOUR_MS;
    f = run(&c, OUT_AT + 73 * HOUR_MS);
    assert_int_equal(f.state, LEDGER_FIN_VALID);
    /* Reused evidence after the deadline is not named. */
    c.d.has_evidence = 0;
    c.d.reused_evidence_at = OUT_AT + 80 * HOUR_MS;
    f = run(&c, OUT_AT + 81 * HOUR_MS);
    assert_reasons(&f, "EVIDENCE_EXPIRED,GEO_DISTANCE");
}

/* ---- what the payment scheduler is promised ------------------------------ */

/* For a dossier at every stage, the lower bound never exceeds the
 * finalized_at the order then gets. */
static void test_lower_bound_never_exceeds_finalized_at(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    /* SCHEDULE_OVERLAP's receipt time is not event time: not counted. */
    assert_int_equal(ledger_finalize_lower_bound(&c.d), START + 30 * MIN_MS);
    with_check_in(&c, IN_AT);
    int64_t lb_in = ledger_finalize_lower_bound(&c.d);
    assert_int_equal(lb_in, START + 30 * MIN_MS);
    with_check_out(&c, OUT_AT);
    int64_t lb = ledger_finalize_lower_bound(&c.d);
    assert_int_equal(lb, OUT_AT);
    ledger_fin_decision f = run(&c, OUT_AT);
    assert_int_equal(f.state, LEDGER_FIN_VALID);
    assert_true(lb <= f.finalized_at && lb_in <= f.finalized_at);

    /* A verdict about another event of the order is not taken. */
    add_check(&c, "O1-in-again", "GEO_DISTANCE", CW_OUTCOME_PASS, OUT_AT + 5 * HOUR_MS);
    assert_int_equal(ledger_finalize_lower_bound(&c.d), OUT_AT);

    /* Evidence after its deadline does not raise finalized_at: nor the bound. */
    order_case q;
    full_visit(&q);
    set_outcome(&q, "O1-in", "GEO_DISTANCE", CW_OUTCOME_YELLOW);
    q.d.has_evidence = 1;
    q.d.evidence_at = OUT_AT + 80 * HOUR_MS;
    int64_t lb_q = ledger_finalize_lower_bound(&q.d);
    ledger_fin_decision e = run(&q, OUT_AT + 73 * HOUR_MS);
    assert_int_equal(e.state, LEDGER_FIN_INVALID);
    assert_true(lb_q <= e.finalized_at);
}

/* A no-show in progress: the assignment alone is known (its NO_SHOW
 * verdict still to come from a checker that lags). Its bound is its start,
 * never above the finalized_at the verdict then gives it. */
static void test_lower_bound_of_an_assignment_alone(void **state)
{
    (void)state;
    order_case c;
    memset(&c, 0, sizeof(c));
    c.d.checks = c.checks;
    c.d.has_order = 1;
    snprintf(c.d.order_id, sizeof(c.d.order_id), "O1");
    c.d.scheduled_start = START;
    int64_t lb = ledger_finalize_lower_bound(&c.d);
    assert_true(lb == START);
    add_check(&c, "O1", "NO_SHOW", CW_OUTCOME_RED, START + 30 * MIN_MS);
    add_check(&c, "O1", "SCHEDULE_OVERLAP", CW_OUTCOME_PASS, START - HOUR_MS);
    add_check(&c, "O1", "CROSS_PROVIDER_OVERLAP", CW_OUTCOME_PASS, START - HOUR_MS);
    add_check(&c, "O1", "UNCERTIFIED", CW_OUTCOME_PASS, START - HOUR_MS);
    ledger_fin_decision f = run(&c, START + 2 * HOUR_MS);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_true(lb <= f.finalized_at);
    /* Once a verdict is known, the verdicts bound it. */
    assert_true(ledger_finalize_lower_bound(&c.d) == START + 30 * MIN_MS);
}

static void test_pending_horizon_follows_the_slowest_source(void **state)
{
    (void)state;
    const int64_t cap = 168 * HOUR_MS, wm = START + 240 * HOUR_MS;
    /* Sources caught up: cap before the writer's watermark. */
    assert_true(ledger_finalize_pending_horizon(wm, wm + HOUR_MS, cap) == wm - cap);
    /* A checker 5 days behind: its verdicts are still owed. */
    assert_true(ledger_finalize_pending_horizon(wm, wm - 120 * HOUR_MS, cap) ==
                wm - 120 * HOUR_MS - cap);
    /* A source without a clock: nothing is given up on. */
    assert_true(ledger_finalize_pending_horizon(wm, INT64_MIN, cap) == INT64_MIN);
    assert_true(ledger_finalize_pending_horizon(INT64_MIN + 5, wm, cap) == INT64_MIN);
}

static void test_lower_bound_of_an_empty_dossier(void **state)
{
    (void)state;
    order_case c;
    memset(&c, 0, sizeof(c));
    c.d.checks = c.checks;
    assert_true(ledger_finalize_lower_bound(&c.d) == INT64_MIN);
}

static void test_finalized_through(void **state)
{
    (void)state;
    const int64_t wm = START + 10 * HOUR_MS;
    /* Nothing pending: the smallest watermark. */
    assert_true(ledger_finalize_through(wm, 0, 0, INT64_MIN) == wm);
    /* A pending order may finalize at its bound: one less. */
    assert_true(ledger_finalize_through(wm, 1, START, INT64_MIN) == START - 1);
    assert_true(ledger_finalize_through(wm, 1, wm + 1, INT64_MIN) == wm);
    assert_true(ledger_finalize_through(wm, 1, wm, INT64_MIN) == wm - 1);
    /* A pending order with no time known holds it at the very beginning. */
    assert_true(ledger_finalize_through(wm, 1, INT64_MIN, INT64_MIN) == INT64_MIN);
    /* What was promised stays promised. */
    assert_true(ledger_finalize_through(wm, 1, START, wm) == wm);
    assert_true(ledger_finalize_through(START, 0, 0, wm) == wm);
}

static void test_duration_minutes(void **state)
{
    (void)state;
    assert_int_equal(ledger_fin_duration_minutes(IN_AT, OUT_AT), 63);
    assert_int_equal(ledger_fin_duration_minutes(IN_AT, IN_AT + 55 * MIN_MS - 1), 54);
    assert_int_equal(ledger_fin_duration_minutes(IN_AT, IN_AT), 0);
    assert_int_equal(ledger_fin_duration_minutes(OUT_AT, IN_AT), 0);
}

/* ---- revisions of an order (docs/maintenance.md) ------------------------------ */

/* The order verdicts of a revision, all PASS but NO_SHOW's outcome. */
static void revision_verdicts(order_case *c, int revision, cw_outcome no_show, int64_t start)
{
    char subject[LEDGER_FIN_SUBJECT_MAX];
    snprintf(subject, sizeof(subject), "O1@%d", revision);
    c->d.revision = revision;
    c->d.scheduled_start = start;
    add_check(c, subject, "NO_SHOW", no_show, start + 30 * MIN_MS);
    add_check(c, subject, "SCHEDULE_OVERLAP", CW_OUTCOME_PASS, START - HOUR_MS);
    add_check(c, subject, "CROSS_PROVIDER_OVERLAP", CW_OUTCOME_PASS, START - HOUR_MS);
    add_check(c, subject, "UNCERTIFIED", CW_OUTCOME_PASS, START - HOUR_MS);
}

static void test_a_cancel_is_cancelled_with_its_reason_at_once(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    c.d.revision = 1;
    c.d.cancelled = 1;
    snprintf(c.d.cancel_reason, sizeof(c.d.cancel_reason), "ELDER_REFUSED");
    c.d.changed_at = START - 2 * HOUR_MS;
    ledger_fin_decision f = run(&c, INT64_MIN);
    assert_int_equal(f.state, LEDGER_FIN_CANCELLED);
    assert_reasons(&f, "ELDER_REFUSED");
    /* Not before its scheduled start: no earlier instant than the order's. */
    assert_int_equal(f.finalized_at, START);
    /* Approved after the start: then. */
    c.d.changed_at = START + 3 * HOUR_MS;
    assert_int_equal(run(&c, INT64_MIN).finalized_at, START + 3 * HOUR_MS);
}

static void test_a_cancel_stands_whatever_else_came(void **state)
{
    (void)state;
    order_case c;
    full_visit(&c);
    set_outcome(&c, "O1", "NO_SHOW", CW_OUTCOME_ORANGE);
    set_outcome(&c, "O1-in", "GEO_DISTANCE", CW_OUTCOME_RED);
    c.d.revision = 2;
    c.d.cancelled = 1;
    snprintf(c.d.cancel_reason, sizeof(c.d.cancel_reason), "WEATHER");
    c.d.changed_at = START + HOUR_MS;
    ledger_fin_decision f = run(&c, INT64_MIN);
    assert_int_equal(f.state, LEDGER_FIN_CANCELLED);
    assert_reasons(&f, "WEATHER");
    assert_int_equal(f.finalized_at, START + HOUR_MS);
    assert_false(f.questionable);
}

static void test_a_revision_waits_for_its_own_verdicts(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    /* Revision 0 was complete (a no-show, even); revision 1 moved it. */
    set_outcome(&c, "O1", "NO_SHOW", CW_OUTCOME_ORANGE);
    c.d.revision = 1;
    c.d.scheduled_start = START + 5 * HOUR_MS;
    ledger_fin_decision f = run(&c, INT64_MAX);
    assert_int_equal(f.state, LEDGER_FIN_WAIT);
    assert_string_equal(f.missing_subject, "O1@1");
    assert_string_equal(f.missing_rule, "NO_SHOW");
    /* With them, a visit at the new time is valid: the first revision's
     * no-show is neither waited for nor a reason. */
    revision_verdicts(&c, 1, CW_OUTCOME_PASS, START + 5 * HOUR_MS);
    with_check_in(&c, START + 5 * HOUR_MS + 2 * MIN_MS);
    with_check_out(&c, START + 6 * HOUR_MS + 5 * MIN_MS);
    f = run(&c, INT64_MIN);
    assert_int_equal(f.state, LEDGER_FIN_VALID);
    assert_int_equal(f.reason_count, 0);
    assert_int_equal(f.finalized_at, START + 6 * HOUR_MS + 5 * MIN_MS);
}

static void test_an_earlier_revisions_red_is_no_flag(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    set_outcome(&c, "O1", "SCHEDULE_OVERLAP", CW_OUTCOME_RED);
    revision_verdicts(&c, 1, CW_OUTCOME_PASS, START + 5 * HOUR_MS);
    with_check_in(&c, START + 5 * HOUR_MS);
    with_check_out(&c, START + 6 * HOUR_MS);
    assert_int_equal(run(&c, INT64_MIN).state, LEDGER_FIN_VALID);
    /* A red verdict of the revision itself decides it. */
    set_outcome(&c, "O1@1", "SCHEDULE_OVERLAP", CW_OUTCOME_RED);
    ledger_fin_decision f = run(&c, INT64_MIN);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_reasons(&f, "SCHEDULE_OVERLAP");
    /* A later revision's verdicts count for nothing either while the
     * dossier knows revision 1 only... */
    order_case d;
    order_only(&d);
    revision_verdicts(&d, 2, CW_OUTCOME_ORANGE, START + 8 * HOUR_MS);
    revision_verdicts(&d, 1, CW_OUTCOME_PASS, START + 5 * HOUR_MS);
    with_check_in(&d, START + 5 * HOUR_MS);
    with_check_out(&d, START + 6 * HOUR_MS);
    assert_int_equal(run(&d, INT64_MIN).state, LEDGER_FIN_VALID);
    /* ...and an event id that merely begins with the order id is another
     * subject than a revision. */
    snprintf(d.checks[0].subject, sizeof(d.checks[0].subject), "O1-x");
    d.checks[0].outcome = CW_OUTCOME_ORANGE;
    assert_true(run(&d, INT64_MIN).reason_count > 0);
}

static void test_no_show_of_a_revision_decides_as_before(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    revision_verdicts(&c, 1, CW_OUTCOME_ORANGE, START + 5 * HOUR_MS);
    int64_t deadline = START + 5 * HOUR_MS + 24 * HOUR_MS;
    ledger_fin_decision f = run(&c, deadline);
    assert_int_equal(f.state, LEDGER_FIN_WAIT);
    assert_int_equal(f.wake_at, deadline);
    f = run(&c, deadline + 1);
    assert_int_equal(f.state, LEDGER_FIN_INVALID);
    assert_reasons(&f, "NO_SHOW");
    assert_int_equal(f.finalized_at, deadline);
}

static void test_lower_bound_follows_the_current_revision(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    /* Revision 0's no-show verdict (start + 30 min) is not what revision 1
     * decides by: the bound is revision 1's start until its verdicts come. */
    c.d.revision = 1;
    c.d.scheduled_start = START + 5 * MIN_MS;
    c.checks[0].at = START + 3 * HOUR_MS;
    assert_int_equal(ledger_finalize_lower_bound(&c.d), START + 5 * MIN_MS);
    revision_verdicts(&c, 1, CW_OUTCOME_ORANGE, START + 5 * MIN_MS);
    assert_int_equal(ledger_finalize_lower_bound(&c.d), START + 35 * MIN_MS);
}

static void test_order_subject_is_the_revisions(void **state)
{
    (void)state;
    order_case c;
    order_only(&c);
    char buf[LEDGER_FIN_SUBJECT_MAX];
    assert_int_equal(ledger_fin_order_subject(&c.d, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "O1");
    c.d.revision = 12;
    assert_int_equal(ledger_fin_order_subject(&c.d, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "O1@12");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_cancel_is_cancelled_with_its_reason_at_once),
        cmocka_unit_test(test_a_cancel_stands_whatever_else_came),
        cmocka_unit_test(test_a_revision_waits_for_its_own_verdicts),
        cmocka_unit_test(test_an_earlier_revisions_red_is_no_flag),
        cmocka_unit_test(test_no_show_of_a_revision_decides_as_before),
        cmocka_unit_test(test_lower_bound_follows_the_current_revision),
        cmocka_unit_test(test_order_subject_is_the_revisions),
        cmocka_unit_test(test_reused_evidence_cures_nothing_and_is_named),
        cmocka_unit_test(test_lower_bound_never_exceeds_finalized_at),
        cmocka_unit_test(test_lower_bound_of_an_assignment_alone),
        cmocka_unit_test(test_pending_horizon_follows_the_slowest_source),
        cmocka_unit_test(test_lower_bound_of_an_empty_dossier),
        cmocka_unit_test(test_finalized_through),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_unknown_order_waits),
        cmocka_unit_test(test_honest_visit_is_valid_once_complete),
        cmocka_unit_test(test_each_missing_verdict_waits),
        cmocka_unit_test(test_verdict_of_another_event_does_not_complete),
        cmocka_unit_test(test_check_out_without_check_in_needs_no_short_duration),
        cmocka_unit_test(test_daily_hours_is_awaited_and_questionable),
        cmocka_unit_test(test_pass_verdicts_wait_for_the_events_they_vouch_for),
        cmocka_unit_test(test_red_is_invalid_at_once),
        cmocka_unit_test(test_no_check_in_is_invalid_only_after_24h),
        cmocka_unit_test(test_unvisited_order_of_an_elder_away_is_cancelled),
        cmocka_unit_test(test_no_show_evidence_does_not_cure_an_undelivered_order),
        cmocka_unit_test(test_check_in_after_24h_is_no_visit),
        cmocka_unit_test(test_check_in_exactly_at_24h_is_a_late_visit),
        cmocka_unit_test(test_questionable_waits_for_the_deadline),
        cmocka_unit_test(test_questionable_expires_one_ms_after_deadline),
        cmocka_unit_test(test_evidence_exactly_at_deadline_cures),
        cmocka_unit_test(test_evidence_one_ms_late_does_not_cure),
        cmocka_unit_test(test_no_checkout_deadline_counts_from_check_in),
        cmocka_unit_test(test_late_check_in_within_24h_is_questionable),
        cmocka_unit_test(test_reasons_sorted_once_whatever_the_arrival_order),
        cmocka_unit_test(test_finalized_at_is_the_latest_verdict),
        cmocka_unit_test(test_assignment_receipt_time_is_not_event_time),
        cmocka_unit_test(test_uncertified_is_awaited_and_red_invalidates),
        cmocka_unit_test(test_duration_minutes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
