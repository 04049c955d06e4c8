#include "api.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_rules.h"
#include "api_internal.h"
#include "batch_session.h"
#include "elder_status.h"
#include "json_fields.h"
#include "log.h"
#include "records.h"
#include "redis_keys.h"
#include "requests.h"
#include "state.h"
#include "timeutil.h"
#include "topics.h"


static const char *const request_names[] = {"elder",    "caregiver", "contract", "order",
                                            "check-in", "check-out", "evidence"};

int request_type_from_name(const char *name, request_type *out)
{
    for (size_t i = 0; i < sizeof(request_names) / sizeof(request_names[0]); i++) {
        if (strcmp(name, request_names[i]) == 0) {
            *out = (request_type)i;
            return 0;
        }
    }
    return -1;
}

int ingest_ctx_init(ingest_ctx *ctx, const cw_config *cfg)
{
    for (int i = 0; i < ID_LOCK_STRIPES; i++)
        pthread_mutex_init(&ctx->id_locks[i], NULL);
    return cw_redis_per_thread_init(&ctx->redis, cfg);
}

void ingest_ctx_destroy(ingest_ctx *ctx)
{
    cw_redis_per_thread_destroy(&ctx->redis);
    for (int i = 0; i < ID_LOCK_STRIPES; i++)
        pthread_mutex_destroy(&ctx->id_locks[i]);
}


api_call api_single_call(ingest_ctx *ctx)
{
    /* NULL when out of memory: every command on it then fails as
     * "unavailable". */
    return (api_call){.ctx = ctx, .redis = cw_redis_per_thread_get(&ctx->redis)};
}

pthread_mutex_t *api_id_lock(ingest_ctx *ctx, const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &ctx->id_locks[h % ID_LOCK_STRIPES];
}

int api_unavailable(api_error *err, const char *what)
{
    return api_fail(err, 503, "unavailable", "", "%s is unavailable; nothing was accepted, retry",
                    what);
}

#define STREAM_CLOCK_SCRIPT                                                                        \
    "local c = tonumber(redis.call('GET', KEYS[1]) or '0') "                                       \
    "if tonumber(ARGV[1]) > c then redis.call('SET', KEYS[1], ARGV[1]) end return 1"

/* ---- records waiting to be produced -------------------------------------- */


void api_outbox_free(outbox *box)
{
    for (size_t i = 0; i < box->count; i++)
        free(box->encoded[i].data);
    box->count = 0;
}

/* Takes ownership of rec->data. */
void api_outbox_add(outbox *box, const char *topic, const char *key, encoded_record rec)
{
    size_t i = box->count++;
    box->encoded[i] = rec;
    box->records[i] = (cw_kafka_record){.topic = topic,
                                        .key = key,
                                        .key_len = strlen(key),
                                        .value = rec.data,
                                        .value_len = rec.len};
}

/* The record added last, once more to another topic (same bytes, owned
 * by its first entry). */
void api_outbox_add_again(outbox *box, const char *topic)
{
    size_t i = box->count++;
    box->encoded[i] = (encoded_record){0};
    box->records[i] = box->records[i - 1];
    box->records[i].topic = topic;
}

/* A batch's line keeps its records for the batch's one send. */
int api_outbox_send(api_call *call, outbox *box, api_error *err)
{
    int rc = call->batch
                 ? batch_session_add_records(call->batch, call->line, box->records, box->count)
                 : cw_producer_send_sync(call->ctx->producer, box->records, box->count);
    api_outbox_free(box);
    if (rc && call->batch)
        return api_fail(err, 500, "internal", "", "out of memory");
    return rc ? api_unavailable(err, "Kafka") : 0;
}

int api_encoding_failed(api_error *err, const char *why)
{
    cw_log_error("record encoding failed", "error", why, NULL);
    return api_fail(err, 500, "internal", "", "could not encode the record");
}

/* ---- Redis lookups ------------------------------------------------------ */

/* A batch's line is about to produce what may be read downstream with a
 * key an earlier line changed: everything kept so far is made durable
 * first, Kafka then Redis (batch_session.h). 0, or -1 when it could not. */
static int flush_batch(api_call *call)
{
    return batch_session_flush(call->batch, call->ctx->producer, call->redis,
                               CW_KEY_STREAM_CLOCK, STREAM_CLOCK_SCRIPT) == 0
               ? 0
               : -1;
}

/* HMGETs fields of key into values (each at most 128 bytes). Returns 1 when
 * the hash exists, 0 when it does not, -1 when Redis is unreachable. */
int api_load_hash(api_call *call, const char *key, const char *const *fields, size_t n,
                     char values[][128])
{
    if (call->batch) {
        int unwritten = 0;
        int known = batch_session_lookup_hash(call->batch, key, fields, n, values, &unwritten);
        if (unwritten && flush_batch(call) != 0)
            return -1;
        if (known != 2)
            return known;
    }
    const char *argv[12] = {"HMGET", key};
    for (size_t i = 0; i < n; i++)
        argv[2 + i] = fields[i];
    redisReply *reply = cw_redis_cmd(call->redis, (int)(n + 2), argv);
    if (!reply)
        return -1;
    int found = reply->type == REDIS_REPLY_ARRAY && reply->elements == n;
    for (size_t i = 0; found && i < n; i++) {
        redisReply *e = reply->element[i];
        values[i][0] = '\0';
        if (e->type == REDIS_REPLY_STRING)
            snprintf(values[i], 128, "%.*s", (int)e->len, e->str);
        else if (i == 0)
            found = 0; /* the first field is always written: nil means no hash */
    }
    int rc = reply->type == REDIS_REPLY_ERROR ? -1 : found;
    freeReplyObject(reply);
    return rc;
}

typedef struct {
    char elder_id[128], caregiver_id[128], provider_id[128], service_type[128];
    char person_id[128]; /* "" when the caregiver has none */
    char status[128];    /* "CANCELLED" once a cancel took effect, else "" */
} order_row;

/* The key of the order's records on visit.events: the person when the
 * caregiver has one (cw_order_stream_key). */
