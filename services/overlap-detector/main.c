/* carewatch-overlap-detector: SCHEDULE_OVERLAP when an assignment overlaps
 * another order of the caregiver, UNCERTIFIED when it gives a service that
 * needs a certificate to a caregiver without one; ELDER_UNAVAILABLE for a
 * check-in while the elder is in hospital or dead (the registry's periods,
 * cw:elder_status, as received by the check-in's receipt); VISIT_OVERLAP for every check-in, decided
 * when the check-in is processed if another visit of the caregiver is open
 * then (certain at once), else once the watermark has passed it (every
 * visit that started before it is then known: a late event may reveal an
 * overlap); FROZEN_CAREGIVER for every check-in and check-out. A red
 * verdict freezes the caregiver in Redis and publishes
 * CaregiverStatusChanged; an admin's unfreeze, which ingest puts into the
 * caregiver's partition of visit.events, lifts it when this service reaches
 * it, so freezing follows the caregiver's stream order (docs/design.md §4.1).
 *
 * Input: visit.events alone, keyed by caregiver: ingest puts a copy of
 * every assignment there beside the caregiver's check-ins, check-outs and
 * unfreezes, so one partition holds a caregiver's whole stream in posting
 * order and a freeze that an assignment causes covers exactly the events
 * posted after it, however the stream is read (orders.assigned, a topic of
 * its own, could be read ahead of or behind visit.events). An order's
 * revisions (a cancel, reschedule or reassign: docs/maintenance.md) come
 * there too, at their place in the stream: the previous revision's stream
 * drops the order from its schedule, the new one's judges the revision as
 * if it had been assigned so (check ids "<order_id>@<revision>:<RULE>").
 * Schedules are judged from the slots each stream keeps in its own order,
 * never from the order's hash, which ingest moves on at once. Redis state
 * of its own:
 *   cw:ov:sched:<caregiver>   zset of order ids by scheduled start
 *   cw:ov:slot:<caregiver>    hash order id -> "<start>|<end>|<caregiver_id>", as
 *                             this stream scheduled it (an order's revisions
 *                             move it: docs/maintenance.md)
 *   cw:ov:visits:<caregiver>  zset of order ids by check-in time
 *   cw:ov:visit:<order_id>    hash in_at in_event out_at out_event
 *   cw:ov:memo:<check_id>     "<OUTCOME>|<measured>|<other order>": a verdict
 *                             that depends on processing order, kept so a
 *                             replay repeats it (<check_id>:in holds what a
 *                             check-in's VISIT_OVERLAP was when processed)
 *   cw:timers:overlap-detector:<partition>  "VISIT_OVERLAP|<order_id>" */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "check_result.h"
#include "checker.h"
#include "assignment_rules.h"
#include "elder_rules.h"
#include "log.h"
#include "overlap_rules.h"
#include "redis_keys.h"
#include "state.h"
#include "timeutil.h"
#include "topics.h"

#define SERVICE "overlap-detector"
#define MAX_CANDIDATES 512
/* How far back to look for an order or visit that may still be running. */
#define LOOKBACK_MS ((int64_t)7 * 24 * 3600 * 1000)

static const cw_cfg_spec overlap_config_spec[] = {
    {.key = "rules.open_visit_minutes", .type = CW_CFG_INT, .default_value = "240", .min = 1,
     .max = 10080, .help = "a visit without check-out counts as open this long"},
    {.key = "rules.certified_service_types", .type = CW_CFG_LIST,
     .default_value = "bathing,health_check,medication,nursing,rehabilitation",
     .help = "service types only a certified caregiver may be assigned (UNCERTIFIED)"},
    {.key = NULL},
};

typedef struct {
    cw_checker *ck;
    int64_t open_max_ms;
    const char *const *certified_types; /* borrowed from the config */
    size_t certified_type_count;
} overlap_ctx;

/* ---- memo of order-dependent verdicts --------------------------------- */

#define ORIGIN_MAX 160

typedef struct {
    cw_verdict v;
    char other[OVERLAP_ID_MAX];
    /* What settled the verdict: "<topic>:<partition>:<offset>" of the
     * record, or "timer:<member>". The freeze a red verdict causes is
     * applied again when the same record is replayed after a crash (its
     * later records are replayed too, an unfreeze among them), but not for
     * a duplicate of the record further down the stream, which would
     * freeze again a caregiver unfrozen since. */
    char origin[ORIGIN_MAX];
} memo;

static void origin_of_message(const cw_stream_msg *msg, char *buf, size_t len)
{
    snprintf(buf, len, "%s:%d:%" PRId64, msg->topic, (int)msg->partition, msg->offset);
}

/* Copies the next '|'-separated field of *p into buf and moves *p past it.
 * 0, or -1 when there is none or it does not fit. */
