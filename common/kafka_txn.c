#include "kafka_txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shutdown.h"

/* How long one commit, abort or offsets call may block before it is retried
 * (each retry first looks for a shutdown request). */
#define TXN_CALL_TIMEOUT_MS 30000

struct cw_txn_producer {
    rd_kafka_t *rk;
    int open;
};

static void log_delivery_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (msg->err)
        cw_log_warn("transactional delivery failed", "topic", rd_kafka_topic_name(msg->rkt),
                    "error", rd_kafka_err2name(msg->err), NULL);
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

/* A configuration with the brokers, client id and error logging; NULL with
 * err. */
static rd_kafka_conf_t *new_conf(const cw_config *cfg, const char *client_id, char *err,
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

static rd_kafka_t *create(rd_kafka_type_t type, rd_kafka_conf_t *conf, const cw_config *cfg,
                          char *err, size_t errlen)
{
    char rkerr[256];
    if (cw_kafka_conf_apply_extra(conf, cfg, err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, rkerr, sizeof(rkerr));
    if (rk == NULL) {
        snprintf(err, errlen, "kafka client: %s", rkerr);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* Writes error's text into err and destroys it. */
static void take_error(rd_kafka_error_t *error, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s: %s", what, rd_kafka_error_name(error),
             rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
}

/* ---- producer ------------------------------------------------------------ */

cw_txn_producer *cw_txn_producer_new(const cw_config *cfg, const char *transactional_id,
                                     int timeout_ms, char *err, size_t errlen)
{
    char timeout[32];
    rd_kafka_conf_t *conf = new_conf(cfg, transactional_id, err, errlen);
    if (conf == NULL)
        return NULL;
    snprintf(timeout, sizeof(timeout), "%lld",
             (long long)cw_config_int(cfg, "kafka.message_timeout_ms"));
    if (cw_kafka_conf_set(conf, "transactional.id", transactional_id, err, errlen) ||
        cw_kafka_conf_set(conf, "enable.idempotence", "true", err, errlen) ||
        cw_kafka_conf_set(conf, "acks", "all", err, errlen) ||
        cw_kafka_conf_set(conf, "message.timeout.ms", timeout, err, errlen) ||
        cw_kafka_conf_set(conf, "linger.ms", "5", err, errlen) ||
        cw_kafka_conf_set(conf, "compression.type", "lz4", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, log_delivery_cb);
    rd_kafka_t *rk = create(RD_KAFKA_PRODUCER, conf, cfg, err, errlen);
    if (rk == NULL)
        return NULL;
    rd_kafka_error_t *error = rd_kafka_init_transactions(rk, timeout_ms);
    if (error != NULL) {
        take_error(error, "init_transactions", err, errlen);
        rd_kafka_destroy(rk);
        return NULL;
    }
    cw_txn_producer *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        rd_kafka_destroy(rk);
        return NULL;
    }
    p->rk = rk;
    return p;
}

void cw_txn_producer_free(cw_txn_producer *p)
{
    if (p == NULL)
        return;
    if (p->open) {
        char err[256];
        if (cw_txn_abort(p, err, sizeof(err)) != CW_OK)
            cw_log_warn("abort at close failed", "error", err, NULL);
    }
    rd_kafka_destroy(p->rk);
    free(p);
}

int cw_txn_begin(cw_txn_producer *p, char *err, size_t errlen)
{
    rd_kafka_error_t *error = rd_kafka_begin_transaction(p->rk);
    if (error != NULL) {
        take_error(error, "begin_transaction", err, errlen);
        return CW_FATAL;
    }
    p->open = 1;
    return CW_OK;
}

int cw_txn_abort(cw_txn_producer *p, char *err, size_t errlen)
{
    for (;;) {
        rd_kafka_error_t *error = rd_kafka_abort_transaction(p->rk, TXN_CALL_TIMEOUT_MS);
        if (error == NULL) {
            p->open = 0;
            return CW_OK;
        }
        int retry = rd_kafka_error_is_retriable(error) && !cw_shutdown_requested();
        take_error(error, "abort_transaction", err, errlen);
        if (!retry)
            return CW_FATAL;
        cw_log_warn("retrying the abort", "error", err, NULL);
    }
}

/* After a failed call: abort when the transaction can still be aborted. */
static int fail(cw_txn_producer *p, rd_kafka_error_t *error, const char *what, char *err,
                size_t errlen)
{
    int fatal = rd_kafka_error_is_fatal(error);
    take_error(error, what, err, errlen);
    if (fatal)
        return CW_FATAL;
    char abort_err[256];
    if (cw_txn_abort(p, abort_err, sizeof(abort_err)) != CW_OK) {
        snprintf(err, errlen, "%s", abort_err);
        return CW_FATAL;
    }
    return CW_RETRY;
}

int cw_txn_produce(cw_txn_producer *p, const cw_kafka_record *r, char *err, size_t errlen)
{
    rd_kafka_resp_err_t e;
    for (;;) {
        e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(r->topic),
                              RD_KAFKA_V_VALUE((void *)r->value, r->value_len),
                              RD_KAFKA_V_KEY((void *)r->key, r->key_len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(p->rk, 10);
    }
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        return CW_OK;
    snprintf(err, errlen, "produce to %s: %s", r->topic, rd_kafka_err2name(e));
    char abort_err[256];
    if (e == RD_KAFKA_RESP_ERR__FATAL || cw_txn_abort(p, abort_err, sizeof(abort_err)) != CW_OK)
        return CW_FATAL;
    return CW_RETRY;
}

int cw_txn_commit(cw_txn_producer *p, rd_kafka_t *consumer,
                  const rd_kafka_topic_partition_list_t *offsets, char *err, size_t errlen)
{
    if (offsets != NULL && offsets->cnt > 0) {
        rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(consumer);
        if (cgmd == NULL) {
            snprintf(err, errlen, "no consumer group metadata");
            char abort_err[256];
            return cw_txn_abort(p, abort_err, sizeof(abort_err)) == CW_OK ? CW_RETRY
                                                                              : CW_FATAL;
        }
        rd_kafka_error_t *error;
        for (;;) {
            error = rd_kafka_send_offsets_to_transaction(p->rk, offsets, cgmd,
                                                         TXN_CALL_TIMEOUT_MS);
            if (error == NULL || !rd_kafka_error_is_retriable(error) || cw_shutdown_requested())
                break;
            cw_log_warn("retrying send_offsets_to_transaction", "error",
                        rd_kafka_error_string(error), NULL);
            rd_kafka_error_destroy(error);
        }
        rd_kafka_consumer_group_metadata_destroy(cgmd);
        if (error != NULL)
            return fail(p, error, "send_offsets_to_transaction", err, errlen);
    }
    for (;;) {
        rd_kafka_error_t *error = rd_kafka_commit_transaction(p->rk, TXN_CALL_TIMEOUT_MS);
        if (error == NULL) {
            p->open = 0;
            return CW_OK;
        }
        if (!rd_kafka_error_is_retriable(error) || cw_shutdown_requested())
            return fail(p, error, "commit_transaction", err, errlen);
        cw_log_warn("retrying commit_transaction", "error", rd_kafka_error_string(error), NULL);
        rd_kafka_error_destroy(error);
    }
}

int cw_txn_is_open(const cw_txn_producer *p)
{
    return p->open;
}

int cw_txn_ping(cw_txn_producer *p, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(p->rk, 0, NULL, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    int ok = md->broker_cnt > 0;
    rd_kafka_metadata_destroy(md);
    return ok ? 0 : -1;
}

rd_kafka_t *cw_txn_handle(cw_txn_producer *p)
{
    return p->rk;
}

int cw_kafka_topic_config(rd_kafka_t *rk, const char *topic, const char *name, char *value,
                          size_t len, int timeout_ms)
{
    char errstr[256];
    int rc = -1;
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_AdminOptions_t *opts =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    if (res == NULL || opts == NULL || q == NULL)
        goto out;
    if (rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, errstr, sizeof(errstr)) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        goto out;
    rd_kafka_DescribeConfigs(rk, &res, 1, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
    if (ev == NULL)
        goto out;
    const rd_kafka_DescribeConfigs_result_t *result = rd_kafka_event_DescribeConfigs_result(ev);
    size_t n = 0, entries = 0;
    const rd_kafka_ConfigResource_t **rs =
        result && rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR
            ? rd_kafka_DescribeConfigs_result_resources(result, &n)
            : NULL;
    if (rs != NULL && n == 1 &&
        rd_kafka_ConfigResource_error(rs[0]) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(rs[0], &entries);
        for (size_t i = 0; i < entries; i++) {
            if (strcmp(rd_kafka_ConfigEntry_name(e[i]), name) == 0) {
                const char *v = rd_kafka_ConfigEntry_value(e[i]);
                snprintf(value, len, "%s", v ? v : "");
                rc = 0;
            }
        }
    }
    rd_kafka_event_destroy(ev);
out:
    if (q != NULL)
        rd_kafka_queue_destroy(q);
    if (opts != NULL)
        rd_kafka_AdminOptions_destroy(opts);
    if (res != NULL)
        rd_kafka_ConfigResource_destroy(res);
    return rc;
}

/* ---- consumers ----------------------------------------------------------- */

static rd_kafka_t *reading_consumer(const cw_config *cfg, const char *group_id, char *err,
                                    size_t errlen)
{
    rd_kafka_conf_t *conf = new_conf(cfg, group_id, err, errlen);
    if (conf == NULL)
        return NULL;
    if (cw_kafka_conf_set(conf, "group.id", group_id, err, errlen) ||
        cw_kafka_conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
        cw_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
        cw_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
        cw_kafka_conf_set(conf, "isolation.level", "read_committed", err, errlen) ||
        /* An empty fetch waits at the broker 10 ms, not 500 (see kafka.c). */
        cw_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = create(RD_KAFKA_CONSUMER, conf, cfg, err, errlen);
    if (rk != NULL)
        rd_kafka_poll_set_consumer(rk);
    return rk;
}

rd_kafka_t *cw_txn_consumer_new(const cw_config *cfg, const char *group_id, char *err,
                                size_t errlen)
{
    return reading_consumer(cfg, group_id, err, errlen);
}

/* Every partition of topic with its low and end offsets (low in .metadata
 * is not used: offsets are queried into lows). */
static rd_kafka_topic_partition_list_t *partition_ends(rd_kafka_t *rk, const char *topic,
                                                       int64_t **lows, char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rkt == NULL) {
        snprintf(err, errlen, "%s: cannot create a topic handle", topic);
        return NULL;
    }
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(err, errlen, "%s: no metadata: %s", topic,
                 rd_kafka_err2str(e ? e
                                    : md->topic_cnt ? md->topics[0].err
                                                    : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        if (md != NULL)
            rd_kafka_metadata_destroy(md);
        return NULL;
    }
    int n = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
    *lows = calloc((size_t)(n > 0 ? n : 1), sizeof(**lows));
    if (*lows == NULL) {
        snprintf(err, errlen, "out of memory");
        rd_kafka_topic_partition_list_destroy(list);
        rd_kafka_metadata_destroy(md);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        int32_t part = md->topics[0].partitions[i].id;
        int64_t low, high;
        e = rd_kafka_query_watermark_offsets(rk, topic, part, &low, &high, 10000);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "%s[%d]: %s", topic, (int)part, rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(list);
            free(*lows);
            *lows = NULL;
            rd_kafka_metadata_destroy(md);
            return NULL;
        }
        rd_kafka_topic_partition_list_add(list, topic, part)->offset = high;
        (*lows)[list->cnt - 1] = low;
    }
    rd_kafka_metadata_destroy(md);
    return list;
}

long cw_kafka_read_to_end(const cw_config *cfg, const char *topic,
                          int (*fn)(void *user_data, const rd_kafka_message_t *msg),
                          void *user_data, rd_kafka_topic_partition_list_t **ends, char *err,
                          size_t errlen)
{
    *ends = NULL;
    rd_kafka_t *rk = reading_consumer(cfg, "carewatch-reader", err, errlen);
    if (rk == NULL)
        return -1;
    int64_t *lows = NULL;
    rd_kafka_topic_partition_list_t *end = partition_ends(rk, topic, &lows, err, errlen);
    if (end == NULL) {
        rd_kafka_destroy(rk);
        return -1;
    }
    /* Only partitions that hold something are read; done[i] marks the
     * others and those read to their end. */
    rd_kafka_topic_partition_list_t *start = rd_kafka_topic_partition_list_new(end->cnt + 1);
    int *done = calloc((size_t)end->cnt + 1, sizeof(*done));
    int remaining = 0;
    long count = -1;
    if (done == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int i = 0; i < end->cnt; i++) {
        if (end->elems[i].offset > lows[i]) {
            rd_kafka_topic_partition_list_add(start, topic, end->elems[i].partition)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
            remaining++;
        } else {
            done[i] = 1;
        }
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, start);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "%s: assign: %s", topic, rd_kafka_err2str(e));
        goto out;
    }
    count = 0;
    while (remaining > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL) {
            /* Transaction markers take offsets no message is returned for:
             * a partition is also done once its position passes its end. */
            rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(end);
            if (rd_kafka_position(rk, pos) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                for (int i = 0; i < pos->cnt; i++) {
                    if (!done[i] && pos->elems[i].offset >= end->elems[i].offset) {
                        done[i] = 1;
                        remaining--;
                    }
                }
            }
            rd_kafka_topic_partition_list_destroy(pos);
            continue;
        }
        if (m->err) {
            int fatal = m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF;
            if (fatal)
                snprintf(err, errlen, "%s: %s", topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            if (fatal) {
                count = -1;
                break;
            }
            continue;
        }
        int i = 0;
        while (i < end->cnt && end->elems[i].partition != m->partition)
            i++;
        if (i == end->cnt || done[i] || m->offset >= end->elems[i].offset) {
            /* Past the end taken at the start: left for the caller's
             * consumer, which goes on from there. */
            rd_kafka_message_destroy(m);
            continue;
        }
        int stop = fn(user_data, m) != 0;
        count++;
        if (m->offset + 1 >= end->elems[i].offset) {
            done[i] = 1;
            remaining--;
        }
        rd_kafka_message_destroy(m);
        if (stop) {
            snprintf(err, errlen, "%s: stopped by the reader", topic);
            count = -1;
            break;
        }
    }
    rd_kafka_assign(rk, NULL);
out:
    free(done);
    free(lows);
    rd_kafka_topic_partition_list_destroy(start);
    rd_kafka_destroy(rk);
    if (count >= 0)
        *ends = end;
    else
        rd_kafka_topic_partition_list_destroy(end);
    return count;
}
