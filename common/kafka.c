#include "kafka.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avro_codec.h"
#include "log.h"

/* Shared mode (cw_producer_share): a poller thread serves every delivery
 * report and wakes the senders waiting on `delivered`. Without it, the one
 * sending thread polls for its own reports. */
struct cw_producer {
    rd_kafka_t *rk;
    int shared;
    atomic_int stop_poller;
    pthread_t poller;
    pthread_mutex_t lock;
    pthread_cond_t delivered;
};

/* The group's committed offset of partitions this process has not been
 * handed a message of yet (their position is unknown until then), asked of
 * the broker once: cw_consumer_caught_up. */
#define COMMITTED_CACHE_MAX 256

typedef struct {
    char topic[128];
    int32_t partition;
    int64_t offset;
} committed_entry;

struct cw_consumer {
    rd_kafka_t *rk;
    committed_entry committed[COMMITTED_CACHE_MAX];
    size_t committed_count;
};

/* Delivery bookkeeping for one cw_producer_send_sync call. The opaque of
 * every message points at its cw_kafka_record; the record's err is written by
 * the delivery-report callback, which decrements the batch's outstanding
 * count through the record-to-batch pointer kept alongside. */
typedef struct {
    cw_kafka_record *record;
    atomic_size_t *outstanding;
    cw_producer *producer;
} delivery_slot;

int cw_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                      size_t errlen)
{
    char rkerr[256];
    if (rd_kafka_conf_set(conf, name, value, rkerr, sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka setting %s: %s", name, rkerr);
        return -1;
    }
    return 0;
}

int cw_kafka_conf_apply_extra(rd_kafka_conf_t *conf, const cw_config *cfg, char *err,
                              size_t errlen)
{
    size_t n = 0;
    const char *const *extra = cw_config_list(cfg, "kafka.extra", &n);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(extra[i], '=');
        if (!eq || eq == extra[i]) {
            snprintf(err, errlen, "kafka.extra: expected name=value, got '%s'", extra[i]);
            return -1;
        }
        char name[128];
        size_t name_len = (size_t)(eq - extra[i]);
        if (name_len >= sizeof(name)) {
            snprintf(err, errlen, "kafka.extra: property name too long");
            return -1;
        }
        memcpy(name, extra[i], name_len);
        name[name_len] = '\0';
        if (cw_kafka_conf_set(conf, name, eq + 1, err, errlen))
            return -1;
    }
    return 0;
}

void cw_kafka_log_error(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    cw_log_warn("kafka error", "error", rd_kafka_err2name((rd_kafka_resp_err_t)code), "reason",
                reason, NULL);
}

/* librdkafka's own log lines, as carewatch's JSON lines. */
static void log_cb(const rd_kafka_t *rk, int level, const char *facility, const char *buf)
{
    (void)rk;
    cw_log_level l = level <= 3 ? CW_LOG_ERROR : level <= 5 ? CW_LOG_WARN
                                             : level == 6 ? CW_LOG_INFO
                                                          : CW_LOG_DEBUG;
    cw_log(l, "librdkafka", "facility", facility, "detail", buf, NULL);
}