static int next_field(const char **p, char *buf, size_t len)
{
    if (*p == NULL)
        return -1;
    const char *bar = strchr(*p, '|');
    size_t n = bar ? (size_t)(bar - *p) : strlen(*p);
    if (n >= len)
        return -1;
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p = bar ? bar + 1 : NULL;
    return 0;
}

/* Reads a kept verdict ("<OUTCOME>|<measured>|<other>|<origin>") into *m.
 * 0, or -1 when it is not that. */
static int memo_parse(const char *stored, memo *m)
{
    char outcome[16], measured[32];
    const char *p = stored;
    if (next_field(&p, outcome, sizeof(outcome)) != 0 ||
        next_field(&p, measured, sizeof(measured)) != 0 ||
        next_field(&p, m->other, sizeof(m->other)) != 0 ||
        cw_outcome_parse(outcome, &m->v.outcome) != 0)
        return -1;
    /* Memos written before origins were kept have none: not this one. */
    if (next_field(&p, m->origin, sizeof(m->origin)) != 0)
        m->origin[0] = '\0';
    double value_measured = strtod(measured, NULL);
    m->v.has_measured = value_measured >= 0;
    m->v.measured = value_measured >= 0 ? value_measured : 0;
    return 0;
}

#define MEMO_BATCH_MAX 4

/* Stores each m[i] under check_ids[i] unless a verdict is there already,
 * all in one round trip (SET NX GET: the verdict kept before, if any, comes
 * back). Each m[i] becomes the stored one, origin included; same_origin[i]
 * = 1 when it was settled by origin (this call or an earlier run of the same
 * record). 0 or -1. */
static int memo_settle_many(cw_redis *r, size_t n, char (*check_ids)[200], memo *m,
                            const char *origin, int *same_origin)
{
    char keys[MEMO_BATCH_MAX][224], values[MEMO_BATCH_MAX][400];
    const char *argv[MEMO_BATCH_MAX][5];
    const char *const *cmds[MEMO_BATCH_MAX];
    int argcs[MEMO_BATCH_MAX];
    redisReply *replies[MEMO_BATCH_MAX];
    if (n == 0 || n > MEMO_BATCH_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof(keys[i]), "cw:ov:memo:%s", check_ids[i]);
        snprintf(m[i].origin, sizeof(m[i].origin), "%s", origin);
        snprintf(values[i], sizeof(values[i]), "%s|%.6f|%s|%s", cw_outcome_name(m[i].v.outcome),
                 m[i].v.has_measured ? m[i].v.measured : -1.0, m[i].other, m[i].origin);
        argv[i][0] = "SET";
        argv[i][1] = keys[i];
        argv[i][2] = values[i];
        argv[i][3] = "NX";
        argv[i][4] = "GET";
        cmds[i] = argv[i];
        argcs[i] = 5;
    }
    if (cw_redis_pipeline(r, n, argcs, cmds, replies) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        same_origin[i] = 1;
        if (replies[i]->type == REDIS_REPLY_NIL)
            continue; /* stored now */
        if (replies[i]->type != REDIS_REPLY_STRING || memo_parse(replies[i]->str, &m[i]) != 0)
            rc = -1;
        else
            same_origin[i] = strcmp(m[i].origin, origin) == 0;
    }
    for (size_t i = 0; i < n; i++)
        freeReplyObject(replies[i]);
    return rc;
}

static int memo_settle(cw_redis *r, const char *check_id, memo *m, const char *origin,
                       int *same_origin)
{
    char ids[1][200];
    snprintf(ids[0], sizeof(ids[0]), "%s", check_id);
    return memo_settle_many(r, 1, ids, m, origin, same_origin);
}

/* 1 when the verdict kept under check_id is red, 0 when it is not or none
 * is kept, -1 (Redis). */
static int memo_is_red(cw_redis *r, const char *check_id)
{
    char key[224], stored[400];
    memo m;
    snprintf(key, sizeof(key), "cw:ov:memo:%s", check_id);
    int found = cw_redis_get_string(r, key, stored, sizeof(stored));
    if (found < 0 || (found && memo_parse(stored, &m) != 0))
        return -1;
    return found && m.v.outcome == CW_OUTCOME_RED;
}

/* ---- freezing ---------------------------------------------------------- */

/* The status stored after a freeze or an unfreeze (caregiver_stream_step). */
static const char *status_after(caregiver_item item)
{
    int frozen = item == CG_UNFREEZE;
    (void)caregiver_stream_step(&frozen, item);
    return frozen ? "FROZEN" : "ACTIVE";
}

