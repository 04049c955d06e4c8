/* carewatch-duration-timer: SHORT_DURATION and DAILY_HOURS_EXCEEDED as soon
 * as an order has both its check-in and its check-out (whichever arrives
 * last), and the event-time
 * timers: NO_SHOW (scheduled start + 30 min), NO_CHECKOUT (check-in +
 * 240 min) and the evidence deadline (check-out + 72 h, emitted as an
 * EVIDENCE_DEADLINE result for the finalizer). Timers fire once the
 * watermark has passed them.
 *
 * Input: orders.assigned and visit.events, both keyed by caregiver with the
 * same partition count, so one instance owns a caregiver's orders, visits
 * and timers. An order's revisions (a cancel, reschedule or reassign:
 * docs/maintenance.md) are taken from their copies on visit.events, in the
 * caregiver's stream order: the partition of the previous revision drops
 * that revision's NO_SHOW timer, the partition of the new one sets the new
 * revision's (none for a cancel), so each partition's timers follow its own
 * stream whatever the speed of the others. Redis state of its own:
 *   cw:dt:visit:<order_id>  hash in_at in_event out_at out_event caregiver_id
 *                           (the first check-in and check-out processed),
 *                           left0 (revision 1 left the original assignment's
 *                           partition: that assignment's NO_SHOW timer,
 *                           set again should orders.assigned be read late,
 *                           does not fire), cancelled (no timer of the order
 *                           fires)
 *   cw:dt:day:<caregiver>:<day>  hash order_id -> visit length in ms, the
 *                           caregiver's visits of one service day (days
 *                           since 1970-01-01 in the service zone)
 *   cw:dt:memo:<out_event>  the day's total in ms when that check-out was
 *                           judged: DAILY_HOURS_EXCEEDED depends on which
 *                           visits were known then, and a replay after a
 *                           crash must repeat it
 *   cw:timers:duration-timer:<partition>  "<RULE>|<order_id>" by due time
 *                           ("NO_SHOW|<order_id>@<revision>" for a revision) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_result.h"
#include "checker.h"
#include "duration_rules.h"
#include "log.h"
#include "redis_keys.h"
#include "state.h"
#include "topics.h"

#define SERVICE "duration-timer"

static const cw_cfg_spec duration_config_spec[] = {
    {.key = "rules.no_show_grace_minutes", .type = CW_CFG_INT, .default_value = "30", .min = 0,
     .max = 1440, .help = "NO_SHOW without a check-in by scheduled start + this"},
    {.key = "rules.short_margin_minutes", .type = CW_CFG_INT, .default_value = "5", .min = 0,
     .max = 1440, .help = "SHORT_DURATION below the scheduled minutes minus this"},
    {.key = "rules.no_checkout_minutes", .type = CW_CFG_INT, .default_value = "240", .min = 1,
     .max = 10080, .help = "NO_CHECKOUT without a check-out by check-in + this"},
    {.key = "rules.evidence_window_hours", .type = CW_CFG_INT, .default_value = "72", .min = 1,
     .max = 8760, .help = "evidence deadline: check-out + this"},
    {.key = "rules.daily_visit_minutes_max", .type = CW_CFG_INT, .default_value = "600",
     .min = 1, .max = 1440,
     .help = "DAILY_HOURS_EXCEEDED above this many visit minutes of a caregiver in one service "
             "day"},
    {.key = NULL},
};

typedef struct {
    cw_checker *ck;
    duration_thresholds t;
} duration_ctx;

typedef struct {
    int has_in, has_out;
    int64_t in_at, out_at;
    char in_event[CW_ID_MAX], out_event[CW_ID_MAX], caregiver_id[CW_ID_MAX];
    int cancelled, left0;
} visit_state;

#define VISIT_FIELD_COUNT 7

/* The visit from the reply of HMGET cw:dt:visit:<order> in_at in_event
 * out_at out_event caregiver_id cancelled left0: 0, or -1 when the reply is
 * not that; missing fields leave has_in/has_out 0. */
