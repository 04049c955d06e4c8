/* ingest's request handling: validation, authorization, idempotency, intake
 * checks, publishing and Redis upkeep for each endpoint of DESIGN.md 3.
 *
 * A request is answered "accepted" only after Kafka acknowledged every
 * record it produced and Redis holds the state it changed; Kafka is written
 * before Redis so that a failure leaves at most records that a retry of the
 * same request reproduces byte for byte under the same ids. */
#ifndef INGEST_API_H
#define INGEST_API_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "api_error.h"
#include "auth.h"
#include "intake_rules.h"
#include "kafka.h"
#include "redis.h"

typedef struct {
    cw_producer *producer;
    cw_redis *redis;
    auth_table auth;
    intake_thresholds thresholds;
    int replay_mode;       /* time.mode: replay */
    int64_t clock_skew_ms; /* live mode: events further ahead are rejected */
    int64_t (*now_ms)(void);
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
    char id[72];
} api_outcome;

/* "elder", "caregiver", "contract", "order", "check-in", "check-out",
 * "evidence". 0 or -1. */
int request_type_from_name(const char *name, request_type *out);

int ingest_submit(ingest_ctx *ctx, request_type type, json_t *body, const auth_role *role,
                  api_outcome *out, api_error *err);
int ingest_unfreeze(ingest_ctx *ctx, const char *caregiver_id, json_t *body,
                    const auth_role *role, api_outcome *out, api_error *err);

/* NDJSON batch: each line {"type": ..., fields...}. Returns the response
 * document (caller decrefs) and sets *status: 200, or 503 when Kafka or Redis
 * failed part way (lines before it are done, lines after it untouched and
 * reported as "not_processed"). */
json_t *ingest_batch(ingest_ctx *ctx, const char *data, size_t len, const auth_role *role,
                     int *status);

#endif
