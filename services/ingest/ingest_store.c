#include "ingest/ingest_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/access_rules.h"
#include "log.h"
#include "partition_marks.h"
#include "redis_keys.h"
#include "reference_replay.h"
#include "topics.h"

/* The stream clock only moves forward, whatever order instances write in. */
#define STREAM_CLOCK_SCRIPT                                                                        \
    "local c = tonumber(redis.call('GET', KEYS[1]) or '0') "                                       \
    "if tonumber(ARGV[1]) > c then redis.call('SET', KEYS[1], ARGV[1]) end return 1"

ingest_call ingest_call_single(ingest_ctx *ctx)
{
    /* NULL when out of memory: every command on it then fails as
     * "unavailable". */
    return (ingest_call){.ctx = ctx, .redis = cw_redis_per_thread_get(&ctx->redis)};
}

ingest_call ingest_call_batch(ingest_ctx *ctx, batch_session *session)
{
    ingest_call call = ingest_call_single(ctx);
    call.batch = session;
    return call;
}

void ingest_call_end(ingest_call *call)
{
    if (call->contracts)
        freeReplyObject(call->contracts);
    call->contracts = NULL;
}

/* ---- reads through a batch's copy ---------------------------------------- */

size_t ingest_store_finish(ingest_call *call)
{
    return ingest_batch_session_finish(call->batch, call->ctx->producer, call->redis,
                                       CW_KEY_STREAM_CLOCK, STREAM_CLOCK_SCRIPT);
}

/* A batch line is about to produce what may be read downstream with a key
 * an earlier line changed: everything kept so far is made durable first,
 * Kafka then Redis (batch_session.h). 0, or -1 when it could not. */
static int flush_if_unwritten(ingest_call *call, int unwritten)
{
    if (!unwritten)
        return 0;
    return ingest_batch_session_flush(call->batch, call->ctx->producer, call->redis,
                                      CW_KEY_STREAM_CLOCK, STREAM_CLOCK_SCRIPT) != 0
               ? -1
               : 0;
}

/* HMGETs fields of key into values (at most 10, each INGEST_FIELD_MAX
 * bytes); the hash is found when its first field is (every writer sets all
 * of a row's fields). */
static ingest_lookup load_hash(ingest_call *call, const char *key, const char *const *fields,
                               size_t n, char values[][INGEST_FIELD_MAX])
{
    if (call->batch) {
        int unwritten = 0;
        batch_lookup known =
            ingest_batch_session_lookup_hash(call->batch, key, fields, n, values, &unwritten);
        if (flush_if_unwritten(call, unwritten) != 0)
            return INGEST_UNAVAILABLE;
        if (known != BATCH_NOT_HERE)
            return known == BATCH_FOUND ? INGEST_FOUND : INGEST_MISSING;
    }
    const char *argv[12] = {"HMGET", key};
    for (size_t i = 0; i < n; i++)
        argv[2 + i] = fields[i];
    redisReply *reply = cw_redis_cmd(call->redis, (int)(n + 2), argv);
    if (!reply)
        return INGEST_UNAVAILABLE;
    ingest_lookup rc = INGEST_UNAVAILABLE;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == n) {
        for (size_t i = 0; i < n; i++) {
            const redisReply *e = reply->element[i];
            values[i][0] = '\0';
            if (e->type == REDIS_REPLY_STRING)
                snprintf(values[i], INGEST_FIELD_MAX, "%.*s", (int)e->len, e->str);
        }
        rc = reply->element[0]->type == REDIS_REPLY_STRING ? INGEST_FOUND : INGEST_MISSING;
    }
    freeReplyObject(reply);
    return rc;
}

/* GET of key into buf. */
static ingest_lookup load_string(ingest_call *call, const char *key, char *buf, size_t len)
{
    if (call->batch) {
        int unwritten = 0;
        batch_lookup known =
            ingest_batch_session_lookup_string(call->batch, key, buf, len, &unwritten);
        if (flush_if_unwritten(call, unwritten) != 0)
            return INGEST_UNAVAILABLE;
        if (known != BATCH_NOT_HERE)
            return known == BATCH_FOUND ? INGEST_FOUND : INGEST_MISSING;
    }
    int found = cw_redis_get_string(call->redis, key, buf, len);
    return found < 0 ? INGEST_UNAVAILABLE : found ? INGEST_FOUND : INGEST_MISSING;
}

