#include "overlap-detector/overlap_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redis_keys.h"

#define KEY_SCHED "cw:ov:sched:%s"
#define KEY_SLOT "cw:ov:slot:%s"
#define KEY_VISITS "cw:ov:visits:%s"
#define KEY_VISIT "cw:ov:visit:%s"
#define KEY_MEMO "cw:ov:memo:%s"
#define MEMO_KEY_MAX (sizeof(KEY_MEMO) + OVERLAP_CHECK_ID_MAX)
#define TIMER_PREFIX "VISIT_OVERLAP|"
/* How far back to look for an order or visit that may still be running. */
#define LOOKBACK_MS ((int64_t)7 * 24 * 3600 * 1000)

static const char *const visit_fields[] = {"in_at", "out_at", "in_event", "cg"};
#define VISIT_FIELD_COUNT 4

static void free_replies(redisReply **replies, size_t n)
{
    for (size_t i = 0; i < n; i++)
        freeReplyObject(replies[i]);
}

/* ZRANGEBYSCORE key, from a week before `from` up to `to` (excluded when
 * exclusive). */
static void add_range(cw_redis_batch *b, const char *key, int64_t from, int64_t to, int exclusive)
{
    char min[24], max[24];
    snprintf(min, sizeof(min), "%" PRId64, from - LOOKBACK_MS);
    snprintf(max, sizeof(max), "%s%" PRId64, exclusive ? "(" : "", to);
    const char *argv[] = {"ZRANGEBYSCORE", key, min, max};
    cw_redis_batch_add(b, 4, argv);
}

/* ---- kept verdicts -------------------------------------------------------------- */

/* SET NX GET of the verdict, stamped with origin. 0, or -1 when it does not
 * fit. */
static int add_settle(cw_redis_batch *b, overlap_settle *s, const char *origin)
{
    char key[MEMO_KEY_MAX], value[OVERLAP_MEMO_MAX];
    snprintf(key, sizeof(key), KEY_MEMO, s->check_id);
    snprintf(s->memo.origin, sizeof(s->memo.origin), "%s", origin);
    if (overlap_memo_format(&s->memo, value, sizeof(value)) != 0)
        return -1;
    const char *argv[] = {"SET", key, value, "NX", "GET"};
    cw_redis_batch_add(b, 5, argv);
    return 0;
}

/* The reply of add_settle's command: nil, kept now; else the verdict kept
 * before, which replaces s->memo. */
static int settle_reply(const redisReply *reply, overlap_settle *s)
{
    s->same_origin = 1;
    if (reply->type == REDIS_REPLY_NIL)
        return 0;
    char origin[OVERLAP_ORIGIN_MAX];
    snprintf(origin, sizeof(origin), "%s", s->memo.origin);
    if (reply->type != REDIS_REPLY_STRING || overlap_memo_parse(reply->str, &s->memo) != 0)
        return -1;
    s->same_origin = strcmp(s->memo.origin, origin) == 0;
    return 0;
}

int overlap_store_settle(cw_redis *r, cw_redis_batch *b, overlap_settle *s, size_t n,
                         const char *origin)
{
    cw_redis_batch own = {0};
    if (b == NULL)
        b = &own;
    size_t first = b->count;
    int rc = n <= OVERLAP_SETTLE_MAX ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = add_settle(b, &s[i], origin);
    if (rc != 0) {
        cw_redis_batch_clear(b);
        return -1;
    }
    redisReply *replies[CW_REDIS_BATCH_MAX_CMDS];
    if (cw_redis_batch_exec_all(r, b, replies) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (settle_reply(replies[first + i], &s[i]) != 0)
            rc = -1;
    free_replies(replies, first + n);
    return rc;
}

int overlap_store_write(cw_redis *r, cw_redis_batch *b)
{
    return cw_redis_batch_exec(r, b);
}

int overlap_store_write_with_clock(cw_checker *ck, cw_redis_batch *b, int partition, int64_t at)
{
    return cw_checker_exec_with_clock(ck, b, partition, at);
}

/* ---- reading the members of a zset --------------------------------------------- */

static void order_key(char *key, const char *order_id)
{
    snprintf(key, CW_KEY_MAX, CW_KEY_ORDER, order_id);
}

static void visit_key(char *key, const char *order_id)
{
    snprintf(key, CW_KEY_MAX, KEY_VISIT, order_id);
}

/* HMGET <key of member> fields... for the first n members of an array
 * reply, in one round trip. Fills replies[0..n) (the caller frees each).
 * 0, or -1 with nothing to free. */
static int hmget_members(cw_redis *r, void (*key_of)(char *, const char *),
                         const redisReply *members, size_t n, const char *const *fields,
                         int nfields, redisReply **replies)
{
    if (n == 0)
        return 0;
    int argc = nfields + 2;
    char (*keys)[CW_KEY_MAX] = malloc(n * sizeof(*keys));
    const char **argv = malloc(n * (size_t)argc * sizeof(*argv));
    const char *const **cmds = malloc(n * sizeof(*cmds));
    int *argcs = malloc(n * sizeof(*argcs));
    int rc = keys && argv && cmds && argcs ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        key_of(keys[i], members->element[i]->str);
        const char **a = argv + i * (size_t)argc;
        a[0] = "HMGET";
        a[1] = keys[i];
        for (int f = 0; f < nfields; f++)
            a[2 + f] = fields[f];
        cmds[i] = a;
        argcs[i] = argc;
    }
    if (rc == 0)
        rc = cw_redis_pipeline(r, n, argcs, cmds, replies);
    free(keys);
    free(argv);
    free(cmds);
    free(argcs);
    return rc;
}

