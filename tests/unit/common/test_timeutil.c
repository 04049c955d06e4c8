/* common/timeutil: RFC 3339 parsing and formatting, calendar dates and
 * service days. Expected instants were computed independently of the code
 * under test (and the date sweeps walk a naive calendar day by day). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timeutil.h"

#define MS_PER_DAY 86400000LL

/* ---- helpers -------------------------------------------------------------- */

static int64_t parse_ok(const char *text)
{
    int64_t ms = 0x5a5a5a5a;
    if (cw_time_parse_rfc3339(text, &ms) != 0)
        fail_msg("expected \"%s\" to parse", text);
    return ms;
}

static void assert_time_rejected(const char *text)
{
    int64_t ms = 12345;
    if (cw_time_parse_rfc3339(text, &ms) != -1)
        fail_msg("expected \"%s\" to be rejected, got %lld", text ? text : "(null)",
                 (long long)ms);
}

static int64_t date_ok(const char *text)
{
    int64_t days = 0x5a5a5a5a;
    if (cw_date_parse(text, &days) != 0)
        fail_msg("expected date \"%s\" to parse", text);
    return days;
}

static void assert_date_rejected(const char *text)
{
    int64_t days = 12345;
    if (cw_date_parse(text, &days) != -1)
        fail_msg("expected date \"%s\" to be rejected, got %lld", text ? text : "(null)",
                 (long long)days);
}

/* A deliberately naive calendar, independent of the code under test. */
static int ref_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned ref_month_days(int64_t y, unsigned m)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && ref_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 by counting whole years and months (y >= 1). */
static int64_t ref_days(int64_t y, unsigned m, unsigned d)
{
    int64_t days = 0;
    if (y >= 1970)
        for (int64_t i = 1970; i < y; i++)
            days += ref_leap(i) ? 366 : 365;
    else
        for (int64_t i = y; i < 1970; i++)
            days -= ref_leap(i) ? 366 : 365;
    for (unsigned i = 1; i < m; i++)
        days += ref_month_days(y, i);
    return days + d - 1;
}

/* ---- RFC 3339 parsing ------------------------------------------------------- */

static void parse_known_instants(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-05-01T08:00:00+08:00"), 1714521600000LL);
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("1970-01-01T08:00:00+08:00"), 0);
    assert_int_equal(parse_ok("2024-02-29T12:00:00Z"), 1709208000000LL);
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 951782400000LL);
    assert_int_equal(parse_ok("2024-12-31T23:59:59Z"), 1735689599000LL);
    assert_int_equal(parse_ok("2038-01-19T03:14:08Z"), 2147483648000LL);
    assert_int_equal(parse_ok("2100-03-01T00:00:00Z"), 4107542400000LL);
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z"), 253402300799999LL);
}

static void parse_matches_reference_calendar(void **state)
{
    (void)state;
    /* 2024-05-01T08:00:00+08:00 is 2024-05-01T00:00:00Z. */
    assert_int_equal(parse_ok("2024-05-01T08:00:00+08:00"), ref_days(2024, 5, 1) * MS_PER_DAY);
    assert_int_equal(parse_ok("2023-03-01T13:14:15Z"),
                     ref_days(2023, 3, 1) * MS_PER_DAY + (13 * 3600 + 14 * 60 + 15) * 1000LL);
    assert_int_equal(parse_ok("1999-12-31T23:59:59Z"),
                     ref_days(2000, 1, 1) * MS_PER_DAY - 1000);
}

static void parse_same_instant_in_different_offsets(void **state)
{
    (void)state;
    int64_t utc = parse_ok("2024-05-01T00:00:00Z");
    assert_int_equal(parse_ok("2024-05-01T00:00:00+00:00"), utc);
    assert_int_equal(parse_ok("2024-05-01T00:00:00-00:00"), utc);
    assert_int_equal(parse_ok("2024-05-01T08:00:00+08:00"), utc);
    assert_int_equal(parse_ok("2024-04-30T19:00:00-05:00"), utc);
    assert_int_equal(parse_ok("2024-05-01T05:30:00+05:30"), utc);
    assert_int_equal(parse_ok("2024-04-30T14:15:00-09:45"), utc);
}

