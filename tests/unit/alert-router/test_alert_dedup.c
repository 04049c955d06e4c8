/* services/alert-router/dedup: claim and last-alert texts, the decision for
 * every claim state, the suppression window, and whole sequences of
 * deliveries, crashes, replays and re-emitted checks run against a small
 * in-memory stand-in for the Redis keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "alert-router/dedup.h"

#define MIN_MS 60000LL
/* 2024-07-08T09:00:00+08:00 */
#define T0 1720400400000LL

static alert_dedup_input input(const char *position, const char *order, int64_t at,
                               int64_t window_ms)
{
    alert_dedup_input in;
    memset(&in, 0, sizeof(in));
    in.position = position;
    in.order_id = order;
    in.at = at;
    in.window_ms = window_ms;
    return in;
}

static void with_claim(alert_dedup_input *in, const char *position, alert_claim_state s)
{
    in->has_claim = 1;
    snprintf(in->claim.position, sizeof(in->claim.position), "%s", position);
    in->claim.state = s;
}

static void with_last(alert_dedup_input *in, const char *order, int64_t at)
{
    in->has_last = 1;
    in->last.at = at;
    snprintf(in->last.order_id, sizeof(in->last.order_id), "%s", order);
}

/* ---- texts ------------------------------------------------------------------ */

static void test_position_text(void **state)
{
    (void)state;
    char buf[ALERT_POSITION_MAX];
    assert_int_equal(alert_position_format(buf, sizeof(buf), "visit.checks", 4, 1234567), 0);
    assert_string_equal(buf, "visit.checks:4:1234567");
    char small[8];
    assert_int_equal(alert_position_format(small, sizeof(small), "visit.checks", 4, 1), -1);
}

static void test_claim_text_round_trip(void **state)
{
    (void)state;
    const alert_claim_state states[] = {ALERT_CLAIM_PENDING, ALERT_CLAIM_DELIVERED,
                                        ALERT_CLAIM_SUPPRESSED};
    for (size_t i = 0; i < 3; i++) {
        alert_claim c = {.state = states[i]}, back;
        snprintf(c.position, sizeof(c.position), "caregiver.status:2:99");
        char text[ALERT_CLAIM_TEXT_MAX];
        assert_int_equal(alert_claim_format(&c, text, sizeof(text)), 0);
        assert_int_equal(alert_claim_parse(text, &back), 0);
        assert_string_equal(back.position, "caregiver.status:2:99");
        assert_int_equal(back.state, states[i]);
    }
    char text[ALERT_CLAIM_TEXT_MAX];
    alert_claim c = {.state = ALERT_CLAIM_DELIVERED};
    snprintf(c.position, sizeof(c.position), "visit.checks:0:7");
    assert_int_equal(alert_claim_format(&c, text, sizeof(text)), 0);
    assert_string_equal(text, "visit.checks:0:7|D");
}

static void test_claim_text_rejects_garbage(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "visit.checks:0:7", "|P", "visit.checks:0:7|",
                                      "visit.checks:0:7|X", "visit.checks:0:7|PD", "P"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        alert_claim c;
        if (alert_claim_parse(bad[i], &c) != -1)
            fail_msg("'%s' parsed as a claim", bad[i]);
    }
}

static void test_last_text_round_trip_and_garbage(void **state)
{
    (void)state;
    alert_last l = {.at = T0}, back;
    snprintf(l.order_id, sizeof(l.order_id), "O-AWAY");
    char text[ALERT_LAST_TEXT_MAX];
    assert_int_equal(alert_last_format(&l, text, sizeof(text)), 0);
    assert_string_equal(text, "1720400400000|O-AWAY");
    assert_int_equal(alert_last_parse(text, &back), 0);
    assert_true(back.at == T0);
    assert_string_equal(back.order_id, "O-AWAY");
    assert_int_equal(alert_last_parse("-5|O", &back), 0);
    assert_true(back.at == -5);
    static const char *const bad[] = {"", "|O", "12", "12|", "x|O", "99999999999999999999|O"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (alert_last_parse(bad[i], &back) != -1)
            fail_msg("'%s' parsed as a last alert", bad[i]);
}

/* ---- the decision for each claim state ---------------------------------------------- */

static void test_no_claim_is_new_and_claims_pending(void **state)
{
    (void)state;
    alert_dedup_input in = input("visit.checks:3:10", "O-1", T0, 0);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_NEW);
    assert_true(d.produce);
    assert_true(d.write_claim);
    assert_string_equal(d.claim.position, "visit.checks:3:10");
    assert_int_equal(d.claim.state, ALERT_CLAIM_PENDING);
    assert_false(d.write_last); /* no window */
}