/* ---- the reference and order hashes ---------------------------------------- */

/* The key of a row (redis_keys.h). */
static void row_key(ingest_row row, const char *id, char key[CW_KEY_MAX])
{
    switch (row) {
    case INGEST_ELDER_ROW: snprintf(key, CW_KEY_MAX, CW_KEY_ELDER, id); return;
    case INGEST_CAREGIVER_ROW: snprintf(key, CW_KEY_MAX, CW_KEY_CAREGIVER, id); return;
    case INGEST_CONTRACT_ROW: snprintf(key, CW_KEY_MAX, CW_KEY_CONTRACT, id); return;
    case INGEST_ORDER_ROW: break;
    }
    snprintf(key, CW_KEY_MAX, CW_KEY_ORDER, id);
}

ingest_lookup ingest_store_order(ingest_call *call, const char *order_id, ingest_order_row *row)
{
    static const char *const fields[] = {"elder_id",     "caregiver_id", "provider_id",
                                         "service_type", "person_id",    "status"};
    char key[CW_KEY_MAX], values[6][INGEST_FIELD_MAX] = {""};
    row_key(INGEST_ORDER_ROW, order_id, key);
    ingest_lookup rc = load_hash(call, key, fields, 6, values);
    memcpy(row->elder_id, values[0], INGEST_FIELD_MAX);
    memcpy(row->caregiver_id, values[1], INGEST_FIELD_MAX);
    memcpy(row->provider_id, values[2], INGEST_FIELD_MAX);
    memcpy(row->service_type, values[3], INGEST_FIELD_MAX);
    memcpy(row->person_id, values[4], INGEST_FIELD_MAX);
    memcpy(row->status, values[5], INGEST_FIELD_MAX);
    return rc;
}

ingest_lookup ingest_store_order_revision(ingest_call *call, const char *order_id,
                                          int *revision)
{
    static const char *const fields[] = {"revision"};
    char key[CW_KEY_MAX], value[1][INGEST_FIELD_MAX] = {""};
    row_key(INGEST_ORDER_ROW, order_id, key);
    ingest_lookup rc = load_hash(call, key, fields, 1, value);
    *revision = rc == INGEST_FOUND ? atoi(value[0]) : 0;
    return rc;
}

ingest_lookup ingest_store_caregiver(ingest_call *call, const char *caregiver_id,
                                     ingest_caregiver_row *row)
{
    static const char *const fields[] = {"provider_id", "certified", "person_id"};
    char key[CW_KEY_MAX], values[3][INGEST_FIELD_MAX] = {""};
    row_key(INGEST_CAREGIVER_ROW, caregiver_id, key);
    ingest_lookup rc = load_hash(call, key, fields, 3, values);
    memcpy(row->provider_id, values[0], INGEST_FIELD_MAX);
    row->certified = strcmp(values[1], "1") == 0;
    memcpy(row->person_id, values[2], INGEST_FIELD_MAX);
    return rc;
}

ingest_lookup ingest_store_elder_street(ingest_call *call, const char *elder_id,
                                        char street_id[INGEST_FIELD_MAX])
{
    static const char *const fields[] = {"street_id"};
    char key[CW_KEY_MAX], value[1][INGEST_FIELD_MAX] = {""};
    row_key(INGEST_ELDER_ROW, elder_id, key);
    ingest_lookup rc = load_hash(call, key, fields, 1, value);
    memcpy(street_id, value[0], INGEST_FIELD_MAX);
    return rc;
}

ingest_lookup ingest_store_contract(ingest_call *call, const char *contract_id,
                                    char provider_id[INGEST_FIELD_MAX],
                                    char historical[INGEST_FIELD_MAX])
{
    static const char *const fields[] = {"provider_id", "historical"};
    char key[CW_KEY_MAX], values[2][INGEST_FIELD_MAX] = {""};
    row_key(INGEST_CONTRACT_ROW, contract_id, key);
    ingest_lookup rc = load_hash(call, key, fields, 2, values);
    memcpy(provider_id, values[0], INGEST_FIELD_MAX);
    memcpy(historical, values[1], INGEST_FIELD_MAX);
    return rc;
}

