/* services/alert-router/alert_records: the deterministic alert id and the
 * Alert record, encoded and decoded back with the codec; a finding
 * enriched with its order and elder into one record per target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert-router/alert_records.h"
#include "avro_codec.h"

static void test_alert_id_is_order_and_rule(void **state)
{
    (void)state;
    char id[ALERT_ID_MAX];
    assert_int_equal(alert_id_format(id, sizeof(id), "O-TRAVEL-B", "IMPOSSIBLE_TRAVEL"), 0);
    assert_string_equal(id, "O-TRAVEL-B:IMPOSSIBLE_TRAVEL");
    char order[65], rule[ALERT_RULE_MAX];
    memset(order, 'o', 64);
    order[64] = '\0';
    memset(rule, 'R', ALERT_RULE_MAX - 1);
    rule[ALERT_RULE_MAX - 1] = '\0';
    assert_int_equal(alert_id_format(id, sizeof(id), order, rule), 0);
    assert_int_equal(strlen(id), 64 + 1 + ALERT_RULE_MAX - 1);
    char small[10];
    assert_int_equal(alert_id_format(small, sizeof(small), "O-TRAVEL-B", "NO_SHOW"), -1);
}

static void test_alert_round_trip(void **state)
{
    (void)state;
    cw_alert a = {.alert_id = "O-1:GEO_DISTANCE",
                  .order_id = "O-1",
                  .rule = "GEO_DISTANCE",
                  .colour = CW_COLOUR_YELLOW,
                  .street_id = "S01",
                  .community_id = "C02",
                  .provider_id = "P01",
                  .caregiver_id = "CG02",
                  .elder_id = "E004",
                  .has_scheduled_start = 1,
                  .scheduled_start = 1720400400000LL,
                  .has_scheduled_minutes = 1,
                  .scheduled_minutes = 60,
                  .has_measured = 1,
                  .measured = 300.25,
                  .has_threshold = 1,
                  .threshold = 30,
                  .at = 1720400520000LL,
                  .raised_at = 1720400521234LL,
                  .message_zh = "护理员 CG02 在订单 O-1 的打卡定位距老人住址 300.3 米",
                  .message_en = "Caregiver CG02 on order O-1: GPS fix 300.3 m"};
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256];
    assert_int_equal(alert_encode(&a, &buf, &len, err, sizeof(err)), 0);
    assert_true(len > 10 && buf[0] == 0xC3 && buf[1] == 0x01);

    const cw_avro_schema *s;
    avro_value_t v;
    assert_int_equal(cw_avro_decode(buf, len, &s, &v, err, sizeof(err)), 0);
    assert_string_equal(s->name, "Alert");
    const char *str;
    int has;
    double d;
    int64_t l;
    static const char *const fields[][2] = {
        {"alert_id", "O-1:GEO_DISTANCE"}, {"order_id", "O-1"},       {"rule", "GEO_DISTANCE"},
        {"street_id", "S01"},             {"community_id", "C02"},   {"provider_id", "P01"},
        {"caregiver_id", "CG02"},         {"elder_id", "E004"},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        assert_int_equal(cw_av_get_str(&v, fields[i][0], &str), 0);
        assert_string_equal(str, fields[i][1]);
    }
    assert_int_equal(cw_av_get_enum(&v, "colour", &str), 0);
    assert_string_equal(str, "YELLOW");
    assert_int_equal(cw_av_get_opt_double(&v, "measured", &has, &d), 0);
    assert_true(has && d == 300.25);
    assert_int_equal(cw_av_get_opt_double(&v, "threshold", &has, &d), 0);
    assert_true(has && d == 30);
    assert_int_equal(cw_av_get_long(&v, "at", &l), 0);
    assert_true(l == 1720400520000LL);
    assert_int_equal(cw_av_get_long(&v, "raised_at", &l), 0);
    assert_true(l == 1720400521234LL);
    int32_t minutes = 0;
    assert_int_equal(cw_av_get_opt_long(&v, "scheduled_start", &has, &l), 0);
    assert_true(has && l == 1720400400000LL);
    assert_int_equal(cw_av_get_opt_int(&v, "scheduled_minutes", &has, &minutes), 0);
    assert_true(has && minutes == 60);
    assert_int_equal(cw_av_get_str(&v, "message_zh", &str), 0);
    assert_string_equal(str, a.message_zh);
    assert_int_equal(cw_av_get_str(&v, "message_en", &str), 0);
    assert_string_equal(str, a.message_en);
    avro_value_decref(&v);
    free(buf);
}

static void test_alert_without_values_has_nulls(void **state)
{
    (void)state;
    cw_alert a = {.alert_id = "O-2:CAREGIVER_FROZEN", .order_id = "O-2",
                  .rule = "CAREGIVER_FROZEN", .colour = CW_COLOUR_RED, .street_id = "S02",
                  .community_id = "C06", .provider_id = "P02", .caregiver_id = "CG10",
                  .elder_id = "E011", .at = 1, .raised_at = 2, .message_zh = "冻结",
                  .message_en = "frozen"};
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256];
    assert_int_equal(alert_encode(&a, &buf, &len, err, sizeof(err)), 0);
    const cw_avro_schema *s;
    avro_value_t v;
    assert_int_equal(cw_avro_decode(buf, len, &s, &v, err, sizeof(err)), 0);
    int has = 1;
    double d;
    const char *colour;
    assert_int_equal(cw_av_get_opt_double(&v, "measured", &has, &d), 0);
    assert_false(has);
    assert_int_equal(cw_av_get_opt_double(&v, "threshold", &has, &d), 0);
    assert_false(has);
    assert_int_equal(cw_av_get_enum(&v, "colour", &colour), 0);
    assert_string_equal(colour, "RED");
    avro_value_decref(&v);
    free(buf);
}

static void test_findings_of_a_check_and_a_freeze(void **state)
{
    (void)state;
    cw_check_result c = {.check_id = "EV-1:FACE_MISMATCH", .order_id = "O-3",
                         .caregiver_id = "CG01", .rule = "FACE_MISMATCH",
                         .outcome = CW_OUTCOME_RED, .has_measured = 1, .measured = 0.41,
                         .has_threshold = 1, .threshold = 0.8, .unit = "score", .at = 99};
    alert_finding f;
    assert_int_equal(alert_finding_of_check(&c, 1.5, &f), 0);
    assert_int_equal(f.alert.colour, CW_COLOUR_RED);
    assert_string_equal(f.alert.order_id, "O-3");
    assert_string_equal(f.alert.rule, "FACE_MISMATCH");
    assert_string_equal(f.alert.caregiver_id, "CG01");
    assert_true(f.alert.has_measured && f.alert.measured == 0.41);
    assert_true(f.alert.has_threshold && f.alert.threshold == 0.8);
    assert_int_equal(f.alert.at, 99);
    assert_string_equal(f.unit, "score");
    assert_null(f.reason);
    assert_true(f.received == 1.5);
    c.outcome = CW_OUTCOME_PASS;
    assert_int_equal(alert_finding_of_check(&c, 1.5, &f), -1);

    cw_caregiver_status_changed s = {.caregiver_id = "CG09",
                                     .status = CW_CAREGIVER_STATUS_FROZEN,
                                     .reason = "SCHEDULE_OVERLAP on order O-1",
                                     .order_id = "O-1", .at = 7};
    alert_finding_of_freeze(&s, 2.5, &f);
    assert_string_equal(f.alert.rule, "CAREGIVER_FROZEN");
    assert_int_equal(f.alert.colour, CW_COLOUR_RED);
    assert_string_equal(f.alert.order_id, "O-1");
    assert_string_equal(f.alert.caregiver_id, "CG09");
    assert_false(f.alert.has_measured || f.alert.has_threshold);
    assert_string_equal(f.unit, "");
    assert_string_equal(f.reason, "SCHEDULE_OVERLAP on order O-1");
    assert_int_equal(f.alert.at, 7);
}

/* The one Alert of a finding, decoded from the outbox record i. */
static void decode_emitted(const cw_outbox *ob, size_t i, avro_value_t *v, cw_alert *a)
{
    const cw_avro_schema *s;
    char err[256];
    assert_int_equal(cw_avro_decode(ob->records[i].value, ob->records[i].value_len, &s, v, err,
                                    sizeof(err)),
                     0);
    assert_string_equal(s->name, "Alert");
    assert_int_equal(cw_alert_read(v, a), 0);
}

