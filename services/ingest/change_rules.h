/* Maintenance of an order (docs/design.md §4.1 "Maintenance", docs/maintenance.md):
 * when a provider's cancel, reschedule or reassign takes effect, and when a
 * street office's approval may make a waiting one take effect. Pure: the
 * order's state, the receipt time and the window are parameters.
 *
 * A change received (receipt time as for LATE_SUBMISSION: the wall clock
 * live, the stream clock in replay) before the order's scheduled start
 * takes effect at once; one received at or after it waits for the street's
 * approval, and until then the original order stands. Nothing changes an
 * order that was cancelled, has a check-in, or is final (the ledger-writer
 * said so, or the receipt is past the start plus the window in which an
 * unvisited order is finalized); one change waits at a time. */
#ifndef INGEST_CHANGE_RULES_H
#define INGEST_CHANGE_RULES_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CHANGE_CANCEL = 0,
    CHANGE_RESCHEDULE,
    CHANGE_REASSIGN,
    CHANGE_APPROVE
} change_action;

/* "CANCEL", "RESCHEDULE", "REASSIGN" (the OrderChangeKind symbols),
 * "APPROVE". */
const char *ingest_change_action_name(change_action a);

/* Whether code is one of the reason codes of docs/design.md §4 (exact text). */
int ingest_change_reason_is_valid(const char *code);
/* The codes, comma-separated, for error messages. */
extern const char ingest_change_reason_list[];

typedef struct {
    int64_t scheduled_start;
    int cancelled;   /* a cancel took effect */
    int visited;     /* ingest accepted a check-in */
    int final;       /* the ledger-writer finalized it */
    int has_pending; /* a change waits for the street */
} order_maintenance;

typedef enum {
    CHANGE_EFFECTIVE,      /* takes effect now */
    CHANGE_PENDING,        /* waits for the street's approval */
    CHANGE_REFUSED_CANCELLED,
    CHANGE_REFUSED_VISITED,
    CHANGE_REFUSED_FINAL,
    CHANGE_REFUSED_WAITING, /* another change waits for approval */
    CHANGE_REFUSED_NOTHING  /* an approval with no change waiting */
} change_verdict;

/* A provider's request received at `received`. final_after_ms: how long
 * after its scheduled start an unvisited order is final (24 h). */
change_verdict ingest_change_decide(const order_maintenance *o, int64_t received,
                                    int64_t final_after_ms);

/* The street's approval of the waiting change, received at `received`:
 * CHANGE_EFFECTIVE or a refusal. */
change_verdict ingest_change_approve_decide(const order_maintenance *o, int64_t received,
                                            int64_t final_after_ms);

#endif
