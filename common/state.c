#include "state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "avro_fields.h"
#include "kafka.h"
#include "log.h"
#include "redis_keys.h"
#include "timeutil.h"

#define KEY_CLOCK "cw:clock:%s"
#define KEY_TIMERS "cw:timers:%s:%d"
#define KEY_EPOCH "cw:epoch:%s:%s:%d"
#define KEY_OFFSETS "cw:offsets:%s"

static void fmt_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
}

int cw_state_store_elder(cw_redis_batch *b, avro_value_t *v)
{
    const char *id, *street, *community, *crs;
    avro_value_t home;
    double lat, lon;
    int32_t visits, minutes, geofence;
    int has_geofence;
    if (cw_av_get_str(v, "elder_id", &id) || cw_av_get_str(v, "street_id", &street) ||
        cw_av_get_str(v, "community_id", &community) || cw_av_field(v, "home", &home) ||
        cw_av_get_double(&home, "lat", &lat) || cw_av_get_double(&home, "lon", &lon) ||
        cw_av_get_enum(&home, "crs", &crs) || cw_av_get_int(v, "visits_per_month", &visits) ||
        cw_av_get_int(v, "minutes_per_visit", &minutes) ||
        cw_av_get_opt_int(v, "geofence_radius_m", &has_geofence, &geofence))
        return -1;
    char key[CW_KEY_MAX], slat[32], slon[32], svisits[16], sminutes[16], sgeofence[16] = "";
    if (has_geofence)
        snprintf(sgeofence, sizeof(sgeofence), "%d", (int)geofence);
    snprintf(key, sizeof(key), CW_KEY_ELDER, id);
    snprintf(slat, sizeof(slat), "%.9f", lat);
    snprintf(slon, sizeof(slon), "%.9f", lon);
    snprintf(svisits, sizeof(svisits), "%d", (int)visits);
    snprintf(sminutes, sizeof(sminutes), "%d", (int)minutes);
    const char *argv[] = {"HSET", key, "street_id", street, "community_id", community,
                          "lat", slat, "lon", slon, "crs", crs, "visits_per_month", svisits,
                          "minutes_per_visit", sminutes, "geofence_m", sgeofence};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    return 0;
}

/* The HSET of an order's fields unless a newer revision is stored. */
static const char STORE_ORDER_SCRIPT[] =
    "local held = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0') "
    "if tonumber(ARGV[1]) < held then return 0 end "
    "redis.call('HSET', KEYS[1], unpack(ARGV, 2)) "
    "return 1";

int cw_state_store_order(cw_redis_batch *b, avro_value_t *v)
{
    const char *id, *elder, *caregiver, *provider, *service;
    int64_t start;
    int32_t minutes;
    const char *person;
    cw_order_revision rev;
    if (cw_av_get_str(v, "order_id", &id) || cw_av_get_str(v, "elder_id", &elder) ||
        cw_av_get_str(v, "caregiver_id", &caregiver) ||
        cw_av_get_str(v, "provider_id", &provider) ||
        cw_av_get_str(v, "service_type", &service) ||
        cw_av_get_long(v, "scheduled_start", &start) ||
        cw_av_get_int(v, "scheduled_minutes", &minutes) ||
        cw_av_get_opt_str(v, "person_id", &person) || cw_order_revision_of(v, &rev))
        return -1;
    char key[CW_KEY_MAX], sstart[24], sminutes[16], srev[16];
    snprintf(key, sizeof(key), CW_KEY_ORDER, id);
    fmt_i64(sstart, sizeof(sstart), start);
    snprintf(sminutes, sizeof(sminutes), "%d", (int)minutes);
    snprintf(srev, sizeof(srev), "%d", rev.revision);
    const char *argv[] = {"EVAL", STORE_ORDER_SCRIPT, "1", key, srev,
                          "elder_id", elder, "caregiver_id", caregiver,
                          "provider_id", provider, "service_type", service,
                          "scheduled_start", sstart, "scheduled_minutes", sminutes,
                          "person_id", person ? person : "", "revision", srev,
                          "status", cw_order_revision_is_cancel(&rev) ? "CANCELLED" : ""};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    return 0;
}

