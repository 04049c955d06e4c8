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
 * publishes the same change under the same ids. Idempotency: the latest request of each kind
 * (change, approve) of an order is kept as "<hash> <change_id> <state>"
 * (cw:idem:change:<order>, cw:idem:approve:<order>); the same request again
 * answers 200 duplicate. Requests about one order are taken one at a time
 * (the order id's lock). */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "change_rules.h"
#include "change_store.h"
#include "log.h"
#include "redis_keys.h"
#include "requests.h"
#include "state.h"
#include "topics.h"

#define FIELD_MAX 128
#define IDEM_MAX 256

typedef struct {
    char elder_id[FIELD_MAX], caregiver_id[FIELD_MAX], provider_id[FIELD_MAX];
    char service_type[FIELD_MAX], person_id[FIELD_MAX], status[FIELD_MAX], final[FIELD_MAX];
    int64_t scheduled_start;
    int scheduled_minutes, revision;
    int visited;
} order_state;

/* The change waiting for the street (cw:change:<order>). */
typedef struct {
    int present;
    char change_id[FIELD_MAX], kind[FIELD_MAX], reason_code[FIELD_MAX];
    char requested_by[FIELD_MAX], new_caregiver_id[FIELD_MAX];
    char note[MAX_NOTE_LEN + 1]; /* "" when none */
    int64_t requested_at, new_start;
} pending_change;

/* What a request reads first, in one round trip. */
typedef struct {
    int found;
    order_state order;
    pending_change pending;
    char idem[IDEM_MAX]; /* the latest request of the kind asked, or "" */
} order_view;

/* What else a change needs, in a second round trip. */
typedef struct {
    char street_id[FIELD_MAX]; /* the elder's */
    int certified;             /* the order's caregiver's certificate now */
    int new_found;             /* a reassign's caregiver: */
    char new_provider[FIELD_MAX], new_person[FIELD_MAX];
    int new_certified, new_frozen;
} change_refs;

/* One change, as asked or as kept while it waited. Strings borrowed. */
typedef struct {
    change_action action;
    const char *change_id, *reason_code, *note, *requested_by, *new_caregiver_id;
    int64_t requested_at, new_start;
} proposal;

static void copy_reply(char *dst, size_t len, const redisReply *e)
{
    if (e != NULL && e->type == REDIS_REPLY_STRING)
        snprintf(dst, len, "%.*s", (int)e->len, e->str);
    else
        dst[0] = '\0';
}

static int64_t reply_i64(const redisReply *e)
{
    return e != NULL && e->type == REDIS_REPLY_STRING ? strtoll(e->str, NULL, 10) : 0;
}

static int unknown_order(api_error *err, const char *order_id)
{
    return api_fail(err, 404, "unknown_order", "order_id", "order %s is not known", order_id);
}

static int is_array(const redisReply *r, size_t n)
{
    return r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == n;
}

static void free_replies(redisReply **replies, size_t n)
{
    for (size_t i = 0; i < n; i++)
        freeReplyObject(replies[i]);
}

static void view_from_replies(redisReply **rep, order_view *v)
{
    redisReply **o = rep[0]->element, **p = rep[2]->element;
    memset(v, 0, sizeof(*v));
    v->found = o[0]->type == REDIS_REPLY_STRING;
    copy_reply(v->order.elder_id, FIELD_MAX, o[0]);
    copy_reply(v->order.caregiver_id, FIELD_MAX, o[1]);
    copy_reply(v->order.provider_id, FIELD_MAX, o[2]);
    copy_reply(v->order.service_type, FIELD_MAX, o[3]);
    copy_reply(v->order.person_id, FIELD_MAX, o[4]);
    copy_reply(v->order.status, FIELD_MAX, o[5]);
    copy_reply(v->order.final, FIELD_MAX, o[6]);
    v->order.scheduled_start = reply_i64(o[7]);
    v->order.scheduled_minutes = (int)reply_i64(o[8]);
    v->order.revision = (int)reply_i64(o[9]);
    v->order.visited = rep[1]->type == REDIS_REPLY_INTEGER && rep[1]->integer > 0;
    v->pending.present = p[0]->type == REDIS_REPLY_STRING;
    copy_reply(v->pending.change_id, FIELD_MAX, p[0]);
    copy_reply(v->pending.kind, FIELD_MAX, p[1]);
    copy_reply(v->pending.reason_code, FIELD_MAX, p[2]);
    copy_reply(v->pending.note, sizeof(v->pending.note), p[3]);
    v->pending.requested_at = reply_i64(p[4]);
    copy_reply(v->pending.requested_by, FIELD_MAX, p[5]);
    v->pending.new_start = reply_i64(p[6]);
    copy_reply(v->pending.new_caregiver_id, FIELD_MAX, p[7]);
    copy_reply(v->idem, sizeof(v->idem), rep[3]);
}

/* The order, whether it was visited, its waiting change and the latest
 * request of idem_kind ("change", "approve"). 0, or -1 with a 503. */
static int load_view(api_call *call, const char *order_id, const char *idem_kind, order_view *v,
                     api_error *err)
{
    char order_key[CW_KEY_MAX], visited_key[CW_KEY_MAX], pending_key[CW_KEY_MAX];
    char idem_key[CW_KEY_MAX];
    snprintf(order_key, sizeof(order_key), CW_KEY_ORDER, order_id);
    snprintf(visited_key, sizeof(visited_key), CW_KEY_VISITED, order_id);
    snprintf(pending_key, sizeof(pending_key), CW_KEY_PENDING_CHANGE, order_id);
    snprintf(idem_key, sizeof(idem_key), CW_KEY_IDEMPOTENCY, idem_kind, order_id);
    const char *order_argv[] = {"HMGET",     order_key,    "elder_id",        "caregiver_id",
                                "provider_id", "service_type", "person_id",     "status",
                                "final",     "scheduled_start", "scheduled_minutes", "revision"};
    const char *visited_argv[] = {"EXISTS", visited_key};
    const char *pending_argv[] = {"HMGET",        pending_key,  "change_id",   "kind",
                                  "reason_code",  "note",       "requested_at", "requested_by",
                                  "new_start",    "new_caregiver_id"};
    const char *idem_argv[] = {"GET", idem_key};
    const char *const *cmds[] = {order_argv, visited_argv, pending_argv, idem_argv};
    const int argcs[] = {12, 2, 10, 2};
    redisReply *rep[4];
    if (cw_redis_pipeline(call->redis, 4, argcs, cmds, rep) != 0)
        return api_unavailable(err, "Redis");
    int ok = is_array(rep[0], 10) && rep[1]->type == REDIS_REPLY_INTEGER &&
             is_array(rep[2], 8) && rep[3]->type != REDIS_REPLY_ERROR;
    if (ok)
        view_from_replies(rep, v);
    free_replies(rep, 4);
    return ok ? 0 : api_unavailable(err, "Redis");
}

/* The elder's street, the order's caregiver's certificate and, for a
 * reassign (new_caregiver not NULL), the new caregiver. 0, or -1 (503). */
static int load_refs(api_call *call, const order_state *o, const char *new_caregiver,
                     change_refs *refs, api_error *err)
{
    char elder_key[CW_KEY_MAX], current_key[CW_KEY_MAX], new_key[CW_KEY_MAX];
    char state_key[CW_KEY_MAX];
    snprintf(elder_key, sizeof(elder_key), CW_KEY_ELDER, o->elder_id);
    snprintf(current_key, sizeof(current_key), CW_KEY_CAREGIVER, o->caregiver_id);
    snprintf(new_key, sizeof(new_key), CW_KEY_CAREGIVER, new_caregiver ? new_caregiver : "");
    snprintf(state_key, sizeof(state_key), CW_KEY_CGSTATE, new_caregiver ? new_caregiver : "");
    const char *elder_argv[] = {"HMGET", elder_key, "street_id"};
    const char *current_argv[] = {"HMGET", current_key, "certified"};
    const char *new_argv[] = {"HMGET", new_key, "provider_id", "certified", "person_id"};
    const char *state_argv[] = {"HMGET", state_key, "status"};
    const char *const *cmds[] = {elder_argv, current_argv, new_argv, state_argv};
    const int argcs[] = {3, 3, 5, 3};
    size_t n = new_caregiver ? 4 : 2;
    redisReply *rep[4];
    memset(refs, 0, sizeof(*refs));
    if (cw_redis_pipeline(call->redis, n, argcs, cmds, rep) != 0)
        return api_unavailable(err, "Redis");
    int ok = is_array(rep[0], 1) && is_array(rep[1], 1) &&
             (n == 2 || (is_array(rep[2], 3) && is_array(rep[3], 1)));
    if (ok) {
        char flag[FIELD_MAX];
        copy_reply(refs->street_id, FIELD_MAX, rep[0]->element[0]);
        copy_reply(flag, sizeof(flag), rep[1]->element[0]);
        refs->certified = strcmp(flag, "1") == 0;
        if (n == 4) {
            refs->new_found = rep[2]->element[0]->type == REDIS_REPLY_STRING;
            copy_reply(refs->new_provider, FIELD_MAX, rep[2]->element[0]);
            copy_reply(flag, sizeof(flag), rep[2]->element[1]);
            refs->new_certified = strcmp(flag, "1") == 0;
            copy_reply(refs->new_person, FIELD_MAX, rep[2]->element[2]);
            copy_reply(flag, sizeof(flag), rep[3]->element[0]);
            refs->new_frozen = strcmp(flag, "FROZEN") == 0;
        }
    }
    free_replies(rep, n);
    return ok ? 0 : api_unavailable(err, "Redis");
}

/* ---- idempotency ---------------------------------------------------------------- */

/* The request's identity: its kind and its body (canonical JSON). */
static void request_hash(change_action action, json_t *body, char hex[65])
{
    char body_hash[65], text[96];
    unsigned char digest[32];
    api_content_hash(body, body_hash);
    snprintf(text, sizeof(text), "%s %s", change_action_name(action), body_hash);
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
static int set_outcome(api_outcome *out, const char *change_id, const char *state)
{
    int n = snprintf(out->id, sizeof(out->id), "%s", change_id);
    out->state = state_symbol(state);
    return n < 0 || (size_t)n >= sizeof(out->id) ? -1 : 0;
}

/* Whether the kept request ("<hash> <change_id> <state>") is this one: then
 * out says what it became. */
static int duplicate_of(const char *kept, const char *hash, api_outcome *out)
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
    char key[CW_KEY_MAX], value[IDEM_MAX];
    snprintf(key, sizeof(key), CW_KEY_IDEMPOTENCY, kind, order_id);
    snprintf(value, sizeof(value), "%s %s %s", hash, change_id, state);
    const char *argv[] = {"SET", key, value};
    cw_redis_batch_add(b, 3, argv);
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
        return api_fail(err, 409, "order_cancelled", "order_id", "order %s was cancelled",
                        order_id);
    case CHANGE_REFUSED_VISITED:
        return api_fail(err, 409, "order_visited", "order_id",
                        "order %s has a check-in: a visited order is not changed", order_id);
    case CHANGE_REFUSED_FINAL:
        return api_fail(err, 409, "order_final", "order_id",
                        "order %s is final (or will be before a change could count)", order_id);
    case CHANGE_REFUSED_WAITING:
        return api_fail(err, 409, "change_pending", "order_id",
                        "a change of order %s waits for the street office's approval", order_id);
    case CHANGE_REFUSED_NOTHING:
        return api_fail(err, 409, "no_pending_change", "order_id",
                        "no change of order %s waits for approval", order_id);
    case CHANGE_EFFECTIVE:
    case CHANGE_PENDING: break;
    }
    return 0;
}