static int freeze(overlap_ctx *o, const char *caregiver_id, const char *rule,
                  const char *order_id, int64_t at, cw_outbox *out)
{
    char key[CW_KEY_MAX], sat[24], reason[128], err[256];
    snprintf(key, sizeof(key), CW_KEY_CGSTATE, caregiver_id);
    snprintf(sat, sizeof(sat), "%" PRId64, at);
    snprintf(reason, sizeof(reason), "%s on order %s", rule, order_id);
    const char *argv[] = {"HSET", key, "status", status_after(CG_RED_VERDICT), "reason", reason,
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
        rc = cw_outbox_add_avro(out, CW_TOPIC_CAREGIVER_STATUS, caregiver_id, &v, s, err, sizeof(err));
    avro_value_decref(&v);
    if (rc == 0)
        cw_log_info("caregiver frozen", "caregiver_id", caregiver_id, "reason", reason, NULL);
    return rc;
}

/* ---- SCHEDULE_OVERLAP ------------------------------------------------------ */

/* The members of the caregiver's zset <prefix><caregiver> scored from
 * `from` - LOOKBACK_MS up to `to` (excluded when exclusive), as an array
 * reply the caller frees; NULL on a Redis error. */
static redisReply *caregiver_members(cw_redis *r, const char *prefix, const char *caregiver_id,
                                     int64_t from, int64_t to, int exclusive)
{
    char key[CW_KEY_MAX], min[24], max[24];
    snprintf(key, sizeof(key), "%s%s", prefix, caregiver_id);
    snprintf(min, sizeof(min), "%" PRId64, from - LOOKBACK_MS);
    snprintf(max, sizeof(max), "%s%" PRId64, exclusive ? "(" : "", to);
    const char *argv[] = {"ZRANGEBYSCORE", key, min, max};
    redisReply *reply = cw_redis_cmd(r, 4, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

/* HMGET <prefix><member> fields... for the first n members of an array
 * reply, in one round trip. Fills replies[0..n) (the caller frees each).
 * 0, or -1 with nothing to free. */
static int hmget_members(cw_redis *r, const char *prefix, const redisReply *members, size_t n,
                         const char *const *fields, int nfields, redisReply **replies)
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
        snprintf(keys[i], CW_KEY_MAX, "%s%s", prefix, members->element[i]->str);
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

static void free_replies(redisReply **replies, size_t n)
{
    for (size_t i = 0; i < n; i++)
        freeReplyObject(replies[i]);
}

/* One person's orders or visits, split by registration: those of the
 * caregiver being judged (SCHEDULE_OVERLAP, VISIT_OVERLAP) and those of the
 * person's other registrations (CROSS_PROVIDER_OVERLAP). */
typedef struct {
    size_t own, others;
} split_count;

/* The kept slots (schedule_slot_format) of the first n members of an
 * array reply, in one HMGET of cw:ov:slot:<key>: the reply (the caller
 * frees it), or NULL on a Redis error. */
static redisReply *load_slots(cw_redis *r, const char *key, const redisReply *members, size_t n)
{
    char slot_key[CW_KEY_MAX];
    snprintf(slot_key, sizeof(slot_key), "cw:ov:slot:%s", key);
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

/* A schedule entry from the order's hash: an order scheduled before slots
 * were kept. 1, 0 when the order is unknown, -1. */
static int slot_from_order(const redisReply *order, scheduled_order *so, char *caregiver,
                           size_t len)
{
    cw_order_state st;
    int found = cw_state_order_from_reply(order, &st);
    if (found <= 0)
        return found;
    so->start = st.scheduled_start;
    so->end = st.scheduled_start + (int64_t)st.scheduled_minutes * 60000;
    snprintf(caregiver, len, "%s", st.caregiver_id);
    return 1;
}

/* The orders of the stream key (the person, or the caregiver without one)
 * that start before `before` (and not long before `after`), with their
 * intervals as this stream last scheduled them (the slots its partition
 * keeps in its own order, so that a revision read elsewhere first changes
 * nothing here): the caregiver's into own, the other registrations' into
 * others. 0, or -1. */
static int load_schedule(cw_redis *r, const char *key, const char *caregiver_id, int64_t after,
                         int64_t before, scheduled_order *own, scheduled_order *others,
                         size_t max, split_count *n)
{
    static redisReply *orders[MAX_CANDIDATES];
    n->own = n->others = 0;
    redisReply *reply = caregiver_members(r, "cw:ov:sched:", key, after, before, 1);
    if (reply == NULL)
        return -1;
    size_t asked = reply->elements < max ? reply->elements : max;
    redisReply *slots = asked ? load_slots(r, key, reply, asked) : NULL;
    if (asked && slots == NULL) {
        freeReplyObject(reply);
        return -1;
    }
    int legacy = 0;
    for (size_t i = 0; i < asked; i++)
        legacy |= slots->element[i]->type != REDIS_REPLY_STRING;
    if (legacy && hmget_members(r, "cw:order:", reply, asked, cw_state_order_fields,
                                CW_STATE_ORDER_FIELD_COUNT, orders) != 0) {
        freeReplyObject(slots);
        freeReplyObject(reply);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < asked && rc == 0; i++) {
        scheduled_order so;
        char cg[CW_ID_MAX];
        int found = slots->element[i]->type == REDIS_REPLY_STRING
                        ? schedule_slot_parse(slots->element[i]->str, &so, cg, sizeof(cg)) == 0
                        : slot_from_order(orders[i], &so, cg, sizeof(cg));
        if (found < 0)
            rc = -1;
        if (found <= 0)
            continue;
        snprintf(so.order_id, sizeof(so.order_id), "%s", reply->element[i]->str);
        if (strcmp(cg, caregiver_id) == 0)
            own[n->own++] = so;
        else
            others[n->others++] = so;
    }
    if (legacy)
        free_replies(orders, asked);
    if (slots)
        freeReplyObject(slots);
    freeReplyObject(reply);
    return rc;
}

/* One overlap verdict of an assignment over candidates, with the other
 * order. */
static void judge_schedule_rule(const scheduled_order *candidates, size_t n,
                                const scheduled_order *added, memo *m)
{
    long other;
    memset(m, 0, sizeof(*m));
    m->v = rule_schedule_overlap(candidates, n, added, &other);
    if (other >= 0)
        snprintf(m->other, sizeof(m->other), "%s", candidates[other].order_id);
}


/* An assignment as this stream schedules it: the original one, or a
 * revision that arrives here (docs/maintenance.md). */
typedef struct {
    const char *order_id, *caregiver_id, *service_type, *stream;
    char subject[CW_SUBJECT_MAX]; /* of its verdicts: "<order_id>[@<revision>]" */
    int64_t start, end, received;
    int has_certified, certified;
} assignment;

/* SCHEDULE_OVERLAP, CROSS_PROVIDER_OVERLAP and UNCERTIFIED of an assignment
 * over the stream's schedule, kept like every verdict that depends on
 * processing order (only the record that settled a red one freezes), and
 * the order into the stream's schedule. The revision is in the check ids:
 * a revision is judged afresh, never given an earlier revision's verdict. */
static int judge_assignment(overlap_ctx *o, const cw_stream_msg *msg, const assignment *a,
                            cw_outbox *out)
{
    scheduled_order added = {.start = a->start, .end = a->end};
    snprintf(added.order_id, sizeof(added.order_id), "%s", a->order_id);
    static scheduled_order own[MAX_CANDIDATES], others[MAX_CANDIDATES];
    split_count n;
    if (load_schedule(o->ck->redis, a->stream, a->caregiver_id, a->start, a->end, own, others,
                      MAX_CANDIDATES, &n) != 0)
        return CW_RETRY;
    static const char *const rules[3] = {"SCHEDULE_OVERLAP", "CROSS_PROVIDER_OVERLAP",
                                         "UNCERTIFIED"};
    char origin[ORIGIN_MAX], sstart[24], key[CW_KEY_MAX], slot_key[CW_KEY_MAX];
    char slot[CW_KEY_MAX], check_ids[3][200];
    memo m[3];
    int same[3];
    judge_schedule_rule(own, n.own, &added, &m[0]);
    judge_schedule_rule(others, n.others, &added, &m[1]);
    memset(&m[2], 0, sizeof(m[2]));
    m[2].v = rule_uncertified(a->has_certified, a->certified, a->service_type,
                              o->certified_types, o->certified_type_count);
    for (int i = 0; i < 3; i++)
        snprintf(check_ids[i], sizeof(check_ids[i]), "%s:%s", a->subject, rules[i]);
    origin_of_message(msg, origin, sizeof(origin));
    if (memo_settle_many(o->ck->redis, 3, check_ids, m, origin, same) != 0)
        return CW_RETRY;
    for (int i = 0; i < 2; i++) {
        m[i].v.has_threshold = 1;
        m[i].v.unit = "min";
    }
    snprintf(key, sizeof(key), "cw:ov:sched:%s", a->stream);
    snprintf(slot_key, sizeof(slot_key), "cw:ov:slot:%s", a->stream);
    snprintf(sstart, sizeof(sstart), "%" PRId64, a->start);
    if (schedule_slot_format(a->start, a->end, a->caregiver_id, slot, sizeof(slot)) != 0)
        return CW_RETRY;
    const char *zadd[] = {"ZADD", key, sstart, a->order_id};
    const char *hset[] = {"HSET", slot_key, a->order_id, slot};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 4, zadd);
    cw_redis_batch_add(&b, 4, hset);
    if (cw_redis_batch_exec(o->ck->redis, &b) != 0)
        return CW_RETRY;

    for (int i = 0; i < 3; i++)
        if (cw_check_emit_verdict(out, SERVICE, a->subject, rules[i], &m[i].v, a->order_id,
                                  a->caregiver_id, NULL, a->received) != 0)
            return CW_RETRY;
    /* One freeze for the assignment, named after its first red rule, and
     * only by the record that settled that verdict. */
    for (int i = 0; i < 3; i++) {
        if (m[i].v.outcome != CW_OUTCOME_RED)
            continue;
        if (same[i] && freeze(o, a->caregiver_id, rules[i], a->order_id, a->received, out) != 0)
            return CW_RETRY;
        break;
    }
    return CW_OK;
}

/* An assignment's copy on visit.events, or a revision's
 * (cw_order_revision_copy): the partition that held the previous revision
 * drops the order from the stream's schedule (a cancel: from every
 * schedule); the partition of the new one judges it as if assigned so. */
static int handle_order(overlap_ctx *o, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                        size_t len)
{
    assignment a;
    cw_order_revision rev;
    int32_t minutes;
    cw_redis_batch b = {0};
    memset(&a, 0, sizeof(a));
    if (cw_av_get_str(msg->value, "order_id", &a.order_id) ||
        cw_av_get_str(msg->value, "caregiver_id", &a.caregiver_id) ||
        cw_av_get_str(msg->value, "service_type", &a.service_type) ||
        cw_av_get_long(msg->value, "scheduled_start", &a.start) ||
        cw_av_get_int(msg->value, "scheduled_minutes", &minutes) ||
        cw_av_get_long(msg->value, "received_at", &a.received) ||
        cw_av_get_opt_bool(msg->value, "caregiver_certified", &a.has_certified, &a.certified) ||
        cw_order_revision_of(msg->value, &rev) ||
        cw_order_revision_subject(a.order_id, rev.revision, a.subject, sizeof(a.subject)) ||
        cw_state_store_order(&b, msg->value) != 0) {
        cw_redis_batch_clear(&b);
        snprintf(reason, len, "OrderAssigned lacks a field");
        return CW_REJECT;
    }
    /* Every registration of one person shares the person's schedule. */
    a.stream = rev.stream_key;
    a.end = a.start + (int64_t)minutes * 60000;
    cw_revision_copy copy = cw_order_revision_copy(&rev, msg->key);
    if (rev.revision > 0 && copy.leave) {
        char key[CW_KEY_MAX], slot_key[CW_KEY_MAX];
        snprintf(key, sizeof(key), "cw:ov:sched:%s", msg->key);
        snprintf(slot_key, sizeof(slot_key), "cw:ov:slot:%s", msg->key);
        const char *zrem[] = {"ZREM", key, a.order_id};
        const char *hdel[] = {"HDEL", slot_key, a.order_id};
        cw_redis_batch_add(&b, 3, zrem);
        cw_redis_batch_add(&b, 3, hdel);
    }
    if (cw_redis_batch_exec(o->ck->redis, &b) != 0)
        return CW_RETRY;
    if (rev.revision > 0 && !copy.arrive)
        return CW_OK;
    return judge_assignment(o, msg, &a, out);
}

/* ---- visits ------------------------------------------------------------------ */

static const char *const visit_fields[] = {"in_at", "out_at", "in_event", "cg"};
#define VISIT_FIELD_COUNT 4

/* A visit from the reply of HMGET cw:ov:visit:<order> in_at out_at
 * in_event cg: 1, 0 when it has no check-in, -1 when the reply is not
 * that. in_event and cg (its caregiver; "" for a visit recorded before it
 * was kept) are filled when not NULL. */
static int visit_from_reply(const redisReply *reply, const char *order_id, visit_interval *v,
                            char *in_event, size_t in_event_len, char *cg, size_t cg_len)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != VISIT_FIELD_COUNT)
        return -1;
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
    if (cg != NULL)
        snprintf(cg, cg_len, "%s",
                 reply->element[3]->type == REDIS_REPLY_STRING ? reply->element[3]->str : "");
    return found;
}

static int load_visit(cw_redis *r, const char *order_id, visit_interval *v, char *in_event,
                      size_t in_event_len)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), "cw:ov:visit:%s", order_id);
    const char *argv[] = {"HMGET", key, visit_fields[0], visit_fields[1], visit_fields[2],
                          visit_fields[3]};
    redisReply *reply = cw_redis_cmd(r, 6, argv);
    if (reply == NULL)
        return -1;
    int found = visit_from_reply(reply, order_id, v, in_event, in_event_len, NULL, 0);
    freeReplyObject(reply);
    return found;
}

