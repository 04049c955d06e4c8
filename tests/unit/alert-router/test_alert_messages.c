/* services/alert-router/messages: one template per rule code, filled with
 * the caregiver, order, measured value, threshold and schedule, in Chinese
 * and English; the fallbacks; always valid UTF-8 or nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "alert-router/messages.h"
#include "timeutil.h"

/* The rule codes of docs/design.md §4, and the freeze alert. */
static const char *const all_rules[] = {
    "GEO_DISTANCE",      "GEO_DUAL_MISMATCH", "IMPOSSIBLE_TRAVEL", "SHORT_DURATION",
    "NO_SHOW",           "NO_CHECKOUT",       "SCHEDULE_OVERLAP",  "VISIT_OVERLAP",
    "FROZEN_CAREGIVER",  "LATE_SUBMISSION",   "FACE_MISMATCH",     "VOICE_UNCONFIRMED",
    "PHOTO_REUSE",       "CAREGIVER_FROZEN",  "GPS_INACCURATE",    "SERVICE_MISMATCH",
    "EVIDENCE_REUSE",    "UNCERTIFIED",       "DAILY_HOURS_EXCEEDED", "ELDER_UNAVAILABLE",
    "CROSS_PROVIDER_OVERLAP", "UNDER_SERVED",
};
#define RULES (sizeof(all_rules) / sizeof(all_rules[0]))

static int64_t at(const char *rfc3339)
{
    int64_t ms = 0;
    assert_int_equal(cw_time_parse_rfc3339(rfc3339, &ms), 0);
    return ms;
}

static alert_message_input base(const char *rule)
{
    alert_message_input in;
    memset(&in, 0, sizeof(in));
    in.rule = rule;
    in.caregiver_id = "CG05";
    in.order_id = "O-TRAVEL-B";
    in.elder_id = "E012";
    in.scheduled_start = at("2024-07-08T10:15:00+08:00");
    in.scheduled_minutes = 60;
    in.utc_offset_minutes = 480;
    return in;
}

static void with_values(alert_message_input *in, double measured, double threshold,
                        const char *unit)
{
    in->has_measured = 1;
    in->measured = measured;
    in->has_threshold = 1;
    in->threshold = threshold;
    in->unit = unit;
}

/* 1 when s is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return 0;
        p += n + 1;
    }
    return 1;
}

static void render(const alert_message_input *in, char *zh, char *en)
{
    assert_int_equal(alert_messages(in, zh, ALERT_MESSAGE_MAX, en, ALERT_MESSAGE_MAX), 0);
    assert_true(utf8_valid(zh));
    assert_true(utf8_valid(en));
}

static void assert_contains(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        fail_msg("'%s' does not contain '%s'", text, part);
}

/* ---- exact texts ---------------------------------------------------------------- */

static void test_impossible_travel_text(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("IMPOSSIBLE_TRAVEL");
    with_values(&in, 120.0, 80.0, "km/h");
    render(&in, zh, en);
    assert_string_equal(zh, "护理员 CG05 在订单 O-TRAVEL-B 签到时移动速度 120.0 km/h，超过 80 "
                            "km/h（不可能的行程）。老人 E012，预约 2024-07-08 10:15，60 分钟。");
    assert_string_equal(en, "Caregiver CG05 on order O-TRAVEL-B: travelled to the check-in at "
                            "120.0 km/h, faster than 80 km/h (impossible travel). Elder E012, "
                            "scheduled 2024-07-08 10:15 for 60 min.");
}

static void test_geo_distance_text(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("GEO_DISTANCE");
    in.caregiver_id = "CG02";
    in.order_id = "O-AWAY";
    with_values(&in, 300.04, 30.0, "m");
    render(&in, zh, en);
    assert_contains(zh, "护理员 CG02 在订单 O-AWAY 的打卡定位距老人住址 300.0 米，超过 30 米（定位偏离住址）。");
    assert_contains(en, "GPS fix 300.0 m from the elder's home, more than 30 m");
}

static void test_short_duration_text(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("SHORT_DURATION");
    with_values(&in, 30.0, 55.0, "min");
    render(&in, zh, en);
    assert_contains(zh, "服务时长 30.0 分钟，少于 55 分钟（服务时长不足）");
    assert_contains(en, "the visit lasted 30.0 min, less than 55 min (short visit)");
}

static void test_scores_have_two_decimals(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("FACE_MISMATCH");
    with_values(&in, 0.62, 0.8, "score");
    render(&in, zh, en);
    assert_contains(zh, "人脸比对得分 0.62，低于 0.8（人脸不符）");
    assert_contains(en, "check-in face match score 0.62, below 0.8 (face mismatch)");
}

/* ---- missing values ------------------------------------------------------------------ */

