/* An order's maintenance (docs/maintenance.md): POST /v1/orders/{id}/cancel,
 * /reschedule, /reassign (the order's provider) and /approve-change (the
 * street office of the order's elder). When a change takes effect is
 * change_rules.h's; this file reads what those rules need, publishes and
 * keeps the state:
 *
 *   a change that takes effect: the order's next revision, an OrderAssigned
 *     on orders.assigned and its copy on visit.events keyed by the (new)
 *     caregiver's stream key, a reassign's also by the previous one's; and
 *     its OrderChange (EFFECTIVE, or APPROVED) on orders.changes; then the
 *     order's hash in Redis (cw:order) as the revision has it
 *   a change that waits: its OrderChange (PENDING), then cw:change:<order>
 *
 * Kafka is written before Redis, as everywhere in ingest: a request that
 * fails after its records were acknowledged is answered 503 and its retry
 * publishes the same change under the same ids. Idempotency: the latest
 * request of each kind (change, approve) of an order is kept as "<hash>
 * <change_id> <state>" (cw:idem:change:<order>, cw:idem:approve:<order>);
 * the same request again answers 200 duplicate. Requests about one order
 * are taken one at a time (the order id's lock). A change is never a line
 * of a batch: its reads go to Redis (change_store.h). */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/auth.h"
#include "ingest/change_rules.h"
#include "ingest/change_store.h"
#include "ingest/handlers.h"
#include "ingest/requests.h"
#include "log.h"
#include "order_revision.h"
#include "reference_store.h"
#include "topics.h"

#define IDEM_MAX 256

/* One change, as asked or as kept while it waited. Strings borrowed. */
typedef struct {
    change_action action;
    const char *change_id, *reason_code, *note, *requested_by, *new_caregiver_id;
    int64_t requested_at, new_start;
} proposal;

static int unknown_order(api_error *err, const char *order_id)
{
    return ingest_fail(err, 404, "unknown_order", "order_id", "order %s is not known", order_id);
}

/* ---- idempotency ---------------------------------------------------------------- */

