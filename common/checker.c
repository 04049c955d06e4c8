#include "checker.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_http.h"
#include "event_clock.h"
#include "log.h"
#include "redis_keys.h"
#include "reference_replay.h"
#include "service.h"
#include "timers.h"
#include "timeutil.h"
#include "topics.h"

#define MAX_SPECS 8
#define MAX_TOPICS 8

const cw_cfg_spec cw_checker_config_spec[] = {
    {.key = "stream.group_id", .type = CW_CFG_STRING,
     .help = "consumer group; empty = carewatch-<service>"},
    {.key = "stream.allowed_lateness_minutes", .type = CW_CFG_DOUBLE, .default_value = "2",
     .min = 0, .max = 10080,
     .help = "events up to this late are judged as if they had come in order; timers fire "
             "this long after their due time"},
    {.key = "stream.quiet_partition_ms", .type = CW_CFG_INT, .default_value = "2000", .min = 0,
     .max = 600000,
     .help = "a partition without messages this long, while the whole input has none either, "
             "follows the service-wide clock, so its timers fire though its caregivers are "
             "idle"},
    {.key = "stream.batch_max", .type = CW_CFG_INT, .default_value = "500", .min = 1,
     .max = 100000, .help = "messages handled per produce-and-commit round"},
    {.key = "stream.max_record_bytes", .type = CW_CFG_INT, .default_value = "65536",
     .min = 1024, .max = 900000,
     .help = "longer input records are dead-lettered undecoded (decoding can multiply size)"},
    {.key = NULL},
};

typedef struct {
    cw_producer *producer;
    cw_redis *redis;
} readiness;

static int checker_ready(void *user_data, char *reason, size_t reason_len)
{
    readiness *r = user_data;
    return cw_service_reachable(r->redis, r->producer, reason, reason_len);
}

/* The client's idea of a partition's end is only as fresh as its last
 * fetch: records a producer wrote to several partitions at once (an
 * ingest batch) may be in the log already, but not yet known here, when
 * another partition's share of them has been read and has moved the
 * service-wide clock. Before an idle partition follows that clock, the
 * broker is asked where the partition ends. 1 when everything up to it
 * was handled, 0 otherwise (or when the broker cannot say). */
