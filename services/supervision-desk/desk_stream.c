/* The desk's Kafka side: the rebuild of its books from the topics, and the
 * loop that turns alerts into case events, follows the event clock on
 * visit.checks, escalates what is overdue and keeps the order and elder
 * books current. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_http.h"
#include "grow.h"
#include "kafka_reader.h"
#include "log.h"
#include "shutdown.h"
#include "stream.h"
#include "supervision-desk/desk.h"
#include "timeutil.h"
#include "topics.h"

#define SERVICE "supervision-desk"
#define BATCH_MAX 500
#define POLL_MS 100
#define METADATA_TIMEOUT_MS 10000
#define MAX_ESCALATIONS 256

/* ---- reading a record of each input ---------------------------------------- */

static void dead_letter(desk *d, const rd_kafka_message_t *m, const char *reason)
{
    cw_log_warn("dead letter", "topic", rd_kafka_topic_name(m->rkt), "reason", reason, NULL);
    if (cw_stream_dead_letter(&d->out, SERVICE, rd_kafka_topic_name(m->rkt), m->partition,
                              m->offset, m->key, m->key_len, m->payload, m->len, reason,
                              cw_now_ms()) != 0)
        cw_log_error("cannot build a dead letter", "reason", reason, NULL);
    cw_counter_add(d->inputs, CW_LABELS(rd_kafka_topic_name(m->rkt), "dead_letter"), 1);
}

static void count_in(desk *d, const rd_kafka_message_t *m, const char *outcome)
{
    cw_counter_add(d->inputs, CW_LABELS(rd_kafka_topic_name(m->rkt), outcome), 1);
}

/* An alert opens or joins its case. 0, or -1 (out of memory: fatal). */
static int read_alert(desk *d, const rd_kafka_message_t *m)
{
    char err[256];
    desk_case_alert a;
    desk_case_subject s;
    char *zh = NULL, *en = NULL;
    if (desk_record_decode_alert(m->payload, m->len, &a, &s, &zh, &en, err, sizeof(err)) != 0) {
        dead_letter(d, m, err);
        return 0;
    }
    desk_case_event ev;
    int rc = desk_rules_from_alert(&d->book, &a, &s, &d->deadlines, cw_now_ms(), &ev);
    free(zh);
    free(en);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        count_in(d, m, "repeat");
        return 0;
    }
    rc = desk_record_add(&d->out, &ev, err, sizeof(err));
    if (rc == 0 && (desk_case_book_apply(&d->book, &ev) != 1 || desk_note_applied(d, &ev) != 0))
        rc = -1;
    if (rc == 0) {
        cw_counter_add(d->events_out, CW_LABELS(cw_case_action_name(ev.action)), 1);
        count_in(d, m, "case");
    }
    desk_case_event_clear(&ev);
    return rc;
}

static void read_check(desk *d, const rd_kafka_message_t *m)
{
    char err[256];
    int64_t at;
    int of_event;
    if (desk_record_decode_check_at(m->payload, m->len, &at, &of_event, err, sizeof(err)) != 0) {
        /* Only the clock reads visit.checks: the checkers letter what they
         * cannot read, and an unreadable verdict moves no time. */
        count_in(d, m, "undecodable");
        return;
    }
    /* The clock is the time of the visit events judged; a verdict on an
     * order or a month carries another instant (an assignment's receipt,
     * a month's cutoff), which only the partition's position follows. */
    desk_clock_read(&d->clock, m->partition, m->offset, of_event ? at : INT64_MIN, cw_now_ms());
    count_in(d, m, of_event ? "clock" : "position");
}

static int read_finalized(desk *d, const void *buf, size_t len)
{
    char err[256];
    desk_order o;
    if (desk_record_decode_finalized(buf, len, &o, err, sizeof(err)) != 0) {
        cw_log_warn("an undecodable finalized order (the ledger-writer's): skipped", "error", err,
                    NULL);
        return 0;
    }
    return desk_order_put(d, &o);
}

