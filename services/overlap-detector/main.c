/* carewatch-overlap-detector: SCHEDULE_OVERLAP when an assignment overlaps
 * another order of the caregiver, VISIT_OVERLAP for every check-in once the
 * watermark has passed it (all visits that started before it are then
 * known), FROZEN_CAREGIVER for every check-in and check-out. A red verdict
 * freezes the caregiver in Redis and publishes CaregiverStatusChanged; the
 * ingest unfreeze endpoint lifts it.
 *
 * Input: orders.assigned and visit.events (keyed by caregiver, same
 * partition count). Redis state of its own:
 *   cw:ov:sched:<caregiver>   zset of order ids by scheduled start
 *   cw:ov:visits:<caregiver>  zset of order ids by check-in time
 *   cw:ov:visit:<order_id>    hash in_at in_event out_at out_event
 *   cw:ov:memo:<check_id>     "<OUTCOME>|<measured>|<other order>": a verdict
 *                             that depends on processing order, kept so a
 *                             replay repeats it
 *   cw:timers:overlap-detector:<partition>  "VISIT_OVERLAP|<order_id>" */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "check_result.h"
#include "checker.h"
#include "log.h"
#include "overlap_rules.h"
#include "redis_keys.h"
#include "state.h"
#include "timeutil.h"

#define SERVICE "overlap-detector"
#define MAX_CANDIDATES 512
/* How far back to look for an order or visit that may still be running. */
#define LOOKBACK_MS ((int64_t)7 * 24 * 3600 * 1000)

static const cw_cfg_spec overlap_config_spec[] = {
    {.key = "rules.open_visit_minutes", .type = CW_CFG_INT, .default_value = "240", .min = 1,
     .max = 10080, .help = "a visit without check-out counts as open this long"},
    {.key = NULL},
};

typedef struct {
    cw_checker *ck;
    int64_t open_max_ms;
} overlap_ctx;

/* ---- memo of order-dependent verdicts --------------------------------- */

typedef struct {
    cw_verdict v;
    char other[OVERLAP_ID_MAX];
} memo;

/* Stores m under check_id unless a verdict is there already; *m becomes
 * the stored one. *first = 1 when this call stored it. 0 or -1. */
static int memo_settle(cw_redis *r, const char *check_id, memo *m, int *first)
{
    char key[CW_KEY_MAX], value[160], stored[160];
    snprintf(key, sizeof(key), "cw:ov:memo:%s", check_id);
    snprintf(value, sizeof(value), "%s|%.6f|%s", cw_outcome_name(m->v.outcome),
             m->v.has_measured ? m->v.measured : -1.0, m->other);
    const char *set[] = {"SET", key, value, "NX"};
    redisReply *reply = cw_redis_cmd(r, 4, set);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    *first = reply->type == REDIS_REPLY_STATUS;
    freeReplyObject(reply);
    if (*first)
        return 0;
    if (cw_redis_get_string(r, key, stored, sizeof(stored)) != 1)
        return -1;
    char outcome[16], other[OVERLAP_ID_MAX];
    double measured;
    other[0] = '\0';
    if (sscanf(stored, "%15[^|]|%lf|%64s", outcome, &measured, other) < 2 ||
        cw_outcome_parse(outcome, &m->v.outcome) != 0)
        return -1;
    m->v.has_measured = measured >= 0;
    m->v.measured = measured >= 0 ? measured : 0;
    snprintf(m->other, sizeof(m->other), "%s", other);
    return 0;
}

/* ---- freezing ---------------------------------------------------------- */

static int freeze(overlap_ctx *o, const char *caregiver_id, const char *rule,
                  const char *order_id, int64_t at, cw_outbox *out)
{
    char key[CW_KEY_MAX], sat[24], reason[128], err[256];
    snprintf(key, sizeof(key), CW_KEY_CGSTATE, caregiver_id);
    snprintf(sat, sizeof(sat), "%" PRId64, at);
    snprintf(reason, sizeof(reason), "%s on order %s", rule, order_id);
    const char *argv[] = {"HSET", key, "status", "FROZEN", "reason", reason,
                          "order_id", order_id, "at", sat};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 10, argv);
    if (cw_redis_batch_exec(o->ck->redis, &b) != 0)
        return -1;

    const cw_avro_schema *s = cw_avro_schema_by_name("CaregiverStatusChanged");
    avro_value_t v;
    if (s == NULL || cw_avro_new_value(s, &v) != 0)
        return -1;
    int rc = -1;
    if (cw_av_set_str(&v, "caregiver_id", caregiver_id) == 0 &&
        cw_av_set_enum(&v, "status", "FROZEN") == 0 && cw_av_set_str(&v, "reason", reason) == 0 &&
        cw_av_set_opt_str(&v, "order_id", order_id) == 0 && cw_av_set_long(&v, "at", at) == 0)
        rc = cw_outbox_add_avro(out, "caregiver.status", caregiver_id, &v, s, err, sizeof(err));
    avro_value_decref(&v);
    if (rc == 0)
        cw_log_info("caregiver frozen", "caregiver_id", caregiver_id, "reason", reason, NULL);
    return rc;
}

