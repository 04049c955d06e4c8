/* The ledger-writer's dossiers in Redis: each input record is stored into
 * its order's dossier (dossier.h) and the order decided when it can be
 * (finalize_rules.h); a decided order is appended to the log, from which
 * publication.c publishes it. An order found questionable also asks its
 * provider for evidence (evidence_request.h), into the batch's outbox.
 *
 *   cw:lw:d:<order_id>               the dossier
 *   cw:lw:pending                    orders not final yet, scored by the
 *                                    lower bound of their finalized_at
 *   cw:order:<order_id> final        the status, once final (ingest's hash:
 *                                    no change of a final order is taken)
 *   cw:lw:d:<order_id> corr:<id>     a correction held until the order is
 *                                    final (correction.c)
 *   cw:lw:held                       the orders with held corrections
 *
 * An order's revisions (docs/maintenance.md) update its dossier only when
 * newer than what it holds (rev), so that the assignment and its revisions
 * may be read in any order; a revision read after the order is final
 * changes nothing (carewatch_ledger_after_final_total).
 *
 * An order's contract and street come from the reference data ingest
 * writes before it accepts an order (the provider's contract index and
 * contract hashes, the elder's hash; redis_keys.h), which a Redis loss
 * rebuilds from ref.contracts and ref.elders before any input is read
 * again. Never from the input stream: read back from the beginning, the
 * orders of a backlog would be decided before the contracts on another
 * topic came, and the ledger would name no contract for them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_records.h"
#include "event_clock.h"
#include "ledger-writer/dossier.h"
#include "ledger-writer/evidence_request.h"
#include "ledger-writer/finalized_record.h"
#include "ledger-writer/ledger_writer.h"
#include "log.h"
#include "order_revision.h"
#include "redis_keys.h"
#include "reference_store.h"
#include "timeutil.h"

#define DOSSIER_KEY "cw:lw:d:%s"
#define PENDING_KEY "cw:lw:pending"
#define HELD_KEY "cw:lw:held"
#define MAX_VERDICT_SOURCES 16
/* A finalized order's dossier is kept a while for inspection. */
#define FINAL_DOSSIER_TTL "604800"
/* The order's status into ingest's hash of it (field final), when there is
 * one: no change of the order is accepted after that. */
#define FINAL_MARK_SCRIPT                                                                          \
    "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'final', ARGV[1]) " \
    "end return 1"

/* ---- small Redis helpers --------------------------------------------------- */

/* The field/value pairs of an HGETALL reply, borrowed from it, at most
 * max. Number of pairs. */
static size_t reply_pairs(const redisReply *reply, const char **fields, const char **values,
                          size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i + 1 < reply->elements && n < max; i += 2) {
        fields[n] = reply->element[i]->str;
        values[n++] = reply->element[i + 1]->str;
    }
    return n;
}

/* ---- finalizing ---------------------------------------------------------------- */

/* The order's contract: its id into id (len bytes, "" when none) and its
 * unit price. 0, or -1 when Redis cannot be asked (or holds a contract in
 * its provider's index without its hash, which ingest never writes). */
static int order_contract(ledger_ctx *c, const char *provider_id, int64_t day,
                          const char *street_id, char *id, size_t len, int64_t *unit_price)
{
    char key[CW_KEY_MAX];
    id[0] = '\0';
    *unit_price = 0;
    snprintf(key, sizeof(key), CW_KEY_PROVIDER_CONTRACTS, provider_id);
    const char *argv[] = {"HGETALL", key};
    redisReply *reply = cw_redis_cmd(c->ck->redis, 2, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    size_t n = reply->elements / 2;
    const char **ids = calloc(n + 1, sizeof(*ids));
    const char **entries = calloc(n + 1, sizeof(*entries));
    long pick = -1;
    if (ids != NULL && entries != NULL) {
        n = reply_pairs(reply, ids, entries, n);
        pick = ledger_contract_for_order(ids, entries, n, day, street_id);
        if (pick >= 0)
            snprintf(id, len, "%s", ids[pick]);
    }
    int rc = ids != NULL && entries != NULL ? 0 : -1;
    free(ids);
    free(entries);
    freeReplyObject(reply);
    if (rc != 0 || pick < 0)
        return rc;
    snprintf(key, sizeof(key), CW_KEY_CONTRACT, id);
    const char *price_argv[] = {"HGET", key, "unit_price_cents"};
    reply = cw_redis_cmd(c->ck->redis, 3, price_argv);
    rc = -1;
    if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
        char *end;
        long long price = strtoll(reply->str, &end, 10);
        if (end != reply->str && *end == '\0' && price >= 0) {
            *unit_price = price;
            rc = 0;
        }
    }
    if (rc != 0 && reply != NULL)
        cw_log_error("contract in its provider's index without a unit price", "contract_id", id,
                     NULL);
    if (reply)
        freeReplyObject(reply);
    return rc;
}