static int visit_from_reply(const redisReply *reply, visit_state *v)
{
    memset(v, 0, sizeof(*v));
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != VISIT_FIELD_COUNT)
        return -1;
    redisReply **e = reply->element;
    if (e[0]->type == REDIS_REPLY_STRING && e[1]->type == REDIS_REPLY_STRING) {
        v->has_in = 1;
        v->in_at = strtoll(e[0]->str, NULL, 10);
        snprintf(v->in_event, sizeof(v->in_event), "%s", e[1]->str);
    }
    if (e[2]->type == REDIS_REPLY_STRING && e[3]->type == REDIS_REPLY_STRING) {
        v->has_out = 1;
        v->out_at = strtoll(e[2]->str, NULL, 10);
        snprintf(v->out_event, sizeof(v->out_event), "%s", e[3]->str);
    }
    if (e[4]->type == REDIS_REPLY_STRING)
        snprintf(v->caregiver_id, sizeof(v->caregiver_id), "%s", e[4]->str);
    v->cancelled = e[5]->type == REDIS_REPLY_STRING;
    v->left0 = e[6]->type == REDIS_REPLY_STRING;
    return 0;
}

/* One round trip for a visit event: reads the order and, when it exists,
 * records the event in the order's visit hash (the first check-in and
 * check-out win: HSETNX) and reads the hash back. Returns {order, visit}
 * as two HMGET replies, or nil when the order is unknown (nothing written). */
#define VISIT_STEP_SCRIPT                                                                          \
    "local o = redis.call('HMGET', KEYS[1], 'scheduled_start', 'scheduled_minutes', "             \
    "'elder_id', 'caregiver_id', 'provider_id', 'person_id') "                                    \
    "if not o[1] then return false end "                                                           \
    "redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) "                                             \
    "redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4]) "                                             \
    "redis.call('HSETNX', KEYS[2], 'caregiver_id', ARGV[5]) "                                      \
    "return {o, redis.call('HMGET', KEYS[2], 'in_at', 'in_event', 'out_at', 'out_event', "         \
    "'caregiver_id', 'cancelled', 'left0')}"

/* An order and its visit hash, read in one round trip: 1, 0 when the order
 * is unknown, -1 on a Redis error. */
static int load_order_and_visit(cw_redis *r, const char *order_id, cw_order_state *order,
                                visit_state *v)
{
    char order_key[CW_KEY_MAX], visit_key[CW_KEY_MAX];
    snprintf(order_key, sizeof(order_key), CW_KEY_ORDER, order_id);
    snprintf(visit_key, sizeof(visit_key), "cw:dt:visit:%s", order_id);
    const char *order_argv[2 + CW_STATE_ORDER_FIELD_COUNT] = {"HMGET", order_key};
    for (int i = 0; i < CW_STATE_ORDER_FIELD_COUNT; i++)
        order_argv[2 + i] = cw_state_order_fields[i];
    const char *visit_argv[] = {"HMGET",     visit_key,      "in_at",     "in_event", "out_at",
                                "out_event", "caregiver_id", "cancelled", "left0"};
    const char *const *cmds[] = {order_argv, visit_argv};
    const int argcs[] = {2 + CW_STATE_ORDER_FIELD_COUNT, 2 + VISIT_FIELD_COUNT};
    redisReply *replies[2];
    if (cw_redis_pipeline(r, 2, argcs, cmds, replies) != 0)
        return -1;
    int found = cw_state_order_from_reply(replies[0], order);
    if (found >= 0 && visit_from_reply(replies[1], v) != 0)
        found = -1;
    freeReplyObject(replies[0]);
    freeReplyObject(replies[1]);
    return found;
}

