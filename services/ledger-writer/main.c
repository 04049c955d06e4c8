/* carewatch-ledger-writer: assembles every order's dossier from
 * orders.assigned, visit.events and visit.checks, decides it VALID or
 * INVALID once all its verdicts are in (finalize_rules.h), appends the
 * OrderFinalized record to the Merkle log on disk and publishes the same
 * bytes on orders.finalized, with a signed checkpoint on
 * ledger.checkpoints after every batch that appended. The supervision
 * desk's decisions on orders.corrections become correcting entries
 * (correction.c).
 *
 * One writer, one log: the service runs as a single instance (its consumer
 * group then holds every partition). The log is the source of truth for
 * which orders are final; it is read back at start-up, so neither a lost
 * Redis nor a replay can finalize an order twice.
 *
 * Crash safety, in the order things happen in a batch:
 *   entries appended (each fsync'd by the log)
 *   before_produce: every entry not yet published goes into the outbox,
 *     then a checkpoint, signed and fsync'd
 *   the outbox (orders.finalized, ledger.checkpoints) produced and acked
 *   after_produce: <ledger.dir>/published records the log size published
 *   offsets committed
 * On start, entries past the published size are published again (same
 * bytes, so a consumer keyed by order id sees a duplicate at worst). The
 * entries are read back from the log for publication, never kept in the
 * outbox from the moment of the decision: the stream drops what a handler
 * added when it retries, the log keeps it.
 *
 * Progress for the payment scheduler: every checkpoint carries
 * finalized_through (ledger_writer.h), and the latest checkpoint is
 * published again when only that moved on, so statements wait for every
 * order that will be finalized before their instant, however the services
 * were scheduled or restarted. At start the last promise this log
 * published is read back from ledger.checkpoints: a correcting entry
 * stamped while the writer catches up is never below it.
 *
 * Redis state of its own:
 *   cw:lw:d:<order_id>               the dossier (dossier.h)
 *   cw:lw:pending                    orders not final, by the lower bound of
 *                                    their finalized_at
 *   cw:timers:ledger-writer:<part>   order ids by the event time at which
 *                                    they decide themselves (no-show 24 h,
 *                                    evidence deadline)
 *   cw:lw:held                       orders with corrections held in their
 *                                    dossiers (correction.c)
 * It reads the elders and contracts ingest keeps (state.h); after a Redis
 * loss it rebuilds them from ref.elders and ref.contracts before reading
 * its input again (dossier_store.c says why). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_reader.h"
#include "ledger_writer.h"
#include "log.h"
#include "shutdown.h"
#include "timeutil.h"
#include "topics.h"

/* Attempts, a second apart, to read ledger.checkpoints at start. */
#define PROMISE_READ_ATTEMPTS 60

#define SERVICE "ledger-writer"