/* ---- schedules ------------------------------------------------------------------ */

int overlap_store_add_order(cw_redis_batch *b, avro_value_t *order)
{
    return cw_state_store_order(b, order);
}

void overlap_store_add_drop(cw_redis_batch *b, const char *stream, const char *order_id)
{
    char key[CW_KEY_MAX], slot_key[CW_KEY_MAX];
    snprintf(key, sizeof(key), KEY_SCHED, stream);
    snprintf(slot_key, sizeof(slot_key), KEY_SLOT, stream);
    const char *zrem[] = {"ZREM", key, order_id};
    const char *hdel[] = {"HDEL", slot_key, order_id};
    cw_redis_batch_add(b, 3, zrem);
    cw_redis_batch_add(b, 3, hdel);
}

int overlap_store_add_slot(cw_redis_batch *b, const char *stream, const char *order_id,
                           int64_t start, int64_t end, const char *caregiver_id)
{
    char key[CW_KEY_MAX], slot_key[CW_KEY_MAX], sstart[24], slot[CW_KEY_MAX];
    if (overlap_slot_format(start, end, caregiver_id, slot, sizeof(slot)) != 0)
        return -1;
    snprintf(key, sizeof(key), KEY_SCHED, stream);
    snprintf(slot_key, sizeof(slot_key), KEY_SLOT, stream);
    snprintf(sstart, sizeof(sstart), "%" PRId64, start);
    const char *zadd[] = {"ZADD", key, sstart, order_id};
    const char *hset[] = {"HSET", slot_key, order_id, slot};
    cw_redis_batch_add(b, 4, zadd);
    cw_redis_batch_add(b, 4, hset);
    return 0;
}

/* The kept slots of the first n members of an array reply, in one HMGET of
 * cw:ov:slot:<stream>: the reply (the caller frees it), or NULL. */
static redisReply *load_slots(cw_redis *r, const char *stream, const redisReply *members,
                              size_t n)
{
    char slot_key[CW_KEY_MAX];
    snprintf(slot_key, sizeof(slot_key), KEY_SLOT, stream);
    const char **argv = malloc((n + 2) * sizeof(*argv));
    if (argv == NULL)
        return NULL;
    argv[0] = "HMGET";
    argv[1] = slot_key;
    for (size_t i = 0; i < n; i++)
        argv[2 + i] = members->element[i]->str;
    redisReply *reply = cw_redis_cmd(r, (int)(n + 2), argv);
    free(argv);
    if (reply != NULL && (reply->type != REDIS_REPLY_ARRAY || reply->elements != n)) {
        freeReplyObject(reply);
        reply = NULL;
    }
    return reply;
}

/* An order from the reply of add_order_read's HMGET (*found 0 when the
 * order is unknown). 0, or -1 when the reply is not that. */
static int order_of(const redisReply *reply, cw_order_state *order, int *found)
{
    int got = cw_state_order_from_reply(reply, order);
    *found = got > 0;
    return got < 0 ? -1 : 0;
}

/* An order's entry in the schedule: its kept slot (a malformed one is
 * skipped), or the order's hash (order) for an order scheduled before
 * slots were kept. *found 0 when neither gives one. 0, or -1 when the
 * order's hash does not read. */
static int slot_of(const redisReply *slot, const redisReply *order, overlap_slot *so,
                   char *caregiver, size_t len, int *found)
{
    if (slot->type == REDIS_REPLY_STRING) {
        *found = overlap_slot_parse(slot->str, so, caregiver, len) == 0;
        return 0;
    }
    cw_order_state st;
    if (order_of(order, &st, found) != 0)
        return -1;
    so->start = st.scheduled_start;
    so->end = st.scheduled_start + (int64_t)st.scheduled_minutes * 60000;
    snprintf(caregiver, len, "%s", st.caregiver_id);
    return 0;
}