static void test_emit_enriches_the_finding_once_per_target(void **state)
{
    (void)state;
    alert_finding f = {.alert = {.alert_id = "O-7:SHORT_DURATION",
                                 .order_id = "O-7",
                                 .rule = "SHORT_DURATION",
                                 .caregiver_id = "CG05",
                                 .colour = CW_COLOUR_ORANGE,
                                 .has_measured = 1,
                                 .measured = 20,
                                 .has_threshold = 1,
                                 .threshold = 45,
                                 .at = 1720400520000LL},
                       .unit = "min"};
    cw_order_state order = {.elder_id = "E012", .caregiver_id = "CG05", .provider_id = "P01",
                            .scheduled_start = 1720405000000LL, .scheduled_minutes = 60};
    cw_elder_state elder = {.street_id = "S01", .community_id = "C03"};
    alert_targets t = {.count = 2};
    snprintf(t.topics[0], sizeof(t.topics[0]), "alerts.street.S01");
    snprintf(t.topics[1], sizeof(t.topics[1]), "alerts.all");
    cw_outbox ob = {0};
    char err[256];
    assert_int_equal(alert_emit(&ob, &f, &order, &elder, 480, 1720400530000LL, &t, err,
                                sizeof(err)),
                     0);
    assert_int_equal(ob.count, 2);
    assert_string_equal(ob.records[0].topic, "alerts.street.S01");
    assert_string_equal(ob.records[1].topic, "alerts.all");
    assert_int_equal(ob.records[0].value_len, ob.records[1].value_len);
    assert_memory_equal(ob.records[0].value, ob.records[1].value, ob.records[0].value_len);
    assert_memory_equal(ob.records[0].key, "O-7", 3);

    avro_value_t v;
    cw_alert a;
    decode_emitted(&ob, 0, &v, &a);
    assert_string_equal(a.alert_id, "O-7:SHORT_DURATION");
    assert_string_equal(a.street_id, "S01");
    assert_string_equal(a.community_id, "C03");
    assert_string_equal(a.provider_id, "P01");
    assert_string_equal(a.elder_id, "E012");
    assert_int_equal(a.colour, CW_COLOUR_ORANGE);
    assert_true(a.has_scheduled_start && a.scheduled_start == 1720405000000LL);
    assert_true(a.has_scheduled_minutes && a.scheduled_minutes == 60);
    assert_true(a.raised_at == 1720400530000LL);
    assert_non_null(strstr(a.message_en, "the visit lasted 20.0 min, less than 45 min"));
    assert_non_null(strstr(a.message_zh, "老人 E012"));
    cw_alert_release(&a);
    avro_value_decref(&v);
    cw_outbox_free(&ob);
}

