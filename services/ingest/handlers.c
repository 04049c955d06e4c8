#include "ingest/handlers.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/access_rules.h"
#include "log.h"
#include "timeutil.h"

#define SERVICE_DAY_UTC_OFFSET_MINUTES 480 /* service days are UTC+8 calendar days */

/* ---- records waiting to be produced -------------------------------------- */

void ingest_outbox_free(ingest_outbox *box)
{
    for (size_t i = 0; i < box->count; i++)
        free(box->encoded[i].data);
    box->count = 0;
}

void ingest_outbox_add(ingest_outbox *box, const char *topic, const char *key,
                       encoded_record rec)
{
    size_t i = box->count++;
    box->encoded[i] = rec;
    box->records[i] = (cw_kafka_record){.topic = topic,
                                        .key = key,
                                        .key_len = strlen(key),
                                        .value = rec.data,
                                        .value_len = rec.len};
}

void ingest_outbox_copy(ingest_outbox *box, size_t of, const char *topic, const char *key)
{
    size_t i = box->count++;
    box->encoded[i] = (encoded_record){0};
    box->records[i] = box->records[of];
    box->records[i].topic = topic;
    if (key != NULL) {
        box->records[i].key = key;
        box->records[i].key_len = strlen(key);
    }
}

int ingest_outbox_send(ingest_call *call, ingest_outbox *box, api_error *err)
{
    int rc = call->batch ? ingest_batch_session_add_records(call->batch, call->line, box->records,
                                                            box->count)
                         : cw_producer_send_sync(call->ctx->producer, box->records, box->count);
    ingest_outbox_free(box);
    if (rc && call->batch)
        return ingest_fail(err, 500, "internal", "", "out of memory");
    return rc ? ingest_unavailable(err, "Kafka") : 0;
}

/* ---- answers ----------------------------------------------------------------- */

int ingest_unavailable(api_error *err, const char *what)
{
    return ingest_fail(err, 503, "unavailable", "",
                       "%s is unavailable; nothing was accepted, retry", what);
}

int ingest_encoding_failed(api_error *err, const char *why)
{
    cw_log_error("record encoding failed", "error", why, NULL);
    return ingest_fail(err, 500, "internal", "", "could not encode the record");
}

int ingest_commit(ingest_call *call, cw_redis_batch *b, api_error *err)
{
    switch (ingest_store_commit(call, b)) {
    case INGEST_WRITTEN: return 0;
    case INGEST_WRITE_NO_MEMORY: return ingest_fail(err, 500, "internal", "", "out of memory");
    case INGEST_WRITE_UNAVAILABLE: break;
    }
    return ingest_unavailable(err, "Redis");
}

int ingest_send_then_commit(ingest_call *call, ingest_outbox *box, cw_redis_batch *b,
                            api_error *err)
{
    if (ingest_outbox_send(call, box, err)) {
        cw_redis_batch_clear(b);
        return -1;
    }
    return ingest_commit(call, b, err);
}

int ingest_publish(ingest_call *call, ingest_outbox *box, int written, cw_redis_batch *b,
                   const char *kind, const char *id, const char *hash, api_error *err)
{
    if (written != 0) {
        ingest_outbox_free(box);
        cw_redis_batch_clear(b);
        return ingest_encoding_failed(err, "the record does not fit its Redis hash");
    }
    ingest_store_mark_request(b, kind, id, hash);
    return ingest_send_then_commit(call, box, b, err);
}

int ingest_check_rebuilding(ingest_ctx *ctx, api_error *err)
{
    if (atomic_load(&ctx->rebuilding))
        return ingest_unavailable(err, "Redis (being rebuilt from Kafka)");
    return 0;
}

int ingest_check_path(const char *id, const char *field, const char *noun, json_t *body,
                      api_error *err)
{
    if (!cw_id_is_valid(id))
        return ingest_fail(err, 400, "invalid_id", field, "invalid %s id in path", noun);
    if (!json_is_object(body))
        return ingest_fail(err, 400, "invalid_json", "", "the body must be a JSON object");
    return 0;
}

/* ---- idempotency -------------------------------------------------------- */

void ingest_content_hash(json_t *body, char hex[65])
{
    unsigned char digest[32];
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    SHA256((const unsigned char *)(text ? text : ""), text ? strlen(text) : 0, digest);
    free(text);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

idem_step ingest_resolve_idempotency(ingest_call *call, const char *kind, const char *id,
                                     const char *hash, int updates_allowed, ingest_outcome *out,
                                     api_error *err)
{
    char stored[80];
    ingest_lookup mark = ingest_store_request_mark(call, kind, id, stored, sizeof(stored));
    if (mark == INGEST_UNAVAILABLE) {
        ingest_unavailable(err, call->batch ? "Kafka or Redis" : "Redis");
        return IDEM_FAILED;
    }
    snprintf(out->id, sizeof(out->id), "%s", id);
    if (mark == INGEST_FOUND && strcmp(stored, hash) == 0) {
        out->duplicate = 1;
        return IDEM_ANSWERED;
    }
    if (mark == INGEST_FOUND && !updates_allowed) {
        ingest_fail(err, 409, "conflict", "", "%s %s was already accepted with different content",
                    kind, id);
        return IDEM_FAILED;
    }
    return IDEM_GO_ON;
}

/* ---- time and the provider's rights --------------------------------------------- */

int ingest_receipt_time(ingest_call *call, int64_t at_ms, int64_t *received, api_error *err)
{
    if (!call->ctx->replay_mode) {
        *received = call->ctx->now_ms();
        if (at_ms - *received > call->ctx->clock_skew_ms)
            return ingest_fail(err, 400, "clock_skew", "at",
                               "at is more than %lld minutes in the future",
                               (long long)(call->ctx->clock_skew_ms / 60000));
        return 0;
    }
    int64_t stream_clock;
    if (ingest_store_stream_clock(call, &stream_clock) != 0)
        return ingest_unavailable(err, "Redis");
    *received = stream_clock > at_ms ? stream_clock : at_ms;
    return 0;
}

int ingest_check_namespace(const cw_role *role, const char *field, const char *id,
                           api_error *err)
{
    if (role->kind != CW_ROLE_PROVIDER || ingest_id_in_namespace(role->provider_id, id))
        return 0;
    return ingest_fail(err, 403, "id_namespace", field, "%s must begin with \"%s:\" for this key",
                       field, role->provider_id);
}

/* An elder of a street none of the provider's contracts serves answers
 * exactly as an unregistered one. */
int ingest_check_contract_cover(ingest_call *call, const cw_role *role,
                                int64_t scheduled_start_ms, const char *elder_id,
                                const char *street_id, api_error *err)
{
    if (role->kind != CW_ROLE_PROVIDER)
        return 0;
    int64_t day = cw_service_day(scheduled_start_ms, SERVICE_DAY_UTC_OFFSET_MINUTES);
    cw_contract_cover cover;
    if (ingest_store_contract_cover(call, role->provider_id, day, street_id, &cover) != 0)
        return ingest_unavailable(err, "Redis");
    if (cover == CW_COVER_SERVED)
        return 0;
    if (cover == CW_COVER_OTHER_STREET)
        return ingest_fail(err, 422, "unknown_elder", "elder_id", "elder %s is not registered",
                           elder_id);
    char date[16];
    cw_date_format(day, date, sizeof(date));
    return ingest_fail(err, 422, "no_contract", "scheduled_start",
                       "provider %s has no contract for service day %s", role->provider_id,
                       date);
}
