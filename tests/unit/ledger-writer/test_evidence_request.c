/* services/ledger-writer/evidence_request: the EvidenceRequested notice of
 * a questionable order, from the decision ledger_finalize_decide gives it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "avro_fields.h"
#include "ledger-writer/evidence_request.h"
#include "ledger-writer/finalize_rules.h"

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define START 1717236000000LL /* 2024-06-01T10:00:00Z */
#define IN_AT (START + 2 * MIN_MS)
#define OUT_AT (START + 65 * MIN_MS)

/* Every verdict an order with both events owes, PASS at the event's time;
 * then one rule's outcome changed. */
typedef struct {
    ledger_fin_check checks[64];
    ledger_fin_dossier d;
} visit;

static void add(visit *v, const char *subject, const char *const *rules, int64_t at)
{
    for (size_t i = 0; rules[i] != NULL; i++) {
        ledger_fin_check *k = &v->checks[v->d.check_count++];
        memset(k, 0, sizeof(*k));
        snprintf(k->subject, sizeof(k->subject), "%s", subject);
        snprintf(k->rule, sizeof(k->rule), "%s", rules[i]);
        k->outcome = CW_OUTCOME_PASS;
        k->at = at;
    }
}

static void full_visit(visit *v)
{
    memset(v, 0, sizeof(*v));
    v->d.checks = v->checks;
    v->d.has_order = 1;
    snprintf(v->d.order_id, sizeof(v->d.order_id), "O1");
    v->d.scheduled_start = START;
    v->d.has_in = v->d.has_out = 1;
    v->d.in_at = IN_AT;
    v->d.out_at = OUT_AT;
    snprintf(v->d.in_event, sizeof(v->d.in_event), "O1-in");
    snprintf(v->d.out_event, sizeof(v->d.out_event), "O1-out");
    add(v, "O1", ledger_fin_order_rules, START + 30 * MIN_MS);
    add(v, "O1-in", ledger_fin_check_in_rules, IN_AT);
    add(v, "O1-out", ledger_fin_check_out_rules, OUT_AT);
}

static void flag(visit *v, const char *subject, const char *rule, cw_outcome o, int64_t at)
{
    for (size_t i = 0; i < v->d.check_count; i++)
        if (strcmp(v->checks[i].subject, subject) == 0 && strcmp(v->checks[i].rule, rule) == 0) {
            v->checks[i].outcome = o;
            v->checks[i].at = at;
            return;
        }
    fail_msg("no %s %s", subject, rule);
}

static ledger_fin_decision decide(const visit *v, int64_t wm)
{
    ledger_fin_windows w;
    ledger_fin_windows_default(&w);
    return ledger_finalize_decide(&v->d, wm, &w);
}

static void test_questionable_order_is_asked_with_its_deadline(void **state)
{
    (void)state;
    visit v;
    full_visit(&v);
    flag(&v, "O1-out", "VOICE_UNCONFIRMED", CW_OUTCOME_YELLOW, OUT_AT);
    flag(&v, "O1-in", "GEO_DISTANCE", CW_OUTCOME_YELLOW, IN_AT + 5 * MIN_MS);
    ledger_fin_decision f = decide(&v, INT64_MIN);
    assert_int_equal(f.state, LEDGER_FIN_WAIT);
    assert_true(f.questionable);
    assert_true(f.visit_end == OUT_AT);
    assert_true(f.evidence_deadline == OUT_AT + 72 * HOUR_MS);
    assert_true(f.questionable_at == OUT_AT);
    ledger_evidence_request r = ledger_evidence_request_of(&f, "O1", "P1", "CG1", "E1", "S01");
    assert_int_equal(r.reason_count, 2);
    assert_string_equal(r.reasons[0], "GEO_DISTANCE");
    assert_string_equal(r.reasons[1], "VOICE_UNCONFIRMED");
}

/* The request does not depend on the watermark or the evidence: a replay
 * that decides the order at once asks exactly what the live run asked. */
static void test_request_is_the_same_whatever_the_outcome(void **state)
{
    (void)state;
    visit v;
    full_visit(&v);
    flag(&v, "O1-out", "SHORT_DURATION", CW_OUTCOME_ORANGE, OUT_AT);
    ledger_fin_decision waiting = decide(&v, INT64_MIN);
    ledger_fin_decision expired = decide(&v, OUT_AT + 73 * HOUR_MS);
    assert_int_equal(expired.state, LEDGER_FIN_INVALID);
    assert_true(expired.questionable);
    v.d.has_evidence = 1;
    v.d.evidence_at = OUT_AT + HOUR_MS;
    ledger_fin_decision cured = decide(&v, INT64_MIN);
    assert_int_equal(cured.state, LEDGER_FIN_VALID);
    assert_true(cured.questionable);
    const ledger_fin_decision *all[] = {&waiting, &expired, &cured};
    uint8_t *first = NULL;
    size_t first_len = 0;
    for (size_t i = 0; i < 3; i++) {
        ledger_evidence_request r =
            ledger_evidence_request_of(all[i], "O1", "P1", "CG1", "E1", "S01");
        assert_int_equal(r.reason_count, 1); /* EVIDENCE_EXPIRED is not asked about */
        assert_string_equal(r.reasons[0], "SHORT_DURATION");
        uint8_t *bytes;
        size_t len;
        char err[256];
        assert_int_equal(ledger_evidence_request_encode(&r, &bytes, &len, err, sizeof(err)), 0);
        if (first == NULL) {
            first = bytes;
            first_len = len;
            continue;
        }
        assert_int_equal(len, first_len);
        assert_memory_equal(bytes, first, len);
        free(bytes);
    }
    free(first);
}