static const cw_cfg_spec ledger_config_spec[] = {
    {.key = "ledger.dir", .type = CW_CFG_STRING, .default_value = "var/ledger",
     .help = "directory of the Merkle log (a persistent volume)"},
    {.key = "ledger.log_id", .type = CW_CFG_STRING, .default_value = "carewatch-ledger",
     .help = "the log's name, part of every checkpoint's origin line"},
    {.key = "ledger.hash", .type = CW_CFG_STRING, .default_value = "sm3", .choices = "sm3|sha256",
     .help = "Merkle tree hash: SM3 (GB/T 32905) or SHA-256"},
    {.key = "ledger.signing_key", .type = CW_CFG_STRING,
     .help = "PEM file of the checkpoint signing key (Ed25519 or SM2); required"},
    {.key = "rules.no_show_invalid_hours", .type = CW_CFG_INT, .default_value = "24", .min = 1,
     .max = 8760, .help = "an order without a check-in by scheduled start + this is INVALID"},
    {.key = "rules.no_checkout_minutes", .type = CW_CFG_INT, .default_value = "240", .min = 1,
     .max = 10080, .help = "a visit without check-out counts as ended at check-in + this"},
    {.key = "rules.evidence_window_hours", .type = CW_CFG_INT, .default_value = "72", .min = 1,
     .max = 8760, .help = "evidence cures a questionable order until visit end + this"},
    {.key = "ledger.max_pending_hours", .type = CW_CFG_INT, .default_value = "168", .min = 1,
     .max = 87600,
     .help = "an order still not final this long (event time) behind the watermark and the "
             "slowest verdict source no longer holds back finalized_through (a verdict that "
             "will never come)"},
    {.key = "ledger.verdict_sources", .type = CW_CFG_LIST,
     .default_value = "geo-validator,duration-timer,overlap-detector",
     .help = "the services whose verdicts orders wait for: ledger.max_pending_hours counts "
             "from the slowest one's clock, so a checker that lags is waited for"},
    {.key = "ledger.progress_step_minutes", .type = CW_CFG_INT, .default_value = "1", .min = 0,
     .max = 1440,
     .help = "when nothing was appended, the latest checkpoint is published again once "
             "finalized_through has moved on this much"},
    {.key = "ledger.evidence_notices", .type = CW_CFG_BOOL, .default_value = "true",
     .help = "ask a questionable order's provider for evidence: EvidenceRequested on "
             "notices.provider.<provider_id>"},
    {.key = "ledger.notice_partitions", .type = CW_CFG_INT, .default_value = "1", .min = 1,
     .max = 10000, .help = "partitions of a provider's notice topic, created on first use"},
    {.key = "ledger.notice_replication_factor", .type = CW_CFG_INT, .default_value = "-1",
     .min = -1, .max = 32,
     .help = "replication factor of such a topic; -1 = the broker's default"},
    {.key = "ledger.topic_timeout_ms", .type = CW_CFG_INT, .default_value = "10000", .min = 100,
     .max = 300000, .help = "how long to wait for the broker to create a topic"},
    {.key = NULL},
};

static int ledger_handle(void *user_data, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                         size_t len)
{
    ledger_ctx *c = user_data;
    const char *name = msg->schema->name;
    if (strcmp(name, "OrderAssigned") == 0 && strcmp(msg->topic, CW_TOPIC_VISIT_EVENTS) == 0)
        return CW_OK; /* the overlap-detector's copy; orders.assigned has it */
    if (strcmp(name, "OrderAssigned") == 0)
        return lw_handle_order(c, msg, out, reason, len);
    if (strcmp(name, "VisitEvent") == 0)
        return lw_handle_visit(c, msg, out, reason, len);
    if (strcmp(name, "CaregiverStatusChanged") == 0)
        return CW_OK; /* an admin's unfreeze: the overlap-detector applies it */
    if (strcmp(name, "Evidence") == 0)
        return lw_handle_evidence(c, msg, out, reason, len);
    if (strcmp(name, "CheckResult") == 0)
        return lw_handle_check(c, msg, out, reason, len);
    if (strcmp(name, "OrderCorrection") == 0)
        return lw_handle_correction(c, msg, out, reason, len);
    snprintf(reason, len, "unexpected %s record on %s", name, msg->topic);
    return CW_REJECT;
}

/* ---- timers, checkpoints, publication ------------------------------------------ */

static int fire(void *user_data, const char *order_id, int64_t due, cw_outbox *out)
{
    (void)due;
    return lw_evaluate(user_data, out, order_id);
}

static int ledger_tick(void *user_data, cw_outbox *out)
{
    ledger_ctx *c = user_data;
    int rc = cw_checker_fire_timers(c->ck, fire, c, out);
    /* Orders just finalized may have corrections waiting. */
    return rc == CW_OK ? lw_apply_held_corrections(c) : rc;
}

static void ledger_tick_done(void *user_data)
{
    ledger_ctx *c = user_data;
    cw_checker_timers_done(c->ck);
}

/* The order id of entry i, borrowed from *v (which the caller releases).
 * 0 or -1. */

/* One LedgerCheckpoint of ledger.checkpoints: the largest finalized_through
 * this log published. */