static void test_emit_of_a_month_has_no_schedule(void **state)
{
    (void)state;
    alert_finding f = {.alert = {.alert_id = "E012:2024-07:UNDER_SERVED",
                                 .order_id = "E012:2024-07",
                                 .rule = "UNDER_SERVED",
                                 .caregiver_id = "",
                                 .colour = CW_COLOUR_ORANGE,
                                 .at = 1},
                       .unit = "visits"};
    cw_order_state order = {.elder_id = "E012"};
    cw_elder_state elder = {.street_id = "S02", .community_id = "C04"};
    alert_targets t = {.count = 1};
    snprintf(t.topics[0], sizeof(t.topics[0]), "alerts.all");
    cw_outbox ob = {0};
    char err[256];
    assert_int_equal(alert_emit(&ob, &f, &order, &elder, 480, 2, &t, err, sizeof(err)), 0);
    avro_value_t v;
    cw_alert a;
    decode_emitted(&ob, 0, &v, &a);
    assert_false(a.has_scheduled_start);
    assert_false(a.has_scheduled_minutes);
    assert_string_equal(a.provider_id, "");
    assert_string_equal(a.street_id, "S02");
    cw_alert_release(&a);
    avro_value_decref(&v);
    cw_outbox_free(&ob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_id_is_order_and_rule),
        cmocka_unit_test(test_alert_round_trip),
        cmocka_unit_test(test_alert_without_values_has_nulls),
        cmocka_unit_test(test_findings_of_a_check_and_a_freeze),
        cmocka_unit_test(test_emit_enriches_the_finding_once_per_target),
        cmocka_unit_test(test_emit_of_a_month_has_no_schedule),
    };
    return cmocka_run_group_tests_name("alert record", tests, cw_test_setup_codec, cw_test_teardown_codec);
}