/* A reassign's caregiver: the order's provider's, registered, not frozen,
 * and another than the order's. */
static int check_new_caregiver(const order_state *o, const change_refs *refs,
                               const char *caregiver_id, api_error *err)
{
    if (!refs->new_found || strcmp(refs->new_provider, o->provider_id) != 0)
        return api_fail(err, 422, "unknown_caregiver", "caregiver_id",
                        "caregiver %s is not registered", caregiver_id);
    if (strcmp(caregiver_id, o->caregiver_id) == 0)
        return api_fail(err, 422, "no_change", "caregiver_id",
                        "caregiver %s has the order already", caregiver_id);
    if (refs->new_frozen)
        return api_fail(err, 422, "caregiver_frozen", "caregiver_id",
                        "caregiver %s is frozen until an admin unfreezes them", caregiver_id);
    return 0;
}

/* ---- publishing ---------------------------------------------------------------------- */

/* The record at index `of`, once more under another topic and key (same
 * bytes, owned by its first entry). */
static void add_copy(outbox *box, size_t of, const char *topic, const char *key)
{
    size_t i = box->count++;
    box->encoded[i] = (encoded_record){0};
    box->records[i] = box->records[of];
    box->records[i].topic = topic;
    box->records[i].key = key;
    box->records[i].key_len = strlen(key);
}

