/* Kafka helpers over librdkafka.
 *
 * Producer: idempotent (acks=all, safe retries). cw_producer_send_sync()
 * produces a set of records and returns only when the broker has
 * acknowledged every one of them or they have definitely failed; callers use
 * it to answer "accepted" or to commit consumer offsets only after their
 * results are durable. A producer is used by one thread at a time, unless
 * cw_producer_share() made it safe for many senders at once.
 *
 * Consumer: group member with auto-commit off; the caller commits a
 * message's offset after the results derived from it were acknowledged. */
#ifndef CW_KAFKA_H
#define CW_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct cw_producer cw_producer;
typedef struct cw_consumer cw_consumer;

/* One record to produce. Pointers are borrowed for the duration of the call;
 * err is set by cw_producer_send_sync (RD_KAFKA_RESP_ERR_NO_ERROR on ack). */
typedef struct {
    const char *topic;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    rd_kafka_resp_err_t err;
} cw_kafka_record;

/* Building blocks of a librdkafka configuration, for the helpers here and
 * in kafka_txn.c and kafka_reader.c. conf_set: one property, 0 or -1 with err naming it.
 * conf_apply_extra: kafka.extra's "name=value" properties (applied last,
 * so they override the defaults). log_error: an error_cb that logs. */
int cw_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                      size_t errlen);
int cw_kafka_conf_apply_extra(rd_kafka_conf_t *conf, const cw_config *cfg, char *err,
                              size_t errlen);
void cw_kafka_log_error(rd_kafka_t *rk, int code, const char *reason, void *opaque);

/* The clients of carewatch are made from these (here, kafka_txn.c and
 * kafka_reader.c): new_conf sets the brokers, the client id and logging
 * (NULL with err); conf_reader the settings of every reader (no automatic
 * commits, from the earliest offset, committed records only; 0 or -1);
 * new_client applies kafka.extra last and makes the client, taking conf
 * either way (NULL with err); new_reader is a consumer of assigned
 * partitions built of the three (destroy with rd_kafka_consumer_close and
 * rd_kafka_destroy). */
rd_kafka_conf_t *cw_kafka_new_conf(const cw_config *cfg, const char *client_id, char *err,
                                   size_t errlen);
int cw_kafka_conf_reader(rd_kafka_conf_t *conf, const char *group_id, char *err, size_t errlen);
rd_kafka_t *cw_kafka_new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf, const cw_config *cfg,
                                char *err, size_t errlen);
rd_kafka_t *cw_kafka_new_reader(const cw_config *cfg, const char *group_id, char *err,
                                size_t errlen);

/* Reads kafka.brokers, kafka.message_timeout_ms and kafka.extra from cfg.
 * Caller frees with cw_producer_free (which flushes first). */
cw_producer *cw_producer_new(const cw_config *cfg, const char *client_id, char *err,
                             size_t errlen);
void cw_producer_free(cw_producer *p);

/* Starts a thread that serves the delivery reports, after which any number
 * of threads may call cw_producer_send_sync at once (each waits for its own
 * records only). Stopped by cw_producer_free. 0, or -1 if the thread cannot
 * start. */
int cw_producer_share(cw_producer *p);

/* Produces records[0..n) and waits for every delivery report. Returns 0 when
 * all were acknowledged, -1 otherwise (each record's err tells which). */
int cw_producer_send_sync(cw_producer *p, cw_kafka_record *records, size_t n);

/* 0 when at least one broker answers a metadata request within timeout_ms. */
int cw_producer_ping(cw_producer *p, int timeout_ms);

rd_kafka_t *cw_producer_handle(cw_producer *p);

/* Subscribes group_id to topics[0..ntopics). auto.offset.reset=earliest. */
cw_consumer *cw_consumer_new(const cw_config *cfg, const char *group_id, const char *const *topics,
                             size_t ntopics, char *err, size_t errlen);
/* Closes (leaves the group) and frees. */
void cw_consumer_free(cw_consumer *c);

/* Next message or NULL on timeout. Errors that are not messages (partition
 * EOF, transient broker errors) are logged and skipped. The caller destroys
 * the message with rd_kafka_message_destroy. */
rd_kafka_message_t *cw_consumer_poll(cw_consumer *c, int timeout_ms);

/* Synchronously commits offset+1 of msg's partition. 0 or -1. */
int cw_consumer_commit_message(cw_consumer *c, const rd_kafka_message_t *msg);

rd_kafka_t *cw_consumer_handle(cw_consumer *c);

/* 1 when every assigned partition has been handed to the application up to
 * the end offset the client last fetched (no backlog it knows of), 0 when
 * one has a backlog or its end is not known yet. Local: no broker round
 * trip, so the ends may be a fetch old. */
int cw_consumer_caught_up(cw_consumer *c);

#endif
