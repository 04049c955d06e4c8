/* Orders and their visits: POST /v1/orders, /v1/visits/check-in,
 * /v1/visits/check-out and /v1/visits/evidence. An order's assignment goes
 * to orders.assigned and, ahead of its events, to its caregiver's stream
 * on visit.events; a visit event goes there with its intake checks on
 * visit.checks (intake_rules.h). Everything a caregiver does is keyed by
 * the caregiver's stream key (the person, when the caregiver has one:
 * cw_order_stream_key), so one person's stream stays in one partition. */
#include <string.h>

#include "ingest/auth.h"
#include "ingest/handlers.h"
#include "ingest/requests.h"
#include "log.h"
#include "reference_store.h"
#include "topics.h"

/* The key of the order's records on visit.events: the person when the
 * caregiver has one (cw_order_stream_key). */
static const char *stream_key(const ingest_order_row *row)
{
    return row->person_id[0] ? row->person_id : row->caregiver_id;
}

/* An order the role may act on. Another provider's order answers exactly
 * as a missing one: a provider learns nothing of orders not its own. */
static int load_own_order(ingest_call *call, const cw_role *role, const char *order_id,
                          ingest_order_row *row, api_error *err)
{
    ingest_lookup found = ingest_store_order(call, order_id, row);
    if (found == INGEST_UNAVAILABLE)
        return ingest_unavailable(err, "Redis");
    if (found == INGEST_MISSING || !ingest_may_act_for_provider(role, row->provider_id))
        return ingest_fail(err, 404, "unknown_order", "order_id", "order %s is not known",
                           order_id);
    return 0;
}

/* Rights follow the caregiver: once a caregiver works for another provider,
 * the old provider's key may no longer check them in or out (the order is
 * to be reassigned). */
static int check_caregiver_current(ingest_call *call, const cw_role *role,
                                   const char *caregiver_id, api_error *err)
{
    if (role->kind != CW_ROLE_PROVIDER)
        return 0;
    ingest_caregiver_row caregiver;
    ingest_lookup found = ingest_store_caregiver(call, caregiver_id, &caregiver);
    if (found == INGEST_UNAVAILABLE)
        return ingest_unavailable(err, "Redis");
    if (found == INGEST_FOUND && strcmp(caregiver.provider_id, role->provider_id) == 0)
        return 0;
    return ingest_fail(err, 403, "caregiver_moved", "caregiver_id",
                       "caregiver %s no longer works for provider %s: reassign the order",
                       caregiver_id, role->provider_id);
}

/* ---- orders --------------------------------------------------------------- */

int ingest_submit_order(ingest_call *call, json_t *body, const char *hash, const cw_role *role,
                        ingest_outcome *out, api_error *err)
{
    order_req r;
    ingest_caregiver_row caregiver;
    char street[INGEST_FIELD_MAX], e[256];
    if (ingest_parse_order(body, &r, err) ||
        ingest_check_namespace(role, "order_id", r.order_id, err))
        return -1;
    ingest_lookup found = ingest_store_elder_street(call, r.elder_id, street);
    if (found == INGEST_UNAVAILABLE)
        return ingest_unavailable(err, "Redis");
    if (found == INGEST_MISSING)
        return ingest_fail(err, 422, "unknown_elder", "elder_id", "elder %s is not registered",
                           r.elder_id);
    found = ingest_store_caregiver(call, r.caregiver_id, &caregiver);
    if (found == INGEST_UNAVAILABLE)
        return ingest_unavailable(err, "Redis");
    /* Another provider's caregiver answers as an unknown one. */
    if (found == INGEST_MISSING || !ingest_may_act_for_provider(role, caregiver.provider_id))
        return ingest_fail(err, 422, "unknown_caregiver", "caregiver_id",
                           "caregiver %s is not registered", r.caregiver_id);
    if (ingest_check_contract_cover(call, role, r.scheduled_start_ms, r.elder_id, street, err))
        return -1;
    idem_step step = ingest_resolve_idempotency(call, "order", r.order_id, hash, 0, out, err);
    if (step != IDEM_GO_ON)
        return step == IDEM_ANSWERED ? 0 : -1;
    /* An order a change has revised (its idempotency mark lost with Redis,
     * the order rebuilt at its latest revision) is not assigned anew: that
     * would undo the change. */
    int revision;
    found = ingest_store_order_revision(call, r.order_id, &revision);
    if (found == INGEST_UNAVAILABLE)
        return ingest_unavailable(err, "Redis");
    if (found == INGEST_FOUND && revision > 0)
        return ingest_fail(err, 409, "order_changed", "order_id",
                           "order %s was changed (revision %d): its assignment is not posted "
                           "again",
                           r.order_id, revision);
    const char *person = caregiver.person_id[0] ? caregiver.person_id : NULL;
    cw_order_assigned order = ingest_order_record(&r, caregiver.provider_id, caregiver.certified,
                                                  person, call->ctx->now_ms());
    encoded_record rec;
    if (ingest_encode_order(&order, &rec, e, sizeof(e)))
        return ingest_encoding_failed(err, e);
    /* Also into the caregiver's partition of visit.events: the
     * overlap-detector reads assignments and visit events there as one
     * stream in posting order, so a freeze that an assignment causes
     * precedes exactly the events posted after it. Keyed by the person
     * (cw_order_stream_key): one partition holds every registration of one
     * person, so their overlaps are judged in order. */
    ingest_outbox box = {0};
    ingest_outbox_add(&box, CW_TOPIC_ORDERS_ASSIGNED, person ? person : r.caregiver_id, rec);
    ingest_outbox_copy(&box, 0, CW_TOPIC_VISIT_EVENTS, NULL);
    /* Revision 0, not cancelled (docs/maintenance.md). */
    cw_redis_batch b = {0};
    int written = cw_state_write_order(&b, &order);
    return ingest_publish(call, &box, written, &b, "order", r.order_id, hash, err);
}

