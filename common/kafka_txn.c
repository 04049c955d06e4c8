#include "kafka_txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
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
    rd_kafka_conf_t *conf = cw_kafka_new_conf(cfg, transactional_id, err, errlen);
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
    rd_kafka_t *rk = cw_kafka_new_client(RD_KAFKA_PRODUCER, conf, cfg, err, errlen);
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
    const uint8_t *wire;
    size_t wire_len;
    uint8_t *owned;
    if (cw_avro_to_wire(r->value, r->value_len, &wire, &wire_len, &owned, err, errlen) != 0)
        return CW_FATAL; /* a schema without a registry id: no retry helps */
    for (;;) {
        e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(r->topic),
                              RD_KAFKA_V_VALUE((void *)wire, wire_len),
                              RD_KAFKA_V_KEY((void *)r->key, r->key_len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(p->rk, 10);
    }
    free(owned);
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

/* ---- consumers ----------------------------------------------------------- */

rd_kafka_t *cw_txn_consumer_new(const cw_config *cfg, const char *group_id, char *err,
                                size_t errlen)
{
    return cw_kafka_new_reader(cfg, group_id, err, errlen);
}