/* Appends a decided order (before_produce publishes it). CW_OK or
 * CW_RETRY (before anything was appended). */
static cw_result finalize(ledger_ctx *c, const ledger_dossier *d, const ledger_fin_decision *f)
{
    cw_elder_state elder;
    int found = cw_state_load_elder(c->ck->redis, d->elder_id, &elder);
    if (found < 0)
        return CW_RETRY;
    int64_t day = cw_service_day(d->d.scheduled_start, c->utc_offset_minutes);
    char contract_id[CW_ID_MAX];
    int64_t unit_price;
    if (order_contract(c, d->provider_id, day, found ? elder.street_id : "", contract_id,
                       sizeof(contract_id), &unit_price) != 0)
        return CW_RETRY;
    ledger_finalized_order o = {
        .order_id = d->d.order_id,
        .provider_id = d->provider_id,
        .caregiver_id = d->caregiver_id,
        .elder_id = d->elder_id,
        .street_id = found ? elder.street_id : "",
        .contract_id = contract_id[0] ? contract_id : NULL,
        .service_day = day,
        .status = f->state,
        .reasons = f->reasons,
        .reason_count = f->reason_count,
        .has_in = d->d.has_in,
        .has_out = d->d.has_out,
        .in_at = d->d.in_at,
        .out_at = d->d.out_at,
        .unit_price_cents = unit_price,
        .finalized_at = f->finalized_at,
        .ledger_index = ledger_log_size(c->log),
        .visits_per_month = found ? elder.visits_per_month : 0,
        .minutes_per_visit = found ? elder.minutes_per_visit : 0,
    };
    uint8_t *entry = NULL;
    size_t len = 0;
    char err[256];
    int rc = ledger_finalized_encode(&o, &entry, &len, err, sizeof(err));
    if (rc != 0) {
        cw_log_error("cannot encode OrderFinalized", "order_id", d->d.order_id, "error", err,
                     NULL);
        return CW_RETRY;
    }
    uint64_t index;
    if (ledger_log_append(c->log, entry, len, &index, err, sizeof(err)) != 0) {
        /* The disk refuses: nothing may be published, so stop here. */
        cw_log_error("cannot append to the ledger", "error", err, NULL);
        free(entry);
        return CW_FATAL;
    }
    free(entry);
    /* The order is final now: without it in the index it could be
     * appended again, so running out of memory here ends the process (the
     * restart reads the log back). */
    if (cw_idset_add(&c->index, d->d.order_id, index) < 0) {
        cw_log_error("out of memory after a ledger append", NULL);
        return CW_FATAL;
    }
    /* Best effort: a pending entry left behind is dropped when it comes
     * first in ledger_finalized_through, and the dossier merely lives on. */
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), DOSSIER_KEY, d->d.order_id);
    const char *expire[] = {"EXPIRE", key, FINAL_DOSSIER_TTL};
    const char *unpend[] = {"ZREM", PENDING_KEY, d->d.order_id};
    /* ingest refuses a change of a final order (docs/maintenance.md). */
    char order_key[CW_KEY_MAX];
    snprintf(order_key, sizeof(order_key), CW_KEY_ORDER, d->d.order_id);
    const char *mark[] = {"EVAL", FINAL_MARK_SCRIPT, "1", order_key,
                          ledger_fin_state_name(f->state)};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 3, expire);
    cw_redis_batch_add(&b, 3, unpend);
    cw_redis_batch_add(&b, 5, mark);
    (void)cw_redis_batch_exec(c->ck->redis, &b);
    const char *status[] = {ledger_fin_state_name(f->state)};
    cw_counter_add(c->finalized, status, 1);
    cw_gauge_set(c->size, NULL, (double)ledger_log_size(c->log));
    return CW_OK;
}

