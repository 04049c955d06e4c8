/* The streaming payment scheduler (the scheme is described in
 * payment_scheduler.h): restore from the topics, then consume and publish
 * in Kafka transactions until SIGTERM, with /livez, /readyz and /metrics on
 * admin.port. */
#include "payment-scheduler/payment_scheduler.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_http.h"
#include "id_set.h"
#include "kafka_reader.h"
#include "kafka_txn.h"
#include "payment-scheduler/ledger_progress.h"
#include "log.h"
#include "metrics.h"
#include "payment-scheduler/pay_config.h"
#include "payment-scheduler/payment_records.h"
#include "payment-scheduler/payment_state.h"
#include "shutdown.h"
#include "stream.h"
#include "timeutil.h"
#include "topics.h"

/* Its own dead letters, read back at the restore. */
#define DEAD_LETTER_TOPIC CW_TOPIC_DEAD_LETTER_PREFIX PAY_SERVICE
#define INIT_TIMEOUT_MS 30000
#define RETRY_PAUSE_MS 1000
#define KEY_MAX 256
/* Asking the broker for a partition's end happens in the consuming loop:
 * short, so that a slow broker does not stall it. */
#define END_QUERY_TIMEOUT_MS 500

typedef enum { MODE_REPLAY, MODE_LIVE } input_mode;

typedef struct {
    int32_t partition;
    int64_t next;            /* next offset to read, from the records handled */
    int64_t position;        /* the same, past transaction markers (update_positions) */
    int64_t last_message_ms; /* wall clock of its last record; 0: none yet */
    int64_t query_after_ms;  /* no broker query before (after a failed one) */
} part_position;

typedef struct {
    cw_counter *statements, *instructions, *cents, *orders, *transactions, *restores;
    cw_gauge *watermark, *ledger_through;
} pay_metrics;

/* What the open batch did, counted once its transaction commits. */
typedef struct {
    uint64_t counted, pending, duplicate, rejected, cancelled;
} batch_tally;

typedef struct {
    const cw_config *cfg;
    pay_settings set;
    pay_state *st;
    cw_idset dead; /* "topic/partition/offset" of records already dead-lettered */
    part_position *parts;        /* of orders.finalized */
    pay_partition_clock *clocks; /* clocks[i] is parts[i]'s */
    size_t part_count;
    rd_kafka_topic_partition_list_t *contract_ends;
    /* ledger.checkpoints (stream.wait_for_ledger): the next offset to read
     * per partition, and P and G (ledger_progress.h). */
    rd_kafka_topic_partition_list_t *checkpoint_pos;
    pay_ledger_progress ledger;
    cw_outbox out;     /* dead letters, then encoded statements and instructions */
    pay_output pout;   /* statements and instructions not yet encoded */
    batch_tally tally;
    cw_txn_producer *producer;
    rd_kafka_t *consumer;
    atomic_int ready;
    pay_metrics m;
} scheduler;

/* ---- readiness, metrics -------------------------------------------------- */

static int ready_probe(void *user_data, char *reason, size_t reason_len)
{
    scheduler *s = user_data;
    if (!atomic_load(&s->ready)) {
        snprintf(reason, reason_len, "restoring the state from Kafka");
        return 1;
    }
    if (cw_txn_ping(s->producer, 2000) != 0) {
        snprintf(reason, reason_len, "kafka unreachable");
        return 1;
    }
    return 0;
}

static void register_metrics(pay_metrics *m)
{
    m->statements = cw_metrics_counter("carewatch_payment_statements_total",
                                       "Daily statements published.", NULL);
    m->instructions = cw_metrics_counter("carewatch_payment_instructions_total",
                                         "Payment instructions published.", "kind");
    m->cents = cw_metrics_counter("carewatch_payment_amount_cents_total",
                                  "Cents instructed: paid (PREPAY, SETTLEMENT) or clawed back.",
                                  "kind");
    m->orders = cw_metrics_counter("carewatch_payment_orders_total",
                                   "Finalized orders read, by outcome.", "outcome");
    m->transactions = cw_metrics_counter("carewatch_payment_transactions_total",
                                         "Kafka transactions, by result.", "result");
    m->restores = cw_metrics_counter("carewatch_payment_restores_total",
                                     "State rebuilds from the topics.", NULL);
    m->watermark = cw_metrics_gauge("carewatch_payment_watermark_ms",
                                    "Event-time watermark (UTC ms).", NULL);
    m->ledger_through = cw_metrics_gauge(
        "carewatch_payment_ledger_finalized_through_ms",
        "Largest finalized_through of the ledger checkpoints whose entries were all read "
        "(UTC ms); the watermark does not pass it.",
        NULL);
    for (int k = CW_PAYMENT_KIND_PREPAY; k <= CW_PAYMENT_KIND_CLAWBACK; k++) {
        cw_counter_add(m->instructions, CW_LABELS(cw_payment_kind_name((cw_payment_kind)k)), 0);
        cw_counter_add(m->cents, CW_LABELS(cw_payment_kind_name((cw_payment_kind)k)), 0);
    }
    cw_counter_add(m->statements, NULL, 0);
}

