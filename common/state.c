#include "state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_fields.h"
#include "redis_keys.h"

#define KEY_CLOCK "cw:clock:%s"
#define KEY_TIMERS "cw:timers:%s:%d"
#define KEY_EPOCH "cw:epoch:%s:%s:%d"

static void fmt_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
}

int cw_state_store_elder(cw_redis_batch *b, avro_value_t *v)
{
    const char *id, *street, *community, *crs;
    avro_value_t home;
    double lat, lon;
    int32_t visits, minutes;
    if (cw_av_get_str(v, "elder_id", &id) || cw_av_get_str(v, "street_id", &street) ||
        cw_av_get_str(v, "community_id", &community) || cw_av_field(v, "home", &home) ||
        cw_av_get_double(&home, "lat", &lat) || cw_av_get_double(&home, "lon", &lon) ||
        cw_av_get_enum(&home, "crs", &crs) || cw_av_get_int(v, "visits_per_month", &visits) ||
        cw_av_get_int(v, "minutes_per_visit", &minutes))
        return -1;
    char key[CW_KEY_MAX], slat[32], slon[32], svisits[16], sminutes[16];
    snprintf(key, sizeof(key), CW_KEY_ELDER, id);
    snprintf(slat, sizeof(slat), "%.9f", lat);
    snprintf(slon, sizeof(slon), "%.9f", lon);
    snprintf(svisits, sizeof(svisits), "%d", (int)visits);
    snprintf(sminutes, sizeof(sminutes), "%d", (int)minutes);
    const char *argv[] = {"HSET", key, "street_id", street, "community_id", community,
                          "lat", slat, "lon", slon, "crs", crs, "visits_per_month", svisits,
                          "minutes_per_visit", sminutes};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    return 0;
}

int cw_state_store_order(cw_redis_batch *b, avro_value_t *v)
{
    const char *id, *elder, *caregiver, *provider, *service;
    int64_t start;
    int32_t minutes;
    if (cw_av_get_str(v, "order_id", &id) || cw_av_get_str(v, "elder_id", &elder) ||
        cw_av_get_str(v, "caregiver_id", &caregiver) ||
        cw_av_get_str(v, "provider_id", &provider) ||
        cw_av_get_str(v, "service_type", &service) ||
        cw_av_get_long(v, "scheduled_start", &start) ||
        cw_av_get_int(v, "scheduled_minutes", &minutes))
        return -1;
    char key[CW_KEY_MAX], sstart[24], sminutes[16];
    snprintf(key, sizeof(key), CW_KEY_ORDER, id);
    fmt_i64(sstart, sizeof(sstart), start);
    snprintf(sminutes, sizeof(sminutes), "%d", (int)minutes);
    const char *argv[] = {"HSET", key, "elder_id", elder, "caregiver_id", caregiver,
                          "provider_id", provider, "service_type", service,
                          "scheduled_start", sstart, "scheduled_minutes", sminutes};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    return 0;
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
    static const char *const fields[] = {"lat", "lon", "crs", "street_id", "community_id"};
    char key[CW_KEY_MAX];
    redisReply *reply;
    snprintf(key, sizeof(key), CW_KEY_ELDER, elder_id);
    int found = hmget(r, key, fields, 5, &reply);
    if (found <= 0)
        return found;
    out->lat = strtod(reply->element[0]->str, NULL);
    out->lon = reply->element[1]->type == REDIS_REPLY_STRING ? strtod(reply->element[1]->str, NULL)
                                                               : 0;
    copy_str(out->crs, sizeof(out->crs), reply->element[2]);
    copy_str(out->street_id, sizeof(out->street_id), reply->element[3]);
    copy_str(out->community_id, sizeof(out->community_id), reply->element[4]);
    freeReplyObject(reply);
    return 1;
}

int cw_state_load_order(cw_redis *r, const char *order_id, cw_order_state *out)
{
    static const char *const fields[] = {"scheduled_start", "scheduled_minutes", "elder_id",
                                         "caregiver_id", "provider_id"};
    char key[CW_KEY_MAX];
    redisReply *reply;
    snprintf(key, sizeof(key), CW_KEY_ORDER, order_id);
    int found = hmget(r, key, fields, 5, &reply);
    if (found <= 0)
        return found;
    out->scheduled_start = strtoll(reply->element[0]->str, NULL, 10);
    out->scheduled_minutes = reply->element[1]->type == REDIS_REPLY_STRING
                                 ? (int)strtol(reply->element[1]->str, NULL, 10)
                                 : 0;
    copy_str(out->elder_id, sizeof(out->elder_id), reply->element[2]);
    copy_str(out->caregiver_id, sizeof(out->caregiver_id), reply->element[3]);
    copy_str(out->provider_id, sizeof(out->provider_id), reply->element[4]);
    freeReplyObject(reply);
    return 1;
}

static int reply_integer(redisReply *reply, int64_t *out)
{
    int rc = -1;
    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        *out = reply->integer;
        rc = 0;
    }
    if (reply)
        freeReplyObject(reply);
    return rc;
}

int cw_state_advance_clock(cw_redis *r, const char *service, int64_t at, int64_t *clock)
{
    static const char *script =
        "local c = tonumber(redis.call('GET', KEYS[1]) or '0') "
        "local v = tonumber(ARGV[1]) "
        "if v > c then redis.call('SET', KEYS[1], ARGV[1]) return v end return c";
    char key[CW_KEY_MAX], sat[24];
    snprintf(key, sizeof(key), KEY_CLOCK, service);
    fmt_i64(sat, sizeof(sat), at);
    const char *argv[] = {"EVAL", script, "1", key, sat};
    return reply_integer(cw_redis_cmd(r, 5, argv), clock);
}

int cw_state_get_clock(cw_redis *r, const char *service, int64_t *clock)
{
    char key[CW_KEY_MAX], buf[32];
    snprintf(key, sizeof(key), KEY_CLOCK, service);
    int found = cw_redis_get_string(r, key, buf, sizeof(buf));
    if (found < 0)
        return -1;
    *clock = found ? strtoll(buf, NULL, 10) : 0;
    return 0;
}

int64_t cw_watermark(int64_t event_clock, int64_t now_ms, int live, int64_t lateness_ms)
{
    int64_t base = event_clock;
    if (live && now_ms > base)
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

int cw_timers_remove(cw_redis *r, const char *service, int partition, const cw_timer_list *list)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), KEY_TIMERS, service, partition);
    for (size_t i = 0; i < list->count; i++) {
        const char *argv[] = {"ZREM", key, list->members[i]};
        redisReply *reply = cw_redis_cmd(r, 3, argv);
        if (reply == NULL)
            return -1;
        freeReplyObject(reply);
    }
    return 0;
}

void cw_timers_free(cw_timer_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->members[i]);
    free(list->members);
    free(list->due);
    memset(list, 0, sizeof(*list));
}

int cw_state_partition_fresh(cw_redis *r, const char *service, const char *topic,
                             int partition)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), KEY_EPOCH, service, topic, partition);
    const char *argv[] = {"SET", key, "1", "NX"};
    redisReply *reply = cw_redis_cmd(r, 4, argv);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    int created = reply->type == REDIS_REPLY_STATUS;
    freeReplyObject(reply);
    return created;
}
