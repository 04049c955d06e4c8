/* Intake checks judged by ingest (docs/design.md §4 and 4.1): LATE_SUBMISSION,
 * FACE_MISMATCH, VOICE_UNCONFIRMED, PHOTO_REUSE. Thresholds are crossed only
 * when strictly exceeded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "ingest/intake_rules.h"
#include "ingest/requests.h"

/* The defaults of docs/design.md §4: 10 min, 0.80, 0.80. */
static const intake_thresholds defaults = {
    .late_submission_ms = 10 * 60 * 1000,
    .face_match_min = 0.80,
    .voiceprint_match_min = 0.80,
    .late_submission_enabled = 1,
};

/* 2024-05-01T08:00:00+08:00 */
#define AT 1714521600000LL
#define MINUTE 60000LL

/* ---- LATE_SUBMISSION ----------------------------------------------------------- */

static void late_submission_exactly_ten_minutes_passes(void **state)
{
    (void)state;
    intake_verdict v = ingest_rule_late_submission(AT, AT + 10 * MINUTE, &defaults);
    assert_string_equal(v.rule, "LATE_SUBMISSION");
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_true(v.has_measured);
    assert_true(v.measured == 10.0);
    assert_true(v.has_threshold);
    assert_true(v.threshold == 10.0);
    assert_string_equal(v.unit, "min");
}

static void late_submission_one_millisecond_over_is_yellow(void **state)
{
    (void)state;
    intake_verdict v = ingest_rule_late_submission(AT, AT + 10 * MINUTE + 1, &defaults);
    assert_int_equal(v.outcome, CW_OUTCOME_YELLOW);
    assert_true(v.measured > 10.0);
    assert_true(v.measured < 10.0001);
}

static void late_submission_immediate_passes(void **state)
{
    (void)state;
    intake_verdict v = ingest_rule_late_submission(AT, AT, &defaults);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_true(v.measured == 0.0);
}

static void late_submission_negative_delay_passes(void **state)
{
    (void)state;
    /* Received before its `at` (device clock ahead): not late. */
    intake_verdict v = ingest_rule_late_submission(AT, AT - 3 * MINUTE, &defaults);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_true(v.measured == -3.0);
    v = ingest_rule_late_submission(AT, AT - 365 * 24 * 60 * MINUTE, &defaults);
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
}

static void late_submission_measured_in_minutes(void **state)
{
    (void)state;
    intake_verdict v = ingest_rule_late_submission(AT, AT + 90 * MINUTE + 30000, &defaults);
    assert_int_equal(v.outcome, CW_OUTCOME_YELLOW);
    assert_true(v.measured == 90.5);
    assert_true(v.threshold == 10.0);
    v = ingest_rule_late_submission(AT, AT + 3 * 24 * 60 * MINUTE, &defaults);
    assert_int_equal(v.outcome, CW_OUTCOME_YELLOW);
    assert_true(v.measured == 4320.0);
}

static void late_submission_uses_configured_threshold(void **state)
{
    (void)state;
    intake_thresholds t = defaults;
    t.late_submission_ms = 5 * MINUTE;
    assert_int_equal(ingest_rule_late_submission(AT, AT + 5 * MINUTE, &t).outcome, CW_OUTCOME_PASS);
    assert_int_equal(ingest_rule_late_submission(AT, AT + 5 * MINUTE + 1, &t).outcome,
                     CW_OUTCOME_YELLOW);
    assert_true(ingest_rule_late_submission(AT, AT, &t).threshold == 5.0);
    /* Ten minutes is late under a five-minute threshold. */
    assert_int_equal(ingest_rule_late_submission(AT, AT + 10 * MINUTE, &t).outcome,
                     CW_OUTCOME_YELLOW);
}

static void late_submission_before_1970(void **state)
{
    (void)state;
    int64_t at = -86400000LL; /* 1969-12-31T00:00:00Z */
    assert_int_equal(ingest_rule_late_submission(at, at + 10 * MINUTE, &defaults).outcome,
                     CW_OUTCOME_PASS);
    assert_int_equal(ingest_rule_late_submission(at, at + 10 * MINUTE + 1, &defaults).outcome,
                     CW_OUTCOME_YELLOW);
}

/* ---- FACE_MISMATCH ------------------------------------------------------------- */

static void face_match_exactly_threshold_passes(void **state)
{
    (void)state;
    intake_verdict v = ingest_rule_face_match(1, 0.80, &defaults);
    assert_string_equal(v.rule, "FACE_MISMATCH");
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_true(v.has_measured);
    assert_true(v.measured == 0.80);
    assert_true(v.has_threshold);
    assert_true(v.threshold == 0.80);
}

