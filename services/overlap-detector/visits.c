/* Check-ins and check-outs: FROZEN_CAREGIVER for each, and for a check-in
 * its visit rules (VISIT_OVERLAP over the caregiver's own visits,
 * CROSS_PROVIDER_OVERLAP over the person's other registrations') and
 * ELDER_UNAVAILABLE; and the timers that judge a check-in's visit rules
 * once the watermark has passed it. Round trips of a check-in: what it is
 * judged with; the event recorded with FROZEN_CAREGIVER settled and the
 * stream's visits and the elder's periods read (and the visits' intervals);
 * its verdicts settled; the freeze, the timer and the event clock. */
#include <stdio.h>
#include <string.h>

#include "avro_records.h"
#include "elder_status.h"
#include "log.h"
#include "overlap-detector/elder_rules.h"
#include "overlap-detector/overlap_detector.h"
#include "overlap-detector/overlap_records.h"

#define VISIT_RULES 2
static const char *const visit_rules[VISIT_RULES] = {"VISIT_OVERLAP", "CROSS_PROVIDER_OVERLAP"};

/* Both visit rules of x over the visits known now (o->visits), with the
 * other order. */
static void judge_visit_rules(const overlap_ctx *o, const overlap_visit *x,
                              overlap_memo m[VISIT_RULES])
{
    const overlap_visit *lists[VISIT_RULES] = {o->visits.own, o->visits.others};
    const size_t counts[VISIT_RULES] = {o->visits.n_own, o->visits.n_others};
    for (int r = 0; r < VISIT_RULES; r++) {
        long other;
        memset(&m[r], 0, sizeof(m[r]));
        m[r].v = overlap_rule_visit(lists[r], counts[r], x, o->open_max_ms, &other);
        if (other >= 0)
            snprintf(m[r].other, sizeof(m[r].other), "%s", lists[r][other].order_id);
    }
}

/* Emits one visit rule's verdict; a red one freezes the caregiver (into b
 * and out), once per event (*froze), and only from the record or timer
 * that settled it. 0 or -1. */
static int emit_visit_rule(cw_redis_batch *b, const char *rule, const overlap_settle *s,
                           const char *in_event, const char *order_id, const char *caregiver_id,
                           int64_t in_at, cw_outbox *out, int *froze)
{
    if (overlap_emit_verdict(out, in_event, rule, &s->memo.v, order_id, caregiver_id, in_event,
                             in_at) != 0)
        return -1;
    if (s->memo.v.outcome != CW_OUTCOME_RED || *froze)
        return 0;
    *froze = 1;
    return s->same_origin ? overlap_freeze(b, out, caregiver_id, rule, order_id, in_at) : 0;
}

/* A check-in's verdicts over what the store read (reads), their writes into
 * b. A visit rule red now (another visit is open: an overlap already) is
 * emitted, and freezes, at once, so the caregiver's next events are judged
 * frozen whatever the speed of the stream; one not red now is judged again
 * by a timer at the check-in time, once every visit that started before it
 * is known. What was decided here is kept (<check_id>:in), so a replay
 * decides the same. Only the visit's first check-in (judged_in) has visit
 * rules. ELDER_UNAVAILABLE is judged with the periods received by the
 * check-in's receipt; a red one freezes unless a visit rule did. 0 or -1. */
