#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_http.h"
#include "log.h"
#include "metrics.h"
#include "partition_marks.h"
#include "shutdown.h"
#include "timeutil.h"
#include "topics.h"

#define RETRY_PAUSE_MS 500
#define STOP_SHUTDOWN 1
#define STOP_FATAL 2      /* the message is not done: neither produced nor committed */
#define STOP_FATAL_TICK 3 /* the message is done, the tick after it cannot go on */
#define KEY_MAX 256

typedef struct {
    rd_kafka_message_t **msgs;
    size_t count;
} batch;

static int poll_batch(cw_consumer *c, const cw_stream_handlers *h, batch *b)
{
    int max = h->batch_max > 0 ? h->batch_max : 500;
    int wait_ms = h->batch_wait_ms > 0 ? h->batch_wait_ms : 20;
    b->count = 0;
    b->msgs = calloc((size_t)max, sizeof(*b->msgs));
    if (b->msgs == NULL)
        return -1;
    /* Waits for the first message (200 ms, so that an idle loop does not
     * spin), then takes what has already arrived, for at most wait_ms: the
     * batch grows with the backlog, and a lone message is not held back
     * waiting for company. */
    double deadline = 0;
    while ((int)b->count < max) {
        rd_kafka_message_t *m = cw_consumer_poll(c, b->count == 0 ? 200 : 0);
        if (m == NULL)
            break;
        if (b->count == 0)
            deadline = cw_metrics_now() + wait_ms / 1000.0;
        b->msgs[b->count++] = m;
        if (cw_metrics_now() >= deadline)
            break;
    }
    return 0;
}

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->count; i++)
        rd_kafka_message_destroy(b->msgs[i]);
    free(b->msgs);
    b->msgs = NULL;
    b->count = 0;
}

int cw_stream_dead_letter(cw_outbox *out, const char *service, const char *topic,
                          int32_t partition, int64_t offset, const void *key, size_t key_len,
                          const void *payload, size_t payload_len, const char *reason, int64_t at)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("DeadLetter");
    avro_value_t v;
    char err[256], dlq[96];
    if (s == NULL || cw_avro_new_value(s, &v) != 0)
        return -1;
    snprintf(dlq, sizeof(dlq), CW_TOPIC_DEAD_LETTER_PREFIX "%s", service);
    int rc = -1;
    if (cw_av_set_str(&v, "service", service) == 0 && cw_av_set_str(&v, "source_topic", topic) == 0 &&
        cw_av_set_int(&v, "partition", partition) == 0 && cw_av_set_long(&v, "offset", offset) == 0 &&
        cw_av_set_opt_bytes(&v, "key", key, key_len) == 0 &&
        cw_av_set_bytes(&v, "payload", payload ? payload : "", payload_len) == 0 &&
        cw_av_set_str(&v, "reason", reason) == 0 && cw_av_set_long(&v, "at", at) == 0) {
        char k[KEY_MAX];
        snprintf(k, sizeof(k), "%s/%d/%lld", topic, (int)partition, (long long)offset);
        rc = cw_outbox_add_avro(out, dlq, k, &v, s, err, sizeof(err));
    }
    avro_value_decref(&v);
    if (rc == 0) {
        cw_metrics_error(topic, "dead_letter");
        cw_log_warn("dead letter", "topic", topic, "reason", reason, NULL);
    }
    return rc;
}

/* Decodes and hands one message to the handler, retrying while it asks to
 * (or until shutdown). Returns 0 when the message is done, STOP_SHUTDOWN,
 * or STOP_FATAL when even its dead letter cannot be built. */
