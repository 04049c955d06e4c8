/* carewatch-duration-timer: SHORT_DURATION and DAILY_HOURS_EXCEEDED as soon
 * as an order has both its check-in and its check-out (whichever arrives
 * last), and the event-time timers: NO_SHOW (scheduled start + 30 min),
 * NO_CHECKOUT (check-in + 240 min) and the evidence deadline (check-out +
 * 72 h, emitted as an EVIDENCE_DEADLINE result for the finalizer). Timers
 * fire once the watermark has passed them.
 *
 * Input: orders.assigned and visit.events, both keyed by caregiver with the
 * same partition count, so one instance owns a caregiver's orders, visits
 * and timers. An order's revisions (a cancel, reschedule or reassign:
 * docs/maintenance.md) are taken from their copies on visit.events, in the
 * caregiver's stream order: the partition of the previous revision drops
 * that revision's NO_SHOW timer, the partition of the new one sets the new
 * revision's (none for a cancel), so each partition's timers follow its own
 * stream whatever the speed of the others. Output: CheckResults on
 * visit.checks.
 *
 * Who does what, one file each:
 *   main.c                wiring: the config keys, the checker definition,
 *                         the context made from the config
 *   duration_handlers.c   the handler of a message and of a timer: decode,
 *                         rules, store, emit
 *   duration_rules.c      the rules and what each record and timer leads
 *                         to, pure (duration_rules.h)
 *   duration_store.c      every Redis read and write, and the key families
 *                         the service owns (duration_store.h)
 *   duration_records.c    the CheckResults it emits (duration_records.h)
 *
 * Ownership: the context is made by main.c's context_new and freed by its
 * context_free (the checker calls both); a decoded record borrows its
 * strings from the message and is released by the handler that read it;
 * the store copies what it reads out of Redis. One thread. */
#ifndef DURATION_TIMER_H
#define DURATION_TIMER_H

#include <stddef.h>
#include <stdint.h>

#include "checker.h"
#include "duration-timer/duration_rules.h"
#include "result.h"

#define DURATION_SERVICE "duration-timer"

typedef struct {
    cw_checker *ck;
    duration_thresholds t; /* the rules.* config keys, time.utc_offset_minutes */
} duration_ctx;

/* One input message (ctx is a duration_ctx): CW_OK, CW_REJECT with the
 * reason, or CW_RETRY. */
cw_result duration_handle(void *ctx, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                          size_t reason_len);

/* A timer (member: duration_timer_member) come due. CW_OK or CW_RETRY. */
int duration_on_timer(void *ctx, const char *member, int64_t due, cw_outbox *out);

#endif