static void test_own_pending_claim_is_produced_again(void **state)
{
    (void)state;
    alert_dedup_input in = input("visit.checks:3:10", "O-1", T0, 0);
    with_claim(&in, "visit.checks:3:10", ALERT_CLAIM_PENDING);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_RETRY);
    assert_true(d.produce);
    assert_false(d.write_claim);
}

static void test_own_delivered_claim_is_not_produced_again(void **state)
{
    (void)state;
    alert_dedup_input in = input("visit.checks:3:10", "O-1", T0, 0);
    with_claim(&in, "visit.checks:3:10", ALERT_CLAIM_DELIVERED);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_DELIVERED);
    assert_false(d.produce);
    assert_false(d.write_claim);
}

static void test_own_suppressed_claim_stays_suppressed(void **state)
{
    (void)state;
    /* Even when the window no longer applies (the last alert moved on). */
    alert_dedup_input in = input("visit.checks:3:10", "O-2", T0, 30 * MIN_MS);
    with_claim(&in, "visit.checks:3:10", ALERT_CLAIM_SUPPRESSED);
    with_last(&in, "O-9", T0 + 600 * MIN_MS);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_WINDOW);
    assert_false(d.produce);
    assert_false(d.write_claim);
    assert_false(d.write_last);
}

static void test_claim_of_another_message_is_a_duplicate(void **state)
{
    (void)state;
    const alert_claim_state states[] = {ALERT_CLAIM_PENDING, ALERT_CLAIM_DELIVERED,
                                        ALERT_CLAIM_SUPPRESSED};
    for (size_t i = 0; i < 3; i++) {
        alert_dedup_input in = input("visit.checks:3:11", "O-1", T0, 0);
        with_claim(&in, "visit.checks:3:10", states[i]);
        alert_dedup_decision d;
        alert_dedup_decide(&in, &d);
        assert_int_equal(d.action, ALERT_DEDUP_DUPLICATE);
        assert_false(d.produce);
        assert_false(d.write_claim);
    }
}

static void test_same_offset_of_another_topic_is_another_message(void **state)
{
    (void)state;
    alert_dedup_input in = input("caregiver.status:3:10", "O-1", T0, 0);
    with_claim(&in, "visit.checks:3:10", ALERT_CLAIM_PENDING);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_DUPLICATE);
}

static void test_claim_rebuilt_from_alerts_all_suppresses_every_input(void **state)
{
    (void)state;
    alert_dedup_input in = input("visit.checks:0:5", "O-1", T0, 0);
    with_claim(&in, "alerts.all:0:5", ALERT_CLAIM_DELIVERED);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_DUPLICATE);
    assert_false(d.produce);
}

/* ---- the suppression window ------------------------------------------------------------ */

static void test_window_off_never_suppresses(void **state)
{
    (void)state;
    alert_dedup_input in = input("visit.checks:1:1", "O-2", T0, 0);
    with_last(&in, "O-1", T0);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_NEW);
    assert_false(d.write_last);
}

static void test_window_suppresses_another_order_inside(void **state)
{
    (void)state;
    alert_dedup_input in = input("visit.checks:1:1", "O-2", T0 + 29 * MIN_MS, 30 * MIN_MS);
    with_last(&in, "O-1", T0);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_WINDOW);
    assert_false(d.produce);
    assert_true(d.write_claim);
    assert_int_equal(d.claim.state, ALERT_CLAIM_SUPPRESSED);
    assert_string_equal(d.claim.position, "visit.checks:1:1");
    assert_false(d.write_last);
}

