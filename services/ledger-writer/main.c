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
 *   before_produce: the corrections held for orders now final appended,
 *     every entry not yet published put into the outbox, then a
 *     checkpoint, signed and fsync'd
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
 * It reads the elders and contracts ingest keeps (reference_store.h); after a Redis
 * loss it rebuilds them from ref.elders and ref.contracts before reading
 * its input again (dossier_store.c says why). */
#include "ledger-writer/ledger_writer.h"
#include "topics.h"

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

/* The stream's hooks around every batch's produce (publication.c). */
static int ledger_setup(cw_checker *ck)
{
    ck->handlers.before_produce = ledger_before_produce;
    ck->handlers.after_produce = ledger_after_produce;
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {CW_TOPIC_ORDERS_ASSIGNED, CW_TOPIC_VISIT_EVENTS,
                                         CW_TOPIC_VISIT_CHECKS, CW_TOPIC_ORDER_CORRECTIONS, NULL};
    static const char *const bootstrap[] = {CW_TOPIC_ELDERS, CW_TOPIC_CONTRACTS,
                                            CW_TOPIC_ELDER_STATUS, NULL};
    static const cw_cfg_spec *const specs[] = {ledger_config_spec, NULL};
    const cw_checker_def def = {.name = "ledger-writer",
                                .topics = topics,
                                .bootstrap_topics = bootstrap,
                                .specs = specs,
                                .context_new = ledger_context_new,
                                .context_free = ledger_context_free,
                                .handle = ledger_handle,
                                .on_timer = ledger_on_timer,
                                .setup = ledger_setup};
    return cw_checker_main(&def, argc, argv);
}
