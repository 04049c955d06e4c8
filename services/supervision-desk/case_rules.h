/* What the desk decides, as pure functions over the case book: the event an
 * alert makes, what a person may see and do, the escalations that are due,
 * the event a call-back or a complaint makes. Each builder fills one
 * desk_case_event (numbered after the case's last one) that the caller applies
 * to the book once it is published, and frees with case_event_clear.
 *
 * Deadlines are event time: a case must be acknowledged within its colour's
 * time (desk.ack_minutes.*: red 60, orange 1440, yellow 4320) of the alert
 * that set it; a redder alert joining an open case can only bring the
 * deadline forward. A case still OPEN when the desk's watermark has passed
 * its deadline (watermark > deadline: acknowledging at the deadline is in
 * time) is ESCALATED, with at = the deadline, so a replay escalates the same
 * cases with the same events. */
#ifndef DESK_CASE_RULES_H
#define DESK_CASE_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "access_keys.h"
#include "supervision-desk/case_book.h"

#define DESK_SYSTEM_ACTOR "supervision-desk"

typedef struct {
    int64_t ack_ms[CW_CASE_COLOUR_COUNT]; /* by cw_case_colour */
} desk_deadlines;

typedef enum { DESK_DEED_ACKNOWLEDGE, DESK_DEED_RESOLVE, DESK_DEED_ESCALATE } desk_deed;

/* The case an alert belongs to: its order's, or
 * freeze:<street_id>:<caregiver_id> for CAREGIVER_FROZEN. kind set. */
void desk_rules_case_id(const char *rule, const desk_case_subject *s, char *case_id, size_t len,
                        cw_case_kind *kind);

/* The event alert a (of subject s) makes: OPENED for a case not open yet,
 * REOPENED for a resolved one, ALERT_ADDED otherwise. 1 with *out filled, 0
 * when the case holds that alert already (a repeat), -1 out of memory. */
int desk_rules_from_alert(const desk_case_book *b, const desk_case_alert *a,
                          const desk_case_subject *s, const desk_deadlines *d, int64_t recorded_at,
                          desk_case_event *out);

/* Whether role may read case c (a street its street's cases; command and
 * admin every case). */
int desk_rules_may_read(const desk_case *c, const cw_role *role);
/* Whether role may act on c: a street on its street's cases, command on red
 * and escalated ones, admin on all. */
int desk_rules_may_act(const desk_case *c, const cw_role *role);

/* A person's deed on c at event time clock, with the resolution given
 * (NULL: none). 0 with *out filled; otherwise
 * an HTTP status (400 resolution missing or given where none belongs, 409
 * the case's status does not allow it) with why set. */
int desk_rules_deed(const desk_case *c, desk_deed deed, const cw_case_resolution *resolution,
                    const cw_role *role, const char *note, int64_t clock, int64_t recorded_at,
                    desk_case_event *out, const char **why);

/* Up to max visible OPEN cases whose deadline the watermark has passed, in
 * the book's order. Returns how many. */
size_t desk_rules_due(const desk_case_book *b, int64_t watermark, desk_case **out, size_t max);
/* The ESCALATED event of a due case. 0, -1 out of memory. */
int desk_rules_escalation(const desk_case *c, int64_t recorded_at, desk_case_event *out);

/* A call-back's result on the order of subject s (an order finalized), at
 * event time clock. DENIED opens (or reopens) the order's case red. 0, -1
 * out of memory. */
int desk_rules_callback(const desk_case_book *b, const desk_case_subject *s,
                        cw_callback_result result, const cw_role *role, const char *note,
                        const desk_deadlines *d, int64_t clock, int64_t recorded_at,
                        desk_case_event *out);

/* A complaint: on the order's case when it names an order (kind ORDER),
 * else a case of its own, complaint:<elder_id>:<n> (kind COMPLAINT).
 * Orange at least. 0, -1 out of memory. */
int desk_rules_complaint(const desk_case_book *b, const desk_case_subject *s, const char *channel,
                         const char *text, const cw_role *role, const desk_deadlines *d,
                         int64_t clock, int64_t recorded_at, desk_case_event *out);

/* Whether applying ev to c (as it was before) confirms a denied call-back:
 * the order's verdict must be corrected to INVALID. */
int desk_rules_confirms_denial(const desk_case *c, const desk_case_event *ev);

#endif