/* ---- input --------------------------------------------------------------- */

static void dead_key(char *buf, size_t len, const char *topic, int32_t partition, int64_t offset)
{
    /* The key cw_stream_dead_letter gives a dead letter. */
    snprintf(buf, len, "%s/%d/%lld", topic, (int)partition, (long long)offset);
}

/* A dead letter for m, unless it has one already. 0 or -1. */
static int dead_letter(scheduler *s, const rd_kafka_message_t *m, const char *reason)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    char key[KEY_MAX];
    dead_key(key, sizeof(key), topic, m->partition, m->offset);
    if (cw_idset_contains(&s->dead, key))
        return 0;
    if (cw_stream_dead_letter(&s->out, PAY_SERVICE, topic, m->partition, m->offset, m->key,
                              m->key_len, m->payload, m->len, reason, cw_now_ms()) != 0 ||
        cw_idset_add(&s->dead, key, 0) < 0)
        return -1;
    return 0;
}

static int on_contract(scheduler *s, const rd_kafka_message_t *m)
{
    pay_contract c;
    char reason[256];
    if (pay_read_contract(m->payload, m->len, &c, reason, sizeof(reason)) != 0)
        return dead_letter(s, m, reason);
    return pay_state_put_contract(s->st, &c, &s->pout) == PAY_RECORD_NOMEM ? -1 : 0;
}

/* Index of partition in s->parts, or -1. */
static int part_index(const scheduler *s, int32_t partition)
{
    for (size_t i = 0; i < s->part_count; i++)
        if (s->parts[i].partition == partition)
            return (int)i;
    return -1;
}

static int on_order(scheduler *s, const rd_kafka_message_t *m, input_mode mode)
{
    char key[KEY_MAX], reason[256];
    avro_value_t value;
    pay_order o;
    int p = part_index(s, m->partition);
    if (p >= 0) {
        s->parts[p].last_message_ms = cw_now_ms();
        if (m->offset + 1 > s->parts[p].next)
            s->parts[p].next = m->offset + 1;
    }
    if (pay_read_order(m->payload, m->len, &value, &o, reason, sizeof(reason)) != 0)
        return dead_letter(s, m, reason);
    if (p >= 0 && o.finalized_at > s->clocks[p].max_event_ms)
        s->clocks[p].max_event_ms = o.finalized_at;
    int rc = 0;
    if (s->set.wait_for_ledger) {
        /* Every entry counts towards the prefix, paid or not. */
        pay_ledger_result lr = pay_ledger_see_entry(&s->ledger, o.ledger_index);
        if (lr == PAY_LEDGER_REFUSED) {
            /* Marked seen as the replay marks a dead-lettered order. */
            snprintf(reason, sizeof(reason), "order %s: ledger_index %lld out of range",
                     o.order_id, (long long)o.ledger_index);
            rc = pay_state_mark_refused(s->st, &o) != 0 ? -1 : dead_letter(s, m, reason);
        }
        if (lr != PAY_LEDGER_TAKEN) {
            avro_value_decref(&value);
            return lr == PAY_LEDGER_NOMEM ? -1 : rc;
        }
    }
    dead_key(key, sizeof(key), CW_TOPIC_ORDERS_FINALIZED, m->partition, m->offset);
    if (mode == MODE_REPLAY && cw_idset_contains(&s->dead, key)) {
        /* Refused before (under the contract as it was then): stays so. */
        rc = pay_state_mark_refused(s->st, &o);
        avro_value_decref(&value);
        return rc;
    }
    pay_order_result r = mode == MODE_REPLAY
                             ? pay_state_replay_order(s->st, &o, reason, sizeof(reason))
                             : pay_state_add_order(s->st, &o, reason, sizeof(reason));
    switch (r) {
    case PAY_ORDER_COUNTED: s->tally.counted++; break;
    case PAY_ORDER_PENDING: s->tally.pending++; break;
    case PAY_ORDER_DUPLICATE: s->tally.duplicate++; break;
    case PAY_ORDER_CANCELLED: s->tally.cancelled++; break;
    case PAY_ORDER_REJECTED:
        s->tally.rejected++;
        rc = dead_letter(s, m, reason);
        break;
    case PAY_ORDER_ERROR: rc = -1; break;
    }
    avro_value_decref(&value);
    return rc;
}