static void test_window_is_strict(void **state)
{
    (void)state;
    alert_dedup_input in = input("visit.checks:1:1", "O-2", T0 + 30 * MIN_MS, 30 * MIN_MS);
    with_last(&in, "O-1", T0);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_NEW);
    in.at = T0 + 30 * MIN_MS - 1;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_WINDOW);
}

static void test_window_works_both_ways_in_event_time(void **state)
{
    (void)state;
    /* A check that arrives late, about an event before the last alert's. */
    alert_dedup_input in = input("visit.checks:1:1", "O-2", T0 - 10 * MIN_MS, 30 * MIN_MS);
    with_last(&in, "O-1", T0);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_WINDOW);
    in.at = T0 - 31 * MIN_MS;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_NEW);
    /* An older alert does not replace the newer last one. */
    assert_false(d.write_last);
}

static void test_window_keeps_the_latest_alert(void **state)
{
    (void)state;
    alert_dedup_input in = input("visit.checks:1:1", "O-2", T0 + 45 * MIN_MS, 30 * MIN_MS);
    with_last(&in, "O-1", T0);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_NEW);
    assert_true(d.write_last);
    assert_true(d.last.at == T0 + 45 * MIN_MS);
    assert_string_equal(d.last.order_id, "O-2");
    /* The first alert of a caregiver and rule starts the window. */
    alert_dedup_input first = input("visit.checks:1:2", "O-3", T0, 30 * MIN_MS);
    alert_dedup_decide(&first, &d);
    assert_int_equal(d.action, ALERT_DEDUP_NEW);
    assert_true(d.write_last);
    assert_string_equal(d.last.order_id, "O-3");
}

static void test_window_ignores_the_same_order(void **state)
{
    (void)state;
    /* Its claim expired; the last alert is its own. */
    alert_dedup_input in = input("visit.checks:1:1", "O-1", T0 + MIN_MS, 30 * MIN_MS);
    with_last(&in, "O-1", T0);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_NEW);
}

static void test_window_with_extreme_times_does_not_overflow(void **state)
{
    (void)state;
    alert_dedup_input in = input("visit.checks:1:1", "O-2", INT64_MAX, 30 * MIN_MS);
    with_last(&in, "O-1", INT64_MIN);
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_NEW);
    in.at = INT64_MIN + 5;
    alert_dedup_decide(&in, &d);
    assert_int_equal(d.action, ALERT_DEDUP_WINDOW);
}

/* ---- sequences against a stand-in for Redis ----------------------------------------------- */

/* One claim key and one last key, as claims.c keeps them: texts. */
typedef struct {
    char claim[ALERT_CLAIM_TEXT_MAX];
    char last[ALERT_LAST_TEXT_MAX];
    int produced;
} store;

static alert_dedup_action deliver(store *s, const char *position, const char *order, int64_t at,
                                  int64_t window_ms, int acknowledged)
{
    alert_dedup_input in = input(position, order, at, window_ms);
    in.has_claim = s->claim[0] && alert_claim_parse(s->claim, &in.claim) == 0;
    in.has_last = s->last[0] && alert_last_parse(s->last, &in.last) == 0;
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    if (d.write_claim) {
        assert_int_equal(s->claim[0], '\0'); /* only written while absent */
        assert_int_equal(alert_claim_format(&d.claim, s->claim, sizeof(s->claim)), 0);
    }
    if (d.write_last)
        assert_int_equal(alert_last_format(&d.last, s->last, sizeof(s->last)), 0);
    if (d.produce) {
        s->produced++;
        if (acknowledged) {
            /* What tick_done does once the broker acknowledged. */
            alert_claim c;
            assert_int_equal(alert_claim_parse(s->claim, &c), 0);
            if (strcmp(c.position, position) == 0 && c.state == ALERT_CLAIM_PENDING) {
                c.state = ALERT_CLAIM_DELIVERED;
                assert_int_equal(alert_claim_format(&c, s->claim, sizeof(s->claim)), 0);
            }
        }
    }
    return d.action;
}

