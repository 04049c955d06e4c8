/* One /v1/batch's view of Kafka and Redis while its lines are handled.
 *
 * A line is handled exactly as a single request is, except for where its
 * I/O goes (ingest_store.c and handlers.c route it here):
 *   - reads: the keys the batch's lines will read are fetched in one
 *     pipelined round trip before the first line
 *     (ingest_batch_session_prefetch); a line then reads that copy,
 *     overlaid with what earlier lines of the batch wrote. A key nobody
 *     predicted is read from Redis as usual.
 *   - records: kept, in line order, and produced all at once by
 *     ingest_batch_session_finish, which waits for the acknowledgements
 *     once.
 *   - Redis writes: kept, and sent in one pipeline after every record of
 *     their line (and of every earlier line) was acknowledged: Kafka first,
 *     then Redis, as for a single request.
 *
 * A session belongs to one request on one thread. It owns copies of every
 * key, value and record it was given; ingest_batch_session_free releases
 * them. */
#ifndef INGEST_BATCH_SESSION_H
#define INGEST_BATCH_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "kafka.h"
#include "redis.h"

typedef struct batch_session batch_session;

/* What the batch's copy knows of a key. */
typedef enum {
    BATCH_FOUND,   /* the value (or hash) is here */
    BATCH_MISSING, /* known not to exist */
    BATCH_NOT_HERE /* not known here: ask Redis */
} batch_lookup;

/* NULL when out of memory. */
batch_session *ingest_batch_session_new(void);
void ingest_batch_session_free(batch_session *s);

/* Notes a key to fetch: a hash (HGETALL) or a string (GET). 0 or -1 (out
 * of memory). */
int ingest_batch_session_want_hash(batch_session *s, const char *key);
int ingest_batch_session_want_string(batch_session *s, const char *key);
/* Fetches every wanted key in one pipeline. 0, or -1 when Redis is
 * unreachable. */
int ingest_batch_session_prefetch(batch_session *s, cw_redis *r);

/* Reads from the batch's copy. lookup_hash fills values[i] (each 128
 * bytes) with fields[i] ("" when absent); as HMGET reads it, a hash is
 * found when its first asked field is. *unwritten says that an earlier
 * line changed the key and Redis does not have it yet: the reader flushes
 * first (ingest_batch_session_flush) when what it is about to produce may
 * be read downstream together with that key (the geo-validator reads an
 * elder's home from Redis as soon as the elder's visit arrives). */
batch_lookup ingest_batch_session_lookup_hash(batch_session *s, const char *key,
                                              const char *const *fields, size_t n,
                                              char (*values)[128], int *unwritten);
batch_lookup ingest_batch_session_lookup_string(batch_session *s, const char *key, char *buf,
                                                size_t len, int *unwritten);

/* Keeps the records of `line` (copies of topic, key and value) to produce
 * at the end. 0 or -1 (out of memory). */
int ingest_batch_session_add_records(batch_session *s, size_t line,
                                     const cw_kafka_record *records, size_t n);
/* Keeps line's Redis writes, which are also applied to the batch's copy so
 * later lines see them: SET, HSET, and the conditional HSET of an order
 * that reference_store.h's cw_state_write_order adds ("EVAL <script> 1
 * <key> <revision> <field> <value>...": the pairs, unless the copy holds
 * a newer revision). Clears b. 0 or -1 (out of memory, or a command of
 * another kind). */
int ingest_batch_session_add_writes(batch_session *s, size_t line, cw_redis_batch *b);
/* The stream clock (replay mode): the largest value given so far. Line 0
 * gives the value Redis had (not written back); a line's event raises it
 * and is written at the end with that line's other writes. */
int64_t ingest_batch_session_clock(const batch_session *s);
void ingest_batch_session_advance_clock(batch_session *s, size_t line, int64_t at_ms);

/* Produces every kept record and waits once; then writes, in one
 * pipeline, the Redis writes of every line before the first line with a
 * record that failed (and the stream clock when one was given:
 * clock_script, an EVAL script keeping the larger value). Returns 0 when
 * everything was done, else the first line whose results are not durable
 * (its and later lines' writes were not made). */
size_t ingest_batch_session_finish(batch_session *s, cw_producer *p, cw_redis *r,
                                   const char *clock_key, const char *clock_script);

/* ingest_batch_session_finish part way: makes everything kept so far
 * durable and starts keeping afresh (the copy of Redis stays). Returns 0,
 * or the first line not made durable; once a flush failed, finish returns
 * that line (the lines after it are not processed). */
size_t ingest_batch_session_flush(batch_session *s, cw_producer *p, cw_redis *r,
                                  const char *clock_key, const char *clock_script);

#endif