static int add_change_record(outbox *box, const order_change_record *c, api_error *err)
{
    encoded_record rec;
    char e[256];
    if (record_order_change(c, &rec, e, sizeof(e)))
        return api_encoding_failed(err, e);
    api_outbox_add(box, CW_TOPIC_ORDER_CHANGES, c->order_id, rec);
    return 0;
}

static order_change_record change_record(const char *order_id, const order_view *v,
                                         const change_refs *refs, const proposal *p,
                                         const char *state)
{
    return (order_change_record){
        .change_id = p->change_id,
        .order_id = order_id,
        .provider_id = v->order.provider_id,
        .street_id = refs->street_id,
        .kind = change_action_name(p->action),
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
 * (state EFFECTIVE, or APPROVED with approved_by), then the order's hash;
 * extra (not NULL) is one more Redis write of the caller's. */
static int apply_change(api_call *call, const char *order_id, const order_view *v,
                        const change_refs *refs, const proposal *p, int64_t received,
                        const char *approved_by, const char *approval_note,
                        cw_redis_batch *b, api_error *err)
{
    const order_state *o = &v->order;
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
                        .change_id = p->change_id,
                        .kind = change_action_name(p->action),
                        .reason_code = p->reason_code,
                        .note = p->note,
                        .requested_at = p->requested_at,
                        .approved_by = approved_by,
                        .previous_caregiver_id = o->caregiver_id,
                        .previous_person_id = o->person_id[0] ? o->person_id : NULL,
                        .previous_scheduled_start = o->scheduled_start};
    encoded_record rec;
    char e[256];
    if (record_order_revision(&r, &rec, e, sizeof(e)))
        return api_encoding_failed(err, e);
    outbox box = {0};
    api_outbox_add(&box, CW_TOPIC_ORDERS_ASSIGNED, new_key, rec);
    api_outbox_add_again(&box, CW_TOPIC_VISIT_EVENTS);
    /* The previous caregiver's partitions drop the order (their schedule,
     * their timers): the services read each partition alone. */
    if (strcmp(new_key, old_key) != 0) {
        add_copy(&box, 0, CW_TOPIC_ORDERS_ASSIGNED, old_key);
        add_copy(&box, 0, CW_TOPIC_VISIT_EVENTS, old_key);
    }
    order_change_record c =
        change_record(order_id, v, refs, p, approved_by ? "APPROVED" : "EFFECTIVE");
    c.approved_by = approved_by;
    c.approved_at = received;
    c.approval_note = approval_note;
    c.revision = r.revision;
    if (add_change_record(&box, &c, err)) {
        api_outbox_free(&box);
        return -1;
    }
    if (api_outbox_send(call, &box, err))
        return -1;
    char key[CW_KEY_MAX], sstart[24], srev[16];
    snprintf(key, sizeof(key), CW_KEY_ORDER, order_id);
    api_fmt_i64(sstart, sizeof(sstart), start);
    snprintf(srev, sizeof(srev), "%d", r.revision);
    const char *argv[] = {"HSET",           key,      "caregiver_id", caregiver,
                          "person_id",      person,   "scheduled_start", sstart,
                          "revision",       srev,     "status",
                          p->action == CHANGE_CANCEL ? "CANCELLED" : ""};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    cw_log_info("order changed", "order_id", order_id, "change_id", p->change_id, "kind",
                change_action_name(p->action), "approved_by", approved_by ? approved_by : "",
                NULL);
    return 0;
}

/* The change waits for the street: its OrderChange (PENDING), then
 * cw:change:<order>. */
static int hold_change(api_call *call, const char *order_id, const order_view *v,
                       const change_refs *refs, const proposal *p, cw_redis_batch *b,
                       api_error *err)
{
    outbox box = {0};
    order_change_record c = change_record(order_id, v, refs, p, "PENDING");
    if (add_change_record(&box, &c, err))
        return -1;
    if (api_outbox_send(call, &box, err))
        return -1;
    waiting_change w = {.order_id = order_id,
                        .change_id = p->change_id,
                        .kind = change_action_name(p->action),
                        .reason_code = p->reason_code,
                        .note = p->note,
                        .requested_at = p->requested_at,
                        .requested_by = p->requested_by,
                        .has_new_start = p->action == CHANGE_RESCHEDULE,
                        .new_start = p->new_start,
                        .new_caregiver_id =
                            p->action == CHANGE_REASSIGN ? p->new_caregiver_id : NULL};
    change_store_waiting(b, &w);
    cw_log_info("order change waits for approval", "order_id", order_id, "change_id",
                p->change_id, "kind", change_action_name(p->action), NULL);
    return 0;
}

/* ---- the endpoints ------------------------------------------------------------------- */

static int request_change(api_call *call, change_action action, const char *order_id,
                          json_t *body, const cw_role *role, api_outcome *out, api_error *err)
{
    change_req r;
    order_view v;
    change_refs refs;
    char hash[65], change_id[CW_SUBJECT_MAX];
    int64_t received;
    if (parse_change(body, action, &r, err) || load_view(call, order_id, "change", &v, err))
        return -1;
    if (!v.found || !auth_may_act_for_provider(role, v.order.provider_id))
        return unknown_order(err, order_id);
    request_hash(action, body, hash);
    if (duplicate_of(v.idem, hash, out))
        return 0;
    if (api_receipt_time(call, 0, &received, err))
        return -1;
    order_maintenance m = maintenance_of(&v);
    change_verdict verdict = change_decide(&m, received, call->ctx->order_final_after_ms);
    if (refuse(verdict, order_id, err) ||
        load_refs(call, &v.order, action == CHANGE_REASSIGN ? r.caregiver_id : NULL, &refs,
                  err))
        return -1;
    if (action == CHANGE_REASSIGN && check_new_caregiver(&v.order, &refs, r.caregiver_id, err))
        return -1;
    if (action == CHANGE_RESCHEDULE) {
        if (r.scheduled_start_ms == v.order.scheduled_start)
            return api_fail(err, 422, "no_change", "scheduled_start",
                            "order %s is scheduled then already", order_id);
        if (api_check_contract_cover(call, role, r.scheduled_start_ms, v.order.elder_id,
                                     refs.street_id, err))
            return -1;
    }
    if (cw_order_revision_subject(order_id, v.order.revision + 1, change_id, sizeof(change_id)))
        return api_fail(err, 500, "internal", "", "change id too long");
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
        return api_fail(err, 500, "internal", "", "change id too long");
    }
    return api_redis_commit(call, &b, err);
}