static int judge_frozen(overlap_ctx *o, const char *event_id, const char *order_id,
                        const char *caregiver_id, int64_t at, const char *origin, cw_outbox *out)
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
    int frozen = strcmp(status, "FROZEN") == 0;
    memo m = {.v = caregiver_stream_step(&frozen, CG_VISIT_EVENT)};
    int same_origin;
    if (memo_settle(o->ck->redis, check_id, &m, origin, &same_origin) != 0)
        return -1;
    m.v.unit = "";
    return cw_check_emit_verdict(out, SERVICE, event_id, "FROZEN_CAREGIVER", &m.v, order_id,
                                 caregiver_id, event_id, at);
}

/* The visits of the stream key (the person, or the caregiver) that started
 * up to x's check-in (and not long before it), x included: the caregiver's
 * into own, the person's other registrations' into others. 0, or -1. */
static int load_visits_before(cw_redis *r, const char *key, const char *caregiver_id,
                              int64_t in_at, visit_interval *own, visit_interval *others,
                              size_t max, split_count *n)
{
    static redisReply *visits[MAX_CANDIDATES];
    redisReply *reply = caregiver_members(r, "cw:ov:visits:", key, in_at, in_at, 0);
    if (reply == NULL)
        return -1;
    size_t asked = reply->elements < max ? reply->elements : max;
    if (hmget_members(r, "cw:ov:visit:", reply, asked, visit_fields, VISIT_FIELD_COUNT,
                      visits) != 0) {
        freeReplyObject(reply);
        return -1;
    }
    int rc = 0;
    n->own = n->others = 0;
    for (size_t i = 0; i < asked && rc == 0; i++) {
        visit_interval v;
        char cg[CW_ID_MAX];
        int got = visit_from_reply(visits[i], reply->element[i]->str, &v, NULL, 0, cg,
                                   sizeof(cg));
        if (got < 0)
            rc = -1;
        else if (got > 0 && (cg[0] == '\0' || strcmp(cg, caregiver_id) == 0))
            own[n->own++] = v;
        else if (got > 0)
            others[n->others++] = v;
    }
    free_replies(visits, asked);
    freeReplyObject(reply);
    return rc;
}

