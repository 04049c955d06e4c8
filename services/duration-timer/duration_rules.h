/* The time rules of docs/design.md §4: SHORT_DURATION, NO_SHOW,
 * NO_CHECKOUT, DAILY_HOURS_EXCEEDED, and the evidence deadline (72 h after
 * check-out) the finalizer waits for; and what each record and timer
 * leads to (which timers to set, drop or skip). Pure: times (ms since the
 * epoch), an order's state and thresholds are parameters. Thresholds are
 * crossed only when strictly exceeded. */
#ifndef DURATION_RULES_H
#define DURATION_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "check_result.h"
#include "order_revision.h"
#include "reference_store.h" /* CW_ID_MAX */

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

/* An order's visit as the service keeps it: the first check-in and
 * check-out processed (later ones change nothing), the caregiver of the
 * first event, and the marks its revisions left. */
typedef struct {
    int has_in, has_out;
    int64_t in_at, out_at;
    char in_event[CW_ID_MAX], out_event[CW_ID_MAX], caregiver_id[CW_ID_MAX];
    int cancelled; /* the order was cancelled: none of its timers fires */
    int left0; /* revision 1 left the original assignment's partition: that
                  assignment's NO_SHOW timer, set again should orders.assigned
                  be read late, does not fire */
} duration_visit;

/* Orange when out - in is less than scheduled_minutes minus the margin
 * (60 -> 55 min: 54:59 is short, 55:00 is not). Measured in minutes. */
duration_verdict duration_rule_short(int64_t in_at, int64_t out_at, int scheduled_minutes,
                                     const duration_thresholds *t);

/* Judged when the no-show timer fires: PASS when a check-in has
 * at <= scheduled_start + grace, else orange. Measured: minutes from the
 * scheduled start to the check-in, when there is one. */
duration_verdict duration_rule_no_show(int has_check_in, int64_t check_in_at,
                                       int64_t scheduled_start, const duration_thresholds *t);

/* Judged when the no-checkout timer fires: PASS when a check-out has
 * at <= check-in + window, else orange. Measured: the visit's minutes, when
 * there is a check-out. */
duration_verdict duration_rule_no_checkout(int64_t in_at, int has_check_out, int64_t out_at,
                                           const duration_thresholds *t);

/* The evidence deadline of a checked-out order has passed: not a finding
 * (PASS), it tells the finalizer that the order's evidence window has
 * closed. Measured and threshold: the window in hours. */
duration_verdict duration_rule_evidence_deadline(const duration_thresholds *t);

/* The service day a visit counts on for DAILY_HOURS_EXCEEDED: the date of
 * its check-in in the service zone, as days since 1970-01-01. */
int64_t duration_service_day(int64_t in_at, const duration_thresholds *t);

/* The [in, out) length of a visit in ms (0 when out is before in). */
int64_t duration_visit_length_ms(int64_t in_at, int64_t out_at);

/* DAILY_HOURS_EXCEEDED for a check-out, given the summed [in, out) lengths
 * of the caregiver's visits of that day known when it is judged, its own
 * included: orange when the sum exceeds the cap (600 min: 600:00 passes).
 * Ghost visits and fatigue (a day no one works). Measured: the day's
 * minutes. */
duration_verdict duration_rule_daily_hours(int64_t day_total_ms, const duration_thresholds *t);

/* When each timer is due. */
int64_t duration_due_no_show(int64_t scheduled_start, const duration_thresholds *t);
int64_t duration_due_no_checkout(int64_t in_at, const duration_thresholds *t);
int64_t duration_due_evidence(int64_t out_at, const duration_thresholds *t);
/* The scheduled start a NO_SHOW timer due at `due` was set for: the timer
 * carries the start of its own revision of the order, whatever revision
 * the order has when it fires. */
int64_t duration_no_show_start(int64_t due, const duration_thresholds *t);

