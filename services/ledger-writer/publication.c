/* What the ledger holds that Kafka must get: after every batch the
 * entries appended since the last acknowledged publication (read back from
 * the log, so nothing the stream drops on a retry is lost) and a signed
 * checkpoint; <ledger.dir>/published records how far the log is
 * acknowledged, and a restart publishes the rest. At start it also reads
 * back the log's entries (which orders are final) and the promise it last
 * published on ledger.checkpoints. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avro_codec.h"
#include "avro_records.h"
#include "kafka_reader.h"
#include "ledger-writer/checkpoint_record.h"
#include "ledger-writer/ledger_writer.h"
#include "log.h"
#include "shutdown.h"
#include "timeutil.h"
#include "topics.h"

int ledger_entry_read(const ledger_ctx *c, uint64_t index, ledger_entry *e, const uint8_t **bytes,
                      size_t *len)
{
    char err[256] = "";
    if (ledger_log_entry(c->log, index, bytes, len) == 0 &&
        ledger_entry_decode(*bytes, *len, e, err, sizeof(err)) == 0)
        return 0;
    cw_log_error("a ledger entry does not decode", "error", err, NULL);
    return -1;
}

/* Calls fn(user_data, index, order_id, entry, len) for the entries
 * [from, to) of the log, each decoded once for its order id (borrowed for
 * the call). 0, or -1 when an entry does not decode or fn fails. */
