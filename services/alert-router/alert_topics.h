/* Alert topics made on first use. The broker does not create topics by
 * itself (auto.create.topics.enable=false on the local stack, and so in
 * most production clusters), and street topics are as many as the streets:
 * before the first alert to alerts.street.<id> the service looks the topic
 * up in the cluster's metadata and, if it is missing, creates it with the
 * Admin API (routing.street_partitions, routing.street_replication_factor;
 * TOPIC_ALREADY_EXISTS from a concurrent instance is success), then waits
 * until the metadata shows it. Known topics are cached for the life of the
 * process. A cluster that forbids creating topics works when the topics are
 * made beforehand: an existing topic is never created. */
#ifndef ALERT_TOPICS_H
#define ALERT_TOPICS_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

typedef struct alert_topics alert_topics;

/* rk is borrowed (the producer's handle) and must outlive the cache.
 * replication_factor -1 takes the broker's default. NULL when out of
 * memory; free with alert_topics_free. */
alert_topics *alert_topics_new(rd_kafka_t *rk, int partitions, int replication_factor,
                               int timeout_ms);
void alert_topics_free(alert_topics *t);

/* 0 when topic exists (cached, found, or created now); -1 with err. *created
 * is set to 1 when this call created it. */
int alert_topics_ensure(alert_topics *t, const char *topic, int *created, char *err,
                        size_t errlen);

/* The caller stopped retrying a topic (its alerts go elsewhere and the miss
 * is dead-lettered). For the next ALERT_TOPICS_GIVE_UP_MS,
 * alert_topics_given_up says so at once, so one broken topic does not hold
 * up every alert for it with retries. */
#define ALERT_TOPICS_GIVE_UP_MS 60000
void alert_topics_give_up(alert_topics *t, const char *topic);
int alert_topics_given_up(alert_topics *t, const char *topic);

#endif