static int read_change(desk *d, const void *buf, size_t len)
{
    char err[256];
    desk_change c;
    if (desk_record_decode_change(buf, len, &c, err, sizeof(err)) != 0) {
        cw_log_warn("an undecodable order change: skipped", "error", err, NULL);
        return 0;
    }
    return desk_change_put(d, &c);
}

static int read_status(desk *d, const void *buf, size_t len)
{
    char err[256];
    desk_status_change c;
    if (desk_record_decode_status(buf, len, &c, err, sizeof(err)) != 0) {
        cw_log_warn("an undecodable caregiver status: skipped", "error", err, NULL);
        return 0;
    }
    return desk_status_put(d, &c);
}

static int read_visit(desk *d, const void *buf, size_t len)
{
    char err[256];
    desk_visit v;
    desk_visit_rec kind;
    if (desk_record_decode_visit(buf, len, &v, &kind, err, sizeof(err)) != 0)
        return 0; /* the checkers letter what they cannot read */
    return desk_visit_merge(d, &v, kind);
}

static int read_elder(desk *d, const void *buf, size_t len)
{
    char err[256];
    desk_elder e;
    if (desk_record_decode_elder(buf, len, &e, err, sizeof(err)) != 0) {
        cw_log_warn("an undecodable elder: skipped", "error", err, NULL);
        return 0;
    }
    return desk_elder_put(d, &e);
}

/* ---- restore ----------------------------------------------------------------- */

static int restore_case_event(void *ud, const rd_kafka_message_t *m)
{
    desk *d = ud;
    char err[256];
    desk_case_event ev;
    if (desk_record_decode(m->payload, m->len, &ev, err, sizeof(err)) != 0) {
        cw_log_warn("an undecodable case event: skipped", "offset", "", "error", err, NULL);
        return 0;
    }
    int rc = desk_case_book_apply(&d->book, &ev);
    if (rc < 0)
        cw_log_error("a case event out of sequence", "event_id", ev.event_id, NULL);
    if (ev.at > d->book_clock)
        d->book_clock = ev.at;
    desk_case_event_clear(&ev);
    return rc < 0 ? -1 : 0;
}

/* The books besides the cases, each filled from its topic at the restore
 * and kept current by the loop, by the one reader of its records. */
typedef int (*book_reader)(desk *d, const void *buf, size_t len);
static const struct {
    const char *topic;
    book_reader read;
    const char *what; /* for the log */
} BOOKS[] = {
    {CW_TOPIC_ELDERS, read_elder, "elders"},
    {CW_TOPIC_ORDERS_FINALIZED, read_finalized, "finalized orders"},
    {CW_TOPIC_ORDER_CHANGES, read_change, "order changes"},
    {CW_TOPIC_CAREGIVER_STATUS, read_status, "caregiver statuses"},
    {CW_TOPIC_VISIT_EVENTS, read_visit, "visit records"},
};
#define BOOK_COUNT (sizeof(BOOKS) / sizeof(BOOKS[0]))

typedef struct {
    desk *d;
    book_reader read;
} book_restore;

static int restore_book(void *ud, const rd_kafka_message_t *m)
{
    book_restore *r = ud;
    return r->read(r->d, m->payload, m->len);
}

/* The partitions of topic, each with offset `offset`. NULL (logged). */
static rd_kafka_topic_partition_list_t *topic_partitions(desk *d, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(d->consumer, topic, NULL);
    if (rkt == NULL)
        return NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(d->consumer, 0, rkt, &md, METADATA_TIMEOUT_MS);
    rd_kafka_topic_destroy(rkt);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].err ||
        md->topics[0].partition_cnt == 0) {
        cw_log_error("no metadata for an input topic", "topic", topic, "error",
                     rd_kafka_err2str(e                ? e
                                      : md->topic_cnt ? md->topics[0].err
                                                      : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC),
                     NULL);
        if (md)
            rd_kafka_metadata_destroy(md);
        return NULL;
    }
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id);
    rd_kafka_metadata_destroy(md);
    return parts;
}