static void face_match_just_below_threshold_is_orange(void **state)
{
    (void)state;
    intake_verdict v = ingest_rule_face_match(1, 0.7999999, &defaults);
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    assert_true(v.measured == 0.7999999);
    assert_int_equal(ingest_rule_face_match(1, 0.0, &defaults).outcome, CW_OUTCOME_ORANGE);
}

static void face_match_missing_is_orange(void **state)
{
    (void)state;
    intake_verdict v = ingest_rule_face_match(0, 0.99, &defaults);
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    assert_false(v.has_measured);
    assert_true(v.threshold == 0.80);
}

static void face_match_perfect_passes(void **state)
{
    (void)state;
    assert_int_equal(ingest_rule_face_match(1, 1.0, &defaults).outcome, CW_OUTCOME_PASS);
    assert_int_equal(ingest_rule_face_match(1, 0.8000001, &defaults).outcome, CW_OUTCOME_PASS);
}

static void face_match_uses_configured_threshold(void **state)
{
    (void)state;
    intake_thresholds t = defaults;
    t.face_match_min = 0.95;
    assert_int_equal(ingest_rule_face_match(1, 0.90, &t).outcome, CW_OUTCOME_ORANGE);
    assert_int_equal(ingest_rule_face_match(1, 0.95, &t).outcome, CW_OUTCOME_PASS);
    /* The voiceprint threshold does not affect face matching. */
    t = defaults;
    t.voiceprint_match_min = 0.99;
    assert_int_equal(ingest_rule_face_match(1, 0.85, &t).outcome, CW_OUTCOME_PASS);
}

/* A score of 0.80 sent as JSON text passes: parsing and threshold agree. */
static void face_match_parsed_from_json_text_passes(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *body = json_loads(
        "{\"event_id\":\"EV1\",\"order_id\":\"O1\",\"caregiver_id\":\"CG1\","
        "\"at\":\"2024-05-01T08:00:00+08:00\",\"gps\":{\"lat\":31.2,\"lon\":121.4},"
        "\"face_match\":0.80}",
        0, &jerr);
    assert_non_null(body);
    visit_req r;
    api_error err;
    assert_int_equal(ingest_parse_visit(body, CW_VISIT_KIND_CHECK_IN, &r, &err), 0);
    assert_int_equal(ingest_rule_face_match(r.has_score, r.score, &defaults).outcome,
                     CW_OUTCOME_PASS);
    json_decref(body);
}

/* ---- VOICE_UNCONFIRMED --------------------------------------------------------- */

static void voiceprint_exactly_threshold_passes(void **state)
{
    (void)state;
    intake_verdict v = ingest_rule_voiceprint(1, 0.80, &defaults);
    assert_string_equal(v.rule, "VOICE_UNCONFIRMED");
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_true(v.measured == 0.80);
    assert_true(v.threshold == 0.80);
}

static void voiceprint_just_below_threshold_is_yellow(void **state)
{
    (void)state;
    assert_int_equal(ingest_rule_voiceprint(1, 0.7999999, &defaults).outcome, CW_OUTCOME_YELLOW);
    assert_int_equal(ingest_rule_voiceprint(1, 0.0, &defaults).outcome, CW_OUTCOME_YELLOW);
}

static void voiceprint_missing_is_yellow(void **state)
{
    (void)state;
    intake_verdict v = ingest_rule_voiceprint(0, 1.0, &defaults);
    assert_int_equal(v.outcome, CW_OUTCOME_YELLOW);
    assert_false(v.has_measured);
}

static void voiceprint_perfect_passes(void **state)
{
    (void)state;
    assert_int_equal(ingest_rule_voiceprint(1, 1.0, &defaults).outcome, CW_OUTCOME_PASS);
}

static void voiceprint_uses_its_own_threshold(void **state)
{
    (void)state;
    intake_thresholds t = defaults;
    t.voiceprint_match_min = 0.60;
    t.face_match_min = 0.99;
    assert_int_equal(ingest_rule_voiceprint(1, 0.60, &t).outcome, CW_OUTCOME_PASS);
    assert_int_equal(ingest_rule_voiceprint(1, 0.59, &t).outcome, CW_OUTCOME_YELLOW);
    assert_true(ingest_rule_voiceprint(1, 0.7, &t).threshold == 0.60);
}

/* ---- PHOTO_REUSE --------------------------------------------------------------- */

static void photo_reuse_no_photo_passes(void **state)
{
    (void)state;
    intake_verdict v = ingest_rule_photo_reuse("O1", NULL);
    assert_string_equal(v.rule, "PHOTO_REUSE");
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_false(v.has_measured);
}