static const char *stream_key(const order_row *row)
{
    return row->person_id[0] ? row->person_id : row->caregiver_id;
}

static int load_order(api_call *call, const char *order_id, order_row *row, api_error *err)
{
    static const char *const fields[] = {"elder_id",  "caregiver_id", "provider_id",
                                         "service_type", "person_id", "status"};
    char key[CW_KEY_MAX], values[6][128];
    snprintf(key, sizeof(key), CW_KEY_ORDER, order_id);
    int found = api_load_hash(call, key, fields, 6, values);
    if (found < 0)
        return api_unavailable(err, "Redis");
    if (!found)
        return api_fail(err, 404, "unknown_order", "order_id", "order %s is not known", order_id);
    memcpy(row->elder_id, values[0], 128);
    memcpy(row->caregiver_id, values[1], 128);
    memcpy(row->provider_id, values[2], 128);
    memcpy(row->service_type, values[3], 128);
    memcpy(row->person_id, values[4], 128);
    memcpy(row->status, values[5], 128);
    return 0;
}

/* An order the role may act on. Another provider's order answers exactly
 * as a missing one: a provider learns nothing of orders not its own. */
static int load_own_order(api_call *call, const cw_role *role, const char *order_id,
                          order_row *row, api_error *err)
{
    if (load_order(call, order_id, row, err))
        return -1;
    if (!auth_may_act_for_provider(role, row->provider_id))
        return api_fail(err, 404, "unknown_order", "order_id", "order %s is not known", order_id);
    return 0;
}

/* ---- what a provider key may create (access_rules.h) ---------------------- */

#define SERVICE_DAY_UTC_OFFSET_MINUTES 480 /* service days are UTC+8 calendar days */

/* A provider key's order and event ids begin with "<provider_id>:". The
 * answer depends on the id's text only: it says nothing of whether the id
 * is taken. */
static int check_namespace(const cw_role *role, const char *field, const char *id,
                           api_error *err)
{
    if (role->kind != CW_ROLE_PROVIDER || access_id_in_namespace(role->provider_id, id))
        return 0;
    return api_fail(err, 403, "id_namespace", field, "%s must begin with \"%s:\" for this key",
                    field, role->provider_id);
}

/* What the provider's contracts say of street on day, or -1 when Redis is
 * unreachable. The index is read once per request or batch, from Redis
 * even in a batch: a provider key posts no contracts, so no line of its
 * batch changes the index. */
static int load_cover(api_call *call, const char *provider_id, int64_t day, const char *street,
                      contract_cover *cover)
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
    *cover = access_contracts_cover(entries, index->elements, day, street);
    free(entries);
    return 0;
}

void api_end_call(api_call *call)
{
    if (call->contracts)
        freeReplyObject(call->contracts);
    call->contracts = NULL;
}

/* A provider key orders only for elders its contracts serve on the order's
 * service day. An elder of a street none of them serves answers exactly as
 * an unregistered one. */
int api_check_contract_cover(api_call *call, const cw_role *role, int64_t scheduled_start_ms,
                             const char *elder_id, const char *street_id, api_error *err)
{
    if (role->kind != CW_ROLE_PROVIDER)
        return 0;
    int64_t day = cw_service_day(scheduled_start_ms, SERVICE_DAY_UTC_OFFSET_MINUTES);
    contract_cover cover;
    if (load_cover(call, role->provider_id, day, street_id, &cover))
        return api_unavailable(err, "Redis");
    if (cover == COVER_SERVED)
        return 0;
    if (cover == COVER_OTHER_STREET)
        return api_fail(err, 422, "unknown_elder", "elder_id", "elder %s is not registered",
                        elder_id);
    char date[16];
    cw_date_format(day, date, sizeof(date));
    return api_fail(err, 422, "no_contract", "scheduled_start",
                    "provider %s has no contract for service day %s", role->provider_id, date);
}

/* Rights follow the caregiver: once a caregiver works for another provider,
 * the old provider's key may no longer check them in or out (the order is
 * to be reassigned). */
static int check_caregiver_current(api_call *call, const cw_role *role,
                                   const char *caregiver_id, api_error *err)
{
    static const char *const fields[] = {"provider_id"};
    if (role->kind != CW_ROLE_PROVIDER)
        return 0;
    char key[CW_KEY_MAX], provider[1][128];
    snprintf(key, sizeof(key), CW_KEY_CAREGIVER, caregiver_id);
    int found = api_load_hash(call, key, fields, 1, provider);
    if (found < 0)
        return api_unavailable(err, "Redis");
    if (found && strcmp(provider[0], role->provider_id) == 0)
        return 0;
    return api_fail(err, 403, "caregiver_moved", "caregiver_id",
                    "caregiver %s no longer works for provider %s: reassign the order",
                    caregiver_id, role->provider_id);
}

/* ---- idempotency -------------------------------------------------------- */

void api_content_hash(json_t *body, char hex[65])
{
    unsigned char digest[32];
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    SHA256((const unsigned char *)(text ? text : ""), text ? strlen(text) : 0, digest);
    free(text);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

typedef enum { IDEM_NEW, IDEM_DUPLICATE, IDEM_CONFLICT } idem_state;

static int idempotency_check(api_call *call, const char *kind, const char *id, const char *hash,
                             idem_state *state, api_error *err)
{
    char key[CW_KEY_MAX], stored[80];
    snprintf(key, sizeof(key), CW_KEY_IDEMPOTENCY, kind, id);
    int found = 2;
    if (call->batch) {
        int unwritten = 0;
        found = batch_session_lookup_string(call->batch, key, stored, sizeof(stored), &unwritten);
        if (unwritten && flush_batch(call) != 0)
            return api_unavailable(err, "Kafka or Redis");
    }
    if (found == 2)
        found = cw_redis_get_string(call->redis, key, stored, sizeof(stored));
    if (found < 0)
        return api_unavailable(err, "Redis");
    *state = !found ? IDEM_NEW : strcmp(stored, hash) == 0 ? IDEM_DUPLICATE : IDEM_CONFLICT;
    return 0;
}

static void idempotency_record(cw_redis_batch *b, const char *kind, const char *id,
                               const char *hash)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), CW_KEY_IDEMPOTENCY, kind, id);
    const char *argv[] = {"SET", key, hash};
    cw_redis_batch_add(b, 3, argv);
}

