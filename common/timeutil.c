#include "timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MS_PER_DAY 86400000LL

/* Howard Hinnant's days-from-civil algorithm (proleptic Gregorian). */
int64_t cw_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void cw_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const unsigned doe = (unsigned)(days - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly n decimal digits. */
static int read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int expect_char(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

static int parse_date_part(const char **p, int *y, int *mo, int *d)
{
    if (read_digits(p, 4, y) || expect_char(p, '-') || read_digits(p, 2, mo) ||
        expect_char(p, '-') || read_digits(p, 2, d))
        return -1;
    if (*mo < 1 || *mo > 12 || *d < 1 || (unsigned)*d > days_in_month(*y, (unsigned)*mo))
        return -1;
    return 0;
}

int cw_date_parse(const char *text, int64_t *days)
{
    const char *p = text;
    int y, mo, d;
    if (!text || parse_date_part(&p, &y, &mo, &d) || *p != '\0')
        return -1;
    *days = cw_days_from_civil(y, (unsigned)mo, (unsigned)d);
    return 0;
}

void cw_date_format(int64_t days, char *buf, size_t len)
{
    int64_t y;
    unsigned m, d;
    cw_civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04lld-%02u-%02u", (long long)y, m, d);
}

static int parse_offset_minutes(const char **p, int *offset)
{
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        *offset = 0;
        return 0;
    }
    int sign = **p == '+' ? 1 : **p == '-' ? -1 : 0;
    int oh, om;
    if (!sign)
        return -1;
    (*p)++;
    if (read_digits(p, 2, &oh) || expect_char(p, ':') || read_digits(p, 2, &om))
        return -1;
    if (om > 59 || oh * 60 + om > 18 * 60)
        return -1;
    *offset = sign * (oh * 60 + om);
    return 0;
}

int cw_time_parse_rfc3339(const char *text, int64_t *ms)
{
    const char *p = text;
    int y, mo, d, h, mi, s, millis = 0, offset;
    if (!text || parse_date_part(&p, &y, &mo, &d))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if (read_digits(&p, 2, &h) || expect_char(&p, ':') || read_digits(&p, 2, &mi) ||
        expect_char(&p, ':') || read_digits(&p, 2, &s))
        return -1;
    if (h > 23 || mi > 59 || s > 59)
        return -1;
    if (*p == '.') {
        p++;
        int ndigits = 0;
        while (isdigit((unsigned char)*p)) {
            if (ndigits < 3)
                millis = millis * 10 + (*p - '0');
            ndigits++;
            p++;
        }
        if (ndigits == 0)
            return -1;
        for (int i = ndigits; i < 3; i++)
            millis *= 10;
    }
    if (parse_offset_minutes(&p, &offset) || *p != '\0')
        return -1;
    int64_t days = cw_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - (int64_t)offset * 60;
    *ms = secs * 1000 + millis;
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t cw_service_day(int64_t ms, int utc_offset_minutes)
{
    return floor_div(ms + (int64_t)utc_offset_minutes * 60000, MS_PER_DAY);
}

void cw_time_format_rfc3339(int64_t ms, int utc_offset_minutes, char *buf, size_t len)
{
    int64_t local = ms + (int64_t)utc_offset_minutes * 60000;
    int64_t days = floor_div(local, MS_PER_DAY);
    int64_t in_day = local - days * MS_PER_DAY;
    int64_t y;
    unsigned m, d;
    cw_civil_from_days(days, &y, &m, &d);
    int off = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
    snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02d.%03d%c%02d:%02d", (long long)y, m, d,
             (int)(in_day / 3600000), (int)(in_day / 60000 % 60), (int)(in_day / 1000 % 60),
             (int)(in_day % 1000), utc_offset_minutes < 0 ? '-' : '+', off / 60, off % 60);
}

int64_t cw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
