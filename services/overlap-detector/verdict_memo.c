#include "overlap-detector/verdict_memo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int overlap_memo_format(const overlap_memo *m, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s|%.6f|%s|%s", cw_outcome_name(m->v.outcome),
                     m->v.has_measured ? m->v.measured : -1.0, m->other, m->origin);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Copies the next '|'-separated field of *p into buf and moves *p past it.
 * 0, or -1 when there is none or it does not fit. */
static int next_field(const char **p, char *buf, size_t len)
{
    if (*p == NULL)
        return -1;
    const char *bar = strchr(*p, '|');
    size_t n = bar ? (size_t)(bar - *p) : strlen(*p);
    if (n >= len)
        return -1;
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p = bar ? bar + 1 : NULL;
    return 0;
}

int overlap_memo_parse(const char *stored, overlap_memo *m)
{
    char outcome[16], measured[32];
    const char *p = stored;
    if (next_field(&p, outcome, sizeof(outcome)) != 0 ||
        next_field(&p, measured, sizeof(measured)) != 0 ||
        next_field(&p, m->other, sizeof(m->other)) != 0 ||
        cw_outcome_parse(outcome, &m->v.outcome) != 0)
        return -1;
    /* The origin is the rest: a timer's ("timer:<rule>|<order>") holds a
     * '|' of its own. Memos written before origins were kept have none: not
     * this one. */
    if (p == NULL || strlen(p) >= sizeof(m->origin))
        m->origin[0] = '\0';
    else
        memcpy(m->origin, p, strlen(p) + 1);
    double value = strtod(measured, NULL);
    m->v.has_measured = value >= 0;
    m->v.measured = value >= 0 ? value : 0;
    return 0;
}

void overlap_origin_of_record(const char *topic, int partition, int64_t offset, char *buf,
                              size_t len)
{
    snprintf(buf, len, "%s:%d:%" PRId64, topic, partition, offset);
}

void overlap_origin_of_timer(const char *member, char *buf, size_t len)
{
    snprintf(buf, len, "timer:%s", member);
}
