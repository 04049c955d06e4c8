/* An order's revisions (docs/maintenance.md) as the services read them from
 * OrderAssigned records: which revision, what changed, where the order's
 * records go now and went before. Pure. */
#ifndef CW_ORDER_REVISION_H
#define CW_ORDER_REVISION_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

/* Revisions of an order (docs/maintenance.md). A change that takes effect
 * (a cancel, reschedule or reassign) is published as the order again: an
 * OrderAssigned with the same order_id, the next revision (1, 2...) and the
 * change that made it, keyed like any assignment by the (new) caregiver's
 * stream key; a reassign also by the previous caregiver's. Readers keep
 * the highest revision. Strings are borrowed from the record. */
typedef struct {
    int revision;                    /* 0: the assignment as first posted */
    const char *kind;                /* CANCEL | RESCHEDULE | REASSIGN; NULL for revision 0 */
    const char *reason_code;         /* NULL for revision 0 */
    const char *stream_key;          /* where the order's records go now */
    const char *previous_stream_key; /* where they went before; NULL for revision 0 */
    int64_t received_at;             /* when the revision took effect at ingest */
} cw_order_revision;

/* 0, or -1 when the record lacks a field. */
int cw_order_revision_of(avro_value_t *order, cw_order_revision *out);
int cw_order_revision_is_cancel(const cw_order_revision *r);

/* The subject (check_id prefix) of the verdicts about a revision of an
 * order: "<order_id>" for revision 0, "<order_id>@<revision>" after ('@'
 * is in no id, so no event id can take it). 0, or -1 when it does not fit
 * in len (CW_SUBJECT_MAX always fits). */
#define CW_SUBJECT_MAX 80
int cw_order_revision_subject(const char *order_id, int revision, char *buf, size_t len);

/* What one copy of a revision, read from the partition of message_key,
 * means there. Pure. leave: the partition held the previous revision (its
 * schedule and timers are dropped); arrive: the order is scheduled there
 * from now on (judged as if assigned so). A reschedule or cancel has one
 * copy that leaves (and a reschedule's also arrives); a reassign to
 * another person has two, one of each; revision 0 only arrives. */
typedef struct {
    int leave, arrive;
} cw_revision_copy;
cw_revision_copy cw_order_revision_copy(const cw_order_revision *r, const char *message_key);

#endif