static int read_promise(void *ud, const rd_kafka_message_t *m)
{
    ledger_ctx *c = ud;
    const cw_avro_schema *s;
    avro_value_t v;
    char err[256];
    if (m->len == 0 || cw_avro_decode(m->payload, m->len, &s, &v, err, sizeof(err)) != 0)
        return 0; /* not this writer's record: its readers letter it */
    const char *log_id;
    int has = 0;
    int64_t through = 0;
    if (strcmp(s->name, "LedgerCheckpoint") == 0 && cw_av_get_str(&v, "log_id", &log_id) == 0 &&
        strcmp(log_id, c->log_id) == 0 &&
        cw_av_get_opt_long(&v, "finalized_through", &has, &through) == 0 && has &&
        through > c->finalized_through)
        c->finalized_through = through;
    avro_value_decref(&v);
    return 0;
}

/* The promise this log last published (finalized_through on
 * ledger.checkpoints), so that a restart never stamps a correcting entry
 * below it while the writer catches up. 0 or -1. */
static int restore_promise(ledger_ctx *c)
{
    char err[256];
    /* A broker that has just started may not lead its partitions yet: the
     * read is tried again for a minute, as the stream's own start waits. */
    for (int attempt = 1; !cw_shutdown_requested(); attempt++) {
        rd_kafka_topic_partition_list_t *ends = NULL;
        if (cw_kafka_read_to_end(c->ck->cfg, CW_TOPIC_LEDGER_CHECKPOINTS, read_promise, c, &ends, err,
                                 sizeof(err)) >= 0) {
            rd_kafka_topic_partition_list_destroy(ends);
            return 0;
        }
        if (attempt >= PROMISE_READ_ATTEMPTS) {
            cw_log_error("cannot read the published promise from ledger.checkpoints", "error",
                         err, NULL);
            return -1;
        }
        cw_log_warn("ledger.checkpoints not readable yet; retrying", "error", err, NULL);
        cw_shutdown_sleep_ms(1000);
    }
    return -1;
}

static int open_ledger(ledger_ctx *c)
{
    const cw_config *cfg = c->ck->cfg;
    const char *dir = cw_config_str(cfg, "ledger.dir");
    const char *key_path = cw_config_str(cfg, "ledger.signing_key");
    char err[512];
    if (key_path[0] == '\0') {
        cw_log_error("ledger.signing_key is required (a PEM Ed25519 or SM2 private key)", NULL);
        return -1;
    }
    if (ledger_key_load(key_path, 1, &c->signer, err, sizeof(err)) != 0) {
        cw_log_error("cannot load the signing key", "path", key_path, "error", err, NULL);
        return -1;
    }
    snprintf(c->log_id, sizeof(c->log_id), "%s", cw_config_str(cfg, "ledger.log_id"));
    const char *hash_name = cw_config_str(cfg, "ledger.hash");
    ledger_log_options opt = {.log_id = c->log_id, .signer = c->signer,
                              .verify_key = c->signer};
    if (ledger_hash_parse(hash_name, &opt.hash) != 0) {
        cw_log_error("unknown ledger.hash", "hash", hash_name, NULL);
        return -1;
    }
    if (ledger_log_open(dir, &opt, &c->log, err, sizeof(err)) != 0) {
        cw_log_error("cannot open the ledger", "dir", dir, "error", err, NULL);
        return -1;
    }
    snprintf(c->published_path, sizeof(c->published_path), "%s/published", dir);
    if (lw_index_log(c) != 0 || lw_corrections_start(c) != 0)
        return -1;
    uint64_t checkpoints = ledger_log_checkpoint_count(c->log);
    if (checkpoints > 0) {
        ledger_checkpoint last;
        if (ledger_log_checkpoint_get(c->log, checkpoints - 1, &last, err, sizeof(err)) != 0) {
            cw_log_error("cannot read the last checkpoint", "error", err, NULL);
            return -1;
        }
        c->checkpointed = last.tree_size;
        c->last_cp = last;
        c->has_last_cp = 1;
    }
    char n[24];
    snprintf(n, sizeof(n), "%" PRIu64, ledger_log_size(c->log));
    cw_log_info("ledger open", "dir", dir, "entries", n, "hash", hash_name, NULL);
    uint64_t torn = ledger_log_torn_entry_bytes(c->log) + ledger_log_torn_checkpoint_bytes(c->log);
    if (torn > 0) {
        char b[24];
        snprintf(b, sizeof(b), "%" PRIu64, torn);
        cw_log_warn("cut a record a crash left half-written", "bytes", b, NULL);
    }
    if (lw_publish_tail(c) != 0) {
        cw_log_error("cannot publish the ledger's unpublished entries", NULL);
        return -1;
    }
    return restore_promise(c);
}