/* Asks the order's provider for evidence (evidence_request.h), on the
 * provider's notice topic, made on first use. 0 or -1. */
static int request_evidence(ledger_ctx *c, cw_outbox *out, const ledger_dossier *d,
                            const ledger_fin_decision *f)
{
    cw_elder_state elder;
    int found = cw_state_load_elder(c->ck->redis, d->elder_id, &elder);
    if (found < 0)
        return -1;
    ledger_evidence_request r =
        ledger_evidence_request_of(f, d->d.order_id, d->provider_id, d->caregiver_id, d->elder_id,
                                   found ? elder.street_id : "");
    char topic[CW_KEY_MAX], err[256];
    int created = 0;
    if (ledger_evidence_request_topic(d->provider_id, topic, sizeof(topic)) != 0)
        return -1;
    if (cw_topic_maker_ensure(c->notice_topics, topic, &created, err, sizeof(err)) != 0) {
        cw_log_warn("no notice topic yet", "topic", topic, "error", err, NULL);
        return -1;
    }
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (ledger_evidence_request_encode(&r, &bytes, &len, err, sizeof(err)) != 0) {
        cw_log_error("cannot encode EvidenceRequested", "order_id", r.order_id, "error", err,
                     NULL);
        return -1;
    }
    if (cw_outbox_add_owned(out, topic, r.order_id, bytes, len) != 0)
        return -1;
    cw_counter_add(c->evidence_requests, NULL, 1);
    return 0;
}

#define MAX_ELDER_PERIODS 256

/* An order whose NO_SHOW verdict says no check-in came in time and none
 * is known: the only ones the elder's absence can cancel. */
static int unvisited(const ledger_fin_dossier *d)
{
    if (d->has_in || !d->has_order)
        return 0;
    for (size_t i = 0; i < d->check_count; i++)
        if (strcmp(d->checks[i].rule, "NO_SHOW") == 0 && d->checks[i].outcome != CW_OUTCOME_PASS)
            return 1;
    return 0;
}

/* The elder's status at the order's scheduled start, by the periods the
 * registry posted up to the no-show deadline (an unvisited order of an
 * elder away is cancelled, not a no-show). 0 or -1. */
static int elder_at_start(ledger_ctx *c, ledger_dossier *d)
{
    static cw_elder_period periods[MAX_ELDER_PERIODS];
    long n = cw_state_load_elder_periods(c->ck->redis, d->elder_id, periods, MAX_ELDER_PERIODS);
    if (n < 0)
        return -1;
    d->d.elder_at_start = cw_elder_status_at(periods, (size_t)n, d->d.scheduled_start,
                                             d->d.scheduled_start + c->windows.no_show_invalid_ms);
    return 0;
}

/* Decides an order from its dossier (an HGETALL reply). CW_OK or
 * CW_RETRY. */
static cw_result decide_from(ledger_ctx *c, cw_outbox *out, const char *order_id,
                             const redisReply *hash)
{
    if (hash->type != REDIS_REPLY_ARRAY)
        return CW_RETRY;
    size_t pairs = hash->elements / 2;
    const char **fields = calloc(pairs + 1, sizeof(*fields));
    const char **values = calloc(pairs + 1, sizeof(*values));
    ledger_dossier d;
    int parsed = -1;
    if (fields != NULL && values != NULL)
        parsed = ledger_dossier_parse(order_id, fields, values,
                                      reply_pairs(hash, fields, values, pairs), &d, NULL);
    free(fields);
    free(values);
    if (parsed != 0) {
        if (fields != NULL && values != NULL)
            ledger_dossier_free(&d);
        return CW_RETRY;
    }
    int rc = CW_OK;
    if (unvisited(&d.d) && elder_at_start(c, &d) != 0) {
        rc = CW_RETRY;
        goto out;
    }
    /* Decided without the watermark first: only a deadline needs it. */
    ledger_fin_decision f = ledger_finalize_decide(&d.d, INT64_MIN, &c->windows);
    /* Questionable: whether the watermark has passed the deadline or not,
     * so that a replay asks as the live run did (the same bytes each time
     * the order is looked at until it is final). */
    if (f.questionable && c->evidence_notices && request_evidence(c, out, &d, &f) != 0) {
        rc = CW_RETRY;
        goto out;
    }
    if (f.state == LEDGER_FIN_WAIT && f.wake_at != INT64_MAX) {
        int64_t wm;
        if (cw_checker_watermark(c->ck, d.partition, &wm) != 0) {
            rc = CW_RETRY;
            goto out;
        }
        f = ledger_finalize_decide(&d.d, wm, &c->windows);
    }
    if (f.state != LEDGER_FIN_WAIT) {
        rc = finalize(c, &d, &f);
    } else {
        /* A dossier that knows no time (not even the assignment's) holds
         * nothing back: its assignment is still unread, and
         * ledger_finalized_through waits for every input to be read. */
        int64_t bound = ledger_finalize_lower_bound(&d.d);
        char lb[24];
        snprintf(lb, sizeof(lb), "%" PRId64, bound);
        const char *pend[] = {"ZADD", PENDING_KEY, lb, order_id};
        cw_redis_batch b = {0};
        if (bound != INT64_MIN)
            cw_redis_batch_add(&b, 4, pend);
        if (f.wake_at != INT64_MAX)
            cw_checker_add_timer(c->ck, &b, d.partition, f.wake_at, order_id);
        if (cw_redis_batch_exec(c->ck->redis, &b) != 0)
            rc = CW_RETRY;
    }
out:
    ledger_dossier_free(&d);
    return rc;
}