static int each_entry(const ledger_ctx *c, uint64_t from, uint64_t to,
                      int (*fn)(void *user_data, uint64_t index, const char *order_id,
                                const uint8_t *entry, size_t len),
                      void *user_data)
{
    for (uint64_t i = from; i < to; i++) {
        const uint8_t *bytes;
        size_t len;
        ledger_entry e;
        if (ledger_entry_read(c, i, &e, &bytes, &len) != 0)
            return -1;
        int rc = fn(user_data, i, e.rec.order_id, bytes, len);
        ledger_entry_release(&e);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* each_entry callback: the entry onto orders.finalized, keyed by its order. */
static int add_to_outbox(void *user_data, uint64_t index, const char *order_id,
                         const uint8_t *entry, size_t len)
{
    (void)index;
    uint8_t *copy = malloc(len);
    if (copy == NULL) {
        cw_log_error("out of memory publishing the ledger", NULL);
        return -1;
    }
    memcpy(copy, entry, len);
    /* The outbox owns copy from here on, also when adding fails. */
    return cw_outbox_add_owned(user_data, CW_TOPIC_ORDERS_FINALIZED, order_id, copy, len) == 0 ? 0 : -1;
}

static int add_checkpoint(ledger_ctx *c, const ledger_checkpoint *cp, int64_t finalized_through,
                          cw_outbox *out)
{
    char err[256];
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (ledger_checkpoint_record_encode(cp, finalized_through, &bytes, &len, err, sizeof(err)) !=
            0 ||
        cw_outbox_add_owned(out, CW_TOPIC_LEDGER_CHECKPOINTS, c->log_id, bytes, len) != 0) {
        cw_log_error("cannot publish a checkpoint", "error", err, NULL);
        return -1;
    }
    return 0;
}

/* Adds every entry not yet published to the outbox, then signs a
 * checkpoint of the log and adds it too, with finalized_through. When
 * nothing was appended but finalized_through moved on by
 * republish_step_ms, the latest checkpoint goes out again with the new
 * value (the payment scheduler waits for it before a statement). */
int ledger_before_produce(void *user_data, cw_outbox *out)
{
    ledger_ctx *c = ((cw_checker *)user_data)->user_data;
    /* Orders the batch finalized may have corrections waiting: their
     * correcting entries go out with it. On a Redis error they stay held
     * for the next batch (applying one twice is a duplicate, not an
     * entry); a refused append stops the service. */
    if (ledger_apply_held_corrections(c) == CW_FATAL)
        return -1;
    uint64_t size = ledger_log_size(c->log);
    if (each_entry(c, c->published, size, add_to_outbox, out) != 0)
        return -1;
    int64_t ft;
    if (ledger_finalized_through(c, &ft) != 0)
        ft = c->finalized_through; /* Redis away or nothing assigned: no news */
    if (size == c->checkpointed) {
        int moved = ft != INT64_MIN &&
                    (c->finalized_through == INT64_MIN ||
                     ft - c->finalized_through >= c->republish_step_ms);
        if (!moved)
            return 0;
        if (!c->has_last_cp) {
            /* No checkpoint yet (an empty log): sign one, so that the
             * promise has a tree size to go with. */
            char err[256];
            if (ledger_log_checkpoint(c->log, cw_now_ms(), &c->last_cp, err, sizeof(err)) != 0) {
                cw_log_error("cannot write a checkpoint", "error", err, NULL);
                return -1;
            }
            c->has_last_cp = 1;
            c->checkpointed = c->last_cp.tree_size;
        }
        if (add_checkpoint(c, &c->last_cp, ft, out) != 0)
            return -1;
        c->finalized_through = ft;
        return 0;
    }
    char err[256];
    if (ledger_log_checkpoint(c->log, cw_now_ms(), &c->last_cp, err, sizeof(err)) != 0) {
        cw_log_error("cannot write a checkpoint", "error", err, NULL);
        return -1;
    }
    c->has_last_cp = 1;
    if (add_checkpoint(c, &c->last_cp, ft, out) != 0)
        return -1;
    c->checkpointed = c->last_cp.tree_size;
    c->finalized_through = ft;
    return 0;
}

/* Writes the published size: temporary file, fsync, rename. */
static int write_published(const ledger_ctx *c, uint64_t size)
{
    char tmp[PATH_MAX + 8], text[32];
    snprintf(tmp, sizeof(tmp), "%s.tmp", c->published_path);
    int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", size);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    int ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
    if (close(fd) != 0 || !ok || rename(tmp, c->published_path) != 0)
        return -1;
    return 0;
}

void ledger_after_produce(void *user_data)
{
    ledger_ctx *c = ((cw_checker *)user_data)->user_data;
    c->published = ledger_log_size(c->log);
    if (write_published(c, c->published) != 0)
        cw_log_warn("cannot record the published size (a restart republishes)", "error",
                    strerror(errno), NULL);
}

static uint64_t read_published(const ledger_ctx *c)
{
    FILE *f = fopen(c->published_path, "r");
    unsigned long long size = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu", &size) != 1)
        size = 0;
    fclose(f);
    return size;
}

int ledger_publish_tail(ledger_ctx *c)
{
    uint64_t from = read_published(c), size = ledger_log_size(c->log);
    if (from > size)
        from = 0; /* a published size beyond the log: trust the log */
    cw_outbox tail = {0};
    int rc = each_entry(c, from, size, add_to_outbox, &tail);
    if (rc == 0 && tail.count > 0)
        rc = cw_producer_send_sync(c->ck->producer, tail.records, tail.count);
    cw_outbox_free(&tail);
    if (rc != 0)
        return -1;
    if (size > from) {
        char n[24];
        snprintf(n, sizeof(n), "%" PRIu64, size - from);
        cw_log_info("published the entries a previous run left unpublished", "entries", n,
                    NULL);
    }
    c->published = size;
    return write_published(c, size);
}

/* each_entry callback: the order into the index of final orders. */
static int add_to_index(void *user_data, uint64_t index, const char *order_id,
                        const uint8_t *entry, size_t len)
{
    (void)entry;
    (void)len;
    ledger_ctx *c = user_data;
    return cw_idset_add(&c->index, order_id, index) < 0 ? -1 : 0;
}

int ledger_index_log(ledger_ctx *c)
{
    return each_entry(c, 0, ledger_log_size(c->log), add_to_index, c);
}

/* Attempts, a second apart, to read ledger.checkpoints at start. */
#define PROMISE_READ_ATTEMPTS 60

/* One LedgerCheckpoint of ledger.checkpoints: the largest finalized_through
 * this log published. */
static int read_promise(void *ud, const rd_kafka_message_t *m)
{
    ledger_ctx *c = ud;
    const cw_avro_schema *s;
    avro_value_t v;
    cw_ledger_checkpoint cp;
    char err[256];
    if (m->len == 0 || cw_avro_decode(m->payload, m->len, &s, &v, err, sizeof(err)) != 0)
        return 0; /* not this writer's record: its readers letter it */
    if (strcmp(s->name, "LedgerCheckpoint") == 0 && cw_ledger_checkpoint_read(&v, &cp) == 0) {
        if (strcmp(cp.log_id, c->log_id) == 0 && cp.has_finalized_through &&
            cp.finalized_through > c->finalized_through)
            c->finalized_through = cp.finalized_through;
        cw_ledger_checkpoint_release(&cp);
    }
    avro_value_decref(&v);
    return 0;
}

int ledger_restore_promise(ledger_ctx *c)
{
    char err[256];
    /* A broker that has just started may not lead its partitions yet: the
     * read is tried again for a minute, as the stream's own start waits. */
    for (int attempt = 1; !cw_shutdown_requested(); attempt++) {
        rd_kafka_topic_partition_list_t *ends = NULL;
        if (cw_kafka_read_to_end(c->ck->cfg, CW_TOPIC_LEDGER_CHECKPOINTS, read_promise, c, &ends,
                                 err, sizeof(err)) >= 0) {
            rd_kafka_topic_partition_list_destroy(ends);
            return 0;
        }
        if (attempt >= PROMISE_READ_ATTEMPTS) {
            cw_log_error("cannot read the published promise from ledger.checkpoints", "error", err,
                         NULL);
            return -1;
        }
        cw_log_warn("ledger.checkpoints not readable yet; retrying", "error", err, NULL);
        cw_shutdown_sleep_ms(1000);
    }
    return -1;
}