int cw_order_revision_of(avro_value_t *v, cw_order_revision *out)
{
    const char *caregiver, *person, *previous, *previous_person;
    int has_revision, has_change;
    int32_t revision;
    avro_value_t change;
    memset(out, 0, sizeof(*out));
    if (cw_av_get_str(v, "caregiver_id", &caregiver) ||
        cw_av_get_opt_str(v, "person_id", &person) ||
        cw_av_get_long(v, "received_at", &out->received_at) ||
        cw_av_get_opt_int(v, "revision", &has_revision, &revision) ||
        cw_av_get_present(v, "change", &has_change, &change))
        return -1;
    out->revision = has_revision ? (int)revision : 0;
    out->stream_key = person != NULL && person[0] != '\0' ? person : caregiver;
    if (out->revision < 0)
        return -1;
    if (out->revision == 0)
        return 0;
    if (!has_change || cw_av_get_enum(&change, "kind", &out->kind) ||
        cw_av_get_str(&change, "reason_code", &out->reason_code) ||
        cw_av_get_opt_str(&change, "previous_caregiver_id", &previous) ||
        cw_av_get_opt_str(&change, "previous_person_id", &previous_person) || previous == NULL)
        return -1;
    out->previous_stream_key =
        previous_person != NULL && previous_person[0] != '\0' ? previous_person : previous;
    return 0;
}

int cw_order_revision_is_cancel(const cw_order_revision *r)
{
    return r->kind != NULL && strcmp(r->kind, "CANCEL") == 0;
}

int cw_order_revision_subject(const char *order_id, int revision, char *buf, size_t len)
{
    int n = revision == 0 ? snprintf(buf, len, "%s", order_id)
                          : snprintf(buf, len, "%s@%d", order_id, revision);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

cw_revision_copy cw_order_revision_copy(const cw_order_revision *r, const char *message_key)
{
    cw_revision_copy c;
    c.leave = r->previous_stream_key != NULL && strcmp(message_key, r->previous_stream_key) == 0;
    c.arrive = strcmp(message_key, r->stream_key) == 0 && !cw_order_revision_is_cancel(r);
    return c;
}

int cw_state_store_caregiver(cw_redis_batch *b, avro_value_t *v)
{
    const char *id, *provider, *level, *person;
    int certified;
    if (cw_av_get_str(v, "caregiver_id", &id) || cw_av_get_str(v, "provider_id", &provider) ||
        cw_av_get_bool(v, "certified", &certified) || cw_av_get_opt_str(v, "level", &level) ||
        cw_av_get_opt_str(v, "person_id", &person))
        return -1;
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), CW_KEY_CAREGIVER, id);
    const char *argv[] = {"HSET",      key,
                          "provider_id", provider,
                          "certified", certified ? "1" : "0",
                          "level",     level ? level : "",
                          "person_id", person ? person : ""};
    cw_redis_batch_add(b, 10, argv);
    return 0;
}

int cw_contract_cover_entry(const cw_contract_row *c, char *buf, size_t len)
{
    int w = snprintf(buf, len, "%" PRId64 " %" PRId64 " ", c->period_start_day, c->period_end_day);
    if (w < 0 || (size_t)w >= len)
        return -1;
    size_t used = (size_t)w;
    for (size_t i = 0; i < c->street_count; i++) {
        w = snprintf(buf + used, len - used, "%s%s", i ? "," : "", c->street_ids[i]);
        if (w < 0 || (size_t)w >= len - used)
            return -1;
        used += (size_t)w;
    }
    return 0;
}

/* Whether the comma-separated list names street_id. */
static int list_names(const char *list, const char *street_id)
{
    size_t want = strlen(street_id);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == want && strncmp(p, street_id, n) == 0)
            return 1;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