/* 1 recorded (order and visit filled), 0 unknown order, -1 Redis error. */
static int record_visit_event(cw_redis *r, const char *order_id, int is_in, int64_t at,
                              const char *event_id, const char *caregiver_id,
                              cw_order_state *order, visit_state *v)
{
    char order_key[CW_KEY_MAX], visit_key[CW_KEY_MAX], sat[24];
    snprintf(order_key, sizeof(order_key), CW_KEY_ORDER, order_id);
    snprintf(visit_key, sizeof(visit_key), "cw:dt:visit:%s", order_id);
    snprintf(sat, sizeof(sat), "%" PRId64, at);
    const char *argv[] = {"EVAL",        VISIT_STEP_SCRIPT,
                          "2",           order_key,
                          visit_key,     is_in ? "in_at" : "out_at",
                          sat,           is_in ? "in_event" : "out_event",
                          event_id,      caregiver_id};
    redisReply *reply = cw_redis_cmd(r, 10, argv);
    if (reply == NULL)
        return -1;
    int rc = -1;
    if (reply->type == REDIS_REPLY_NIL)
        rc = 0;
    else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
             cw_state_order_from_reply(reply->element[0], order) == 1 &&
             visit_from_reply(reply->element[1], v) == 0)
        rc = 1;
    freeReplyObject(reply);
    return rc;
}

/* An assignment on orders.assigned: its NO_SHOW timer. A revision there is
 * only stored (the order's hash keeps the newest); its copy on visit.events
 * moves the timers (handle_revision). */
/* The fields of an OrderAssigned both handlers read, with the order's
 * store queued in b. 0, or -1 (b cleared, reason set). */
static int read_assignment(const cw_stream_msg *msg, const char **order_id, int64_t *start,
                           cw_order_revision *rev, cw_redis_batch *b, char *reason, size_t len)
{
    if (cw_av_get_str(msg->value, "order_id", order_id) ||
        cw_av_get_long(msg->value, "scheduled_start", start) ||
        cw_order_revision_of(msg->value, rev) || cw_state_store_order(b, msg->value) != 0) {
        cw_redis_batch_clear(b);
        snprintf(reason, len, "OrderAssigned lacks a field");
        return -1;
    }
    return 0;
}

static int handle_order(duration_ctx *d, const cw_stream_msg *msg, char *reason, size_t len)
{
    const char *order_id;
    int64_t start;
    cw_order_revision rev;
    cw_redis_batch b = {0};
    if (read_assignment(msg, &order_id, &start, &rev, &b, reason, len) != 0)
        return CW_REJECT;
    char member[CW_KEY_MAX];
    if (rev.revision == 0 && no_show_member(order_id, 0, member, sizeof(member)) == 0)
        cw_checker_add_timer(d->ck, &b, msg->partition, due_no_show(start, &d->t), member);
    return cw_redis_batch_exec(d->ck->redis, &b) == 0 ? CW_OK : CW_RETRY;
}

/* A revision's copy on visit.events, at its place in the caregiver's
 * stream (cw_order_revision_copy): the partition that held the previous
 * revision drops its NO_SHOW timer; the partition of the new one sets the
 * new revision's; a cancel marks the order, so that none of its timers
 * fires. */
static int handle_revision(duration_ctx *d, const cw_stream_msg *msg, char *reason, size_t len)
{
    const char *order_id;
    int64_t start;
    cw_order_revision rev;
    cw_redis_batch b = {0};
    if (read_assignment(msg, &order_id, &start, &rev, &b, reason, len) != 0)
        return CW_REJECT;
    cw_revision_copy copy = cw_order_revision_copy(&rev, msg->key);
    char key[CW_KEY_MAX], member[CW_KEY_MAX];
    snprintf(key, sizeof(key), "cw:dt:visit:%s", order_id);
    const char *left0[] = {"HSET", key, "left0", "1"};
    const char *cancelled[] = {"HSET", key, "cancelled", rev.reason_code};
    if (copy.leave && rev.revision == 1)
        cw_redis_batch_add(&b, 4, left0);
    if (cw_order_revision_is_cancel(&rev))
        cw_redis_batch_add(&b, 4, cancelled);
    if (copy.leave && no_show_member(order_id, rev.revision - 1, member, sizeof(member)) == 0)
        cw_timers_cancel(&b, SERVICE, msg->partition, member);
    if (copy.arrive && no_show_member(order_id, rev.revision, member, sizeof(member)) == 0)
        cw_checker_add_timer(d->ck, &b, msg->partition, due_no_show(start, &d->t), member);
    return cw_redis_batch_exec(d->ck->redis, &b) == 0 ? CW_OK : CW_RETRY;
}

