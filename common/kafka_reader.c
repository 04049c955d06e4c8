#include "kafka_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "log.h"

int cw_kafka_topic_config(rd_kafka_t *rk, const char *topic, const char *name, char *value,
                          size_t len, int timeout_ms)
{
    char errstr[256];
    int rc = -1;
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_AdminOptions_t *opts =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    if (res == NULL || opts == NULL || q == NULL)
        goto out;
    if (rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, errstr, sizeof(errstr)) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        goto out;
    rd_kafka_DescribeConfigs(rk, &res, 1, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
    if (ev == NULL)
        goto out;
    const rd_kafka_DescribeConfigs_result_t *result = rd_kafka_event_DescribeConfigs_result(ev);
    size_t n = 0, entries = 0;
    const rd_kafka_ConfigResource_t **rs =
        result && rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR
            ? rd_kafka_DescribeConfigs_result_resources(result, &n)
            : NULL;
    if (rs != NULL && n == 1 &&
        rd_kafka_ConfigResource_error(rs[0]) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(rs[0], &entries);
        for (size_t i = 0; i < entries; i++) {
            if (strcmp(rd_kafka_ConfigEntry_name(e[i]), name) == 0) {
                const char *v = rd_kafka_ConfigEntry_value(e[i]);
                snprintf(value, len, "%s", v ? v : "");
                rc = 0;
            }
        }
    }
    rd_kafka_event_destroy(ev);
out:
    if (q != NULL)
        rd_kafka_queue_destroy(q);
    if (opts != NULL)
        rd_kafka_AdminOptions_destroy(opts);
    if (res != NULL)
        rd_kafka_ConfigResource_destroy(res);
    return rc;
}

/* Every partition of topic with its low and end offsets (low in .metadata
 * is not used: offsets are queried into lows). */
static rd_kafka_topic_partition_list_t *partition_ends(rd_kafka_t *rk, const char *topic,
                                                       int64_t **lows, char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rkt == NULL) {
        snprintf(err, errlen, "%s: cannot create a topic handle", topic);
        return NULL;
    }
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].err) {
        snprintf(err, errlen, "%s: no metadata: %s", topic,
                 rd_kafka_err2str(e ? e
                                    : md->topic_cnt ? md->topics[0].err
                                                    : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        if (md != NULL)
            rd_kafka_metadata_destroy(md);
        return NULL;
    }
    int n = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
    *lows = calloc((size_t)(n > 0 ? n : 1), sizeof(**lows));
    if (*lows == NULL) {
        snprintf(err, errlen, "out of memory");
        rd_kafka_topic_partition_list_destroy(list);
        rd_kafka_metadata_destroy(md);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        int32_t part = md->topics[0].partitions[i].id;
        int64_t low, high;
        e = rd_kafka_query_watermark_offsets(rk, topic, part, &low, &high, 10000);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "%s[%d]: %s", topic, (int)part, rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(list);
            free(*lows);
            *lows = NULL;
            rd_kafka_metadata_destroy(md);
            return NULL;
        }
        rd_kafka_topic_partition_list_add(list, topic, part)->offset = high;
        (*lows)[list->cnt - 1] = low;
    }
    rd_kafka_metadata_destroy(md);
    return list;
}

long cw_kafka_read_to_end(const cw_config *cfg, const char *topic,
                          int (*fn)(void *user_data, const rd_kafka_message_t *msg),
                          void *user_data, rd_kafka_topic_partition_list_t **ends, char *err,
                          size_t errlen)
{
    *ends = NULL;
    rd_kafka_t *rk = cw_kafka_new_reader(cfg, "carewatch-reader", err, errlen);
    if (rk == NULL)
        return -1;
    int64_t *lows = NULL;
    rd_kafka_topic_partition_list_t *end = partition_ends(rk, topic, &lows, err, errlen);
    if (end == NULL) {
        rd_kafka_destroy(rk);
        return -1;
    }
    /* Only partitions that hold something are read; done[i] marks the
     * others and those read to their end. */
    rd_kafka_topic_partition_list_t *start = rd_kafka_topic_partition_list_new(end->cnt + 1);
    int *done = calloc((size_t)end->cnt + 1, sizeof(*done));
    int remaining = 0;
    long count = -1;
    if (done == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int i = 0; i < end->cnt; i++) {
        if (end->elems[i].offset > lows[i]) {
            rd_kafka_topic_partition_list_add(start, topic, end->elems[i].partition)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
            remaining++;
        } else {
            done[i] = 1;
        }
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, start);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "%s: assign: %s", topic, rd_kafka_err2str(e));
        goto out;
    }
    count = 0;
    while (remaining > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL) {
            /* Transaction markers take offsets no message is returned for:
             * a partition is also done once its position passes its end. */
            rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(end);
            if (rd_kafka_position(rk, pos) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                for (int i = 0; i < pos->cnt; i++) {
                    if (!done[i] && pos->elems[i].offset >= end->elems[i].offset) {
                        done[i] = 1;
                        remaining--;
                    }
                }
            }
            rd_kafka_topic_partition_list_destroy(pos);
            continue;
        }
        if (m->err) {
            int fatal = m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF;
            if (fatal)
                snprintf(err, errlen, "%s: %s", topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            if (fatal) {
                count = -1;
                break;
            }
            continue;
        }
        int i = 0;
        while (i < end->cnt && end->elems[i].partition != m->partition)
            i++;
        if (i == end->cnt || done[i] || m->offset >= end->elems[i].offset) {
            /* Past the end taken at the start: left for the caller's
             * consumer, which goes on from there. */
            rd_kafka_message_destroy(m);
            continue;
        }
        int stop = fn(user_data, m) != 0;
        count++;
        if (m->offset + 1 >= end->elems[i].offset) {
            done[i] = 1;
            remaining--;
        }
        rd_kafka_message_destroy(m);
        if (stop) {
            snprintf(err, errlen, "%s: stopped by the reader", topic);
            count = -1;
            break;
        }
    }
    rd_kafka_assign(rk, NULL);
out:
    free(done);
    free(lows);
    rd_kafka_topic_partition_list_destroy(start);
    rd_kafka_destroy(rk);
    if (count >= 0)
        *ends = end;
    else
        rd_kafka_topic_partition_list_destroy(end);
    return count;
}

/* One reader for both: cw_kafka_read_to_end (kafka_txn.c) also hands back
 * where it stopped; this caller only wants the messages. */
long cw_kafka_read_topic(const cw_config *cfg, const char *topic,
                         int (*fn)(void *user_data, const rd_kafka_message_t *msg),
                         void *user_data, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *ends = NULL;
    long count = cw_kafka_read_to_end(cfg, topic, fn, user_data, &ends, err, errlen);
    if (ends != NULL)
        rd_kafka_topic_partition_list_destroy(ends);
    return count;
}