static int judge_check_in(overlap_ctx *o, int partition, const cw_visit_event *ev,
                          const overlap_visit *x, int judged_in,
                          const overlap_event_reads *reads, const char *origin,
                          cw_redis_batch *b, cw_outbox *out)
{
    overlap_settle s[VISIT_RULES + 1];
    overlap_memo m[VISIT_RULES];
    size_t n = 0;
    memset(s, 0, sizeof(s));
    if (judged_in) {
        judge_visit_rules(o, x, m);
        for (n = 0; n < VISIT_RULES; n++) {
            s[n].memo = m[n];
            snprintf(s[n].check_id, sizeof(s[n].check_id), "%s:%s:in", ev->event_id,
                     visit_rules[n]);
        }
    }
    overlap_settle *elder = &s[n++];
    elder->memo.v = overlap_rule_elder_unavailable(
        cw_elder_status_at(reads->periods, reads->n, ev->at, ev->received_at));
    snprintf(elder->check_id, sizeof(elder->check_id), "%s:ELDER_UNAVAILABLE", ev->event_id);
    if (overlap_store_settle(o->ck->redis, NULL, s, n, origin) != 0)
        return -1;

    int froze = 0, waiting = 0, settled_here = 0;
    for (size_t r = 0; r + 1 < n; r++) {
        settled_here |= s[r].same_origin;
        if (s[r].memo.v.outcome != CW_OUTCOME_RED) {
            waiting = 1;
            continue;
        }
        if (emit_visit_rule(b, visit_rules[r], &s[r], ev->event_id, ev->order_id,
                            ev->caregiver_id, x->in_at, out, &froze) != 0)
            return -1;
    }
    /* A duplicate further down the stream settled nothing: its timer is set. */
    if (waiting && settled_here &&
        overlap_store_add_timer(o->ck, b, partition, x->in_at, ev->order_id) != 0)
        return -1;
    if (overlap_emit_verdict(out, ev->event_id, "ELDER_UNAVAILABLE", &elder->memo.v, ev->order_id,
                             ev->caregiver_id, ev->event_id, ev->at) != 0)
        return -1;
    if (elder->memo.v.outcome == CW_OUTCOME_RED && elder->same_origin && !froze)
        return overlap_freeze(b, out, ev->caregiver_id, "ELDER_UNAVAILABLE", ev->order_id, ev->at);
    return 0;
}

static cw_result judge_event(overlap_ctx *o, const cw_stream_msg *msg, const cw_visit_event *ev,
                             cw_outbox *out, char *reason, size_t len)
{
    cw_redis *r = o->ck->redis;
    int is_in = ev->kind == CW_VISIT_KIND_CHECK_IN;
    overlap_event_state st;
    if (overlap_store_load_event(r, ev->order_id, ev->caregiver_id, is_in, &st) != 0)
        return CW_RETRY;
    if (!st.order_found) {
        snprintf(reason, len, "unknown order %s", ev->order_id);
        return CW_REJECT;
    }
    overlap_visit_row x = st.visit;
    int judged_in = is_in && overlap_visit_check_in(&x, ev->at, ev->event_id);
    overlap_event e = {.order_id = ev->order_id,
                       .event_id = ev->event_id,
                       .order_caregiver = st.order.caregiver_id,
                       .check_in = is_in,
                       .at = ev->at};
    overlap_event_reads reads = {.stream = cw_order_stream_key(&st.order),
                                 .caregiver_id = ev->caregiver_id,
                                 .in_at = x.v.in_at,
                                 .visits = judged_in ? &o->visits : NULL,
                                 .elder_id = st.order.elder_id,
                                 .periods = is_in ? o->periods : NULL,
                                 .max = OVERLAP_MAX_ELDER_PERIODS};
    /* Judged frozen before this event's own verdicts may freeze: the event
     * that causes a freeze is not FROZEN_CAREGIVER itself. */
    overlap_settle frozen;
    memset(&frozen, 0, sizeof(frozen));
    frozen.memo.v = overlap_caregiver_step(&st.frozen, OVERLAP_CG_VISIT_EVENT);
    snprintf(frozen.check_id, sizeof(frozen.check_id), "%s:FROZEN_CAREGIVER", ev->event_id);
    char origin[OVERLAP_ORIGIN_MAX];
    overlap_origin_of_record(msg->topic, msg->partition, msg->offset, origin, sizeof(origin));
    if (overlap_store_record_event(r, &e, &frozen, origin, &reads) != 0 ||
        overlap_emit_verdict(out, ev->event_id, "FROZEN_CAREGIVER", &frozen.memo.v, ev->order_id,
                             ev->caregiver_id, ev->event_id, ev->at) != 0)
        return CW_RETRY;
    cw_redis_batch b = {0};
    if (is_in &&
        judge_check_in(o, msg->partition, ev, &x.v, judged_in, &reads, origin, &b, out) != 0) {
        cw_redis_batch_clear(&b);
        return CW_RETRY;
    }
    return overlap_store_write_with_clock(o->ck, &b, msg->partition, ev->at) == 0 ? CW_OK
                                                                                   : CW_RETRY;
}