static void test_missing_face_score(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("FACE_MISMATCH");
    in.has_threshold = 1;
    in.threshold = 0.8;
    in.unit = "score";
    render(&in, zh, en);
    assert_contains(zh, "签到时缺少人脸比对得分，要求不低于 0.8");
    assert_contains(en, "check-in without a face match score, at least 0.8 required");
    assert_null(strstr(zh, "0.00"));
}

static void test_missing_voiceprint(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("VOICE_UNCONFIRMED");
    in.has_threshold = 1;
    in.threshold = 0.8;
    render(&in, zh, en);
    assert_contains(zh, "签退时缺少声纹比对得分");
    assert_contains(en, "check-out without a voiceprint score");
}

static void test_no_show_with_and_without_a_late_check_in(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("NO_SHOW");
    in.has_threshold = 1;
    in.threshold = 30;
    render(&in, zh, en);
    assert_contains(zh, "未在订单 O-TRAVEL-B 预约开始后 30 分钟内签到（未上门）");
    assert_contains(en, "did not check in to order O-TRAVEL-B within 30 min of the scheduled start");
    with_values(&in, 47.0, 30, "min");
    render(&in, zh, en);
    assert_contains(zh, "预约开始 47.0 分钟后才签到，超过 30 分钟（未上门）");
    assert_contains(en, "checked in to order O-TRAVEL-B 47.0 min after the scheduled start");
}

static void test_no_checkout_without_a_check_out(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("NO_CHECKOUT");
    in.has_threshold = 1;
    in.threshold = 240;
    render(&in, zh, en);
    assert_contains(zh, "签到后 240 分钟内未签退（未签退）");
    assert_contains(en, "did not check out of order O-TRAVEL-B within 240 min of the check-in");
}

static void test_rule_needing_a_value_it_lacks_falls_back(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("GEO_DISTANCE");
    render(&in, zh, en);
    assert_contains(zh, "触发规则 GEO_DISTANCE（定位偏离住址）");
    assert_contains(en, "rule GEO_DISTANCE flagged (location away from home)");
}

static void test_unknown_rule_names_the_code_and_values(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("NIGHT_VISIT");
    with_values(&in, 3.5, 2, "h");
    assert_false(alert_rule_known("NIGHT_VISIT"));
    render(&in, zh, en);
    assert_contains(zh, "护理员 CG05 在订单 O-TRAVEL-B 触发规则 NIGHT_VISIT，测得 3.5，阈值 2");
    assert_contains(en, "rule NIGHT_VISIT flagged, measured 3.5, threshold 2");
    in.has_measured = in.has_threshold = 0;
    render(&in, zh, en);
    assert_contains(zh, "触发规则 NIGHT_VISIT（NIGHT_VISIT）");
}

/* ---- freezes ------------------------------------------------------------------------- */

static void test_caregiver_frozen_names_the_cause(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("CAREGIVER_FROZEN");
    in.caregiver_id = "CG11";
    in.order_id = "O-SCHED-B";
    in.reason = "SCHEDULE_OVERLAP on order O-SCHED-B";
    render(&in, zh, en);
    assert_contains(zh, "护理员 CG11 因订单 O-SCHED-B 排班冲突（SCHEDULE_OVERLAP）已被冻结");
    assert_contains(en, "Caregiver CG11 was frozen for schedule overlap (SCHEDULE_OVERLAP) on "
                        "order O-SCHED-B");
}

static void test_caregiver_frozen_for_another_reason(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("CAREGIVER_FROZEN");
    in.reason = "suspended by the street office";
    render(&in, zh, en);
    assert_contains(zh, "因订单 O-TRAVEL-B 已被冻结（suspended by the street office）");
    assert_contains(en, "was frozen on order O-TRAVEL-B (suspended by the street office)");
}

/* ---- every rule ---------------------------------------------------------------------- */

