#include "partition_marks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_keys.h"

#define KEY_EPOCH "cw:epoch:%s:%s:%d"
#define KEY_OFFSETS "cw:offsets:%s"

static void fmt_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
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
