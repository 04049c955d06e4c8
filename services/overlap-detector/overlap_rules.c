#include "overlap-detector/overlap_rules.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE_MS 60000.0

int overlap_visit_check_in(overlap_visit_row *row, int64_t at, const char *event_id)
{
    if (!row->has_in) {
        row->has_in = 1;
        row->v.in_at = at;
    }
    if (row->in_event[0] == '\0')
        snprintf(row->in_event, sizeof(row->in_event), "%s", event_id);
    return strcmp(row->in_event, event_id) == 0;
}

int overlap_intervals_intersect(int64_t a_start, int64_t a_end, int64_t b_start, int64_t b_end)
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

cw_verdict overlap_rule_schedule(const overlap_slot *existing, size_t n, const overlap_slot *added,
                                 long *other)
{
    cw_verdict v = {.outcome = CW_OUTCOME_PASS, .has_threshold = 1, .threshold = 0, .unit = "min"};
    *other = -1;
    for (size_t i = 0; i < n; i++) {
        const overlap_slot *e = &existing[i];
        if (strcmp(e->order_id, added->order_id) == 0)
            continue;
        if (overlap_intervals_intersect(e->start, e->end, added->start, added->end)) {
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

int64_t overlap_visit_end(const overlap_visit *v, int64_t open_max_ms)
{
    return v->has_out ? v->out_at : v->in_at + open_max_ms;
}

static int started_before(const overlap_visit *a, const overlap_visit *b)
{
    return a->in_at < b->in_at || (a->in_at == b->in_at && strcmp(a->order_id, b->order_id) < 0);
}

cw_verdict overlap_rule_visit(const overlap_visit *others, size_t n, const overlap_visit *x,
                              int64_t open_max_ms, long *other)
{
    cw_verdict v = {.outcome = CW_OUTCOME_PASS, .has_threshold = 1, .threshold = 0, .unit = "min"};
    *other = -1;
    int64_t x_end = overlap_visit_end(x, open_max_ms);
    for (size_t i = 0; i < n; i++) {
        const overlap_visit *o = &others[i];
        if (strcmp(o->order_id, x->order_id) == 0 || !started_before(o, x))
            continue;
        int64_t o_end = overlap_visit_end(o, open_max_ms);
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

cw_verdict overlap_rule_frozen(int frozen)
{
    return (cw_verdict){.outcome = frozen ? CW_OUTCOME_RED : CW_OUTCOME_PASS, .unit = ""};
}

cw_verdict overlap_caregiver_step(int *frozen, overlap_cg_item item)
{
    cw_verdict v = overlap_rule_frozen(0);
    switch (item) {
    case OVERLAP_CG_VISIT_EVENT:
        v = overlap_rule_frozen(*frozen);
        break;
    case OVERLAP_CG_RED_VERDICT:
        *frozen = 1;
        break;
    case OVERLAP_CG_UNFREEZE:
        *frozen = 0;
        break;
    }
    return v;
}

int overlap_slot_format(int64_t start, int64_t end, const char *caregiver_id, char *buf,
                        size_t len)
{
    int n = snprintf(buf, len, "%" PRId64 "|%" PRId64 "|%s", start, end, caregiver_id);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int overlap_slot_parse(const char *value, overlap_slot *so, char *caregiver_id, size_t len)
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