cw_contract_cover cw_contract_cover_of(const char *entry, int64_t day, const char *street_id)
{
    char *end;
    long long first = strtoll(entry, &end, 10);
    if (end == entry || *end != ' ')
        return CW_COVER_NONE;
    const char *p = end + 1;
    long long last = strtoll(p, &end, 10);
    if (end == p || *end != ' ')
        return CW_COVER_NONE;
    if (day < first || day > last)
        return CW_COVER_NONE;
    const char *streets = end + 1;
    return *streets == '\0' || list_names(streets, street_id) ? CW_COVER_SERVED
                                                              : CW_COVER_OTHER_STREET;
}

int cw_state_write_contract(cw_redis_batch *b, const cw_contract_row *c)
{
    char key[CW_KEY_MAX], index_key[CW_KEY_MAX], cover[CW_CONTRACT_COVER_MAX];
    char budget[24], price[24], ratio[24], deduction[24], lag[24];
    if (cw_contract_cover_entry(c, cover, sizeof(cover)))
        return -1;
    snprintf(key, sizeof(key), CW_KEY_CONTRACT, c->contract_id);
    snprintf(index_key, sizeof(index_key), CW_KEY_PROVIDER_CONTRACTS, c->provider_id);
    fmt_i64(budget, sizeof(budget), c->budget_cents);
    fmt_i64(price, sizeof(price), c->unit_price_cents);
    fmt_i64(ratio, sizeof(ratio), c->prepay_ratio_ppm);
    fmt_i64(deduction, sizeof(deduction), c->invalid_deduction_cents);
    fmt_i64(lag, sizeof(lag), c->publication_lag_days);
    const char *argv[] = {"HSET", key, "provider_id", c->provider_id, "period_start",
                          c->period_start, "period_end", c->period_end, "budget_cents", budget,
                          "unit_price_cents", price, "prepay_ratio_ppm", ratio,
                          "invalid_deduction_cents", deduction, "publication_lag_days", lag};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    const char *index_argv[] = {"HSET", index_key, c->contract_id, cover};
    cw_redis_batch_add(b, 4, index_argv);
    return 0;
}

int cw_state_store_contract(cw_redis_batch *b, avro_value_t *v)
{
    cw_contract_row c = {0};
    const char *streets[CW_CONTRACT_MAX_STREETS];
    int32_t ratio, lag;
    size_t n;
    if (cw_av_get_str(v, "contract_id", &c.contract_id) ||
        cw_av_get_str(v, "provider_id", &c.provider_id) ||
        cw_av_get_str(v, "period_start", &c.period_start) ||
        cw_av_get_str(v, "period_end", &c.period_end) ||
        cw_av_get_long(v, "budget_cents", &c.budget_cents) ||
        cw_av_get_long(v, "unit_price_cents", &c.unit_price_cents) ||
        cw_av_get_int(v, "prepay_ratio_ppm", &ratio) ||
        cw_av_get_long(v, "invalid_deduction_cents", &c.invalid_deduction_cents) ||
        cw_av_get_int(v, "publication_lag_days", &lag) ||
        cw_av_get_array_size(v, "street_ids", &n) || n > CW_CONTRACT_MAX_STREETS ||
        cw_date_parse(c.period_start, &c.period_start_day) ||
        cw_date_parse(c.period_end, &c.period_end_day))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (cw_av_get_str_at(v, "street_ids", i, &streets[i]))
            return -1;
    c.prepay_ratio_ppm = ratio;
    c.publication_lag_days = lag;
    c.street_ids = streets;
    c.street_count = n;
    return cw_state_write_contract(b, &c);
}

typedef struct {
    cw_redis *redis;
    cw_redis_batch batch;
    cw_state_replay_fn fn;
    void *user_data;
    long stored;
    int failed;
} replay_run;

static int replay_flush(replay_run *run)
{
    if (run->batch.count == 0)
        return 0;
    if (cw_redis_batch_exec(run->redis, &run->batch) != 0) {
        run->failed = 1;
        return -1;
    }
    return 0;
}