/* ---- SCHEDULE_OVERLAP ------------------------------------------------------ */

/* The caregiver's orders that start before `before` (and not long before
 * `after`), with their intervals. Returns how many, or -1. */
static long load_schedule(cw_redis *r, const char *caregiver_id, int64_t after, int64_t before,
                          scheduled_order *out, size_t max)
{
    char key[CW_KEY_MAX], min[24], maxs[24];
    snprintf(key, sizeof(key), "cw:ov:sched:%s", caregiver_id);
    snprintf(min, sizeof(min), "%" PRId64, after - LOOKBACK_MS);
    snprintf(maxs, sizeof(maxs), "(%" PRId64, before);
    const char *argv[] = {"ZRANGEBYSCORE", key, min, maxs};
    redisReply *reply = cw_redis_cmd(r, 4, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    long n = 0;
    for (size_t i = 0; i < reply->elements && (size_t)n < max; i++) {
        cw_order_state st;
        int found = cw_state_load_order(r, reply->element[i]->str, &st);
        if (found < 0) {
            freeReplyObject(reply);
            return -1;
        }
        if (found == 0)
            continue;
        scheduled_order *so = &out[n++];
        snprintf(so->order_id, sizeof(so->order_id), "%s", reply->element[i]->str);
        so->start = st.scheduled_start;
        so->end = st.scheduled_start + (int64_t)st.scheduled_minutes * 60000;
    }
    freeReplyObject(reply);
    return n;
}

static int handle_order(overlap_ctx *o, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                        size_t len)
{
    const char *order_id, *caregiver_id;
    int64_t start, received;
    int32_t minutes;
    cw_redis_batch b = {0};
    if (cw_av_get_str(msg->value, "order_id", &order_id) ||
        cw_av_get_str(msg->value, "caregiver_id", &caregiver_id) ||
        cw_av_get_long(msg->value, "scheduled_start", &start) ||
        cw_av_get_int(msg->value, "scheduled_minutes", &minutes) ||
        cw_av_get_long(msg->value, "received_at", &received) ||
        cw_state_store_order(&b, msg->value) != 0) {
        cw_redis_batch_clear(&b);
        snprintf(reason, len, "OrderAssigned lacks a field");
        return CW_REJECT;
    }
    if (cw_redis_batch_exec(o->ck->redis, &b) != 0)
        return CW_RETRY;

    scheduled_order added = {.start = start, .end = start + (int64_t)minutes * 60000};
    snprintf(added.order_id, sizeof(added.order_id), "%s", order_id);
    static scheduled_order existing[MAX_CANDIDATES];
    long n = load_schedule(o->ck->redis, caregiver_id, start, added.end, existing,
                           MAX_CANDIDATES);
    if (n < 0)
        return CW_RETRY;
    long other;
    memo m = {.v = rule_schedule_overlap(existing, (size_t)n, &added, &other)};
    if (other >= 0)
        snprintf(m.other, sizeof(m.other), "%s", existing[other].order_id);

    char check_id[200], sstart[24], key[CW_KEY_MAX];
    snprintf(check_id, sizeof(check_id), "%s:SCHEDULE_OVERLAP", order_id);
    int first;
    if (memo_settle(o->ck->redis, check_id, &m, &first) != 0)
        return CW_RETRY;
    snprintf(key, sizeof(key), "cw:ov:sched:%s", caregiver_id);
    snprintf(sstart, sizeof(sstart), "%" PRId64, start);
    const char *zadd[] = {"ZADD", key, sstart, order_id};
    cw_redis_batch_add(&b, 4, zadd);
    if (cw_redis_batch_exec(o->ck->redis, &b) != 0)
        return CW_RETRY;

    m.v.has_threshold = 1;
    m.v.unit = "min";
    if (cw_check_emit_verdict(out, SERVICE, order_id, "SCHEDULE_OVERLAP", &m.v, order_id,
                              caregiver_id, NULL, received) != 0)
        return CW_RETRY;
    if (m.v.outcome == CW_RED &&
        freeze(o, caregiver_id, "SCHEDULE_OVERLAP", order_id, received, out) != 0)
        return CW_RETRY;
    return CW_HANDLED;
}

/* ---- visits ------------------------------------------------------------------ */

static int load_visit(cw_redis *r, const char *order_id, visit_interval *v, char *in_event,
                      size_t in_event_len)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), "cw:ov:visit:%s", order_id);
    const char *argv[] = {"HMGET", key, "in_at", "out_at", "in_event"};
    redisReply *reply = cw_redis_cmd(r, 5, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    memset(v, 0, sizeof(*v));
    snprintf(v->order_id, sizeof(v->order_id), "%s", order_id);
    int found = reply->element[0]->type == REDIS_REPLY_STRING;
    if (found)
        v->in_at = strtoll(reply->element[0]->str, NULL, 10);
    if (reply->element[1]->type == REDIS_REPLY_STRING) {
        v->has_out = 1;
        v->out_at = strtoll(reply->element[1]->str, NULL, 10);
    }
    if (in_event != NULL)
        snprintf(in_event, in_event_len, "%s",
                 reply->element[2]->type == REDIS_REPLY_STRING ? reply->element[2]->str : "");
    freeReplyObject(reply);
    return found;
}