#define MAX_UPDATES 2

/* Applies up to MAX_UPDATES commands to an order's dossier and reads the
 * dossier back in the same round trip, then decides the order.
 * CW_OK or CW_RETRY. */
static cw_result update_and_evaluate(ledger_ctx *c, cw_outbox *out, const char *order_id, size_t n,
                                     const int *argcs, const char *const *const *cmds)
{
    uint64_t index;
    if (cw_idset_get(&c->index, order_id, &index))
        return CW_OK;
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), DOSSIER_KEY, order_id);
    const char *hgetall_argv[] = {"HGETALL", key};
    const char *const *all[MAX_UPDATES + 1];
    int all_argc[MAX_UPDATES + 1];
    redisReply *replies[MAX_UPDATES + 1];
    for (size_t i = 0; i < n; i++) {
        all[i] = cmds[i];
        all_argc[i] = argcs[i];
    }
    all[n] = hgetall_argv;
    all_argc[n] = 2;
    if (cw_redis_pipeline(c->ck->redis, n + 1, all_argc, all, replies) != 0)
        return CW_RETRY;
    int rc = CW_OK;
    for (size_t i = 0; i < n; i++) {
        if (replies[i]->type == REDIS_REPLY_ERROR) {
            cw_log_error("redis command rejected", "command", cmds[i][0], "error",
                         replies[i]->str, NULL);
            rc = CW_RETRY;
        }
    }
    if (rc == CW_OK)
        rc = decide_from(c, out, order_id, replies[n]);
    for (size_t i = 0; i <= n; i++)
        freeReplyObject(replies[i]);
    return rc;
}

cw_result ledger_evaluate(ledger_ctx *c, cw_outbox *out, const char *order_id)
{
    return update_and_evaluate(c, out, order_id, 0, NULL, NULL);
}

/* The first pending order scored at least `from`: 1 found (id and score
 * filled), 0 none, -1 Redis error. */