/* Sets each partition of parts to the group's committed offset, or the
 * beginning when it has none. 0 or -1. */
static int committed_or_beginning(desk *d, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_resp_err_t e = rd_kafka_committed(d->consumer, parts, METADATA_TIMEOUT_MS);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        cw_log_error("cannot read the group's committed offsets", "error", rd_kafka_err2str(e),
                     NULL);
        return -1;
    }
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].offset < 0)
            parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    return 0;
}

static void add_all(rd_kafka_topic_partition_list_t *to, const rd_kafka_topic_partition_list_t *from)
{
    for (int i = 0; from && i < from->cnt; i++)
        rd_kafka_topic_partition_list_add(to, from->elems[i].topic, from->elems[i].partition)
            ->offset = from->elems[i].offset;
}

int desk_restore(desk *d)
{
    char err[512], counts[320];
    rd_kafka_topic_partition_list_t *ends = NULL, *alerts = NULL, *checks = NULL;
    rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_new(64);
    int rc = -1;
    atomic_store(&d->ready, 0);
    cw_outbox_clear(&d->out);
    d->applied_count = 0;
    desk_books_free(d);
    desk_case_book_init(&d->book);
    d->book_clock = INT64_MIN;
    long n = cw_kafka_read_to_end(d->cfg, CW_TOPIC_CASE_EVENTS, restore_case_event, d, &ends, err,
                                  sizeof(err));
    int used = snprintf(counts, sizeof(counts), "%ld case events", n);
    if (ends)
        rd_kafka_topic_partition_list_destroy(ends);
    /* Each book read to its end, and read on from there. */
    for (size_t i = 0; i < BOOK_COUNT && n >= 0; i++) {
        book_restore r = {d, BOOKS[i].read};
        ends = NULL;
        n = cw_kafka_read_to_end(d->cfg, BOOKS[i].topic, restore_book, &r, &ends, err,
                                 sizeof(err));
        if (n >= 0) {
            add_all(all, ends);
            if (used > 0 && (size_t)used < sizeof(counts))
                used += snprintf(counts + used, sizeof(counts) - (size_t)used, ", %ld %s", n,
                                 BOOKS[i].what);
        }
        if (ends)
            rd_kafka_topic_partition_list_destroy(ends);
    }
    if (n < 0) {
        cw_log_error("cannot rebuild from Kafka", "error", err, NULL);
        goto done;
    }
    alerts = topic_partitions(d, CW_TOPIC_ALERTS_ALL);
    checks = topic_partitions(d, CW_TOPIC_VISIT_CHECKS);
    if (!alerts || !checks || committed_or_beginning(d, alerts) != 0 ||
        committed_or_beginning(d, checks) != 0)
        goto done;
    if (desk_clock_init(&d->clock, checks->cnt, d->clock.lateness_ms, d->clock.quiet_ms) != 0) {
        cw_log_error("visit.checks has more partitions than the desk follows", NULL);
        goto done;
    }
    d->watermark = INT64_MIN;
    add_all(all, alerts);
    add_all(all, checks);
    rd_kafka_resp_err_t e = rd_kafka_assign(d->consumer, all);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        cw_log_error("cannot assign the inputs", "error", rd_kafka_err2str(e), NULL);
        goto done;
    }
    cw_log_info("rebuilt from Kafka", "read", counts, NULL);
    atomic_store(&d->ready, 1);
    rc = 0;
done:
    if (alerts)
        rd_kafka_topic_partition_list_destroy(alerts);
    if (checks)
        rd_kafka_topic_partition_list_destroy(checks);
    rd_kafka_topic_partition_list_destroy(all);
    return rc;
}

/* ---- publishing ---------------------------------------------------------------- */

