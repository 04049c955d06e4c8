/* carewatch-ledger-writer: assembles every order's dossier from
 * orders.assigned, visit.events and visit.checks, decides it VALID or
 * INVALID once all its verdicts are in (finalize_rules.h), appends the
 * OrderFinalized record to the Merkle log on disk and publishes the same
 * bytes on orders.finalized, with a signed checkpoint on
 * ledger.checkpoints after every batch that appended.
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
 * Redis state of its own:
 *   cw:lw:d:<order_id>               the dossier (dossier.h)
 *   cw:lw:contracts:<provider_id>    contract id -> "<start>|<end>|<unit price>"
 *   cw:timers:ledger-writer:<part>   order ids by the event time at which
 *                                    they decide themselves (no-show 24 h,
 *                                    evidence deadline) */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avro_fields.h"
#include "checker.h"
#include "checkpoint_record.h"
#include "dossier.h"
#include "finalize_rules.h"
#include "finalized_record.h"
#include "ledger_log.h"
#include "ledger_sign.h"
#include "log.h"
#include "metrics.h"
#include "id_set.h"
#include "redis_keys.h"
#include "state.h"
#include "timeutil.h"

#define SERVICE "ledger-writer"
#define DOSSIER_KEY "cw:lw:d:%s"
#define CONTRACTS_KEY "cw:lw:contracts:%s"
/* A finalized order's dossier is kept a while for inspection. */
#define FINAL_DOSSIER_TTL "604800"
#define MAX_CONTRACTS 64

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
    {.key = NULL},
};

typedef struct {
    cw_checker *ck;
    fin_windows windows;
    int utc_offset_minutes;
    ledger_log *log;
    ledger_key *signer;
    char log_id[128];
    cw_idset index; /* order id -> ledger index */
    uint64_t checkpointed; /* log size at the last checkpoint */
    uint64_t published;    /* entries [0, published) are acknowledged on Kafka */
    char published_path[PATH_MAX];
    cw_counter *finalized;  /* by status */
    cw_counter *after_final; /* records about orders already final */
    cw_gauge *size;
} ledger_ctx;

/* ---- small Redis helpers --------------------------------------------------- */

/* HGETALL into parallel arrays borrowed from *reply (caller frees it).
 * Number of pairs, or -1. */
static long hgetall(cw_redis *r, const char *key, redisReply **reply, const char **fields,
                    const char **values, size_t max)
{
    const char *argv[] = {"HGETALL", key};
    *reply = cw_redis_cmd(r, 2, argv);
    if (*reply == NULL || (*reply)->type != REDIS_REPLY_ARRAY) {
        if (*reply)
            freeReplyObject(*reply);
        *reply = NULL;
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i + 1 < (*reply)->elements && n < max; i += 2) {
        fields[n] = (*reply)->element[i]->str;
        values[n++] = (*reply)->element[i + 1]->str;
    }
    return (long)n;
}

/* ---- finalizing ---------------------------------------------------------------- */

/* The contracts of a provider, parsed into out (ids borrowed from *reply).
 * Number found, or -1. */
static long load_contracts(ledger_ctx *c, const char *provider_id, redisReply **reply,
                           contract_period *out)
{
    char key[CW_KEY_MAX];
    const char *ids[MAX_CONTRACTS], *values[MAX_CONTRACTS];
    snprintf(key, sizeof(key), CONTRACTS_KEY, provider_id);
    long n = hgetall(c->ck->redis, key, reply, ids, values, MAX_CONTRACTS);
    long kept = 0;
    for (long i = 0; i < n; i++)
        if (contract_period_parse(ids[i], values[i], &out[kept]) == 0)
            kept++;
    return n < 0 ? -1 : kept;
}

/* Appends a decided order (before_produce publishes it). CW_HANDLED or
 * CW_RETRY (before anything was appended). */