/* Resolves the idempotency state into an early answer. Returns 1 when the
 * request is finished (duplicate), -1 on conflict or failure, 0 to go on. */
static int resolve_idempotency(api_call *call, const char *kind, const char *id,
                               const char *hash, int updates_allowed, api_outcome *out,
                               api_error *err)
{
    idem_state state = IDEM_NEW;
    if (idempotency_check(call, kind, id, hash, &state, err))
        return -1;
    snprintf(out->id, sizeof(out->id), "%s", id);
    if (state == IDEM_DUPLICATE) {
        out->duplicate = 1;
        return 1;
    }
    if (state == IDEM_CONFLICT && !updates_allowed)
        return api_fail(err, 409, "conflict", "",
                        "%s %s was already accepted with different content", kind, id);
    return 0;
}

/* A batch's line keeps its writes for after the batch's records were
 * acknowledged (and its later lines see them at once). */
int api_redis_commit(api_call *call, cw_redis_batch *b, api_error *err)
{
    if (call->batch)
        return batch_session_add_writes(call->batch, call->line, b)
                   ? api_fail(err, 500, "internal", "", "out of memory")
                   : 0;
    return cw_redis_batch_exec(call->redis, b) ? api_unavailable(err, "Redis") : 0;
}

/* ---- reference data ------------------------------------------------------ */

void api_fmt_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%lld", (long long)v);
}

static int submit_elder(api_call *call, json_t *body, const char *hash, api_outcome *out,
                        api_error *err)
{
    elder_req r;
    char e[256];
    if (parse_elder(body, &r, err))
        return -1;
    int early = resolve_idempotency(call, "elder", r.elder_id, hash, 1, out, err);
    if (early)
        return early > 0 ? 0 : -1;
    encoded_record rec;
    if (record_elder(&r, call->ctx->now_ms(), &rec, e, sizeof(e)))
        return api_encoding_failed(err, e);
    outbox box = {0};
    api_outbox_add(&box, CW_TOPIC_ELDERS, r.elder_id, rec);
    if (api_outbox_send(call, &box, err))
        return -1;
    char key[CW_KEY_MAX], lat[32], lon[32], visits[24], minutes[24], geofence[24] = "";
    snprintf(key, sizeof(key), CW_KEY_ELDER, r.elder_id);
    snprintf(lat, sizeof(lat), "%.9f", r.lat);
    snprintf(lon, sizeof(lon), "%.9f", r.lon);
    api_fmt_i64(visits, sizeof(visits), r.visits_per_month);
    api_fmt_i64(minutes, sizeof(minutes), r.minutes_per_visit);
    if (r.has_geofence)
        api_fmt_i64(geofence, sizeof(geofence), r.geofence_radius_m);
    /* "" clears an earlier version's radius. */
    const char *argv[] = {"HSET",     key,     "street_id", r.street_id, "community_id",
                          r.community_id, "lat", lat, "lon", lon, "crs", crs_name(r.crs),
                          "visits_per_month", visits, "minutes_per_visit", minutes,
                          "geofence_m", geofence};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    idempotency_record(&b, "elder", r.elder_id, hash);
    return api_redis_commit(call, &b, err);
}

static int submit_caregiver(api_call *call, json_t *body, const char *hash, api_outcome *out,
                            api_error *err)
{
    static const char *const held_fields[] = {"provider_id", "person_id"};
    caregiver_req r;
    char e[256], key[CW_KEY_MAX], held[2][128];
    if (parse_caregiver(body, &r, err))
        return -1;
    int early = resolve_idempotency(call, "caregiver", r.caregiver_id, hash, 1, out, err);
    if (early)
        return early > 0 ? 0 : -1;
    /* The person behind a registration never changes: it decides which
     * partition the caregiver's records go to (cw_order_stream_key), and a
     * caregiver's stream must stay in one. */
    snprintf(key, sizeof(key), CW_KEY_CAREGIVER, r.caregiver_id);
    int found = api_load_hash(call, key, held_fields, 2, held);
    if (found < 0)
        return api_unavailable(err, "Redis");
    if (found && strcmp(held[1], r.person_id ? r.person_id : "") != 0)
        return api_fail(err, 409, "person_fixed", "person_id",
                        "caregiver %s is registered with %s person_id: it cannot change",
                        r.caregiver_id, held[1][0] ? "another" : "no");
    encoded_record rec;
    if (record_caregiver(&r, call->ctx->now_ms(), &rec, e, sizeof(e)))
        return api_encoding_failed(err, e);
    outbox box = {0};
    api_outbox_add(&box, CW_TOPIC_CAREGIVERS, r.caregiver_id, rec);
    if (api_outbox_send(call, &box, err))
        return -1;
    const char *argv[] = {"HSET",      key,
                          "provider_id", r.provider_id,
                          "certified", r.certified ? "1" : "0",
                          "level",     r.level ? r.level : "",
                          "person_id", r.person_id ? r.person_id : ""};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 10, argv);
    idempotency_record(&b, "caregiver", r.caregiver_id, hash);
    return api_redis_commit(call, &b, err);
}

/* Whether a new version would change a contract's historical flag, as its
 * hash keeps it: the payment-scheduler can neither take back a PREPAY nor
 * reopen a historical period it has closed (payment_state.h). "" (a hash
 * written before the flag was kept, or rebuilt from ref.contracts, which
 * does not keep it) is unknown and not checked. */
static int historical_changes(const char *held, int historical)
{
    return held[0] != '\0' && (strcmp(held, "1") == 0) != (historical != 0);
}