int desk_note_applied(desk *d, const desk_case_event *ev)
{
    if (cw_grow((void **)&d->applied, &d->applied_cap, d->applied_count, sizeof(*d->applied),
                64) != 0)
        return -1;
    struct desk_applied *a = &d->applied[d->applied_count++];
    memcpy(a->case_id, ev->case_id, sizeof(a->case_id));
    a->seq = ev->seq;
    return 0;
}

/* The noted events, now committed, to the live feed. */
static void feed_applied(desk *d)
{
    for (size_t i = 0; i < d->applied_count; i++) {
        const desk_case *c = desk_case_book_find(&d->book, d->applied[i].case_id);
        int seq = d->applied[i].seq;
        if (c && seq >= 1 && (size_t)seq <= c->event_count &&
            desk_live_feed_push(&d->feed, c, &c->events[seq - 1], d->watermark,
                                d->utc_offset_minutes) != 0)
            cw_log_warn("the live feed is out of memory: an event is not shown live", NULL);
    }
    d->applied_count = 0;
}

int desk_publish(desk *d, const rd_kafka_topic_partition_list_t *offsets)
{
    char err[512];
    int rc = cw_txn_begin(d->producer, err, sizeof(err));
    for (size_t i = 0; i < d->out.count && rc == CW_OK; i++)
        rc = cw_txn_produce(d->producer, &d->out.records[i], err, sizeof(err));
    if (rc == CW_OK)
        rc = cw_txn_commit(d->producer, d->consumer, offsets, err, sizeof(err));
    cw_outbox_clear(&d->out);
    if (rc == CW_OK) {
        feed_applied(d);
        return 0;
    }
    d->applied_count = 0;
    if (rc == CW_RETRY) {
        cw_log_warn("transaction aborted; rebuilding from Kafka", "error", err, NULL);
        return 1;
    }
    cw_log_error("cannot publish", "error", err, NULL);
    return -1;
}

/* ---- the loop ------------------------------------------------------------------ */

/* The next offsets of the alerts.all and visit.checks partitions the batch
 * read, for the transaction to commit. NULL when it read none. */
static rd_kafka_topic_partition_list_t *batch_offsets(rd_kafka_message_t **msgs, ssize_t n)
{
    rd_kafka_topic_partition_list_t *offsets = NULL;
    for (ssize_t i = 0; i < n; i++) {
        const char *topic = rd_kafka_topic_name(msgs[i]->rkt);
        if (msgs[i]->err || (strcmp(topic, CW_TOPIC_ALERTS_ALL) != 0 &&
                             strcmp(topic, CW_TOPIC_VISIT_CHECKS) != 0))
            continue;
        if (!offsets)
            offsets = rd_kafka_topic_partition_list_new(16);
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(offsets, topic, msgs[i]->partition);
        if (!p)
            p = rd_kafka_topic_partition_list_add(offsets, topic, msgs[i]->partition);
        if (msgs[i]->offset + 1 > p->offset)
            p->offset = msgs[i]->offset + 1;
    }
    return offsets;
}

