/* carewatch-ingest: the HTTP API of docs/design.md §3. Every record enters
 * carewatch here: validated, authorized, checked for idempotency, judged by
 * the intake rules, published to Kafka and kept in Redis.
 *
 * Which file does what:
 *   main.c            wiring: configuration, producer, Redis, admin listener,
 *                     the HTTP server, and the Redis watch until shutdown
 *   http_server.c     libmicrohttpd, limits, the key from the headers, JSON
 *                     answers (routes.c maps a request line to an operation)
 *   ingest.c          the context (id locks, per-thread Redis), readiness
 *   submit.c          one record (ingest_submit) and a batch's steps
 *                     (ingest_batch_*); batch.c splits a /v1/batch body
 *   reference.c       elders, caregivers, contracts, an elder's status,
 *                     an unfreeze
 *   visits.c          orders, check-ins and check-outs, evidence
 *   changes.c         an order's cancel, reschedule, reassign, approval
 *   handlers.c/.h     what those handlers share: a request's outbox of
 *                     records, receipt time, the provider checks, the last
 *                     step (ingest_publish); api_error.c: the error answer
 *   records.c         every record ingest publishes (typed, generated
 *                     writers)
 *   ingest_store.c    every Redis read and write but a change's; the
 *                     rebuild of Redis after a loss
 *   change_store.c    an order's maintenance state: cw:change, what a
 *                     change reads, and their rebuild from Kafka
 *   batch_session.c   a batch's copy of Redis and its kept records/writes
 *   requests.c        request bodies into structs (json_fields.c: fields)
 *   intake_rules.c, change_rules.c, access_rules.c, auth.c: pure rules
 *   settings.c        the configuration keys
 *   api.h             transitional: what routes.c/.h still include
 * The reference and order hashes are written through reference_store.h
 * (cw_state_write_*), their one writer, from the same typed records that
 * are published.
 *
 * A request is answered "accepted" only after Kafka acknowledged every
 * record it produced and Redis holds the state it changed; Kafka is written
 * before Redis so that a failure leaves at most records that a retry of the
 * same request reproduces byte for byte under the same ids.
 *
 * Threads: requests run on the HTTP server's threads, one per connection;
 * each thread has its own Redis connection (ctx->redis), the producer is
 * shared. Requests about one id are serialized by the id's lock.
 *
 * Ownership: the context is main's; a request's JSON body is the HTTP
 * server's, and the parsed structs and records borrow its strings; an
 * outbox owns its encoded records until sent or freed (handlers.h); a
 * batch session owns copies of everything it keeps (batch_session.h). */
#ifndef INGEST_H
#define INGEST_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "access_keys.h"
#include "config.h"
#include "ingest/api_error.h"
#include "ingest/change_rules.h"
#include "ingest/intake_rules.h"
#include "kafka.h"
#include "redis.h"
#include "redis_per_thread.h"

/* Requests of one id (an elder, order or event id...) are taken one at a
 * time, so that two at once cannot both find it new: ID_LOCK_STRIPES locks,
 * chosen by a hash of the id. */
#define ID_LOCK_STRIPES 64

typedef struct {
    cw_producer *producer; /* shared: cw_producer_share */
    cw_redis_per_thread redis;
    pthread_mutex_t id_locks[ID_LOCK_STRIPES];
    cw_key_table auth;
    intake_thresholds thresholds;
    int replay_mode;       /* time.mode: replay */
    int64_t clock_skew_ms; /* live mode: events further ahead are rejected */
    /* rules.order_final_hours: a change received later than this after the
     * order's scheduled start is refused (an unvisited order is final). */
    int64_t order_final_after_ms;
    int64_t (*now_ms)(void);
    size_t max_batch_lines;    /* http.max_batch_lines */
    size_t max_batch_failures; /* http.max_batch_failures */
    /* Set by the main thread while Redis is being rebuilt from Kafka
     * (after it lost its data): requests are answered 503 meanwhile. */
    atomic_int rebuilding;
} ingest_ctx;

typedef enum {
    REQ_ELDER,
    REQ_CAREGIVER,
    REQ_CONTRACT,
    REQ_ORDER,
    REQ_CHECK_IN,
    REQ_CHECK_OUT,
    REQ_EVIDENCE
} request_type;

typedef struct {
    int duplicate; /* 1: same id, same content, nothing produced */
    char id[96];   /* an id, or a change's "<order_id>@<revision>" */
    /* An order's change: "EFFECTIVE", "PENDING" or "APPROVED" (static);
     * NULL for anything else. */
    const char *state;
} ingest_outcome;

