/* An assignment's copy on visit.events, or a revision's
 * (cw_order_revision_copy): the partition that held the previous revision
 * drops the order from the stream's schedule (a cancel: from every
 * schedule); the partition of the new one judges it as if assigned so.
 * Round trips: the order's hash, the drop and the schedule's order ids;
 * their slots (and, for orders scheduled before slots were kept, their
 * hashes); the verdicts settled with the order's own slot; a freeze. */
#include <stdio.h>
#include <string.h>

#include "avro_records.h"
#include "order_revision.h"
#include "overlap-detector/assignment_rules.h"
#include "overlap-detector/overlap_detector.h"
#include "overlap-detector/overlap_records.h"

/* The rules of an assignment, in the order their verdicts are emitted; the
 * first red one names the freeze. */
#define ASSIGNMENT_RULES 3
static const char *const rules[ASSIGNMENT_RULES] = {"SCHEDULE_OVERLAP", "CROSS_PROVIDER_OVERLAP",
                                                    "UNCERTIFIED"};

/* An assignment as this stream schedules it: the original one, or a
 * revision that arrives here (docs/maintenance.md). */
typedef struct {
    const cw_order_assigned *rec;
    const char *stream; /* the person's (or the caregiver's) schedule */
    char subject[CW_SUBJECT_MAX]; /* of its verdicts: "<order_id>[@<revision>]" */
    int64_t end;
} assignment;

/* One overlap verdict of an assignment over candidates, with the other
 * order. */
static void judge_schedule_rule(const overlap_slot *candidates, size_t n,
                                const overlap_slot *added, overlap_memo *m)
{
    long other;
    m->v = overlap_rule_schedule(candidates, n, added, &other);
    if (other >= 0)
        snprintf(m->other, sizeof(m->other), "%s", candidates[other].order_id);
}

/* The assignment's rules over the stream's schedule, kept like every
 * verdict that depends on processing order, and the order into the
 * stream's schedule. b holds the writes to send first. The revision is in
 * the check ids: a revision is judged afresh, never given an earlier
 * revision's verdict. */
static cw_result judge(overlap_ctx *o, const cw_stream_msg *msg, const assignment *a,
                       cw_redis_batch *b, cw_outbox *out)
{
    const cw_order_assigned *rec = a->rec;
    cw_redis *r = o->ck->redis;
    overlap_schedule *sched = &o->schedule;
    if (overlap_store_schedule(r, b, a->stream, rec->caregiver_id, rec->scheduled_start, a->end,
                               sched) != 0)
        return CW_RETRY;
    overlap_slot added = {.start = rec->scheduled_start, .end = a->end};
    snprintf(added.order_id, sizeof(added.order_id), "%s", rec->order_id);
    overlap_settle s[ASSIGNMENT_RULES];
    memset(s, 0, sizeof(s));
    judge_schedule_rule(sched->own, sched->n_own, &added, &s[0].memo);
    judge_schedule_rule(sched->others, sched->n_others, &added, &s[1].memo);
    s[2].memo.v = overlap_rule_uncertified(rec->has_caregiver_certified, rec->caregiver_certified,
                                           rec->service_type, o->certified_types,
                                           o->certified_type_count);
    for (int i = 0; i < ASSIGNMENT_RULES; i++)
        snprintf(s[i].check_id, sizeof(s[i].check_id), "%s:%s", a->subject, rules[i]);
    char origin[OVERLAP_ORIGIN_MAX];
    overlap_origin_of_record(msg->topic, msg->partition, msg->offset, origin, sizeof(origin));
    if (overlap_store_add_slot(b, a->stream, rec->order_id, rec->scheduled_start, a->end,
                               rec->caregiver_id) != 0 ||
        overlap_store_settle(r, b, s, ASSIGNMENT_RULES, origin) != 0)
        return CW_RETRY;

    for (int i = 0; i < ASSIGNMENT_RULES; i++)
        if (overlap_emit_verdict(out, a->subject, rules[i], &s[i].memo.v, rec->order_id,
                                 rec->caregiver_id, NULL, rec->received_at) != 0)
            return CW_RETRY;
    /* One freeze for the assignment, named after its first red rule, and
     * only by the record that settled that verdict. */
    for (int i = 0; i < ASSIGNMENT_RULES; i++) {
        if (s[i].memo.v.outcome != CW_OUTCOME_RED)
            continue;
        if (s[i].same_origin &&
            (overlap_freeze(b, out, rec->caregiver_id, rules[i], rec->order_id,
                            rec->received_at) != 0 ||
             overlap_store_write(r, b) != 0))
            return CW_RETRY;
        break;
    }
    return CW_OK;
}

static cw_result assign(overlap_ctx *o, const cw_stream_msg *msg, const cw_order_assigned *rec,
                        cw_outbox *out, char *reason, size_t len)
{
    assignment a = {.rec = rec,
                    .end = rec->scheduled_start + (int64_t)rec->scheduled_minutes * 60000};
    cw_order_revision rev;
    cw_redis_batch b = {0};
    if (cw_order_revision_of(msg->value, &rev) != 0 ||
        cw_order_revision_subject(rec->order_id, rev.revision, a.subject, sizeof(a.subject)) != 0 ||
        overlap_store_add_order(&b, msg->value) != 0) {
        cw_redis_batch_clear(&b);
        snprintf(reason, len, "OrderAssigned lacks a field");
        return CW_REJECT;
    }
    /* Every registration of one person shares the person's schedule. */
    a.stream = rev.stream_key;
    cw_revision_copy copy = cw_order_revision_copy(&rev, msg->key);
    if (rev.revision > 0 && copy.leave)
        overlap_store_add_drop(&b, msg->key, rec->order_id);
    if (rev.revision > 0 && !copy.arrive)
        return overlap_store_write(o->ck->redis, &b) == 0 ? CW_OK : CW_RETRY;
    return judge(o, msg, &a, &b, out);
}

cw_result overlap_handle_assignment(overlap_ctx *o, const cw_stream_msg *msg, cw_outbox *out,
                                    char *reason, size_t len)
{
    cw_order_assigned rec;
    if (cw_order_assigned_read(msg->value, &rec) != 0) {
        snprintf(reason, len, "OrderAssigned lacks a field");
        return CW_REJECT;
    }
    cw_result rc = assign(o, msg, &rec, out, reason, len);
    cw_order_assigned_release(&rec);
    return rc;
}