rd_kafka_conf_t *cw_kafka_new_conf(const cw_config *cfg, const char *client_id, char *err,
                                   size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (cw_kafka_conf_set(conf, "bootstrap.servers", cw_config_str(cfg, "kafka.brokers"), err,
                          errlen) ||
        cw_kafka_conf_set(conf, "client.id", client_id, err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_error_cb(conf, cw_kafka_log_error);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    return conf;
}

int cw_kafka_conf_reader(rd_kafka_conf_t *conf, const char *group_id, char *err, size_t errlen)
{
    return cw_kafka_conf_set(conf, "group.id", group_id, err, errlen) ||
                   cw_kafka_conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
                   cw_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
                   cw_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
                   cw_kafka_conf_set(conf, "isolation.level", "read_committed", err, errlen) ||
                   /* An empty fetch waits at the broker 10 ms, not 500: a
                    * record arriving then reaches the service that much
                    * sooner. */
                   cw_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, errlen)
               ? -1
               : 0;
}

rd_kafka_t *cw_kafka_new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf, const cw_config *cfg,
                                char *err, size_t errlen)
{
    char rkerr[256];
    /* kafka.extra comes last, so an operator can override any default. */
    if (cw_kafka_conf_apply_extra(conf, cfg, err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, rkerr, sizeof(rkerr));
    if (rk == NULL) {
        snprintf(err, errlen, "kafka %s: %s", type == RD_KAFKA_PRODUCER ? "producer" : "consumer",
                 rkerr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    (void)opaque;
    delivery_slot *slot = msg->_private;
    slot->record->err = msg->err;
    cw_producer *p = slot->producer;
    if (!p->shared) {
        atomic_fetch_sub(slot->outstanding, 1);
        return;
    }
    /* Under the lock, so that a sender cannot check the count and start
     * waiting between this decrement and the broadcast. */
    pthread_mutex_lock(&p->lock);
    atomic_fetch_sub(slot->outstanding, 1);
    pthread_cond_broadcast(&p->delivered);
    pthread_mutex_unlock(&p->lock);
}

cw_producer *cw_producer_new(const cw_config *cfg, const char *client_id, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = cw_kafka_new_conf(cfg, client_id, err, errlen);
    if (!conf)
        return NULL;
    /* linger 1 ms: a synchronous sender waits for the ack anyway, and a short
     * linger still lets one request's records share a batch. */
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%lld",
             (long long)cw_config_int(cfg, "kafka.message_timeout_ms"));
    if (cw_kafka_conf_set(conf, "message.timeout.ms", timeout, err, errlen) ||
        cw_kafka_conf_set(conf, "enable.idempotence", "true", err, errlen) ||
        cw_kafka_conf_set(conf, "acks", "all", err, errlen) ||
        cw_kafka_conf_set(conf, "linger.ms", "1", err, errlen) ||
        cw_kafka_conf_set(conf, "compression.type", "lz4", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = cw_kafka_new_client(RD_KAFKA_PRODUCER, conf, cfg, err, errlen);
    if (rk == NULL)
        return NULL;
    cw_producer *p = calloc(1, sizeof(*p));
    if (!p) {
        rd_kafka_destroy(rk);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->rk = rk;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->delivered, NULL);
    return p;
}

static void *poll_deliveries(void *arg)
{
    cw_producer *p = arg;
    while (!atomic_load(&p->stop_poller))
        rd_kafka_poll(p->rk, 100);
    return NULL;
}

int cw_producer_share(cw_producer *p)
{
    if (p->shared)
        return 0;
    atomic_init(&p->stop_poller, 0);
    p->shared = 1; /* before the thread starts: its callbacks read it */
    if (pthread_create(&p->poller, NULL, poll_deliveries, p) != 0) {
        p->shared = 0;
        return -1;
    }
    return 0;
}

void cw_producer_free(cw_producer *p)
{
    if (!p)
        return;
    if (p->shared) {
        atomic_store(&p->stop_poller, 1);
        pthread_join(p->poller, NULL);
    }
    rd_kafka_resp_err_t err = rd_kafka_flush(p->rk, 30000);
    if (err)
        cw_log_error("producer flush failed", "error", rd_kafka_err2str(err), NULL);
    rd_kafka_destroy(p->rk);
    pthread_cond_destroy(&p->delivered);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static rd_kafka_resp_err_t produce_one(cw_producer *p, cw_kafka_record *r, delivery_slot *slot)
{
    rd_kafka_t *rk = p->rk;
    /* The value in the framing avro.framing names (the copy, if any, is
     * freed once librdkafka has copied it: RD_KAFKA_MSG_F_COPY). */
    const uint8_t *wire;
    size_t wire_len;
    uint8_t *owned;
    char why[256];
    if (cw_avro_to_wire(r->value, r->value_len, &wire, &wire_len, &owned, why, sizeof(why)) != 0) {
        cw_log_error("cannot frame a record for Kafka", "topic", r->topic, "error", why, NULL);
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    }
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(r->topic),
            RD_KAFKA_V_VALUE((void *)wire, wire_len),
            RD_KAFKA_V_KEY((void *)r->key, r->key_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE(slot), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            free(owned);
            return err;
        }
        if (p->shared)
            nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000L}, NULL); /* the poller drains */
        else
            rd_kafka_poll(rk, 10);
    }
}

int cw_producer_send_sync(cw_producer *p, cw_kafka_record *records, size_t n)
{
    if (n == 0)
        return 0;
    delivery_slot *slots = calloc(n, sizeof(*slots));
    if (!slots) {
        for (size_t i = 0; i < n; i++)
            records[i].err = RD_KAFKA_RESP_ERR__FAIL;
        return -1;
    }
    atomic_size_t outstanding;
    atomic_init(&outstanding, 0);
    for (size_t i = 0; i < n; i++) {
        slots[i].record = &records[i];
        slots[i].outstanding = &outstanding;
        slots[i].producer = p;
        records[i].err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
        atomic_fetch_add(&outstanding, 1);
        rd_kafka_resp_err_t err = produce_one(p, &records[i], &slots[i]);
        if (err) {
            records[i].err = err;
            atomic_fetch_sub(&outstanding, 1);
        }
    }
    /* message.timeout.ms bounds this wait: every queued record gets a
     * delivery report, success or failure, within it. */
    if (p->shared) {
        pthread_mutex_lock(&p->lock);
        while (atomic_load(&outstanding) > 0)
            pthread_cond_wait(&p->delivered, &p->lock);
        pthread_mutex_unlock(&p->lock);
    } else {
        while (atomic_load(&outstanding) > 0)
            rd_kafka_poll(p->rk, 50);
    }
    free(slots);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (records[i].err) {
            cw_log_warn("produce failed", "topic", records[i].topic, "error",
                        rd_kafka_err2name(records[i].err), NULL);
            rc = -1;
        }
    }
    return rc;
}

int cw_producer_ping(cw_producer *p, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(p->rk, 0, NULL, &md, timeout_ms);
    if (err)
        return -1;
    int ok = md->broker_cnt > 0;
    rd_kafka_metadata_destroy(md);
    return ok ? 0 : -1;
}

rd_kafka_t *cw_producer_handle(cw_producer *p)
{
    return p->rk;
}

cw_consumer *cw_consumer_new(const cw_config *cfg, const char *group_id, const char *const *topics,
                             size_t ntopics, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = cw_kafka_new_conf(cfg, group_id, err, errlen);
    if (!conf)
        return NULL;
    if (cw_kafka_conf_reader(conf, group_id, err, errlen) ||
        /* A killed instance's partitions move to the others after 10 s
         * rather than the default 45 s (kafka.extra can change it). */
        cw_kafka_conf_set(conf, "session.timeout.ms", "10000", err, errlen) ||
        cw_kafka_conf_set(conf, "heartbeat.interval.ms", "3000", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = cw_kafka_new_client(RD_KAFKA_CONSUMER, conf, cfg, err, errlen);
    if (rk == NULL)
        return NULL;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new((int)ntopics);
    for (size_t i = 0; i < ntopics; i++)
        rd_kafka_topic_partition_list_add(subs, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t serr = rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (serr) {
        snprintf(err, errlen, "kafka subscribe: %s", rd_kafka_err2str(serr));
        rd_kafka_destroy(rk);
        return NULL;
    }
    cw_consumer *c = calloc(1, sizeof(*c));
    if (!c) {
        rd_kafka_destroy(rk);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->rk = rk;
    return c;
}

void cw_consumer_free(cw_consumer *c)
{
    if (!c)
        return;
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    free(c);
}

rd_kafka_message_t *cw_consumer_poll(cw_consumer *c, int timeout_ms)
{
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (!msg)
        return NULL;
    if (msg->err) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            cw_log_warn("consumer error", "error", rd_kafka_message_errstr(msg), NULL);
        rd_kafka_message_destroy(msg);
        return NULL;
    }
    return msg;
}

int cw_consumer_commit_message(cw_consumer *c, const rd_kafka_message_t *msg)
{
    rd_kafka_resp_err_t err = rd_kafka_commit_message(c->rk, msg, 0);
    if (err) {
        cw_log_error("offset commit failed", "error", rd_kafka_err2str(err), NULL);
        return -1;
    }
    return 0;
}

rd_kafka_t *cw_consumer_handle(cw_consumer *c)
{
    return c->rk;
}

static committed_entry *committed_find(cw_consumer *c, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < c->committed_count; i++)
        if (c->committed[i].partition == partition && strcmp(c->committed[i].topic, topic) == 0)
            return &c->committed[i];
    return NULL;
}

/* Fills the unknown positions of list (partitions not handed a message yet)
 * from the group's committed offsets, asking the broker only about those
 * not asked before. */
static void positions_from_committed(cw_consumer *c, rd_kafka_topic_partition_list_t *list)
{
    rd_kafka_topic_partition_list_t *ask = rd_kafka_topic_partition_list_new(list->cnt);
    for (int i = 0; i < list->cnt; i++)
        if (list->elems[i].offset < 0 &&
            committed_find(c, list->elems[i].topic, list->elems[i].partition) == NULL)
            rd_kafka_topic_partition_list_add(ask, list->elems[i].topic,
                                              list->elems[i].partition);
    if (ask->cnt > 0 && rd_kafka_committed(c->rk, ask, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < ask->cnt && c->committed_count < COMMITTED_CACHE_MAX; i++) {
            if (ask->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
                continue;
            committed_entry *e = &c->committed[c->committed_count++];
            snprintf(e->topic, sizeof(e->topic), "%s", ask->elems[i].topic);
            e->partition = ask->elems[i].partition;
            e->offset = ask->elems[i].offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(ask);
    for (int i = 0; i < list->cnt; i++) {
        if (list->elems[i].offset >= 0)
            continue;
        committed_entry *e = committed_find(c, list->elems[i].topic, list->elems[i].partition);
        if (e != NULL)
            list->elems[i].offset = e->offset;
    }
}

int cw_consumer_caught_up(cw_consumer *c)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    if (rd_kafka_assignment(c->rk, &list) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    int caught_up = list->cnt > 0 && rd_kafka_position(c->rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (caught_up)
        positions_from_committed(c, list);
    for (int i = 0; caught_up && i < list->cnt; i++) {
        int64_t low = -1, high = -1;
        rd_kafka_get_watermark_offsets(c->rk, list->elems[i].topic, list->elems[i].partition,
                                       &low, &high);
        if (high < 0)
            caught_up = 0; /* nothing fetched yet: its backlog is unknown */
        else if (high > low && list->elems[i].offset < high)
            caught_up = 0; /* behind, or never read and nothing committed */
    }
    rd_kafka_topic_partition_list_destroy(list);
    return caught_up;
}

rd_kafka_t *cw_kafka_new_reader(const cw_config *cfg, const char *group_id, char *err,
                                size_t errlen)
{
    rd_kafka_conf_t *conf = cw_kafka_new_conf(cfg, group_id, err, errlen);
    if (conf == NULL)
        return NULL;
    if (cw_kafka_conf_reader(conf, group_id, err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = cw_kafka_new_client(RD_KAFKA_CONSUMER, conf, cfg, err, errlen);
    if (rk != NULL)
        rd_kafka_poll_set_consumer(rk);
    return rk;
}