static int first_pending(ledger_ctx *c, int64_t from, char *order_id, size_t len, int64_t *score)
{
    char min[24];
    snprintf(min, sizeof(min), "%" PRId64, from);
    const char *argv[] = {"ZRANGEBYSCORE", PENDING_KEY, min, "+inf", "WITHSCORES", "LIMIT", "0",
                          "1"};
    redisReply *reply = cw_redis_cmd(c->ck->redis, 8, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    int found = reply->elements == 2;
    if (found) {
        snprintf(order_id, len, "%s", reply->element[0]->str);
        *score = (int64_t)strtod(reply->element[1]->str, NULL);
    }
    freeReplyObject(reply);
    return found;
}

int ledger_finalized_through(ledger_ctx *c, int64_t *out)
{
    /* Only with no backlog on any input: an order whose assignment waits
     * unread behind a backlog is in no dossier yet, and the partitions of
     * visit.events read ahead of it would promise past it. */
    if (!cw_consumer_caught_up(c->ck->consumer)) {
        *out = c->finalized_through;
        return 0;
    }
    int32_t parts[CW_CHECKER_MAX_PARTITIONS];
    size_t n = cw_stream_assigned(c->ck->consumer, c->ck->timer_topic, parts,
                                  CW_CHECKER_MAX_PARTITIONS);
    if (n == 0)
        return -1;
    int64_t wm = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        int64_t p;
        if (parts[i] >= CW_CHECKER_MAX_PARTITIONS || cw_checker_watermark(c->ck, parts[i], &p) != 0)
            return -1;
        if (p < wm)
            wm = p;
    }
    int64_t slowest = INT64_MAX;
    int64_t clocks[MAX_VERDICT_SOURCES];
    size_t ns = c->verdict_source_count < MAX_VERDICT_SOURCES ? c->verdict_source_count
                                                             : MAX_VERDICT_SOURCES;
    if (cw_state_get_service_clocks(c->ck->redis, c->verdict_sources, ns, clocks) != 0)
        return -1;
    for (size_t i = 0; i < ns; i++)
        if (clocks[i] < slowest)
            slowest = clocks[i];
    int64_t from = ledger_finalize_pending_horizon(wm, slowest, c->pending_cap_ms);
    for (;;) {
        char order_id[LEDGER_FIN_ID_MAX];
        int64_t lb;
        uint64_t index;
        int found = first_pending(c, from, order_id, sizeof(order_id), &lb);
        if (found < 0)
            return -1;
        if (found == 0)
            break;
        if (cw_idset_get(&c->index, order_id, &index)) {
            /* Final already (a crash between the append and its ZREM). */
            const char *argv[] = {"ZREM", PENDING_KEY, order_id};
            redisReply *reply = cw_redis_cmd(c->ck->redis, 3, argv);
            if (reply == NULL)
                return -1;
            freeReplyObject(reply);
            continue;
        }
        *out = ledger_finalize_through(wm, 1, lb, c->finalized_through);
        return 0;
    }
    *out = ledger_finalize_through(wm, 0, 0, c->finalized_through);
    return 0;
}

/* One command, then the decision. */
static cw_result update1_and_evaluate(ledger_ctx *c, cw_outbox *out, const char *order_id, int argc,
                                      const char *const *argv)
{
    return update_and_evaluate(c, out, order_id, 1, &argc, &argv);
}

/* ---- held corrections (correction.c) ---------------------------------------------- */

cw_result ledger_store_dossier(ledger_ctx *c, const char *order_id, redisReply **hash)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), DOSSIER_KEY, order_id);
    const char *argv[] = {"HGETALL", key};
    *hash = cw_redis_cmd(c->ck->redis, 2, argv);
    if (*hash != NULL && (*hash)->type == REDIS_REPLY_ARRAY)
        return CW_OK;
    if (*hash != NULL)
        freeReplyObject(*hash);
    *hash = NULL;
    return CW_RETRY;
}

cw_result ledger_store_hold(ledger_ctx *c, const char *order_id, const char *field,
                            const char *value)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), DOSSIER_KEY, order_id);
    const char *hset[] = {"HSET", key, field, value};
    const char *sadd[] = {"SADD", HELD_KEY, order_id};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 4, hset);
    cw_redis_batch_add(&b, 3, sadd);
    return cw_redis_batch_exec(c->ck->redis, &b) == 0 ? CW_OK : CW_RETRY;
}

cw_result ledger_store_unhold(ledger_ctx *c, const char *order_id, const char *const *fields,
                              size_t n)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), DOSSIER_KEY, order_id);
    const char **hdel = calloc(n + 2, sizeof(*hdel));
    if (hdel == NULL)
        return CW_RETRY;
    hdel[0] = "HDEL";
    hdel[1] = key;
    if (n > 0)
        memcpy(hdel + 2, fields, n * sizeof(*fields));
    const char *srem[] = {"SREM", HELD_KEY, order_id};
    /* The fields (when there are any), then the order's mark, in one
     * round trip. */
    const char *const *cmds[] = {hdel, srem};
    const int argcs[] = {(int)n + 2, 3};
    redisReply *replies[2];
    size_t first = n > 0 ? 0 : 1, ncmds = 2 - first;
    int sent = cw_redis_pipeline(c->ck->redis, ncmds, argcs + first, cmds + first, replies);
    free(hdel);
    if (sent != 0)
        return CW_RETRY;
    for (size_t i = 0; i < ncmds; i++)
        freeReplyObject(replies[i]);
    return CW_OK;
}

