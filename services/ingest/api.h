/* ingest's request handling: validation, authorization, idempotency, intake
 * checks, publishing and Redis upkeep for each endpoint of docs/design.md §3.
 *
 * A request is answered "accepted" only after Kafka acknowledged every
 * record it produced and Redis holds the state it changed; Kafka is written
 * before Redis so that a failure leaves at most records that a retry of the
 * same request reproduces byte for byte under the same ids.
 *
 * Requests run on many threads at once (one per connection): each
 * thread has its own Redis connection, the producer is shared. */
#ifndef INGEST_API_H
#define INGEST_API_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "api_error.h"
#include "auth.h"
#include "change_rules.h"
#include "intake_rules.h"
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
} api_outcome;

/* "elder", "caregiver", "contract", "order", "check-in", "check-out",
 * "evidence". 0 or -1. */
int request_type_from_name(const char *name, request_type *out);

/* Sets up the locks and the per-thread Redis; the other fields are the
 * caller's. 0 or -1. ingest_ctx_destroy after the server stopped. */
int ingest_ctx_init(ingest_ctx *ctx, const cw_config *cfg);
void ingest_ctx_destroy(ingest_ctx *ctx);

/* Whether role may post records of this type at all: reference data needs
 * registry, importer or admin; orders and visits a provider, the importer
 * or an admin (not the registry, a street office or the command).
 * 0, or -1 with a 403 in err. (A provider's own orders are checked per
 * record.) Used from the headers (routes.c) and per batch line. */
int request_role_check(request_type type, const cw_role *role, api_error *err);

int ingest_submit(ingest_ctx *ctx, request_type type, json_t *body, const cw_role *role,
                  api_outcome *out, api_error *err);
int ingest_unfreeze(ingest_ctx *ctx, const char *caregiver_id, json_t *body,
                    const cw_role *role, api_outcome *out, api_error *err);
/* POST /v1/elders/{id}/status: a period of the elder's availability
 * (elder_status.h) onto ref.elder_status and into Redis. The same period
 * again answers as a duplicate. */
int ingest_elder_status(ingest_ctx *ctx, const char *elder_id, json_t *body,
                        const cw_role *role, api_outcome *out, api_error *err);

/* POST /v1/orders/{id}/cancel, /reschedule, /reassign and /approve-change
 * (changes.c, docs/maintenance.md): out->id is the change's id and
 * out->state what became of it. */
int ingest_order_change(ingest_ctx *ctx, change_action action, const char *order_id, json_t *body,
                        const cw_role *role, api_outcome *out, api_error *err);
/* Whether role may ask for (or approve) a change at all, from the headers:
 * a provider, the importer or an admin asks; a street office (or an admin)
 * approves. 0, or -1 with a 403 in err. */
int ingest_change_role_check(change_action action, const cw_role *role, api_error *err);

/* NDJSON batch (batch.c): each line {"type": ..., fields...}. Returns the
 * response document (caller decrefs): the counts, the failed lines (at most
 * max_batch_failures of them, the rest counted in failures_omitted) and
 * resume_line. Sets *status: 200, or 503 when Kafka or Redis failed part
 * way (lines before resume_line are final; it and the lines after it are
 * not: the failed ones reported 503, the untried ones "not_processed"), or
 * 413 when it has more than max_batch_lines lines (none handled). */
json_t *ingest_post_batch(ingest_ctx *ctx, const char *data, size_t len, const cw_role *role,
                          int *status);

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
                        const cw_role *role, api_outcome *out, api_error *err);
size_t ingest_batch_finish(ingest_batch *b);
void ingest_batch_end(ingest_batch *b);

#endif
