/* carewatch-acks: the Kafka share of an ingest request, alone. THREADS
 * threads share one producer exactly as ingest's request threads do
 * (cw_producer_share) and each, COUNT times, produces one record and waits
 * for its acknowledgement (cw_producer_send_sync) — what every accepted
 * single-record request waits for, without HTTP, JSON or Redis.
 *
 * The producer is configured like ingest's from the environment
 * (CAREWATCH_KAFKA_BROKERS...). Prints one JSON object: requests, seconds,
 * rate and latency percentiles. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "kafka.h"

extern char **environ;

typedef struct {
    cw_producer *producer;
    const char *topic;
    long count;
    int index;
    double *latency_ms; /* count entries, owned by main */
    long failed;
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    worker *w = arg;
    char key[32], value[96];
    for (long i = 0; i < w->count; i++) {
        snprintf(key, sizeof(key), "k%d-%ld", w->index, i);
        int n = snprintf(value, sizeof(value), "{\"bench\":%d,\"n\":%ld}", w->index, i);
        cw_kafka_record r = {.topic = w->topic, .key = key, .key_len = strlen(key),
                             .value = value, .value_len = (size_t)n};
        double t0 = now_s();
        if (cw_producer_send_sync(w->producer, &r, 1) != 0)
            w->failed++;
        w->latency_ms[i] = (now_s() - t0) * 1000.0;
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: carewatch-acks TOPIC THREADS COUNT (brokers from "
                        "CAREWATCH_KAFKA_BROKERS)\n");
        return 2;
    }
    const char *topic = argv[1];
    int threads = atoi(argv[2]);
    long count = atol(argv[3]);
    if (threads < 1 || threads > 1024 || count < 1) {
        fprintf(stderr, "THREADS must be 1..1024 and COUNT positive\n");
        return 2;
    }
    static const cw_cfg_spec *const specs[] = {cw_config_common_spec, NULL};
    char err[512];
    cw_config *cfg = cw_config_load(specs, NULL, environ, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "configuration: %s\n", err);
        return 2;
    }
    cw_producer *p = cw_producer_new(cfg, "carewatch-acks", err, sizeof(err));
    if (!p || cw_producer_share(p) != 0) {
        fprintf(stderr, "producer: %s\n", p ? "cannot start its thread" : err);
        return 1;
    }
    worker *workers = calloc((size_t)threads, sizeof(*workers));
    pthread_t *ids = calloc((size_t)threads, sizeof(*ids));
    double *latency = calloc((size_t)threads * (size_t)count, sizeof(double));
    if (!workers || !ids || !latency) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    double start = now_s();
    for (int i = 0; i < threads; i++) {
        workers[i] = (worker){.producer = p, .topic = topic, .count = count, .index = i,
                              .latency_ms = latency + (size_t)i * (size_t)count};
        if (pthread_create(&ids[i], NULL, run, &workers[i]) != 0) {
            fprintf(stderr, "cannot start thread %d\n", i);
            return 1;
        }
    }
    long failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(ids[i], NULL);
        failed += workers[i].failed;
    }
    double seconds = now_s() - start;
    long total = (long)threads * count;
    qsort(latency, (size_t)total, sizeof(double), cmp_double);
    printf("{\"requests\":%ld,\"failed\":%ld,\"seconds\":%.3f,\"rate\":%.1f,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f}\n",
           total, failed, seconds, (double)total / seconds, latency[total / 2],
           latency[(long)(0.99 * (double)(total - 1))]);
    free(latency);
    free(ids);
    free(workers);
    cw_producer_free(p);
    cw_config_free(cfg);
    return failed ? 1 : 0;
}
