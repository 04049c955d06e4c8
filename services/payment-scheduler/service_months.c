#include "payment-scheduler/service_months.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "id_set.h"
#include "timeutil.h"

typedef struct {
    char elder_id[PAY_ID_MAX + 1];
    int64_t month;                   /* first day */
    int32_t orders, valid, short_valid;
    int32_t visits, minutes;         /* the duty of the last-finalized order */
    int64_t duty_at;                 /* its finalized_at */
    char duty_order[PAY_ID_MAX + 1]; /* its id (ties) */
} entry;

typedef struct {
    int64_t month; /* first day */
    int judged;
} month_mark;

struct pay_months {
    int utc_offset, lag_days;
    entry *entries;
    size_t count, cap;
    cw_idset index; /* "<month>|<elder>" -> position + 1 */
    month_mark *months;
    size_t month_count, month_cap;
    int64_t judged_through; /* cutoffs at or before it: judged before a restart */
};

pay_months *pay_months_new(int utc_offset_minutes, int lag_days)
{
    pay_months *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->utc_offset = utc_offset_minutes;
    m->lag_days = lag_days;
    m->judged_through = INT64_MIN;
    return m;
}

void pay_months_free(pay_months *m)
{
    if (m == NULL)
        return;
    free(m->entries);
    free(m->months);
    cw_idset_free(&m->index);
    free(m);
}

int pay_under_served(int32_t valid, int32_t short_valid, int32_t visits_per_month,
                     int32_t minutes_per_visit)
{
    return (visits_per_month > 0 && valid < visits_per_month) ||
           (minutes_per_visit > 0 && short_valid > 0);
}

static int64_t first_of_month(int64_t day)
{
    int64_t y;
    unsigned mo, d;
    cw_civil_from_days(day, &y, &mo, &d);
    return cw_days_from_civil(y, mo, 1);
}

static int64_t first_of_next_month(int64_t first)
{
    int64_t y;
    unsigned mo, d;
    cw_civil_from_days(first, &y, &mo, &d);
    return mo == 12 ? cw_days_from_civil(y + 1, 1, 1) : cw_days_from_civil(y, mo + 1, 1);
}

static int64_t cutoff_of(const pay_months *m, int64_t first)
{
    /* 00:00 local of (first of next month + lag): the publication instant
     * of the month's last day (payment_rules.h). */
    return pay_publication_ms(first_of_next_month(first) - 1, m->lag_days, m->utc_offset);
}

int64_t pay_month_cutoff(const pay_months *m, int64_t service_day)
{
    return cutoff_of(m, first_of_month(service_day));
}

static month_mark *mark_of(pay_months *m, int64_t month)
{
    for (size_t i = 0; i < m->month_count; i++)
        if (m->months[i].month == month)
            return &m->months[i];
    if (cw_grow((void **)&m->months, &m->month_cap, m->month_count, sizeof(*m->months), 8) != 0)
        return NULL;
    month_mark *k = &m->months[m->month_count++];
    k->month = month;
    k->judged = cutoff_of(m, month) <= m->judged_through;
    return k;
}

static entry *entry_of(pay_months *m, const char *elder_id, int64_t month)
{
    char key[PAY_ID_MAX + 32];
    snprintf(key, sizeof(key), "%lld|%s", (long long)month, elder_id);
    uint64_t pos;
    if (cw_idset_get(&m->index, key, &pos))
        return &m->entries[pos - 1];
    if (cw_grow((void **)&m->entries, &m->cap, m->count, sizeof(*m->entries), 256) != 0)
        return NULL;
    if (cw_idset_add(&m->index, key, m->count + 1) < 0)
        return NULL;
    entry *e = &m->entries[m->count++];
    memset(e, 0, sizeof(*e));
    snprintf(e->elder_id, sizeof(e->elder_id), "%s", elder_id);
    e->month = month;
    e->duty_at = INT64_MIN;
    return e;
}

int pay_months_note(pay_months *m, const pay_month_order *o)
{
    if (o->elder_id == NULL || strlen(o->elder_id) > PAY_ID_MAX ||
        strlen(o->order_id) > PAY_ID_MAX)
        return -1;
    int64_t month = first_of_month(o->service_day);
    month_mark *k = mark_of(m, month);
    if (k == NULL)
        return -1;
    if (k->judged || o->finalized_at >= cutoff_of(m, month))
        return 0;
    entry *e = entry_of(m, o->elder_id, month);
    if (e == NULL)
        return -1;
    e->orders++;
    if (o->finalized_at > e->duty_at ||
        (o->finalized_at == e->duty_at && strcmp(o->order_id, e->duty_order) > 0)) {
        e->duty_at = o->finalized_at;
        e->visits = o->visits_per_month;
        e->minutes = o->minutes_per_visit;
        snprintf(e->duty_order, sizeof(e->duty_order), "%s", o->order_id);
    }
    if (!o->valid)
        return 0;
    e->valid++;
    /* Shorter than the duty that order carried. */
    if (o->has_duration && o->minutes_per_visit > 0 && o->duration_minutes < o->minutes_per_visit)
        e->short_valid++;
    return 0;
}

void pay_months_judged_through(pay_months *m, int64_t t)
{
    if (t > m->judged_through)
        m->judged_through = t;
    for (size_t i = 0; i < m->month_count; i++)
        if (cutoff_of(m, m->months[i].month) <= t)
            m->months[i].judged = 1;
}

int64_t pay_months_next_due(const pay_months *m)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < m->month_count; i++) {
        int64_t c = cutoff_of(m, m->months[i].month);
        if (!m->months[i].judged && c < next)
            next = c;
    }
    return next;
}

static int by_elder(const void *a, const void *b)
{
    return strcmp(((const pay_month_verdict *)a)->elder_id,
                  ((const pay_month_verdict *)b)->elder_id);
}

static int by_month(const void *a, const void *b)
{
    int64_t x = ((const month_mark *)a)->month, y = ((const month_mark *)b)->month;
    return (x > y) - (x < y);
}

static int judge_month(pay_months *m, int64_t month, pay_month_verdict **out, size_t *count,
                       size_t *cap)
{
    size_t first = *count;
    for (size_t i = 0; i < m->count; i++) {
        const entry *e = &m->entries[i];
        if (e->month != month)
            continue;
        if (cw_grow((void **)out, cap, *count, sizeof(**out), 64) != 0)
            return -1;
        pay_month_verdict *v = &(*out)[(*count)++];
        memset(v, 0, sizeof(*v));
        snprintf(v->elder_id, sizeof(v->elder_id), "%s", e->elder_id);
        v->month_first_day = month;
        v->orders = e->orders;
        v->valid_orders = e->valid;
        v->short_valid_orders = e->short_valid;
        v->visits_per_month = e->visits;
        v->minutes_per_visit = e->minutes;
        v->under_served = pay_under_served(e->valid, e->short_valid, e->visits, e->minutes);
        v->at = cutoff_of(m, month);
    }
    if (*count - first > 1)
        qsort(*out + first, *count - first, sizeof(**out), by_elder);
    return 0;
}

int pay_months_advance(pay_months *m, int64_t watermark, pay_month_verdict **out,
                       size_t *count, size_t *cap)
{
    if (m->month_count > 1)
        qsort(m->months, m->month_count, sizeof(*m->months), by_month);
    for (size_t i = 0; i < m->month_count; i++) {
        month_mark *k = &m->months[i];
        if (k->judged || cutoff_of(m, k->month) > watermark)
            continue;
        if (judge_month(m, k->month, out, count, cap) != 0)
            return -1;
        k->judged = 1;
    }
    return 0;
}
