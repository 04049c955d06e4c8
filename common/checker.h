/* The skeleton every stream service's main() uses: options and config,
 * Redis, an idempotent producer, a consumer group on the service's input
 * topics, the admin listener (readiness = Redis and Kafka reachable), then
 * cw_stream_run until SIGTERM, then an orderly close.
 *
 *   int main(int argc, char **argv) {
 *       static const char *const topics[] = {CW_TOPIC_VISIT_EVENTS, NULL};
 *       cw_checker_def def = {.name = "geo-validator", .topics = topics,
 *                             .specs = specs, .context_new = geo_context_new,
 *                             .context_free = geo_context_free,
 *                             .handle = geo_handle, .on_timer = geo_on_timer};
 *       return cw_checker_main(&def, argc, argv);
 *   }
 *
 * Config keys added for every such service (besides the common ones):
 *   stream.group_id                  consumer group (default carewatch-<name>)
 *   stream.allowed_lateness_minutes  how late an event may arrive and still
 *                                    be judged as if in order (default 2)
 *   stream.quiet_partition_ms        a partition without messages this long
 *                                    follows the service-wide clock (2000)
 *   stream.batch_max                 messages per batch (default 500) */
#ifndef CW_CHECKER_H
#define CW_CHECKER_H

#include "config.h"
#include "event_clock.h"
#include "kafka.h"
#include "redis.h"
#include "stream.h"
#include "timers.h"

#define CW_CHECKER_MAX_PARTITIONS 64
#define CW_CHECKER_MAX_FIRED 256

typedef struct cw_checker {
    const char *name;
    const cw_config *cfg;
    const char *const *bootstrap_topics;
    cw_redis *redis;
    cw_producer *producer;
    cw_consumer *consumer;
    int live;            /* time.mode: live */
    int64_t lateness_ms; /* stream.allowed_lateness_minutes */
    cw_stream_handlers handlers; /* their user_data is the checker */
    void *user_data;             /* the service's context (def.context_new) */
    cw_result (*handle)(void *ctx, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                        size_t reason_len);
    int (*on_timer)(void *ctx, const char *member, int64_t due, cw_outbox *out);
    /* Timers fired by the last cw_checker_fire_timers, removed by
     * cw_checker_timers_done once their results are acknowledged. */
    cw_timer_list fired[CW_CHECKER_MAX_FIRED];
    int fired_partition[CW_CHECKER_MAX_FIRED];
    size_t fired_count;
    /* Per partition of timer_topic (index = partition number): */
    const char *timer_topic;
    int64_t clock;                                /* service-wide event clock */
    int64_t pclock[CW_CHECKER_MAX_PARTITIONS];    /* the partition's event clock */
    int64_t next_due[CW_CHECKER_MAX_PARTITIONS];  /* earliest timer not yet fired */
    int64_t consumed_to[CW_CHECKER_MAX_PARTITIONS]; /* last handled offset + 1 */
    /* Set when a message of the partition made a timer due within a batch:
     * the tick it asks for looks at the flagged partitions only. */
    int tick_wanted[CW_CHECKER_MAX_PARTITIONS];
    int64_t last_message_ms[CW_CHECKER_MAX_PARTITIONS]; /* wall clock */
    int64_t last_any_message_ms; /* wall clock, any input topic */
    int committed_known[CW_CHECKER_MAX_PARTITIONS]; /* group offset asked once */
    int64_t quiet_ms; /* stream.quiet_partition_ms */
} cw_checker;

typedef struct {
    const char *name;
    const char *const *topics;        /* NULL-terminated */
    const cw_cfg_spec *const *specs;  /* the service's own specs, NULL-terminated */
    /* Topics whose Elder, Caregiver and OrderAssigned records are reloaded
     * into Redis when its state is found missing (NULL-terminated; NULL for
     * none), before the input partitions are replayed. */
    const char *const *bootstrap_topics;
    /* The input topic whose partitions own the timers and event clocks
     * (default visit.events). */
    const char *timer_topic;
    /* The service's context, made once Redis and Kafka are up (NULL stops
     * the service; say why in the log) and freed at the end. Optional. */
    void *(*context_new)(cw_checker *ck);
    void (*context_free)(void *ctx);
    /* Required: one input message, given the context. */
    cw_result (*handle)(void *ctx, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                        size_t reason_len);
    /* Optional: one timer of the timer topic come due (cw_timer_fn, given
     * the context). The checker fires timers as the watermark passes them
     * and removes them once their results are durable. */
    int (*on_timer)(void *ctx, const char *member, int64_t due, cw_outbox *out);
    /* Optional, for the stream's other hooks (before_produce, a tick of
     * its own...): it sets them in ck->handlers, whose user_data is the
     * checker (the context is ck->user_data). 0, or -1 to stop (logged). */
    int (*setup)(cw_checker *ck);
} cw_checker_def;

extern const cw_cfg_spec cw_checker_config_spec[];

/* Returns the process exit code: 0 clean stop, 1 runtime failure, 2 bad
 * options or configuration. */
int cw_checker_main(const cw_checker_def *def, int argc, char **argv);

/* The watermark of one partition of the timer topic now (cw_watermark).
 * -1 on Redis error. */
int cw_checker_watermark(cw_checker *ck, int partition, int64_t *wm);

/* Called for each due timer; CW_OK, CW_RETRY on a Redis error (the timers
 * fire again), or CW_FATAL to stop the service. */
typedef int (*cw_timer_fn)(void *user_data, const char *member, int64_t due, cw_outbox *out);

/* Fires the timers of every assigned partition of the timer topic that are
 * due strictly before that partition's watermark, skipping those fired
 * earlier in the same batch. CW_OK, CW_RETRY, or CW_FATAL from fn.
 *
 * The stream calls the service's tick after every message that moves the
 * watermark past the earliest known timer, not only once per batch, so a
 * replay of history fires each timer at the same point of the event stream
 * as live processing did. Services must therefore move the clock and add
 * timers through the two functions below. */
int cw_checker_fire_timers(cw_checker *ck, cw_timer_fn fn, void *user_data, cw_outbox *out);
/* Raises the event clocks (service-wide and of the partition) to at.
 * 0 or -1. */
int cw_checker_advance_clock(cw_checker *ck, int partition, int64_t at);
/* Sends b's writes with the clocks' advance to at last, in one round trip
 * (as cw_redis_batch_exec, then cw_checker_advance_clock). Clears b. 0 or
 * -1. */
int cw_checker_exec_with_clock(cw_checker *ck, cw_redis_batch *b, int partition, int64_t at);
/* As cw_checker_exec_with_clock, and hands the reply of b's command `index`
 * (counted before the clock's is added) to *reply, which the caller frees.
 * 0, or -1 with *reply NULL. */
#define CW_CHECKER_NO_REPLY ((size_t)-1)
int cw_checker_exec_with_clock_reply(cw_checker *ck, cw_redis_batch *b, int partition, int64_t at,
                                     size_t index, redisReply **reply);
/* Adds a timer to b (cw_timers_add) and remembers its due time. */
int cw_checker_add_timer(cw_checker *ck, cw_redis_batch *b, int partition, int64_t due,
                         const char *member);

/* Removes the timers fired since the last call (their results are
 * durable). A crash before this fires them again, under the same ids. */
void cw_checker_timers_done(cw_checker *ck);

#endif
