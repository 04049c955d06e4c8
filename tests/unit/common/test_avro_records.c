/* common (generated): the typed records of avro_records.h written into an
 * avro value, encoded, decoded and read back field for field; enums by name;
 * a value of another shape refused. */
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
#include "avro_records.h"

/* Writes through the named schema, encodes, decodes: *decoded is the value
 * read back (the caller decrefs it). */
static void round_trip(const char *schema, int (*write)(avro_value_t *, const void *),
                       const void *rec, avro_value_t *decoded)
{
    const cw_avro_schema *s = cw_avro_schema_by_name(schema);
    assert_non_null(s);
    avro_value_t v;
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    assert_int_equal(write(&v, rec), 0);
    uint8_t *buf;
    size_t len;
    char err[256];
    assert_int_equal(cw_avro_encode(&v, s, &buf, &len, err, sizeof(err)), 0);
    avro_value_decref(&v);
    const cw_avro_schema *got;
    assert_int_equal(cw_avro_decode(buf, len, &got, decoded, err, sizeof(err)), 0);
    assert_ptr_equal(got, s);
    free(buf);
}

static int write_visit(avro_value_t *v, const void *rec)
{
    return cw_visit_event_write(v, rec);
}

static void test_visit_event_round_trip(void **state)
{
    (void)state;
    const char *items[] = {"bath", "meal", ""};
    cw_visit_event in = {.event_id = "e-1",
                         .kind = CW_VISIT_KIND_CHECK_OUT,
                         .order_id = "o-1",
                         .caregiver_id = "c-1",
                         .provider_id = "p-1",
                         .elder_id = "el-1",
                         .at = 1700000000123,
                         .received_at = 1700000000456,
                         .gps = {.lat = 30.25, .lon = 120.125, .has_accuracy_m = 1,
                                 .accuracy_m = 7.5},
                         .has_beidou = 1,
                         .beidou = {.lat = 30.2501, .lon = 120.1251},
                         .has_voiceprint_match = 1,
                         .voiceprint_match = 0.91,
                         .photo_sha256 = "ab",
                         .items = items,
                         .items_count = 3};
    avro_value_t v;
    round_trip("VisitEvent", write_visit, &in, &v);
    cw_visit_event out;
    assert_int_equal(cw_visit_event_read(&v, &out), 0);
    assert_string_equal(out.event_id, "e-1");
    assert_int_equal(out.kind, CW_VISIT_KIND_CHECK_OUT);
    assert_string_equal(out.elder_id, "el-1");
    assert_true(out.at == 1700000000123 && out.received_at == 1700000000456);
    assert_true(out.gps.lat == 30.25 && out.gps.lon == 120.125);
    assert_true(out.gps.has_accuracy_m && out.gps.accuracy_m == 7.5);
    assert_true(out.has_beidou && out.beidou.lat == 30.2501 && out.beidou.lon == 120.1251);
    assert_false(out.has_face_match);
    assert_true(out.has_voiceprint_match && out.voiceprint_match == 0.91);
    assert_string_equal(out.photo_sha256, "ab");
    assert_null(out.device_id);
    assert_int_equal(out.items_count, 3);
    assert_string_equal(out.items[1], "meal");
    assert_string_equal(out.items[2], "");
    cw_visit_event_release(&out);
    assert_null(out.items);
    cw_visit_event_release(&out); /* twice is harmless */
    avro_value_decref(&v);
}

static void test_visit_event_without_options(void **state)
{
    (void)state;
    cw_visit_event in = {.event_id = "e-2", .kind = CW_VISIT_KIND_CHECK_IN, .order_id = "o",
                         .caregiver_id = "c", .provider_id = "p", .elder_id = "el"};
    avro_value_t v;
    round_trip("VisitEvent", write_visit, &in, &v);
    cw_visit_event out;
    assert_int_equal(cw_visit_event_read(&v, &out), 0);
    assert_int_equal(out.kind, CW_VISIT_KIND_CHECK_IN);
    assert_false(out.gps.has_accuracy_m);
    assert_false(out.has_beidou);
    assert_null(out.photo_sha256);
    assert_int_equal(out.items_count, 0);
    assert_null(out.items);
    cw_visit_event_release(&out);
    avro_value_decref(&v);
}

static int write_case(avro_value_t *v, const void *rec)
{
    return cw_case_event_write(v, rec);
}