static int handle_one(const cw_stream_handlers *h, rd_kafka_message_t *m, cw_outbox *out)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    char key[KEY_MAX] = "", err[200], reason[256] = "";
    size_t klen = m->key_len < sizeof(key) - 1 ? m->key_len : sizeof(key) - 1;
    if (m->key)
        memcpy(key, m->key, klen);
    key[klen] = '\0';
    cw_metrics_event_in(topic);

    const cw_avro_schema *schema;
    avro_value_t value;
    size_t max_bytes = h->max_record_bytes > 0 ? h->max_record_bytes : 65536;
    if (m->payload != NULL && m->len > max_bytes) {
        snprintf(reason, sizeof(reason),
                 "oversized: %zu bytes, over stream.max_record_bytes (%zu); not decoded, its "
                 "first %zu bytes kept here",
                 m->len, max_bytes, max_bytes);
        return cw_stream_dead_letter(out, h->service, topic, m->partition, m->offset, m->key,
                                     m->key_len, m->payload, max_bytes, reason, cw_now_ms())
                   ? STOP_FATAL
                   : 0;
    }
    if (m->payload == NULL ||
        cw_avro_decode(m->payload, m->len, &schema, &value, err, sizeof(err)) != 0) {
        snprintf(reason, sizeof(reason), "undecodable: %s", m->payload ? err : "empty value");
        return cw_stream_dead_letter(out, h->service, topic, m->partition, m->offset, m->key,
                                     m->key_len, m->payload, m->len, reason, cw_now_ms())
                   ? STOP_FATAL
                   : 0;
    }
    cw_stream_msg msg = {.topic = topic, .partition = m->partition, .offset = m->offset,
                         .key = key, .schema = schema, .value = &value};
    double t0 = cw_metrics_now();
    int rc;
    size_t before = out->count;
    for (;; msg.attempt++) {
        rc = h->handle(h->user_data, &msg, out, reason, sizeof(reason));
        if (rc != CW_RETRY)
            break;
        /* A retrying handler must not leave half its results behind. */
        cw_outbox_truncate(out, before);
        cw_metrics_error(topic, "retry");
        cw_admin_heartbeat();
        if (cw_shutdown_sleep_ms(RETRY_PAUSE_MS) || cw_shutdown_requested()) {
            avro_value_decref(&value);
            return STOP_SHUTDOWN;
        }
    }
    avro_value_decref(&value);
    cw_metrics_observe_processing(topic, cw_metrics_now() - t0);
    if (rc == CW_FATAL) {
        /* The message is neither produced nor committed: a restart handles
         * it again. */
        cw_outbox_truncate(out, before);
        cw_log_error("the handler cannot go on: stopping", "topic", topic, "reason",
                     reason[0] ? reason : "unspecified", NULL);
        return STOP_FATAL;
    }
    if (rc == CW_REJECT &&
        cw_stream_dead_letter(out, h->service, topic, m->partition, m->offset, m->key,
                              m->key_len, m->payload, m->len, reason[0] ? reason : "rejected",
                              cw_now_ms()) != 0)
        return STOP_FATAL;
    return 0;
}

/* Produces everything in the outbox, retrying until acknowledged or
 * shutdown. 0 when durable, -1 on shutdown. */
static int produce_all(cw_producer *p, cw_outbox *out)
{
    while (out->count > 0) {
        if (cw_producer_send_sync(p, out->records, out->count) == 0) {
            for (size_t i = 0; i < out->count; i++)
                cw_metrics_event_out(out->records[i].topic);
            cw_outbox_clear(out);
            return 0;
        }
        cw_metrics_error("produce", "produce");
        cw_admin_heartbeat();
        if (cw_shutdown_sleep_ms(RETRY_PAUSE_MS) || cw_shutdown_requested())
            return -1;
    }
    return 0;
}

/* What this process last committed per input partition (or, for a
 * partition it has not committed yet, the group's committed offset, asked
 * once): the mark the offsets stored in Redis are held against. */
#define BOOK_MAX 256

typedef struct {
    char topic[128];
    int32_t partition;
    int64_t committed; /* next offset; -1 while unknown */
} book_entry;

typedef struct {
    book_entry e[BOOK_MAX];
    size_t count;
} offset_book;

static book_entry *book_find(offset_book *book, const char *topic, int32_t partition, int add)
{
    for (size_t i = 0; i < book->count; i++)
        if (book->e[i].partition == partition && strcmp(book->e[i].topic, topic) == 0)
            return &book->e[i];
    if (!add || book->count == BOOK_MAX)
        return NULL;
    book_entry *e = &book->e[book->count++];
    snprintf(e->topic, sizeof(e->topic), "%s", topic);
    e->partition = partition;
    e->committed = -1;
    return e;
}

/* Stores the batch's offsets in Redis (with a Redis), then commits them.
 * When Redis cannot take them nothing is committed: the next batch's
 * commit covers these messages too. */