static int submit_contract(api_call *call, json_t *body, const char *hash, api_outcome *out,
                           api_error *err)
{
    static const char *const contract_fields[] = {"provider_id", "historical"};
    contract_req r;
    char key[CW_KEY_MAX], held_by[2][128], e[256];
    if (parse_contract(body, &r, err))
        return -1;
    cw_contract_row row = {.contract_id = r.contract_id,
                           .provider_id = r.provider_id,
                           .period_start = r.period_start,
                           .period_end = r.period_end,
                           .period_start_day = r.period_start_day,
                           .period_end_day = r.period_end_day,
                           .budget_cents = r.budget_cents,
                           .unit_price_cents = r.unit_price_cents,
                           .prepay_ratio_ppm = r.prepay_ratio_ppm,
                           .invalid_deduction_cents = r.invalid_deduction_cents,
                           .publication_lag_days = r.publication_lag_days,
                           .street_ids = r.street_ids,
                           .street_count = r.street_count};
    char cover[CW_CONTRACT_COVER_MAX];
    if (cw_contract_cover_entry(&row, cover, sizeof(cover)))
        return api_fail(err, 400, "out_of_range", "street_ids",
                        "street_ids are too long together (at most %d bytes)",
                        CW_CONTRACT_COVER_MAX - 48);
    snprintf(key, sizeof(key), CW_KEY_CONTRACT, r.contract_id);
    int found = api_load_hash(call, key, contract_fields, 2, held_by);
    if (found < 0)
        return api_unavailable(err, "Redis");
    int early = resolve_idempotency(call, "contract", r.contract_id, hash, 1, out, err);
    if (early)
        return early > 0 ? 0 : -1;
    /* The old provider's contract index would keep the contract. */
    if (found && strcmp(held_by[0], r.provider_id) != 0)
        return api_fail(err, 409, "conflict", "provider_id",
                        "contract %s belongs to another provider; a contract's provider does "
                        "not change: register a new contract",
                        r.contract_id);
    if (found && historical_changes(held_by[1], r.historical))
        return api_fail(err, 409, "conflict", "historical",
                        "contract %s was registered %s historical; a contract's historical flag "
                        "does not change: register a new contract",
                        r.contract_id, r.historical ? "as not" : "as");
    encoded_record rec;
    if (record_contract(&r, call->ctx->now_ms(), &rec, e, sizeof(e)))
        return api_encoding_failed(err, e);
    outbox box = {0};
    api_outbox_add(&box, CW_TOPIC_CONTRACTS, r.contract_id, rec);
    if (api_outbox_send(call, &box, err))
        return -1;
    cw_redis_batch b = {0};
    cw_state_write_contract(&b, &row);
    const char *flag_argv[] = {"HSET", key, "historical", r.historical ? "1" : "0"};
    cw_redis_batch_add(&b, 4, flag_argv);
    idempotency_record(&b, "contract", r.contract_id, hash);
    return api_redis_commit(call, &b, err);
}

/* ---- orders --------------------------------------------------------------- */

static int submit_order(api_call *call, json_t *body, const char *hash, const cw_role *role,
                        api_outcome *out, api_error *err)
{
    static const char *const elder_fields[] = {"street_id", "community_id"};
    static const char *const caregiver_fields[] = {"provider_id", "certified", "person_id"};
    order_req r;
    char key[CW_KEY_MAX], elder[2][128], caregiver[3][128], e[256];
    if (parse_order(body, &r, err) || check_namespace(role, "order_id", r.order_id, err))
        return -1;
    snprintf(key, sizeof(key), CW_KEY_ELDER, r.elder_id);
    int found = api_load_hash(call, key, elder_fields, 2, elder);
    if (found < 0)
        return api_unavailable(err, "Redis");
    if (!found)
        return api_fail(err, 422, "unknown_elder", "elder_id", "elder %s is not registered",
                        r.elder_id);
    snprintf(key, sizeof(key), CW_KEY_CAREGIVER, r.caregiver_id);
    found = api_load_hash(call, key, caregiver_fields, 3, caregiver);
    if (found < 0)
        return api_unavailable(err, "Redis");
    if (!found)
        return api_fail(err, 422, "unknown_caregiver", "caregiver_id",
                        "caregiver %s is not registered", r.caregiver_id);
    /* Another provider's caregiver answers as an unknown one. */
    if (!auth_may_act_for_provider(role, caregiver[0]))
        return api_fail(err, 422, "unknown_caregiver", "caregiver_id",
                        "caregiver %s is not registered", r.caregiver_id);
    if (api_check_contract_cover(call, role, r.scheduled_start_ms, r.elder_id, elder[0],
                                 err))
        return -1;
    int early = resolve_idempotency(call, "order", r.order_id, hash, 0, out, err);
    if (early)
        return early > 0 ? 0 : -1;
    /* An order a change has revised (its idempotency mark lost with Redis,
     * the order rebuilt at its latest revision) is not assigned anew: that
     * would undo the change. */
    static const char *const revision_field[] = {"revision"};
    char revision[1][128];
    snprintf(key, sizeof(key), CW_KEY_ORDER, r.order_id);
    found = api_load_hash(call, key, revision_field, 1, revision);
    if (found < 0)
        return api_unavailable(err, "Redis");
    if (found && atoi(revision[0]) > 0)
        return api_fail(err, 409, "order_changed", "order_id",
                        "order %s was changed (revision %s): its assignment is not posted again",
                        r.order_id, revision[0]);
    encoded_record rec;
    int certified = strcmp(caregiver[1], "1") == 0;
    const char *person = caregiver[2][0] ? caregiver[2] : NULL;
    if (record_order(&r, caregiver[0], certified, person, call->ctx->now_ms(), &rec, e,
                     sizeof(e)))
        return api_encoding_failed(err, e);
    /* Also into the caregiver's partition of visit.events: the
     * overlap-detector reads assignments and visit events there as one
     * stream in posting order, so a freeze that an assignment causes
     * precedes exactly the events posted after it. */
    outbox box = {0};
    /* Keyed by the person (cw_order_stream_key): one partition holds every
     * registration of one person, so their overlaps are judged in order. */
    api_outbox_add(&box, CW_TOPIC_ORDERS_ASSIGNED, person ? person : r.caregiver_id, rec);
    api_outbox_add_again(&box, CW_TOPIC_VISIT_EVENTS);
    if (api_outbox_send(call, &box, err))
        return -1;
    char start[24], minutes[24];
    api_fmt_i64(start, sizeof(start), r.scheduled_start_ms);
    api_fmt_i64(minutes, sizeof(minutes), r.scheduled_minutes);
    snprintf(key, sizeof(key), CW_KEY_ORDER, r.order_id);
    const char *argv[] = {"HSET",         key,        "elder_id",        r.elder_id,
                          "caregiver_id", r.caregiver_id, "provider_id", caregiver[0],
                          "service_type", r.service_type, "scheduled_start", start,
                          "scheduled_minutes", minutes, "street_id", elder[0],
                          "community_id", elder[1], "person_id", caregiver[2]};
    /* Revision 0, not cancelled (docs/maintenance.md), as
     * cw_state_store_order writes them. */
    const char *revision_argv[] = {"HSET", key, "revision", "0", "status", ""};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    cw_redis_batch_add(&b, 6, revision_argv);
    idempotency_record(&b, "order", r.order_id, hash);
    return api_redis_commit(call, &b, err);
}