static int replay_one(void *user_data, const rd_kafka_message_t *m)
{
    replay_run *run = user_data;
    const cw_avro_schema *s;
    avro_value_t v;
    char err[200];
    if (m->payload == NULL || cw_avro_decode(m->payload, m->len, &s, &v, err, sizeof(err)) != 0)
        return 0; /* the topic's own consumer dead-letters it */
    if (run->fn(run->user_data, m, s, &v, &run->batch) == 1)
        run->stored++;
    avro_value_decref(&v);
    if (run->batch.count > CW_REDIS_BATCH_MAX_CMDS - CW_STATE_REPLAY_MAX_CMDS)
        return replay_flush(run);
    return 0;
}

int cw_state_store_elder_status(cw_redis_batch *b, avro_value_t *v)
{
    const char *elder_id, *status;
    cw_elder_period p;
    memset(&p, 0, sizeof(p));
    if (cw_av_get_str(v, "elder_id", &elder_id) || cw_av_get_enum(v, "status", &status) ||
        cw_elder_status_parse(status, &p.status) != 0 || cw_av_get_long(v, "from", &p.from) ||
        cw_av_get_opt_long(v, "to", &p.has_to, &p.to) ||
        cw_av_get_long(v, "received_at", &p.received_at))
        return -1;
    char key[CW_KEY_MAX], field[96], value[24];
    snprintf(key, sizeof(key), CW_KEY_ELDER_STATUS, elder_id);
    if (cw_elder_period_field(&p, field, sizeof(field)) != 0 ||
        cw_elder_period_value(&p, value, sizeof(value)) != 0)
        return -1;
    const char *argv[] = {"HSETNX", key, field, value};
    cw_redis_batch_add(b, 4, argv);
    return 0;
}

long cw_state_load_elder_periods(cw_redis *r, const char *elder_id, cw_elder_period *out,
                                 size_t max)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), CW_KEY_ELDER_STATUS, elder_id);
    const char *argv[] = {"HGETALL", key};
    redisReply *reply = cw_redis_cmd(r, 2, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i + 1 < reply->elements && n < max; i += 2) {
        const redisReply *f = reply->element[i], *val = reply->element[i + 1];
        if (f->type == REDIS_REPLY_STRING && val->type == REDIS_REPLY_STRING &&
            cw_elder_period_parse(f->str, val->str, &out[n]) == 0)
            n++;
    }
    freeReplyObject(reply);
    return (long)n;
}

long cw_state_replay_topic(const struct cw_config *cfg, cw_redis *r, const char *topic,
                           cw_state_replay_fn fn, void *user_data, char *err, size_t errlen)
{
    replay_run run = {.redis = r, .fn = fn, .user_data = user_data};
    if (cw_kafka_read_topic(cfg, topic, replay_one, &run, err, errlen) < 0 ||
        replay_flush(&run) != 0) {
        if (run.failed)
            snprintf(err, errlen, "Redis failed while rebuilding from %s", topic);
        cw_redis_batch_clear(&run.batch);
        return -1;
    }
    return run.stored;
}

static int bootstrap_one(void *user_data, const rd_kafka_message_t *m, const cw_avro_schema *s,
                         avro_value_t *v, cw_redis_batch *b)
{
    (void)user_data;
    (void)m;
    int rc = 1;
    if (strcmp(s->name, "Elder") == 0)
        rc = cw_state_store_elder(b, v);
    else if (strcmp(s->name, "Caregiver") == 0)
        rc = cw_state_store_caregiver(b, v);
    else if (strcmp(s->name, "Contract") == 0)
        rc = cw_state_store_contract(b, v);
    else if (strcmp(s->name, "OrderAssigned") == 0)
        rc = cw_state_store_order(b, v);
    else if (strcmp(s->name, "ElderStatusChanged") == 0)
        rc = cw_state_store_elder_status(b, v);
    return rc == 0;
}

long cw_state_bootstrap(const struct cw_config *cfg, cw_redis *r, const char *const *topics,
                        char *err, size_t errlen)
{
    long stored = 0;
    for (size_t i = 0; topics[i] != NULL; i++) {
        long n = cw_state_replay_topic(cfg, r, topics[i], bootstrap_one, NULL, err, errlen);
        if (n < 0)
            return -1;
        stored += n;
    }
    return stored;
}

