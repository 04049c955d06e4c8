#include "claims.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "avro_codec.h"
#include "kafka.h"
#include "routing.h"
#include "state.h"
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

int alert_claims_load(cw_redis *r, const char *claim_key, const char *last_key,
                      alert_dedup_input *in)
{
    const char *argv[] = {"MGET", claim_key, last_key};
    int argc = last_key ? 3 : 2;
    redisReply *reply = cw_redis_cmd(r, argc, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != (size_t)argc - 1) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    redisReply *claim = reply->element[0];
    in->has_claim =
        claim->type == REDIS_REPLY_STRING && alert_claim_parse(claim->str, &in->claim) == 0;
    in->has_last = 0;
    if (last_key) {
        redisReply *last = reply->element[1];
        in->has_last =
            last->type == REDIS_REPLY_STRING && alert_last_parse(last->str, &in->last) == 0;
    }
    freeReplyObject(reply);
    return 0;
}

int alert_claims_store(cw_redis *r, const char *claim_key, const char *last_key,
                       const alert_dedup_decision *d, int64_t ttl_seconds)
{
    char claim[ALERT_CLAIM_TEXT_MAX], last[ALERT_LAST_TEXT_MAX] = "", ttl[24];
    if (alert_claim_format(&d->claim, claim, sizeof(claim)) != 0)
        return -1;
    if (d->write_last && (last_key == NULL || alert_last_format(&d->last, last, sizeof(last)) != 0))
        return -1;
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_seconds);
    const char *argv[] = {"EVAL", store_script, "3", claim_key, last_key ? last_key : claim_key,
                          KEY_EPOCH, claim, ttl, last};
    redisReply *reply = cw_redis_cmd(r, 9, argv);
    int rc = -1;
    if (reply && reply->type == REDIS_REPLY_INTEGER)
        rc = reply->integer == 1 ? 1 : reply->integer == 0 ? 0 : -2;
    if (reply)
        freeReplyObject(reply);
    return rc;
}

int alert_claims_mark_delivered(cw_redis *r, size_t n, const char *const *keys,
                                const char *const *positions, int64_t ttl_seconds)
{
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_seconds);
    cw_redis_batch b = {0};
    for (size_t i = 0; i < n; i++) {
        char pending[ALERT_CLAIM_TEXT_MAX], delivered[ALERT_CLAIM_TEXT_MAX];
        if (!fits(snprintf(pending, sizeof(pending), "%s|%c", positions[i], ALERT_CLAIM_PENDING),
                  sizeof(pending)))
            continue;
        snprintf(delivered, sizeof(delivered), "%s|%c", positions[i], ALERT_CLAIM_DELIVERED);
        const char *argv[] = {"EVAL", deliver_script, "1", keys[i], pending, delivered, ttl};
        cw_redis_batch_add(&b, 7, argv);
        if (b.count == CW_REDIS_BATCH_MAX_CMDS && cw_redis_batch_exec(r, &b) != 0)
            return -1;
    }
    return b.count > 0 ? cw_redis_batch_exec(r, &b) : 0;
}

int alert_claims_epoch(cw_redis *r)
{
    const char *argv[] = {"EXISTS", KEY_EPOCH};
    redisReply *reply = cw_redis_cmd(r, 2, argv);
    int rc = -1;
    if (reply && reply->type == REDIS_REPLY_INTEGER)
        rc = reply->integer > 0;
    if (reply)
        freeReplyObject(reply);
    return rc;
}

int alert_claims_set_epoch(cw_redis *r)
{
    const char *argv[] = {"SET", KEY_EPOCH, "1"};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 3, argv);
    return cw_redis_batch_exec(r, &b);
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
    const char *order_id, *rule, *caregiver_id, *colour;
    int64_t at;
    alert_colour c;
    char key[ALERT_CLAIM_KEY_MAX], pos[ALERT_POSITION_MAX], claim[ALERT_CLAIM_TEXT_MAX];
    if (strcmp(s->name, "Alert") != 0)
        return 0; /* alerts.all holds only what this service wrote */
    if (cw_av_get_str(v, "order_id", &order_id) || cw_av_get_str(v, "rule", &rule) ||
        cw_av_get_str(v, "caregiver_id", &caregiver_id) || cw_av_get_enum(v, "colour", &colour) ||
        cw_av_get_long(v, "at", &at) || alert_colour_parse(colour, &c) != 0)
        return 0;
    if (alert_claim_key(key, sizeof(key), order_id, rule) != 0 ||
        alert_position_format(pos, sizeof(pos), rd_kafka_topic_name(m->rkt), m->partition,
                              m->offset) != 0)
        return 0;
    snprintf(claim, sizeof(claim), "%s|%c", pos, ALERT_CLAIM_DELIVERED);
    const char *set[] = {"SET", key, claim, "NX", "EX", run->ttl};
    cw_redis_batch_add(b, 6, set);
    if (!run->window_colours[c])
        return 1;
    alert_last last = {.at = at};
    char lkey[ALERT_CLAIM_KEY_MAX], ltext[ALERT_LAST_TEXT_MAX], sat[24];
    snprintf(last.order_id, sizeof(last.order_id), "%s", order_id);
    if (alert_last_key(lkey, sizeof(lkey), caregiver_id, rule) != 0 ||
        alert_last_format(&last, ltext, sizeof(ltext)) != 0)
        return 1;
    snprintf(sat, sizeof(sat), "%" PRId64, at);
    const char *max[] = {"EVAL", last_max_script, "1", lkey, sat, ltext, run->ttl};
    cw_redis_batch_add(b, 7, max);
    return 1;
}

long alert_claims_rebuild(const cw_config *cfg, cw_redis *r, int64_t ttl_seconds,
                          const int window_colours[ALERT_COLOURS], char *err, size_t errlen)
{
    rebuild_run run = {.window_colours = window_colours};
    snprintf(run.ttl, sizeof(run.ttl), "%" PRId64, ttl_seconds);
    return cw_state_replay_topic(cfg, r, CW_TOPIC_ALERTS_ALL, restore, &run, err, errlen);
}