/* Adds the visit to its caregiver's day (KEYS[1], field ARGV[1] = order,
 * ARGV[2] = length) and returns the day's total as it was when the
 * check-out was first judged (KEYS[2], kept on first use). */
#define DAILY_HOURS_SCRIPT                                                                         \
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "                                               \
    "local kept = redis.call('GET', KEYS[2]) "                                                     \
    "if kept then return kept end "                                                                \
    "local total = 0 "                                                                             \
    "for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end "        \
    "local text = string.format('%.0f', total) "                                                   \
    "redis.call('SET', KEYS[2], text) "                                                            \
    "return text"

/* DAILY_HOURS_EXCEEDED of an order whose check-in and check-out are both
 * known: the caregiver's visit minutes of the check-in's service day, this
 * visit's included, over the visits processed so far (one partition holds
 * the caregiver's whole stream in posting order). */
static int judge_daily_hours(duration_ctx *d, const char *order_id, const visit_state *v,
                             cw_outbox *out)
{
    char day_key[CW_KEY_MAX], memo_key[CW_KEY_MAX], length[24];
    snprintf(day_key, sizeof(day_key), "cw:dt:day:%s:%" PRId64, v->caregiver_id,
             daily_hours_day(v->in_at, &d->t));
    snprintf(memo_key, sizeof(memo_key), "cw:dt:memo:%s", v->out_event);
    snprintf(length, sizeof(length), "%" PRId64, visit_length_ms(v->in_at, v->out_at));
    const char *argv[] = {"EVAL", DAILY_HOURS_SCRIPT, "2", day_key, memo_key, order_id, length};
    redisReply *reply = cw_redis_cmd(d->ck->redis, 7, argv);
    if (reply == NULL)
        return -1;
    int ok = reply->type == REDIS_REPLY_STRING;
    int64_t total = ok ? strtoll(reply->str, NULL, 10) : 0;
    freeReplyObject(reply);
    if (!ok)
        return -1;
    duration_verdict verdict = rule_daily_hours(total, &d->t);
    return cw_check_emit_verdict(out, SERVICE, v->out_event, "DAILY_HOURS_EXCEEDED", &verdict,
                                 order_id, v->caregiver_id, v->out_event, v->out_at);
}

/* SHORT_DURATION of an order whose check-in and check-out are both known. */
static int judge_short(duration_ctx *d, const char *order_id, const visit_state *v,
                       const cw_order_state *order, cw_outbox *out)
{
    duration_verdict verdict =
        rule_short_duration(v->in_at, v->out_at, order->scheduled_minutes, &d->t);
    return cw_check_emit_verdict(out, SERVICE, v->out_event, "SHORT_DURATION", &verdict,
                                 order_id, v->caregiver_id, v->out_event, v->out_at);
}