int ingest_store_contract_cover(ingest_call *call, const char *provider_id, int64_t day,
                                const char *street_id, cw_contract_cover *cover)
{
    if (call->contracts == NULL) {
        char key[CW_KEY_MAX];
        snprintf(key, sizeof(key), CW_KEY_PROVIDER_CONTRACTS, provider_id);
        const char *argv[] = {"HVALS", key};
        redisReply *reply = cw_redis_cmd(call->redis, 2, argv);
        if (!reply)
            return -1;
        if (reply->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(reply);
            return -1;
        }
        call->contracts = reply;
    }
    const redisReply *index = call->contracts;
    const char **entries = malloc((index->elements + 1) * sizeof(*entries));
    if (!entries)
        return -1;
    for (size_t i = 0; i < index->elements; i++)
        entries[i] = index->element[i]->type == REDIS_REPLY_STRING ? index->element[i]->str : NULL;
    *cover = ingest_contracts_cover(entries, index->elements, day, street_id);
    free(entries);
    return 0;
}

ingest_lookup ingest_store_period_known(ingest_call *call, const char *elder_id,
                                        const cw_elder_period *period)
{
    char key[CW_KEY_MAX], field[96];
    if (cw_elder_period_field(period, field, sizeof(field)) != 0)
        return INGEST_UNAVAILABLE;
    snprintf(key, sizeof(key), CW_KEY_ELDER_STATUS, elder_id);
    const char *argv[] = {"HEXISTS", key, field};
    redisReply *reply = cw_redis_cmd(call->redis, 3, argv);
    ingest_lookup rc = reply == NULL || reply->type != REDIS_REPLY_INTEGER ? INGEST_UNAVAILABLE
                       : reply->integer == 1                              ? INGEST_FOUND
                                                                          : INGEST_MISSING;
    if (reply)
        freeReplyObject(reply);
    return rc;
}

/* ---- ingest's own keys ------------------------------------------------------------ */

ingest_lookup ingest_store_request_mark(ingest_call *call, const char *kind, const char *id,
                                        char *buf, size_t len)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), CW_KEY_IDEMPOTENCY, kind, id);
    return load_string(call, key, buf, len);
}

void ingest_store_mark_request(cw_redis_batch *b, const char *kind, const char *id,
                               const char *value)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), CW_KEY_IDEMPOTENCY, kind, id);
    const char *argv[] = {"SET", key, value};
    cw_redis_batch_add(b, 3, argv);
}

int ingest_store_stream_clock(ingest_call *call, int64_t *clock)
{
    if (call->batch) {
        *clock = ingest_batch_session_clock(call->batch);
        return 0;
    }
    char value[32];
    int found = cw_redis_get_string(call->redis, CW_KEY_STREAM_CLOCK, value, sizeof(value));
    if (found < 0)
        return -1;
    *clock = found ? strtoll(value, NULL, 10) : 0;
    return 0;
}

void ingest_store_advance_clock(ingest_call *call, cw_redis_batch *b, int64_t at_ms)
{
    if (!call->ctx->replay_mode)
        return;
    if (call->batch) {
        ingest_batch_session_advance_clock(call->batch, call->line, at_ms);
        return;
    }
    char at[24];
    snprintf(at, sizeof(at), "%" PRId64, at_ms);
    const char *argv[] = {"EVAL", STREAM_CLOCK_SCRIPT, "1", CW_KEY_STREAM_CLOCK, at};
    cw_redis_batch_add(b, 5, argv);
}

#define MAX_CLAIMS 2 /* an evidence's photo and recording */