cw_result overlap_handle_visit(overlap_ctx *o, const cw_stream_msg *msg, cw_outbox *out,
                               char *reason, size_t len)
{
    cw_visit_event ev;
    if (cw_visit_event_read(msg->value, &ev) != 0) {
        snprintf(reason, len, "VisitEvent lacks a field");
        return CW_REJECT;
    }
    cw_result rc = judge_event(o, msg, &ev, out, reason, len);
    cw_visit_event_release(&ev);
    return rc;
}

/* VISIT_OVERLAP (and CROSS_PROVIDER_OVERLAP) of a check-in that had no open
 * visit beside it when it was processed, fired once the watermark passed
 * it: every visit that started before it is known now. A rule red at the
 * check-in was emitted then and is not judged again. The verdicts are
 * kept, so a timer fired again after a crash repeats them. */
int overlap_on_timer(void *ctx, const char *member, int64_t due, cw_outbox *out)
{
    overlap_ctx *o = ctx;
    cw_redis *r = o->ck->redis;
    const char *order_id = overlap_store_timer_order(member);
    if (order_id == NULL)
        return CW_OK;
    overlap_visit_row x;
    cw_order_state order;
    int have_visit, have_order;
    if (overlap_store_load_timer(r, order_id, &x, &have_visit, &order, &have_order) != 0)
        return CW_RETRY;
    if (!have_visit || !have_order) {
        cw_log_warn("timer without its visit dropped", "timer", member, NULL);
        return CW_OK;
    }
    char in_ids[VISIT_RULES][OVERLAP_CHECK_ID_MAX];
    const char *in_id[VISIT_RULES];
    int red_at_check_in[VISIT_RULES];
    for (int i = 0; i < VISIT_RULES; i++) {
        snprintf(in_ids[i], sizeof(in_ids[i]), "%s:%s:in", x.in_event, visit_rules[i]);
        in_id[i] = in_ids[i];
    }
    if (overlap_store_timer_visits(r, cw_order_stream_key(&order), order.caregiver_id, x.v.in_at,
                                   &o->visits, in_id, VISIT_RULES, red_at_check_in) != 0)
        return CW_RETRY;
    overlap_memo m[VISIT_RULES];
    overlap_settle s[VISIT_RULES];
    size_t n = 0;
    judge_visit_rules(o, &x.v, m);
    for (int i = 0; i < VISIT_RULES; i++) {
        if (red_at_check_in[i])
            continue;
        s[n].memo = m[i];
        snprintf(s[n].check_id, sizeof(s[n].check_id), "%s:%s", x.in_event, visit_rules[i]);
        n++;
    }
    char origin[OVERLAP_ORIGIN_MAX];
    overlap_origin_of_timer(member, origin, sizeof(origin));
    if (n > 0 && overlap_store_settle(r, NULL, s, n, origin) != 0)
        return CW_RETRY;
    cw_redis_batch b = {0};
    int froze = 0;
    for (int i = 0, k = 0; i < VISIT_RULES; i++) {
        if (red_at_check_in[i]) {
            froze = 1;
            continue;
        }
        if (emit_visit_rule(&b, visit_rules[i], &s[k++], x.in_event, order_id, order.caregiver_id,
                            due, out, &froze) != 0) {
            cw_redis_batch_clear(&b);
            return CW_RETRY;
        }
    }
    return overlap_store_write(r, &b) == 0 ? CW_OK : CW_RETRY;
}
