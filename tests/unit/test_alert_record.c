/* services/alert-router/alert: the deterministic alert id and the Alert
 * record, encoded and decoded back with the codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "avro_codec.h"

static int setup_codec(void **state)
{
    (void)state;
    char err[256];
    if (cw_avro_init(err, sizeof err) != 0) {
        fprintf(stderr, "cw_avro_init: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown_codec(void **state)
{
    (void)state;
    cw_avro_shutdown();
    return 0;
}

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
    alert_record a = {.alert_id = "O-1:GEO_DISTANCE",
                      .order_id = "O-1",
                      .rule = "GEO_DISTANCE",
                      .colour = ALERT_YELLOW,
                      .street_id = "S01",
                      .community_id = "C02",
                      .provider_id = "P01",
                      .caregiver_id = "CG02",
                      .elder_id = "E004",
                      .has_schedule = 1,
                      .scheduled_start = 1720400400000LL,
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
    alert_record a = {.alert_id = "O-2:CAREGIVER_FROZEN", .order_id = "O-2",
                      .rule = "CAREGIVER_FROZEN", .colour = ALERT_RED, .street_id = "S02",
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_id_is_order_and_rule),
        cmocka_unit_test(test_alert_round_trip),
        cmocka_unit_test(test_alert_without_values_has_nulls),
    };
    return cmocka_run_group_tests_name("alert record", tests, setup_codec, teardown_codec);
}