/* The visit rules of one check-in: VISIT_OVERLAP over the caregiver's own
 * visits, CROSS_PROVIDER_OVERLAP over the person's other registrations'. */
#define VISIT_RULES 2
static const char *const visit_rules[VISIT_RULES] = {"VISIT_OVERLAP", "CROSS_PROVIDER_OVERLAP"};

/* Both visit rules of x over the visits known now, with the other order. */
static int judge_visit_rules(overlap_ctx *o, const visit_interval *x, const char *key,
                             const char *caregiver_id, memo m[VISIT_RULES])
{
    static visit_interval own[MAX_CANDIDATES], others[MAX_CANDIDATES];
    split_count n;
    if (load_visits_before(o->ck->redis, key, caregiver_id, x->in_at, own, others,
                           MAX_CANDIDATES, &n) != 0)
        return -1;
    const visit_interval *lists[VISIT_RULES] = {own, others};
    const size_t counts[VISIT_RULES] = {n.own, n.others};
    for (int r = 0; r < VISIT_RULES; r++) {
        long other;
        memset(&m[r], 0, sizeof(m[r]));
        m[r].v = rule_visit_overlap(lists[r], counts[r], x, o->open_max_ms, &other);
        if (other >= 0)
            snprintf(m[r].other, sizeof(m[r].other), "%s", lists[r][other].order_id);
    }
    return 0;
}