cw_result ledger_store_held_orders(ledger_ctx *c, redisReply **members)
{
    const char *argv[] = {"SMEMBERS", HELD_KEY};
    *members = cw_redis_cmd(c->ck->redis, 2, argv);
    if (*members != NULL && (*members)->type == REDIS_REPLY_ARRAY)
        return CW_OK;
    if (*members != NULL)
        freeReplyObject(*members);
    *members = NULL;
    return CW_RETRY;
}

/* ---- input records ------------------------------------------------------------- */

static int already_final(ledger_ctx *c, const char *order_id)
{
    uint64_t index;
    if (!cw_idset_get(&c->index, order_id, &index))
        return 0;
    cw_counter_add(c->after_final, NULL, 1);
    return 1;
}

/* The order's fields unless the dossier holds a newer revision: the
 * original assignment and its revisions may be read in any order (a
 * reassign's revision is in another partition than the assignment). */
#define ORDER_UPDATE_SCRIPT                                                                        \
    "local held = tonumber(redis.call('HGET', KEYS[1], 'rev') or '-1') "                           \
    "if tonumber(ARGV[1]) < held then return 0 end "                                               \
    "redis.call('HSET', KEYS[1], 'rev', ARGV[1], unpack(ARGV, 2)) "                                \
    "return 1"

/* The order's fields into its dossier, then the decision. */
static cw_result take_order(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out,
                            const cw_order_assigned *o, const cw_order_revision *rev)
{
    /* A reassign's copy for the previous caregiver's partition says
     * nothing new here: the copy keyed by the new caregiver has it all. */
    if (rev->revision > 0 && strcmp(msg->key, rev->stream_key) != 0)
        return CW_OK;
    if (already_final(c, o->order_id))
        return CW_OK;
    char key[CW_KEY_MAX], s_start[24], s_minutes[16], s_part[16], s_rev[16], s_changed[24];
    snprintf(key, sizeof(key), DOSSIER_KEY, o->order_id);
    snprintf(s_start, sizeof(s_start), "%" PRId64, o->scheduled_start);
    snprintf(s_minutes, sizeof(s_minutes), "%d", (int)o->scheduled_minutes);
    snprintf(s_part, sizeof(s_part), "%d", (int)msg->partition);
    snprintf(s_rev, sizeof(s_rev), "%d", rev->revision);
    snprintf(s_changed, sizeof(s_changed), "%" PRId64, rev->revision > 0 ? rev->received_at : 0);
    const char *argv[] = {"EVAL",
                          ORDER_UPDATE_SCRIPT,
                          "1",
                          key,
                          s_rev,
                          "start",
                          s_start,
                          "minutes",
                          s_minutes,
                          "cg",
                          o->caregiver_id,
                          "prov",
                          o->provider_id,
                          "elder",
                          o->elder_id,
                          "part",
                          s_part,
                          "chg_at",
                          s_changed,
                          "cancel",
                          cw_order_revision_is_cancel(rev) ? rev->reason_code : ""};
    return update1_and_evaluate(c, out, o->order_id, (int)(sizeof(argv) / sizeof(argv[0])), argv);
}

cw_result ledger_handle_order(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                              size_t len)
{
    cw_order_assigned o;
    cw_order_revision rev;
    if (cw_order_assigned_read(msg->value, &o) != 0) {
        snprintf(reason, len, "OrderAssigned lacks a field");
        return CW_REJECT;
    }
    cw_result rc = CW_REJECT;
    if (cw_order_revision_of(msg->value, &rev) != 0)
        snprintf(reason, len, "OrderAssigned lacks a field");
    else
        rc = take_order(c, msg, out, &o, &rev);
    cw_order_assigned_release(&o);
    return rc;
}

