#include "duration-timer/duration_records.h"

#include "check_result.h"
#include "duration-timer/duration_timer.h"

int duration_emit_visit(cw_outbox *out, const char *order_id, const duration_visit *v,
                        const duration_verdict *short_duration,
                        const duration_verdict *daily_hours)
{
    if (cw_check_emit_verdict(out, DURATION_SERVICE, v->out_event, "SHORT_DURATION",
                              short_duration, order_id, v->caregiver_id, v->out_event,
                              v->out_at) != 0 ||
        cw_check_emit_verdict(out, DURATION_SERVICE, v->out_event, "DAILY_HOURS_EXCEEDED",
                              daily_hours, order_id, v->caregiver_id, v->out_event,
                              v->out_at) != 0)
        return -1;
    return 0;
}

int duration_emit_timer(cw_outbox *out, duration_timer_kind kind, const char *subject,
                        const char *order_id, const char *caregiver_id, const duration_visit *v,
                        int64_t due, const duration_verdict *verdict)
{
    const char *event_id = NULL; /* a verdict about the order */
    switch (kind) {
    case DURATION_TIMER_NO_SHOW:
        event_id = v->has_in ? v->in_event : NULL;
        break;
    case DURATION_TIMER_NO_CHECKOUT:
        subject = event_id = v->in_event;
        break;
    case DURATION_TIMER_EVIDENCE_DEADLINE:
        subject = order_id;
        break;
    case DURATION_TIMER_NONE:
        return -1;
    }
    return cw_check_emit_verdict(out, DURATION_SERVICE, subject, duration_timer_rule(kind),
                                 verdict, order_id, caregiver_id, event_id, due);
}