/* HMGET key fields...: 1 when the first field exists, 0 when missing. */
static int hmget(cw_redis *r, const char *key, const char *const *fields, size_t n,
                 redisReply **reply)
{
    const char *argv[12] = {"HMGET", key};
    for (size_t i = 0; i < n && i < 10; i++)
        argv[2 + i] = fields[i];
    *reply = cw_redis_cmd(r, (int)(2 + n), argv);
    if (*reply == NULL || (*reply)->type != REDIS_REPLY_ARRAY || (*reply)->elements != n) {
        if (*reply)
            freeReplyObject(*reply);
        *reply = NULL;
        return -1;
    }
    return (*reply)->element[0]->type == REDIS_REPLY_STRING;
}

static void copy_str(char *dst, size_t len, const redisReply *e)
{
    snprintf(dst, len, "%s", e->type == REDIS_REPLY_STRING ? e->str : "");
}

int cw_state_load_elder(cw_redis *r, const char *elder_id, cw_elder_state *out)
{
    static const char *const fields[] = {"lat",          "lon",        "crs",
                                         "street_id",    "community_id", "geofence_m",
                                         "visits_per_month", "minutes_per_visit"};
    char key[CW_KEY_MAX];
    redisReply *reply;
    snprintf(key, sizeof(key), CW_KEY_ELDER, elder_id);
    int found = hmget(r, key, fields, 8, &reply);
    if (found <= 0) {
        if (reply)
            freeReplyObject(reply);
        return found;
    }
    out->lat = strtod(reply->element[0]->str, NULL);
    out->lon = reply->element[1]->type == REDIS_REPLY_STRING ? strtod(reply->element[1]->str, NULL)
                                                               : 0;
    copy_str(out->crs, sizeof(out->crs), reply->element[2]);
    copy_str(out->street_id, sizeof(out->street_id), reply->element[3]);
    copy_str(out->community_id, sizeof(out->community_id), reply->element[4]);
    out->geofence_m = reply->element[5]->type == REDIS_REPLY_STRING
                          ? (int)strtol(reply->element[5]->str, NULL, 10)
                          : 0;
    out->visits_per_month = reply->element[6]->type == REDIS_REPLY_STRING
                                ? (int)strtol(reply->element[6]->str, NULL, 10)
                                : 0;
    out->minutes_per_visit = reply->element[7]->type == REDIS_REPLY_STRING
                                 ? (int)strtol(reply->element[7]->str, NULL, 10)
                                 : 0;
    freeReplyObject(reply);
    return 1;
}

int cw_state_load_order(cw_redis *r, const char *order_id, cw_order_state *out)
{
    char key[CW_KEY_MAX];
    redisReply *reply;
    snprintf(key, sizeof(key), CW_KEY_ORDER, order_id);
    int found = hmget(r, key, cw_state_order_fields, CW_STATE_ORDER_FIELD_COUNT, &reply);
    if (found <= 0) {
        if (reply)
            freeReplyObject(reply);
        return found;
    }
    found = cw_state_order_from_reply(reply, out);
    freeReplyObject(reply);
    return found < 0 ? -1 : found;
}

const char *const cw_state_order_fields[CW_STATE_ORDER_FIELD_COUNT] = {
    "scheduled_start", "scheduled_minutes", "elder_id", "caregiver_id", "provider_id",
    "person_id"};

const char *cw_order_stream_key(const cw_order_state *o)
{
    return o->person_id[0] != '\0' ? o->person_id : o->caregiver_id;
}

int cw_state_order_from_reply(const redisReply *reply, cw_order_state *out)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != CW_STATE_ORDER_FIELD_COUNT)
        return -1;
    if (reply->element[0]->type != REDIS_REPLY_STRING)
        return 0;
    out->scheduled_start = strtoll(reply->element[0]->str, NULL, 10);
    out->scheduled_minutes = reply->element[1]->type == REDIS_REPLY_STRING
                                 ? (int)strtol(reply->element[1]->str, NULL, 10)
                                 : 0;
    copy_str(out->elder_id, sizeof(out->elder_id), reply->element[2]);
    copy_str(out->caregiver_id, sizeof(out->caregiver_id), reply->element[3]);
    copy_str(out->provider_id, sizeof(out->provider_id), reply->element[4]);
    copy_str(out->person_id, sizeof(out->person_id), reply->element[5]);
    return 1;
}