static int finalize(ledger_ctx *c, const dossier *d, const fin_decision *f)
{
    cw_elder_state elder;
    int found = cw_state_load_elder(c->ck->redis, d->elder_id, &elder);
    if (found < 0)
        return CW_RETRY;
    redisReply *contracts_reply = NULL;
    contract_period contracts[MAX_CONTRACTS];
    long ncontracts = load_contracts(c, d->provider_id, &contracts_reply, contracts);
    if (ncontracts < 0)
        return CW_RETRY;

    int64_t day = cw_service_day(d->d.scheduled_start, c->utc_offset_minutes);
    const contract_period *contract = contract_for_day(contracts, (size_t)ncontracts, day);
    finalized_order o = {
        .order_id = d->d.order_id,
        .provider_id = d->provider_id,
        .caregiver_id = d->caregiver_id,
        .elder_id = d->elder_id,
        .street_id = found ? elder.street_id : "",
        .contract_id = contract ? contract->contract_id : NULL,
        .service_day = day,
        .status = f->state,
        .reasons = f->reasons,
        .reason_count = f->reason_count,
        .has_in = d->d.has_in,
        .has_out = d->d.has_out,
        .in_at = d->d.in_at,
        .out_at = d->d.out_at,
        .unit_price_cents = contract ? contract->unit_price_cents : 0,
        .finalized_at = f->finalized_at,
        .ledger_index = ledger_log_size(c->log),
    };
    uint8_t *entry = NULL;
    size_t len = 0;
    char err[256];
    int rc = finalized_encode(&o, &entry, &len, err, sizeof(err));
    if (contracts_reply)
        freeReplyObject(contracts_reply);
    if (rc != 0) {
        cw_log_error("cannot encode OrderFinalized", "order_id", d->d.order_id, "error", err,
                     NULL);
        return CW_RETRY;
    }
    uint64_t index;
    if (ledger_log_append(c->log, entry, len, &index, err, sizeof(err)) != 0) {
        /* The disk refuses: nothing may be published, so stop here. */
        cw_log_error("cannot append to the ledger; stopping", "error", err, NULL);
        free(entry);
        exit(1);
    }
    free(entry);
    /* The order is final now: without it in the index it could be
     * appended again, so running out of memory here ends the process (the
     * restart reads the log back). */
    if (cw_idset_add(&c->index, d->d.order_id, index) < 0) {
        cw_log_error("out of memory after a ledger append; stopping", NULL);
        exit(1);
    }
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), DOSSIER_KEY, d->d.order_id);
    const char *expire[] = {"EXPIRE", key, FINAL_DOSSIER_TTL};
    redisReply *r = cw_redis_cmd(c->ck->redis, 3, expire);
    if (r)
        freeReplyObject(r);
    const char *status[] = {f->state == FIN_VALID ? "VALID" : "INVALID"};
    cw_counter_add(c->finalized, status, 1);
    cw_gauge_set(c->size, NULL, (double)ledger_log_size(c->log));
    return CW_HANDLED;
}

/* Decides an order if it can be decided, else makes sure its timer is set.
 * CW_HANDLED or CW_RETRY. */
static int evaluate(ledger_ctx *c, const char *order_id)
{
    uint64_t index;
    if (cw_idset_get(&c->index, order_id, &index))
        return CW_HANDLED;
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), DOSSIER_KEY, order_id);
    redisReply *reply = NULL;
    const char *argv[] = {"HGETALL", key};
    reply = cw_redis_cmd(c->ck->redis, 2, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return CW_RETRY;
    }
    size_t pairs = reply->elements / 2;
    const char **fields = calloc(pairs + 1, sizeof(*fields));
    const char **values = calloc(pairs + 1, sizeof(*values));
    if (fields == NULL || values == NULL) {
        free(fields);
        free(values);
        freeReplyObject(reply);
        return CW_RETRY;
    }
    for (size_t i = 0; i < pairs; i++) {
        fields[i] = reply->element[2 * i]->str;
        values[i] = reply->element[2 * i + 1]->str;
    }
    dossier d;
    int parsed = dossier_parse(order_id, fields, values, pairs, &d, NULL);
    free(fields);
    free(values);
    freeReplyObject(reply);
    if (parsed != 0) {
        dossier_free(&d);
        return CW_RETRY;
    }
    int rc = CW_HANDLED;
    /* Decided without the watermark first: only a deadline needs it. */
    fin_decision f = finalize_decide(&d.d, INT64_MIN, &c->windows);
    if (f.state == FIN_WAIT && f.wake_at != INT64_MAX) {
        int64_t wm;
        if (cw_checker_watermark(c->ck, d.partition, &wm) != 0) {
            rc = CW_RETRY;
            goto out;
        }
        f = finalize_decide(&d.d, wm, &c->windows);
    }
    if (f.state != FIN_WAIT) {
        rc = finalize(c, &d, &f);
    } else if (f.wake_at != INT64_MAX) {
        cw_redis_batch b = {0};
        cw_checker_add_timer(c->ck, &b, d.partition, f.wake_at, order_id);
        if (cw_redis_batch_exec(c->ck->redis, &b) != 0)
            rc = CW_RETRY;
    }
