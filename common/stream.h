/* The consume → decide → produce → commit loop every checker runs.
 *
 *   poll a batch of messages (first replaying from the beginning any
 *     partition whose Redis state is missing)
 *   decode each (Avro single-object); undecodable → dead letter
 *   handler(message) adds result records to the outbox, or rejects the
 *     message (dead letter with the handler's reason), or asks to retry
 *     (Redis down: the same message is offered again after a pause)
 *   tick() adds timer results (fired in event time)
 *   before_produce()  (e.g. fsync what the results promise)
 *   produce the outbox and wait for every ack  (retried until it succeeds)
 *   tick_done()  (e.g. remove the fired timers)
 *   commit the batch's offsets
 *
 * A crash anywhere replays at most the uncommitted batch; handlers give
 * results deterministic ids, so the replay changes nothing downstream.
 * Dead letters go to dlq.<service> as DeadLetter records. */
#ifndef CW_STREAM_H
#define CW_STREAM_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

#include "avro_codec.h"
#include "kafka.h"
#include "outbox.h"
#include "redis.h"
#include "result.h"

typedef struct {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *key; /* NUL-terminated copy of the Kafka key ("" when none) */
    const cw_avro_schema *schema;
    avro_value_t *value; /* borrowed for the handler call */
    int attempt;         /* 0, then 1, 2... when the handler asked to retry */
} cw_stream_msg;

/* A handler answers a cw_result (result.h): CW_OK with its results in the
 * outbox, CW_REJECT to dead-letter the message with the reason, CW_RETRY
 * having added nothing (it is handed the message again), CW_FATAL to stop
 * the service: nothing of the batch is produced or committed, and the
 * reason is logged. */

typedef struct {
    const char *service; /* "geo-validator": dead letters go to dlq.<service> */
    void *user_data;
    /* Required. */
    int (*handle)(void *user_data, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                  size_t reason_len);
    /* Optional: called after each batch and when idle (at most every
     * tick_interval_ms); CW_OK or CW_RETRY. */
    int (*tick)(void *user_data, cw_outbox *out);
    /* Optional: asked after every handled message; when it answers
     * non-zero, tick is called at once (timers due within the batch). */
    int (*tick_needed)(void *tick_needed_data, const char *topic, int partition,
                       int64_t offset);
    void *tick_needed_data;
    /* Optional: called once tick's results are acknowledged. */
    void (*tick_done)(void *user_data);
    /* Optional: called before the outbox of every batch is produced, also
     * an empty one; it may add records of its own (the ledger adds the
     * entries it appended and their checkpoint here: records a handler or
     * tick added and the stream then dropped on a retry cannot lose them).
     * 0, or -1 to stop the service: nothing of the batch is produced or
     * committed. */
    int (*before_produce)(void *user_data, cw_outbox *out);
    /* Optional: called once such a batch's records are all acknowledged,
     * before its offsets are committed. */
    void (*after_produce)(void *user_data);
    int tick_interval_ms; /* default 500 */
    /* Optional: the service's Redis. Before each batch the stream checks the
     * state mark of every assigned partition (cw_state_partition_fresh) and
     * replays all of them from the beginning when one is missing, so that
     * state lost with a flushed Redis is rebuilt from Kafka. */
    struct cw_redis *redis;
    /* Optional, with redis: rebuilds shared state (reference data) before
     * such a replay; 0 or -1. */
    int (*rebuild)(void *rebuild_data);
    void *rebuild_data;
    /* Optional, with redis: told of every partition sought back to replay
     * lost state, before its messages come again (offset is where it starts
     * again; 0 for its beginning), so that what was handled before no
     * longer counts as handled. */
    void (*rewound)(void *rewound_data, const char *topic, int32_t partition, int64_t offset);
    void *rewound_data;
    int batch_max;        /* default 500 messages */
    /* Records longer than this are dead-lettered undecoded (default 65536):
     * a short record can decode into much more memory (an array of a
     * million empty strings is 1 MB on the wire, 100 MB decoded). */
    size_t max_record_bytes;
    int batch_wait_ms;    /* default 20: the longest a batch takes arrived messages */
} cw_stream_handlers;

/* Runs until cw_shutdown_requested(). Calls cw_admin_heartbeat() every
 * turn. Returns 0 on a clean stop. */
int cw_stream_run(cw_consumer *consumer, cw_producer *producer, const cw_stream_handlers *h);

/* Adds a DeadLetter record for a message to the outbox. */
int cw_stream_dead_letter(cw_outbox *out, const char *service, const char *topic,
                          int32_t partition, int64_t offset, const void *key, size_t key_len,
                          const void *payload, size_t payload_len, const char *reason,
                          int64_t at);

/* The partitions of topic currently assigned to this consumer, in parts
 * (up to max). Returns how many. */
size_t cw_stream_assigned(cw_consumer *consumer, const char *topic, int32_t *parts, size_t max);

#endif
