/* Time helpers. Event times are int64 milliseconds since the Unix epoch (UTC).
 * Everything here is pure except cw_now_ms(). */
#ifndef CW_TIMEUTIL_H
#define CW_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parses RFC 3339 with a mandatory offset: "2024-05-01T08:00:00+08:00",
 * "2024-05-01T00:00:00.5Z". Fractions beyond milliseconds are truncated.
 * Rejects out-of-range fields (month 13, Feb 30, hour 24, offset > 18h).
 * Returns 0 and sets *ms, or -1. */
int cw_time_parse_rfc3339(const char *text, int64_t *ms);

/* "YYYY-MM-DD" (a real calendar date) -> days since 1970-01-01. 0 or -1. */
int cw_date_parse(const char *text, int64_t *days);

/* Days since epoch -> "YYYY-MM-DD" (buf >= 11 bytes). */
void cw_date_format(int64_t days, char *buf, size_t len);

/* The calendar date of ms in the zone utc_offset_minutes east of UTC
 * (service days are UTC+8: offset 480). */
int64_t cw_service_day(int64_t ms, int utc_offset_minutes);

/* ms -> "2024-05-01T08:00:00.000+08:00" in the given offset (buf >= 30). */
void cw_time_format_rfc3339(int64_t ms, int utc_offset_minutes, char *buf, size_t len);

int64_t cw_days_from_civil(int64_t y, unsigned m, unsigned d);
void cw_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Wall clock, ms since epoch. */
int64_t cw_now_ms(void);

#endif
