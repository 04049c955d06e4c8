/* What the ledger holds that Kafka must get: after every batch the
 * entries appended since the last acknowledged publication (read back from
 * the log, so nothing the stream drops on a retry is lost) and a signed
 * checkpoint; <ledger.dir>/published records how far the log is
 * acknowledged, and a restart publishes the rest. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avro_codec.h"
#include "avro_fields.h"
#include "checkpoint_record.h"
#include "ledger_writer.h"
#include "log.h"
#include "timeutil.h"

static int entry_order_id(const ledger_ctx *c, uint64_t i, const uint8_t **entry, size_t *len,
                          avro_value_t *v, const char **order_id)
{
    const cw_avro_schema *s;
    char err[256];
    if (ledger_log_entry(c->log, i, entry, len) != 0 ||
        cw_avro_decode(*entry, *len, &s, v, err, sizeof(err)) != 0) {
        cw_log_error("a ledger entry does not decode", "error", err, NULL);
        return -1;
    }
    if (cw_av_get_str(v, "order_id", order_id) != 0) {
        avro_value_decref(v);
        return -1;
    }
    return 0;
}

/* Adds every entry not yet published to the outbox, then signs a
 * checkpoint of the log and adds it too. */
int lw_before_produce(void *user_data, cw_outbox *out)
{
    ledger_ctx *c = user_data;
    uint64_t size = ledger_log_size(c->log);
    for (uint64_t i = c->published; i < size; i++) {
        const uint8_t *entry;
        size_t len;
        avro_value_t v;
        const char *order_id;
        if (entry_order_id(c, i, &entry, &len, &v, &order_id) != 0)
            return -1;
        uint8_t *copy = malloc(len);
        int rc = copy == NULL ? -1 : 0;
        if (copy != NULL) {
            memcpy(copy, entry, len);
            rc = cw_outbox_add_owned(out, "orders.finalized", order_id, copy, len);
        }
        avro_value_decref(&v);
        if (rc != 0) {
            cw_log_error("out of memory publishing the ledger", NULL);
            return -1;
        }
    }
    if (size == c->checkpointed)
        return 0;
    char err[256];
    ledger_checkpoint cp;
    if (ledger_log_checkpoint(c->log, cw_now_ms(), &cp, err, sizeof(err)) != 0) {
        cw_log_error("cannot write a checkpoint", "error", err, NULL);
        return -1;
    }
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (checkpoint_record_encode(&cp, &bytes, &len, err, sizeof(err)) != 0 ||
        cw_outbox_add_owned(out, "ledger.checkpoints", c->log_id, bytes, len) != 0) {
        cw_log_error("cannot publish a checkpoint", "error", err, NULL);
        return -1;
    }
    c->checkpointed = cp.tree_size;
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

void lw_after_produce(void *user_data)
{
    ledger_ctx *c = user_data;
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

int lw_publish_tail(ledger_ctx *c)
{
    uint64_t from = read_published(c), size = ledger_log_size(c->log);
    if (from > size)
        from = 0; /* a published size beyond the log: trust the log */
    for (uint64_t i = from; i < size; i++) {
        const uint8_t *entry;
        size_t len;
        avro_value_t v;
        const char *order_id;
        if (entry_order_id(c, i, &entry, &len, &v, &order_id) != 0)
            return -1;
        cw_kafka_record rec = {.topic = "orders.finalized", .key = order_id,
                               .key_len = strlen(order_id), .value = entry, .value_len = len};
        int rc = cw_producer_send_sync(c->ck->producer, &rec, 1);
        avro_value_decref(&v);
        if (rc != 0)
            return -1;
    }
    if (size > from) {
        char n[24];
        snprintf(n, sizeof(n), "%" PRIu64, size - from);
        cw_log_info("published the entries a previous run left unpublished", "entries", n,
                    NULL);
    }
    c->published = size;
    return write_published(c, size);
}

int lw_index_log(ledger_ctx *c)
{
    uint64_t size = ledger_log_size(c->log);
    for (uint64_t i = 0; i < size; i++) {
        const uint8_t *entry;
        size_t len;
        avro_value_t v;
        const char *order_id;
        if (entry_order_id(c, i, &entry, &len, &v, &order_id) != 0)
            return -1;
        int rc = cw_idset_add(&c->index, order_id, i);
        avro_value_decref(&v);
        if (rc < 0)
            return -1;
    }
    return 0;
}