static void ledger_teardown(cw_checker *ck)
{
    ledger_ctx *c = ck->user_data;
    if (c == NULL)
        return;
    if (c->log)
        ledger_log_close(c->log);
    ledger_key_free(c->signer);
    cw_idset_free(&c->index);
    cw_idset_free(&c->corrected);
    cw_idset_free(&c->corrections);
    cw_topic_maker_free(c->notice_topics);
    free(c);
    ck->user_data = NULL;
}

static int ledger_setup(cw_checker *ck)
{
    ledger_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -1;
    c->ck = ck;
    ck->user_data = c;
    fin_windows_default(&c->windows);
    c->windows.no_show_invalid_ms = cw_config_int(ck->cfg, "rules.no_show_invalid_hours") * 3600000;
    c->windows.no_checkout_ms = cw_config_int(ck->cfg, "rules.no_checkout_minutes") * 60000;
    c->windows.evidence_window_ms =
        cw_config_int(ck->cfg, "rules.evidence_window_hours") * 3600000;
    c->utc_offset_minutes = (int)cw_config_int(ck->cfg, "time.utc_offset_minutes");
    c->pending_cap_ms = cw_config_int(ck->cfg, "ledger.max_pending_hours") * 3600000;
    c->verdict_sources = cw_config_list(ck->cfg, "ledger.verdict_sources", &c->verdict_source_count);
    c->republish_step_ms = cw_config_int(ck->cfg, "ledger.progress_step_minutes") * 60000;
    c->finalized_through = INT64_MIN;
    c->finalized = cw_metrics_counter("carewatch_ledger_finalized_total",
                                      "orders appended to the ledger, by status", "status");
    c->after_final = cw_metrics_counter("carewatch_ledger_after_final_total",
                                        "records about orders already final (ignored)", NULL);
    c->size = cw_metrics_gauge("carewatch_ledger_entries", "entries in the ledger", NULL);
    c->evidence_requests = cw_metrics_counter(
        "carewatch_ledger_evidence_requests_total",
        "EvidenceRequested notices produced (an order may be asked again, same bytes)", NULL);
    c->evidence_notices = cw_config_bool(ck->cfg, "ledger.evidence_notices");
    c->notice_topics =
        cw_topic_maker_new(cw_producer_handle(ck->producer),
                           (int)cw_config_int(ck->cfg, "ledger.notice_partitions"),
                           (int)cw_config_int(ck->cfg, "ledger.notice_replication_factor"),
                           (int)cw_config_int(ck->cfg, "ledger.topic_timeout_ms"));
    if (c->notice_topics == NULL || open_ledger(c) != 0) {
        ledger_teardown(ck);
        return -1;
    }
    cw_gauge_set(c->size, NULL, (double)ledger_log_size(c->log));
    ck->handlers.user_data = c;
    ck->handlers.handle = ledger_handle;
    ck->handlers.tick = ledger_tick;
    ck->handlers.tick_done = ledger_tick_done;
    ck->handlers.before_produce = lw_before_produce;
    ck->handlers.after_produce = lw_after_produce;
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {CW_TOPIC_ORDERS_ASSIGNED, CW_TOPIC_VISIT_EVENTS, CW_TOPIC_VISIT_CHECKS,
                                         CW_TOPIC_ORDER_CORRECTIONS, NULL};
    static const char *const bootstrap[] = {CW_TOPIC_ELDERS, CW_TOPIC_CONTRACTS, CW_TOPIC_ELDER_STATUS,
                                            NULL};
    static const cw_cfg_spec *const specs[] = {ledger_config_spec, NULL};
    const cw_checker_def def = {.name = SERVICE,
                                .topics = topics,
                                .bootstrap_topics = bootstrap,
                                .specs = specs,
                                .setup = ledger_setup,
                                .teardown = ledger_teardown};
    return cw_checker_main(&def, argc, argv);
}
