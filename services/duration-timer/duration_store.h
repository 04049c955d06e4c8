/* Every Redis read and write of the duration-timer. Key families of its
 * own:
 *   cw:dt:visit:<order_id>  hash in_at in_event out_at out_event caregiver_id
 *                           (the first check-in and check-out processed),
 *                           left0, cancelled (duration_visit)
 *   cw:dt:day:<caregiver>:<day>  hash order_id -> visit length in ms, the
 *                           caregiver's visits of one service day (days
 *                           since 1970-01-01 in the service zone)
 *   cw:dt:memo:<out_event>  the day's total in ms when that check-out was
 *                           judged: DAILY_HOURS_EXCEEDED depends on which
 *                           visits were known then, and a replay after a
 *                           crash must repeat it
 *   cw:timers:duration-timer:<partition>  "<RULE>|<order_id>" by due time
 *                           ("NO_SHOW|<order_id>@<revision>" for a
 *                           revision: duration_timer_member)
 * It reads the orders ingest keeps (cw:order:<id>, redis_keys.h) and
 * stores them itself from orders.assigned, so that they come back after a
 * Redis loss.
 *
 * One round trip per message: an OrderAssigned's writes; a visit event's
 * step (read the order, record the event, read the visit back) and then
 * its timer, its day and the clocks together; a timer's order and visit.
 * Strings passed in are borrowed; what comes out is copied. */
#ifndef DURATION_STORE_H
#define DURATION_STORE_H

#include <stdint.h>

#include "avro_records.h"
#include "checker.h"
#include "duration-timer/duration_rules.h"
#include "order_revision.h"
#include "reference_store.h"
#include "result.h"

/* An OrderAssigned record: the order into its hash (cw_state_store_order)
 * and what the plan does to its visit's marks and NO_SHOW timers.
 * CW_OK, CW_REJECT (the record lacks a field) or CW_RETRY. */
cw_result duration_store_assignment(cw_checker *ck, int partition, avro_value_t *record,
                                    const char *order_id, const cw_order_revision *rev,
                                    const duration_assignment_plan *plan);

/* A visit event into its order's visit (the first check-in and check-out
 * win), and the order and the visit read back: CW_OK, CW_REJECT (the
 * order is unknown: nothing is written) or CW_RETRY. */
cw_result duration_store_record_visit(cw_redis *r, const cw_visit_event *ev,
                                      cw_order_state *order, duration_visit *v);

/* An order and its visit: CW_OK, CW_REJECT (the order is unknown) or
 * CW_RETRY. */
cw_result duration_store_load(cw_redis *r, const char *order_id, cw_order_state *order,
                              duration_visit *v);

/* What a recorded visit event writes after the step. */
typedef struct {
    duration_timer_kind timer; /* DURATION_TIMER_NONE: none */
    int64_t timer_due;
    /* A complete visit: its length counted on its caregiver's day, and the
     * day's total read back as it was when the check-out was first
     * judged. */
    int count_day;
    int64_t day;       /* duration_service_day of the check-in */
    int64_t length_ms; /* duration_visit_length_ms */
} duration_visit_writes;

/* w's writes for the order's visit v, with the clocks' advance to at.
 * *day_total_ms is set when w->count_day. 0 or -1. */
int duration_store_after_visit(cw_checker *ck, int partition, int64_t at, const char *order_id,
                               const duration_visit *v, const duration_visit_writes *w,
                               int64_t *day_total_ms);

#endif