static int end_at_broker(rd_kafka_t *rk, const cw_checker *ck, int partition)
{
    int64_t low = -1, high = -1;
    if (rd_kafka_query_watermark_offsets(rk, ck->timer_topic, partition, &low, &high, 2000) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    return high == low || ck->consumed_to[partition] >= high;
}

/* Whether a partition of the timer topic counts as quiet: no message from
 * it for a while, and the client knows its end and that everything up to
 * it was handled. Only cached offsets, except once per partition the
 * group's committed offset (where a restarted instance starts from). */
static int quiet(cw_checker *ck, int partition)
{
    int64_t low = -1, high = -1;
    /* The whole input quiet too, not the partition alone: while records
     * flow, another partition's share of what a producer wrote at the same
     * moment may still be on its way to the broker (partitions are
     * appended one by one, in any order). */
    int64_t now = cw_now_ms();
    if (now - ck->last_message_ms[partition] < ck->quiet_ms ||
        now - ck->last_any_message_ms < ck->quiet_ms)
        return 0;
    rd_kafka_t *rk = cw_consumer_handle(ck->consumer);
    rd_kafka_get_watermark_offsets(rk, ck->timer_topic, partition, &low, &high);
    if (high < 0)
        return 0; /* nothing fetched yet: its backlog is unknown */
    if (high == low)
        return end_at_broker(rk, ck, partition); /* empty, as far as the client knows */
    if (ck->consumed_to[partition] == 0 && !ck->committed_known[partition]) {
        rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(pos, ck->timer_topic, partition);
        if (rd_kafka_committed(rk, pos, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ck->committed_known[partition] = 1;
            if (pos->elems[0].offset > 0)
                ck->consumed_to[partition] = pos->elems[0].offset;
        }
        rd_kafka_topic_partition_list_destroy(pos);
    }
    return ck->consumed_to[partition] >= high && end_at_broker(rk, ck, partition);
}

int cw_checker_watermark(cw_checker *ck, int partition, int64_t *wm)
{
    int64_t global, pclock;
    if (cw_state_get_clock(ck->redis, ck->name, partition, &global, &pclock) != 0)
        return -1;
    if (partition >= 0 && partition < CW_CHECKER_MAX_PARTITIONS)
        ck->pclock[partition] = pclock;
    ck->clock = global;
    int is_quiet = partition >= 0 && partition < CW_CHECKER_MAX_PARTITIONS &&
                   quiet(ck, partition);
    *wm = cw_watermark(pclock, global, is_quiet, cw_now_ms(), ck->live, ck->lateness_ms);
    return 0;
}

#define TIMERS_PER_PARTITION 1000

static void forget_fired(cw_checker *ck)
{
    for (size_t i = 0; i < ck->fired_count; i++)
        cw_timers_free(&ck->fired[i]);
    ck->fired_count = 0;
}

/* A timer set again for another time after it fired is a new one. */
static int already_fired(const cw_checker *ck, int partition, const char *member, int64_t due)
{
    for (size_t i = 0; i < ck->fired_count; i++) {
        if (ck->fired_partition[i] != partition)
            continue;
        for (size_t k = 0; k < ck->fired[i].count; k++)
            if (ck->fired[i].due[k] == due && strcmp(ck->fired[i].members[k], member) == 0)
                return 1;
    }
    return 0;
}

/* The earliest timer of a partition that is not due before wm. */
static int refresh_next_due(cw_checker *ck, int partition, int64_t wm)
{
    char key[CW_KEY_MAX], min[32];
    snprintf(key, sizeof(key), "cw:timers:%s:%d", ck->name, partition);
    snprintf(min, sizeof(min), "%" PRId64, wm);
    const char *argv[] = {"ZRANGEBYSCORE", key, min, "+inf", "WITHSCORES", "LIMIT", "0", "1"};
    redisReply *reply = cw_redis_cmd(ck->redis, 8, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    ck->next_due[partition] =
        reply->elements == 2 ? strtoll(reply->element[1]->str, NULL, 10) : INT64_MAX;
    freeReplyObject(reply);
    return 0;
}

/* A tick that fails leaves its timers in Redis and forgets them here: the
 * stream drops the tick's results, so they must fire again, not be removed
 * by the next tick_done as if their results were out. */
static int retry_tick(cw_checker *ck, size_t first)
{
    for (size_t i = first; i < ck->fired_count; i++)
        cw_timers_free(&ck->fired[i]);
    ck->fired_count = first;
    /* The next tick looks at every partition. */
    memset(ck->tick_wanted, 0, sizeof(ck->tick_wanted));
    return CW_RETRY;
}

int cw_checker_fire_timers(cw_checker *ck, cw_timer_fn fn, void *user_data, cw_outbox *out)
{
    int32_t parts[CW_CHECKER_MAX_PARTITIONS];
    size_t n = cw_stream_assigned(ck->consumer, ck->timer_topic, parts, CW_CHECKER_MAX_PARTITIONS);
    size_t first = ck->fired_count;
    /* A tick a message asked for within its batch looks at the partitions
     * whose messages made a timer due (the others' watermarks have not
     * moved since they were last looked at): three round trips, not three
     * per assigned partition. The tick after every batch, and when idle,
     * looks at them all. */
    int wanted_only = 0;
    for (size_t i = 0; i < n; i++)
        if (parts[i] < CW_CHECKER_MAX_PARTITIONS && ck->tick_wanted[parts[i]])
            wanted_only = 1;
    for (size_t i = 0; i < n; i++) {
        int64_t wm;
        if (parts[i] >= CW_CHECKER_MAX_PARTITIONS)
            continue;
        if (wanted_only && !ck->tick_wanted[parts[i]])
            continue;
        ck->tick_wanted[parts[i]] = 0;
        if (cw_checker_watermark(ck, parts[i], &wm) != 0)
            return retry_tick(ck, first);
        if (ck->fired_count < CW_CHECKER_MAX_FIRED) {
            cw_timer_list due;
            if (cw_timers_due(ck->redis, ck->name, parts[i], wm, TIMERS_PER_PARTITION, &due) != 0)
                return retry_tick(ck, first);
            /* Keep only the ones not fired earlier in this batch. */
            size_t kept = 0;
            for (size_t k = 0; k < due.count; k++) {
                if (already_fired(ck, parts[i], due.members[k], due.due[k])) {
                    free(due.members[k]);
                    continue;
                }
                due.members[kept] = due.members[k];
                due.due[kept++] = due.due[k];
            }
            due.count = kept;
            if (kept == 0) {
                cw_timers_free(&due);
            } else {
                ck->fired[ck->fired_count] = due;
                ck->fired_partition[ck->fired_count++] = parts[i];
            }
        }
        if (refresh_next_due(ck, parts[i], wm) != 0)
            return retry_tick(ck, first);
    }
    /* Fired in due order across the partitions (each list is sorted), so an
     * instance holding several partitions still acts in event-time order
     * when a watermark jump releases many timers at once. */
    size_t pos[CW_CHECKER_MAX_FIRED] = {0};
    for (;;) {
        size_t best = SIZE_MAX;
        for (size_t i = first; i < ck->fired_count; i++) {
            if (pos[i] == ck->fired[i].count)
                continue;
            if (best == SIZE_MAX || ck->fired[i].due[pos[i]] < ck->fired[best].due[pos[best]])
                best = i;
        }
        if (best == SIZE_MAX)
            return CW_OK;
        size_t k = pos[best]++;
        int rc = fn(user_data, ck->fired[best].members[k], ck->fired[best].due[k], out);
        if (rc != CW_OK) {
            /* This tick's timers stay in Redis: they fire again. */
            retry_tick(ck, first);
            return rc == CW_FATAL ? CW_FATAL : CW_RETRY;
        }
    }
}

void cw_checker_timers_done(cw_checker *ck)
{
    for (size_t i = 0; i < ck->fired_count; i++)
        if (cw_timers_remove(ck->redis, ck->name, ck->fired_partition[i], &ck->fired[i]) != 0)
            break;
    forget_fired(ck);
}

int cw_checker_advance_clock(cw_checker *ck, int partition, int64_t at)
{
    int64_t pclock;
    if (cw_state_advance_clock(ck->redis, ck->name, partition, at, &ck->clock, &pclock) != 0)
        return -1;
    if (partition >= 0 && partition < CW_CHECKER_MAX_PARTITIONS)
        ck->pclock[partition] = pclock;
    return 0;
}

int cw_checker_exec_with_clock(cw_checker *ck, cw_redis_batch *b, int partition, int64_t at)
{
    return cw_checker_exec_with_clock_reply(ck, b, partition, at, CW_CHECKER_NO_REPLY, NULL);
}

int cw_checker_exec_with_clock_reply(cw_checker *ck, cw_redis_batch *b, int partition, int64_t at,
                                     size_t index, redisReply **reply)
{
    int64_t global, pclock;
    int wanted = index != CW_CHECKER_NO_REPLY;
    if (reply)
        *reply = NULL;
    cw_state_add_clock(b, ck->name, partition, at);
    size_t which[2] = {index, b->count - 1};
    redisReply *kept[2] = {NULL, NULL};
    int rc = wanted ? cw_redis_batch_exec_keep(ck->redis, b, 2, which, kept)
                    : cw_redis_batch_exec_keep(ck->redis, b, 1, &which[1], &kept[1]);
    if (rc == 0)
        rc = cw_state_clock_reply(kept[1], &global, &pclock);
    if (kept[1])
        freeReplyObject(kept[1]);
    if (rc != 0) {
        if (kept[0])
            freeReplyObject(kept[0]);
        return -1;
    }
    if (wanted)
        *reply = kept[0];
    ck->clock = global;
    if (partition >= 0 && partition < CW_CHECKER_MAX_PARTITIONS)
        ck->pclock[partition] = pclock;
    return 0;
}

int cw_checker_add_timer(cw_checker *ck, cw_redis_batch *b, int partition, int64_t due,
                         const char *member)
{
    if (partition >= 0 && partition < CW_CHECKER_MAX_PARTITIONS && due < ck->next_due[partition])
        ck->next_due[partition] = due;
    return cw_timers_add(b, ck->name, partition, due, member);
}

/* Stream hook, after every handled message: a timer of its partition may
 * be due once that partition's watermark passed the earliest one known. */
static int checker_tick_needed(void *data, const char *topic, int partition, int64_t offset)
{
    cw_checker *ck = data;
    ck->last_any_message_ms = cw_now_ms();
    if (strcmp(topic, ck->timer_topic) != 0 || partition < 0 ||
        partition >= CW_CHECKER_MAX_PARTITIONS)
        return 0;
    ck->consumed_to[partition] = offset + 1;
    ck->last_message_ms[partition] = cw_now_ms();
    /* Only the partition's own clock here: it has just had a message, so it
     * is not quiet. */
    int64_t wm = cw_watermark(ck->pclock[partition], ck->clock, 0, cw_now_ms(), ck->live,
                              ck->lateness_ms);
    if (wm <= ck->next_due[partition])
        return 0;
    ck->tick_wanted[partition] = 1;
    return 1;
}

/* Stream hook: a partition is read again from offset because Redis lost
 * what was handled after it. Until those messages came again it is not
 * caught up (else a watermark following the other partitions would fire
 * its timers before the replay restored what cancels them), and its
 * earliest timer is unknown (Redis holds the older set). */
static void checker_rewound(void *data, const char *topic, int32_t partition, int64_t offset)
{
    cw_checker *ck = data;
    if (strcmp(topic, ck->timer_topic) != 0 || partition < 0 ||
        partition >= CW_CHECKER_MAX_PARTITIONS)
        return;
    ck->consumed_to[partition] = offset;
    ck->committed_known[partition] = 1;
    ck->last_message_ms[partition] = cw_now_ms();
    ck->last_any_message_ms = cw_now_ms();
    ck->next_due[partition] = INT64_MIN;
}

static int rebuild_reference(void *rebuild_data)
{
    cw_checker *ck = rebuild_data;
    char err[256], n[24];
    long stored = cw_state_bootstrap(ck->cfg, ck->redis, ck->bootstrap_topics, err, sizeof(err));
    if (stored < 0) {
        cw_log_error("cannot rebuild reference data from Kafka", "error", err, NULL);
        return -1;
    }
    snprintf(n, sizeof(n), "%ld", stored);
    cw_log_info("reference data rebuilt from Kafka", "records", n, NULL);
    return 0;
}

/* The stream's hooks get the checker; the service's handler and timer get
 * its context. */
static int checker_handle(void *user_data, const cw_stream_msg *msg, cw_outbox *out,
                          char *reason, size_t reason_len)
{
    cw_checker *ck = user_data;
    return ck->handle(ck->user_data, msg, out, reason, reason_len);
}

/* The tick of a service with timers: fire what the watermark passed. */
static int checker_tick(void *user_data, cw_outbox *out)
{
    cw_checker *ck = user_data;
    return cw_checker_fire_timers(ck, ck->on_timer, ck->user_data, out);
}

static void checker_tick_done(void *user_data)
{
    cw_checker_timers_done(user_data);
}

static int run(const cw_checker_def *def, cw_checker *ck)
{
    char err[512], group[128];
    readiness ready = {0};
    int rc = 1;
    size_t ntopics = 0;
    while (def->topics[ntopics] != NULL && ntopics < MAX_TOPICS)
        ntopics++;

    const char *configured_group = cw_config_str(ck->cfg, "stream.group_id");
    if (configured_group[0])
        snprintf(group, sizeof(group), "%s", configured_group);
    else
        snprintf(group, sizeof(group), "carewatch-%s", def->name);
    ck->live = strcmp(cw_config_str(ck->cfg, "time.mode"), "live") == 0;
    ck->lateness_ms =
        (int64_t)(cw_config_double(ck->cfg, "stream.allowed_lateness_minutes") * 60000.0);

    ck->redis = cw_redis_new(ck->cfg);
    ready.redis = cw_redis_new(ck->cfg);
    if (ck->redis == NULL || ready.redis == NULL) {
        cw_log_error("cannot create the Redis client", NULL);
        goto out;
    }
    ck->producer = cw_producer_new(ck->cfg, def->name, err, sizeof(err));
    if (ck->producer == NULL) {
        cw_log_error("cannot create the Kafka producer", "error", err, NULL);
        goto out;
    }
    ready.producer = ck->producer;
    ck->consumer = cw_consumer_new(ck->cfg, group, def->topics, ntopics, err, sizeof(err));
    if (ck->consumer == NULL) {
        cw_log_error("cannot create the Kafka consumer", "error", err, NULL);
        goto out;
    }
    ck->handlers.service = def->name;
    ck->handlers.redis = ck->redis;
    ck->handlers.tick_needed = checker_tick_needed;
    ck->handlers.tick_needed_data = ck;
    ck->handlers.rewound = checker_rewound;
    ck->handlers.rewound_data = ck;
    ck->timer_topic = def->timer_topic ? def->timer_topic : CW_TOPIC_VISIT_EVENTS;
    ck->quiet_ms = cw_config_int(ck->cfg, "stream.quiet_partition_ms");
    for (int i = 0; i < CW_CHECKER_MAX_PARTITIONS; i++) {
        ck->next_due[i] = INT64_MIN; /* unknown until the first tick */
        ck->last_message_ms[i] = cw_now_ms();
    }
    ck->last_any_message_ms = cw_now_ms();
    ck->bootstrap_topics = def->bootstrap_topics;
    if (def->bootstrap_topics != NULL) {
        ck->handlers.rebuild = rebuild_reference;
        ck->handlers.rebuild_data = ck;
    }
    ck->handlers.batch_max = (int)cw_config_int(ck->cfg, "stream.batch_max");
    ck->handlers.max_record_bytes = (size_t)cw_config_int(ck->cfg, "stream.max_record_bytes");
    if (def->context_new != NULL) {
        ck->user_data = def->context_new(ck);
        if (ck->user_data == NULL)
            goto out;
    }
    ck->handlers.user_data = ck;
    ck->handle = def->handle;
    if (def->handle != NULL)
        ck->handlers.handle = checker_handle;
    ck->on_timer = def->on_timer;
    if (def->on_timer != NULL) {
        ck->handlers.tick = checker_tick;
        ck->handlers.tick_done = checker_tick_done;
    }
    if (def->setup != NULL && def->setup(ck) != 0)
        goto out_teardown;
    if (ck->handlers.handle == NULL) {
        cw_log_error("the service defines no handler", NULL);
        goto out_teardown;
    }
    if (cw_admin_start(cw_config_str(ck->cfg, "admin.bind"), (int)cw_config_int(ck->cfg, "admin.port"),
                       checker_ready, &ready, err, sizeof(err)) != 0) {
        cw_log_error("cannot start the admin listener", "error", err, NULL);
        goto out_teardown;
    }
    char port[16];
    snprintf(port, sizeof(port), "%d", cw_admin_port());
    cw_log_info("started", "group", group, "admin_port", port, "time_mode",
                cw_config_str(ck->cfg, "time.mode"), NULL);
    rc = cw_stream_run(ck->consumer, ck->producer, &ck->handlers) == 0 ? 0 : 1;
    cw_log_info("shutting down", NULL);
    cw_admin_stop();
out_teardown:
    if (def->context_free != NULL)
        def->context_free(ck->user_data);
    ck->user_data = NULL;
    forget_fired(ck);
out:
    cw_consumer_free(ck->consumer);
    cw_producer_free(ck->producer);
    cw_redis_free(ready.redis);
    cw_redis_free(ck->redis);
    return rc;
}

int cw_checker_main(const cw_checker_def *def, int argc, char **argv)
{
    const cw_cfg_spec *specs[MAX_SPECS + 2];
    size_t n = 0;
    specs[n++] = cw_checker_config_spec;
    for (size_t i = 0; def->specs != NULL && def->specs[i] != NULL && n <= MAX_SPECS; i++)
        specs[n++] = def->specs[i];
    specs[n] = NULL;

    cw_service svc;
    int start = cw_service_start(&svc, def->name, argc, argv, specs);
    if (start != CW_SERVICE_RUN)
        return start == CW_SERVICE_EXIT_OK ? 0 : 2;
    cw_checker ck;
    memset(&ck, 0, sizeof(ck));
    ck.name = def->name;
    ck.cfg = svc.cfg;
    int rc = run(def, &ck);
    cw_service_finish(&svc);
    return rc;
}
