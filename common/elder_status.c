#include "elder_status.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when a speaks for its instant rather than b (both hold it). */
static int outranks(const cw_elder_period *a, const cw_elder_period *b)
{
    if (a->from != b->from)
        return a->from > b->from;
    if (a->received_at != b->received_at)
        return a->received_at > b->received_at;
    return a->status > b->status;
}

cw_elder_status cw_elder_status_at(const cw_elder_period *periods, size_t n, int64_t t,
                                   int64_t known_by)
{
    const cw_elder_period *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const cw_elder_period *p = &periods[i];
        if (p->received_at > known_by || p->from > t || (p->has_to && t >= p->to))
            continue;
        if (best == NULL || outranks(p, best))
            best = p;
    }
    return best ? best->status : CW_ELDER_STATUS_ACTIVE;
}

int cw_elder_period_field(const cw_elder_period *p, char *buf, size_t len)
{
    int n;
    if (p->has_to)
        n = snprintf(buf, len, "%" PRId64 "|%s|%" PRId64, p->from, cw_elder_status_name(p->status),
                     p->to);
    else
        n = snprintf(buf, len, "%" PRId64 "|%s|-", p->from, cw_elder_status_name(p->status));
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int cw_elder_period_value(const cw_elder_period *p, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%" PRId64, p->received_at);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A whole decimal int64 from [s, end): 0, or -1. */
static int parse_i64(const char *s, const char *end, int64_t *out)
{
    char buf[24];
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *stop;
    long long v = strtoll(buf, &stop, 10);
    if (*stop != '\0')
        return -1;
    *out = (int64_t)v;
    return 0;
}

int cw_elder_period_parse(const char *field, const char *value, cw_elder_period *out)
{
    memset(out, 0, sizeof(*out));
    const char *bar1 = strchr(field, '|');
    const char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
    if (bar2 == NULL || parse_i64(field, bar1, &out->from) != 0 ||
        parse_i64(value, value + strlen(value), &out->received_at) != 0)
        return -1;
    char status[16];
    size_t n = (size_t)(bar2 - bar1 - 1);
    if (n >= sizeof(status))
        return -1;
    memcpy(status, bar1 + 1, n);
    status[n] = '\0';
    if (cw_elder_status_parse(status, &out->status) != 0)
        return -1;
    const char *to = bar2 + 1;
    if (strcmp(to, "-") == 0)
        return 0;
    if (parse_i64(to, to + strlen(to), &out->to) != 0 || out->to <= out->from)
        return -1;
    out->has_to = 1;
    return 0;
}