static void test_red_unvisited_and_clean_orders_are_not_questionable(void **state)
{
    (void)state;
    visit v;
    full_visit(&v);
    assert_false(decide(&v, INT64_MIN).questionable); /* VALID, nothing to ask */
    flag(&v, "O1-out", "SHORT_DURATION", CW_OUTCOME_ORANGE, OUT_AT);
    flag(&v, "O1-in", "VISIT_OVERLAP", CW_OUTCOME_RED, IN_AT);
    assert_false(decide(&v, INT64_MIN).questionable); /* red: evidence cures nothing */

    visit n;
    memset(&n, 0, sizeof(n));
    n.d.checks = n.checks;
    n.d.has_order = 1;
    snprintf(n.d.order_id, sizeof(n.d.order_id), "O2");
    n.d.scheduled_start = START;
    add(&n, "O2", ledger_fin_order_rules, START + 30 * MIN_MS);
    flag(&n, "O2", "NO_SHOW", CW_OUTCOME_ORANGE, START + 30 * MIN_MS);
    assert_false(decide(&n, START + 25 * HOUR_MS).questionable); /* never visited */

    visit w;
    full_visit(&w);
    w.d.check_count--; /* a verdict still to come: not yet */
    flag(&w, "O1-in", "GEO_DISTANCE", CW_OUTCOME_YELLOW, IN_AT);
    assert_false(decide(&w, INT64_MIN).questionable);
}

/* Without a check-out the visit ends 240 minutes after the check-in. */
static void test_open_visit_ends_at_the_no_checkout_window(void **state)
{
    (void)state;
    visit v;
    full_visit(&v);
    v.d.has_out = 0;
    size_t kept = 0;
    for (size_t i = 0; i < v.d.check_count; i++)
        if (strcmp(v.checks[i].subject, "O1-out") != 0)
            v.checks[kept++] = v.checks[i];
    v.d.check_count = kept;
    flag(&v, "O1-in", "NO_CHECKOUT", CW_OUTCOME_ORANGE, IN_AT + 240 * MIN_MS);
    ledger_fin_decision f = decide(&v, INT64_MIN);
    assert_true(f.questionable);
    assert_true(f.visit_end == IN_AT + 240 * MIN_MS);
    assert_true(f.evidence_deadline == IN_AT + 240 * MIN_MS + 72 * HOUR_MS);
}

static void test_record_round_trip_and_topic(void **state)
{
    (void)state;
    visit v;
    full_visit(&v);
    flag(&v, "O1-in", "FACE_MISMATCH", CW_OUTCOME_ORANGE, IN_AT);
    ledger_fin_decision f = decide(&v, INT64_MIN);
    ledger_evidence_request r = ledger_evidence_request_of(&f, "O1", "P1", "CG1", "E1", "S01");
    uint8_t *bytes;
    size_t len;
    char err[256];
    assert_int_equal(ledger_evidence_request_encode(&r, &bytes, &len, err, sizeof(err)), 0);
    const cw_avro_schema *s;
    avro_value_t val;
    assert_int_equal(cw_avro_decode(bytes, len, &s, &val, err, sizeof(err)), 0);
    const char *text;
    int64_t t;
    assert_int_equal(cw_av_get_str(&val, "request_id", &text), 0);
    assert_string_equal(text, "O1:EVIDENCE_REQUESTED");
    assert_int_equal(cw_av_get_str(&val, "street_id", &text), 0);
    assert_string_equal(text, "S01");
    assert_int_equal(cw_av_get_long(&val, "deadline", &t), 0);
    assert_true(t == OUT_AT + 72 * HOUR_MS);
    assert_int_equal(cw_av_get_long(&val, "at", &t), 0);
    assert_true(t == OUT_AT);
    avro_value_t reasons, item;
    size_t n = 0;
    assert_int_equal(cw_av_field(&val, "reasons", &reasons), 0);
    assert_int_equal(avro_value_get_size(&reasons, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(avro_value_get_by_index(&reasons, 0, &item, NULL), 0);
    assert_int_equal(avro_value_get_string(&item, &text, NULL), 0);
    assert_string_equal(text, "FACE_MISMATCH");
    avro_value_decref(&val);
    free(bytes);

    char topic[64];
    assert_int_equal(ledger_evidence_request_topic("P1", topic, sizeof(topic)), 0);
    assert_string_equal(topic, "notices.provider.P1");
    char small[18];
    assert_int_equal(ledger_evidence_request_topic("P1", small, sizeof(small)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_questionable_order_is_asked_with_its_deadline),
        cmocka_unit_test(test_request_is_the_same_whatever_the_outcome),
        cmocka_unit_test(test_red_unvisited_and_clean_orders_are_not_questionable),
        cmocka_unit_test(test_open_visit_ends_at_the_no_checkout_window),
        cmocka_unit_test(test_record_round_trip_and_topic),
    };
    return cmocka_run_group_tests(tests, cw_test_setup_codec, cw_test_teardown_codec);
}