static int handle_visit(duration_ctx *d, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                        size_t len)
{
    const char *event_id, *kind, *order_id, *caregiver_id;
    int64_t at;
    if (cw_av_get_str(msg->value, "event_id", &event_id) ||
        cw_av_get_enum(msg->value, "kind", &kind) ||
        cw_av_get_str(msg->value, "order_id", &order_id) ||
        cw_av_get_str(msg->value, "caregiver_id", &caregiver_id) ||
        cw_av_get_long(msg->value, "at", &at)) {
        snprintf(reason, len, "VisitEvent lacks a field");
        return CW_REJECT;
    }
    /* The first check-in (check-out) processed for the order is the one
     * judged; later ones change nothing. */
    int is_in = strcmp(kind, "CHECK_IN") == 0;
    cw_order_state order;
    visit_state v;
    int found = record_visit_event(d->ck->redis, order_id, is_in, at, event_id, caregiver_id,
                                   &order, &v);
    if (found < 0)
        return CW_RETRY;
    if (found == 0) {
        snprintf(reason, len, "unknown order %s", order_id);
        return CW_REJECT;
    }
    cw_redis_batch b = {0};
    char member[CW_KEY_MAX];
    if (v.cancelled) {
        /* A check-in that raced its order's cancel: no timer of a cancelled
         * order fires (ingest refuses visits of a cancelled order). */
    } else if (is_in && strcmp(v.in_event, event_id) == 0) {
        snprintf(member, sizeof(member), "NO_CHECKOUT|%s", order_id);
        cw_checker_add_timer(d->ck, &b, msg->partition, due_no_checkout(v.in_at, &d->t), member);
    } else if (!is_in && strcmp(v.out_event, event_id) == 0) {
        snprintf(member, sizeof(member), "EVIDENCE_DEADLINE|%s", order_id);
        cw_checker_add_timer(d->ck, &b, msg->partition, due_evidence(v.out_at, &d->t), member);
    }
    if (cw_checker_exec_with_clock(d->ck, &b, msg->partition, at) != 0)
        return CW_RETRY;
    /* Judged by whichever of the pair arrives second (or again on a
     * duplicate: the same id and verdict). */
    if (v.has_in && v.has_out &&
        (judge_short(d, order_id, &v, &order, out) != 0 ||
         judge_daily_hours(d, order_id, &v, out) != 0))
        return CW_RETRY;
    return CW_OK;
}

static int duration_handle(void *user_data, const cw_stream_msg *msg, cw_outbox *out,
                           char *reason, size_t len)
{
    duration_ctx *d = user_data;
    const char *name = msg->schema->name;
    if (strcmp(name, "OrderAssigned") == 0 && strcmp(msg->topic, CW_TOPIC_VISIT_EVENTS) == 0) {
        /* A copy: orders.assigned has the assignment; a revision is taken
         * here, in the caregiver's stream order. */
        cw_order_revision rev;
        if (cw_order_revision_of(msg->value, &rev) == 0 && rev.revision == 0)
            return CW_OK;
        return handle_revision(d, msg, reason, len);
    }
    if (strcmp(name, "OrderAssigned") == 0)
        return handle_order(d, msg, reason, len);
    if (strcmp(name, "VisitEvent") == 0)
        return handle_visit(d, msg, out, reason, len);
    if (strcmp(name, "CaregiverStatusChanged") == 0)
        return CW_OK; /* an admin's unfreeze: the overlap-detector applies it */
    if (strcmp(name, "Evidence") == 0) {
        int64_t at;
        if (cw_av_get_long(msg->value, "at", &at) != 0) {
            snprintf(reason, len, "Evidence lacks its time");
            return CW_REJECT;
        }
        return cw_checker_advance_clock(d->ck, msg->partition, at) == 0 ? CW_OK
                                                                               : CW_RETRY;
    }
    snprintf(reason, len, "unexpected %s record on %s", name, msg->topic);
    return CW_REJECT;
}

