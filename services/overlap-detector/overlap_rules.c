#include "overlap_rules.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE_MS 60000.0

int intervals_overlap(int64_t a_start, int64_t a_end, int64_t b_start, int64_t b_end)
{
    return a_start < b_end && b_start < a_end;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

cw_verdict rule_schedule_overlap(const scheduled_order *existing, size_t n,
                                 const scheduled_order *added, long *other)
{
    cw_verdict v = {.outcome = CW_OUTCOME_PASS, .has_threshold = 1, .threshold = 0, .unit = "min"};
    *other = -1;
    for (size_t i = 0; i < n; i++) {
        const scheduled_order *e = &existing[i];
        if (strcmp(e->order_id, added->order_id) == 0)
            continue;
        if (intervals_overlap(e->start, e->end, added->start, added->end)) {
            v.outcome = CW_OUTCOME_RED;
            v.has_measured = 1;
            v.measured =
                (min64(e->end, added->end) - max64(e->start, added->start)) / MINUTE_MS;
            *other = (long)i;
            break;
        }
    }
    return v;
}

int64_t visit_end(const visit_interval *v, int64_t open_max_ms)
{
    return v->has_out ? v->out_at : v->in_at + open_max_ms;
}

static int started_before(const visit_interval *a, const visit_interval *b)
{
    return a->in_at < b->in_at || (a->in_at == b->in_at && strcmp(a->order_id, b->order_id) < 0);
}

cw_verdict rule_visit_overlap(const visit_interval *others, size_t n, const visit_interval *x,
                              int64_t open_max_ms, long *other)
{
    cw_verdict v = {.outcome = CW_OUTCOME_PASS, .has_threshold = 1, .threshold = 0, .unit = "min"};
    *other = -1;
    int64_t x_end = visit_end(x, open_max_ms);
    for (size_t i = 0; i < n; i++) {
        const visit_interval *o = &others[i];
        if (strcmp(o->order_id, x->order_id) == 0 || !started_before(o, x))
            continue;
        int64_t o_end = visit_end(o, open_max_ms);
        if (o_end > x->in_at) {
            v.outcome = CW_OUTCOME_RED;
            v.has_measured = 1;
            v.measured = (min64(o_end, x_end) - x->in_at) / MINUTE_MS;
            *other = (long)i;
            break;
        }
    }
    return v;
}

cw_verdict rule_frozen_caregiver(int frozen)
{
    return (cw_verdict){.outcome = frozen ? CW_OUTCOME_RED : CW_OUTCOME_PASS, .unit = ""};
}

cw_verdict caregiver_stream_step(int *frozen, caregiver_item item)
{
    cw_verdict v = rule_frozen_caregiver(0);
    switch (item) {
    case CG_VISIT_EVENT:
        v = rule_frozen_caregiver(*frozen);
        break;
    case CG_RED_VERDICT:
        *frozen = 1;
        break;
    case CG_UNFREEZE:
        *frozen = 0;
        break;
    }
    return v;
}

int schedule_slot_format(int64_t start, int64_t end, const char *caregiver_id, char *buf,
                         size_t len)
{
    int n = snprintf(buf, len, "%" PRId64 "|%" PRId64 "|%s", start, end, caregiver_id);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int schedule_slot_parse(const char *value, scheduled_order *so, char *caregiver_id, size_t len)
{
    char *end;
    errno = 0;
    long long start = strtoll(value, &end, 10);
    if (errno != 0 || end == value || *end != '|')
        return -1;
    const char *p = end + 1;
    long long finish = strtoll(p, &end, 10);
    if (errno != 0 || end == p || *end != '|' || finish < start)
        return -1;
    const char *cg = end + 1;
    size_t n = strlen(cg);
    if (n == 0 || n >= len)
        return -1;
    memcpy(caregiver_id, cg, n + 1);
    so->start = start;
    so->end = finish;
    return 0;
}
