/* The records the duration-timer emits: CheckResults on visit.checks
 * (check_result.h), keyed by order id. Built here only. Check ids:
 *   SHORT_DURATION, DAILY_HOURS_EXCEEDED  "<check-out event>:<rule>"
 *   NO_SHOW              "<order_id>:NO_SHOW", "<order_id>@<n>:NO_SHOW"
 *                        for revision n (the timer's subject)
 *   NO_CHECKOUT          "<check-in event>:NO_CHECKOUT"
 *   EVIDENCE_DEADLINE    "<order_id>:EVIDENCE_DEADLINE" */
#ifndef DURATION_RECORDS_H
#define DURATION_RECORDS_H

#include <stdint.h>

#include "duration-timer/duration_rules.h"
#include "outbox.h"

/* SHORT_DURATION and DAILY_HOURS_EXCEEDED of a complete visit, about its
 * check-out. 0, or -1 (logged). */
int duration_emit_visit(cw_outbox *out, const char *order_id, const duration_visit *v,
                        const duration_verdict *short_duration,
                        const duration_verdict *daily_hours);

/* The verdict of a timer of kind that came due at `due`: subject is the
 * timer's (duration_timer_member_parse), caregiver_id the order's. 0, or
 * -1 (logged). */
int duration_emit_timer(cw_outbox *out, duration_timer_kind kind, const char *subject,
                        const char *order_id, const char *caregiver_id, const duration_visit *v,
                        int64_t due, const duration_verdict *verdict);

#endif
