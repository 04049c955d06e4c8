#include "alert-router/alert_router_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "redis_keys.h"
#include "reference_replay.h"
#include "topics.h"

#define KEY_CLAIM "cw:alert:claim:%s:%s"
#define KEY_LAST "cw:alert:last:%s:%s"
#define KEY_EPOCH "cw:alert:epoch"

/* KEYS claim, last, epoch; ARGV claim text, ttl, last text ("" for none).
 * Without the epoch key Redis lost the claims: claiming then could alert
 * twice, so the script refuses. */
static const char store_script[] =
    "if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end "
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then "
    "  if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[2]) end "
    "  return 1 "
    "end return 0";

/* KEYS claim; ARGV pending text, delivered text, ttl. A claim gone with a
 * Redis loss since it was written is written again: the alert exists. */
static const char deliver_script[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') return 1 end "
    "if not v then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end "
    "return 0";

/* KEYS last; ARGV at, last text, ttl: keeps the largest at. */
static const char last_max_script[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v then local at = tonumber(string.match(v, '^(-?%d+)|')) "
    "  if at and at >= tonumber(ARGV[1]) then return 0 end end "
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1";

static int fits(int n, size_t len)
{
    return n >= 0 && (size_t)n < len;
}

int alert_claim_key(char *buf, size_t len, const char *order_id, const char *rule)
{
    return fits(snprintf(buf, len, KEY_CLAIM, order_id, rule), len) ? 0 : -1;
}

int alert_last_key(char *buf, size_t len, const char *caregiver_id, const char *rule)
{
    return fits(snprintf(buf, len, KEY_LAST, caregiver_id, rule), len) ? 0 : -1;
}

/* The MGET of the claim and (with_last) the last alert into in. 0 or -1. */
static int claims_from_reply(const redisReply *reply, int with_last, alert_dedup_input *in)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != (size_t)(with_last ? 2 : 1))
        return -1;
    const redisReply *claim = reply->element[0];
    in->has_claim =
        claim->type == REDIS_REPLY_STRING && alert_claim_parse(claim->str, &in->claim) == 0;
    in->has_last = 0;
    if (with_last) {
        const redisReply *last = reply->element[1];
        in->has_last =
            last->type == REDIS_REPLY_STRING && alert_last_parse(last->str, &in->last) == 0;
    }
    return 0;
}

int alert_store_load(cw_redis *r, const char *claim_key, const char *last_key,
                     const char *order_id, alert_dedup_input *in, cw_order_state *order,
                     int *order_found)
{
    char order_key[CW_KEY_MAX];
    const char *mget[] = {"MGET", claim_key, last_key};
    const char *hmget[2 + CW_STATE_ORDER_FIELD_COUNT] = {"HMGET", order_key};
    for (size_t i = 0; i < CW_STATE_ORDER_FIELD_COUNT; i++)
        hmget[2 + i] = cw_state_order_fields[i];
    const int argcs[] = {last_key ? 3 : 2, 2 + CW_STATE_ORDER_FIELD_COUNT};
    const char *const *cmds[] = {mget, hmget};
    /* An id too long for a key names no order ingest stored. */
    int ask_order = order_id != NULL &&
                    fits(snprintf(order_key, sizeof(order_key), CW_KEY_ORDER, order_id),
                         sizeof(order_key));
    redisReply *replies[2] = {NULL, NULL};
    *order_found = 0;
    if (cw_redis_pipeline(r, ask_order ? 2 : 1, argcs, cmds, replies) != 0)
        return -1;
    int rc = claims_from_reply(replies[0], last_key != NULL, in);
    if (rc == 0 && ask_order) {
        int found = cw_state_order_from_reply(replies[1], order);
        if (found < 0)
            rc = -1;
        else
            *order_found = found;
    }
    for (size_t i = 0; i < 2; i++)
        if (replies[i] != NULL)
            freeReplyObject(replies[i]);
    return rc;
}

int alert_store_load_elder(cw_redis *r, const char *elder_id, cw_elder_state *elder,
                           int *found)
{
    int rc = cw_state_load_elder(r, elder_id, elder);
    *found = rc == 1;
    return rc < 0 ? -1 : 0;
}

alert_claim_write alert_store_claim(cw_redis *r, const char *claim_key, const char *last_key,
                                    const alert_dedup_decision *d, int64_t ttl_seconds)
{
    char claim[ALERT_CLAIM_TEXT_MAX], last[ALERT_LAST_TEXT_MAX] = "", ttl[24];
    if (alert_claim_format(&d->claim, claim, sizeof(claim)) != 0)
        return ALERT_CLAIM_FAILED;
    if (d->write_last && (last_key == NULL || alert_last_format(&d->last, last, sizeof(last)) != 0))
        return ALERT_CLAIM_FAILED;
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_seconds);
    const char *argv[] = {"EVAL", store_script, "3", claim_key, last_key ? last_key : claim_key,
                          KEY_EPOCH, claim, ttl, last};
    redisReply *reply = cw_redis_cmd(r, 9, argv);
    alert_claim_write rc = ALERT_CLAIM_FAILED;
    if (reply && reply->type == REDIS_REPLY_INTEGER)
        rc = reply->integer == 1   ? ALERT_CLAIM_WRITTEN
             : reply->integer == 0 ? ALERT_CLAIM_TAKEN
                                   : ALERT_CLAIM_NO_EPOCH;
    if (reply)
        freeReplyObject(reply);
    return rc;
}