/* SET NX then GET of each key (at most MAX_CLAIMS), in one round trip. */
static int claim(ingest_call *call, const char *const *keys, size_t n, const char *order_id,
                 char holders[][INGEST_FIELD_MAX])
{
    const char *set[MAX_CLAIMS][4], *get[MAX_CLAIMS][2];
    const char *const *cmds[2 * MAX_CLAIMS] = {NULL};
    int argcs[2 * MAX_CLAIMS] = {0};
    redisReply *replies[2 * MAX_CLAIMS];
    for (size_t i = 0; i < n; i++) {
        set[i][0] = "SET";
        set[i][1] = keys[i];
        set[i][2] = order_id;
        set[i][3] = "NX";
        get[i][0] = "GET";
        get[i][1] = keys[i];
        cmds[2 * i] = set[i];
        argcs[2 * i] = 4;
        cmds[2 * i + 1] = get[i];
        argcs[2 * i + 1] = 2;
    }
    if (cw_redis_pipeline(call->redis, 2 * n, argcs, cmds, replies))
        return -1;
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        const redisReply *held = replies[2 * i + 1];
        if (held->type == REDIS_REPLY_STRING)
            snprintf(holders[i], INGEST_FIELD_MAX, "%.*s", (int)held->len, held->str);
        else
            ok = 0;
    }
    for (size_t i = 0; i < 2 * n; i++)
        freeReplyObject(replies[i]);
    return ok ? 0 : -1;
}

int ingest_store_claim_photo(ingest_call *call, const char *photo_sha256, const char *order_id,
                             char holder[INGEST_FIELD_MAX])
{
    char key[CW_KEY_MAX];
    const char *keys[] = {key};
    snprintf(key, sizeof(key), CW_KEY_PHOTO, photo_sha256);
    return claim(call, keys, 1, order_id, (char(*)[INGEST_FIELD_MAX])holder);
}

int ingest_store_claim_evidence(ingest_call *call, const char *photo_sha256,
                                const char *recording_sha256, const char *order_id,
                                char holders[2][INGEST_FIELD_MAX])
{
    char photo_key[CW_KEY_MAX], recording_key[CW_KEY_MAX];
    const char *keys[] = {photo_key, recording_key};
    snprintf(photo_key, sizeof(photo_key), CW_KEY_EVIDENCE_HASH, photo_sha256);
    snprintf(recording_key, sizeof(recording_key), CW_KEY_EVIDENCE_HASH, recording_sha256);
    return claim(call, keys, 2, order_id, holders);
}

void ingest_store_mark_visited(cw_redis_batch *b, const char *order_id, const char *event_id)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), CW_KEY_VISITED, order_id);
    const char *argv[] = {"SET", key, event_id};
    cw_redis_batch_add(b, 3, argv);
}

/* ---- writing ---------------------------------------------------------------------- */

ingest_write ingest_store_commit(ingest_call *call, cw_redis_batch *b)
{
    if (call->batch)
        return ingest_batch_session_add_writes(call->batch, call->line, b) == 0
                   ? INGEST_WRITTEN
                   : INGEST_WRITE_NO_MEMORY;
    return cw_redis_batch_exec(call->redis, b) == 0 ? INGEST_WRITTEN : INGEST_WRITE_UNAVAILABLE;
}

/* ---- a batch ---------------------------------------------------------------------- */

int ingest_store_want_mark(ingest_call *call, const char *kind, const char *id)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), CW_KEY_IDEMPOTENCY, kind, id);
    return ingest_batch_session_want_string(call->batch, key);
}

int ingest_store_want_row(ingest_call *call, ingest_row row, const char *id)
{
    char key[CW_KEY_MAX];
    row_key(row, id, key);
    return ingest_batch_session_want_hash(call->batch, key);
}

int ingest_store_prefetch(ingest_call *call)
{
    if (call->ctx->replay_mode &&
        ingest_batch_session_want_string(call->batch, CW_KEY_STREAM_CLOCK) != 0)
        return -1;
    if (ingest_batch_session_prefetch(call->batch, call->redis) != 0)
        return -1;
    char clock[32];
    int unwritten;
    if (ingest_batch_session_lookup_string(call->batch, CW_KEY_STREAM_CLOCK, clock,
                                           sizeof(clock), &unwritten) == BATCH_FOUND)
        ingest_batch_session_advance_clock(call->batch, 0, strtoll(clock, NULL, 10));
    return 0;
}