/* The request's identity: its kind and its body (canonical JSON). */
static void request_hash(change_action action, json_t *body, char hex[65])
{
    char body_hash[65], text[96];
    unsigned char digest[32];
    ingest_content_hash(body, body_hash);
    snprintf(text, sizeof(text), "%s %s", ingest_change_action_name(action), body_hash);
    SHA256((const unsigned char *)text, strlen(text), digest);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

static const char *state_symbol(const char *text)
{
    if (strcmp(text, "PENDING") == 0)
        return "PENDING";
    return strcmp(text, "APPROVED") == 0 ? "APPROVED" : "EFFECTIVE";
}

/* The answer: the change's id and what became of it. 0, or -1 when the
 * id does not fit. */
static int set_outcome(ingest_outcome *out, const char *change_id, const char *state)
{
    int n = snprintf(out->id, sizeof(out->id), "%s", change_id);
    out->state = state_symbol(state);
    return n < 0 || (size_t)n >= sizeof(out->id) ? -1 : 0;
}

/* Whether the kept request ("<hash> <change_id> <state>") is this one: then
 * out says what it became. */
static int duplicate_of(const char *kept, const char *hash, ingest_outcome *out)
{
    size_t n = strlen(hash);
    if (strncmp(kept, hash, n) != 0 || kept[n] != ' ')
        return 0;
    const char *id = kept + n + 1, *space = strchr(id, ' ');
    if (space == NULL || (size_t)(space - id) >= sizeof(out->id))
        return 0;
    snprintf(out->id, sizeof(out->id), "%.*s", (int)(space - id), id);
    out->state = state_symbol(space + 1);
    out->duplicate = 1;
    return 1;
}

static void remember_request(cw_redis_batch *b, const char *kind, const char *order_id,
                             const char *hash, const char *change_id, const char *state)
{
    char value[IDEM_MAX];
    snprintf(value, sizeof(value), "%s %s %s", hash, change_id, state);
    ingest_store_mark_request(b, kind, order_id, value);
}

/* ---- the rules' answers ------------------------------------------------------------ */

static order_maintenance maintenance_of(const order_view *v)
{
    return (order_maintenance){.scheduled_start = v->order.scheduled_start,
                               .cancelled = strcmp(v->order.status, "CANCELLED") == 0,
                               .visited = v->order.visited,
                               .final = v->order.final[0] != '\0',
                               .has_pending = v->pending.present};
}

static int refuse(change_verdict verdict, const char *order_id, api_error *err)
{
    switch (verdict) {
    case CHANGE_REFUSED_CANCELLED:
        return ingest_fail(err, 409, "order_cancelled", "order_id", "order %s was cancelled",
                           order_id);
    case CHANGE_REFUSED_VISITED:
        return ingest_fail(err, 409, "order_visited", "order_id",
                           "order %s has a check-in: a visited order is not changed", order_id);
    case CHANGE_REFUSED_FINAL:
        return ingest_fail(err, 409, "order_final", "order_id",
                           "order %s is final (or will be before a change could count)", order_id);
    case CHANGE_REFUSED_WAITING:
        return ingest_fail(err, 409, "change_pending", "order_id",
                           "a change of order %s waits for the street office's approval", order_id);
    case CHANGE_REFUSED_NOTHING:
        return ingest_fail(err, 409, "no_pending_change", "order_id",
                           "no change of order %s waits for approval", order_id);
    case CHANGE_EFFECTIVE:
    case CHANGE_PENDING: break;
    }
    return 0;
}

/* A reassign's caregiver: the order's provider's, registered, not frozen,
 * and another than the order's. */
static int check_new_caregiver(const change_order *o, const change_refs *refs,
                               const char *caregiver_id, api_error *err)
{
    if (!refs->new_found || strcmp(refs->new_provider, o->provider_id) != 0)
        return ingest_fail(err, 422, "unknown_caregiver", "caregiver_id",
                           "caregiver %s is not registered", caregiver_id);
    if (strcmp(caregiver_id, o->caregiver_id) == 0)
        return ingest_fail(err, 422, "no_change", "caregiver_id",
                           "caregiver %s has the order already", caregiver_id);
    if (refs->new_frozen)
        return ingest_fail(err, 422, "caregiver_frozen", "caregiver_id",
                           "caregiver %s is frozen until an admin unfreezes them", caregiver_id);
    return 0;
}

/* ---- publishing ---------------------------------------------------------------------- */

static int add_change_record(ingest_outbox *box, const order_change_record *c, api_error *err)
{
    cw_order_change change = ingest_change_record(c);
    encoded_record rec;
    char e[256];
    if (ingest_encode_change(&change, &rec, e, sizeof(e)))
        return ingest_encoding_failed(err, e);
    ingest_outbox_add(box, CW_TOPIC_ORDER_CHANGES, c->order_id, rec);
    return 0;
}

static order_change_record change_record(const char *order_id, const order_view *v,
                                         const change_refs *refs, const proposal *p,
                                         cw_order_change_state state)
{
    return (order_change_record){
        .change_id = p->change_id,
        .order_id = order_id,
        .provider_id = v->order.provider_id,
        .street_id = refs->street_id,
        .kind = p->action,
        .reason_code = p->reason_code,
        .note = p->note,
        .requested_at = p->requested_at,
        .requested_by = p->requested_by,
        .scheduled_start = v->order.scheduled_start,
        .caregiver_id = v->order.caregiver_id,
        .state = state,
        .has_new_start = p->action == CHANGE_RESCHEDULE,
        .new_scheduled_start = p->new_start,
        .new_caregiver_id = p->action == CHANGE_REASSIGN ? p->new_caregiver_id : NULL};
}

/* The change takes effect: the order's next revision and the OrderChange
 * (state EFFECTIVE, or APPROVED with approved_by) are sent; the order's
 * hash, as the revision has it, is added to b (the caller commits it). */
static int apply_change(ingest_call *call, const char *order_id, const order_view *v,
                        const change_refs *refs, const proposal *p, int64_t received,
                        const char *approved_by, const char *approval_note,
                        cw_redis_batch *b, api_error *err)
{
    const change_order *o = &v->order;
    int reassign = p->action == CHANGE_REASSIGN;
    const char *caregiver = reassign ? p->new_caregiver_id : o->caregiver_id;
    const char *person = reassign ? refs->new_person : o->person_id;
    int64_t start = p->action == CHANGE_RESCHEDULE ? p->new_start : o->scheduled_start;
    const char *new_key = person[0] ? person : caregiver;
    const char *old_key = o->person_id[0] ? o->person_id : o->caregiver_id;
    order_revision r = {.order_id = order_id,
                        .elder_id = o->elder_id,
                        .caregiver_id = caregiver,
                        .provider_id = o->provider_id,
                        .service_type = o->service_type,
                        .person_id = person[0] ? person : NULL,
                        .certified = reassign ? refs->new_certified : refs->certified,
                        .scheduled_start = start,
                        .scheduled_minutes = o->scheduled_minutes,
                        .received_at = received,
                        .revision = o->revision + 1,
                        .kind = p->action,
                        .change_id = p->change_id,
                        .reason_code = p->reason_code,
                        .note = p->note,
                        .requested_at = p->requested_at,
                        .approved_by = approved_by,
                        .previous_caregiver_id = o->caregiver_id,
                        .previous_person_id = o->person_id[0] ? o->person_id : NULL,
                        .previous_scheduled_start = o->scheduled_start};
    cw_order_assigned revision = ingest_revision_record(&r);
    encoded_record rec;
    char e[256];
    if (ingest_encode_order(&revision, &rec, e, sizeof(e)))
        return ingest_encoding_failed(err, e);
    ingest_outbox box = {0};
    ingest_outbox_add(&box, CW_TOPIC_ORDERS_ASSIGNED, new_key, rec);
    ingest_outbox_copy(&box, 0, CW_TOPIC_VISIT_EVENTS, NULL);
    /* The previous caregiver's partitions drop the order (their schedule,
     * their timers): the services read each partition alone. */
    if (strcmp(new_key, old_key) != 0) {
        ingest_outbox_copy(&box, 0, CW_TOPIC_ORDERS_ASSIGNED, old_key);
        ingest_outbox_copy(&box, 0, CW_TOPIC_VISIT_EVENTS, old_key);
    }
    order_change_record c = change_record(order_id, v, refs, p,
                                          approved_by ? CW_ORDER_CHANGE_STATE_APPROVED
                                                      : CW_ORDER_CHANGE_STATE_EFFECTIVE);
    c.approved_by = approved_by;
    c.approved_at = received;
    c.approval_note = approval_note;
    c.revision = r.revision;
    if (add_change_record(&box, &c, err)) {
        ingest_outbox_free(&box);
        return -1;
    }
    /* The revision's status: CANCELLED after a cancel (reference_store.h). */
    if (cw_state_write_order(b, &revision) != 0) {
        ingest_outbox_free(&box);
        return ingest_encoding_failed(err, "the order does not fit its hash");
    }
    if (ingest_outbox_send(call, &box, err))
        return -1;
    cw_log_info("order changed", "order_id", order_id, "change_id", p->change_id, "kind",
                ingest_change_action_name(p->action), "approved_by", approved_by ? approved_by : "",
                NULL);
    return 0;
}

/* The change waits for the street: its OrderChange (PENDING), then
 * cw:change:<order>. */
static int hold_change(ingest_call *call, const char *order_id, const order_view *v,
                       const change_refs *refs, const proposal *p, cw_redis_batch *b,
                       api_error *err)
{
    ingest_outbox box = {0};
    order_change_record c = change_record(order_id, v, refs, p, CW_ORDER_CHANGE_STATE_PENDING);
    if (add_change_record(&box, &c, err))
        return -1;
    if (ingest_outbox_send(call, &box, err))
        return -1;
    waiting_change w = {.order_id = order_id,
                        .change_id = p->change_id,
                        .kind = ingest_change_action_name(p->action),
                        .reason_code = p->reason_code,
                        .note = p->note,
                        .requested_at = p->requested_at,
                        .requested_by = p->requested_by,
                        .has_new_start = p->action == CHANGE_RESCHEDULE,
                        .new_start = p->new_start,
                        .new_caregiver_id =
                            p->action == CHANGE_REASSIGN ? p->new_caregiver_id : NULL};
    ingest_change_store_waiting(b, &w);
    cw_log_info("order change waits for approval", "order_id", order_id, "change_id",
                p->change_id, "kind", ingest_change_action_name(p->action), NULL);
    return 0;
}

/* ---- the endpoints ------------------------------------------------------------------- */

static int request_change(ingest_call *call, change_action action, const char *order_id,
                          json_t *body, const cw_role *role, ingest_outcome *out, api_error *err)
{
    change_req r;
    order_view v;
    change_refs refs;
    char hash[65], change_id[CW_SUBJECT_MAX];
    int64_t received;
    if (ingest_parse_change(body, action, &r, err))
        return -1;
    if (ingest_change_store_view(call->redis, order_id, "change", &v) != 0)
        return ingest_unavailable(err, "Redis");
    if (!v.found || !ingest_may_act_for_provider(role, v.order.provider_id))
        return unknown_order(err, order_id);
    request_hash(action, body, hash);
    if (duplicate_of(v.idem, hash, out))
        return 0;
    if (ingest_receipt_time(call, 0, &received, err))
        return -1;
    order_maintenance m = maintenance_of(&v);
    change_verdict verdict = ingest_change_decide(&m, received, call->ctx->order_final_after_ms);
    if (refuse(verdict, order_id, err))
        return -1;
    if (ingest_change_store_refs(call->redis, &v.order,
                                 action == CHANGE_REASSIGN ? r.caregiver_id : NULL, &refs) != 0)
        return ingest_unavailable(err, "Redis");
    if (action == CHANGE_REASSIGN && check_new_caregiver(&v.order, &refs, r.caregiver_id, err))
        return -1;
    if (action == CHANGE_RESCHEDULE) {
        if (r.scheduled_start_ms == v.order.scheduled_start)
            return ingest_fail(err, 422, "no_change", "scheduled_start",
                               "order %s is scheduled then already", order_id);
        if (ingest_check_contract_cover(call, role, r.scheduled_start_ms, v.order.elder_id,
                                        refs.street_id, err))
            return -1;
    }
    if (cw_order_revision_subject(order_id, v.order.revision + 1, change_id, sizeof(change_id)))
        return ingest_fail(err, 500, "internal", "", "change id too long");
    proposal p = {.action = action,
                  .change_id = change_id,
                  .reason_code = r.reason_code,
                  .note = r.note,
                  .requested_by = role->label,
                  .new_caregiver_id = r.caregiver_id,
                  .requested_at = received,
                  .new_start = r.scheduled_start_ms};
    const char *state = verdict == CHANGE_EFFECTIVE ? "EFFECTIVE" : "PENDING";
    cw_redis_batch b = {0};
    int rc = verdict == CHANGE_EFFECTIVE
                 ? apply_change(call, order_id, &v, &refs, &p, received, NULL, NULL, &b, err)
                 : hold_change(call, order_id, &v, &refs, &p, &b, err);
    if (rc) {
        cw_redis_batch_clear(&b);
        return -1;
    }
    remember_request(&b, "change", order_id, hash, change_id, state);
    if (set_outcome(out, change_id, state) != 0) {
        cw_redis_batch_clear(&b);
        return ingest_fail(err, 500, "internal", "", "change id too long");
    }
    return ingest_commit(call, &b, err);
}

static int parse_action(const char *kind, change_action *out)
{
    for (change_action a = CHANGE_CANCEL; a <= CHANGE_REASSIGN; a++) {
        if (strcmp(kind, ingest_change_action_name(a)) == 0) {
            *out = a;
            return 0;
        }
    }
    return -1;
}

static int approve_change(ingest_call *call, const char *order_id, json_t *body,
                          const cw_role *role, ingest_outcome *out, api_error *err)
{
    approve_req r;
    order_view v;
    change_refs refs;
    change_action action = CHANGE_CANCEL;
    char hash[65];
    int64_t received;
    if (ingest_parse_approve(body, &r, err))
        return -1;
    if (ingest_change_store_view(call->redis, order_id, "approve", &v) != 0)
        return ingest_unavailable(err, "Redis");
    if (!v.found)
        return unknown_order(err, order_id);
    int reassign = v.pending.present && strcmp(v.pending.kind, "REASSIGN") == 0;
    if (ingest_change_store_refs(call->redis, &v.order,
                                 reassign ? v.pending.new_caregiver_id : NULL, &refs) != 0)
        return ingest_unavailable(err, "Redis");
    /* Another street's order answers as a missing one. */
    if (!ingest_may_approve_for_street(role, refs.street_id))
        return unknown_order(err, order_id);
    request_hash(CHANGE_APPROVE, body, hash);
    if (!v.pending.present && duplicate_of(v.idem, hash, out))
        return 0;
    if (ingest_receipt_time(call, 0, &received, err))
        return -1;
    order_maintenance m = maintenance_of(&v);
    if (refuse(ingest_change_approve_decide(&m, received, call->ctx->order_final_after_ms),
               order_id, err))
        return -1;
    if (parse_action(v.pending.kind, &action) != 0)
        return ingest_fail(err, 500, "internal", "", "the waiting change is unreadable");
    if (reassign && check_new_caregiver(&v.order, &refs, v.pending.new_caregiver_id, err))
        return -1;
    proposal p = {.action = action,
                  .change_id = v.pending.change_id,
                  .reason_code = v.pending.reason_code,
                  .note = v.pending.note[0] ? v.pending.note : NULL,
                  .requested_by = v.pending.requested_by,
                  .new_caregiver_id = v.pending.new_caregiver_id,
                  .requested_at = v.pending.requested_at,
                  .new_start = v.pending.new_start};
    cw_redis_batch b = {0};
    if (apply_change(call, order_id, &v, &refs, &p, received, role->label, r.note, &b, err)) {
        cw_redis_batch_clear(&b);
        return -1;
    }
    ingest_change_store_done(&b, order_id);
    remember_request(&b, "approve", order_id, hash, p.change_id, "APPROVED");
    if (set_outcome(out, p.change_id, "APPROVED") != 0) {
        cw_redis_batch_clear(&b);
        return ingest_fail(err, 500, "internal", "", "change id too long");
    }
    return ingest_commit(call, &b, err);
}

int ingest_change_role_check(change_action action, const cw_role *role, api_error *err)
{
    if (action == CHANGE_APPROVE && !ingest_may_approve_changes(role))
        return ingest_fail(err, 403, "forbidden", "",
                           "only a street office's key approves a change of an order");
    if (action != CHANGE_APPROVE && !ingest_may_post_orders(role))
        return ingest_fail(err, 403, "forbidden", "",
                           "an order is changed by its provider's, the importer's or an "
                           "admin's key");
    return 0;
}

int ingest_order_change(ingest_ctx *ctx, change_action action, const char *order_id, json_t *body,
                        const cw_role *role, ingest_outcome *out, api_error *err)
{
    memset(out, 0, sizeof(*out));
    if (ingest_check_rebuilding(ctx, err) || ingest_change_role_check(action, role, err) ||
        ingest_check_path(order_id, "order_id", "order", body, err))
        return -1;
    ingest_call call = ingest_call_single(ctx);
    pthread_mutex_t *lock = ingest_id_lock(ctx, order_id);
    pthread_mutex_lock(lock);
    int rc = action == CHANGE_APPROVE
                 ? approve_change(&call, order_id, body, role, out, err)
                 : request_change(&call, action, order_id, body, role, out, err);
    pthread_mutex_unlock(lock);
    ingest_call_end(&call);
    return rc;
}
