/* Reading a whole topic outside any consumer group: the services rebuild
 * their state from Kafka at start (reference_replay.h, the desk's books, the
 * ledger's checkpoints, the payment run's inputs), and ask a topic's
 * configuration. Each call makes its own short-lived client. */
#ifndef CW_KAFKA_READER_H
#define CW_KAFKA_READER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "config.h"

/* Reads every partition of topic from the beginning to its end as it is at
 * the call (no consumer group, nothing committed), calling fn for each
 * message; fn returns 0 to go on, -1 to stop. Returns the number of messages
 * read, or -1 with a message in err. */
long cw_kafka_read_topic(const cw_config *cfg, const char *topic,
                         int (*fn)(void *user_data, const rd_kafka_message_t *msg),
                         void *user_data, char *err, size_t errlen);

/* Reads every partition of topic from the beginning to its end as it is at
 * the call (the last stable offset: records of open transactions are not
 * waited for), calling fn for each message (fn returns 0 to go on, -1 to
 * stop). On success returns the number of messages and sets *ends to every
 * partition of the topic with the offset reading stopped at (the caller
 * destroys it), where a consumer can go on without a gap. -1 with a message
 * in err. */
long cw_kafka_read_to_end(const cw_config *cfg, const char *topic,
                          int (*fn)(void *user_data, const rd_kafka_message_t *msg),
                          void *user_data, rd_kafka_topic_partition_list_t **ends, char *err,
                          size_t errlen);

/* The value of one configuration entry of a topic ("retention.ms"), asked
 * of the broker through rk (any client). 0 and value set, or -1. */
int cw_kafka_topic_config(rd_kafka_t *rk, const char *topic, const char *name, char *value,
                          size_t len, int timeout_ms);

#endif
