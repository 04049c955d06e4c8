#include "reference_replay.h"

#include <stdio.h>
#include <string.h>

#include "kafka.h"
#include "kafka_reader.h"
#include "reference_store.h"

typedef struct {
    cw_redis *redis;
    cw_redis_batch batch;
    cw_state_replay_fn fn;
    void *user_data;
    long stored;
    int failed;
} replay_run;

static int replay_flush(replay_run *run)
{
    if (run->batch.count == 0)
        return 0;
    if (cw_redis_batch_exec(run->redis, &run->batch) != 0) {
        run->failed = 1;
        return -1;
    }
    return 0;
}

static int replay_one(void *user_data, const rd_kafka_message_t *m)
{
    replay_run *run = user_data;
    const cw_avro_schema *s;
    avro_value_t v;
    char err[200];
    if (m->payload == NULL || cw_avro_decode(m->payload, m->len, &s, &v, err, sizeof(err)) != 0)
        return 0; /* the topic's own consumer dead-letters it */
    if (run->fn(run->user_data, m, s, &v, &run->batch) == 1)
        run->stored++;
    avro_value_decref(&v);
    if (run->batch.count > CW_REDIS_BATCH_MAX_CMDS - CW_STATE_REPLAY_MAX_CMDS)
        return replay_flush(run);
    return 0;
}

long cw_state_replay_topic(const struct cw_config *cfg, cw_redis *r, const char *topic,
                           cw_state_replay_fn fn, void *user_data, char *err, size_t errlen)
{
    replay_run run = {.redis = r, .fn = fn, .user_data = user_data};
    if (cw_kafka_read_topic(cfg, topic, replay_one, &run, err, errlen) < 0 ||
        replay_flush(&run) != 0) {
        if (run.failed)
            snprintf(err, errlen, "Redis failed while rebuilding from %s", topic);
        cw_redis_batch_clear(&run.batch);
        return -1;
    }
    return run.stored;
}

static int bootstrap_one(void *user_data, const rd_kafka_message_t *m, const cw_avro_schema *s,
                         avro_value_t *v, cw_redis_batch *b)
{
    (void)user_data;
    (void)m;
    int rc = 1;
    if (strcmp(s->name, "Elder") == 0)
        rc = cw_state_store_elder(b, v);
    else if (strcmp(s->name, "Caregiver") == 0)
        rc = cw_state_store_caregiver(b, v);
    else if (strcmp(s->name, "Contract") == 0)
        rc = cw_state_store_contract(b, v);
    else if (strcmp(s->name, "OrderAssigned") == 0)
        rc = cw_state_store_order(b, v);
    else if (strcmp(s->name, "ElderStatusChanged") == 0)
        rc = cw_state_store_elder_status(b, v);
    return rc == 0;
}

long cw_state_bootstrap(const struct cw_config *cfg, cw_redis *r, const char *const *topics,
                        char *err, size_t errlen)
{
    long stored = 0;
    for (size_t i = 0; topics[i] != NULL; i++) {
        long n = cw_state_replay_topic(cfg, r, topics[i], bootstrap_one, NULL, err, errlen);
        if (n < 0)
            return -1;
        stored += n;
    }
    return stored;
}