static int on_checkpoint(scheduler *s, const rd_kafka_message_t *m)
{
    pay_checkpoint cp;
    char reason[256];
    if (s->checkpoint_pos != NULL) {
        rd_kafka_topic_partition_t *pos = rd_kafka_topic_partition_list_find(
            s->checkpoint_pos, CW_TOPIC_LEDGER_CHECKPOINTS, m->partition);
        if (pos != NULL && m->offset + 1 > pos->offset)
            pos->offset = m->offset + 1;
    }
    if (pay_read_checkpoint(m->payload, m->len, &cp, reason, sizeof(reason)) != 0)
        return dead_letter(s, m, reason);
    switch (pay_ledger_see_checkpoint(&s->ledger, cp.tree_size, cp.has_through,
                                      cp.finalized_through)) {
    case PAY_LEDGER_TAKEN: return 0;
    case PAY_LEDGER_REFUSED:
        snprintf(reason, sizeof(reason), "LedgerCheckpoint tree_size %lld out of range",
                 (long long)cp.tree_size);
        return dead_letter(s, m, reason);
    case PAY_LEDGER_NOMEM: break;
    }
    return -1;
}

/* ---- publishing ---------------------------------------------------------- */

static void log_instruction(const pay_instruction *in)
{
    char id[PAY_INSTRUCTION_ID_MAX], amount[32];
    if (pay_instruction_record_id(in, id, sizeof(id)) != 0)
        return;
    pay_format_yuan(amount, sizeof(amount), in->amount_cents);
    cw_log_info("payment instruction", "instruction_id", id, "kind", cw_payment_kind_name(in->kind),
                "amount_yuan", amount, NULL);
}

static void count_committed(scheduler *s)
{
    for (size_t i = 0; i < s->out.count; i++)
        cw_metrics_event_out(s->out.records[i].topic);
    cw_counter_add(s->m.statements, NULL, s->pout.statement_count);
    for (size_t i = 0; i < s->pout.instruction_count; i++) {
        const pay_instruction *in = &s->pout.instructions[i];
        const char *kind = cw_payment_kind_name(in->kind);
        cw_counter_add(s->m.instructions, CW_LABELS(kind), 1);
        cw_counter_add(s->m.cents, CW_LABELS(kind), (uint64_t)in->amount_cents);
        log_instruction(in);
    }
    cw_counter_add(s->m.orders, CW_LABELS("pending"), s->tally.pending);
    cw_counter_add(s->m.orders, CW_LABELS("duplicate"), s->tally.duplicate);
    cw_counter_add(s->m.orders, CW_LABELS("cancelled"), s->tally.cancelled);
    cw_counter_add(s->m.orders, CW_LABELS("rejected"), s->tally.rejected);
    cw_counter_add(s->m.transactions, CW_LABELS("committed"), 1);
}

static void clear_batch(scheduler *s)
{
    cw_outbox_clear(&s->out);
    pay_output_clear(&s->pout);
    memset(&s->tally, 0, sizeof(s->tally));
}

/* The consumer positions of orders.finalized, and with_checkpoints those
 * of ledger.checkpoints too (for the transaction). */
static rd_kafka_topic_partition_list_t *positions(const scheduler *s, int with_checkpoints)
{
    const rd_kafka_topic_partition_list_t *cps = with_checkpoints ? s->checkpoint_pos : NULL;
    rd_kafka_topic_partition_list_t *list =
        rd_kafka_topic_partition_list_new((int)s->part_count + (cps ? cps->cnt : 0) + 1);
    for (size_t i = 0; i < s->part_count; i++)
        if (s->parts[i].next >= 0)
            rd_kafka_topic_partition_list_add(list, CW_TOPIC_ORDERS_FINALIZED, s->parts[i].partition)
                ->offset = s->parts[i].next;
    for (int i = 0; cps != NULL && i < cps->cnt; i++)
        if (cps->elems[i].offset >= 0)
            rd_kafka_topic_partition_list_add(list, CW_TOPIC_LEDGER_CHECKPOINTS,
                                              cps->elems[i].partition)
                ->offset = cps->elems[i].offset;
    return list;
}

/* Records the batch has to publish, encoded or not yet. */
static size_t pending_outputs(const scheduler *s)
{
    return s->out.count + s->pout.statement_count + s->pout.instruction_count +
           s->pout.budget_alert_count + s->pout.month_verdict_count;
}

/* Publishes the batch in one transaction. CW_OK when committed (or
 * nothing to do), CW_RETRY when aborted, CW_FATAL. */
