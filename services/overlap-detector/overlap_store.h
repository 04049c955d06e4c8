/* Every Redis read and write of the overlap-detector, each function one
 * round trip unless its comment says otherwise (a message's reads and
 * writes go together where the second does not depend on the first).
 *
 * Key families of its own:
 *   cw:ov:sched:<stream>    zset of order ids by scheduled start
 *   cw:ov:slot:<stream>     hash order id -> "<start>|<end>|<caregiver_id>"
 *                           (overlap_slot_format), as this stream scheduled
 *                           it (an order's revisions move it:
 *                           docs/maintenance.md)
 *   cw:ov:visits:<stream>   zset of order ids by check-in time
 *   cw:ov:visit:<order_id>  hash in_at in_event out_at out_event cg (the
 *                           first of each stands: overlap_visit_row)
 *   cw:ov:memo:<check_id>   a kept verdict (verdict_memo.h); <check_id>:in
 *                           holds what a check-in's visit rule was when the
 *                           check-in was processed
 *   cw:timers:overlap-detector:<partition>  "VISIT_OVERLAP|<order_id>"
 * <stream> is the person's id, or the caregiver's without one
 * (cw_order_stream_key). Of ingest's keys (redis_keys.h) it reads
 * cw:order:<id> (writing it only as cw_state_store_order does, from the
 * assignment's copy), cw:elder_status:<elder_id>, and reads and writes
 * cw:cgstate:<caregiver_id>.
 *
 * Ints answer 0, or -1 when Redis is away or answers an error (retry the
 * message). Nothing here keeps a reply: what is read is copied out. */
#ifndef OVERLAP_STORE_H
#define OVERLAP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "avro_records.h"
#include "checker.h"
#include "elder_status.h"
#include "overlap-detector/overlap_rules.h"
#include "overlap-detector/verdict_memo.h"
#include "redis.h"
#include "reference_store.h"

/* At most this many orders or visits of a stream are looked at, the
 * earliest first. */
#define OVERLAP_MAX_CANDIDATES 512
#define OVERLAP_MAX_ELDER_PERIODS 256
#define OVERLAP_CHECK_ID_MAX 200

/* A stream's orders, split by registration: the caregiver's own
 * (SCHEDULE_OVERLAP) and the person's other registrations'
 * (CROSS_PROVIDER_OVERLAP). */
typedef struct {
    overlap_slot own[OVERLAP_MAX_CANDIDATES], others[OVERLAP_MAX_CANDIDATES];
    size_t n_own, n_others;
} overlap_schedule;

/* A stream's visits, split the same way (VISIT_OVERLAP and
 * CROSS_PROVIDER_OVERLAP). */
typedef struct {
    overlap_visit own[OVERLAP_MAX_CANDIDATES], others[OVERLAP_MAX_CANDIDATES];
    size_t n_own, n_others;
} overlap_visits;

/* One verdict to settle: check_id and memo (the verdict found now) in;
 * memo (the verdict kept, origin included) and same_origin (1 when this
 * origin kept it: now, or an earlier run of the same record) out. */
typedef struct {
    char check_id[OVERLAP_CHECK_ID_MAX];
    overlap_memo memo;
    int same_origin;
} overlap_settle;

#define OVERLAP_SETTLE_MAX 4

/* Sends b's writes (b may be NULL) and settles s[0..n) (SET NX GET: the
 * first verdict kept under a check id stands), n <= OVERLAP_SETTLE_MAX.
 * Clears b. */
int overlap_store_settle(cw_redis *r, cw_redis_batch *b, overlap_settle *s, size_t n,
                         const char *origin);

/* Sends b's writes. Clears b. */
int overlap_store_write(cw_redis *r, cw_redis_batch *b);
/* The same, with the event clocks raised to at (cw_checker_exec_with_clock). */
int overlap_store_write_with_clock(cw_checker *ck, cw_redis_batch *b, int partition, int64_t at);

/* ---- schedules (assignments) ----------------------------------------------- */

/* Adds to b the order's hash (cw_state_store_order: the latest revision
 * stands). 0, or -1 when the record lacks a field. */