/* ---- visit events ------------------------------------------------------- */

/* Receipt time: the wall clock live; in replay, the stream clock (largest
 * event time accepted so far, this event's included). */
int api_receipt_time(api_call *call, int64_t at_ms, int64_t *received, api_error *err)
{
    if (!call->ctx->replay_mode) {
        *received = call->ctx->now_ms();
        if (at_ms - *received > call->ctx->clock_skew_ms)
            return api_fail(err, 400, "clock_skew", "at",
                            "at is more than %lld minutes in the future",
                            (long long)(call->ctx->clock_skew_ms / 60000));
        return 0;
    }
    char clock[32];
    int64_t stream_clock = 0;
    if (call->batch) {
        stream_clock = batch_session_clock(call->batch);
    } else {
        int found = cw_redis_get_string(call->redis, CW_KEY_STREAM_CLOCK, clock, sizeof(clock));
        if (found < 0)
            return api_unavailable(err, "Redis");
        stream_clock = found ? strtoll(clock, NULL, 10) : 0;
    }
    *received = stream_clock > at_ms ? stream_clock : at_ms;
    return 0;
}

/* The stream clock only moves forward, whatever order instances write in. */
static void advance_stream_clock(api_call *call, cw_redis_batch *b, int64_t at_ms)
{
    if (!call->ctx->replay_mode)
        return;
    if (call->batch) {
        batch_session_advance_clock(call->batch, call->line, at_ms);
        return;
    }
    char at[24];
    api_fmt_i64(at, sizeof(at), at_ms);
    const char *argv[] = {"EVAL", STREAM_CLOCK_SCRIPT, "1", CW_KEY_STREAM_CLOCK, at};
    cw_redis_batch_add(b, 5, argv);
}

#define MAX_CLAIMS 2 /* an evidence's photo and recording */

/* Claims n (<= MAX_CLAIMS) photo or recording hashes for this order in one
 * round trip (first use wins: SET NX of each key, CW_KEY_PHOTO or
 * CW_KEY_EVIDENCE_HASH) and reports which order holds each. A claim stands
 * even if the request later fails: it is the same order's, and a retry
 * finds its own claim. */
static int claim_hashes(api_call *call, const char *const *keys, size_t n, const char *order_id,
                        char holders[][128], api_error *err)
{
    const char *set[MAX_CLAIMS][4], *get[MAX_CLAIMS][2];
    const char *const *cmds[2 * MAX_CLAIMS];
    int argcs[2 * MAX_CLAIMS];
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
        return api_unavailable(err, "Redis");
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        const redisReply *held = replies[2 * i + 1];
        if (held->type == REDIS_REPLY_STRING)
            snprintf(holders[i], 128, "%.*s", (int)held->len, held->str);
        else
            ok = 0;
    }
    for (size_t i = 0; i < 2 * n; i++)
        freeReplyObject(replies[i]);
    return ok ? 0 : api_unavailable(err, "Redis");
}

static int add_intake_check(outbox *box, const intake_verdict *v, const visit_req *r,
                            int64_t received, api_error *err)
{
    encoded_record rec;
    char e[256];
    if (record_intake_check(v, r->order_id, r->caregiver_id, r->event_id, r->at_ms, received,
                            &rec, e, sizeof(e)))
        return api_encoding_failed(err, e);
    api_outbox_add(box, CW_TOPIC_VISIT_CHECKS, r->order_id, rec);
    return 0;
}

static int build_visit_records(api_call *call, const visit_req *r, const order_row *order,
                               int64_t received, outbox *box, api_error *err)
{
    char holder[1][128] = {""}, e[256];
    if (r->has_photo) {
        char photo_key[CW_KEY_MAX];
        const char *keys[] = {photo_key};
        snprintf(photo_key, sizeof(photo_key), CW_KEY_PHOTO, r->photo_sha256);
        if (claim_hashes(call, keys, 1, r->order_id, holder, err))
            return -1;
    }
    intake_verdict checks[4];
    int nchecks = 3;
    checks[0] = call->ctx->thresholds.late_submission_enabled
                    ? intake_late_submission(r->at_ms, received, &call->ctx->thresholds)
                    : intake_late_submission(r->at_ms, r->at_ms, &call->ctx->thresholds);
    checks[1] = r->kind == VISIT_CHECK_IN
                    ? intake_face_match(r->has_score, r->score, &call->ctx->thresholds)
                    : intake_voiceprint(r->has_score, r->score, &call->ctx->thresholds);
    checks[2] = intake_photo_reuse(r->order_id, r->has_photo ? holder[0] : NULL);
    if (r->kind == VISIT_CHECK_OUT)
        checks[nchecks++] = intake_service_items(order->service_type, r->items, r->item_count);
    order_refs refs = {order->provider_id, order->elder_id, order->caregiver_id};
    encoded_record rec;
    if (record_visit(r, &refs, received, &rec, e, sizeof(e)))
        return api_encoding_failed(err, e);
    api_outbox_add(box, CW_TOPIC_VISIT_EVENTS, stream_key(order), rec);
    for (int i = 0; i < nchecks; i++)
        if (add_intake_check(box, &checks[i], r, received, err))
            return -1;
    return 0;
}