static int fire(void *user_data, const char *member, int64_t due, cw_outbox *out)
{
    duration_ctx *d = user_data;
    char rule[32], subject[CW_SUBJECT_MAX], order_id[CW_ID_MAX];
    if (timer_member_parse(member, rule, sizeof(rule), subject, sizeof(subject), order_id,
                           sizeof(order_id)) != 0) {
        cw_log_warn("ignoring a malformed timer", "timer", member, NULL);
        return CW_OK;
    }
    cw_order_state order;
    visit_state v;
    int found = load_order_and_visit(d->ck->redis, order_id, &order, &v);
    if (found < 0)
        return CW_RETRY;
    if (found == 0) {
        cw_log_warn("timer of an unknown order dropped", "timer", member, NULL);
        return CW_OK;
    }
    if (v.cancelled)
        return CW_OK; /* a cancelled order: nothing is owed, nothing fires */
    if (v.left0 && strcmp(rule, "NO_SHOW") == 0 && strcmp(subject, order_id) == 0)
        return CW_OK; /* the original assignment's, set after its revision left */
    int rc;
    if (strcmp(rule, "NO_SHOW") == 0) {
        /* The revision's own start (the order may have moved on since). */
        duration_verdict verdict =
            rule_no_show(v.has_in, v.in_at, no_show_start(due, &d->t), &d->t);
        rc = cw_check_emit_verdict(out, SERVICE, subject, "NO_SHOW", &verdict, order_id,
                                   order.caregiver_id, v.has_in ? v.in_event : NULL, due);
    } else if (strcmp(rule, "NO_CHECKOUT") == 0 && v.has_in) {
        duration_verdict verdict = rule_no_checkout(v.in_at, v.has_out, v.out_at, &d->t);
        rc = cw_check_emit_verdict(out, SERVICE, v.in_event, "NO_CHECKOUT", &verdict, order_id,
                                   order.caregiver_id, v.in_event, due);
    } else if (strcmp(rule, "EVIDENCE_DEADLINE") == 0) {
        /* Not a finding: tells the finalizer that the evidence window of a
         * checked-out order has closed. */
        duration_verdict verdict = {.outcome = CW_OUTCOME_PASS,
                                    .has_measured = 1,
                                    .measured = d->t.evidence_window_ms / 3600000.0,
                                    .has_threshold = 1,
                                    .threshold = d->t.evidence_window_ms / 3600000.0,
                                    .unit = "h"};
        rc = cw_check_emit_verdict(out, SERVICE, order_id, "EVIDENCE_DEADLINE", &verdict,
                                   order_id, order.caregiver_id, NULL, due);
    } else {
        cw_log_warn("ignoring an unknown timer", "timer", member, NULL);
        return CW_OK;
    }
    return rc == 0 ? CW_OK : CW_RETRY;
}

static int duration_tick(void *user_data, cw_outbox *out)
{
    duration_ctx *d = user_data;
    return cw_checker_fire_timers(d->ck, fire, d, out);
}

static void duration_tick_done(void *user_data)
{
    duration_ctx *d = user_data;
    cw_checker_timers_done(d->ck);
}

static int duration_setup(cw_checker *ck)
{
    duration_ctx *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -1;
    d->ck = ck;
    duration_thresholds_default(&d->t);
    d->t.no_show_grace_ms = cw_config_int(ck->cfg, "rules.no_show_grace_minutes") * 60000;
    d->t.short_margin_ms = cw_config_int(ck->cfg, "rules.short_margin_minutes") * 60000;
    d->t.no_checkout_ms = cw_config_int(ck->cfg, "rules.no_checkout_minutes") * 60000;
    d->t.evidence_window_ms = cw_config_int(ck->cfg, "rules.evidence_window_hours") * 3600000;
    d->t.daily_visit_max_ms = cw_config_int(ck->cfg, "rules.daily_visit_minutes_max") * 60000;
    d->t.utc_offset_minutes = (int)cw_config_int(ck->cfg, "time.utc_offset_minutes");
    ck->user_data = d;
    ck->handlers.user_data = d;
    ck->handlers.handle = duration_handle;
    ck->handlers.tick = duration_tick;
    ck->handlers.tick_done = duration_tick_done;
    return 0;
}

static void duration_teardown(cw_checker *ck)
{
    free(ck->user_data);
    ck->user_data = NULL;
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {CW_TOPIC_ORDERS_ASSIGNED, CW_TOPIC_VISIT_EVENTS, NULL};
    static const char *const bootstrap[] = {CW_TOPIC_ORDERS_ASSIGNED, NULL};
    static const cw_cfg_spec *const specs[] = {duration_config_spec, NULL};
    const cw_checker_def def = {.name = SERVICE,
                                .topics = topics,
                                .bootstrap_topics = bootstrap,
                                .specs = specs,
                                .setup = duration_setup,
                                .teardown = duration_teardown};
    return cw_checker_main(&def, argc, argv);
}