/* The service's timers. */
typedef enum {
    DURATION_TIMER_NONE,
    DURATION_TIMER_NO_SHOW,
    DURATION_TIMER_NO_CHECKOUT,
    DURATION_TIMER_EVIDENCE_DEADLINE,
} duration_timer_kind;

/* "NO_SHOW", "NO_CHECKOUT", "EVIDENCE_DEADLINE" (the rule of its
 * verdict); NULL for DURATION_TIMER_NONE. */
const char *duration_timer_rule(duration_timer_kind kind);

/* Timer members: "<RULE>|<subject>". The NO_SHOW timer of a revision of an
 * order has the revision's subject ("<order_id>", then "<order_id>@<n>":
 * cw_order_revision_subject), so that each revision's timer is set and
 * dropped on its own and its verdict has the revision's check id; the
 * other timers have the order id (revision is not used). 0, or -1 when it
 * does not fit. */
int duration_timer_member(duration_timer_kind kind, const char *order_id, int revision,
                          char *buf, size_t len);
/* Splits a member into its rule, subject and order id (the subject up to
 * '@'). 0, or -1 when it is malformed or a part does not fit. */
int duration_timer_member_parse(const char *member, char *rule, size_t rule_len, char *subject,
                                size_t subject_len, char *order_id, size_t order_len);

/* What an OrderAssigned does to the timers of its order. */
typedef struct {
    int mark_left0;     /* the visit's left0 mark (duration_visit) */
    int mark_cancelled; /* the visit's cancelled mark, with the revision's reason code */
    int drop_previous;  /* drop the previous revision's NO_SHOW timer */
    int set_no_show;    /* set this revision's NO_SHOW timer, due at no_show_due */
    int64_t no_show_due;
} duration_assignment_plan;

/* The plan of an OrderAssigned read from orders.assigned (on_copy 0: an
 * assignment sets its NO_SHOW timer, a revision is only stored) or the
 * copy of a revision on visit.events, read from the partition of
 * message_key (cw_order_revision_copy): the partition that held the
 * previous revision drops its NO_SHOW timer, the partition of the new one
 * sets the new revision's, a cancel marks the order. */
duration_assignment_plan duration_plan_assignment(int on_copy, const cw_order_revision *rev,
                                                  const char *message_key,
                                                  int64_t scheduled_start,
                                                  const duration_thresholds *t);

/* The timer a visit event sets, once recorded into v (which holds the
 * first check-in and check-out): NO_CHECKOUT when it is the order's first
 * check-in, EVIDENCE_DEADLINE when it is its first check-out, none for
 * another event or a cancelled order. *due is set when there is one. */
duration_timer_kind duration_timer_after_visit(const duration_visit *v, int is_check_in,
                                               const char *event_id,
                                               const duration_thresholds *t, int64_t *due);

/* What a timer that came due does. */
typedef enum {
    DURATION_FIRE_SKIP,    /* nothing is owed: a cancelled order, or the original
                              assignment's NO_SHOW after its revision left */
    DURATION_FIRE_JUDGE,   /* the timer's verdict */
    DURATION_FIRE_UNKNOWN, /* not a timer of this service's (or NO_CHECKOUT without a
                              check-in): ignored, logged */
} duration_fire;

/* The fire of a timer (rule and subject from duration_timer_member_parse)
 * of an order whose visit is v; *kind is the timer's when it is judged. */
duration_fire duration_fire_of(const char *rule, const char *subject, const char *order_id,
                               const duration_visit *v, duration_timer_kind *kind);

/* The verdict of a timer of kind (not NONE) that came due at `due`, of an
 * order whose visit is v: NO_SHOW by the start of the timer's own
 * revision (duration_no_show_start), NO_CHECKOUT, EVIDENCE_DEADLINE. */
duration_verdict duration_rule_timer(duration_timer_kind kind, const duration_visit *v,
                                     int64_t due, const duration_thresholds *t);

#endif
