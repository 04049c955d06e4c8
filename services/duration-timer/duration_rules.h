/* The time rules of docs/design.md §4: SHORT_DURATION, NO_SHOW,
 * NO_CHECKOUT, DAILY_HOURS_EXCEEDED, and the evidence deadline (72 h after
 * check-out) the finalizer waits for. Pure: times (ms since the epoch) and thresholds are
 * parameters. Thresholds are crossed only when strictly exceeded. */
#ifndef DURATION_RULES_H
#define DURATION_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "check_result.h"

typedef struct {
    int64_t no_show_grace_ms;    /* 30 min after scheduled start */
    int64_t short_margin_ms;     /* 5 min under the scheduled minutes */
    int64_t no_checkout_ms;      /* 240 min after check-in */
    int64_t evidence_window_ms;  /* 72 h after check-out */
    int64_t daily_visit_max_ms;  /* 600 min of visits in one service day */
    int utc_offset_minutes;      /* the service day's zone: 480 (UTC+8) */
} duration_thresholds;

typedef cw_verdict duration_verdict; /* measured and threshold in minutes */

void duration_thresholds_default(duration_thresholds *t);

/* Orange when out - in is less than scheduled_minutes minus the margin
 * (60 -> 55 min: 54:59 is short, 55:00 is not). Measured in minutes. */
duration_verdict rule_short_duration(int64_t in_at, int64_t out_at, int scheduled_minutes,
                                     const duration_thresholds *t);

/* Judged when the no-show timer fires: PASS when a check-in has
 * at <= scheduled_start + grace, else orange. Measured: minutes from the
 * scheduled start to the check-in, when there is one. */
duration_verdict rule_no_show(int has_check_in, int64_t check_in_at, int64_t scheduled_start,
                              const duration_thresholds *t);

/* Judged when the no-checkout timer fires: PASS when a check-out has
 * at <= check-in + window, else orange. Measured: the visit's minutes, when
 * there is a check-out. */
duration_verdict rule_no_checkout(int64_t in_at, int has_check_out, int64_t out_at,
                                  const duration_thresholds *t);

/* The service day a visit counts on for DAILY_HOURS_EXCEEDED: the date of
 * its check-in in the service zone, as days since 1970-01-01. */
int64_t daily_hours_day(int64_t in_at, const duration_thresholds *t);

/* The [in, out) length of a visit in ms (0 when out is before in). */
int64_t visit_length_ms(int64_t in_at, int64_t out_at);

/* DAILY_HOURS_EXCEEDED for a check-out, given the summed [in, out) lengths
 * of the caregiver's visits of that day known when it is judged, its own
 * included: orange when the sum exceeds the cap (600 min: 600:00 passes).
 * Ghost visits and fatigue (a day no one works). Measured: the day's
 * minutes. */
duration_verdict rule_daily_hours(int64_t day_total_ms, const duration_thresholds *t);

/* When each timer is due. */
int64_t due_no_show(int64_t scheduled_start, const duration_thresholds *t);
/* The scheduled start a NO_SHOW timer due at `due` was set for: the timer
 * carries the start of its own revision of the order, whatever revision
 * the order has when it fires. */
int64_t no_show_start(int64_t due, const duration_thresholds *t);

/* Timer members: "<RULE>|<subject>". The NO_SHOW timer of a revision of an
 * order has the revision's subject ("<order_id>", then "<order_id>@<n>":
 * cw_order_revision_subject), so that each revision's timer is set and
 * dropped on its own and its verdict has the revision's check id; the
 * other timers have the order id. 0, or -1 when it does not fit. */
int no_show_member(const char *order_id, int revision, char *buf, size_t len);
/* Splits a member into its rule, subject and order id (the subject up to
 * '@'). 0, or -1 when it is malformed or a part does not fit. */
int timer_member_parse(const char *member, char *rule, size_t rule_len, char *subject,
                       size_t subject_len, char *order_id, size_t order_len);
int64_t due_no_checkout(int64_t in_at, const duration_thresholds *t);
int64_t due_evidence(int64_t out_at, const duration_thresholds *t);

#endif