/* ---- visit events ------------------------------------------------------- */

/* An event's receipt time, then its idempotency (ingest_resolve_idempotency):
 * IDEM_FAILED with err when the time is refused. */
static idem_step receive_event(ingest_call *call, int64_t at_ms, const char *event_id,
                               const char *hash, int64_t *received, ingest_outcome *out,
                               api_error *err)
{
    if (ingest_receipt_time(call, at_ms, received, err))
        return IDEM_FAILED;
    return ingest_resolve_idempotency(call, "event", event_id, hash, 0, out, err);
}

static int add_intake_check(ingest_outbox *box, const intake_verdict *v, const visit_req *r,
                            int64_t received, api_error *err)
{
    encoded_record rec;
    char e[256];
    if (ingest_encode_intake_check(v, r->order_id, r->caregiver_id, r->event_id, r->at_ms,
                                   received, &rec, e, sizeof(e)))
        return ingest_encoding_failed(err, e);
    ingest_outbox_add(box, CW_TOPIC_VISIT_CHECKS, r->order_id, rec);
    return 0;
}

/* The event and its intake checks. */
static int build_visit_records(ingest_call *call, const visit_req *r,
                               const ingest_order_row *order, int64_t received,
                               ingest_outbox *box, api_error *err)
{
    const intake_thresholds *t = &call->ctx->thresholds;
    char holder[INGEST_FIELD_MAX] = "", e[256];
    if (r->has_photo &&
        ingest_store_claim_photo(call, r->photo_sha256, r->order_id, holder) != 0)
        return ingest_unavailable(err, "Redis");
    intake_verdict checks[4];
    int nchecks = 3;
    /* Historical imports: receipt time means nothing, so the event counts
     * as received at its own time. */
    checks[0] = ingest_rule_late_submission(
        r->at_ms, t->late_submission_enabled ? received : r->at_ms, t);
    checks[1] = r->kind == CW_VISIT_KIND_CHECK_IN ? ingest_rule_face_match(r->has_score, r->score,
                                                                           t)
                                                  : ingest_rule_voiceprint(r->has_score, r->score,
                                                                           t);
    checks[2] = ingest_rule_photo_reuse(r->order_id, r->has_photo ? holder : NULL);
    if (r->kind == CW_VISIT_KIND_CHECK_OUT)
        checks[nchecks++] = ingest_rule_service_items(order->service_type, r->items, r->item_count);
    order_refs refs = {order->provider_id, order->elder_id, order->caregiver_id};
    cw_visit_event event = ingest_visit_record(r, &refs, received);
    encoded_record rec;
    if (ingest_encode_visit(&event, &rec, e, sizeof(e)))
        return ingest_encoding_failed(err, e);
    ingest_outbox_add(box, CW_TOPIC_VISIT_EVENTS, stream_key(order), rec);
    for (int i = 0; i < nchecks; i++)
        if (add_intake_check(box, &checks[i], r, received, err))
            return -1;
    return 0;
}