static cw_result publish(scheduler *s)
{
    char err[512];
    for (size_t i = 0; i < s->pout.statement_count; i++)
        if (pay_outbox_add_statement(&s->out, &s->pout.statements[i], err, sizeof(err)) != 0)
            goto fatal;
    for (size_t i = 0; i < s->pout.instruction_count; i++)
        if (pay_outbox_add_instruction(&s->out, &s->pout.instructions[i], err, sizeof(err)) != 0)
            goto fatal;
    for (size_t i = 0; i < s->pout.budget_alert_count; i++)
        if (pay_outbox_add_budget_alert(&s->out, &s->pout.budget_alerts[i], err, sizeof(err)) !=
            0)
            goto fatal;
    for (size_t i = 0; i < s->pout.month_verdict_count; i++)
        if (pay_outbox_add_month_verdict(&s->out, &s->pout.month_verdicts[i], err, sizeof(err)) !=
            0)
            goto fatal;
    if (cw_txn_begin(s->producer, err, sizeof(err)) != CW_OK)
        goto fatal;
    cw_result rc = CW_OK;
    for (size_t i = 0; i < s->out.count && rc == CW_OK; i++)
        rc = cw_txn_produce(s->producer, &s->out.records[i], err, sizeof(err));
    if (rc == CW_OK) {
        rd_kafka_topic_partition_list_t *offsets = positions(s, 1);
        rc = cw_txn_commit(s->producer, s->consumer, offsets, err, sizeof(err));
        rd_kafka_topic_partition_list_destroy(offsets);
    }
    if (rc == CW_OK) {
        count_committed(s);
        clear_batch(s);
        return CW_OK;
    }
    if (rc == CW_RETRY) {
        cw_counter_add(s->m.transactions, CW_LABELS("aborted"), 1);
        cw_log_warn("transaction aborted; rebuilding the state from Kafka", "error", err, NULL);
        clear_batch(s);
        return CW_RETRY;
    }
fatal:
    cw_log_error("cannot publish", "error", err, NULL);
    return CW_FATAL;
}

/* ---- watermark ----------------------------------------------------------- */

/* Each partition's position in orders.finalized: the next offset to read,
 * taken from the client when it is past the records handled (transaction
 * markers take offsets no message is returned for). */
static void update_positions(scheduler *s)
{
    rd_kafka_topic_partition_list_t *pos = positions(s, 0);
    int known = rd_kafka_position(s->consumer, pos) == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (size_t i = 0; i < s->part_count; i++) {
        part_position *pp = &s->parts[i];
        pp->position = pp->next;
        rd_kafka_topic_partition_t *p =
            known ? rd_kafka_topic_partition_list_find(pos, CW_TOPIC_ORDERS_FINALIZED, pp->partition)
                  : NULL;
        if (p != NULL && p->offset > pp->position)
            pp->position = p->offset;
    }
    rd_kafka_topic_partition_list_destroy(pos);
}

/* Whether partition i is caught up by what the client knows without a
 * round trip: the end offset it cached from its last fetch. That end may
 * be stale (newer records are on the broker but not fetched yet). */
static int caught_up_cached(const scheduler *s, size_t i, int64_t now)
{
    const part_position *pp = &s->parts[i];
    int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(s->consumer, CW_TOPIC_ORDERS_FINALIZED, pp->partition, &low,
                                       &high) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    return pay_partition_caught_up(now - pp->last_message_ms, s->set.quiet_ms, pp->position,
                                   high);
}

/* Whether partition i is caught up by the end offset asked of the broker
 * now. A failed query counts as not caught up, and the partition is not
 * asked again for RETRY_PAUSE_MS. */
static int caught_up_at_broker(scheduler *s, size_t i, int64_t now)
{
    part_position *pp = &s->parts[i];
    if (now < pp->query_after_ms)
        return 0;
    int64_t low = -1, high = -1;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
        s->consumer, CW_TOPIC_ORDERS_FINALIZED, pp->partition, &low, &high, END_QUERY_TIMEOUT_MS);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char part[16];
        snprintf(part, sizeof(part), "%d", (int)pp->partition);
        cw_log_warn("cannot ask the broker for the end of a partition", "topic",
                    CW_TOPIC_ORDERS_FINALIZED, "partition", part, "error", rd_kafka_err2str(e), NULL);
        pp->query_after_ms = now + RETRY_PAUSE_MS;
        return 0;
    }
    return pay_partition_caught_up(now - pp->last_message_ms, s->set.quiet_ms, pp->position,
                                   high);
}

/* The watermark capped by the ledger's promise (pay_ledger_cap) when
 * stream.wait_for_ledger is on. */
static int64_t capped(const scheduler *s, int64_t wm)
{
    return s->set.wait_for_ledger ? pay_ledger_cap(wm, s->ledger.through) : wm;
}