/* The schedule of the order ids in ids (ZRANGEBYSCORE's reply), split by
 * caregiver. */
static int schedule_of(cw_redis *r, const char *stream, const char *caregiver_id,
                       const redisReply *ids, overlap_schedule *sched)
{
    redisReply *orders[OVERLAP_MAX_CANDIDATES];
    size_t asked = ids->elements < OVERLAP_MAX_CANDIDATES ? ids->elements : OVERLAP_MAX_CANDIDATES;
    if (asked == 0)
        return 0;
    redisReply *slots = load_slots(r, stream, ids, asked);
    if (slots == NULL)
        return -1;
    int legacy = 0;
    for (size_t i = 0; i < asked; i++)
        legacy |= slots->element[i]->type != REDIS_REPLY_STRING;
    if (legacy && hmget_members(r, order_key, ids, asked, cw_state_order_fields,
                                CW_STATE_ORDER_FIELD_COUNT, orders) != 0) {
        freeReplyObject(slots);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < asked && rc == 0; i++) {
        overlap_slot so;
        char cg[CW_ID_MAX];
        int found;
        rc = slot_of(slots->element[i], legacy ? orders[i] : NULL, &so, cg, sizeof(cg), &found);
        if (rc != 0 || !found)
            continue;
        snprintf(so.order_id, sizeof(so.order_id), "%s", ids->element[i]->str);
        if (strcmp(cg, caregiver_id) == 0)
            sched->own[sched->n_own++] = so;
        else
            sched->others[sched->n_others++] = so;
    }
    if (legacy)
        free_replies(orders, asked);
    freeReplyObject(slots);
    return rc;
}

int overlap_store_schedule(cw_redis *r, cw_redis_batch *b, const char *stream,
                           const char *caregiver_id, int64_t after, int64_t before,
                           overlap_schedule *sched)
{
    char key[CW_KEY_MAX];
    redisReply *replies[CW_REDIS_BATCH_MAX_CMDS];
    sched->n_own = sched->n_others = 0;
    snprintf(key, sizeof(key), KEY_SCHED, stream);
    add_range(b, key, after, before, 1);
    size_t n = b->count;
    if (cw_redis_batch_exec_all(r, b, replies) != 0)
        return -1;
    const redisReply *ids = replies[n - 1];
    int rc = ids->type == REDIS_REPLY_ARRAY ? schedule_of(r, stream, caregiver_id, ids, sched) : -1;
    free_replies(replies, n);
    return rc;
}

/* ---- visits ------------------------------------------------------------------- */

static void add_visit_read(cw_redis_batch *b, const char *order_id)
{
    char key[CW_KEY_MAX];
    visit_key(key, order_id);
    const char *argv[] = {"HMGET", key, visit_fields[0], visit_fields[1], visit_fields[2],
                          visit_fields[3]};
    cw_redis_batch_add(b, 2 + VISIT_FIELD_COUNT, argv);
}

static void copy_field(char *buf, size_t len, const redisReply *e)
{
    snprintf(buf, len, "%s", e->type == REDIS_REPLY_STRING ? e->str : "");
}

/* A visit from the reply of add_visit_read's HMGET (row->has_in 0 when it
 * has no check-in). 0, or -1 when the reply is not that. */
static int visit_from_reply(const redisReply *reply, const char *order_id, overlap_visit_row *row)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != VISIT_FIELD_COUNT)
        return -1;
    memset(row, 0, sizeof(*row));
    snprintf(row->v.order_id, sizeof(row->v.order_id), "%s", order_id);
    row->has_in = reply->element[0]->type == REDIS_REPLY_STRING;
    if (row->has_in)
        row->v.in_at = strtoll(reply->element[0]->str, NULL, 10);
    if (reply->element[1]->type == REDIS_REPLY_STRING) {
        row->v.has_out = 1;
        row->v.out_at = strtoll(reply->element[1]->str, NULL, 10);
    }
    copy_field(row->in_event, sizeof(row->in_event), reply->element[2]);
    copy_field(row->cg, sizeof(row->cg), reply->element[3]);
    return 0;
}

/* The visits of the order ids in ids (ZRANGEBYSCORE's reply), split by
 * caregiver (a visit recorded before its caregiver was kept counts as
 * caregiver_id's). One round trip. */