void cw_state_add_clock(cw_redis_batch *b, const char *service, int partition, int64_t at)
{
    static const char *script =
        "local v = tonumber(ARGV[1]) local out = {} "
        "for i, k in ipairs(KEYS) do "
        "  local c = tonumber(redis.call('GET', k) or '0') "
        "  if v > c then redis.call('SET', k, ARGV[1]) c = v end "
        "  out[i] = c "
        "end return out";
    char key[CW_KEY_MAX], pkey[CW_KEY_MAX], sat[24];
    snprintf(key, sizeof(key), KEY_CLOCK, service);
    snprintf(pkey, sizeof(pkey), KEY_CLOCK ":%d", service, partition);
    fmt_i64(sat, sizeof(sat), at);
    const char *argv[] = {"EVAL", script, "2", key, pkey, sat};
    cw_redis_batch_add(b, 6, argv);
}

int cw_state_clock_reply(const redisReply *reply, int64_t *global, int64_t *partition_clock)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_INTEGER)
        return -1;
    *global = reply->element[0]->integer;
    *partition_clock = reply->element[1]->integer;
    return 0;
}

int cw_state_advance_clock(cw_redis *r, const char *service, int partition, int64_t at,
                           int64_t *global, int64_t *partition_clock)
{
    cw_redis_batch b = {0};
    redisReply *reply = NULL;
    cw_state_add_clock(&b, service, partition, at);
    int rc = cw_redis_batch_exec_last(r, &b, &reply);
    if (rc == 0)
        rc = cw_state_clock_reply(reply, global, partition_clock);
    if (reply)
        freeReplyObject(reply);
    return rc;
}

int cw_state_get_clock(cw_redis *r, const char *service, int partition, int64_t *global,
                       int64_t *partition_clock)
{
    char key[CW_KEY_MAX], pkey[CW_KEY_MAX];
    snprintf(key, sizeof(key), KEY_CLOCK, service);
    snprintf(pkey, sizeof(pkey), KEY_CLOCK ":%d", service, partition);
    const char *argv[] = {"MGET", key, pkey};
    redisReply *reply = cw_redis_cmd(r, 3, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    redisReply **e = reply->element;
    *global = e[0]->type == REDIS_REPLY_STRING ? strtoll(e[0]->str, NULL, 10) : 0;
    *partition_clock = e[1]->type == REDIS_REPLY_STRING ? strtoll(e[1]->str, NULL, 10) : 0;
    freeReplyObject(reply);
    return 0;
}

int cw_state_get_service_clocks(cw_redis *r, const char *const *services, size_t n,
                                int64_t *clocks)
{
    if (n == 0)
        return 0;
    char(*keys)[CW_KEY_MAX] = calloc(n, sizeof(*keys));
    const char **argv = calloc(n + 1, sizeof(*argv));
    redisReply *reply = NULL;
    int rc = -1;
    if (keys != NULL && argv != NULL) {
        argv[0] = "MGET";
        for (size_t i = 0; i < n; i++) {
            snprintf(keys[i], CW_KEY_MAX, KEY_CLOCK, services[i]);
            argv[i + 1] = keys[i];
        }
        reply = cw_redis_cmd(r, (int)(n + 1), argv);
    }
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == n) {
        for (size_t i = 0; i < n; i++)
            clocks[i] = reply->element[i]->type == REDIS_REPLY_STRING
                            ? strtoll(reply->element[i]->str, NULL, 10)
                            : INT64_MIN;
        rc = 0;
    }
    if (reply)
        freeReplyObject(reply);
    free(keys);
    free(argv);
    return rc;
}

int64_t cw_watermark(int64_t partition_clock, int64_t global_clock, int caught_up,
                     int64_t now_ms, int live, int64_t lateness_ms)
{
    int64_t base = partition_clock;
    if (caught_up && global_clock > base)
        base = global_clock;
    if (caught_up && live && now_ms > base)
        base = now_ms;
    return base - lateness_ms;
}

