/* Every Redis read and write of ingest but its orders' maintenance state
 * (change_store.h). Key families of its own (redis_keys.h):
 *   cw:idem:<kind>:<id>    the accepted request: the SHA-256 of its body
 *                          (kinds elder, caregiver, contract, order,
 *                          event), or "<hash> <change_id> <state>" for an
 *                          order's latest change and approval (changes.c)
 *   cw:photo:<sha256>      the order that first showed a check-in photo
 *   cw:evhash:<sha256>     the order whose evidence first showed a photo or
 *                          recording
 *   cw:stream_clock        the largest event time accepted (replay mode)
 *   cw:visited:<order_id>  the first check-in accepted for the order
 *   cw:contract:<id> historical
 *                          the contract's historical flag, beside the
 *                          fields reference_store.h writes there
 * After a Redis loss they start afresh, but for cw:visited, which comes back
 * from visit.events with the waiting changes (change_store.h), and the
 * historical flag, which is "" (not known) in a rebuilt contract.
 *
 * It reads the reference and order hashes and the providers' contract
 * indexes, which reference_store.h writes: the handlers add its
 * cw_state_write_* to the batch they commit here, so those hashes have one
 * writer. After a Redis loss rebuild.h rebuilds them from Kafka.
 *
 * Where a request's I/O goes (ingest_call): a single request's straight
 * to Redis; a batch line's reads come from the batch's copy when it has
 * the key (batch_session.h), and its writes are kept for the batch's one
 * pipeline. Strings passed in are borrowed; what comes out is copied. */
#ifndef INGEST_STORE_H
#define INGEST_STORE_H

#include <stdint.h>

#include "config.h"
#include "elder_status.h"
#include "ingest/batch_session.h"
#include "ingest/ingest.h"
#include "redis.h"
#include "reference_store.h"

#define INGEST_FIELD_MAX 128 /* a field read back: ids are 64 bytes at most */

/* One request's (or one batch's) view of Redis. Borrows the context and
 * the thread's connection; owns the provider's contract index it may read
 * and, for a batch, nothing else (the batch owns its session). */
typedef struct {
    ingest_ctx *ctx;
    cw_redis *redis;      /* the calling thread's connection; NULL: out of memory */
    batch_session *batch; /* NULL for a single request */
    redisReply *contracts; /* the provider's contract index, read once (HVALS) */
    size_t line;           /* a batch's line being handled */
} ingest_call;

/* A single request's call on the calling thread's connection; end frees
 * what it read. */
ingest_call ingest_call_single(ingest_ctx *ctx);
void ingest_call_end(ingest_call *call);

/* What a read found. */
typedef enum { INGEST_FOUND, INGEST_MISSING, INGEST_UNAVAILABLE } ingest_lookup;

/* ---- the reference and order hashes (reference_store.h writes them) ---- */

/* What a request needs of an order. status: "CANCELLED" once a cancel took
 * effect, else "". person_id: "" when the caregiver has none. */
typedef struct {
    char elder_id[INGEST_FIELD_MAX], caregiver_id[INGEST_FIELD_MAX];
    char provider_id[INGEST_FIELD_MAX], service_type[INGEST_FIELD_MAX];
    char person_id[INGEST_FIELD_MAX], status[INGEST_FIELD_MAX];
} ingest_order_row;
ingest_lookup ingest_store_order(ingest_call *call, const char *order_id, ingest_order_row *row);
/* The order's revision (0 before any change). */
ingest_lookup ingest_store_order_revision(ingest_call *call, const char *order_id,
                                          int *revision);

/* What a request needs of a caregiver. person_id: "" when none. */
typedef struct {
    char provider_id[INGEST_FIELD_MAX], person_id[INGEST_FIELD_MAX];
    int certified;
} ingest_caregiver_row;
ingest_lookup ingest_store_caregiver(ingest_call *call, const char *caregiver_id,
                                     ingest_caregiver_row *row);

/* The elder's street. */
ingest_lookup ingest_store_elder_street(ingest_call *call, const char *elder_id,
                                        char street_id[INGEST_FIELD_MAX]);

/* A contract's provider and historical flag ("1", "0", or "" when not
 * kept: a hash rebuilt from ref.contracts). */