static int visits_of(cw_redis *r, const char *caregiver_id, const redisReply *ids,
                     overlap_visits *visits)
{
    redisReply *replies[OVERLAP_MAX_CANDIDATES];
    size_t asked = ids->elements < OVERLAP_MAX_CANDIDATES ? ids->elements : OVERLAP_MAX_CANDIDATES;
    visits->n_own = visits->n_others = 0;
    if (hmget_members(r, visit_key, ids, asked, visit_fields, VISIT_FIELD_COUNT, replies) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < asked && rc == 0; i++) {
        overlap_visit_row row;
        rc = visit_from_reply(replies[i], ids->element[i]->str, &row);
        if (rc != 0 || !row.has_in)
            continue;
        if (row.cg[0] == '\0' || strcmp(row.cg, caregiver_id) == 0)
            visits->own[visits->n_own++] = row.v;
        else
            visits->others[visits->n_others++] = row.v;
    }
    free_replies(replies, asked);
    return rc;
}

/* The visits of an array reply of add_range's, or -1 when it is not one. */
static int visits_of_range(cw_redis *r, const char *caregiver_id, const redisReply *range,
                           overlap_visits *visits)
{
    return range->type == REDIS_REPLY_ARRAY ? visits_of(r, caregiver_id, range, visits) : -1;
}

static void add_visits_range(cw_redis_batch *b, const char *stream, int64_t in_at)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), KEY_VISITS, stream);
    add_range(b, key, in_at, in_at, 0);
}

static void add_order_read(cw_redis_batch *b, const char *order_id)
{
    char key[CW_KEY_MAX];
    order_key(key, order_id);
    const char *argv[2 + CW_STATE_ORDER_FIELD_COUNT] = {"HMGET", key};
    for (int i = 0; i < CW_STATE_ORDER_FIELD_COUNT; i++)
        argv[2 + i] = cw_state_order_fields[i];
    cw_redis_batch_add(b, 2 + CW_STATE_ORDER_FIELD_COUNT, argv);
}

/* The periods of an HGETALL reply of the elder's status hash (malformed
 * entries skipped), at most max. */
int overlap_store_load_event(cw_redis *r, const char *order_id, const char *caregiver_id,
                             int check_in, overlap_event_state *out)
{
    char cg_key[CW_KEY_MAX];
    redisReply *replies[3];
    cw_redis_batch b = {0};
    snprintf(cg_key, sizeof(cg_key), CW_KEY_CGSTATE, caregiver_id);
    const char *status[] = {"HGET", cg_key, "status"};
    add_order_read(&b, order_id);
    cw_redis_batch_add(&b, 3, status);
    if (check_in)
        add_visit_read(&b, order_id);
    size_t n = b.count;
    if (cw_redis_batch_exec_all(r, &b, replies) != 0)
        return -1;
    memset(out, 0, sizeof(*out));
    int rc = order_of(replies[0], &out->order, &out->order_found);
    cw_caregiver_status st;
    out->frozen = replies[1]->type == REDIS_REPLY_STRING &&
                  cw_caregiver_status_parse(replies[1]->str, &st) == 0 &&
                  st == CW_CAREGIVER_STATUS_FROZEN;
    if (rc == 0 && check_in)
        rc = visit_from_reply(replies[2], order_id, &out->visit);
    free_replies(replies, n);
    return rc;
}

int overlap_store_record_event(cw_redis *r, const overlap_event *e, overlap_settle *frozen,
                               const char *origin, overlap_event_reads *reads)
{
    char key[CW_KEY_MAX], sat[24];
    redisReply *replies[CW_REDIS_BATCH_MAX_CMDS];
    cw_redis_batch b = {0};
    visit_key(key, e->order_id);
    snprintf(sat, sizeof(sat), "%" PRId64, e->at);
    const char *set_at[] = {"HSETNX", key, e->check_in ? "in_at" : "out_at", sat};
    const char *set_event[] = {"HSETNX", key, e->check_in ? "in_event" : "out_event",
                               e->event_id};
    const char *set_cg[] = {"HSETNX", key, "cg", e->order_caregiver};
    cw_redis_batch_add(&b, 4, set_at);
    cw_redis_batch_add(&b, 4, set_event);
    cw_redis_batch_add(&b, 4, set_cg);
    if (reads->visits != NULL) {
        char visits[CW_KEY_MAX], sin[24];
        snprintf(visits, sizeof(visits), KEY_VISITS, reads->stream);
        snprintf(sin, sizeof(sin), "%" PRId64, reads->in_at);
        const char *zadd[] = {"ZADD", visits, sin, e->order_id};
        cw_redis_batch_add(&b, 4, zadd);
    }
    size_t at_memo = b.count;
    if (add_settle(&b, frozen, origin) != 0) {
        cw_redis_batch_clear(&b);
        return -1;
    }
    if (reads->visits != NULL)
        add_visits_range(&b, reads->stream, reads->in_at);
    if (reads->periods != NULL) {
        char status_key[CW_KEY_MAX];
        snprintf(status_key, sizeof(status_key), CW_KEY_ELDER_STATUS, reads->elder_id);
        const char *hgetall[] = {"HGETALL", status_key};
        cw_redis_batch_add(&b, 2, hgetall);
    }
    size_t n = b.count;
    if (cw_redis_batch_exec_all(r, &b, replies) != 0)
        return -1;
    int rc = settle_reply(replies[at_memo], frozen);
    reads->n = 0;
    if (rc == 0 && reads->periods != NULL) {
        const redisReply *all = replies[n - 1];
        if (all->type == REDIS_REPLY_ARRAY)
            reads->n = cw_state_elder_periods_from_reply(all, reads->periods, reads->max);
        else
            rc = -1;
    }
    if (rc == 0 && reads->visits != NULL)
        rc = visits_of_range(r, reads->caregiver_id, replies[at_memo + 1], reads->visits);
    free_replies(replies, n);
    return rc;
}