out:
    dossier_free(&d);
    return rc;
}

/* ---- input records ---------------------------------------------------------------- */

static int already_final(ledger_ctx *c, const char *order_id)
{
    uint64_t index;
    if (!cw_idset_get(&c->index, order_id, &index))
        return 0;
    cw_counter_add(c->after_final, NULL, 1);
    return 1;
}

static int store(ledger_ctx *c, cw_redis_batch *b)
{
    return cw_redis_batch_exec(c->ck->redis, b) == 0 ? 0 : -1;
}

static int handle_order(ledger_ctx *c, const cw_stream_msg *msg, char *reason, size_t len)
{
    const char *order_id, *elder_id, *caregiver_id, *provider_id;
    int64_t start;
    int32_t minutes;
    avro_value_t *v = msg->value;
    if (cw_av_get_str(v, "order_id", &order_id) || cw_av_get_str(v, "elder_id", &elder_id) ||
        cw_av_get_str(v, "caregiver_id", &caregiver_id) ||
        cw_av_get_str(v, "provider_id", &provider_id) ||
        cw_av_get_long(v, "scheduled_start", &start) ||
        cw_av_get_int(v, "scheduled_minutes", &minutes)) {
        snprintf(reason, len, "OrderAssigned lacks a field");
        return CW_REJECT;
    }
    if (already_final(c, order_id))
        return CW_HANDLED;
    char key[CW_KEY_MAX], s_start[24], s_minutes[16], s_part[16];
    snprintf(key, sizeof(key), DOSSIER_KEY, order_id);
    snprintf(s_start, sizeof(s_start), "%" PRId64, start);
    snprintf(s_minutes, sizeof(s_minutes), "%d", (int)minutes);
    snprintf(s_part, sizeof(s_part), "%d", (int)msg->partition);
    const char *argv[] = {"HSET",  key,          "start", s_start,     "minutes",
                          s_minutes, "cg",       caregiver_id, "prov", provider_id,
                          "elder", elder_id,     "part",  s_part};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 14, argv);
    if (store(c, &b) != 0)
        return CW_RETRY;
    return evaluate(c, order_id);
}

static int handle_visit(ledger_ctx *c, const cw_stream_msg *msg, char *reason, size_t len)
{
    const char *event_id, *kind, *order_id;
    int64_t at;
    avro_value_t *v = msg->value;
    if (cw_av_get_str(v, "event_id", &event_id) || cw_av_get_enum(v, "kind", &kind) ||
        cw_av_get_str(v, "order_id", &order_id) || cw_av_get_long(v, "at", &at)) {
        snprintf(reason, len, "VisitEvent lacks a field");
        return CW_REJECT;
    }
    if (cw_checker_advance_clock(c->ck, msg->partition, at) != 0)
        return CW_RETRY;
    if (already_final(c, order_id))
        return CW_HANDLED;
    int is_in = strcmp(kind, "CHECK_IN") == 0;
    char key[CW_KEY_MAX], s_at[24];
    snprintf(key, sizeof(key), DOSSIER_KEY, order_id);
    snprintf(s_at, sizeof(s_at), "%" PRId64, at);
    const char *set_at[] = {"HSETNX", key, is_in ? "in_at" : "out_at", s_at};
    const char *set_ev[] = {"HSETNX", key, is_in ? "in_ev" : "out_ev", event_id};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 4, set_at);
    cw_redis_batch_add(&b, 4, set_ev);
    if (store(c, &b) != 0)
        return CW_RETRY;
    return evaluate(c, order_id);
}

