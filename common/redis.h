/* Redis connection with timeouts and transparent reconnect.
 *
 * A cw_redis is used by one thread at a time (hiredis contexts are not
 * thread-safe). Commands are argv-style so binary-safe values need no
 * escaping. A command that fails because the connection broke returns NULL
 * (the caller answers "unavailable"); the next command reconnects. */
#ifndef CW_REDIS_H
#define CW_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "config.h"

typedef struct cw_redis cw_redis;

/* Reads redis.host, redis.port, redis.password, redis.timeout_ms. Does not
 * connect yet. Caller frees with cw_redis_free. */
cw_redis *cw_redis_new(const cw_config *cfg);
void cw_redis_free(cw_redis *r);

/* One command; argv strings are NUL-terminated. Returns a reply the caller
 * frees with freeReplyObject, or NULL when Redis is unreachable. A reply of
 * type REDIS_REPLY_ERROR is returned as is. */
redisReply *cw_redis_cmd(cw_redis *r, int argc, const char *const *argv);

/* Runs ncmds commands in one round trip. cmds[i] is an argv of argcs[i]
 * strings. On success fills replies[0..ncmds) (caller frees each) and
 * returns 0; on connection failure returns -1 with no replies left over. */
int cw_redis_pipeline(cw_redis *r, size_t ncmds, const int *argcs, const char *const *const *cmds,
                      redisReply **replies);

/* 0 when PING answers PONG. */
int cw_redis_ping(cw_redis *r);

/* The server's run_id (INFO server): it changes when Redis restarts, which
 * may have brought back older data. 0, or -1 when Redis cannot be asked. */
int cw_redis_run_id(cw_redis *r, char *buf, size_t len);

/* Convenience for the common case of a reply holding a string or nil:
 * copies the string into buf (truncating to len-1) and returns 1, returns 0
 * for nil, -1 for an error or a missing connection. */
int cw_redis_get_string(cw_redis *r, const char *key, char *buf, size_t len);

/* A list of commands sent as one pipeline, for writes that belong together.
 * Arguments are copied; the batch owns them until cw_redis_batch_clear. */
#define CW_REDIS_BATCH_MAX_CMDS 16
#define CW_REDIS_BATCH_MAX_ARGS 24

typedef struct {
    size_t count;
    int argc[CW_REDIS_BATCH_MAX_CMDS];
    char *argv[CW_REDIS_BATCH_MAX_CMDS][CW_REDIS_BATCH_MAX_ARGS];
    int failed; /* set when a command did not fit or memory ran out */
} cw_redis_batch;

/* Appends one command of argc strings. Overflow marks the batch failed. */
void cw_redis_batch_add(cw_redis_batch *b, int argc, const char *const *argv);
/* Sends the batch; 0 when every command succeeded (no error replies). Always
 * clears the batch. */
int cw_redis_batch_exec(cw_redis *r, cw_redis_batch *b);
/* The same, and on success hands the last command's reply to *last (the
 * caller frees it with freeReplyObject); NULL for an empty batch. */
int cw_redis_batch_exec_last(cw_redis *r, cw_redis_batch *b, redisReply **last);
/* The same, handing the replies of the commands which[0..n) (indexes into
 * the batch, ascending) to kept[0..n) on success (the caller frees them);
 * -1 with every kept[i] NULL when a command failed or an index is out of
 * range. */
int cw_redis_batch_exec_keep(cw_redis *r, cw_redis_batch *b, size_t n, const size_t *which,
                             redisReply **kept);
/* The same keeping every reply: replies[0..count) at the call (the caller
 * frees them). */
int cw_redis_batch_exec_all(cw_redis *r, cw_redis_batch *b, redisReply **replies);
void cw_redis_batch_clear(cw_redis_batch *b);

#endif
