/* What ingest's handlers share (reference.c, visits.c, changes.c,
 * submit.c; handlers.c implements it): the records a request is about to
 * produce, and the steps every endpoint takes. Internal to ingest.
 *
 * Every handler takes its steps in one order: parse (requests.h), check
 * the role and the references it names (ingest_store.h reads), resolve
 * idempotency, judge (the pure rules), build and encode its records
 * (records.h), send them (Kafka), then commit its Redis writes: Kafka
 * before Redis, so a failure leaves at most records a retry repeats.
 * Handlers return 0, or -1 with the answer in err.
 *
 * Ownership: an outbox owns the encoded records added to it until
 * ingest_outbox_send or ingest_outbox_free. */
#ifndef INGEST_HANDLERS_H
#define INGEST_HANDLERS_H

#include <jansson.h>
#include <stdint.h>

#include "ingest/ingest.h"
#include "ingest/ingest_store.h"
#include "ingest/records.h"

/* A visit event and its (up to) four intake checks; a reassign's revision
 * on two topics under two keys and its OrderChange. */
#define MAX_RECORDS 5

typedef struct {
    cw_kafka_record records[MAX_RECORDS];
    encoded_record encoded[MAX_RECORDS];
    size_t count;
} ingest_outbox;

void ingest_outbox_free(ingest_outbox *box);
/* Takes ownership of rec.data. */
void ingest_outbox_add(ingest_outbox *box, const char *topic, const char *key,
                       encoded_record rec);
/* The record at index `of`, once more to another topic under key (NULL:
 * its own key): the same bytes, owned by its first entry. */
void ingest_outbox_copy(ingest_outbox *box, size_t of, const char *topic, const char *key);
/* Produces the records and waits for the broker (a batch's line keeps them
 * for the batch's one send); frees them either way. 0, or -1 with err. */
int ingest_outbox_send(ingest_call *call, ingest_outbox *box, api_error *err);

/* Fill err and return -1. */
int ingest_unavailable(api_error *err, const char *what);
int ingest_encoding_failed(api_error *err, const char *why);
/* Commits b (ingest_store_commit). 0, or -1 with err (503, or 500 when a
 * batch ran out of memory). */
int ingest_commit(ingest_call *call, cw_redis_batch *b, api_error *err);

/* Sends the outbox, then commits b: Kafka before Redis. On failure b is
 * cleared. 0, or -1 with err. */
int ingest_send_then_commit(ingest_call *call, ingest_outbox *box, cw_redis_batch *b,
                            api_error *err);

/* What every record a body asks for does last: its Redis writes (b, with
 * the record written into it through reference_store.h where it is
 * reference data or an order; written: what that writer returned) get the
 * request's idempotency mark (kind, id, hash), then the outbox is sent and
 * b committed. On failure box and b are freed. 0, or -1 with err. */
int ingest_publish(ingest_call *call, ingest_outbox *box, int written, cw_redis_batch *b,
                   const char *kind, const char *id, const char *hash, api_error *err);

/* 503 while Redis is being rebuilt from Kafka. 0, or -1 with err. */
int ingest_check_rebuilding(ingest_ctx *ctx, api_error *err);
/* A request on a path id (/v1/elders/{id}/status...): the id is valid
 * (else a 400 naming the field and "invalid <noun> id in path") and the
 * body a JSON object. 0, or -1 with err. */
int ingest_check_path(const char *id, const char *field, const char *noun, json_t *body,
                      api_error *err);

/* SHA-256 (hex) of the body's canonical JSON. */
void ingest_content_hash(json_t *body, char hex[65]);

/* What the idempotency mark says of a request. */
typedef enum {
    IDEM_GO_ON,    /* new (or, updates_allowed, an update): handle it */
    IDEM_ANSWERED, /* the same request again: out says it is a duplicate */
    IDEM_FAILED    /* err holds the answer: a conflict (409) or Redis (503) */
} idem_step;
/* The mark of the request of kind about id against its content hash;
 * out->id is set. A different content under the same id is a 409 unless
 * updates_allowed (reference data). */
idem_step ingest_resolve_idempotency(ingest_call *call, const char *kind, const char *id,
                                     const char *hash, int updates_allowed, ingest_outcome *out,
                                     api_error *err);

/* Receipt time: the wall clock live (rejecting an at further ahead than
 * the allowed skew); in replay, the stream clock (the largest event time
 * accepted so far, at included). 0, or -1 with err. */
int ingest_receipt_time(ingest_call *call, int64_t at_ms, int64_t *received, api_error *err);
/* A provider key's order and event ids begin with "<provider_id>:". The
 * answer depends on the id's text only: it says nothing of whether the id
 * is taken. 0, or -1 with a 403. */
int ingest_check_namespace(const cw_role *role, const char *field, const char *id,
                           api_error *err);
/* A provider key orders only for elders its contracts serve on the
 * service day of scheduled_start_ms: 0, or -1 with a 422 (or 503). */
int ingest_check_contract_cover(ingest_call *call, const cw_role *role,
                                int64_t scheduled_start_ms, const char *elder_id,
                                const char *street_id, api_error *err);

/* The records a body asks for (reference.c, visits.c). The caller holds
 * the id's lock and checked the role; hash is the body's content hash. */
int ingest_submit_elder(ingest_call *call, json_t *body, const char *hash, ingest_outcome *out,
                        api_error *err);
int ingest_submit_caregiver(ingest_call *call, json_t *body, const char *hash,
                            ingest_outcome *out, api_error *err);
int ingest_submit_contract(ingest_call *call, json_t *body, const char *hash,
                           ingest_outcome *out, api_error *err);
int ingest_submit_order(ingest_call *call, json_t *body, const char *hash, const cw_role *role,
                        ingest_outcome *out, api_error *err);
int ingest_submit_visit(ingest_call *call, cw_visit_kind kind, json_t *body, const char *hash,
                        const cw_role *role, ingest_outcome *out, api_error *err);
int ingest_submit_evidence(ingest_call *call, json_t *body, const char *hash,
                           const cw_role *role, ingest_outcome *out, api_error *err);

#endif