/* The streaming watermark (pay_watermark, then capped), after setting
 * which partitions are caught up. A partition that is quiet and at its
 * cached end follows the others as long as that makes nothing due. When
 * following would pass the next statement instant (pay_state_next_due),
 * and the ledger's promise would let it (else asking is of no use), the
 * cached end is not trusted: each such partition whose own clock stays short of the instant
 * is asked the broker for its end, and follows only if it has reached it;
 * the others hold at their own clocks. So the broker is asked only when a
 * statement instant is about to be passed, and only about the partitions
 * that would otherwise hold it back; once the statements are out, the next
 * instant is a day later. */
static int64_t stream_watermark(scheduler *s)
{
    int64_t now = cw_now_ms();
    update_positions(s);
    for (size_t i = 0; i < s->part_count; i++)
        s->clocks[i].caught_up = caught_up_cached(s, i, now);
    int64_t wm = pay_watermark(s->clocks, s->part_count, now, s->set.live, s->set.lateness_ms);
    int64_t due = pay_state_next_due(s->st);
    if (capped(s, wm) < due)
        return capped(s, wm);
    for (size_t i = 0; i < s->part_count; i++) {
        pay_partition_clock *c = &s->clocks[i];
        if (!c->caught_up)
            continue;
        pay_partition_clock own = {.max_event_ms = c->max_event_ms, .caught_up = 0};
        c->caught_up = pay_watermark(&own, 1, now, s->set.live, s->set.lateness_ms) < due &&
                       caught_up_at_broker(s, i, now);
    }
    return capped(s, pay_watermark(s->clocks, s->part_count, now, s->set.live,
                                   s->set.lateness_ms));
}

static int advance(scheduler *s, int64_t wm)
{
    if (wm != INT64_MIN)
        cw_gauge_set(s->m.watermark, NULL, (double)wm);
    if (s->set.wait_for_ledger && s->ledger.through != INT64_MIN)
        cw_gauge_set(s->m.ledger_through, NULL, (double)s->ledger.through);
    if (pay_state_advance(s->st, wm, &s->pout) != 0) {
        cw_log_error("statement amounts overflow", NULL);
        return -1;
    }
    return 0;
}

/* The restore reads these topics from the beginning: records that expire
 * would be paid again or missed. Warns when one keeps them for a time only. */
static void check_retention(scheduler *s)
{
    static const char *const topics[] = {CW_TOPIC_ORDERS_FINALIZED, CW_TOPIC_PAYMENT_STATEMENTS,
                                         CW_TOPIC_PAYMENT_INSTRUCTIONS, DEAD_LETTER_TOPIC,
                                         CW_TOPIC_LEDGER_CHECKPOINTS};
    size_t n = sizeof(topics) / sizeof(topics[0]) - (s->set.wait_for_ledger ? 0 : 1);
    for (size_t i = 0; i < n; i++) {
        char value[64];
        if (cw_kafka_topic_config(cw_txn_handle(s->producer), topics[i], "retention.ms", value,
                                  sizeof(value), 5000) == 0 &&
            strcmp(value, "-1") != 0)
            cw_log_warn("topic deletes old records; the restart reads it from the beginning: "
                        "set retention.ms=-1",
                        "topic", topics[i], "retention_ms", value, NULL);
    }
}

/* ---- restore ------------------------------------------------------------- */

/* What the restore does with one record of a topic: 0, or -1 to stop
 * (out of memory). */
typedef int (*take_fn)(scheduler *s, const rd_kafka_message_t *m);

typedef struct {
    scheduler *s;
    take_fn take;
    int failed;
} reader;

static int read_one(void *user_data, const rd_kafka_message_t *m)
{
    reader *r = user_data;
    cw_admin_heartbeat();
    if (cw_shutdown_requested())
        return -1;
    if (r->take(r->s, m) != 0)
        r->failed = 1;
    return r->failed ? -1 : 0;
}

/* A record of the service's own output (payments.statements or
 * payments.instructions) back into the state; one that does not read is
 * skipped. */
static int restore_output(scheduler *s, const rd_kafka_message_t *m)
{
    char reason[256];
    const char *unreadable = NULL;
    pay_record_result rc = PAY_RECORD_TAKEN;
    if (strcmp(rd_kafka_topic_name(m->rkt), CW_TOPIC_PAYMENT_STATEMENTS) == 0) {
        pay_statement st;
        if (pay_read_statement(m->payload, m->len, &st, reason, sizeof(reason)) != 0)
            unreadable = "unreadable statement ignored";
        else
            rc = pay_state_restore_statement(s->st, &st);
    } else {
        pay_instruction in;
        if (pay_read_instruction(m->payload, m->len, &in, reason, sizeof(reason)) != 0)
            unreadable = "unreadable payment instruction ignored";
        else
            rc = pay_state_restore_instruction(s->st, &in);
    }
    if (unreadable != NULL)
        cw_log_warn(unreadable, "reason", reason, NULL);
    return rc == PAY_RECORD_NOMEM ? -1 : 0;
}

