/* Rebuilding Redis from Kafka: replays topics from the beginning into Redis
 * with batched writes. The services run it when their Redis state is found
 * missing (partition_marks.h), before they replay their input. */
#ifndef CW_REFERENCE_REPLAY_H
#define CW_REFERENCE_REPLAY_H

#include <avro.h>
#include <librdkafka/rdkafka.h>

#include "avro_codec.h"
#include "config.h"
#include "redis.h"

/* Rebuilds reference data and orders in Redis from Kafka: reads each of
 * topics (ref.elders, ref.caregivers, ref.contracts, orders.assigned...)
 * from the beginning to its current end and stores every Elder, Caregiver,
 * Contract, OrderAssigned and ElderStatusChanged record. Returns the number of records stored, or -1 with err. */
long cw_state_bootstrap(const struct cw_config *cfg, cw_redis *r, const char *const *topics,
                        char *err, size_t errlen);

/* Replays a topic into Redis: reads it from the beginning to its current
 * end, decodes each record and hands it to fn, which adds at most
 * CW_STATE_REPLAY_MAX_CMDS commands to b and returns 1 when it stored the
 * record (0 when it skipped it); the commands are sent as the batch fills.
 * Records that do not decode are skipped: the topic's consumer
 * dead-letters them. Returns the number stored, or -1 with err. */
#define CW_STATE_REPLAY_MAX_CMDS 4
typedef int (*cw_state_replay_fn)(void *user_data, const rd_kafka_message_t *m,
                                  const cw_avro_schema *s, avro_value_t *v, cw_redis_batch *b);
long cw_state_replay_topic(const struct cw_config *cfg, cw_redis *r, const char *topic,
                           cw_state_replay_fn fn, void *user_data, char *err, size_t errlen);

#endif
