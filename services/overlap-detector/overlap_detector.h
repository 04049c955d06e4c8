/* carewatch-overlap-detector: SCHEDULE_OVERLAP when an assignment overlaps
 * another order of the caregiver (CROSS_PROVIDER_OVERLAP: of another
 * registration of the same person), UNCERTIFIED when it gives a service
 * that needs a certificate to a caregiver without one; ELDER_UNAVAILABLE
 * for a check-in while the elder is in hospital or dead (the registry's
 * periods, cw:elder_status, as received by the check-in's receipt);
 * VISIT_OVERLAP (and CROSS_PROVIDER_OVERLAP) for every check-in, decided
 * when the check-in is processed if another visit is open then (certain at
 * once), else once the watermark has passed it (every visit that started
 * before it is then known: a late event may reveal an overlap);
 * FROZEN_CAREGIVER for every check-in and check-out. A red verdict freezes
 * the caregiver in Redis and publishes CaregiverStatusChanged; an admin's
 * unfreeze, which ingest puts into the caregiver's partition of
 * visit.events, lifts it when this service reaches it, so freezing follows
 * the caregiver's stream order (docs/design.md §4.1).
 *
 * Input: visit.events alone, keyed by the person (or the caregiver without
 * one): ingest puts a copy of every assignment there beside the check-ins,
 * check-outs and unfreezes, so one partition holds a person's whole stream
 * in posting order and a freeze that an assignment causes covers exactly
 * the events posted after it, however the stream is read (orders.assigned,
 * a topic of its own, could be read ahead of or behind visit.events). An
 * order's revisions (a cancel, reschedule or reassign: docs/maintenance.md)
 * come there too, at their place in the stream: the previous revision's
 * stream drops the order from its schedule, the new one's judges the
 * revision as if it had been assigned so (check ids
 * "<order_id>@<revision>:<RULE>"). Schedules are judged from the slots each
 * stream keeps in its own order, never from the order's hash, which ingest
 * moves on at once.
 *
 * Replays repeat every verdict: one that depends on processing order is
 * kept the first time it is settled (verdict_memo.h), and only the record
 * (or timer) that settled a red verdict freezes.
 *
 * The files:
 *   main.c              configuration, the checker definition, the context
 *                       and the dispatch by record type
 *   assignments.c       an assignment's copy or revision: SCHEDULE_OVERLAP,
 *                       CROSS_PROVIDER_OVERLAP, UNCERTIFIED
 *   visits.c            check-ins and check-outs (FROZEN_CAREGIVER, the
 *                       visit rules, ELDER_UNAVAILABLE) and the timers
 *                       that judge a check-in's visit rules later
 *   freezes.c           a red verdict's freeze and an admin's unfreeze
 *   overlap_rules.c, assignment_rules.c, elder_rules.c
 *                       the rules (pure)
 *   verdict_memo.c      the text of a kept verdict (pure)
 *   overlap_store.c     every Redis read and write (its keys are listed
 *                       there), pipelined per message
 *   overlap_records.c   the records emitted
 * Round trips per record: an assignment 3 at most (a 4th for orders
 * scheduled before slots were kept, a 5th to freeze), a revision that only
 * leaves 1; a check-in 5, a check-out 3; a timer 4 at most (a 5th to
 * freeze); an unfreeze 1.
 *
 * Ownership: the context (main.c) owns the scratch lists below and is freed
 * by overlap_context_free; strings of a decoded record are borrowed from
 * the message; the outbox owns every record added to it. One instance of
 * the context per process, used by one thread. */
#ifndef OVERLAP_DETECTOR_H
#define OVERLAP_DETECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "checker.h"
#include "elder_status.h"
#include "outbox.h"
#include "overlap-detector/overlap_store.h"
#include "result.h"
#include "stream.h"

#define OVERLAP_SERVICE "overlap-detector"

typedef struct {
    cw_checker *ck;
    int64_t open_max_ms;                /* rules.open_visit_minutes */
    const char *const *certified_types; /* rules.certified_service_types (the config's) */
    size_t certified_type_count;
    /* Scratch of the message or timer being judged: */
    overlap_schedule schedule;
    overlap_visits visits;
    cw_elder_period periods[OVERLAP_MAX_ELDER_PERIODS];
} overlap_ctx;

/* The handlers of one record of visit.events: CW_OK, CW_REJECT (with
 * reason) or CW_RETRY (Redis). */
/* assignments.c: an OrderAssigned (an assignment's copy or a revision's). */
cw_result overlap_handle_assignment(overlap_ctx *o, const cw_stream_msg *msg, cw_outbox *out,
                                    char *reason, size_t len);
/* visits.c: a VisitEvent. */
cw_result overlap_handle_visit(overlap_ctx *o, const cw_stream_msg *msg, cw_outbox *out,
                               char *reason, size_t len);
/* visits.c: a VISIT_OVERLAP timer come due (the checker's on_timer; ctx is
 * the overlap_ctx). CW_OK or CW_RETRY. */
int overlap_on_timer(void *ctx, const char *member, int64_t due, cw_outbox *out);
/* freezes.c: a CaregiverStatusChanged (an admin's unfreeze). */
cw_result overlap_handle_unfreeze(overlap_ctx *o, const cw_stream_msg *msg, cw_outbox *out,
                                  char *reason, size_t len);

/* freezes.c: the freeze a red verdict causes: the caregiver's status into
 * b (sent by the caller), the CaregiverStatusChanged into out. 0 or -1. */
int overlap_freeze(cw_redis_batch *b, cw_outbox *out, const char *caregiver_id, const char *rule,
                   const char *order_id, int64_t at);

#endif