static int submit_visit(api_call *call, visit_kind kind, json_t *body, const char *hash,
                        const cw_role *role, api_outcome *out, api_error *err)
{
    const char *kind_name = kind == VISIT_CHECK_IN ? "check-in" : "check-out";
    visit_req r;
    order_row order;
    if (parse_visit(body, kind, &r, err) || check_namespace(role, "event_id", r.event_id, err) ||
        load_own_order(call, role, r.order_id, &order, err))
        return -1;
    if (strcmp(order.caregiver_id, r.caregiver_id) != 0)
        return api_fail(err, 422, "caregiver_mismatch", "caregiver_id",
                        "order %s is assigned to another caregiver", r.order_id);
    if (check_caregiver_current(call, role, r.caregiver_id, err))
        return -1;
    int64_t received;
    if (api_receipt_time(call, r.at_ms, &received, err))
        return -1;
    int early = resolve_idempotency(call, "event", r.event_id, hash, 0, out, err);
    if (early)
        return early > 0 ? 0 : -1;
    if (strcmp(order.status, "CANCELLED") == 0)
        return api_fail(err, 409, "order_cancelled", "order_id",
                        "order %s was cancelled: no visit is taken for it", r.order_id);
    outbox box = {0};
    if (build_visit_records(call, &r, &order, received, &box, err)) {
        api_outbox_free(&box);
        return -1;
    }
    if (api_outbox_send(call, &box, err))
        return -1;
    cw_redis_batch b = {0};
    idempotency_record(&b, "event", r.event_id, hash);
    advance_stream_clock(call, &b, r.at_ms);
    if (kind == VISIT_CHECK_IN) {
        /* A visited order is changed no more (changes.c). A key of its own,
         * not a field of the order's hash: a later line of a batch that reads
         * the order need not wait for this write. */
        char visited[CW_KEY_MAX];
        snprintf(visited, sizeof(visited), CW_KEY_VISITED, r.order_id);
        const char *argv[] = {"SET", visited, r.event_id};
        cw_redis_batch_add(&b, 3, argv);
    }
    cw_log_debug("visit accepted", "kind", kind_name, "event_id", r.event_id, NULL);
    return api_redis_commit(call, &b, err);
}

static int submit_evidence(api_call *call, json_t *body, const char *hash, const cw_role *role,
                           api_outcome *out, api_error *err)
{
    evidence_req r;
    order_row order;
    char e[256];
    if (parse_evidence(body, &r, err) || check_namespace(role, "event_id", r.event_id, err) ||
        load_own_order(call, role, r.order_id, &order, err) ||
        check_caregiver_current(call, role, order.caregiver_id, err))
        return -1;
    int64_t received;
    if (api_receipt_time(call, r.at_ms, &received, err))
        return -1;
    int early = resolve_idempotency(call, "event", r.event_id, hash, 0, out, err);
    if (early)
        return early > 0 ? 0 : -1;
    /* Each hash is claimed as check-in photos are, among evidence: the first
     * order whose evidence shows it keeps it, and evidence showing another
     * order's cures nothing. */
    char photo_key[CW_KEY_MAX], recording_key[CW_KEY_MAX], holders[2][128];
    const char *keys[] = {photo_key, recording_key};
    snprintf(photo_key, sizeof(photo_key), CW_KEY_EVIDENCE_HASH, r.watermark_photo_sha256);
    snprintf(recording_key, sizeof(recording_key), CW_KEY_EVIDENCE_HASH,
             r.elder_recording_sha256);
    if (claim_hashes(call, keys, 2, r.order_id, holders, err))
        return -1;
    const char *reused_from = strcmp(holders[0], r.order_id) != 0   ? holders[0]
                              : strcmp(holders[1], r.order_id) != 0 ? holders[1]
                                                                    : NULL;
    intake_verdict reuse = intake_evidence_reuse(reused_from);
    order_refs refs = {order.provider_id, order.elder_id, order.caregiver_id};
    encoded_record rec, check;
    if (record_evidence(&r, &refs, received, reused_from, &rec, e, sizeof(e)))
        return api_encoding_failed(err, e);
    outbox box = {0};
    api_outbox_add(&box, CW_TOPIC_VISIT_EVENTS, stream_key(&order), rec);
    if (record_intake_check(&reuse, r.order_id, order.caregiver_id, r.event_id, r.at_ms, received,
                            &check, e, sizeof(e))) {
        api_outbox_free(&box);
        return api_encoding_failed(err, e);
    }
    api_outbox_add(&box, CW_TOPIC_VISIT_CHECKS, r.order_id, check);
    if (api_outbox_send(call, &box, err))
        return -1;
    cw_redis_batch b = {0};
    idempotency_record(&b, "event", r.event_id, hash);
    advance_stream_clock(call, &b, r.at_ms);
    return api_redis_commit(call, &b, err);
}

int request_role_check(request_type type, const cw_role *role, api_error *err)
{
    int reference = type == REQ_ELDER || type == REQ_CAREGIVER || type == REQ_CONTRACT;
    if (reference && !auth_may_post_reference(role))
        return api_fail(err, 403, "forbidden", "", "this key may not post reference data");
    if (!reference && role->kind == CW_ROLE_REGISTRY)
        return api_fail(err, 403, "forbidden", "", "this key may post reference data only");
    if (!reference && !auth_may_post_orders(role))
        return api_fail(err, 403, "forbidden", "",
                        "orders and visits come from a provider's, the importer's or an "
                        "admin's key");
    return 0;
}

