#include "timers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_keys.h"

#define KEY_TIMERS "cw:timers:%s:%d"

static void fmt_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
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
