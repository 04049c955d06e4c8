/* The duration-timer's handlers: a message (an OrderAssigned, a
 * VisitEvent, an Evidence) and a timer, each decode -> rules -> store ->
 * emit. */
#include <stdio.h>
#include <string.h>

#include "duration-timer/duration_records.h"
#include "duration-timer/duration_store.h"
#include "duration-timer/duration_timer.h"
#include "log.h"
#include "topics.h"

/* An OrderAssigned, from orders.assigned (an assignment sets its NO_SHOW
 * timer; a revision there is only stored, the order's hash keeping the
 * newest) or a revision's copy on visit.events, at its place in the
 * caregiver's stream, which moves the NO_SHOW timers
 * (duration_plan_assignment). The assignment's own copy there changes
 * nothing: orders.assigned has it. */
static cw_result handle_order(duration_ctx *d, const cw_stream_msg *msg, char *reason,
                              size_t len)
{
    int on_copy = strcmp(msg->topic, CW_TOPIC_VISIT_EVENTS) == 0;
    cw_order_assigned order = {0};
    cw_order_revision rev;
    cw_result rc = CW_REJECT;
    if (cw_order_assigned_read(msg->value, &order) == 0 &&
        cw_order_revision_of(msg->value, &rev) == 0) {
        rc = CW_OK;
        if (!on_copy || rev.revision > 0) {
            duration_assignment_plan plan =
                duration_plan_assignment(on_copy, &rev, msg->key, order.scheduled_start, &d->t);
            rc = duration_store_assignment(d->ck, msg->partition, msg->value, order.order_id,
                                           &rev, &plan);
        }
    }
    cw_order_assigned_release(&order); /* safe on a zeroed or released record */
    if (rc == CW_REJECT)
        snprintf(reason, len, "OrderAssigned lacks a field");
    return rc;
}

/* A check-in or check-out: the first of each counts. Its timer, and the
 * verdicts of a complete visit, judged by whichever of the pair arrives
 * second (or again on a duplicate: the same ids and verdicts). */
static cw_result judge_visit(duration_ctx *d, const cw_stream_msg *msg, const cw_visit_event *ev,
                             cw_outbox *out, char *reason, size_t len)
{
    cw_order_state order;
    duration_visit v;
    cw_result rc = duration_store_record_visit(d->ck->redis, ev, &order, &v);
    if (rc == CW_REJECT)
        snprintf(reason, len, "unknown order %s", ev->order_id);
    if (rc != CW_OK)
        return rc;
    duration_visit_writes w = {.count_day = v.has_in && v.has_out};
    w.timer = duration_timer_after_visit(&v, ev->kind == CW_VISIT_KIND_CHECK_IN, ev->event_id,
                                         &d->t, &w.timer_due);
    if (w.count_day) {
        w.day = duration_service_day(v.in_at, &d->t);
        w.length_ms = duration_visit_length_ms(v.in_at, v.out_at);
    }
    int64_t day_total_ms = 0;
    if (duration_store_after_visit(d->ck, msg->partition, ev->at, ev->order_id, &v, &w,
                                   &day_total_ms) != 0)
        return CW_RETRY;
    if (!w.count_day)
        return CW_OK;
    duration_verdict short_duration =
        duration_rule_short(v.in_at, v.out_at, order.scheduled_minutes, &d->t);
    duration_verdict daily_hours = duration_rule_daily_hours(day_total_ms, &d->t);
    return duration_emit_visit(out, ev->order_id, &v, &short_duration, &daily_hours) == 0
               ? CW_OK
               : CW_RETRY;
}

static cw_result handle_visit(duration_ctx *d, const cw_stream_msg *msg, cw_outbox *out,
                              char *reason, size_t len)
{
    cw_visit_event ev;
    if (cw_visit_event_read(msg->value, &ev) != 0) {
        snprintf(reason, len, "VisitEvent lacks a field");
        return CW_REJECT;
    }
    cw_result rc = judge_visit(d, msg, &ev, out, reason, len);
    cw_visit_event_release(&ev);
    return rc;
}

/* Evidence only moves the event clock. */
static cw_result handle_evidence(duration_ctx *d, const cw_stream_msg *msg, char *reason,
                                 size_t len)
{
    cw_evidence ev;
    if (cw_evidence_read(msg->value, &ev) != 0) {
        snprintf(reason, len, "Evidence lacks its time");
        return CW_REJECT;
    }
    int rc = cw_checker_advance_clock(d->ck, msg->partition, ev.at);
    cw_evidence_release(&ev);
    return rc == 0 ? CW_OK : CW_RETRY;
}

cw_result duration_handle(void *ctx, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                          size_t len)
{
    duration_ctx *d = ctx;
    const char *name = msg->schema->name;
    if (strcmp(name, "OrderAssigned") == 0)
        return handle_order(d, msg, reason, len);
    if (strcmp(name, "VisitEvent") == 0)
        return handle_visit(d, msg, out, reason, len);
    if (strcmp(name, "CaregiverStatusChanged") == 0)
        return CW_OK; /* an admin's unfreeze: the overlap-detector applies it */
    if (strcmp(name, "Evidence") == 0)
        return handle_evidence(d, msg, reason, len);
    snprintf(reason, len, "unexpected %s record on %s", name, msg->topic);
    return CW_REJECT;
}

int duration_on_timer(void *ctx, const char *member, int64_t due, cw_outbox *out)
{
    duration_ctx *d = ctx;
    char rule[32], subject[CW_SUBJECT_MAX], order_id[CW_ID_MAX];
    if (duration_timer_member_parse(member, rule, sizeof(rule), subject, sizeof(subject),
                                    order_id, sizeof(order_id)) != 0) {
        cw_log_warn("ignoring a malformed timer", "timer", member, NULL);
        return CW_OK;
    }
    cw_order_state order;
    duration_visit v;
    cw_result found = duration_store_load(d->ck->redis, order_id, &order, &v);
    if (found == CW_REJECT)
        cw_log_warn("timer of an unknown order dropped", "timer", member, NULL);
    if (found != CW_OK)
        return found == CW_REJECT ? CW_OK : CW_RETRY;
    duration_timer_kind kind = DURATION_TIMER_NONE;
    switch (duration_fire_of(rule, subject, order_id, &v, &kind)) {
    case DURATION_FIRE_SKIP:
        return CW_OK;
    case DURATION_FIRE_UNKNOWN:
        cw_log_warn("ignoring an unknown timer", "timer", member, NULL);
        return CW_OK;
    case DURATION_FIRE_JUDGE:
        break;
    }
    duration_verdict verdict = duration_rule_timer(kind, &v, due, &d->t);
    return duration_emit_timer(out, kind, subject, order_id, order.caregiver_id, &v, due,
                               &verdict) == 0
               ? CW_OK
               : CW_RETRY;
}
