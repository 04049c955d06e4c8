#include "geo-validator/geo_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "redis_keys.h"

#define CHECK_OUTS_KEY "cw:geo:out:%s"
#define WAITING_KEY "cw:geo:in:%s"
/* A waiting check-in's hash outlives any sensible lateness. */
#define WAITING_TTL_SECONDS "691200"
#define WAITING_FIELDS 5

cw_result geo_store_elder(cw_redis *r, avro_value_t *elder)
{
    cw_redis_batch b = {0};
    if (cw_state_store_elder(&b, elder) != 0) {
        cw_redis_batch_clear(&b);
        return CW_REJECT;
    }
    return cw_redis_batch_exec(r, &b) == 0 ? CW_OK : CW_RETRY;
}

cw_result geo_store_load_elder(cw_redis *r, const char *elder_id, cw_elder_state *out)
{
    int found = cw_state_load_elder(r, elder_id, out);
    return found < 0 ? CW_RETRY : found == 0 ? CW_REJECT : CW_OK;
}

int geo_store_visit(cw_checker *ck, int partition, const cw_visit_event *ev)
{
    char key[CW_KEY_MAX], member[200], at[24], lat[32], lon[32];
    cw_redis_batch b = {0};
    snprintf(at, sizeof(at), "%" PRId64, ev->at);
    snprintf(lat, sizeof(lat), "%.9f", ev->gps.lat);
    snprintf(lon, sizeof(lon), "%.9f", ev->gps.lon);
    if (ev->kind == CW_VISIT_KIND_CHECK_OUT) {
        snprintf(key, sizeof(key), CHECK_OUTS_KEY, ev->caregiver_id);
        snprintf(member, sizeof(member), "%s|%s|%s|%s", at, ev->event_id, lat, lon);
        const char *argv[] = {"ZADD", key, at, member};
        cw_redis_batch_add(&b, 4, argv);
    } else {
        snprintf(key, sizeof(key), WAITING_KEY, ev->event_id);
        const char *argv[] = {"HSET",         key,        "order_id", ev->order_id,
                              "caregiver_id", ev->caregiver_id, "at", at,
                              "lat",          lat,        "lon",      lon};
        const char *expire[] = {"EXPIRE", key, WAITING_TTL_SECONDS};
        cw_redis_batch_add(&b, 12, argv);
        cw_redis_batch_add(&b, 3, expire);
        cw_checker_add_timer(ck, &b, partition, ev->at, ev->event_id);
    }
    return cw_checker_exec_with_clock(ck, &b, partition, ev->at);
}

/* Copies a reply string into dst; 0, or -1 when it does not fit. */
static int copy_id(char *dst, size_t len, const char *src)
{
    int n = snprintf(dst, len, "%s", src);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int geo_store_waiting_check_in(cw_redis *r, const char *event_id, int *found,
                               geo_waiting_check_in *out)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), WAITING_KEY, event_id);
    const char *argv[] = {"HMGET", key, "order_id", "caregiver_id", "at", "lat", "lon"};
    redisReply *reply = cw_redis_cmd(r, 7, argv);
    *found = 0;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != WAITING_FIELDS) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    redisReply **e = reply->element;
    int complete = 1;
    for (size_t i = 0; i < WAITING_FIELDS; i++)
        complete = complete && e[i]->type == REDIS_REPLY_STRING;
    if (complete && copy_id(out->order_id, sizeof(out->order_id), e[0]->str) == 0 &&
        copy_id(out->caregiver_id, sizeof(out->caregiver_id), e[1]->str) == 0) {
        out->at = strtoll(e[2]->str, NULL, 10);
        out->fix = (geo_point){strtod(e[3]->str, NULL), strtod(e[4]->str, NULL)};
        *found = 1;
    } else if (complete) {
        cw_log_warn("a waiting check-in holds an id too long; no travel check", "event_id",
                    event_id, NULL);
    }
    freeReplyObject(reply);
    return 0;
}

int geo_store_previous_check_out(cw_redis *r, const char *caregiver_id, int64_t at, int *found,
                                 geo_point *fix, int64_t *fix_at)
{
    char key[CW_KEY_MAX], max[24];
    snprintf(key, sizeof(key), CHECK_OUTS_KEY, caregiver_id);
    snprintf(max, sizeof(max), "%" PRId64, at);
    const char *argv[] = {"ZREVRANGEBYSCORE", key, max, "-inf", "LIMIT", "0", "1"};
    redisReply *reply = cw_redis_cmd(r, 7, argv);
    *found = 0;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    if (reply->elements == 1 && reply->element[0]->type == REDIS_REPLY_STRING) {
        char event[128];
        double lat, lon;
        long long a;
        if (sscanf(reply->element[0]->str, "%lld|%127[^|]|%lf|%lf", &a, event, &lat, &lon) ==
            4) {
            *fix = (geo_point){lat, lon};
            *fix_at = a;
            *found = 1;
        }
    }
    freeReplyObject(reply);
    return 0;
}