static int parse_action(const char *kind, change_action *out)
{
    for (change_action a = CHANGE_CANCEL; a <= CHANGE_REASSIGN; a++) {
        if (strcmp(kind, change_action_name(a)) == 0) {
            *out = a;
            return 0;
        }
    }
    return -1;
}

static int approve_change(api_call *call, const char *order_id, json_t *body,
                          const cw_role *role, api_outcome *out, api_error *err)
{
    approve_req r;
    order_view v;
    change_refs refs;
    change_action action = CHANGE_CANCEL;
    char hash[65];
    int64_t received;
    if (parse_approve(body, &r, err) || load_view(call, order_id, "approve", &v, err))
        return -1;
    if (!v.found)
        return unknown_order(err, order_id);
    int reassign = v.pending.present && strcmp(v.pending.kind, "REASSIGN") == 0;
    if (load_refs(call, &v.order, reassign ? v.pending.new_caregiver_id : NULL, &refs, err))
        return -1;
    /* Another street's order answers as a missing one. */
    if (!auth_may_approve_for_street(role, refs.street_id))
        return unknown_order(err, order_id);
    request_hash(CHANGE_APPROVE, body, hash);
    if (!v.pending.present && duplicate_of(v.idem, hash, out))
        return 0;
    if (api_receipt_time(call, 0, &received, err))
        return -1;
    order_maintenance m = maintenance_of(&v);
    if (refuse(change_approve_decide(&m, received, call->ctx->order_final_after_ms), order_id,
               err))
        return -1;
    if (parse_action(v.pending.kind, &action) != 0)
        return api_fail(err, 500, "internal", "", "the waiting change is unreadable");
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
    char pending_key[CW_KEY_MAX];
    snprintf(pending_key, sizeof(pending_key), CW_KEY_PENDING_CHANGE, order_id);
    const char *del[] = {"DEL", pending_key};
    cw_redis_batch_add(&b, 2, del);
    remember_request(&b, "approve", order_id, hash, p.change_id, "APPROVED");
    if (set_outcome(out, p.change_id, "APPROVED") != 0) {
        cw_redis_batch_clear(&b);
        return api_fail(err, 500, "internal", "", "change id too long");
    }
    return api_redis_commit(call, &b, err);
}