/* The first check-in or check-out of the order into its dossier. */
static cw_result take_visit(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out,
                            const cw_visit_event *ev)
{
    if (cw_checker_advance_clock(c->ck, msg->partition, ev->at) != 0)
        return CW_RETRY;
    if (already_final(c, ev->order_id))
        return CW_OK;
    int is_in = ev->kind == CW_VISIT_KIND_CHECK_IN;
    char key[CW_KEY_MAX], s_at[24];
    snprintf(key, sizeof(key), DOSSIER_KEY, ev->order_id);
    snprintf(s_at, sizeof(s_at), "%" PRId64, ev->at);
    const char *set_at[] = {"HSETNX", key, is_in ? "in_at" : "out_at", s_at};
    const char *set_ev[] = {"HSETNX", key, is_in ? "in_ev" : "out_ev", ev->event_id};
    const char *const *cmds[] = {set_at, set_ev};
    const int argcs[] = {4, 4};
    return update_and_evaluate(c, out, ev->order_id, 2, argcs, cmds);
}

cw_result ledger_handle_visit(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                              size_t len)
{
    cw_visit_event ev;
    if (cw_visit_event_read(msg->value, &ev) != 0) {
        snprintf(reason, len, "VisitEvent lacks a field");
        return CW_REJECT;
    }
    cw_result rc = take_visit(c, msg, out, &ev);
    cw_visit_event_release(&ev);
    return rc;
}

cw_result ledger_handle_evidence(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out,
                                 char *reason, size_t len)
{
    cw_evidence e;
    if (cw_evidence_read(msg->value, &e) != 0) {
        snprintf(reason, len, "Evidence lacks a field");
        return CW_REJECT;
    }
    cw_result rc = CW_OK;
    if (cw_checker_advance_clock(c->ck, msg->partition, e.at) != 0) {
        rc = CW_RETRY;
    } else if (!already_final(c, e.order_id)) {
        char key[CW_KEY_MAX], s_at[24];
        snprintf(key, sizeof(key), DOSSIER_KEY, e.order_id);
        snprintf(s_at, sizeof(s_at), "%" PRId64, e.at);
        /* Another order's photo or recording (EVIDENCE_REUSE) cures
         * nothing; it is kept apart, to be named if the order then
         * expires. */
        const char *argv[] = {"HSETNX", key, e.reused_from_order != NULL ? "rev_at" : "ev_at",
                              s_at};
        rc = update1_and_evaluate(c, out, e.order_id, 4, argv);
    }
    cw_evidence_release(&e);
    return rc;
}

/* One verdict into its order's dossier. */
static cw_result take_check(ledger_ctx *c, cw_outbox *out, const cw_check_result *k, char *reason,
                            size_t len)
{
    /* An elder's month (UNDER_SERVED, the payment-scheduler's) is about no
     * order: it changes no order's status. */
    if (strcmp(k->rule, "UNDER_SERVED") == 0)
        return CW_OK;
    /* check_id is "<subject>:<rule>" (check_result.h). */
    size_t id_len = strlen(k->check_id), rule_len = strlen(k->rule);
    if (id_len <= rule_len + 1 || k->check_id[id_len - rule_len - 1] != ':' ||
        strcmp(k->check_id + id_len - rule_len, k->rule) != 0 ||
        id_len - rule_len - 1 >= LEDGER_FIN_ID_MAX) {
        snprintf(reason, len, "check_id '%s' is not <subject>:<rule>", k->check_id);
        return CW_REJECT;
    }
    if (already_final(c, k->order_id))
        return CW_OK;
    char subject[LEDGER_FIN_ID_MAX], field[LEDGER_FIN_ID_MAX + LEDGER_FIN_RULE_MAX + 8];
    char value[48], key[CW_KEY_MAX];
    snprintf(subject, sizeof(subject), "%.*s", (int)(id_len - rule_len - 1), k->check_id);
    if (ledger_dossier_check_field(subject, k->rule, field, sizeof(field)) != 0 ||
        ledger_dossier_check_value(cw_outcome_name(k->outcome), k->at, value, sizeof(value)) != 0) {
        snprintf(reason, len, "check %s does not fit a dossier", k->check_id);
        return CW_REJECT;
    }
    snprintf(key, sizeof(key), DOSSIER_KEY, k->order_id);
    const char *argv[] = {"HSETNX", key, field, value};
    return update1_and_evaluate(c, out, k->order_id, 4, argv);
}

cw_result ledger_handle_check(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                              size_t len)
{
    cw_check_result k;
    if (cw_check_result_read(msg->value, &k) != 0) {
        snprintf(reason, len, "CheckResult lacks a field");
        return CW_REJECT;
    }
    cw_result rc = take_check(c, out, &k, reason, len);
    cw_check_result_release(&k);
    return rc;
}
