#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct cw_redis {
    char *host;
    int port;
    char *password;
    int timeout_ms;
    redisContext *ctx;
};

cw_redis *cw_redis_new(const cw_config *cfg)
{
    cw_redis *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->host = strdup(cw_config_str(cfg, "redis.host"));
    r->password = strdup(cw_config_str(cfg, "redis.password"));
    if (!r->host || !r->password) {
        cw_redis_free(r);
        return NULL;
    }
    r->port = (int)cw_config_int(cfg, "redis.port");
    r->timeout_ms = (int)cw_config_int(cfg, "redis.timeout_ms");
    return r;
}

void cw_redis_free(cw_redis *r)
{
    if (!r)
        return;
    if (r->ctx)
        redisFree(r->ctx);
    free(r->host);
    free(r->password);
    free(r);
}

static void drop_connection(cw_redis *r)
{
    if (r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
}

static int authenticate(cw_redis *r)
{
    if (r->password[0] == '\0')
        return 0;
    const char *argv[] = {"AUTH", r->password};
    redisReply *reply = redisCommandArgv(r->ctx, 2, argv, NULL);
    int ok = reply && reply->type != REDIS_REPLY_ERROR;
    if (reply)
        freeReplyObject(reply);
    if (!ok)
        cw_log_error("redis authentication failed", NULL);
    return ok ? 0 : -1;
}

static int ensure_connected(cw_redis *r)
{
    if (r->ctx && !r->ctx->err)
        return 0;
    drop_connection(r);
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
    redisContext *ctx = redisConnectWithTimeout(r->host, r->port, tv);
    if (!ctx)
        return -1;
    if (ctx->err) {
        cw_log_warn("redis connect failed", "error", ctx->errstr, NULL);
        redisFree(ctx);
        return -1;
    }
    if (redisSetTimeout(ctx, tv) != REDIS_OK || redisEnableKeepAlive(ctx) != REDIS_OK) {
        redisFree(ctx);
        return -1;
    }
    r->ctx = ctx;
    if (authenticate(r)) {
        drop_connection(r);
        return -1;
    }
    return 0;
}

redisReply *cw_redis_cmd(cw_redis *r, int argc, const char *const *argv)
{
    if (ensure_connected(r))
        return NULL;
    redisReply *reply = redisCommandArgv(r->ctx, argc, (const char **)argv, NULL);
    if (!reply) {
        cw_log_warn("redis command failed", "command", argv[0], "error", r->ctx->errstr, NULL);
        drop_connection(r);
    }
    return reply;
}

int cw_redis_pipeline(cw_redis *r, size_t ncmds, const int *argcs, const char *const *const *cmds,
                      redisReply **replies)
{
    if (ensure_connected(r))
        return -1;
    for (size_t i = 0; i < ncmds; i++) {
        if (redisAppendCommandArgv(r->ctx, argcs[i], (const char **)cmds[i], NULL) != REDIS_OK) {
            drop_connection(r);
            return -1;
        }
    }
    for (size_t i = 0; i < ncmds; i++) {
        void *reply = NULL;
        if (redisGetReply(r->ctx, &reply) != REDIS_OK || !reply) {
            cw_log_warn("redis pipeline failed", "error", r->ctx->errstr, NULL);
            for (size_t j = 0; j < i; j++)
                freeReplyObject(replies[j]);
            drop_connection(r);
            return -1;
        }
        replies[i] = reply;
    }
    return 0;
}

int cw_redis_ping(cw_redis *r)
{
    const char *argv[] = {"PING"};
    redisReply *reply = cw_redis_cmd(r, 1, argv);
    int ok = reply && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
    if (reply)
        freeReplyObject(reply);
    return ok ? 0 : -1;
}

int cw_redis_run_id(cw_redis *r, char *buf, size_t len)
{
    const char *argv[] = {"INFO", "server"};
    redisReply *reply = cw_redis_cmd(r, 2, argv);
    int rc = -1;
    if (reply && reply->type == REDIS_REPLY_STRING) {
        const char *at = strstr(reply->str, "run_id:");
        if (at != NULL) {
            at += strlen("run_id:");
            size_t n = strcspn(at, "\r\n");
            if (n > 0 && n < len) {
                memcpy(buf, at, n);
                buf[n] = '\0';
                rc = 0;
            }
        }
    }
    if (reply)
        freeReplyObject(reply);
    return rc;
}

int cw_redis_get_string(cw_redis *r, const char *key, char *buf, size_t len)
{
    const char *argv[] = {"GET", key};
    redisReply *reply = cw_redis_cmd(r, 2, argv);
    if (!reply)
        return -1;
    int rc;
    if (reply->type == REDIS_REPLY_NIL) {
        rc = 0;
    } else if (reply->type == REDIS_REPLY_STRING) {
        snprintf(buf, len, "%.*s", (int)reply->len, reply->str);
        rc = 1;
    } else {
        rc = -1;
    }
    freeReplyObject(reply);
    return rc;
}

void cw_redis_batch_add(cw_redis_batch *b, int argc, const char *const *argv)
{
    if (b->failed || b->count >= CW_REDIS_BATCH_MAX_CMDS || argc > CW_REDIS_BATCH_MAX_ARGS) {
        b->failed = 1;
        return;
    }
    size_t slot = b->count++;
    b->argc[slot] = argc;
    for (int i = 0; i < argc; i++) {
        b->argv[slot][i] = strdup(argv[i]);
        if (!b->argv[slot][i])
            b->failed = 1;
    }
}

void cw_redis_batch_clear(cw_redis_batch *b)
{
    for (size_t c = 0; c < b->count; c++)
        for (int i = 0; i < b->argc[c]; i++)
            free(b->argv[c][i]);
    memset(b, 0, sizeof(*b));
}

int cw_redis_batch_exec(cw_redis *r, cw_redis_batch *b)
{
    return cw_redis_batch_exec_last(r, b, NULL);
}

int cw_redis_batch_exec_last(cw_redis *r, cw_redis_batch *b, redisReply **last)
{
    size_t index = b->count > 0 ? b->count - 1 : 0;
    redisReply *kept = NULL;
    int rc = cw_redis_batch_exec_keep(r, b, last != NULL && b->count > 0 ? 1 : 0, &index, &kept);
    if (last)
        *last = kept;
    return rc;
}

int cw_redis_batch_exec_all(cw_redis *r, cw_redis_batch *b, redisReply **replies)
{
    size_t which[CW_REDIS_BATCH_MAX_CMDS];
    for (size_t c = 0; c < b->count; c++)
        which[c] = c;
    return cw_redis_batch_exec_keep(r, b, b->count, which, replies);
}

int cw_redis_batch_exec_keep(cw_redis *r, cw_redis_batch *b, size_t n, const size_t *which,
                             redisReply **kept)
{
    for (size_t k = 0; k < n; k++)
        kept[k] = NULL;
    int rc = b->failed ? -1 : 0;
    for (size_t k = 0; k < n && rc == 0; k++)
        if (which[k] >= b->count || (k > 0 && which[k] <= which[k - 1]))
            rc = -1;
    if (rc != 0 || b->count == 0) {
        cw_redis_batch_clear(b);
        return rc;
    }
    const char *const *cmds[CW_REDIS_BATCH_MAX_CMDS];
    redisReply *replies[CW_REDIS_BATCH_MAX_CMDS];
    for (size_t c = 0; c < b->count; c++)
        cmds[c] = (const char *const *)b->argv[c];
    rc = cw_redis_pipeline(r, b->count, b->argc, cmds, replies);
    if (rc == 0) {
        for (size_t c = 0; c < b->count; c++) {
            if (replies[c]->type == REDIS_REPLY_ERROR) {
                cw_log_error("redis command rejected", "command", b->argv[c][0], "error",
                             replies[c]->str, NULL);
                rc = -1;
            }
        }
        size_t k = 0;
        for (size_t c = 0; c < b->count; c++) {
            if (rc == 0 && k < n && which[k] == c)
                kept[k++] = replies[c];
            else
                freeReplyObject(replies[c]);
        }
    }
    cw_redis_batch_clear(b);
    return rc;
}