/* Checks common to every record type, then the type's own handling. The
 * caller holds the id's lock. */
static int submit(api_call *call, request_type type, json_t *body, const cw_role *role,
                  api_outcome *out, api_error *err)
{
    memset(out, 0, sizeof(*out));
    if (atomic_load(&call->ctx->rebuilding))
        return api_unavailable(err, "Redis (being rebuilt from Kafka)");
    if (!json_is_object(body))
        return api_fail(err, 400, "invalid_json", "", "the body must be a JSON object");
    if (request_role_check(type, role, err))
        return -1;
    char hash[65];
    api_content_hash(body, hash);
    switch (type) {
    case REQ_ELDER: return submit_elder(call, body, hash, out, err);
    case REQ_CAREGIVER: return submit_caregiver(call, body, hash, out, err);
    case REQ_CONTRACT: return submit_contract(call, body, hash, out, err);
    case REQ_ORDER: return submit_order(call, body, hash, role, out, err);
    case REQ_CHECK_IN: return submit_visit(call, VISIT_CHECK_IN, body, hash, role, out, err);
    case REQ_CHECK_OUT: return submit_visit(call, VISIT_CHECK_OUT, body, hash, role, out, err);
    case REQ_EVIDENCE: return submit_evidence(call, body, hash, role, out, err);
    }
    return api_fail(err, 400, "unknown_type", "type", "unknown record type");
}

/* The id a record is known by (its idempotency key), or "" when absent. */
static const char *record_id(request_type type, json_t *body)
{
    static const char *const id_fields[] = {"elder_id", "caregiver_id", "contract_id", "order_id",
                                            "event_id", "event_id",     "event_id"};
    json_t *id = json_is_object(body) ? json_object_get(body, id_fields[type]) : NULL;
    return json_is_string(id) ? json_string_value(id) : "";
}

int ingest_submit(ingest_ctx *ctx, request_type type, json_t *body, const cw_role *role,
                  api_outcome *out, api_error *err)
{
    api_call call = api_single_call(ctx);
    /* From the idempotency check to the Redis write that records the id,
     * nobody else may handle the same id. */
    pthread_mutex_t *lock = api_id_lock(ctx, record_id(type, body));
    pthread_mutex_lock(lock);
    int rc = submit(&call, type, body, role, out, err);
    pthread_mutex_unlock(lock);
    api_end_call(&call);
    return rc;
}

/* ---- batches ---------------------------------------------------------------- */

struct ingest_batch {
    api_call call;
    int locked[ID_LOCK_STRIPES];
    int prefetched;
};

ingest_batch *ingest_batch_begin(ingest_ctx *ctx)
{
    ingest_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->call = api_single_call(ctx);
    b->call.batch = batch_session_new();
    if (!b->call.batch) {
        free(b);
        return NULL;
    }
    return b;
}

int ingest_batch_expect(ingest_batch *b, request_type type, json_t *body, const cw_role *role)
{
    static const char *const kinds[] = {"elder", "caregiver", "contract", "order",
                                        "event", "event",     "event"};
    char key[CW_KEY_MAX];
    const char *id = record_id(type, body);
    if (!cw_id_is_valid(id))
        return 0; /* the line is refused before it reads anything */
    b->locked[api_id_lock(b->call.ctx, id) - b->call.ctx->id_locks] = 1;
    snprintf(key, sizeof(key), CW_KEY_IDEMPOTENCY, kinds[type], id);
    int rc = batch_session_want_string(b->call.batch, key);
    json_t *ref;
    if (type == REQ_ORDER) {
        if (json_is_string(ref = json_object_get(body, "elder_id"))) {
            snprintf(key, sizeof(key), CW_KEY_ELDER, json_string_value(ref));
            rc |= batch_session_want_hash(b->call.batch, key);
        }
        if (json_is_string(ref = json_object_get(body, "caregiver_id"))) {
            snprintf(key, sizeof(key), CW_KEY_CAREGIVER, json_string_value(ref));
            rc |= batch_session_want_hash(b->call.batch, key);
        }
    } else if (type >= REQ_CHECK_IN && json_is_string(ref = json_object_get(body, "order_id"))) {
        snprintf(key, sizeof(key), CW_KEY_ORDER, json_string_value(ref));
        rc |= batch_session_want_hash(b->call.batch, key);
    }
    if (type == REQ_CONTRACT) {
        snprintf(key, sizeof(key), CW_KEY_CONTRACT, id); /* its provider is read */
        rc |= batch_session_want_hash(b->call.batch, key);
    }
    /* A provider's check-in or check-out reads its caregiver's provider. */
    if (role->kind == CW_ROLE_PROVIDER && (type == REQ_CHECK_IN || type == REQ_CHECK_OUT) &&
        json_is_string(ref = json_object_get(body, "caregiver_id"))) {
        snprintf(key, sizeof(key), CW_KEY_CAREGIVER, json_string_value(ref));
        rc |= batch_session_want_hash(b->call.batch, key);
    }
    return rc ? -1 : 0;
}

int ingest_batch_prefetch(ingest_batch *b)
{
    /* The ids' locks, in one order for every batch, so that two batches
     * cannot each wait for the other. */
    for (int i = 0; i < ID_LOCK_STRIPES; i++)
        if (b->locked[i])
            pthread_mutex_lock(&b->call.ctx->id_locks[i]);
    b->prefetched = 1;
    if (b->call.ctx->replay_mode &&
        batch_session_want_string(b->call.batch, CW_KEY_STREAM_CLOCK) != 0)
        return -1;
    if (batch_session_prefetch(b->call.batch, b->call.redis) != 0)
        return -1;
    char clock[32];
    int unwritten;
    if (batch_session_lookup_string(b->call.batch, CW_KEY_STREAM_CLOCK, clock, sizeof(clock),
                                    &unwritten) == 1)
        batch_session_advance_clock(b->call.batch, 0, strtoll(clock, NULL, 10));
    return 0;
}