static void test_crash_before_ack_replays_then_nothing_more(void **state)
{
    (void)state;
    store s = {0};
    /* Routed, then the process dies before the broker's ack. */
    assert_int_equal(deliver(&s, "visit.checks:2:40", "O-1", T0, 0, 0), ALERT_DEDUP_NEW);
    /* The uncommitted message comes again: produced again, same alert id. */
    assert_int_equal(deliver(&s, "visit.checks:2:40", "O-1", T0, 0, 1), ALERT_DEDUP_RETRY);
    assert_int_equal(s.produced, 2);
    /* An operator resets the group's offsets: read again, not produced. */
    assert_int_equal(deliver(&s, "visit.checks:2:40", "O-1", T0, 0, 1), ALERT_DEDUP_DELIVERED);
    /* The checker re-emits the check (a replay upstream): another offset. */
    assert_int_equal(deliver(&s, "visit.checks:2:77", "O-1", T0, 0, 1), ALERT_DEDUP_DUPLICATE);
    /* The same rule on the order's check-out: still one alert per (order, rule). */
    assert_int_equal(deliver(&s, "visit.checks:2:78", "O-1", T0 + 65 * MIN_MS, 0, 1),
                     ALERT_DEDUP_DUPLICATE);
    assert_int_equal(s.produced, 2);
    assert_string_equal(s.claim, "visit.checks:2:40|D");
}

static void test_window_decision_is_repeated_on_replay(void **state)
{
    (void)state;
    store first = {0}, second = {0};
    /* Two orders of one caregiver, same rule, 20 minutes apart: the last
     * key is shared, the claims are per order. */
    assert_int_equal(deliver(&first, "visit.checks:0:1", "O-A", T0, 30 * MIN_MS, 1),
                     ALERT_DEDUP_NEW);
    memcpy(second.last, first.last, sizeof(first.last));
    assert_int_equal(deliver(&second, "visit.checks:5:9", "O-B", T0 + 20 * MIN_MS, 30 * MIN_MS, 1),
                     ALERT_DEDUP_WINDOW);
    /* Replayed: the same decision, whatever the window state is by then. */
    second.last[0] = '\0';
    assert_int_equal(deliver(&second, "visit.checks:5:9", "O-B", T0 + 20 * MIN_MS, 30 * MIN_MS, 1),
                     ALERT_DEDUP_WINDOW);
    assert_int_equal(first.produced + second.produced, 1);
}

static void test_action_names(void **state)
{
    (void)state;
    assert_string_equal(alert_dedup_action_name(ALERT_DEDUP_NEW), "new");
    assert_string_equal(alert_dedup_action_name(ALERT_DEDUP_RETRY), "retry");
    assert_string_equal(alert_dedup_action_name(ALERT_DEDUP_WINDOW), "window");
    assert_string_equal(alert_dedup_action_name(ALERT_DEDUP_DELIVERED), "delivered");
    assert_string_equal(alert_dedup_action_name(ALERT_DEDUP_DUPLICATE), "duplicate");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_position_text),
        cmocka_unit_test(test_claim_text_round_trip),
        cmocka_unit_test(test_claim_text_rejects_garbage),
        cmocka_unit_test(test_last_text_round_trip_and_garbage),
        cmocka_unit_test(test_no_claim_is_new_and_claims_pending),
        cmocka_unit_test(test_own_pending_claim_is_produced_again),
        cmocka_unit_test(test_own_delivered_claim_is_not_produced_again),
        cmocka_unit_test(test_own_suppressed_claim_stays_suppressed),
        cmocka_unit_test(test_claim_of_another_message_is_a_duplicate),
        cmocka_unit_test(test_same_offset_of_another_topic_is_another_message),
        cmocka_unit_test(test_claim_rebuilt_from_alerts_all_suppresses_every_input),
        cmocka_unit_test(test_window_off_never_suppresses),
        cmocka_unit_test(test_window_suppresses_another_order_inside),
        cmocka_unit_test(test_window_is_strict),
        cmocka_unit_test(test_window_works_both_ways_in_event_time),
        cmocka_unit_test(test_window_keeps_the_latest_alert),
        cmocka_unit_test(test_window_ignores_the_same_order),
        cmocka_unit_test(test_window_with_extreme_times_does_not_overflow),
        cmocka_unit_test(test_crash_before_ack_replays_then_nothing_more),
        cmocka_unit_test(test_window_decision_is_repeated_on_replay),
        cmocka_unit_test(test_action_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
