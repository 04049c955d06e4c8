/* carewatch-passthrough: the baseline the stream services are measured
 * against. It does what every stream service does around its rules and
 * nothing else: read a batch, produce one record per message (the value
 * copied), wait for the acknowledgements, commit. Idempotent producer,
 * acks=all, manual commits, the services' batch size.
 *
 * Runs from the beginning of the input topics in a fresh group until every
 * partition reached the end it had at start, then prints one JSON object:
 * messages, seconds (first message to last commit) and rate. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_MAX 500

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char err[256];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s: %s\n", name, err);
        return -1;
    }
    return 0;
}

static long outstanding;
static long failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        failed++;
    outstanding--;
}

/* The sum of the input's end offsets at start: how many messages to read. */
static long backlog(rd_kafka_t *rk, const char *topic, int *partitions)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, t, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_destroy(t);
        return -1;
    }
    long total = 0;
    *partitions = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
    for (int p = 0; p < *partitions; p++) {
        int64_t low = 0, high = 0;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &low, &high, 10000) != 0) {
            total = -1;
            break;
        }
        total += (long)(high - low);
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return total;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: carewatch-passthrough BROKERS GROUP INPUT_TOPIC OUTPUT_TOPIC\n");
        return 2;
    }
    const char *brokers = argv[1], *group = argv[2], *input = argv[3], *output = argv[4];
    char err[512];

    rd_kafka_conf_t *pconf = rd_kafka_conf_new();
    if (set(pconf, "bootstrap.servers", brokers) || set(pconf, "enable.idempotence", "true") ||
        set(pconf, "acks", "all") || set(pconf, "linger.ms", "5") ||
        set(pconf, "compression.type", "lz4"))
        return 2;
    rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
    rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof(err));
    if (!producer) {
        fprintf(stderr, "producer: %s\n", err);
        return 2;
    }
    rd_kafka_conf_t *cconf = rd_kafka_conf_new();
    if (set(cconf, "bootstrap.servers", brokers) || set(cconf, "group.id", group) ||
        set(cconf, "enable.auto.commit", "false") || set(cconf, "auto.offset.reset", "earliest"))
        return 2;
    rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, err, sizeof(err));
    if (!consumer) {
        fprintf(stderr, "consumer: %s\n", err);
        return 2;
    }
    rd_kafka_poll_set_consumer(consumer);
    int partitions = 0;
    long want = backlog(consumer, input, &partitions);
    if (want < 0) {
        fprintf(stderr, "cannot read the end offsets of %s\n", input);
        return 1;
    }
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, input, RD_KAFKA_PARTITION_UA);
    if (rd_kafka_subscribe(consumer, subs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "cannot subscribe to %s\n", input);
        return 1;
    }
    rd_kafka_topic_partition_list_destroy(subs);

    rd_kafka_message_t *batch[BATCH_MAX];
    long seen = 0;
    double first = 0;
    while (seen < want) {
        size_t n = 0;
        double until = now_s() + 0.02;
        while (n < BATCH_MAX && (n == 0 || now_s() < until)) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, n == 0 ? 1000 : 5);
            if (!m)
                continue;
            if (m->err) {
                rd_kafka_message_destroy(m);
                continue;
            }
            batch[n++] = m;
        }
        if (first == 0)
            first = now_s();
        for (size_t i = 0; i < n; i++) {
            outstanding++;
            while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(output),
                                     RD_KAFKA_V_KEY(batch[i]->key, batch[i]->key_len),
                                     RD_KAFKA_V_VALUE(batch[i]->payload, batch[i]->len),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(producer, 10);
        }
        while (outstanding > 0)
            rd_kafka_poll(producer, 50);
        if (failed > 0) {
            fprintf(stderr, "%ld records were not acknowledged\n", failed);
            return 1;
        }
        /* Synchronous, like the services: the consumed positions. */
        if (n > 0 && rd_kafka_commit(consumer, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "commit failed\n");
            return 1;
        }
        for (size_t i = 0; i < n; i++)
            rd_kafka_message_destroy(batch[i]);
        seen += (long)n;
    }
    double seconds = now_s() - first;
    printf("{\"messages\":%ld,\"partitions\":%d,\"seconds\":%.3f,\"rate\":%.1f}\n", seen,
           partitions, seconds, seconds > 0 ? (double)seen / seconds : 0);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_flush(producer, 10000);
    rd_kafka_destroy(producer);
    return 0;
}