int alert_store_mark_delivered(cw_redis *r, size_t n, const char *const *keys,
                               const char *const *positions, int64_t ttl_seconds)
{
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_seconds);
    cw_redis_batch b = {0};
    for (size_t i = 0; i < n; i++) {
        char pending[ALERT_CLAIM_TEXT_MAX], delivered[ALERT_CLAIM_TEXT_MAX];
        alert_claim p = {.state = ALERT_CLAIM_PENDING}, d = {.state = ALERT_CLAIM_DELIVERED};
        snprintf(p.position, sizeof(p.position), "%s", positions[i]);
        snprintf(d.position, sizeof(d.position), "%s", positions[i]);
        if (alert_claim_format(&p, pending, sizeof(pending)) != 0 ||
            alert_claim_format(&d, delivered, sizeof(delivered)) != 0)
            continue;
        const char *argv[] = {"EVAL", deliver_script, "1", keys[i], pending, delivered, ttl};
        cw_redis_batch_add(&b, 7, argv);
        if (b.count == CW_REDIS_BATCH_MAX_CMDS && cw_redis_batch_exec(r, &b) != 0)
            return -1;
    }
    return b.count > 0 ? cw_redis_batch_exec(r, &b) : 0;
}

alert_epoch alert_store_epoch(cw_redis *r)
{
    const char *argv[] = {"EXISTS", KEY_EPOCH};
    redisReply *reply = cw_redis_cmd(r, 2, argv);
    alert_epoch e = ALERT_EPOCH_UNKNOWN;
    if (reply && reply->type == REDIS_REPLY_INTEGER)
        e = reply->integer > 0 ? ALERT_EPOCH_PRESENT : ALERT_EPOCH_MISSING;
    if (reply)
        freeReplyObject(reply);
    return e;
}

typedef struct {
    char ttl[24];
    const int *window_colours;
} rebuild_run;

/* One Alert of alerts.all back into a delivered claim (and the caregiver's
 * last alert of the rule, for the window). */
static int restore(void *user_data, const rd_kafka_message_t *m, const cw_avro_schema *s,
                   avro_value_t *v, cw_redis_batch *b)
{
    rebuild_run *run = user_data;
    cw_alert a;
    alert_claim claim = {.state = ALERT_CLAIM_DELIVERED};
    char key[ALERT_CLAIM_KEY_MAX], text[ALERT_CLAIM_TEXT_MAX];
    if (strcmp(s->name, "Alert") != 0 || cw_alert_read(v, &a) != 0)
        return 0; /* alerts.all holds only what this service wrote */
    int stored = alert_claim_key(key, sizeof(key), a.order_id, a.rule) == 0 &&
                 alert_position_format(claim.position, sizeof(claim.position),
                                       rd_kafka_topic_name(m->rkt), m->partition,
                                       m->offset) == 0 &&
                 alert_claim_format(&claim, text, sizeof(text)) == 0;
    if (stored) {
        const char *set[] = {"SET", key, text, "NX", "EX", run->ttl};
        cw_redis_batch_add(b, 6, set);
    }
    alert_last last = {.at = a.at};
    char lkey[ALERT_CLAIM_KEY_MAX], ltext[ALERT_LAST_TEXT_MAX], sat[24];
    snprintf(last.order_id, sizeof(last.order_id), "%s", a.order_id);
    if (stored && run->window_colours[a.colour] &&
        alert_last_key(lkey, sizeof(lkey), a.caregiver_id, a.rule) == 0 &&
        alert_last_format(&last, ltext, sizeof(ltext)) == 0) {
        snprintf(sat, sizeof(sat), "%" PRId64, a.at);
        const char *max[] = {"EVAL", last_max_script, "1", lkey, sat, ltext, run->ttl};
        cw_redis_batch_add(b, 7, max);
    }
    cw_alert_release(&a);
    return stored;
}

int alert_store_rebuild(const cw_config *cfg, cw_redis *r, int64_t ttl_seconds,
                        const int window_colours[CW_COLOUR_COUNT], long *reference,
                        long *alerts, char *err, size_t errlen)
{
    static const char *const topics[] = {CW_TOPIC_ELDERS, CW_TOPIC_CAREGIVERS,
                                         CW_TOPIC_ORDERS_ASSIGNED, NULL};
    rebuild_run run = {.window_colours = window_colours};
    snprintf(run.ttl, sizeof(run.ttl), "%" PRId64, ttl_seconds);
    *reference = cw_state_bootstrap(cfg, r, topics, err, errlen);
    if (*reference < 0)
        return -1;
    *alerts = cw_state_replay_topic(cfg, r, CW_TOPIC_ALERTS_ALL, restore, &run, err, errlen);
    if (*alerts < 0)
        return -1;
    const char *argv[] = {"SET", KEY_EPOCH, "1"};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 3, argv);
    if (cw_redis_batch_exec(r, &b) != 0) {
        snprintf(err, errlen, "cannot set %s", KEY_EPOCH);
        return -1;
    }
    return 0;
}