static int handle_evidence(ledger_ctx *c, const cw_stream_msg *msg, char *reason, size_t len)
{
    const char *order_id;
    int64_t at;
    if (cw_av_get_str(msg->value, "order_id", &order_id) ||
        cw_av_get_long(msg->value, "at", &at)) {
        snprintf(reason, len, "Evidence lacks a field");
        return CW_REJECT;
    }
    if (cw_checker_advance_clock(c->ck, msg->partition, at) != 0)
        return CW_RETRY;
    if (already_final(c, order_id))
        return CW_HANDLED;
    char key[CW_KEY_MAX], s_at[24];
    snprintf(key, sizeof(key), DOSSIER_KEY, order_id);
    snprintf(s_at, sizeof(s_at), "%" PRId64, at);
    const char *argv[] = {"HSETNX", key, "ev_at", s_at};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 4, argv);
    if (store(c, &b) != 0)
        return CW_RETRY;
    return evaluate(c, order_id);
}

static int handle_check(ledger_ctx *c, const cw_stream_msg *msg, char *reason, size_t len)
{
    const char *check_id, *order_id, *rule, *outcome;
    int64_t at;
    avro_value_t *v = msg->value;
    if (cw_av_get_str(v, "check_id", &check_id) || cw_av_get_str(v, "order_id", &order_id) ||
        cw_av_get_str(v, "rule", &rule) || cw_av_get_enum(v, "outcome", &outcome) ||
        cw_av_get_long(v, "at", &at)) {
        snprintf(reason, len, "CheckResult lacks a field");
        return CW_REJECT;
    }
    /* check_id is "<subject>:<rule>" (check_result.h). */
    size_t id_len = strlen(check_id), rule_len = strlen(rule);
    if (id_len <= rule_len + 1 || check_id[id_len - rule_len - 1] != ':' ||
        strcmp(check_id + id_len - rule_len, rule) != 0 || id_len - rule_len - 1 >= FIN_ID_MAX) {
        snprintf(reason, len, "check_id '%s' is not <subject>:<rule>", check_id);
        return CW_REJECT;
    }
    if (already_final(c, order_id))
        return CW_HANDLED;
    char subject[FIN_ID_MAX], field[FIN_ID_MAX + FIN_RULE_MAX + 8], value[48];
    char key[CW_KEY_MAX];
    snprintf(subject, sizeof(subject), "%.*s", (int)(id_len - rule_len - 1), check_id);
    if (dossier_check_field(subject, rule, field, sizeof(field)) != 0 ||
        dossier_check_value(outcome, at, value, sizeof(value)) != 0) {
        snprintf(reason, len, "check %s does not fit a dossier", check_id);
        return CW_REJECT;
    }
    snprintf(key, sizeof(key), DOSSIER_KEY, order_id);
    const char *argv[] = {"HSETNX", key, field, value};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 4, argv);
    if (store(c, &b) != 0)
        return CW_RETRY;
    return evaluate(c, order_id);
}

static int handle_contract(ledger_ctx *c, const cw_stream_msg *msg, char *reason, size_t len)
{
    const char *contract_id, *provider_id, *start, *end;
    int64_t price;
    avro_value_t *v = msg->value;
    if (cw_av_get_str(v, "contract_id", &contract_id) ||
        cw_av_get_str(v, "provider_id", &provider_id) ||
        cw_av_get_str(v, "period_start", &start) || cw_av_get_str(v, "period_end", &end) ||
        cw_av_get_long(v, "unit_price_cents", &price)) {
        snprintf(reason, len, "Contract lacks a field");
        return CW_REJECT;
    }
    char key[CW_KEY_MAX], value[64];
    snprintf(key, sizeof(key), CONTRACTS_KEY, provider_id);
    snprintf(value, sizeof(value), "%s|%s|%" PRId64, start, end, price);
    contract_period check;
    if (contract_period_parse(contract_id, value, &check) != 0) {
        snprintf(reason, len, "contract %s has a bad period", contract_id);
        return CW_REJECT;
    }
    const char *argv[] = {"HSET", key, contract_id, value};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 4, argv);
    return store(c, &b) == 0 ? CW_HANDLED : CW_RETRY;
}