int ingest_batch_submit(ingest_batch *b, size_t line, request_type type, json_t *body,
                        const cw_role *role, api_outcome *out, api_error *err)
{
    b->call.line = line;
    return submit(&b->call, type, body, role, out, err);
}

size_t ingest_batch_finish(ingest_batch *b)
{
    return batch_session_finish(b->call.batch, b->call.ctx->producer, b->call.redis,
                                CW_KEY_STREAM_CLOCK, STREAM_CLOCK_SCRIPT);
}

void ingest_batch_end(ingest_batch *b)
{
    if (!b)
        return;
    for (int i = 0; b->prefetched && i < ID_LOCK_STRIPES; i++)
        if (b->locked[i])
            pthread_mutex_unlock(&b->call.ctx->id_locks[i]);
    batch_session_free(b->call.batch);
    api_end_call(&b->call);
    free(b);
}

/* ---- an elder's status ------------------------------------------------------- */

int ingest_elder_status(ingest_ctx *ctx, const char *elder_id, json_t *body,
                        const cw_role *role, api_outcome *out, api_error *err)
{
    static const char *const fields[] = {"street_id"};
    elder_status_req r;
    char key[CW_KEY_MAX], values[1][128], field[96], received[24], e[256];
    api_call call = api_single_call(ctx);
    memset(out, 0, sizeof(*out));
    if (atomic_load(&ctx->rebuilding))
        return api_unavailable(err, "Redis (being rebuilt from Kafka)");
    if (request_role_check(REQ_ELDER, role, err))
        return -1;
    if (!cw_id_is_valid(elder_id))
        return api_fail(err, 400, "invalid_id", "elder_id", "invalid elder id in path");
    if (!json_is_object(body))
        return api_fail(err, 400, "invalid_json", "", "the body must be a JSON object");
    if (parse_elder_status(body, &r, err))
        return -1;
    snprintf(key, sizeof(key), CW_KEY_ELDER, elder_id);
    int found = api_load_hash(&call, key, fields, 1, values);
    if (found < 0)
        return api_unavailable(err, "Redis");
    if (!found)
        return api_fail(err, 404, "unknown_elder", "elder_id", "elder %s is not registered",
                        elder_id);
    snprintf(out->id, sizeof(out->id), "%s", elder_id);
    cw_elder_period period = {.from = r.from_ms, .has_to = r.has_to, .to = r.to_ms};
    if (cw_elder_status_parse(r.status, &period.status) != 0 ||
        cw_elder_period_field(&period, field, sizeof(field)) != 0)
        return api_fail(err, 400, "invalid_value", "status", "cannot record this period");
    snprintf(key, sizeof(key), CW_KEY_ELDER_STATUS, elder_id);
    const char *exists[] = {"HEXISTS", key, field};
    redisReply *reply = cw_redis_cmd(call.redis, 3, exists);
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        if (reply)
            freeReplyObject(reply);
        return api_unavailable(err, "Redis");
    }
    out->duplicate = reply->integer == 1;
    freeReplyObject(reply);
    if (out->duplicate)
        return 0;
    int64_t at = ctx->now_ms();
    if (ctx->replay_mode && api_receipt_time(&call, 0, &at, err))
        return -1;
    encoded_record rec;
    if (record_elder_status(elder_id, &r, at, &rec, e, sizeof(e)))
        return api_encoding_failed(err, e);
    outbox box = {0};
    api_outbox_add(&box, CW_TOPIC_ELDER_STATUS, elder_id, rec);
    if (api_outbox_send(&call, &box, err))
        return -1;
    api_fmt_i64(received, sizeof(received), at);
    const char *argv[] = {"HSETNX", key, field, received};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 4, argv);
    return api_redis_commit(&call, &b, err);
}

/* ---- unfreeze --------------------------------------------------------------- */

int ingest_unfreeze(ingest_ctx *ctx, const char *caregiver_id, json_t *body,
                    const cw_role *role, api_outcome *out, api_error *err)
{
    static const char *const fields[] = {"provider_id", "person_id"};
    unfreeze_req r;
    char key[CW_KEY_MAX], values[2][128], e[256];
    api_call call = api_single_call(ctx);
    memset(out, 0, sizeof(*out));
    if (atomic_load(&ctx->rebuilding))
        return api_unavailable(err, "Redis (being rebuilt from Kafka)");
    if (!auth_may_unfreeze(role))
        return api_fail(err, 403, "forbidden", "", "only an admin key may unfreeze");
    if (!cw_id_is_valid(caregiver_id))
        return api_fail(err, 400, "invalid_id", "caregiver_id", "invalid caregiver id in path");
    if (!json_is_object(body))
        return api_fail(err, 400, "invalid_json", "", "the body must be a JSON object");
    if (parse_unfreeze(body, &r, err))
        return -1;
    snprintf(key, sizeof(key), CW_KEY_CAREGIVER, caregiver_id);
    int found = api_load_hash(&call, key, fields, 2, values);
    if (found < 0)
        return api_unavailable(err, "Redis");
    if (!found)
        return api_fail(err, 404, "unknown_caregiver", "caregiver_id",
                        "caregiver %s is not registered", caregiver_id);
    int64_t at = ctx->now_ms();
    if (ctx->replay_mode && api_receipt_time(&call, 0, &at, err))
        return -1;
    /* Into the caregiver's partition of visit.events (its person's, when it
     * has one), behind every event accepted before it: the overlap-detector lifts the freeze when it
     * reaches it (and publishes it on caregiver.status), so every event
     * accepted before this answer is judged frozen (docs/design.md §4.1). */
    encoded_record rec;
    if (record_status_changed(caregiver_id, "ACTIVE", r.reason, NULL, at, &rec, e, sizeof(e)))
        return api_encoding_failed(err, e);
    outbox box = {0};
    api_outbox_add(&box, CW_TOPIC_VISIT_EVENTS, values[1][0] ? values[1] : caregiver_id, rec);
    if (api_outbox_send(&call, &box, err))
        return -1;
    snprintf(out->id, sizeof(out->id), "%s", caregiver_id);
    return 0;
}
