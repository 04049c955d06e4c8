/* Shared by the unit tests that write instants and days as text: the test
 * fails at once on a malformed one. Include after cmocka.h. */
#ifndef TIME_FIXTURE_H
#define TIME_FIXTURE_H

#include <stdint.h>

#include "timeutil.h"

/* "2024-05-01T08:00:00+08:00" -> UTC ms. */
static inline int64_t at(const char *rfc3339)
{
    int64_t ms;
    if (cw_time_parse_rfc3339(rfc3339, &ms) != 0)
        fail_msg("bad time %s", rfc3339);
    return ms;
}

/* "2024-05-01" -> the day number cw_date_parse gives. */
static inline int64_t day(const char *text)
{
    int64_t d;
    if (cw_date_parse(text, &d) != 0)
        fail_msg("bad date %s", text);
    return d;
}

#endif