ingest_lookup ingest_store_contract(ingest_call *call, const char *contract_id,
                                    char provider_id[INGEST_FIELD_MAX],
                                    char historical[INGEST_FIELD_MAX]);

/* What the provider's contracts say of street on day (access_rules.h).
 * The index is read once per request or batch, from Redis even in a batch:
 * a provider key posts no contracts, so no line of its batch changes it.
 * 0, or -1 when Redis is unreachable. */
int ingest_store_contract_cover(ingest_call *call, const char *provider_id, int64_t day,
                                const char *street_id, cw_contract_cover *cover);

/* Whether the elder's status hash holds this period already. */
ingest_lookup ingest_store_period_known(ingest_call *call, const char *elder_id,
                                        const cw_elder_period *period);

/* ---- ingest's own keys ---- */

/* The mark of the request of kind about id (cw:idem), copied into buf. */
ingest_lookup ingest_store_request_mark(ingest_call *call, const char *kind, const char *id,
                                        char *buf, size_t len);
/* SET of the mark (b: the request's writes). */
void ingest_store_mark_request(cw_redis_batch *b, const char *kind, const char *id,
                               const char *value);

/* The stream clock: the largest event time accepted so far, 0 when none
 * (a batch's: as its prefetch read it, raised by its earlier lines).
 * 0, or -1 when Redis is unreachable. */
int ingest_store_stream_clock(ingest_call *call, int64_t *clock);
/* Raises the stream clock to at_ms, in replay mode only (a single
 * request's write goes to b; a batch line's to the batch). It only moves
 * forward, whatever order instances write in. */
void ingest_store_advance_clock(ingest_call *call, cw_redis_batch *b, int64_t at_ms);

/* Claims a check-in photo (cw:photo) or an evidence's photo and recording
 * (cw:evhash) for order_id, in one round trip: the first order to use a
 * hash keeps it (SET NX). holders: the order holding each. A claim stands
 * even if the request later fails: it is the same order's, and a retry
 * finds its own claim. 0, or -1 when Redis is unreachable. */
int ingest_store_claim_photo(ingest_call *call, const char *photo_sha256, const char *order_id,
                             char holder[INGEST_FIELD_MAX]);
int ingest_store_claim_evidence(ingest_call *call, const char *photo_sha256,
                                const char *recording_sha256, const char *order_id,
                                char holders[2][INGEST_FIELD_MAX]);

/* The order has a check-in: it is changed no more (changes.c). A key of
 * its own, not a field of the order's hash: a later line of a batch that
 * reads the order need not wait for this write. */
void ingest_store_mark_visited(cw_redis_batch *b, const char *order_id, const char *event_id);

/* ---- writing ---- */

typedef enum { INGEST_WRITTEN, INGEST_WRITE_UNAVAILABLE, INGEST_WRITE_NO_MEMORY } ingest_write;
/* Sends b's writes (a batch line's are kept for the batch's pipeline, and
 * seen by its later lines at once); clears b. */
ingest_write ingest_store_commit(ingest_call *call, cw_redis_batch *b);

/* ---- a batch ---- */

/* A batch's call: the session's copy in front of Redis. The caller owns
 * the session. */
ingest_call ingest_call_batch(ingest_ctx *ctx, batch_session *session);
/* What the batch's lines will read, fetched by ingest_store_prefetch in
 * one round trip. 0 or -1 (out of memory). */
int ingest_store_want_mark(ingest_call *call, const char *kind, const char *id);
typedef enum {
    INGEST_ELDER_ROW,
    INGEST_CAREGIVER_ROW,
    INGEST_CONTRACT_ROW,
    INGEST_ORDER_ROW
} ingest_row;
int ingest_store_want_row(ingest_call *call, ingest_row row, const char *id);
/* Fetches what was wanted (and, in replay mode, the stream clock). 0, or
 * -1 when Redis is unreachable. */
int ingest_store_prefetch(ingest_call *call);
/* ingest_batch_session_finish with the stream clock's key and script: 0,
 * or the first line whose results are not durable. */
size_t ingest_store_finish(ingest_call *call);


#endif