static void parse_offset_crosses_date_and_year(void **state)
{
    (void)state;
    /* Local New Year's Day in Beijing is still the old year in UTC. */
    assert_int_equal(parse_ok("2025-01-01T07:59:59+08:00"), parse_ok("2024-12-31T23:59:59Z"));
    assert_int_equal(parse_ok("2024-12-31T20:00:00-05:00"), parse_ok("2025-01-01T01:00:00Z"));
}

static void parse_fractions_to_milliseconds(void **state)
{
    (void)state;
    int64_t base = 1714521600000LL;
    assert_int_equal(parse_ok("2024-05-01T00:00:00.5Z"), base + 500);
    assert_int_equal(parse_ok("2024-05-01T00:00:00.05Z"), base + 50);
    assert_int_equal(parse_ok("2024-05-01T00:00:00.123Z"), base + 123);
    assert_int_equal(parse_ok("2024-05-01T00:00:00.000Z"), base);
    assert_int_equal(parse_ok("2024-05-01T08:00:00.001+08:00"), base + 1);
    /* Beyond milliseconds the digits are truncated, not rounded. */
    assert_int_equal(parse_ok("2024-05-01T00:00:00.1239Z"), base + 123);
    assert_int_equal(parse_ok("2024-05-01T00:00:00.999999999Z"), base + 999);
    assert_int_equal(parse_ok("2024-05-01T00:00:00.000999Z"), base);
}

static void parse_accepts_rfc3339_case_variants(void **state)
{
    (void)state;
    int64_t utc = 1714521600000LL;
    assert_int_equal(parse_ok("2024-05-01t00:00:00z"), utc);
    assert_int_equal(parse_ok("2024-05-01T00:00:00z"), utc);
    assert_int_equal(parse_ok("2024-05-01 00:00:00Z"), utc);
}

static void parse_before_1970(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1969-12-31T23:59:59.999Z"), -1);
    assert_int_equal(parse_ok("1969-12-31T23:59:59.5Z"), -500);
    assert_int_equal(parse_ok("1969-12-31T23:59:59Z"), -1000);
    assert_int_equal(parse_ok("1970-01-01T07:59:59+08:00"), -1000);
    assert_int_equal(parse_ok("1900-01-01T00:00:00Z"), -2208988800000LL);
    assert_int_equal(parse_ok("1960-06-15T10:30:00-05:30"), -301219200000LL);
    assert_int_equal(parse_ok("0001-01-01T00:00:00Z"), -62135596800000LL);
}

static void parse_rejects_missing_offset(void **state)
{
    (void)state;
    assert_time_rejected("2024-05-01T08:00:00");
    assert_time_rejected("2024-05-01T08:00:00.123");
    assert_time_rejected("2024-05-01T08:00:00+0800");
    assert_time_rejected("2024-05-01T08:00:00+08");
    assert_time_rejected("2024-05-01T08:00:00+8:00");
    assert_time_rejected("2024-05-01T08:00:00 +08:00");
    assert_time_rejected("2024-05-01T08:00:00UTC");
    assert_time_rejected("2024-05-01T08:00:00GMT+8");
}

static void parse_rejects_impossible_calendar_fields(void **state)
{
    (void)state;
    assert_time_rejected("2024-02-30T00:00:00Z");
    assert_time_rejected("2023-02-29T00:00:00Z");
    assert_time_rejected("2024-04-31T00:00:00Z");
    assert_time_rejected("2024-13-01T00:00:00Z");
    assert_time_rejected("2024-00-01T00:00:00Z");
    assert_time_rejected("2024-01-00T00:00:00Z");
    assert_time_rejected("2024-01-32T00:00:00Z");
}

static void parse_rejects_out_of_range_clock_fields(void **state)
{
    (void)state;
    assert_time_rejected("2024-05-01T24:00:00Z");
    assert_time_rejected("2024-05-01T23:60:00Z");
    assert_time_rejected("2024-05-01T23:59:60Z");
    assert_time_rejected("2024-05-01T99:00:00Z");
    assert_int_equal(parse_ok("2024-05-01T23:59:59Z"), 1714521600000LL + MS_PER_DAY - 1000);
}