/* Emits one visit rule's verdict; a red one freezes the caregiver, once per
 * event (*froze), and only from the record or timer that settled it. */
static int emit_visit_rule(overlap_ctx *o, const char *rule, memo *m, int same_origin,
                           const char *in_event, const char *order_id, const char *caregiver_id,
                           int64_t in_at, cw_outbox *out, int *froze)
{
    m->v.has_threshold = 1;
    m->v.threshold = 0;
    m->v.unit = "min";
    if (cw_check_emit_verdict(out, SERVICE, in_event, rule, &m->v, order_id, caregiver_id,
                              in_event, in_at) != 0)
        return -1;
    if (m->v.outcome != CW_OUTCOME_RED || *froze)
        return 0;
    *froze = 1;
    return same_origin ? freeze(o, caregiver_id, rule, order_id, in_at, out) : 0;
}

/* A check-in while another visit of the caregiver (or of another
 * registration of the same person) is open is an overlap already:
 * VISIT_OVERLAP / CROSS_PROVIDER_OVERLAP red (and the freeze) now, not once
 * the watermark has passed it, so the caregiver's next events are judged
 * frozen whatever the speed of the stream. A rule not red now is judged
 * again by a timer at the check-in time, once every visit that started
 * before it is known. What was decided here is kept (<check_id>:in), so a
 * replay decides the same. */