/* A dead letter's key is "topic/partition/offset" (dead_key). */
static int restore_dead_letter(scheduler *s, const rd_kafka_message_t *m)
{
    char key[KEY_MAX];
    if (m->key == NULL || m->key_len >= sizeof(key))
        return 0;
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = '\0';
    return cw_idset_add(&s->dead, key, 0) < 0 ? -1 : 0;
}

static int replay_order(scheduler *s, const rd_kafka_message_t *m)
{
    return on_order(s, m, MODE_REPLAY);
}

/* Reads topic from the beginning to its current end, each record into
 * take; with ends_out, the ends read up to (the caller destroys them). 0,
 * or -1 (logged). */
static int read_all(scheduler *s, const char *topic, take_fn take,
                    rd_kafka_topic_partition_list_t **ends_out)
{
    reader r = {.s = s, .take = take};
    char err[512];
    rd_kafka_topic_partition_list_t *ends = NULL;
    long n = cw_kafka_read_to_end(s->cfg, topic, read_one, &r, &ends, err, sizeof(err));
    if (n < 0 || r.failed) {
        if (!cw_shutdown_requested())
            cw_log_error("restore: cannot read a topic", "topic", topic, "error",
                         r.failed ? "out of memory" : err, NULL);
        if (ends != NULL)
            rd_kafka_topic_partition_list_destroy(ends);
        return -1;
    }
    char count[24];
    snprintf(count, sizeof(count), "%ld", n);
    cw_log_info("restore: topic read", "topic", topic, "records", count, NULL);
    if (ends_out != NULL)
        *ends_out = ends;
    else
        rd_kafka_topic_partition_list_destroy(ends);
    return 0;
}

static void reset(scheduler *s)
{
    pay_state_free(s->st);
    s->st = NULL;
    cw_idset_free(&s->dead);
    free(s->parts);
    free(s->clocks);
    s->parts = NULL;
    s->clocks = NULL;
    s->part_count = 0;
    if (s->contract_ends != NULL)
        rd_kafka_topic_partition_list_destroy(s->contract_ends);
    s->contract_ends = NULL;
    if (s->checkpoint_pos != NULL)
        rd_kafka_topic_partition_list_destroy(s->checkpoint_pos);
    s->checkpoint_pos = NULL;
    pay_ledger_progress_free(&s->ledger);
    clear_batch(s);
}

/* A clock and a position per partition, empty until the replay fills them
 * in. The restore reads every partition to the end the broker gave when it
 * started, so at its end they all count as caught up; streaming then
 * decides afresh each round (stream_watermark). */
static int init_clocks(scheduler *s, const rd_kafka_topic_partition_list_t *parts)
{
    s->parts = calloc((size_t)parts->cnt + 1, sizeof(*s->parts));
    s->clocks = calloc((size_t)parts->cnt + 1, sizeof(*s->clocks));
    if (s->parts == NULL || s->clocks == NULL)
        return -1;
    s->part_count = (size_t)parts->cnt;
    for (int i = 0; i < parts->cnt; i++) {
        s->parts[i] = (part_position){.partition = parts->elems[i].partition, .next = -1,
                                      .position = -1};
        s->clocks[i] = (pay_partition_clock){.max_event_ms = INT64_MIN, .caught_up = 1};
    }
    return 0;
}

/* Replays orders.finalized, whose partitions come from the metadata first
 * so that the replay can fill in their clocks. */
static int restore_orders(scheduler *s, rd_kafka_topic_partition_list_t **ends)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(s->consumer, CW_TOPIC_ORDERS_FINALIZED, NULL);
    if (rkt == NULL)
        return -1;
    rd_kafka_resp_err_t e = rd_kafka_metadata(s->consumer, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].err) {
        cw_log_error("restore: no metadata for orders.finalized", "error",
                     rd_kafka_err2str(e ? e : md->topic_cnt ? md->topics[0].err
                                                            : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC),
                     NULL);
        if (md != NULL)
            rd_kafka_metadata_destroy(md);
        return -1;
    }
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt + 1);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, CW_TOPIC_ORDERS_FINALIZED,
                                          md->topics[0].partitions[i].id);
    rd_kafka_metadata_destroy(md);
    int rc = init_clocks(s, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (rc != 0 || read_all(s, CW_TOPIC_ORDERS_FINALIZED, replay_order, ends) != 0)
        return -1;
    for (int i = 0; i < (*ends)->cnt; i++) {
        int p = part_index(s, (*ends)->elems[i].partition);
        if (p >= 0)
            s->parts[p].next = (*ends)->elems[i].offset;
    }
    return 0;
}