int cw_timers_add(cw_redis_batch *b, const char *service, int partition, int64_t due,
                  const char *member)
{
    char key[CW_KEY_MAX], sdue[24];
    snprintf(key, sizeof(key), KEY_TIMERS, service, partition);
    fmt_i64(sdue, sizeof(sdue), due);
    const char *argv[] = {"ZADD", key, sdue, member};
    cw_redis_batch_add(b, 4, argv);
    return 0;
}

int cw_timers_due(cw_redis *r, const char *service, int partition, int64_t before, size_t limit,
                  cw_timer_list *out)
{
    char key[CW_KEY_MAX], max[32], slimit[24];
    memset(out, 0, sizeof(*out));
    snprintf(key, sizeof(key), KEY_TIMERS, service, partition);
    /* "(" makes the bound exclusive: a timer due at t fires once the
     * watermark is past t, so an event exactly at t still counts. */
    snprintf(max, sizeof(max), "(%" PRId64, before);
    snprintf(slimit, sizeof(slimit), "%zu", limit);
    const char *argv[] = {"ZRANGEBYSCORE", key, "-inf", max, "WITHSCORES", "LIMIT", "0", slimit};
    redisReply *reply = cw_redis_cmd(r, 8, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    size_t n = reply->elements / 2;
    if (n > 0) {
        out->members = calloc(n, sizeof(*out->members));
        out->due = calloc(n, sizeof(*out->due));
        if (out->members == NULL || out->due == NULL) {
            cw_timers_free(out);
            freeReplyObject(reply);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        out->members[i] = strdup(reply->element[2 * i]->str);
        if (out->members[i] == NULL) {
            cw_timers_free(out);
            freeReplyObject(reply);
            return -1;
        }
        out->due[i] = strtoll(reply->element[2 * i + 1]->str, NULL, 10);
        out->count = i + 1;
    }
    freeReplyObject(reply);
    return 0;
}

/* Removes each fired timer only if it is still due when it fired: a timer
 * that was set again for a later time meanwhile (same member, new score)
 * must stay. One round trip for the whole list. */
static const char TIMERS_REMOVE_SCRIPT[] =
    "local n = 0 "
    "for i = 1, #ARGV, 2 do "
    "  local s = redis.call('ZSCORE', KEYS[1], ARGV[i]) "
    "  if s and tonumber(s) == tonumber(ARGV[i + 1]) then "
    "    n = n + redis.call('ZREM', KEYS[1], ARGV[i]) "
    "  end "
    "end "
    "return n";

int cw_timers_remove(cw_redis *r, const char *service, int partition, const cw_timer_list *list)
{
    if (list->count == 0)
        return 0;
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), KEY_TIMERS, service, partition);
    size_t argc = 4 + 2 * list->count;
    const char **argv = calloc(argc, sizeof(*argv));
    char(*dues)[24] = calloc(list->count, sizeof(*dues));
    int rc = -1;
    if (argv != NULL && dues != NULL) {
        argv[0] = "EVAL";
        argv[1] = TIMERS_REMOVE_SCRIPT;
        argv[2] = "1";
        argv[3] = key;
        for (size_t i = 0; i < list->count; i++) {
            fmt_i64(dues[i], sizeof(dues[i]), list->due[i]);
            argv[4 + 2 * i] = list->members[i];
            argv[5 + 2 * i] = dues[i];
        }
        redisReply *reply = cw_redis_cmd(r, (int)argc, argv);
        if (reply != NULL) {
            rc = reply->type == REDIS_REPLY_ERROR ? -1 : 0;
            freeReplyObject(reply);
        }
    }
    free(argv);
    free(dues);
    return rc;
}

void cw_timers_cancel(cw_redis_batch *b, const char *service, int partition, const char *member)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), KEY_TIMERS, service, partition);
    const char *argv[] = {"ZREM", key, member};
    cw_redis_batch_add(b, 3, argv);
}

void cw_timers_free(cw_timer_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->members[i]);
    free(list->members);
    free(list->due);
    memset(list, 0, sizeof(*list));
}