static int judge_frozen(overlap_ctx *o, const char *event_id, const char *order_id,
                        const char *caregiver_id, int64_t at, cw_outbox *out)
{
    char key[CW_KEY_MAX], status[16] = "";
    snprintf(key, sizeof(key), CW_KEY_CGSTATE, caregiver_id);
    const char *argv[] = {"HGET", key, "status"};
    redisReply *reply = cw_redis_cmd(o->ck->redis, 3, argv);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    if (reply->type == REDIS_REPLY_STRING)
        snprintf(status, sizeof(status), "%s", reply->str);
    freeReplyObject(reply);

    char check_id[200];
    snprintf(check_id, sizeof(check_id), "%s:FROZEN_CAREGIVER", event_id);
    memo m = {.v = rule_frozen_caregiver(strcmp(status, "FROZEN") == 0)};
    int first;
    if (memo_settle(o->ck->redis, check_id, &m, &first) != 0)
        return -1;
    m.v.unit = "";
    return cw_check_emit_verdict(out, SERVICE, event_id, "FROZEN_CAREGIVER", &m.v, order_id,
                                 caregiver_id, event_id, at);
}

static int handle_visit(overlap_ctx *o, const cw_stream_msg *msg, cw_outbox *out, char *reason,
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
    cw_order_state order;
    int found = cw_state_load_order(o->ck->redis, order_id, &order);
    if (found < 0)
        return CW_RETRY;
    if (found == 0) {
        snprintf(reason, len, "unknown order %s", order_id);
        return CW_REJECT;
    }
    int is_in = strcmp(kind, "CHECK_IN") == 0;
    char key[CW_KEY_MAX], sat[24], member[CW_KEY_MAX], visits[CW_KEY_MAX];
    snprintf(key, sizeof(key), "cw:ov:visit:%s", order_id);
    snprintf(sat, sizeof(sat), "%" PRId64, at);
    const char *set_at[] = {"HSETNX", key, is_in ? "in_at" : "out_at", sat};
    const char *set_event[] = {"HSETNX", key, is_in ? "in_event" : "out_event", event_id};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 4, set_at);
    cw_redis_batch_add(&b, 4, set_event);
    if (cw_redis_batch_exec(o->ck->redis, &b) != 0)
        return CW_RETRY;
    if (is_in) {
        visit_interval v;
        char in_event[CW_ID_MAX];
        if (load_visit(o->ck->redis, order_id, &v, in_event, sizeof(in_event)) < 0)
            return CW_RETRY;
        if (strcmp(in_event, event_id) == 0) {
            char sin[24];
            snprintf(sin, sizeof(sin), "%" PRId64, v.in_at);
            snprintf(visits, sizeof(visits), "cw:ov:visits:%s", caregiver_id);
            snprintf(member, sizeof(member), "VISIT_OVERLAP|%s", order_id);
            const char *zadd[] = {"ZADD", visits, sin, order_id};
            cw_redis_batch_add(&b, 4, zadd);
            cw_checker_add_timer(o->ck, &b, msg->partition, v.in_at, member);
            if (cw_redis_batch_exec(o->ck->redis, &b) != 0)
                return CW_RETRY;
        }
    }
    if (cw_checker_advance_clock(o->ck, msg->partition, at) != 0)
        return CW_RETRY;
    if (judge_frozen(o, event_id, order_id, caregiver_id, at, out) != 0)
        return CW_RETRY;
    return CW_HANDLED;
}