/* ---- timers ------------------------------------------------------------------- */

int overlap_store_add_timer(cw_checker *ck, cw_redis_batch *b, int partition, int64_t due,
                            const char *order_id)
{
    char member[CW_KEY_MAX];
    snprintf(member, sizeof(member), TIMER_PREFIX "%s", order_id);
    return cw_checker_add_timer(ck, b, partition, due, member);
}

const char *overlap_store_timer_order(const char *member)
{
    const char *bar = strchr(member, '|');
    return bar ? bar + 1 : NULL;
}

int overlap_store_load_timer(cw_redis *r, const char *order_id, overlap_visit_row *visit,
                             int *visit_found, cw_order_state *order, int *order_found)
{
    redisReply *replies[2];
    cw_redis_batch b = {0};
    add_visit_read(&b, order_id);
    add_order_read(&b, order_id);
    if (cw_redis_batch_exec_all(r, &b, replies) != 0)
        return -1;
    int rc = visit_from_reply(replies[0], order_id, visit);
    if (rc == 0) {
        *visit_found = visit->has_in;
        rc = order_of(replies[1], order, order_found);
    }
    free_replies(replies, 2);
    return rc;
}

/* *red: a GET of a kept verdict answered a red one (none: not red). 0, or
 * -1 when it is not a kept verdict. */
static int kept_red(const redisReply *reply, int *red)
{
    overlap_memo m;
    *red = 0;
    if (reply->type == REDIS_REPLY_NIL)
        return 0;
    if (reply->type != REDIS_REPLY_STRING || overlap_memo_parse(reply->str, &m) != 0)
        return -1;
    *red = m.v.outcome == CW_OUTCOME_RED;
    return 0;
}

int overlap_store_timer_visits(cw_redis *r, const char *stream, const char *caregiver_id,
                               int64_t in_at, overlap_visits *visits,
                               const char *const *check_ids, size_t n, int *red)
{
    redisReply *replies[1 + OVERLAP_SETTLE_MAX];
    char keys[OVERLAP_SETTLE_MAX][MEMO_KEY_MAX];
    cw_redis_batch b = {0};
    if (n > OVERLAP_SETTLE_MAX)
        return -1;
    add_visits_range(&b, stream, in_at);
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof(keys[i]), KEY_MEMO, check_ids[i]);
        const char *get[] = {"GET", keys[i]};
        cw_redis_batch_add(&b, 2, get);
    }
    if (cw_redis_batch_exec_all(r, &b, replies) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = kept_red(replies[1 + i], &red[i]);
    if (rc == 0)
        rc = visits_of_range(r, caregiver_id, replies[0], visits);
    free_replies(replies, 1 + n);
    return rc;
}

/* ---- caregiver status ------------------------------------------------------------ */

void overlap_store_add_status(cw_redis_batch *b, const char *caregiver_id,
                              cw_caregiver_status status, const char *reason,
                              const char *order_id, int64_t at)
{
    char key[CW_KEY_MAX], sat[24];
    snprintf(key, sizeof(key), CW_KEY_CGSTATE, caregiver_id);
    snprintf(sat, sizeof(sat), "%" PRId64, at);
    const char *argv[] = {"HSET",     key,      "status", cw_caregiver_status_name(status),
                          "reason",   reason,   "order_id", order_id,
                          "at",       sat};
    cw_redis_batch_add(b, 10, argv);
}
