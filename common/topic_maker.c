#include "topic_maker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GIVEN_UP_MAX 16

struct cw_topic_maker {
    rd_kafka_t *rk;
    int partitions, replication_factor, timeout_ms;
    char **known; /* owned names */
    size_t count, capacity;
    /* Topics given up on, until the monotonic time beside them. */
    char given_up[GIVEN_UP_MAX][250];
    double given_up_until[GIVEN_UP_MAX];
};

static double monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void cw_topic_maker_give_up(cw_topic_maker *t, const char *topic)
{
    /* The slot of this topic, else a free or expired one, else the one
     * that expires first. */
    size_t slot = 0;
    double now = monotonic_ms();
    for (size_t i = 0; i < GIVEN_UP_MAX; i++) {
        if (strcmp(t->given_up[i], topic) == 0) {
            slot = i;
            break;
        }
        if (t->given_up_until[i] < t->given_up_until[slot])
            slot = i;
    }
    snprintf(t->given_up[slot], sizeof(t->given_up[slot]), "%s", topic);
    t->given_up_until[slot] = now + CW_TOPIC_MAKER_GIVE_UP_MS;
}

int cw_topic_maker_given_up(cw_topic_maker *t, const char *topic)
{
    double now = monotonic_ms();
    for (size_t i = 0; i < GIVEN_UP_MAX; i++)
        if (t->given_up_until[i] > now && strcmp(t->given_up[i], topic) == 0)
            return 1;
    return 0;
}

cw_topic_maker *cw_topic_maker_new(rd_kafka_t *rk, int partitions, int replication_factor,
                               int timeout_ms)
{
    cw_topic_maker *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->rk = rk;
    t->partitions = partitions;
    t->replication_factor = replication_factor;
    t->timeout_ms = timeout_ms;
    return t;
}

void cw_topic_maker_free(cw_topic_maker *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->count; i++)
        free(t->known[i]);
    free(t->known);
    free(t);
}

static int is_known(const cw_topic_maker *t, const char *topic)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->known[i], topic) == 0)
            return 1;
    return 0;
}

static int remember(cw_topic_maker *t, const char *topic)
{
    if (t->count == t->capacity) {
        size_t cap = t->capacity ? t->capacity * 2 : 16;
        char **grown = realloc(t->known, cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        t->known = grown;
        t->capacity = cap;
    }
    char *copy = strdup(topic);
    if (copy == NULL)
        return -1;
    t->known[t->count++] = copy;
    return 0;
}

/* 1 when the cluster has the topic with a leader for every partition, 0
 * when not, -1 when the metadata cannot be had. All topics are asked for:
 * asking for one by name may make a broker with auto-creation create it
 * with its own defaults. */
static int in_metadata(cw_topic_maker *t, const char *topic, char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(t->rk, 1, NULL, &md, t->timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "metadata: %s", rd_kafka_err2str(e));
        return -1;
    }
    int found = 0;
    for (int i = 0; i < md->topic_cnt && !found; i++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[i];
        if (strcmp(mt->topic, topic) != 0 || mt->err != RD_KAFKA_RESP_ERR_NO_ERROR ||
            mt->partition_cnt == 0)
            continue;
        found = 1;
        for (int p = 0; p < mt->partition_cnt; p++)
            if (mt->partitions[p].leader < 0)
                found = 0;
    }
    rd_kafka_metadata_destroy(md);
    return found;
}

/* 1 created, 0 already there (made by another instance meanwhile), -1. */
static int create(cw_topic_maker *t, const char *topic, char *err, size_t errlen)
{
    char errstr[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, t->partitions, t->replication_factor,
                                                    errstr, sizeof(errstr));
    if (nt == NULL) {
        snprintf(err, errlen, "%s: %s", topic, errstr);
        return -1;
    }
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(t->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(t->rk);
    int rc = -1;
    if (opt == NULL || q == NULL ||
        rd_kafka_AdminOptions_set_operation_timeout(opt, t->timeout_ms, errstr, sizeof(errstr)) ||
        rd_kafka_AdminOptions_set_request_timeout(opt, t->timeout_ms, errstr, sizeof(errstr))) {
        snprintf(err, errlen, "%s: cannot set up the request", topic);
        goto out;
    }
    rd_kafka_CreateTopics(t->rk, &nt, 1, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, t->timeout_ms + 2000);
    if (ev == NULL) {
        snprintf(err, errlen, "%s: no answer to CreateTopics", topic);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "%s: %s", topic, rd_kafka_event_error_string(ev));
    } else {
        size_t n = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rd_kafka_resp_err_t e = n == 1 ? rd_kafka_topic_result_error(res[0])
                                       : RD_KAFKA_RESP_ERR__BAD_MSG;
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rc = 1;
        } else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            rc = 0;
        } else {
            const char *msg = n == 1 ? rd_kafka_topic_result_error_string(res[0]) : NULL;
            snprintf(err, errlen, "%s: %s", topic, msg ? msg : rd_kafka_err2str(e));
        }
    }
    rd_kafka_event_destroy(ev);
out:
    if (q)
        rd_kafka_queue_destroy(q);
    if (opt)
        rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int cw_topic_maker_ensure(cw_topic_maker *t, const char *topic, int *created, char *err,
                        size_t errlen)
{
    *created = 0;
    if (is_known(t, topic))
        return 0;
    int found = in_metadata(t, topic, err, errlen);
    if (found < 0)
        return -1;
    if (!found) {
        int made = create(t, topic, err, errlen);
        if (made < 0)
            return -1;
        *created = made;
        /* Until every partition has a leader, producing would wait. */
        for (int waited = 0; !found && waited < t->timeout_ms; waited += 100) {
            found = in_metadata(t, topic, err, errlen);
            if (found < 0)
                return -1;
            if (!found)
                sleep_ms(100);
        }
        if (!found) {
            snprintf(err, errlen, "%s: created but not in the metadata after %d ms", topic,
                     t->timeout_ms);
            return -1;
        }
    }
    if (remember(t, topic) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}