static int partition_cmd(cw_redis *r, const char *cmd, const char *service, const char *topic,
                         int partition, long long *result)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), KEY_EPOCH, service, topic, partition);
    const char *set[] = {"SET", key, "1"};
    const char *exists[] = {"EXISTS", key};
    int is_set = strcmp(cmd, "SET") == 0;
    redisReply *reply = cw_redis_cmd(r, is_set ? 3 : 2, is_set ? set : exists);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    *result = reply->type == REDIS_REPLY_INTEGER ? reply->integer : 1;
    freeReplyObject(reply);
    return 0;
}

int cw_state_partition_marked(cw_redis *r, const char *service, const char *topic,
                              int partition)
{
    long long n;
    if (partition_cmd(r, "EXISTS", service, topic, partition, &n) != 0)
        return -1;
    return n > 0;
}

int cw_state_partition_mark(cw_redis *r, const char *service, const char *topic, int partition)
{
    long long n;
    return partition_cmd(r, "SET", service, topic, partition, &n);
}

/* HSET of each field unless the stored value is already larger: a batch of
 * an instance that lost the partition meanwhile must not lower it. */
static const char OFFSETS_STORE_SCRIPT[] =
    "for i = 1, #ARGV, 2 do "
    "  local s = redis.call('HGET', KEYS[1], ARGV[i]) "
    "  if not s or tonumber(s) < tonumber(ARGV[i + 1]) then "
    "    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) "
    "  end "
    "end "
    "return 1";

#define OFFSET_FIELD_MAX 300

int cw_state_offsets_store(cw_redis *r, const char *service, size_t n, const char *const *topics,
                           const int32_t *partitions, const int64_t *next)
{
    if (n == 0)
        return 0;
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), KEY_OFFSETS, service);
    const char **argv = calloc(4 + 2 * n, sizeof(*argv));
    char(*fields)[OFFSET_FIELD_MAX] = calloc(n, sizeof(*fields));
    char(*values)[24] = calloc(n, sizeof(*values));
    int rc = -1;
    if (argv != NULL && fields != NULL && values != NULL) {
        argv[0] = "EVAL";
        argv[1] = OFFSETS_STORE_SCRIPT;
        argv[2] = "1";
        argv[3] = key;
        for (size_t i = 0; i < n; i++) {
            snprintf(fields[i], sizeof(fields[i]), "%s:%d", topics[i], (int)partitions[i]);
            fmt_i64(values[i], sizeof(values[i]), next[i]);
            argv[4 + 2 * i] = fields[i];
            argv[5 + 2 * i] = values[i];
        }
        redisReply *reply = cw_redis_cmd(r, (int)(4 + 2 * n), argv);
        if (reply != NULL) {
            rc = reply->type == REDIS_REPLY_ERROR ? -1 : 0;
            freeReplyObject(reply);
        }
    }
    free(argv);
    free(fields);
    free(values);
    return rc;
}

int cw_state_offsets_load(cw_redis *r, const char *service, size_t n, const char *const *topics,
                          const int32_t *partitions, int64_t *next)
{
    if (n == 0)
        return 0;
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), KEY_OFFSETS, service);
    const char **argv = calloc(2 + n, sizeof(*argv));
    char(*fields)[OFFSET_FIELD_MAX] = calloc(n, sizeof(*fields));
    int rc = -1;
    if (argv != NULL && fields != NULL) {
        argv[0] = "HMGET";
        argv[1] = key;
        for (size_t i = 0; i < n; i++) {
            snprintf(fields[i], sizeof(fields[i]), "%s:%d", topics[i], (int)partitions[i]);
            argv[2 + i] = fields[i];
        }
        redisReply *reply = cw_redis_cmd(r, (int)(2 + n), argv);
        if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == n) {
            for (size_t i = 0; i < n; i++)
                next[i] = reply->element[i]->type == REDIS_REPLY_STRING
                              ? strtoll(reply->element[i]->str, NULL, 10)
                              : -1;
            rc = 0;
        }
        if (reply != NULL)
            freeReplyObject(reply);
    }
    free(argv);
    free(fields);
    return rc;
}
