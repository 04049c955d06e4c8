/* Topics made on first use: one per street (alerts.street.<id>, the
 * alert-router) or per provider (notices.provider.<id>, the ledger-writer),
 * as many as there are streets or providers. The broker does not create
 * topics by itself (auto.create.topics.enable=false on the local stack, and
 * so in most production clusters): before the first record to such a topic
 * the service looks it up in the cluster's metadata and, if it is missing,
 * creates it with the Admin API (partitions and replication factor from the
 * caller's configuration; TOPIC_ALREADY_EXISTS from a concurrent instance is
 * success), then waits until the metadata shows it. Known topics are cached for the life of the
 * process. A cluster that forbids creating topics works when the topics are
 * made beforehand: an existing topic is never created. */
#ifndef CW_TOPIC_MAKER_H
#define CW_TOPIC_MAKER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

typedef struct cw_topic_maker cw_topic_maker;

/* rk is borrowed (the producer's handle) and must outlive the cache.
 * replication_factor -1 takes the broker's default. NULL when out of
 * memory; free with cw_topic_maker_free. */
cw_topic_maker *cw_topic_maker_new(rd_kafka_t *rk, int partitions, int replication_factor,
                               int timeout_ms);
void cw_topic_maker_free(cw_topic_maker *t);

/* 0 when topic exists (cached, found, or created now); -1 with err. *created
 * is set to 1 when this call created it. */
int cw_topic_maker_ensure(cw_topic_maker *t, const char *topic, int *created, char *err,
                        size_t errlen);

/* The caller stopped retrying a topic (its alerts go elsewhere and the miss
 * is dead-lettered). For the next CW_TOPIC_MAKER_GIVE_UP_MS,
 * cw_topic_maker_given_up says so at once, so one broken topic does not hold
 * up every alert for it with retries. */
#define CW_TOPIC_MAKER_GIVE_UP_MS 60000
void cw_topic_maker_give_up(cw_topic_maker *t, const char *topic);
int cw_topic_maker_given_up(cw_topic_maker *t, const char *topic);

#endif