static void photo_reuse_first_order_passes(void **state)
{
    (void)state;
    /* The first order to use a hash is recorded as its holder. */
    assert_int_equal(ingest_rule_photo_reuse("O1", "O1").outcome, CW_OUTCOME_PASS);
}

static void photo_reuse_same_order_again_passes(void **state)
{
    (void)state;
    /* Check-in and check-out of one order with the same photo: not reuse. */
    char holder[] = "ORDER-2024-05-01-0001";
    char order[] = "ORDER-2024-05-01-0001";
    assert_int_equal(ingest_rule_photo_reuse(order, holder).outcome, CW_OUTCOME_PASS);
}

static void photo_reuse_other_order_is_orange(void **state)
{
    (void)state;
    intake_verdict v = ingest_rule_photo_reuse("O2", "O1");
    assert_string_equal(v.rule, "PHOTO_REUSE");
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    /* Prefixes are different orders. */
    assert_int_equal(ingest_rule_photo_reuse("O10", "O1").outcome, CW_OUTCOME_ORANGE);
    assert_int_equal(ingest_rule_photo_reuse("O1", "O10").outcome, CW_OUTCOME_ORANGE);
    /* Ids are case-sensitive. */
    assert_int_equal(ingest_rule_photo_reuse("o1", "O1").outcome, CW_OUTCOME_ORANGE);
}

static void service_items_cover_the_order(void **state)
{
    (void)state;
    const char *done[] = {"cleaning", "bathing"};
    intake_verdict v = ingest_rule_service_items("bathing", done, 2);
    assert_string_equal(v.rule, "SERVICE_MISMATCH");
    assert_int_equal(v.outcome, CW_OUTCOME_PASS);
    assert_int_equal(v.has_measured, 1);
    assert_true(v.measured == 2.0);
}

static void service_items_without_the_ordered_service_are_yellow(void **state)
{
    (void)state;
    const char *other[] = {"cleaning", "meal"};
    assert_int_equal(ingest_rule_service_items("bathing", other, 2).outcome, CW_OUTCOME_YELLOW);
    /* Exact text: a longer item or another case is another service. */
    const char *near[] = {"bathing assistance", "Bathing"};
    assert_int_equal(ingest_rule_service_items("bathing", near, 2).outcome, CW_OUTCOME_YELLOW);
    /* A check-out without items says nothing of the service: it passes. */
    intake_verdict none = ingest_rule_service_items("bathing", NULL, 0);
    assert_int_equal(none.outcome, CW_OUTCOME_PASS);
    assert_true(none.measured == 0.0);
}

static void evidence_reuse_of_another_orders_hash_is_orange(void **state)
{
    (void)state;
    intake_verdict v = ingest_rule_evidence_reuse("O-OTHER");
    assert_string_equal(v.rule, "EVIDENCE_REUSE");
    assert_int_equal(v.outcome, CW_OUTCOME_ORANGE);
    assert_int_equal(ingest_rule_evidence_reuse(NULL).outcome, CW_OUTCOME_PASS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(late_submission_exactly_ten_minutes_passes),
        cmocka_unit_test(late_submission_one_millisecond_over_is_yellow),
        cmocka_unit_test(late_submission_immediate_passes),
        cmocka_unit_test(late_submission_negative_delay_passes),
        cmocka_unit_test(late_submission_measured_in_minutes),
        cmocka_unit_test(late_submission_uses_configured_threshold),
        cmocka_unit_test(late_submission_before_1970),
        cmocka_unit_test(face_match_exactly_threshold_passes),
        cmocka_unit_test(face_match_just_below_threshold_is_orange),
        cmocka_unit_test(face_match_missing_is_orange),
        cmocka_unit_test(face_match_perfect_passes),
        cmocka_unit_test(face_match_uses_configured_threshold),
        cmocka_unit_test(face_match_parsed_from_json_text_passes),
        cmocka_unit_test(voiceprint_exactly_threshold_passes),
        cmocka_unit_test(voiceprint_just_below_threshold_is_yellow),
        cmocka_unit_test(voiceprint_missing_is_yellow),
        cmocka_unit_test(voiceprint_perfect_passes),
        cmocka_unit_test(voiceprint_uses_its_own_threshold),
        cmocka_unit_test(photo_reuse_no_photo_passes),
        cmocka_unit_test(photo_reuse_first_order_passes),
        cmocka_unit_test(photo_reuse_same_order_again_passes),
        cmocka_unit_test(photo_reuse_other_order_is_orange),
        cmocka_unit_test(service_items_cover_the_order),
        cmocka_unit_test(evidence_reuse_of_another_orders_hash_is_orange),
        cmocka_unit_test(service_items_without_the_ordered_service_are_yellow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