static int ledger_handle(void *user_data, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                         size_t len)
{
    ledger_ctx *c = user_data;
    const char *name = msg->schema->name;
    if (strcmp(name, "OrderAssigned") == 0)
        return handle_order(c, msg, reason, len);
    if (strcmp(name, "VisitEvent") == 0)
        return handle_visit(c, msg, reason, len);
    if (strcmp(name, "Evidence") == 0)
        return handle_evidence(c, msg, reason, len);
    if (strcmp(name, "CheckResult") == 0)
        return handle_check(c, msg, reason, len);
    if (strcmp(name, "Contract") == 0)
        return handle_contract(c, msg, reason, len);
    snprintf(reason, len, "unexpected %s record on %s", name, msg->topic);
    return CW_REJECT;
}

/* ---- timers, checkpoints, publication ------------------------------------------ */

static int fire(void *user_data, const char *order_id, int64_t due, cw_outbox *out)
{
    (void)due;
    (void)out;
    return evaluate(user_data, order_id);
}

static int ledger_tick(void *user_data, cw_outbox *out)
{
    ledger_ctx *c = user_data;
    return cw_checker_fire_timers(c->ck, fire, c, out);
}

static void ledger_tick_done(void *user_data)
{
    ledger_ctx *c = user_data;
    cw_checker_timers_done(c->ck);
}

/* The order id of entry i, borrowed from *v (which the caller releases).
 * 0 or -1. */
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
static int ledger_before_produce(void *user_data, cw_outbox *out)
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

static void ledger_after_produce(void *user_data)
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

/* Publishes the entries past the recorded published size: the last run
 * stopped between appending them and their acknowledgement. */
static int publish_tail(ledger_ctx *c)
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

/* Reads every entry's order id into the index. */
static int index_log(ledger_ctx *c)
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
    if (index_log(c) != 0)
        return -1;
    uint64_t checkpoints = ledger_log_checkpoint_count(c->log);
    if (checkpoints > 0) {
        ledger_checkpoint last;
        if (ledger_log_checkpoint_get(c->log, checkpoints - 1, &last, err, sizeof(err)) != 0) {
            cw_log_error("cannot read the last checkpoint", "error", err, NULL);
            return -1;
        }
        c->checkpointed = last.tree_size;
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
    if (publish_tail(c) != 0) {
        cw_log_error("cannot publish the ledger's unpublished entries", NULL);
        return -1;
    }
    return 0;
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
    c->finalized = cw_metrics_counter("carewatch_ledger_finalized_total",
                                      "orders appended to the ledger, by status", "status");
    c->after_final = cw_metrics_counter("carewatch_ledger_after_final_total",
                                        "records about orders already final (ignored)", NULL);
    c->size = cw_metrics_gauge("carewatch_ledger_entries", "entries in the ledger", NULL);
    if (open_ledger(c) != 0) {
        ledger_teardown(ck);
        return -1;
    }
    cw_gauge_set(c->size, NULL, (double)ledger_log_size(c->log));
    ck->handlers.user_data = c;
    ck->handlers.handle = ledger_handle;
    ck->handlers.tick = ledger_tick;
    ck->handlers.tick_done = ledger_tick_done;
    ck->handlers.before_produce = ledger_before_produce;
    ck->handlers.after_produce = ledger_after_produce;
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {"ref.contracts", "orders.assigned", "visit.events",
                                         "visit.checks", NULL};
    static const char *const bootstrap[] = {"ref.elders", NULL};
    static const cw_cfg_spec *const specs[] = {ledger_config_spec, NULL};
    const cw_checker_def def = {.name = SERVICE,
                                .topics = topics,
                                .bootstrap_topics = bootstrap,
                                .specs = specs,
                                .setup = ledger_setup,
                                .teardown = ledger_teardown};
    return cw_checker_main(&def, argc, argv);
}