static void parse_offset_bounds(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-05-01T18:00:00+18:00"), 1714521600000LL);
    assert_int_equal(parse_ok("2024-04-30T06:00:00-18:00"), 1714521600000LL);
    assert_time_rejected("2024-05-01T00:00:00+19:00");
    assert_time_rejected("2024-05-01T00:00:00+08:60");
    assert_time_rejected("2024-05-01T00:00:00-99:00");
}

/* timeutil.h: "Rejects out-of-range fields (... offset > 18h)". */
static void parse_rejects_offset_just_over_18_hours(void **state)
{
    (void)state;
    assert_time_rejected("2024-05-01T00:00:00+18:01");
    assert_time_rejected("2024-05-01T00:00:00-18:30");
    assert_time_rejected("2024-05-01T00:00:00+18:59");
}

static void parse_rejects_garbage(void **state)
{
    (void)state;
    assert_time_rejected(NULL);
    assert_time_rejected("");
    assert_time_rejected("garbage");
    assert_time_rejected("2024-05-01");
    assert_time_rejected("2024-05-01T");
    assert_time_rejected("2024-05-01T08:00Z");
    assert_time_rejected("2024-05-01T08:00:00.Z");
    assert_time_rejected("2024-05-01T08:00:00,5Z");
    assert_time_rejected("2024-5-01T08:00:00Z");
    assert_time_rejected("2024-05-1T08:00:00Z");
    assert_time_rejected("24-05-01T08:00:00Z");
    assert_time_rejected("+2024-05-01T08:00:00Z");
    assert_time_rejected(" 2024-05-01T08:00:00Z");
    assert_time_rejected("2024-05-01T08:00:00Z ");
    assert_time_rejected("2024-05-01T08:00:00ZZ");
    assert_time_rejected("2024-05-01T08:00:00+08:00x");
    assert_time_rejected("2024/05/01T08:00:00Z");
    assert_time_rejected("2024-05-01X08:00:00Z");
    assert_time_rejected("2024-05-01T08-00-00Z");
    assert_time_rejected("1714521600000");
    assert_time_rejected("2024-05-01T0a:00:00Z");
}

static void parse_leaves_output_alone_on_failure(void **state)
{
    (void)state;
    int64_t ms = 777;
    assert_int_equal(cw_time_parse_rfc3339("2024-02-30T00:00:00Z", &ms), -1);
    assert_int_equal(ms, 777);
}

/* ---- leap years -------------------------------------------------------------- */

static void leap_years_in_dates(void **state)
{
    (void)state;
    assert_int_equal(date_ok("2024-02-29"), 19782);
    assert_int_equal(date_ok("2024-03-01"), 19783);
    assert_date_rejected("2023-02-29");
    assert_int_equal(date_ok("2023-02-28") + 1, date_ok("2023-03-01"));
    /* Divisible by 400: leap. Divisible by 100 only: not. */
    assert_int_equal(date_ok("2000-02-29") + 1, date_ok("2000-03-01"));
    assert_int_equal(date_ok("2000-03-01"), 11017);
    assert_date_rejected("1900-02-29");
    assert_int_equal(date_ok("1900-02-28") + 1, date_ok("1900-03-01"));
    assert_int_equal(date_ok("1900-03-01"), -25508);
    assert_date_rejected("2100-02-29");
    assert_int_equal(date_ok("2400-02-29"), ref_days(2400, 2, 29));
}

static void leap_years_in_times(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-02-29T23:59:59+08:00"), 1709222399000LL);
    assert_time_rejected("2023-02-29T00:00:00+08:00");
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 951782400000LL);
    assert_time_rejected("1900-02-29T00:00:00Z");
}

static void year_lengths(void **state)
{
    (void)state;
    assert_int_equal(date_ok("2025-01-01") - date_ok("2024-01-01"), 366);
    assert_int_equal(date_ok("2024-01-01") - date_ok("2023-01-01"), 365);
    assert_int_equal(date_ok("2001-01-01") - date_ok("2000-01-01"), 366);
    assert_int_equal(date_ok("1901-01-01") - date_ok("1900-01-01"), 365);
}

