/* Kafka transactions over librdkafka, for services that must publish
 * exactly once: every record of a transaction, and the input offsets sent
 * with it, become visible to read_committed consumers together, or none do.
 *
 *   cw_txn_producer *p = cw_txn_producer_new(cfg, "carewatch-payment-scheduler",
 *                                            30000, err, sizeof err);
 *   rd_kafka_t *c = cw_txn_consumer_new(cfg, "carewatch-payment-scheduler", err, sizeof err);
 *   rd_kafka_assign(c, partitions);
 *   for (;;) {
 *       ... poll c, compute ...
 *       cw_txn_begin(p, ...);
 *       cw_txn_produce(p, &record, ...) for each output;
 *       switch (cw_txn_commit(p, c, positions, ...)) {
 *       case CW_OK:      break;
 *       case CW_RETRY: ... nothing of it was published: rewind, recompute
 *       case CW_FATAL:   ... fenced by a newer instance or broken: exit
 *       }
 *   }
 *
 * Creating the producer calls init_transactions: it fences every older
 * producer with the same transactional.id (their later writes fail) and
 * waits until the coordinator has committed or aborted their open
 * transaction, so read_committed readers see all that instance published.
 *
 * Configuration: kafka.brokers, kafka.message_timeout_ms and kafka.extra
 * as for common/kafka.h. A producer is used from one thread. */
#ifndef CW_KAFKA_TXN_H
#define CW_KAFKA_TXN_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "config.h"
#include "result.h"
#include "kafka.h"

/* The transaction steps answer a cw_result (result.h): CW_OK, CW_RETRY when
 * the transaction was aborted (none of it is visible) or CW_FATAL when the
 * producer cannot go on (fenced, a fatal error). */

typedef struct cw_txn_producer cw_txn_producer;

/* Creates a transactional producer and initialises transactions, waiting up
 * to timeout_ms for the coordinator. NULL with a message in err (the broker
 * unreachable is worth a retry). Freed with cw_txn_producer_free. */
cw_txn_producer *cw_txn_producer_new(const cw_config *cfg, const char *transactional_id,
                                     int timeout_ms, char *err, size_t errlen);

/* Aborts an open transaction, then closes. Safe with NULL. */
void cw_txn_producer_free(cw_txn_producer *p);

/* CW_OK or CW_FATAL. */
int cw_txn_begin(cw_txn_producer *p, char *err, size_t errlen);

/* Queues one record in the open transaction (copied). CW_OK, or
 * CW_RETRY / CW_FATAL when it could not be queued (the transaction
 * has then been aborted). */
int cw_txn_produce(cw_txn_producer *p, const cw_kafka_record *r, char *err, size_t errlen);

/* Sends offsets (may be NULL or empty: none) as consumer's group offsets
 * within the transaction, then commits it, waiting for every record's
 * acknowledgement. CW_OK when committed; CW_RETRY when it had to
 * be aborted; CW_FATAL. */
int cw_txn_commit(cw_txn_producer *p, rd_kafka_t *consumer,
                  const rd_kafka_topic_partition_list_t *offsets, char *err, size_t errlen);

/* Aborts the open transaction. CW_OK or CW_FATAL. */
int cw_txn_abort(cw_txn_producer *p, char *err, size_t errlen);

/* Whether a transaction is open (begun, not committed or aborted). */
int cw_txn_is_open(const cw_txn_producer *p);

/* 0 when a broker answers a metadata request within timeout_ms. */
int cw_txn_ping(cw_txn_producer *p, int timeout_ms);

/* The librdkafka handle, for admin requests; owned by p. */
rd_kafka_t *cw_txn_handle(cw_txn_producer *p);

/* A consumer of the partitions the caller assigns (rd_kafka_assign; no
 * group membership, nothing committed but through transactions), reading
 * committed records only. group_id names the group whose offsets the
 * transactions commit. Destroy with rd_kafka_consumer_close +
 * rd_kafka_destroy. NULL with a message in err. */
rd_kafka_t *cw_txn_consumer_new(const cw_config *cfg, const char *group_id, char *err,
                                size_t errlen);

#endif