int ingest_submit_visit(ingest_call *call, cw_visit_kind kind, json_t *body, const char *hash,
                        const cw_role *role, ingest_outcome *out, api_error *err)
{
    visit_req r;
    ingest_order_row order;
    if (ingest_parse_visit(body, kind, &r, err) ||
        ingest_check_namespace(role, "event_id", r.event_id, err) ||
        load_own_order(call, role, r.order_id, &order, err))
        return -1;
    if (strcmp(order.caregiver_id, r.caregiver_id) != 0)
        return ingest_fail(err, 422, "caregiver_mismatch", "caregiver_id",
                           "order %s is assigned to another caregiver", r.order_id);
    if (check_caregiver_current(call, role, r.caregiver_id, err))
        return -1;
    int64_t received;
    idem_step step = receive_event(call, r.at_ms, r.event_id, hash, &received, out, err);
    if (step != IDEM_GO_ON)
        return step == IDEM_ANSWERED ? 0 : -1;
    if (strcmp(order.status, "CANCELLED") == 0)
        return ingest_fail(err, 409, "order_cancelled", "order_id",
                           "order %s was cancelled: no visit is taken for it", r.order_id);
    ingest_outbox box = {0};
    if (build_visit_records(call, &r, &order, received, &box, err)) {
        ingest_outbox_free(&box);
        return -1;
    }
    cw_redis_batch b = {0};
    ingest_store_advance_clock(call, &b, r.at_ms);
    if (kind == CW_VISIT_KIND_CHECK_IN)
        ingest_store_mark_visited(&b, r.order_id, r.event_id);
    cw_log_debug("visit accepted", "kind",
                 kind == CW_VISIT_KIND_CHECK_IN ? "check-in" : "check-out", "event_id",
                 r.event_id, NULL);
    return ingest_publish(call, &box, 0, &b, "event", r.event_id, hash, err);
}

int ingest_submit_evidence(ingest_call *call, json_t *body, const char *hash,
                           const cw_role *role, ingest_outcome *out, api_error *err)
{
    evidence_req r;
    ingest_order_row order;
    char e[256];
    if (ingest_parse_evidence(body, &r, err) ||
        ingest_check_namespace(role, "event_id", r.event_id, err) ||
        load_own_order(call, role, r.order_id, &order, err) ||
        check_caregiver_current(call, role, order.caregiver_id, err))
        return -1;
    int64_t received;
    idem_step step = receive_event(call, r.at_ms, r.event_id, hash, &received, out, err);
    if (step != IDEM_GO_ON)
        return step == IDEM_ANSWERED ? 0 : -1;
    /* Each hash is claimed as check-in photos are, among evidence: the first
     * order whose evidence shows it keeps it, and evidence showing another
     * order's cures nothing. */
    char holders[2][INGEST_FIELD_MAX];
    if (ingest_store_claim_evidence(call, r.watermark_photo_sha256, r.elder_recording_sha256,
                                    r.order_id, holders) != 0)
        return ingest_unavailable(err, "Redis");
    const char *reused_from = strcmp(holders[0], r.order_id) != 0   ? holders[0]
                              : strcmp(holders[1], r.order_id) != 0 ? holders[1]
                                                                    : NULL;
    intake_verdict reuse = ingest_rule_evidence_reuse(reused_from);
    order_refs refs = {order.provider_id, order.elder_id, order.caregiver_id};
    cw_evidence evidence = ingest_evidence_record(&r, &refs, received, reused_from);
    encoded_record rec, check;
    if (ingest_encode_evidence(&evidence, &rec, e, sizeof(e)))
        return ingest_encoding_failed(err, e);
    ingest_outbox box = {0};
    ingest_outbox_add(&box, CW_TOPIC_VISIT_EVENTS, stream_key(&order), rec);
    if (ingest_encode_intake_check(&reuse, r.order_id, order.caregiver_id, r.event_id, r.at_ms,
                                   received, &check, e, sizeof(e))) {
        ingest_outbox_free(&box);
        return ingest_encoding_failed(err, e);
    }
    ingest_outbox_add(&box, CW_TOPIC_VISIT_CHECKS, r.order_id, check);
    cw_redis_batch b = {0};
    ingest_store_advance_clock(call, &b, r.at_ms);
    return ingest_publish(call, &box, 0, &b, "event", r.event_id, hash, err);
}