static int assign(scheduler *s, const rd_kafka_topic_partition_list_t *order_ends)
{
    const rd_kafka_topic_partition_list_t *cps = s->checkpoint_pos;
    rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_new(
        order_ends->cnt + s->contract_ends->cnt + (cps ? cps->cnt : 0) + 1);
    for (int i = 0; i < s->contract_ends->cnt; i++)
        rd_kafka_topic_partition_list_add(all, CW_TOPIC_CONTRACTS,
                                          s->contract_ends->elems[i].partition)
            ->offset = s->contract_ends->elems[i].offset;
    for (int i = 0; i < order_ends->cnt; i++)
        rd_kafka_topic_partition_list_add(all, CW_TOPIC_ORDERS_FINALIZED, order_ends->elems[i].partition)
            ->offset = order_ends->elems[i].offset;
    for (int i = 0; cps != NULL && i < cps->cnt; i++)
        rd_kafka_topic_partition_list_add(all, CW_TOPIC_LEDGER_CHECKPOINTS, cps->elems[i].partition)
            ->offset = cps->elems[i].offset;
    rd_kafka_resp_err_t e = rd_kafka_assign(s->consumer, all);
    rd_kafka_topic_partition_list_destroy(all);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        cw_log_error("cannot assign the input partitions", "error", rd_kafka_err2str(e), NULL);
        return -1;
    }
    return 0;
}

static int64_t pending_total(const pay_state *st)
{
    int64_t n = 0;
    for (size_t i = 0; i < pay_state_account_count(st); i++)
        n += (int64_t)pay_state_account(st, i)->pending_orders;
    return n;
}

/* Rebuilds the state from the topics and publishes what is due. CW_OK
 * when done (then streaming may start), CW_RETRY to try again,
 * CW_FATAL. */
static cw_result restore(scheduler *s)
{
    rd_kafka_topic_partition_list_t *order_ends = NULL;
    atomic_store(&s->ready, 0);
    reset(s);
    s->st = pay_state_new(s->set.utc_offset_minutes);
    if (s->st != NULL &&
        pay_state_judge_months(s->st, s->set.under_served, s->set.under_served_lag_days) != 0) {
        pay_state_free(s->st);
        s->st = NULL;
    }
    if (s->st == NULL)
        return CW_FATAL;
    if (read_all(s, CW_TOPIC_PAYMENT_INSTRUCTIONS, restore_output, NULL) != 0 ||
        read_all(s, CW_TOPIC_PAYMENT_STATEMENTS, restore_output, NULL) != 0 ||
        read_all(s, DEAD_LETTER_TOPIC, restore_dead_letter, NULL) != 0 ||
        read_all(s, CW_TOPIC_CONTRACTS, on_contract, &s->contract_ends) != 0 ||
        restore_orders(s, &order_ends) != 0)
        goto retry;
    /* After the orders, so that most checkpoints count at once (one read
     * before its entries waits for them). */
    if (s->set.wait_for_ledger &&
        read_all(s, CW_TOPIC_LEDGER_CHECKPOINTS, on_checkpoint, &s->checkpoint_pos) != 0)
        goto retry;
    if (pay_state_finish_replay(s->st) != 0 ||
        advance(s, capped(s, pay_watermark(s->clocks, s->part_count, cw_now_ms(), s->set.live,
                                           s->set.lateness_ms))) != 0) {
        rd_kafka_topic_partition_list_destroy(order_ends);
        return CW_FATAL;
    }
    char counted[24], pending[24], outputs[24];
    snprintf(counted, sizeof(counted), "%llu", (unsigned long long)s->tally.counted);
    snprintf(pending, sizeof(pending), "%lld", (long long)pending_total(s->st));
    snprintf(outputs, sizeof(outputs), "%zu",
             pending_outputs(s));
    cw_log_info("restore: state rebuilt", "orders_counted", counted, "orders_pending", pending,
                "records_to_publish", outputs, NULL);
    memset(&s->tally, 0, sizeof(s->tally));
    if (pending_outputs(s) > 0) {
        cw_result rc = publish(s);
        if (rc != CW_OK) {
            rd_kafka_topic_partition_list_destroy(order_ends);
            return rc;
        }
    } else {
        clear_batch(s);
    }
    int assigned = assign(s, order_ends);
    rd_kafka_topic_partition_list_destroy(order_ends);
    if (assigned != 0)
        return CW_RETRY;
    cw_counter_add(s->m.restores, NULL, 1);
    atomic_store(&s->ready, 1);
    return CW_OK;
retry:
    if (order_ends != NULL)
        rd_kafka_topic_partition_list_destroy(order_ends);
    return CW_RETRY;
}