int overlap_store_add_order(cw_redis_batch *b, avro_value_t *order);
/* Adds to b the drop of the order from the stream's schedule. */
void overlap_store_add_drop(cw_redis_batch *b, const char *stream, const char *order_id);
/* Adds to b the order's slot in the stream's schedule. 0, or -1 when the
 * slot does not fit. */
int overlap_store_add_slot(cw_redis_batch *b, const char *stream, const char *order_id,
                           int64_t start, int64_t end, const char *caregiver_id);
/* Sends b's writes and reads the orders of the stream that start before
 * `before` (and not a week before `after`), with their intervals as this
 * stream scheduled them, into *sched (own: caregiver_id's). A second round
 * trip reads their slots (a third the orders' hashes, for orders scheduled
 * before slots were kept). Clears b. */
int overlap_store_schedule(cw_redis *r, cw_redis_batch *b, const char *stream,
                           const char *caregiver_id, int64_t after, int64_t before,
                           overlap_schedule *sched);

/* ---- visit events ----------------------------------------------------------- */

/* What a visit event is judged with, read before it is recorded. */
typedef struct {
    int order_found;         /* 0: the order is unknown */
    cw_order_state order;    /* cw:order:<order_id> */
    int frozen;              /* the event's caregiver is FROZEN (cw:cgstate) */
    overlap_visit_row visit; /* the order's visit (read for a check-in only) */
} overlap_event_state;

int overlap_store_load_event(cw_redis *r, const char *order_id, const char *caregiver_id,
                             int check_in, overlap_event_state *out);

/* A visit event as its order's visit records it. */
typedef struct {
    const char *order_id, *event_id;
    const char *order_caregiver; /* the order's caregiver: the visit's cg */
    int check_in;
    int64_t at;
} overlap_event;

/* What the event's verdicts read besides. visits: for the visit's own
 * check-in, the stream's visits that started up to in_at (own: caregiver_id's),
 * the check-in added first; NULL for any other event. periods: for a
 * check-in, the elder's availability periods (n out); NULL otherwise. */
typedef struct {
    const char *stream, *caregiver_id;
    int64_t in_at;
    overlap_visits *visits;
    const char *elder_id;
    cw_elder_period *periods;
    size_t max, n;
} overlap_event_reads;

/* Records the event in its order's visit, settles *frozen (its
 * FROZEN_CAREGIVER) and reads what *reads asks, in one round trip (and a
 * second for the visits' intervals). */
int overlap_store_record_event(cw_redis *r, const overlap_event *e, overlap_settle *frozen,
                               const char *origin, overlap_event_reads *reads);

/* ---- VISIT_OVERLAP timers --------------------------------------------------- */

/* Adds to b the timer that judges the order's check-in at due. */
int overlap_store_add_timer(cw_checker *ck, cw_redis_batch *b, int partition, int64_t due,
                            const char *order_id);
/* The order id of a timer's member (borrowed from it), or NULL. */
const char *overlap_store_timer_order(const char *member);

/* The order's visit and its hash; *visit_found (a check-in is recorded)
 * and *order_found 1 or 0. */
int overlap_store_load_timer(cw_redis *r, const char *order_id, overlap_visit_row *visit,
                             int *visit_found, cw_order_state *order, int *order_found);
/* The stream's visits that started up to in_at (as
 * overlap_store_record_event reads them), and red[i]: whether the verdict
 * kept under check_ids[i] is red (i < n <= OVERLAP_SETTLE_MAX). One round
 * trip, and one more for the visits' intervals. */
int overlap_store_timer_visits(cw_redis *r, const char *stream, const char *caregiver_id,
                               int64_t in_at, overlap_visits *visits,
                               const char *const *check_ids, size_t n, int *red);

/* ---- caregiver status -------------------------------------------------------- */

/* Adds to b the caregiver's status hash (cw:cgstate): status reason
 * order_id at. */
void overlap_store_add_status(cw_redis_batch *b, const char *caregiver_id,
                              cw_caregiver_status status, const char *reason,
                              const char *order_id, int64_t at);

#endif
