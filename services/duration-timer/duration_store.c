#include "duration-timer/duration_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_keys.h"
#include "timers.h"

#define VISIT_KEY "cw:dt:visit:%s"
#define DAY_KEY "cw:dt:day:%s:%" PRId64
#define MEMO_KEY "cw:dt:memo:%s"

#define VISIT_FIELD_COUNT 7

/* The visit from the reply of HMGET cw:dt:visit:<order> in_at in_event
 * out_at out_event caregiver_id cancelled left0: 0, or -1 when the reply is
 * not that; missing fields leave has_in/has_out 0. */
static int visit_from_reply(const redisReply *reply, duration_visit *v)
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

cw_result duration_store_load(cw_redis *r, const char *order_id, cw_order_state *order,
                              duration_visit *v)
{
    char order_key[CW_KEY_MAX], visit_key[CW_KEY_MAX];
    snprintf(order_key, sizeof(order_key), CW_KEY_ORDER, order_id);
    snprintf(visit_key, sizeof(visit_key), VISIT_KEY, order_id);
    const char *order_argv[2 + CW_STATE_ORDER_FIELD_COUNT] = {"HMGET", order_key};
    for (int i = 0; i < CW_STATE_ORDER_FIELD_COUNT; i++)
        order_argv[2 + i] = cw_state_order_fields[i];
    const char *visit_argv[] = {"HMGET",     visit_key,      "in_at",     "in_event", "out_at",
                                "out_event", "caregiver_id", "cancelled", "left0"};
    const char *const *cmds[] = {order_argv, visit_argv};
    const int argcs[] = {2 + CW_STATE_ORDER_FIELD_COUNT, 2 + VISIT_FIELD_COUNT};
    redisReply *replies[2];
    if (cw_redis_pipeline(r, 2, argcs, cmds, replies) != 0)
        return CW_RETRY;
    int found = cw_state_order_from_reply(replies[0], order);
    if (found >= 0 && visit_from_reply(replies[1], v) != 0)
        found = -1;
    freeReplyObject(replies[0]);
    freeReplyObject(replies[1]);
    return found < 0 ? CW_RETRY : found == 0 ? CW_REJECT : CW_OK;
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

cw_result duration_store_record_visit(cw_redis *r, const cw_visit_event *ev,
                                      cw_order_state *order, duration_visit *v)
{
    char order_key[CW_KEY_MAX], visit_key[CW_KEY_MAX], sat[24];
    int is_in = ev->kind == CW_VISIT_KIND_CHECK_IN;
    snprintf(order_key, sizeof(order_key), CW_KEY_ORDER, ev->order_id);
    snprintf(visit_key, sizeof(visit_key), VISIT_KEY, ev->order_id);
    snprintf(sat, sizeof(sat), "%" PRId64, ev->at);
    const char *argv[] = {"EVAL",        VISIT_STEP_SCRIPT,
                          "2",           order_key,
                          visit_key,     is_in ? "in_at" : "out_at",
                          sat,           is_in ? "in_event" : "out_event",
                          ev->event_id,  ev->caregiver_id};
    redisReply *reply = cw_redis_cmd(r, 10, argv);
    if (reply == NULL)
        return CW_RETRY;
    cw_result rc = CW_RETRY;
    if (reply->type == REDIS_REPLY_NIL)
        rc = CW_REJECT;
    else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
             cw_state_order_from_reply(reply->element[0], order) == 1 &&
             visit_from_reply(reply->element[1], v) == 0)
        rc = CW_OK;
    freeReplyObject(reply);
    return rc;
}

cw_result duration_store_assignment(cw_checker *ck, int partition, avro_value_t *record,
                                    const char *order_id, const cw_order_revision *rev,
                                    const duration_assignment_plan *plan)
{
    cw_redis_batch b = {0};
    if (cw_state_store_order(&b, record) != 0) {
        cw_redis_batch_clear(&b);
        return CW_REJECT;
    }
    char key[CW_KEY_MAX], member[CW_KEY_MAX];
    snprintf(key, sizeof(key), VISIT_KEY, order_id);
    const char *left0[] = {"HSET", key, "left0", "1"};
    const char *cancelled[] = {"HSET", key, "cancelled", rev->reason_code};
    if (plan->mark_left0)
        cw_redis_batch_add(&b, 4, left0);
    if (plan->mark_cancelled)
        cw_redis_batch_add(&b, 4, cancelled);
    /* A member that does not fit (an id longer than any ingest accepts) has
     * no timer. */
    if (plan->drop_previous && duration_timer_member(DURATION_TIMER_NO_SHOW, order_id,
                                                     rev->revision - 1, member,
                                                     sizeof(member)) == 0)
        cw_timers_cancel(&b, ck->name, partition, member);
    if (plan->set_no_show && duration_timer_member(DURATION_TIMER_NO_SHOW, order_id,
                                                   rev->revision, member, sizeof(member)) == 0)
        cw_checker_add_timer(ck, &b, partition, plan->no_show_due, member);
    return cw_redis_batch_exec(ck->redis, &b) == 0 ? CW_OK : CW_RETRY;
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

int duration_store_after_visit(cw_checker *ck, int partition, int64_t at, const char *order_id,
                               const duration_visit *v, const duration_visit_writes *w,
                               int64_t *day_total_ms)
{
    cw_redis_batch b = {0};
    char member[CW_KEY_MAX];
    if (w->timer != DURATION_TIMER_NONE &&
        duration_timer_member(w->timer, order_id, 0, member, sizeof(member)) == 0)
        cw_checker_add_timer(ck, &b, partition, w->timer_due, member);
    if (!w->count_day)
        return cw_checker_exec_with_clock(ck, &b, partition, at);
    char day_key[CW_KEY_MAX], memo_key[CW_KEY_MAX], length[24];
    snprintf(day_key, sizeof(day_key), DAY_KEY, v->caregiver_id, w->day);
    snprintf(memo_key, sizeof(memo_key), MEMO_KEY, v->out_event);
    snprintf(length, sizeof(length), "%" PRId64, w->length_ms);
    const char *argv[] = {"EVAL", DAILY_HOURS_SCRIPT, "2", day_key, memo_key, order_id, length};
    size_t daily = b.count;
    cw_redis_batch_add(&b, 7, argv);
    redisReply *reply;
    if (cw_checker_exec_with_clock_reply(ck, &b, partition, at, daily, &reply) != 0)
        return -1;
    int ok = reply->type == REDIS_REPLY_STRING;
    if (ok)
        *day_total_ms = strtoll(reply->str, NULL, 10);
    freeReplyObject(reply);
    return ok ? 0 : -1;
}
