#include "event_clock.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_keys.h"

#define KEY_CLOCK "cw:clock:%s"

static void fmt_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
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
