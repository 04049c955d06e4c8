/* What ingest's endpoint files share (api.c: records and reference data,
 * changes.c: an order's maintenance): one request's view of Redis and
 * Kafka, the records it is about to produce, and the steps every endpoint
 * takes. Internal to ingest; api.c implements it.
 *
 * Ownership: an api_call borrows its context and its thread's Redis
 * connection and owns the provider's contract index it may read
 * (api_end_call frees it). An outbox owns the encoded records added to it
 * until api_outbox_send or api_outbox_free. */
#ifndef INGEST_API_INTERNAL_H
#define INGEST_API_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "api.h"
#include "batch_session.h"
#include "records.h"

/* Where one request's I/O goes: straight to Redis and Kafka, or, for a
 * line of a batch, through the batch's session (batch_session.h). */
typedef struct {
    ingest_ctx *ctx;
    cw_redis *redis; /* the calling thread's connection */
    batch_session *batch; /* NULL for a single request */
    /* The provider's contract index (HVALS), read once per request or batch
     * (load_cover); freed by the request's or batch's end. */
    redisReply *contracts;
    size_t line;
} api_call;

/* A visit event and its (up to) four intake checks; a reassign's revision
 * on two topics under two keys and its OrderChange. */
#define MAX_RECORDS 5

typedef struct {
    cw_kafka_record records[MAX_RECORDS];
    encoded_record encoded[MAX_RECORDS];
    size_t count;
} outbox;

/* A single request's call on the calling thread's Redis connection. */
api_call api_single_call(ingest_ctx *ctx);
void api_end_call(api_call *call);
/* The lock that serializes requests about one id. */
pthread_mutex_t *api_id_lock(ingest_ctx *ctx, const char *id);

/* Fill err and return -1. */
int api_unavailable(api_error *err, const char *what);
int api_encoding_failed(api_error *err, const char *why);

void api_outbox_free(outbox *box);
/* Takes ownership of rec.data. */
void api_outbox_add(outbox *box, const char *topic, const char *key, encoded_record rec);
/* The record added last, once more to another topic (same bytes). */
void api_outbox_add_again(outbox *box, const char *topic);
/* Produces the records and waits for the broker (or keeps them for a
 * batch's one send); frees them either way. 0, or -1 with err. */
int api_outbox_send(api_call *call, outbox *box, api_error *err);

/* HMGETs fields of key into values (each at most 128 bytes). 1 when the
 * hash exists, 0 when it does not, -1 when Redis is unreachable. */
int api_load_hash(api_call *call, const char *key, const char *const *fields, size_t n,
                  char values[][128]);
/* SHA-256 (hex) of the body's canonical JSON. */
void api_content_hash(json_t *body, char hex[65]);
/* Sends b's writes (a batch's line keeps them); clears b. 0, or -1 with
 * err. */
int api_redis_commit(api_call *call, cw_redis_batch *b, api_error *err);
void api_fmt_i64(char *buf, size_t len, int64_t v);
/* Receipt time: the wall clock live (rejecting an at further ahead than
 * the allowed skew); in replay, the stream clock (the largest event time
 * accepted so far, at included). 0, or -1 with err. */
int api_receipt_time(api_call *call, int64_t at_ms, int64_t *received, api_error *err);
/* A provider key orders only for elders its contracts serve on the
 * service day of scheduled_start_ms: 0, or -1 with a 422 (or 503). */
int api_check_contract_cover(api_call *call, const cw_role *role, int64_t scheduled_start_ms,
                             const char *elder_id, const char *street_id, api_error *err);

#endif