/* ---- dates -------------------------------------------------------------------- */

static void date_known_values(void **state)
{
    (void)state;
    assert_int_equal(date_ok("1970-01-01"), 0);
    assert_int_equal(date_ok("1970-01-02"), 1);
    assert_int_equal(date_ok("1969-12-31"), -1);
    assert_int_equal(date_ok("2024-05-01"), 19844);
    assert_int_equal(date_ok("0001-01-01"), -719162);
    assert_int_equal(date_ok("9999-12-31"), 2932896);
}

static void date_month_lengths(void **state)
{
    (void)state;
    static const char *const last_days[] = {"2023-01-31", "2023-03-31", "2023-04-30",
                                            "2023-05-31", "2023-06-30", "2023-07-31",
                                            "2023-08-31", "2023-09-30", "2023-10-31",
                                            "2023-11-30", "2023-12-31", "2023-02-28"};
    static const char *const past_end[] = {"2023-01-32", "2023-03-32", "2023-04-31",
                                           "2023-05-32", "2023-06-31", "2023-07-32",
                                           "2023-08-32", "2023-09-31", "2023-10-32",
                                           "2023-11-31", "2023-12-32", "2023-02-29"};
    for (size_t i = 0; i < sizeof(last_days) / sizeof(last_days[0]); i++) {
        date_ok(last_days[i]);
        assert_date_rejected(past_end[i]);
    }
}

static void date_rejects_malformed(void **state)
{
    (void)state;
    assert_date_rejected(NULL);
    assert_date_rejected("");
    assert_date_rejected("2024-5-01");
    assert_date_rejected("2024-05-1");
    assert_date_rejected("20240501");
    assert_date_rejected("2024/05/01");
    assert_date_rejected("2024-05-01T00:00:00Z");
    assert_date_rejected("2024-05-01 ");
    assert_date_rejected(" 2024-05-01");
    assert_date_rejected("2024-13-01");
    assert_date_rejected("2024-00-10");
    assert_date_rejected("2024-01-00");
    assert_date_rejected("-2024-01-01");
    assert_date_rejected("2024-0a-01");
    assert_date_rejected("yesterday");
}