static int overlap_handle(void *user_data, const cw_stream_msg *msg, cw_outbox *out,
                          char *reason, size_t len)
{
    overlap_ctx *o = user_data;
    const char *name = msg->schema->name;
    if (strcmp(name, "OrderAssigned") == 0)
        return handle_order(o, msg, out, reason, len);
    if (strcmp(name, "VisitEvent") == 0)
        return handle_visit(o, msg, out, reason, len);
    if (strcmp(name, "Evidence") == 0)
        return CW_HANDLED;
    snprintf(reason, len, "unexpected %s record on %s", name, msg->topic);
    return CW_REJECT;
}

/* VISIT_OVERLAP of one check-in, fired once the watermark passed it. */
static int fire(void *user_data, const char *member, int64_t due, cw_outbox *out)
{
    overlap_ctx *o = user_data;
    const char *order_id = strchr(member, '|');
    if (order_id == NULL)
        return CW_HANDLED;
    order_id++;
    visit_interval x;
    char in_event[CW_ID_MAX];
    int found = load_visit(o->ck->redis, order_id, &x, in_event, sizeof(in_event));
    if (found < 0)
        return CW_RETRY;
    cw_order_state order;
    int have_order = cw_state_load_order(o->ck->redis, order_id, &order);
    if (have_order < 0)
        return CW_RETRY;
    if (!found || !have_order) {
        cw_log_warn("timer without its visit dropped", "timer", member, NULL);
        return CW_HANDLED;
    }

    char key[CW_KEY_MAX], min[24], max[24];
    snprintf(key, sizeof(key), "cw:ov:visits:%s", order.caregiver_id);
    snprintf(min, sizeof(min), "%" PRId64, x.in_at - LOOKBACK_MS);
    snprintf(max, sizeof(max), "%" PRId64, x.in_at);
    const char *argv[] = {"ZRANGEBYSCORE", key, min, max};
    redisReply *reply = cw_redis_cmd(o->ck->redis, 4, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return CW_RETRY;
    }
    static visit_interval others[MAX_CANDIDATES];
    size_t n = 0;
    int rc = CW_HANDLED;
    for (size_t i = 0; i < reply->elements && n < MAX_CANDIDATES; i++) {
        int got = load_visit(o->ck->redis, reply->element[i]->str, &others[n], NULL, 0);
        if (got < 0) {
            rc = CW_RETRY;
            break;
        }
        n += got > 0;
    }
    freeReplyObject(reply);
    if (rc != CW_HANDLED)
        return rc;

    long other;
    cw_verdict v = rule_visit_overlap(others, n, &x, o->open_max_ms, &other);
    if (cw_check_emit_verdict(out, SERVICE, in_event, "VISIT_OVERLAP", &v, order_id,
                              order.caregiver_id, in_event, due) != 0)
        return CW_RETRY;
    if (v.outcome == CW_RED && freeze(o, order.caregiver_id, "VISIT_OVERLAP", order_id, due, out))
        return CW_RETRY;
    return CW_HANDLED;
}

static int overlap_tick(void *user_data, cw_outbox *out)
{
    overlap_ctx *o = user_data;
    return cw_checker_fire_timers(o->ck, fire, o, out);
}

static void overlap_tick_done(void *user_data)
{
    overlap_ctx *o = user_data;
    cw_checker_timers_done(o->ck);
}

static int overlap_setup(cw_checker *ck)
{
    overlap_ctx *o = calloc(1, sizeof(*o));
    if (o == NULL)
        return -1;
    o->ck = ck;
    o->open_max_ms = cw_config_int(ck->cfg, "rules.open_visit_minutes") * 60000;
    ck->user_data = o;
    ck->handlers.user_data = o;
    ck->handlers.handle = overlap_handle;
    ck->handlers.tick = overlap_tick;
    ck->handlers.tick_done = overlap_tick_done;
    return 0;
}

static void overlap_teardown(cw_checker *ck)
{
    free(ck->user_data);
    ck->user_data = NULL;
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {"orders.assigned", "visit.events", NULL};
    static const char *const bootstrap[] = {"orders.assigned", NULL};
    static const cw_cfg_spec *const specs[] = {overlap_config_spec, NULL};
    const cw_checker_def def = {.name = SERVICE,
                                .topics = topics,
                                .bootstrap_topics = bootstrap,
                                .specs = specs,
                                .setup = overlap_setup,
                                .teardown = overlap_teardown};
    return cw_checker_main(&def, argc, argv);
}