/* Tells the clock where each visit.checks partition is and ends. */
static void update_ends(desk *d)
{
    rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(d->clock.count);
    for (int p = 0; p < d->clock.count; p++)
        rd_kafka_topic_partition_list_add(pos, CW_TOPIC_VISIT_CHECKS, p);
    int known = rd_kafka_position(d->consumer, pos) == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int p = 0; p < d->clock.count; p++) {
        int64_t low = -1, high = -1;
        if (rd_kafka_get_watermark_offsets(d->consumer, CW_TOPIC_VISIT_CHECKS, p, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            high = -1;
        desk_clock_set_ends(&d->clock, p, known ? pos->elems[p].offset : -1, high);
    }
    rd_kafka_topic_partition_list_destroy(pos);
}

/* The ESCALATED events of the cases the watermark has passed. 0 or -1. */
static int escalate_due(desk *d)
{
    desk_case *due[MAX_ESCALATIONS];
    char err[256];
    size_t n = desk_rules_due(&d->book, d->watermark, due, MAX_ESCALATIONS);
    for (size_t i = 0; i < n; i++) {
        desk_case_event ev;
        if (desk_rules_escalation(due[i], cw_now_ms(), &ev) != 0)
            return -1;
        int rc = desk_record_add(&d->out, &ev, err, sizeof(err));
        if (rc == 0 && (desk_case_book_apply(&d->book, &ev) != 1 || desk_note_applied(d, &ev) != 0))
            rc = -1;
        if (rc == 0)
            cw_counter_add(d->events_out, CW_LABELS(cw_case_action_name(ev.action)), 1);
        desk_case_event_clear(&ev);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static void count_open(desk *d)
{
    size_t by_status[CW_CASE_STATUS_COUNT] = {0};
    for (size_t i = 0; i < d->book.count; i++)
        if (d->book.cases[i]->visible)
            by_status[d->book.cases[i]->status]++;
    for (int s = 0; s < CW_CASE_STATUS_COUNT; s++)
        cw_gauge_set(d->open_cases, CW_LABELS(cw_case_status_name((cw_case_status)s)),
                     (double)by_status[s]);
}

/* One turn: the batch's records into events, the clock, the escalations,
 * one transaction. 0, 1 rebuild, -1 fatal. Called with the lock held. */
static int handle_batch(desk *d, rd_kafka_message_t **msgs, ssize_t n)
{
    for (ssize_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                cw_log_warn("consumer error", "error", rd_kafka_message_errstr(m), NULL);
            continue;
        }
        const char *topic = rd_kafka_topic_name(m->rkt);
        int rc = 0;
        if (strcmp(topic, CW_TOPIC_ALERTS_ALL) == 0)
            rc = read_alert(d, m);
        else if (strcmp(topic, CW_TOPIC_VISIT_CHECKS) == 0)
            read_check(d, m);
        else
            for (size_t b = 0; b < BOOK_COUNT; b++)
                if (strcmp(topic, BOOKS[b].topic) == 0)
                    rc = BOOKS[b].read(d, m->payload, m->len);
        if (rc != 0)
            return -1;
    }
    update_ends(d);
    d->watermark = desk_clock_watermark(&d->clock, cw_now_ms());
    if (escalate_due(d) != 0)
        return -1;
    rd_kafka_topic_partition_list_t *offsets = batch_offsets(msgs, n);
    int rc = 0;
    if (d->out.count > 0 || offsets != NULL)
        rc = desk_publish(d, offsets);
    if (offsets)
        rd_kafka_topic_partition_list_destroy(offsets);
    count_open(d);
    return rc;
}

int desk_stream_run(desk *d)
{
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(d->consumer);
    rd_kafka_message_t *msgs[BATCH_MAX];
    int status = 0;
    if (!q) {
        cw_log_error("no consumer queue", NULL);
        return 1;
    }
    while (!cw_shutdown_requested()) {
        cw_admin_heartbeat();
        ssize_t n = rd_kafka_consume_batch_queue(q, POLL_MS, msgs, BATCH_MAX);
        if (n < 0) {
            cw_log_error("cannot poll", "error", rd_kafka_err2str(rd_kafka_last_error()), NULL);
            n = 0;
        }
        pthread_mutex_lock(&d->lock);
        int rc = handle_batch(d, msgs, n);
        if (rc == 1)
            rc = desk_restore(d);
        if (rc != 0) {
            /* Events of this batch may be in the book unpublished: nobody
             * may read or publish them. */
            cw_outbox_clear(&d->out);
            d->applied_count = 0;
            atomic_store(&d->ready, 0);
            cw_shutdown_request();
        }
        pthread_mutex_unlock(&d->lock);
        for (ssize_t i = 0; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
        if (rc != 0) {
            status = 1;
            break;
        }
    }
    rd_kafka_queue_destroy(q);
    return status;
}