int ingest_change_role_check(change_action action, const cw_role *role, api_error *err)
{
    if (action == CHANGE_APPROVE && !auth_may_approve_changes(role))
        return api_fail(err, 403, "forbidden", "",
                        "only a street office's key approves a change of an order");
    if (action != CHANGE_APPROVE && !auth_may_post_orders(role))
        return api_fail(err, 403, "forbidden", "",
                        "an order is changed by its provider's, the importer's or an admin's key");
    return 0;
}

int ingest_order_change(ingest_ctx *ctx, change_action action, const char *order_id, json_t *body,
                        const cw_role *role, api_outcome *out, api_error *err)
{
    memset(out, 0, sizeof(*out));
    if (atomic_load(&ctx->rebuilding))
        return api_unavailable(err, "Redis (being rebuilt from Kafka)");
    if (ingest_change_role_check(action, role, err))
        return -1;
    if (!cw_id_is_valid(order_id))
        return api_fail(err, 400, "invalid_id", "order_id", "invalid order id in path");
    if (!json_is_object(body))
        return api_fail(err, 400, "invalid_json", "", "the body must be a JSON object");
    api_call call = api_single_call(ctx);
    pthread_mutex_t *lock = api_id_lock(ctx, order_id);
    pthread_mutex_lock(lock);
    int rc = action == CHANGE_APPROVE
                 ? approve_change(&call, order_id, body, role, out, err)
                 : request_change(&call, action, order_id, body, role, out, err);
    pthread_mutex_unlock(lock);
    api_end_call(&call);
    return rc;
}