static void test_every_rule_has_its_own_text(void **state)
{
    (void)state;
    static char seen_zh[RULES][ALERT_MESSAGE_MAX], seen_en[RULES][ALERT_MESSAGE_MAX];
    for (size_t i = 0; i < RULES; i++) {
        alert_message_input in = base(all_rules[i]);
        with_values(&in, 12.5, 10, "m");
        in.reason = "VISIT_OVERLAP on order O-TRAVEL-B";
        assert_true(alert_rule_known(all_rules[i]));
        render(&in, seen_zh[i], seen_en[i]);
        /* Evidence is the provider's, a month the elder's: no caregiver. */
        if (strcmp(all_rules[i], "EVIDENCE_REUSE") != 0 &&
            strcmp(all_rules[i], "UNDER_SERVED") != 0)
            assert_contains(seen_zh[i], "CG05");
        assert_contains(seen_zh[i], "O-TRAVEL-B");
        /* A freeze names the rule that froze instead of its own title. */
        const char *title = strcmp(all_rules[i], "CAREGIVER_FROZEN") == 0 ? "VISIT_OVERLAP"
                                                                           : all_rules[i];
        assert_contains(seen_zh[i], alert_rule_title_zh(title));
        assert_contains(seen_en[i], alert_rule_title_en(title));
        assert_contains(seen_zh[i], "老人 E012，预约 2024-07-08 10:15，60 分钟。");
        assert_contains(seen_en[i], "Elder E012, scheduled 2024-07-08 10:15 for 60 min.");
        /* No placeholder left over, no generic wording. */
        assert_null(strchr(seen_zh[i], '{'));
        assert_null(strchr(seen_en[i], '{'));
        assert_null(strstr(seen_zh[i], "触发规则"));
        assert_null(strstr(seen_en[i], "flagged"));
        assert_string_not_equal(alert_rule_title_en(all_rules[i]), all_rules[i]);
        for (size_t k = 0; k < i; k++) {
            assert_string_not_equal(seen_zh[i], seen_zh[k]);
            assert_string_not_equal(seen_en[i], seen_en[k]);
        }
    }
}

static void test_rules_with_a_measurement_show_it(void **state)
{
    (void)state;
    static const char *const measured[] = {"GEO_DISTANCE",    "GEO_DUAL_MISMATCH",
                                           "IMPOSSIBLE_TRAVEL", "SHORT_DURATION",
                                           "NO_SHOW",         "NO_CHECKOUT",
                                           "SCHEDULE_OVERLAP", "VISIT_OVERLAP",
                                           "LATE_SUBMISSION", "FACE_MISMATCH",
                                           "VOICE_UNCONFIRMED"};
    for (size_t i = 0; i < sizeof(measured) / sizeof(measured[0]); i++) {
        char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
        alert_message_input in = base(measured[i]);
        with_values(&in, 12.5, 10, "m");
        render(&in, zh, en);
        assert_contains(zh, "12.5");
        assert_contains(en, "12.5");
    }
}

/* ---- schedule and limits ------------------------------------------------------------------- */

static void test_schedule_in_the_configured_offset(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input in = base("PHOTO_REUSE");
    in.utc_offset_minutes = 0;
    render(&in, zh, en);
    assert_contains(zh, "预约 2024-07-08 02:15，60 分钟");
    in.scheduled_start = at("2024-07-07T23:30:00+08:00");
    in.utc_offset_minutes = 480;
    render(&in, zh, en);
    assert_contains(en, "scheduled 2024-07-07 23:30 for 60 min");
}

static void test_small_buffers_fail_cleanly(void **state)
{
    (void)state;
    char zh[ALERT_MESSAGE_MAX], en[40];
    alert_message_input in = base("IMPOSSIBLE_TRAVEL");
    with_values(&in, 120.0, 80.0, "km/h");
    assert_int_equal(alert_messages(&in, zh, sizeof(zh), en, sizeof(en)), -1);
    assert_string_equal(zh, "");
    assert_string_equal(en, "");
    char tiny[20];
    assert_int_equal(alert_messages(&in, tiny, sizeof(tiny), zh, sizeof(zh)), -1);
    assert_string_equal(tiny, "");
}

static void test_longest_ids_fit(void **state)
{
    (void)state;
    char id[65];
    memset(id, 'x', 64);
    id[64] = '\0';
    for (size_t i = 0; i < RULES; i++) {
        char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
        alert_message_input in = base(all_rules[i]);
        in.caregiver_id = in.order_id = in.elder_id = id;
        with_values(&in, -123456789.25, 123456789, "km/h");
        char reason[100];
        snprintf(reason, sizeof(reason), "VOICE_UNCONFIRMED on order %s", id);
        in.reason = reason;
        render(&in, zh, en);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_impossible_travel_text),
        cmocka_unit_test(test_geo_distance_text),
        cmocka_unit_test(test_short_duration_text),
        cmocka_unit_test(test_scores_have_two_decimals),
        cmocka_unit_test(test_missing_face_score),
        cmocka_unit_test(test_missing_voiceprint),
        cmocka_unit_test(test_no_show_with_and_without_a_late_check_in),
        cmocka_unit_test(test_no_checkout_without_a_check_out),
        cmocka_unit_test(test_rule_needing_a_value_it_lacks_falls_back),
        cmocka_unit_test(test_unknown_rule_names_the_code_and_values),
        cmocka_unit_test(test_caregiver_frozen_names_the_cause),
        cmocka_unit_test(test_caregiver_frozen_for_another_reason),
        cmocka_unit_test(test_every_rule_has_its_own_text),
        cmocka_unit_test(test_rules_with_a_measurement_show_it),
        cmocka_unit_test(test_schedule_in_the_configured_offset),
        cmocka_unit_test(test_small_buffers_fail_cleanly),
        cmocka_unit_test(test_longest_ids_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