/* A nullable enum and a nullable nested record, present and absent. */
static void test_case_event_optional_parts(void **state)
{
    (void)state;
    cw_case_event in = {.event_id = "ev",
                        .case_id = "o-9",
                        .seq = 3,
                        .kind = CW_CASE_KIND_ORDER,
                        .action = CW_CASE_ACTION_RESOLVED,
                        .status = CW_CASE_STATUS_RESOLVED,
                        .has_resolution = 1,
                        .resolution = CW_CASE_RESOLUTION_RECTIFIED,
                        .colour = CW_CASE_COLOUR_RED,
                        .actor = "street S01",
                        .actor_role = "street",
                        .note = "done",
                        .street_id = "S01",
                        .community_id = "C1",
                        .provider_id = "P",
                        .caregiver_id = "c",
                        .elder_id = "e",
                        .has_alert = 1,
                        .alert = {.alert_id = "a", .rule = "NO_SHOW", .colour = CW_CASE_COLOUR_RED,
                                  .message_zh = "未到", .message_en = "no show"}};
    avro_value_t v;
    round_trip("CaseEvent", write_case, &in, &v);
    cw_case_event out;
    assert_int_equal(cw_case_event_read(&v, &out), 0);
    assert_int_equal(out.seq, 3);
    assert_true(out.has_resolution && out.resolution == CW_CASE_RESOLUTION_RECTIFIED);
    assert_false(out.has_callback_result);
    assert_true(out.has_alert);
    assert_string_equal(out.alert.rule, "NO_SHOW");
    assert_string_equal(out.alert.message_zh, "未到");
    assert_false(out.alert.has_measured);
    assert_null(out.order_id);
    avro_value_decref(&v);

    in.has_resolution = 0;
    in.has_alert = 0;
    round_trip("CaseEvent", write_case, &in, &v);
    assert_int_equal(cw_case_event_read(&v, &out), 0);
    assert_false(out.has_resolution);
    assert_false(out.has_alert);
    avro_value_decref(&v);
}

static int write_dead_letter(avro_value_t *v, const void *rec)
{
    return cw_dead_letter_write(v, rec);
}

static void test_bytes_keep_their_length(void **state)
{
    (void)state;
    const uint8_t payload[] = {0, 1, 0, 255};
    cw_dead_letter in = {.service = "geo-validator",
                         .source_topic = "visit.events",
                         .partition = 2,
                         .offset = 41,
                         .payload = payload,
                         .payload_len = sizeof(payload),
                         .reason = "undecodable",
                         .at = 5};
    avro_value_t v;
    round_trip("DeadLetter", write_dead_letter, &in, &v);
    cw_dead_letter out;
    assert_int_equal(cw_dead_letter_read(&v, &out), 0);
    assert_int_equal(out.payload_len, sizeof(payload));
    assert_memory_equal(out.payload, payload, sizeof(payload));
    assert_null(out.key);
    assert_int_equal(out.key_len, 0);
    assert_int_equal(out.offset, 41);
    avro_value_decref(&v);
}

static void test_enum_names(void **state)
{
    (void)state;
    cw_outcome o;
    assert_int_equal(cw_outcome_parse("ORANGE", &o), 0);
    assert_int_equal(o, CW_OUTCOME_ORANGE);
    assert_string_equal(cw_outcome_name(CW_OUTCOME_RED), "RED");
    assert_int_equal(cw_outcome_parse("orange", &o), -1);
    assert_int_equal(cw_outcome_parse(NULL, &o), -1);
    assert_null(cw_outcome_name((cw_outcome)CW_OUTCOME_COUNT));
    cw_crs c;
    assert_int_equal(cw_crs_parse("BD09", &c), 0);
    assert_int_equal(c, CW_CRS_BD09);
}

/* A value of another schema lacks the fields: the read says so and leaves
 * nothing allocated. */
static void test_another_shape_is_refused(void **state)
{
    (void)state;
    const cw_avro_schema *s = cw_avro_schema_by_name("CheckResult");
    assert_non_null(s);
    avro_value_t v;
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    cw_visit_event out;
    assert_int_equal(cw_visit_event_read(&v, &out), -1);
    assert_null(out.items);
    avro_value_decref(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_visit_event_round_trip),
        cmocka_unit_test(test_visit_event_without_options),
        cmocka_unit_test(test_case_event_optional_parts),
        cmocka_unit_test(test_bytes_keep_their_length),
        cmocka_unit_test(test_enum_names),
        cmocka_unit_test(test_another_shape_is_refused),
    };
    return cmocka_run_group_tests(tests, cw_test_setup_codec, cw_test_teardown_codec);
}
