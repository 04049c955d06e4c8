#include "duration_rules.h"

#include <stdio.h>
#include <string.h>

#include "state.h"
#include "timeutil.h"

#define MINUTE_MS 60000.0

void duration_thresholds_default(duration_thresholds *t)
{
    t->no_show_grace_ms = 30 * 60000LL;
    t->short_margin_ms = 5 * 60000LL;
    t->no_checkout_ms = 240 * 60000LL;
    t->evidence_window_ms = 72 * 3600000LL;
    t->daily_visit_max_ms = 600 * 60000LL;
    t->utc_offset_minutes = 480;
}

int64_t daily_hours_day(int64_t in_at, const duration_thresholds *t)
{
    return cw_service_day(in_at, t->utc_offset_minutes);
}

int64_t visit_length_ms(int64_t in_at, int64_t out_at)
{
    return out_at > in_at ? out_at - in_at : 0;
}

duration_verdict rule_daily_hours(int64_t day_total_ms, const duration_thresholds *t)
{
    duration_verdict v = {.outcome = CW_OUTCOME_PASS,
                          .has_measured = 1,
                          .measured = (double)day_total_ms / 60000.0,
                          .has_threshold = 1,
                          .threshold = (double)t->daily_visit_max_ms / 60000.0,
                          .unit = "min"};
    if (day_total_ms > t->daily_visit_max_ms)
        v.outcome = CW_OUTCOME_ORANGE;
    return v;
}

duration_verdict rule_short_duration(int64_t in_at, int64_t out_at, int scheduled_minutes,
                                     const duration_thresholds *t)
{
    int64_t required_ms = (int64_t)scheduled_minutes * 60000LL - t->short_margin_ms;
    int64_t actual_ms = out_at - in_at;
    return (duration_verdict){.outcome = actual_ms < required_ms ? CW_OUTCOME_ORANGE : CW_OUTCOME_PASS,
                              .has_measured = 1,
                              .measured = actual_ms / MINUTE_MS,
                              .has_threshold = 1,
                              .threshold = required_ms / MINUTE_MS,
                              .unit = "min"};
}

duration_verdict rule_no_show(int has_check_in, int64_t check_in_at, int64_t scheduled_start,
                              const duration_thresholds *t)
{
    duration_verdict v = {.outcome = CW_OUTCOME_ORANGE,
                          .has_threshold = 1,
                          .threshold = t->no_show_grace_ms / MINUTE_MS,
                          .unit = "min"};
    if (has_check_in) {
        v.has_measured = 1;
        v.measured = (check_in_at - scheduled_start) / MINUTE_MS;
        if (check_in_at <= scheduled_start + t->no_show_grace_ms)
            v.outcome = CW_OUTCOME_PASS;
    }
    return v;
}

duration_verdict rule_no_checkout(int64_t in_at, int has_check_out, int64_t out_at,
                                  const duration_thresholds *t)
{
    duration_verdict v = {.outcome = CW_OUTCOME_ORANGE,
                          .has_threshold = 1,
                          .threshold = t->no_checkout_ms / MINUTE_MS,
                          .unit = "min"};
    if (has_check_out) {
        v.has_measured = 1;
        v.measured = (out_at - in_at) / MINUTE_MS;
        if (out_at <= in_at + t->no_checkout_ms)
            v.outcome = CW_OUTCOME_PASS;
    }
    return v;
}

int64_t due_no_show(int64_t scheduled_start, const duration_thresholds *t)
{
    return scheduled_start + t->no_show_grace_ms;
}

int64_t due_no_checkout(int64_t in_at, const duration_thresholds *t)
{
    return in_at + t->no_checkout_ms;
}

int64_t due_evidence(int64_t out_at, const duration_thresholds *t)
{
    return out_at + t->evidence_window_ms;
}

int64_t no_show_start(int64_t due, const duration_thresholds *t)
{
    return due - t->no_show_grace_ms;
}

int no_show_member(const char *order_id, int revision, char *buf, size_t len)
{
    char subject[CW_SUBJECT_MAX];
    if (cw_order_revision_subject(order_id, revision, subject, sizeof(subject)) != 0)
        return -1;
    int n = snprintf(buf, len, "NO_SHOW|%s", subject);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int copy_part(char *dst, size_t len, const char *src, size_t n)
{
    if (n == 0 || n >= len)
        return -1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

int timer_member_parse(const char *member, char *rule, size_t rule_len, char *subject,
                       size_t subject_len, char *order_id, size_t order_len)
{
    const char *bar = strchr(member, '|');
    if (bar == NULL || copy_part(rule, rule_len, member, (size_t)(bar - member)) != 0)
        return -1;
    const char *rest = bar + 1, *at = strchr(rest, '@');
    if (copy_part(subject, subject_len, rest, strlen(rest)) != 0)
        return -1;
    return copy_part(order_id, order_len, rest, at ? (size_t)(at - rest) : strlen(rest));
}