static void commit_batch(cw_consumer *c, const cw_stream_handlers *h, offset_book *book,
                         const batch *b, size_t done)
{
    if (done == 0)
        return;
    rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new((int)done);
    for (size_t i = 0; i < done; i++) {
        rd_kafka_message_t *m = b->msgs[i];
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
            offsets, rd_kafka_topic_name(m->rkt), m->partition);
        if (tp == NULL)
            tp = rd_kafka_topic_partition_list_add(offsets, rd_kafka_topic_name(m->rkt),
                                                   m->partition);
        if (m->offset + 1 > tp->offset)
            tp->offset = m->offset + 1;
    }
    if (h->redis != NULL) {
        size_t n = (size_t)offsets->cnt;
        const char **topics = calloc(n, sizeof(*topics));
        int32_t *parts = calloc(n, sizeof(*parts));
        int64_t *next = calloc(n, sizeof(*next));
        int stored = -1;
        if (topics != NULL && parts != NULL && next != NULL) {
            for (size_t i = 0; i < n; i++) {
                topics[i] = offsets->elems[i].topic;
                parts[i] = offsets->elems[i].partition;
                next[i] = offsets->elems[i].offset;
            }
            stored = cw_state_offsets_store(h->redis, h->service, n, topics, parts, next);
        }
        free(topics);
        free(parts);
        free(next);
        if (stored != 0) {
            cw_log_warn("cannot store the batch's offsets in Redis; not committing yet", NULL);
            rd_kafka_topic_partition_list_destroy(offsets);
            return;
        }
    }
    rd_kafka_resp_err_t err = rd_kafka_commit(cw_consumer_handle(c), offsets, 0);
    if (err) {
        /* Not fatal: the results are durable; a restart replays the batch
         * and its deterministic ids make that harmless. */
        cw_log_warn("offset commit failed", "error", rd_kafka_err2str(err), NULL);
    } else {
        for (int i = 0; i < offsets->cnt; i++) {
            book_entry *e = book_find(book, offsets->elems[i].topic,
                                      offsets->elems[i].partition, 1);
            if (e != NULL)
                e->committed = offsets->elems[i].offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(offsets);
}

/* Fills the book's unknown committed offsets of the assignment from the
 * group (one broker round trip, only for partitions not seen before). */
static void book_learn(offset_book *book, rd_kafka_t *rk,
                       const rd_kafka_topic_partition_list_t *assigned)
{
    rd_kafka_topic_partition_list_t *ask = rd_kafka_topic_partition_list_new(assigned->cnt);
    for (int i = 0; i < assigned->cnt; i++) {
        book_entry *e = book_find(book, assigned->elems[i].topic, assigned->elems[i].partition, 1);
        if (e != NULL && e->committed < 0)
            rd_kafka_topic_partition_list_add(ask, e->topic, e->partition);
    }
    if (ask->cnt > 0 && rd_kafka_committed(rk, ask, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < ask->cnt; i++) {
            book_entry *e = book_find(book, ask->elems[i].topic, ask->elems[i].partition, 0);
            if (e != NULL && ask->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
                e->committed = ask->elems[i].offset >= 0 ? ask->elems[i].offset : 0;
        }
    }
    rd_kafka_topic_partition_list_destroy(ask);
}

/* Redis that came back older than the committed offsets (restored from an
 * old snapshot, a failover replica that missed writes): its state lacks the
 * changes of messages already committed. Rewinds each such partition to
 * the offset its state reflects, so the difference is handled again (under
 * the same ids). 1 when something was rewound, 0 when nothing is behind,
 * -1 when Redis cannot be asked. */
static void tell_rewound(const cw_stream_handlers *h, const rd_kafka_topic_partition_list_t *list)
{
    for (int i = 0; h->rewound != NULL && i < list->cnt; i++)
        h->rewound(h->rewound_data, list->elems[i].topic, list->elems[i].partition,
                   list->elems[i].offset >= 0 ? list->elems[i].offset : 0);
}

/* Seeks every partition of the batch back to its first message in it, so
 * that a batch dropped unhandled is fetched again. */
static void unread_batch(const batch *b)
{
    /* Backwards, so each partition ends at its first one. */
    for (size_t i = b->count; i-- > 0;)
        rd_kafka_seek(b->msgs[i]->rkt, b->msgs[i]->partition, b->msgs[i]->offset, 5000);
}

static int replay_behind_state(rd_kafka_t *rk, const cw_stream_handlers *h, offset_book *book,
                               rd_kafka_topic_partition_list_t *assigned, const batch *b)
{
    size_t n = (size_t)assigned->cnt;
    if (n == 0)
        return 0;
    book_learn(book, rk, assigned);
    const char **topics = calloc(n, sizeof(*topics));
    int32_t *parts = calloc(n, sizeof(*parts));
    int64_t *stored = calloc(n, sizeof(*stored));
    int rc = -1;
    if (topics != NULL && parts != NULL && stored != NULL) {
        for (size_t i = 0; i < n; i++) {
            topics[i] = assigned->elems[i].topic;
            parts[i] = assigned->elems[i].partition;
        }
        rc = cw_state_offsets_load(h->redis, h->service, n, topics, parts, stored);
    }
    rd_kafka_topic_partition_list_t *rewind = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        book_entry *e = book_find(book, topics[i], parts[i], 0);
        /* A partition marked but with no offsets stored has handled nothing
         * since the mark: a mark is set when the partition is replayed from
         * its beginning. */
        if (stored[i] < 0)
            stored[i] = 0;
        if (e == NULL || e->committed < 0 || stored[i] >= e->committed)
            continue;
        char t[160], from[24], to[24];
        snprintf(t, sizeof(t), "%s:%d", topics[i], (int)parts[i]);
        snprintf(from, sizeof(from), "%lld", (long long)stored[i]);
        snprintf(to, sizeof(to), "%lld", (long long)e->committed);
        cw_log_warn("Redis state is behind the committed offsets (restored from an older "
                    "snapshot?): handling the difference again",
                    "partition", t, "state_offset", from, "committed_offset", to, NULL);
        rd_kafka_topic_partition_list_add(rewind, topics[i], parts[i])->offset = stored[i];
        e->committed = stored[i];
    }
    if (rc == 0 && rewind->cnt > 0) {
        /* The batch is dropped: its other partitions must come again too
         * (first, so that the rewinds below have the last word). */
        unread_batch(b);
        rd_kafka_error_t *err = rd_kafka_seek_partitions(rk, rewind, 10000);
        if (err) {
            cw_log_error("cannot rewind to the state's offsets", "error",
                         rd_kafka_error_string(err), NULL);
            rd_kafka_error_destroy(err);
            rc = -1;
        } else {
            tell_rewound(h, rewind);
            rc = 1;
        }
    }
    rd_kafka_topic_partition_list_destroy(rewind);
    free(topics);
    free(parts);
    free(stored);
    return rc;
}

/* 1 when the batch must be dropped because the partitions were rewound,
 * 0 to go on, -1 when Redis cannot be asked or the rebuild failed. */
static int replay_lost_state(cw_consumer *c, const cw_stream_handlers *h, offset_book *book,
                             const batch *b)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    rd_kafka_t *rk = cw_consumer_handle(c);
    if (rd_kafka_assignment(rk, &list) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    int lost = 0, rc = 0;
    for (int i = 0; i < list->cnt && rc == 0; i++) {
        int marked = cw_state_partition_marked(h->redis, h->service, list->elems[i].topic,
                                               list->elems[i].partition);
        if (marked < 0)
            rc = -1;
        lost |= marked == 0;
    }
    if (rc == 0 && lost) {
        char n[16];
        snprintf(n, sizeof(n), "%d", list->cnt);
        cw_log_warn("no state in Redis for an assigned partition: rebuilding, then replaying "
                    "the assigned partitions from the beginning",
                    "partitions", n, NULL);
        if (h->rebuild != NULL && h->rebuild(h->rebuild_data) != 0)
            rc = -1;
        for (int i = 0; i < list->cnt && rc == 0; i++)
            list->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_error_t *err = rc == 0 ? rd_kafka_seek_partitions(rk, list, 10000) : NULL;
        if (err) {
            cw_log_error("cannot rewind to rebuild state", "error", rd_kafka_error_string(err),
                         NULL);
            rd_kafka_error_destroy(err);
            rc = -1;
        }
        if (rc == 0)
            tell_rewound(h, list);
        /* Marked only once the replay is under way: a failure before this
         * point finds the marks missing again and retries. */
        for (int i = 0; i < list->cnt && rc == 0; i++)
            if (cw_state_partition_mark(h->redis, h->service, list->elems[i].topic,
                                        list->elems[i].partition) != 0)
                rc = -1;
        if (rc == 0)
            rc = 1;
    } else if (rc == 0) {
        rc = replay_behind_state(rk, h, book, list, b);
    }
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

int cw_stream_run(cw_consumer *consumer, cw_producer *producer, const cw_stream_handlers *h)
{
    cw_outbox out = {0};
    static offset_book book; /* large; one stream loop per process */
    book.count = 0;
    int tick_every = h->tick_interval_ms > 0 ? h->tick_interval_ms : 500;
    double last_tick = 0, last_state_check = 0;
    int rc = 0;
    while (!cw_shutdown_requested()) {
        cw_admin_heartbeat();
        batch b;
        if (poll_batch(consumer, h, &b) != 0) {
            cw_log_error("out of memory polling a batch", NULL);
            rc = -1;
            break;
        }
        /* Also checked while idle, so that a fresh assignment is marked (or
         * rebuilt) before its first messages arrive. */
        if (h->redis != NULL && (b.count > 0 || cw_metrics_now() - last_state_check >= 1.0)) {
            last_state_check = cw_metrics_now();
            int replay = replay_lost_state(consumer, h, &book, &b);
            if (replay != 0) {
                /* Rewound (these messages come again) or Redis is down
                 * (seek back so they are not skipped). */
                if (replay < 0) {
                    unread_batch(&b);
                    cw_shutdown_sleep_ms(RETRY_PAUSE_MS);
                }
                batch_free(&b);
                continue;
            }
        }
        size_t done = 0;
        int stop = 0;
        int ticked = 0;
        for (; done < b.count && !stop; done++) {
            stop = handle_one(h, b.msgs[done], &out);
            rd_kafka_message_t *m = b.msgs[done];
            if (!stop && h->tick && h->tick_needed &&
                h->tick_needed(h->tick_needed_data, rd_kafka_topic_name(m->rkt), m->partition,
                               m->offset)) {
                size_t before = out.count;
                int tick_rc = h->tick(h->user_data, &out);
                if (tick_rc != CW_OK)
                    cw_outbox_truncate(&out, before);
                if (tick_rc == CW_FATAL)
                    stop = STOP_FATAL_TICK;
                else if (tick_rc == CW_OK)
                    ticked = 1;
            }
        }
        if (stop) {
            /* The message that stopped us is neither done nor committed,
             * unless only the tick after it failed. */
            if (stop != STOP_FATAL_TICK)
                done--;
            if (stop == STOP_FATAL || stop == STOP_FATAL_TICK) {
                cw_log_error("stopping after the error above", NULL);
                rc = -1;
            }
        }
        if (h->tick && !stop && done == b.count &&
            (b.count > 0 || cw_metrics_now() - last_tick >= tick_every / 1000.0)) {
            size_t before = out.count;
            int tick_rc = h->tick(h->user_data, &out);
            if (tick_rc != CW_OK)
                cw_outbox_truncate(&out, before);
            if (tick_rc == CW_FATAL) {
                /* The batch's messages are done: their results are made
                 * durable and committed below, then the loop ends. */
                cw_log_error("stopping after the error above", NULL);
                stop = STOP_FATAL_TICK;
                rc = -1;
            } else if (tick_rc == CW_OK) {
                ticked = 1;
            }
            last_tick = cw_metrics_now();
        }
        if (h->before_produce && h->before_produce(h->user_data, &out) != 0) {
            cw_log_error("cannot make the batch's results durable; stopping", NULL);
            batch_free(&b);
            rc = -1;
            break;
        }
        int produced = out.count > 0;
        if (produce_all(producer, &out) != 0) {
            batch_free(&b);
            break;
        }
        if (produced && h->after_produce)
            h->after_produce(h->user_data);
        if (ticked && h->tick_done)
            h->tick_done(h->user_data);
        commit_batch(consumer, h, &book, &b, done);
        batch_free(&b);
        if (stop)
            break;
    }
    cw_outbox_free(&out);
    return rc;
}

size_t cw_stream_assigned(cw_consumer *consumer, const char *topic, int32_t *parts, size_t max)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    size_t n = 0;
    if (rd_kafka_assignment(cw_consumer_handle(consumer), &list) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    for (int i = 0; i < list->cnt && n < max; i++)
        if (strcmp(list->elems[i].topic, topic) == 0)
            parts[n++] = list->elems[i].partition;
    rd_kafka_topic_partition_list_destroy(list);
    return n;
}
