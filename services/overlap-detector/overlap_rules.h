/* The overlap rules of docs/design.md §4: SCHEDULE_OVERLAP, VISIT_OVERLAP
 * and FROZEN_CAREGIVER. Pure. Intervals are half-open [start, end): touching
 * intervals do not overlap. */
#ifndef OVERLAP_RULES_H
#define OVERLAP_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "check_result.h"

#define OVERLAP_ID_MAX 65

typedef struct {
    char order_id[OVERLAP_ID_MAX];
    int64_t start, end; /* ms */
} overlap_slot;

typedef struct {
    char order_id[OVERLAP_ID_MAX];
    int64_t in_at;
    int has_out;
    int64_t out_at;
} overlap_visit;

/* An order's visit as the detector keeps it (cw:ov:visit:<order_id>,
 * overlap_store.h): the interval (has_in: a check-in is recorded), the
 * check-in's event id and the caregiver whose stream recorded the visit
 * ("" when not recorded, or recorded before it was kept). */
typedef struct {
    overlap_visit v;
    int has_in;
    char in_event[OVERLAP_ID_MAX];
    char cg[OVERLAP_ID_MAX];
} overlap_visit_row;

/* Records a check-in (at, event_id) as the store does (the first check-in
 * of an order stands: a field kept is never replaced). 1 when event_id is
 * the visit's check-in now, which is then judged; 0 for a later check-in
 * of the same order. */
int overlap_visit_check_in(overlap_visit_row *row, int64_t at, const char *event_id);

/* 1 when [a_start, a_end) and [b_start, b_end) share an instant. */
int overlap_intervals_intersect(int64_t a_start, int64_t a_end, int64_t b_start, int64_t b_end);

/* SCHEDULE_OVERLAP for a new assignment: red when it overlaps one of the
 * caregiver's existing orders (other than itself). *other is the index of
 * the first such order (-1 when none); measured is the overlap in minutes. */
cw_verdict overlap_rule_schedule(const overlap_slot *existing, size_t n, const overlap_slot *added,
                                 long *other);

/* What the overlap-detector keeps of each order in the schedule of the
 * stream (person or caregiver) it was read from, written and dropped in
 * that stream's order (an order's revisions move it: docs/maintenance.md):
 * "<start>|<end>|<caregiver_id>". format: 0, or -1 when it does not fit.
 * parse fills so's start and end (not its order id) and the caregiver:
 * 0, or -1 when value is not that. */
int overlap_slot_format(int64_t start, int64_t end, const char *caregiver_id, char *buf,
                        size_t len);
int overlap_slot_parse(const char *value, overlap_slot *so, char *caregiver_id, size_t len);

/* Where a visit ends for the overlap rules: its check-out, or check-in +
 * open_max_ms when it has none. */
int64_t overlap_visit_end(const overlap_visit *v, int64_t open_max_ms);

/* VISIT_OVERLAP for the visit x, judged once every visit that started
 * before it is known: red when another visit of the caregiver started
 * earlier (ties: the smaller order id counts as earlier) and was still open
 * at x's check-in. *other is its index (-1 when none); measured is the
 * overlap in minutes. */
cw_verdict overlap_rule_visit(const overlap_visit *others, size_t n, const overlap_visit *x,
                              int64_t open_max_ms, long *other);

/* FROZEN_CAREGIVER: red when the caregiver is frozen. */
cw_verdict overlap_rule_frozen(int frozen);

/* What the overlap-detector meets in one caregiver's stream, in the order
 * ingest accepted it (docs/design.md §4.1): a check-in or check-out, a red
 * verdict of its own about one (which freezes), an admin's unfreeze. */
typedef enum {
    OVERLAP_CG_VISIT_EVENT,
    OVERLAP_CG_RED_VERDICT,
    OVERLAP_CG_UNFREEZE
} overlap_cg_item;

/* Follows *frozen through one item: a visit event is judged with the status
 * before it (FROZEN_CAREGIVER; the event that causes a freeze comes before
 * its own red verdict, so it is not frozen by it), a red verdict freezes
 * from the next item on, an unfreeze lifts the freeze from the next item
 * on. Returns the event's FROZEN_CAREGIVER verdict (PASS for the other
 * items). */
cw_verdict overlap_caregiver_step(int *frozen, overlap_cg_item item);

#endif