/* ---- streaming ----------------------------------------------------------- */

/* One batch: up to batch_max messages, waiting at most batch_wait_ms once
 * the first has come. Returns how many order and checkpoint records it
 * held (their positions are worth a transaction), or -1. */
static int consume_batch(scheduler *s)
{
    int inputs = 0, n = 0;
    int64_t deadline = 0;
    while (n < s->set.batch_max) {
        int timeout = n == 0 ? 200 : (int)(deadline - cw_now_ms());
        if (n > 0 && timeout <= 0)
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->consumer, timeout);
        if (m == NULL) {
            if (n == 0)
                break;
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                cw_log_warn("consumer error", "error", rd_kafka_message_errstr(m), NULL);
            rd_kafka_message_destroy(m);
            continue;
        }
        if (n++ == 0)
            deadline = cw_now_ms() + s->set.batch_wait_ms;
        const char *topic = rd_kafka_topic_name(m->rkt);
        cw_metrics_event_in(topic);
        int rc;
        if (strcmp(topic, CW_TOPIC_ORDERS_FINALIZED) == 0) {
            rc = on_order(s, m, MODE_LIVE);
            inputs++;
        } else if (strcmp(topic, CW_TOPIC_LEDGER_CHECKPOINTS) == 0) {
            rc = on_checkpoint(s, m);
            inputs++;
        } else {
            rc = on_contract(s, m);
        }
        rd_kafka_message_destroy(m);
        if (rc != 0)
            return -1;
    }
    return inputs;
}

static cw_result stream(scheduler *s)
{
    while (!cw_shutdown_requested()) {
        cw_admin_heartbeat();
        int inputs = consume_batch(s);
        if (inputs < 0)
            return CW_FATAL;
        if (advance(s, stream_watermark(s)) != 0)
            return CW_FATAL;
        if (inputs == 0 && pending_outputs(s) == 0)
            continue;
        cw_result rc = publish(s);
        if (rc != CW_OK)
            return rc;
    }
    return CW_OK;
}

static int serve(scheduler *s)
{
    char err[512];
    if (s->set.transactional_id[0] == '\0') {
        cw_log_error("stream.transactional_id must not be empty", NULL);
        return 2;
    }
    if (cw_admin_start(cw_config_str(s->cfg, "admin.bind"),
                       (int)cw_config_int(s->cfg, "admin.port"), ready_probe, s, err,
                       sizeof(err)) != 0) {
        cw_log_error("cannot start the admin listener", "error", err, NULL);
        return 1;
    }
    int rc = 1;
    while (s->producer == NULL && !cw_shutdown_requested()) {
        cw_admin_heartbeat();
        s->producer = cw_txn_producer_new(s->cfg, s->set.transactional_id, INIT_TIMEOUT_MS, err,
                                          sizeof(err));
        if (s->producer == NULL) {
            cw_log_warn("cannot initialise transactions; retrying", "error", err, NULL);
            cw_shutdown_sleep_ms(RETRY_PAUSE_MS);
        }
    }
    if (s->producer == NULL) {
        rc = 0;
        goto out;
    }
    s->consumer = cw_txn_consumer_new(s->cfg, s->set.group_id, err, sizeof(err));
    if (s->consumer == NULL) {
        cw_log_error("cannot create the Kafka consumer", "error", err, NULL);
        goto out;
    }
    check_retention(s);
    char port[16];
    snprintf(port, sizeof(port), "%d", cw_admin_port());
    cw_log_info("started", "transactional_id", s->set.transactional_id, "admin_port", port,
                "time_mode", cw_config_str(s->cfg, "time.mode"), NULL);
    cw_result run = CW_RETRY;
    while (run == CW_RETRY && !cw_shutdown_requested()) {
        run = restore(s);
        if (run == CW_OK)
            run = stream(s);
        if (run == CW_RETRY)
            cw_shutdown_sleep_ms(RETRY_PAUSE_MS);
    }
    rc = run == CW_FATAL ? 1 : 0;
    cw_log_info("shutting down", NULL);
out:
    atomic_store(&s->ready, 0);
    cw_admin_stop();
    if (s->consumer != NULL) {
        rd_kafka_consumer_close(s->consumer);
        rd_kafka_destroy(s->consumer);
    }
    cw_txn_producer_free(s->producer);
    reset(s);
    cw_outbox_free(&s->out);
    pay_output_free(&s->pout);
    return rc;
}

int pay_serve(const cw_config *cfg)
{
    static scheduler s;
    s.cfg = cfg;
    pay_ledger_progress_init(&s.ledger);
    pay_settings_load(cfg, &s.set);
    register_metrics(&s.m);
    return serve(&s);
}