static int check_in_overlap(overlap_ctx *o, const cw_stream_msg *msg, const char *event_id,
                            const char *order_id, const char *key, const char *caregiver_id,
                            cw_outbox *out, int *red_now)
{
    *red_now = 0;
    visit_interval x;
    char in_event[CW_ID_MAX];
    if (load_visit(o->ck->redis, order_id, &x, in_event, sizeof(in_event)) < 0)
        return -1;
    if (strcmp(in_event, event_id) != 0)
        return 0; /* a second check-in of the order: the first one is judged */

    char visits[CW_KEY_MAX], sin[24];
    snprintf(visits, sizeof(visits), "cw:ov:visits:%s", key);
    snprintf(sin, sizeof(sin), "%" PRId64, x.in_at);
    const char *zadd[] = {"ZADD", visits, sin, order_id};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 4, zadd);
    if (cw_redis_batch_exec(o->ck->redis, &b) != 0)
        return -1;

    memo m[VISIT_RULES];
    char check_ids[VISIT_RULES][200], origin[ORIGIN_MAX];
    int same_origin[VISIT_RULES], waiting = 0, settled_here = 0;
    if (judge_visit_rules(o, &x, key, caregiver_id, m) != 0)
        return -1;
    origin_of_message(msg, origin, sizeof(origin));
    for (int r = 0; r < VISIT_RULES; r++)
        snprintf(check_ids[r], sizeof(check_ids[r]), "%s:%s:in", event_id, visit_rules[r]);
    if (memo_settle_many(o->ck->redis, VISIT_RULES, check_ids, m, origin, same_origin) != 0)
        return -1;
    for (int r = 0; r < VISIT_RULES; r++) {
        settled_here |= same_origin[r];
        if (m[r].v.outcome != CW_OUTCOME_RED) {
            waiting = 1;
            continue;
        }
        if (emit_visit_rule(o, visit_rules[r], &m[r], same_origin[r], event_id, order_id,
                            caregiver_id, x.in_at, out, red_now) != 0)
            return -1;
    }
    if (!waiting || !settled_here)
        return 0; /* all decided, or a duplicate further down the stream: the timer is set */

    char member[CW_KEY_MAX];
    snprintf(member, sizeof(member), "VISIT_OVERLAP|%s", order_id);
    cw_checker_add_timer(o->ck, &b, msg->partition, x.in_at, member);
    return cw_redis_batch_exec(o->ck->redis, &b);
}

#define MAX_ELDER_PERIODS 256

/* ELDER_UNAVAILABLE of a check-in, with the periods received by its
 * receipt; kept like the other verdicts. A red one freezes the caregiver
 * unless this check-in froze it already (VISIT_OVERLAP). */
static int judge_elder_unavailable(overlap_ctx *o, const char *event_id, const char *order_id,
                                   const char *caregiver_id, const char *elder_id, int64_t at,
                                   int64_t received, const char *origin, int frozen_now,
                                   cw_outbox *out)
{
    static cw_elder_period periods[MAX_ELDER_PERIODS];
    long n = cw_state_load_elder_periods(o->ck->redis, elder_id, periods, MAX_ELDER_PERIODS);
    if (n < 0)
        return -1;
    memo m;
    memset(&m, 0, sizeof(m));
    m.v = rule_elder_unavailable(cw_elder_status_at(periods, (size_t)n, at, received));
    char check_id[200];
    int same_origin;
    snprintf(check_id, sizeof(check_id), "%s:ELDER_UNAVAILABLE", event_id);
    if (memo_settle(o->ck->redis, check_id, &m, origin, &same_origin) != 0)
        return -1;
    m.v.has_threshold = 1;
    m.v.unit = "";
    if (cw_check_emit_verdict(out, SERVICE, event_id, "ELDER_UNAVAILABLE", &m.v, order_id,
                              caregiver_id, event_id, at) != 0)
        return -1;
    if (m.v.outcome == CW_OUTCOME_RED && same_origin && !frozen_now &&
        freeze(o, caregiver_id, "ELDER_UNAVAILABLE", order_id, at, out) != 0)
        return -1;
    return 0;
}

static int handle_visit(overlap_ctx *o, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                        size_t len)
{
    const char *event_id, *kind, *order_id, *caregiver_id;
    int64_t at, received;
    if (cw_av_get_str(msg->value, "event_id", &event_id) ||
        cw_av_get_enum(msg->value, "kind", &kind) ||
        cw_av_get_str(msg->value, "order_id", &order_id) ||
        cw_av_get_str(msg->value, "caregiver_id", &caregiver_id) ||
        cw_av_get_long(msg->value, "at", &at) ||
        cw_av_get_long(msg->value, "received_at", &received)) {
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
    char key[CW_KEY_MAX], sat[24];
    snprintf(key, sizeof(key), "cw:ov:visit:%s", order_id);
    snprintf(sat, sizeof(sat), "%" PRId64, at);
    const char *set_at[] = {"HSETNX", key, is_in ? "in_at" : "out_at", sat};
    const char *set_event[] = {"HSETNX", key, is_in ? "in_event" : "out_event", event_id};
    const char *set_cg[] = {"HSETNX", key, "cg", order.caregiver_id};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 4, set_at);
    cw_redis_batch_add(&b, 4, set_event);
    cw_redis_batch_add(&b, 4, set_cg);
    if (cw_checker_exec_with_clock(o->ck, &b, msg->partition, at) != 0)
        return CW_RETRY;
    /* Judged frozen before this event's own verdicts may freeze: the event
     * that causes a freeze is not FROZEN_CAREGIVER itself. */
    char origin[ORIGIN_MAX];
    origin_of_message(msg, origin, sizeof(origin));
    if (judge_frozen(o, event_id, order_id, caregiver_id, at, origin, out) != 0)
        return CW_RETRY;
    int red_now = 0;
    if (is_in && (check_in_overlap(o, msg, event_id, order_id, cw_order_stream_key(&order),
                                   caregiver_id, out, &red_now) != 0 ||
                  judge_elder_unavailable(o, event_id, order_id, caregiver_id, order.elder_id, at,
                                          received, origin, red_now, out) != 0))
        return CW_RETRY;
    return CW_OK;
}

