/* The ledger-writer's context (ledger_writer.h): its settings from the
 * configuration, its metrics, and the log opened and read back (which
 * orders are final, the corrections applied, what is still to publish and
 * the promise last published) before the first input is read. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ledger-writer/ledger_writer.h"
#include "log.h"

/* The signing key and the log (ledger.dir, ledger.log_id, ledger.hash).
 * 0, or -1 logged. */
static int open_log(ledger_ctx *c)
{
    const cw_config *cfg = c->ck->cfg;
    const char *dir = cw_config_str(cfg, "ledger.dir");
    const char *key_path = cw_config_str(cfg, "ledger.signing_key");
    const char *hash_name = cw_config_str(cfg, "ledger.hash");
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
    ledger_log_options opt = {.log_id = c->log_id, .signer = c->signer, .verify_key = c->signer};
    if (ledger_hash_parse(hash_name, &opt.hash) != 0) {
        cw_log_error("unknown ledger.hash", "hash", hash_name, NULL);
        return -1;
    }
    if (ledger_log_open(dir, &opt, &c->log, err, sizeof(err)) != 0) {
        cw_log_error("cannot open the ledger", "dir", dir, "error", err, NULL);
        return -1;
    }
    snprintf(c->published_path, sizeof(c->published_path), "%s/published", dir);
    char n[24];
    snprintf(n, sizeof(n), "%" PRIu64, ledger_log_size(c->log));
    cw_log_info("ledger open", "dir", dir, "entries", n, "hash", hash_name, NULL);
    uint64_t torn = ledger_log_torn_entry_bytes(c->log) + ledger_log_torn_checkpoint_bytes(c->log);
    if (torn > 0) {
        char b[24];
        snprintf(b, sizeof(b), "%" PRIu64, torn);
        cw_log_warn("cut a record a crash left half-written", "bytes", b, NULL);
    }
    return 0;
}

/* The log read back: final orders, corrections, the last checkpoint, the
 * unpublished tail published, the promise. 0, or -1 logged. */
static int read_back(ledger_ctx *c)
{
    char err[512];
    if (ledger_index_log(c) != 0 || ledger_corrections_start(c) != 0)
        return -1;
    uint64_t checkpoints = ledger_log_checkpoint_count(c->log);
    if (checkpoints > 0) {
        uint64_t last = checkpoints - 1;
        if (ledger_log_checkpoint_get(c->log, last, &c->last_cp, err, sizeof(err)) != 0) {
            cw_log_error("cannot read the last checkpoint", "error", err, NULL);
            return -1;
        }
        c->checkpointed = c->last_cp.tree_size;
        c->has_last_cp = 1;
    }
    if (ledger_publish_tail(c) != 0) {
        cw_log_error("cannot publish the ledger's unpublished entries", NULL);
        return -1;
    }
    return ledger_restore_promise(c);
}

/* The settings and metrics of c (nothing to fail). */
static void configure(ledger_ctx *c, const cw_config *cfg)
{
    ledger_fin_windows_default(&c->windows);
    c->windows.no_show_invalid_ms = cw_config_int(cfg, "rules.no_show_invalid_hours") * 3600000;
    c->windows.no_checkout_ms = cw_config_int(cfg, "rules.no_checkout_minutes") * 60000;
    c->windows.evidence_window_ms = cw_config_int(cfg, "rules.evidence_window_hours") * 3600000;
    c->utc_offset_minutes = (int)cw_config_int(cfg, "time.utc_offset_minutes");
    c->pending_cap_ms = cw_config_int(cfg, "ledger.max_pending_hours") * 3600000;
    c->verdict_sources = cw_config_list(cfg, "ledger.verdict_sources", &c->verdict_source_count);
    c->republish_step_ms = cw_config_int(cfg, "ledger.progress_step_minutes") * 60000;
    c->evidence_notices = cw_config_bool(cfg, "ledger.evidence_notices");
    c->finalized_through = INT64_MIN;
    c->finalized = cw_metrics_counter("carewatch_ledger_finalized_total",
                                      "orders appended to the ledger, by status", "status");
    c->after_final = cw_metrics_counter("carewatch_ledger_after_final_total",
                                        "records about orders already final (ignored)", NULL);
    c->size = cw_metrics_gauge("carewatch_ledger_entries", "entries in the ledger", NULL);
    c->evidence_requests = cw_metrics_counter(
        "carewatch_ledger_evidence_requests_total",
        "EvidenceRequested notices produced (an order may be asked again, same bytes)", NULL);
}

void *ledger_context_new(cw_checker *ck)
{
    ledger_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        cw_log_error("out of memory", NULL);
        return NULL;
    }
    c->ck = ck;
    configure(c, ck->cfg);
    c->notice_topics = cw_topic_maker_new(
        cw_producer_handle(ck->producer), (int)cw_config_int(ck->cfg, "ledger.notice_partitions"),
        (int)cw_config_int(ck->cfg, "ledger.notice_replication_factor"),
        (int)cw_config_int(ck->cfg, "ledger.topic_timeout_ms"));
    if (c->notice_topics == NULL)
        cw_log_error("cannot make the notice topics' maker", NULL);
    if (c->notice_topics == NULL || open_log(c) != 0 || read_back(c) != 0) {
        ledger_context_free(c);
        return NULL;
    }
    cw_gauge_set(c->size, NULL, (double)ledger_log_size(c->log));
    return c;
}

void ledger_context_free(void *ctx)
{
    ledger_ctx *c = ctx;
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
}