/* ingest.c */
/* Sets up the locks and the per-thread Redis; the other fields are the
 * caller's. 0 or -1. ingest_ctx_destroy after the server stopped. */
int ingest_ctx_init(ingest_ctx *ctx, const cw_config *cfg);
void ingest_ctx_destroy(ingest_ctx *ctx);
/* The lock that serializes requests about one id. */
pthread_mutex_t *ingest_id_lock(ingest_ctx *ctx, const char *id);

/* Readiness (cw_admin_start's check, on the admin thread): not while Redis
 * is rebuilt, and Redis and Kafka answer. redis is the admin thread's own
 * connection. 0 ready, or -1 with the reason. */
typedef struct {
    cw_producer *producer;
    cw_redis *redis;
    ingest_ctx *ingest;
} ingest_readiness;
int ingest_ready(void *user_data, char *reason, size_t reason_len);

/* submit.c */
/* "elder", "caregiver", "contract", "order", "check-in", "check-out",
 * "evidence". 0 or -1. */
int ingest_request_type_from_name(const char *name, request_type *out);
/* Whether role may post records of this type at all: reference data needs
 * registry, importer or admin; orders and visits a provider, the importer
 * or an admin (not the registry, a street office or the command).
 * 0, or -1 with a 403 in err. (A provider's own orders are checked per
 * record.) Used from the headers (routes.c) and per batch line. */
int ingest_request_role_check(request_type type, const cw_role *role, api_error *err);
/* POST /v1/elders, /caregivers, /contracts, /orders, /visits/...: 0, or -1
 * with err. */
int ingest_submit(ingest_ctx *ctx, request_type type, json_t *body, const cw_role *role,
                  ingest_outcome *out, api_error *err);

/* The steps of a batch (batch_session.h says where their I/O goes):
 *   begin; expect(line) for every line, so that what the lines will read
 *   is fetched at once; prefetch (takes the lines' id locks: end releases
 *   them); submit(line) for each line in order, as ingest_submit would;
 *   finish, which makes every line's results durable and returns 0 or the
 *   first line whose results are not (that line and later ones failed);
 *   end. Lines are numbered from 1. */
typedef struct ingest_batch ingest_batch;
ingest_batch *ingest_batch_begin(ingest_ctx *ctx);
int ingest_batch_expect(ingest_batch *b, request_type type, json_t *body, const cw_role *role);
int ingest_batch_prefetch(ingest_batch *b);
int ingest_batch_submit(ingest_batch *b, size_t line, request_type type, json_t *body,
                        const cw_role *role, ingest_outcome *out, api_error *err);
size_t ingest_batch_finish(ingest_batch *b);
void ingest_batch_end(ingest_batch *b);

/* batch.c: an NDJSON batch, each line {"type": ..., fields...}. Returns the
 * response document (caller decrefs): the counts, the failed lines (at most
 * max_batch_failures of them, the rest counted in failures_omitted) and
 * resume_line. Sets *status: 200, or 503 when Kafka or Redis failed part
 * way (lines before resume_line are final; it and the lines after it are
 * not: the failed ones reported 503, the untried ones "not_processed"), or
 * 413 when it has more than max_batch_lines lines (none handled). */
json_t *ingest_post_batch(ingest_ctx *ctx, const char *data, size_t len, const cw_role *role,
                          int *status);

/* reference.c */
/* POST /v1/caregivers/{id}/unfreeze. */
int ingest_unfreeze(ingest_ctx *ctx, const char *caregiver_id, json_t *body,
                    const cw_role *role, ingest_outcome *out, api_error *err);
/* POST /v1/elders/{id}/status: a period of the elder's availability
 * (elder_status.h) onto ref.elder_status and into Redis. The same period
 * again answers as a duplicate. */
int ingest_elder_status(ingest_ctx *ctx, const char *elder_id, json_t *body,
                        const cw_role *role, ingest_outcome *out, api_error *err);

/* changes.c: POST /v1/orders/{id}/cancel, /reschedule, /reassign and
 * /approve-change (docs/maintenance.md): out->id is the change's id and
 * out->state what became of it. */
int ingest_order_change(ingest_ctx *ctx, change_action action, const char *order_id, json_t *body,
                        const cw_role *role, ingest_outcome *out, api_error *err);
/* Whether role may ask for (or approve) a change at all, from the headers:
 * a provider, the importer or an admin asks; a street office (or an admin)
 * approves. 0, or -1 with a 403 in err. */
int ingest_change_role_check(change_action action, const cw_role *role, api_error *err);

#endif