/* An admin's unfreeze, at its place in the caregiver's stream: every event
 * before it was judged with the caregiver frozen, every event after it is
 * judged active. Published on caregiver.status as it came. */
static int handle_status(overlap_ctx *o, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                         size_t len)
{
    const char *caregiver_id, *status, *why;
    int64_t at;
    char err[256];
    if (cw_av_get_str(msg->value, "caregiver_id", &caregiver_id) ||
        cw_av_get_enum(msg->value, "status", &status) ||
        cw_av_get_str(msg->value, "reason", &why) || cw_av_get_long(msg->value, "at", &at)) {
        snprintf(reason, len, "CaregiverStatusChanged lacks a field");
        return CW_REJECT;
    }
    if (strcmp(status, "ACTIVE") != 0) {
        snprintf(reason, len, "only an unfreeze (ACTIVE) may come on %s", msg->topic);
        return CW_REJECT;
    }
    char key[CW_KEY_MAX], sat[24];
    snprintf(key, sizeof(key), CW_KEY_CGSTATE, caregiver_id);
    snprintf(sat, sizeof(sat), "%" PRId64, at);
    const char *argv[] = {"HSET", key, "status", status_after(CG_UNFREEZE), "reason", why,
                          "order_id", "", "at", sat};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 10, argv);
    if (cw_redis_batch_exec(o->ck->redis, &b) != 0)
        return CW_RETRY;
    if (cw_outbox_add_avro(out, CW_TOPIC_CAREGIVER_STATUS, caregiver_id, msg->value, msg->schema, err,
                           sizeof(err)) != 0)
        return CW_RETRY;
    cw_log_info("caregiver unfrozen", "caregiver_id", caregiver_id, "reason", why, NULL);
    return CW_OK;
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
    if (strcmp(name, "CaregiverStatusChanged") == 0 && strcmp(msg->topic, CW_TOPIC_VISIT_EVENTS) == 0)
        return handle_status(o, msg, out, reason, len);
    if (strcmp(name, "Evidence") == 0)
        return CW_OK;
    snprintf(reason, len, "unexpected %s record on %s", name, msg->topic);
    return CW_REJECT;
}

/* VISIT_OVERLAP of a check-in that had no open visit beside it when it was
 * processed, fired once the watermark passed it: every visit that started
 * before it is known now. The verdict is kept, so a timer fired again after
 * a crash repeats it. */
static int fire(void *user_data, const char *member, int64_t due, cw_outbox *out)
{
    overlap_ctx *o = user_data;
    const char *order_id = strchr(member, '|');
    if (order_id == NULL)
        return CW_OK;
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
        return CW_OK;
    }
    memo m[VISIT_RULES];
    char check_id[200], origin[ORIGIN_MAX];
    if (judge_visit_rules(o, &x, cw_order_stream_key(&order), order.caregiver_id, m) != 0)
        return CW_RETRY;
    snprintf(origin, sizeof(origin), "timer:%s", member);
    int froze = 0;
    for (int r = 0; r < VISIT_RULES; r++) {
        /* Red at the check-in: emitted then, not judged again. */
        snprintf(check_id, sizeof(check_id), "%s:%s:in", in_event, visit_rules[r]);
        int red_at_check_in = memo_is_red(o->ck->redis, check_id);
        if (red_at_check_in < 0)
            return CW_RETRY;
        if (red_at_check_in) {
            froze = 1;
            continue;
        }
        int same_origin;
        snprintf(check_id, sizeof(check_id), "%s:%s", in_event, visit_rules[r]);
        if (memo_settle(o->ck->redis, check_id, &m[r], origin, &same_origin) != 0 ||
            emit_visit_rule(o, visit_rules[r], &m[r], same_origin, in_event, order_id,
                            order.caregiver_id, due, out, &froze) != 0)
            return CW_RETRY;
    }
    return CW_OK;
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
    o->certified_types =
        cw_config_list(ck->cfg, "rules.certified_service_types", &o->certified_type_count);
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
    static const char *const topics[] = {CW_TOPIC_VISIT_EVENTS, NULL};
    static const char *const bootstrap[] = {CW_TOPIC_ORDERS_ASSIGNED, CW_TOPIC_ELDER_STATUS, NULL};
    static const cw_cfg_spec *const specs[] = {overlap_config_spec, NULL};
    const cw_checker_def def = {.name = SERVICE,
                                .topics = topics,
                                .bootstrap_topics = bootstrap,
                                .specs = specs,
                                .setup = overlap_setup,
                                .teardown = overlap_teardown};
    return cw_checker_main(&def, argc, argv);
}
