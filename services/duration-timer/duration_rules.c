#include "duration-timer/duration_rules.h"

#include <stdio.h>
#include <string.h>

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

int64_t duration_service_day(int64_t in_at, const duration_thresholds *t)
{
    return cw_service_day(in_at, t->utc_offset_minutes);
}

int64_t duration_visit_length_ms(int64_t in_at, int64_t out_at)
{
    return out_at > in_at ? out_at - in_at : 0;
}

duration_verdict duration_rule_daily_hours(int64_t day_total_ms, const duration_thresholds *t)
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

duration_verdict duration_rule_short(int64_t in_at, int64_t out_at, int scheduled_minutes,
                                     const duration_thresholds *t)
{
    int64_t required_ms = (int64_t)scheduled_minutes * 60000LL - t->short_margin_ms;
    int64_t actual_ms = out_at - in_at;
    cw_outcome outcome = actual_ms < required_ms ? CW_OUTCOME_ORANGE : CW_OUTCOME_PASS;
    return (duration_verdict){.outcome = outcome,
                              .has_measured = 1,
                              .measured = actual_ms / MINUTE_MS,
                              .has_threshold = 1,
                              .threshold = required_ms / MINUTE_MS,
                              .unit = "min"};
}

duration_verdict duration_rule_no_show(int has_check_in, int64_t check_in_at,
                                       int64_t scheduled_start, const duration_thresholds *t)
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

duration_verdict duration_rule_no_checkout(int64_t in_at, int has_check_out, int64_t out_at,
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

int64_t duration_due_no_show(int64_t scheduled_start, const duration_thresholds *t)
{
    return scheduled_start + t->no_show_grace_ms;
}

int64_t duration_due_no_checkout(int64_t in_at, const duration_thresholds *t)
{
    return in_at + t->no_checkout_ms;
}

int64_t duration_due_evidence(int64_t out_at, const duration_thresholds *t)
{
    return out_at + t->evidence_window_ms;
}

int64_t duration_no_show_start(int64_t due, const duration_thresholds *t)
{
    return due - t->no_show_grace_ms;
}

duration_verdict duration_rule_evidence_deadline(const duration_thresholds *t)
{
    double hours = t->evidence_window_ms / 3600000.0;
    return (duration_verdict){.outcome = CW_OUTCOME_PASS,
                              .has_measured = 1,
                              .measured = hours,
                              .has_threshold = 1,
                              .threshold = hours,
                              .unit = "h"};
}

static const char *const timer_rules[] = {
    [DURATION_TIMER_NONE] = NULL,
    [DURATION_TIMER_NO_SHOW] = "NO_SHOW",
    [DURATION_TIMER_NO_CHECKOUT] = "NO_CHECKOUT",
    [DURATION_TIMER_EVIDENCE_DEADLINE] = "EVIDENCE_DEADLINE",
};

const char *duration_timer_rule(duration_timer_kind kind)
{
    return (unsigned)kind < sizeof(timer_rules) / sizeof(timer_rules[0]) ? timer_rules[kind]
                                                                          : NULL;
}

int duration_timer_member(duration_timer_kind kind, const char *order_id, int revision,
                          char *buf, size_t len)
{
    const char *rule = duration_timer_rule(kind);
    char subject[CW_SUBJECT_MAX];
    if (rule == NULL)
        return -1;
    if (kind != DURATION_TIMER_NO_SHOW)
        revision = 0; /* the order id */
    if (cw_order_revision_subject(order_id, revision, subject, sizeof(subject)) != 0)
        return -1;
    int n = snprintf(buf, len, "%s|%s", rule, subject);
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

int duration_timer_member_parse(const char *member, char *rule, size_t rule_len, char *subject,
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

duration_assignment_plan duration_plan_assignment(int on_copy, const cw_order_revision *rev,
                                                  const char *message_key,
                                                  int64_t scheduled_start,
                                                  const duration_thresholds *t)
{
    duration_assignment_plan p = {.no_show_due = duration_due_no_show(scheduled_start, t)};
    if (!on_copy) {
        p.set_no_show = rev->revision == 0;
        return p;
    }
    cw_revision_copy copy = cw_order_revision_copy(rev, message_key);
    p.mark_left0 = copy.leave && rev->revision == 1;
    p.mark_cancelled = cw_order_revision_is_cancel(rev);
    p.drop_previous = copy.leave;
    p.set_no_show = copy.arrive;
    return p;
}

duration_timer_kind duration_timer_after_visit(const duration_visit *v, int is_check_in,
                                               const char *event_id,
                                               const duration_thresholds *t, int64_t *due)
{
    if (v->cancelled)
        return DURATION_TIMER_NONE; /* a check-in that raced its order's cancel */
    if (is_check_in && strcmp(v->in_event, event_id) == 0) {
        *due = duration_due_no_checkout(v->in_at, t);
        return DURATION_TIMER_NO_CHECKOUT;
    }
    if (!is_check_in && strcmp(v->out_event, event_id) == 0) {
        *due = duration_due_evidence(v->out_at, t);
        return DURATION_TIMER_EVIDENCE_DEADLINE;
    }
    return DURATION_TIMER_NONE;
}

static duration_timer_kind timer_kind_of(const char *rule)
{
    for (size_t k = 0; k < sizeof(timer_rules) / sizeof(timer_rules[0]); k++)
        if (timer_rules[k] != NULL && strcmp(rule, timer_rules[k]) == 0)
            return (duration_timer_kind)k;
    return DURATION_TIMER_NONE;
}

duration_fire duration_fire_of(const char *rule, const char *subject, const char *order_id,
                               const duration_visit *v, duration_timer_kind *kind)
{
    duration_timer_kind k = timer_kind_of(rule);
    if (v->cancelled)
        return DURATION_FIRE_SKIP;
    if (v->left0 && k == DURATION_TIMER_NO_SHOW && strcmp(subject, order_id) == 0)
        return DURATION_FIRE_SKIP;
    if (k == DURATION_TIMER_NONE || (k == DURATION_TIMER_NO_CHECKOUT && !v->has_in))
        return DURATION_FIRE_UNKNOWN;
    *kind = k;
    return DURATION_FIRE_JUDGE;
}

duration_verdict duration_rule_timer(duration_timer_kind kind, const duration_visit *v,
                                     int64_t due, const duration_thresholds *t)
{
    switch (kind) {
    case DURATION_TIMER_NO_SHOW:
        return duration_rule_no_show(v->has_in, v->in_at, duration_no_show_start(due, t), t);
    case DURATION_TIMER_NO_CHECKOUT:
        return duration_rule_no_checkout(v->in_at, v->has_out, v->out_at, t);
    case DURATION_TIMER_EVIDENCE_DEADLINE:
    case DURATION_TIMER_NONE:
        break;
    }
    return duration_rule_evidence_deadline(t);
}
