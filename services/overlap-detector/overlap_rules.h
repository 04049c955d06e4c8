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
} scheduled_order;

typedef struct {
    char order_id[OVERLAP_ID_MAX];
    int64_t in_at;
    int has_out;
    int64_t out_at;
} visit_interval;

/* 1 when [a_start, a_end) and [b_start, b_end) share an instant. */
int intervals_overlap(int64_t a_start, int64_t a_end, int64_t b_start, int64_t b_end);

/* SCHEDULE_OVERLAP for a new assignment: red when it overlaps one of the
 * caregiver's existing orders (other than itself). *other is the index of
 * the first such order (-1 when none); measured is the overlap in minutes. */
cw_verdict rule_schedule_overlap(const scheduled_order *existing, size_t n,
                                 const scheduled_order *added, long *other);

/* What the overlap-detector keeps of each order in the schedule of the
 * stream (person or caregiver) it was read from, written and dropped in
 * that stream's order (an order's revisions move it: docs/maintenance.md):
 * "<start>|<end>|<caregiver_id>". format: 0, or -1 when it does not fit.
 * parse fills so's start and end (not its order id) and the caregiver:
 * 0, or -1 when value is not that. */
int schedule_slot_format(int64_t start, int64_t end, const char *caregiver_id, char *buf,
                         size_t len);
int schedule_slot_parse(const char *value, scheduled_order *so, char *caregiver_id, size_t len);

/* Where a visit ends for the overlap rules: its check-out, or check-in +
 * open_max_ms when it has none. */
int64_t visit_end(const visit_interval *v, int64_t open_max_ms);

/* VISIT_OVERLAP for the visit x, judged once every visit that started
 * before it is known: red when another visit of the caregiver started
 * earlier (ties: the smaller order id counts as earlier) and was still open
 * at x's check-in. *other is its index (-1 when none); measured is the
 * overlap in minutes. */
cw_verdict rule_visit_overlap(const visit_interval *others, size_t n, const visit_interval *x,
                              int64_t open_max_ms, long *other);

/* FROZEN_CAREGIVER: red when the caregiver is frozen. */
cw_verdict rule_frozen_caregiver(int frozen);

/* What the overlap-detector meets in one caregiver's stream, in the order
 * ingest accepted it (docs/design.md §4.1): a check-in or check-out, a red
 * verdict of its own about one (which freezes), an admin's unfreeze. */
typedef enum { CG_VISIT_EVENT, CG_RED_VERDICT, CG_UNFREEZE } caregiver_item;

/* Follows *frozen through one item: a visit event is judged with the status
 * before it (FROZEN_CAREGIVER; the event that causes a freeze comes before
 * its own red verdict, so it is not frozen by it), a red verdict freezes
 * from the next item on, an unfreeze lifts the freeze from the next item
 * on. Returns the event's FROZEN_CAREGIVER verdict (PASS for the other
 * items). */
cw_verdict caregiver_stream_step(int *frozen, caregiver_item item);

#endif