static void date_format_known_values(void **state)
{
    (void)state;
    char buf[11];
    cw_date_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01");
    cw_date_format(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31");
    cw_date_format(19844, buf, sizeof(buf));
    assert_string_equal(buf, "2024-05-01");
    cw_date_format(19782, buf, sizeof(buf));
    assert_string_equal(buf, "2024-02-29");
    cw_date_format(-719162, buf, sizeof(buf));
    assert_string_equal(buf, "0001-01-01");
    cw_date_format(2932896, buf, sizeof(buf));
    assert_string_equal(buf, "9999-12-31");
}

/* Walks the calendar one day at a time from 1890 to 2110 (covering 1900 and
 * 2100, which are not leap years, and 2000, which is) and checks parse,
 * format and the civil conversions against the walk. */
static void date_round_trip_day_by_day(void **state)
{
    (void)state;
    int64_t y = 1890;
    unsigned m = 1, d = 1;
    int64_t days = ref_days(1890, 1, 1);
    assert_int_equal(days, -29219);
    while (y < 2110) {
        char expected[48], buf[48];
        snprintf(expected, sizeof(expected), "%04lld-%02u-%02u", (long long)y, m, d);
        assert_int_equal(date_ok(expected), days);
        cw_date_format(days, buf, sizeof(buf));
        assert_string_equal(buf, expected);
        assert_int_equal(cw_days_from_civil(y, m, d), days);
        int64_t cy;
        unsigned cm, cd;
        cw_civil_from_days(days, &cy, &cm, &cd);
        assert_int_equal(cy, y);
        assert_int_equal(cm, m);
        assert_int_equal(cd, d);
        days++;
        if (++d > ref_month_days(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    assert_int_equal(days, ref_days(2110, 1, 1));
}

/* Every first of March and last of February from year 1 to 9999. */
static void date_round_trip_all_years(void **state)
{
    (void)state;
    for (int64_t y = 1; y <= 9999; y++) {
        char text[48], buf[48];
        int64_t march1 = ref_days(y, 3, 1);
        snprintf(text, sizeof(text), "%04lld-03-01", (long long)y);
        assert_int_equal(date_ok(text), march1);
        cw_date_format(march1 - 1, buf, sizeof(buf));
        snprintf(text, sizeof(text), "%04lld-02-%02u", (long long)y, ref_leap(y) ? 29u : 28u);
        assert_string_equal(buf, text);
    }
}

/* ---- service days (UTC+8) ----------------------------------------------------- */

static void service_day_boundary_utc8(void **state)
{
    (void)state;
    int64_t apr30 = date_ok("2024-04-30"), may1 = date_ok("2024-05-01");
    /* 00:00 in UTC+8 is 16:00 the previous day in UTC. */
    assert_int_equal(cw_service_day(parse_ok("2024-04-30T15:59:59.999Z"), 480), apr30);
    assert_int_equal(cw_service_day(parse_ok("2024-04-30T16:00:00Z"), 480), may1);
    assert_int_equal(cw_service_day(parse_ok("2024-04-30T23:59:59.999+08:00"), 480), apr30);
    assert_int_equal(cw_service_day(parse_ok("2024-05-01T00:00:00+08:00"), 480), may1);
    assert_int_equal(cw_service_day(parse_ok("2024-05-01T23:59:59.999+08:00"), 480), may1);
    assert_int_equal(cw_service_day(parse_ok("2024-05-02T00:00:00+08:00"), 480), may1 + 1);
}

static void service_day_in_utc_and_negative_offsets(void **state)
{
    (void)state;
    int64_t may1 = date_ok("2024-05-01");
    assert_int_equal(cw_service_day(parse_ok("2024-04-30T23:59:59.999Z"), 0), may1 - 1);
    assert_int_equal(cw_service_day(parse_ok("2024-05-01T00:00:00Z"), 0), may1);
    assert_int_equal(cw_service_day(parse_ok("2024-05-01T04:59:59.999Z"), -300), may1 - 1);
    assert_int_equal(cw_service_day(parse_ok("2024-05-01T05:00:00Z"), -300), may1);
}

static void service_day_before_1970(void **state)
{
    (void)state;
    assert_int_equal(cw_service_day(-1, 0), -1);
    assert_int_equal(cw_service_day(0, 0), 0);
    assert_int_equal(cw_service_day(-MS_PER_DAY, 0), -1);
    assert_int_equal(cw_service_day(-MS_PER_DAY - 1, 0), -2);
    /* 1969-12-31T16:00:00Z is 1970-01-01T00:00 in UTC+8. */
    assert_int_equal(cw_service_day(parse_ok("1969-12-31T15:59:59.999Z"), 480), -1);
    assert_int_equal(cw_service_day(parse_ok("1969-12-31T16:00:00Z"), 480), 0);
    assert_int_equal(cw_service_day(parse_ok("1960-06-15T10:30:00+08:00"), 480),
                     ref_days(1960, 6, 15));
}

/* ---- formatting ---------------------------------------------------------------- */

static void format_known_instants(void **state)
{
    (void)state;
    char buf[40];
    cw_time_format_rfc3339(1714521600000LL, 480, buf, sizeof(buf));
    assert_string_equal(buf, "2024-05-01T08:00:00.000+08:00");
    cw_time_format_rfc3339(1714521600000LL, 0, buf, sizeof(buf));
    assert_string_equal(buf, "2024-05-01T00:00:00.000+00:00");
    cw_time_format_rfc3339(1714521600000LL, -330, buf, sizeof(buf));
    assert_string_equal(buf, "2024-04-30T18:30:00.000-05:30");
    cw_time_format_rfc3339(1714521600123LL, 480, buf, sizeof(buf));
    assert_string_equal(buf, "2024-05-01T08:00:00.123+08:00");
    cw_time_format_rfc3339(-1, 0, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999+00:00");
    cw_time_format_rfc3339(-1, 480, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T07:59:59.999+08:00");
    cw_time_format_rfc3339(-2208988800000LL, 0, buf, sizeof(buf));
    assert_string_equal(buf, "1900-01-01T00:00:00.000+00:00");
}

static void format_fits_documented_buffer(void **state)
{
    (void)state;
    char buf[30];
    memset(buf, 'x', sizeof(buf));
    cw_time_format_rfc3339(1714521600999LL, 480, buf, sizeof(buf));
    assert_string_equal(buf, "2024-05-01T08:00:00.999+08:00");
    assert_int_equal(strlen(buf), 29);
}

static void format_parse_round_trip(void **state)
{
    (void)state;
    static const int offsets[] = {480, 0, -300, 345, -720, 840};
    /* From 1901 to 2099 in irregular steps (~3.7 days + 7,919 ms) so every
     * time of day and millisecond shows up. */
    const int64_t step = 317777777LL + 7919;
    for (int64_t ms = -2177452800000LL; ms < 4102444800000LL; ms += step) {
        for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
            char buf[40];
            cw_time_format_rfc3339(ms, offsets[i], buf, sizeof(buf));
            int64_t back = 0;
            if (cw_time_parse_rfc3339(buf, &back) != 0 || back != ms)
                fail_msg("%lld at offset %d formatted as %s parsed back to %lld", (long long)ms,
                         offsets[i], buf, (long long)back);
        }
    }
}

static void format_shows_local_date_of_service_day(void **state)
{
    (void)state;
    /* The date printed in UTC+8 is the service day. */
    for (int64_t ms = parse_ok("2024-04-30T15:00:00Z"); ms < parse_ok("2024-05-01T17:00:00Z");
         ms += 60000 * 7 + 1) {
        char buf[40], day[16];
        cw_time_format_rfc3339(ms, 480, buf, sizeof(buf));
        cw_date_format(cw_service_day(ms, 480), day, sizeof(day));
        assert_memory_equal(buf, day, 10);
    }
}

/* ---- wall clock ---------------------------------------------------------------- */

/* The real-time clock in ms. Not time(): glibc may read it from the coarse
 * clock, a few ms behind, and a second boundary crossed between the calls
 * then put cw_now_ms() after "after". */
static int64_t realtime_ms(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void now_is_close_to_time(void **state)
{
    (void)state;
    int64_t before = realtime_ms();
    int64_t now = cw_now_ms();
    int64_t after = realtime_ms();
    assert_true(now >= before);
    assert_true(now <= after);
    assert_true(now > parse_ok("2020-01-01T00:00:00Z"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_known_instants),
        cmocka_unit_test(parse_matches_reference_calendar),
        cmocka_unit_test(parse_same_instant_in_different_offsets),
        cmocka_unit_test(parse_offset_crosses_date_and_year),
        cmocka_unit_test(parse_fractions_to_milliseconds),
        cmocka_unit_test(parse_accepts_rfc3339_case_variants),
        cmocka_unit_test(parse_before_1970),
        cmocka_unit_test(parse_rejects_missing_offset),
        cmocka_unit_test(parse_rejects_impossible_calendar_fields),
        cmocka_unit_test(parse_rejects_out_of_range_clock_fields),
        cmocka_unit_test(parse_offset_bounds),
        cmocka_unit_test(parse_rejects_offset_just_over_18_hours),
        cmocka_unit_test(parse_rejects_garbage),
        cmocka_unit_test(parse_leaves_output_alone_on_failure),
        cmocka_unit_test(leap_years_in_dates),
        cmocka_unit_test(leap_years_in_times),
        cmocka_unit_test(year_lengths),
        cmocka_unit_test(date_known_values),
        cmocka_unit_test(date_month_lengths),
        cmocka_unit_test(date_rejects_malformed),
        cmocka_unit_test(date_format_known_values),
        cmocka_unit_test(date_round_trip_day_by_day),
        cmocka_unit_test(date_round_trip_all_years),
        cmocka_unit_test(service_day_boundary_utc8),
        cmocka_unit_test(service_day_in_utc_and_negative_offsets),
        cmocka_unit_test(service_day_before_1970),
        cmocka_unit_test(format_known_instants),
        cmocka_unit_test(format_fits_documented_buffer),
        cmocka_unit_test(format_parse_round_trip),
        cmocka_unit_test(format_shows_local_date_of_service_day),
        cmocka_unit_test(now_is_close_to_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
