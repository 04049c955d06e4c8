/* One record, posted alone (ingest_submit) or as a line of a batch
 * (ingest_batch_*): the checks every record type shares, then its type's
 * handler (reference.c, visits.c). A batch's lines take the same path; only
 * their I/O goes through the batch's session (ingest_store.h). */
#include <stdlib.h>
#include <string.h>

#include "ingest/auth.h"
#include "ingest/handlers.h"

static const char *const request_names[] = {"elder",    "caregiver", "contract", "order",
                                            "check-in", "check-out", "evidence"};

int ingest_request_type_from_name(const char *name, request_type *out)
{
    for (size_t i = 0; i < sizeof(request_names) / sizeof(request_names[0]); i++) {
        if (strcmp(name, request_names[i]) == 0) {
            *out = (request_type)i;
            return 0;
        }
    }
    return -1;
}

int ingest_request_role_check(request_type type, const cw_role *role, api_error *err)
{
    int reference = type == REQ_ELDER || type == REQ_CAREGIVER || type == REQ_CONTRACT;
    if (reference && !ingest_may_post_reference(role))
        return ingest_fail(err, 403, "forbidden", "", "this key may not post reference data");
    if (!reference && role->kind == CW_ROLE_REGISTRY)
        return ingest_fail(err, 403, "forbidden", "", "this key may post reference data only");
    if (!reference && !ingest_may_post_orders(role))
        return ingest_fail(err, 403, "forbidden", "",
                           "orders and visits come from a provider's, the importer's or an "
                           "admin's key");
    return 0;
}

/* Checks common to every record type, then the type's own handling. The
 * caller holds the id's lock. */
static int submit(ingest_call *call, request_type type, json_t *body, const cw_role *role,
                  ingest_outcome *out, api_error *err)
{
    memset(out, 0, sizeof(*out));
    if (ingest_check_rebuilding(call->ctx, err))
        return -1;
    if (!json_is_object(body))
        return ingest_fail(err, 400, "invalid_json", "", "the body must be a JSON object");
    if (ingest_request_role_check(type, role, err))
        return -1;
    char hash[65];
    ingest_content_hash(body, hash);
    switch (type) {
    case REQ_ELDER: return ingest_submit_elder(call, body, hash, out, err);
    case REQ_CAREGIVER: return ingest_submit_caregiver(call, body, hash, out, err);
    case REQ_CONTRACT: return ingest_submit_contract(call, body, hash, out, err);
    case REQ_ORDER: return ingest_submit_order(call, body, hash, role, out, err);
    case REQ_CHECK_IN:
        return ingest_submit_visit(call, CW_VISIT_KIND_CHECK_IN, body, hash, role, out, err);
    case REQ_CHECK_OUT:
        return ingest_submit_visit(call, CW_VISIT_KIND_CHECK_OUT, body, hash, role, out, err);
    case REQ_EVIDENCE: return ingest_submit_evidence(call, body, hash, role, out, err);
    }
    return ingest_fail(err, 400, "unknown_type", "type", "unknown record type");
}

/* The id a record is known by (its idempotency key), or "" when absent. */
static const char *record_id(request_type type, json_t *body)
{
    static const char *const id_fields[] = {"elder_id", "caregiver_id", "contract_id", "order_id",
                                            "event_id", "event_id",     "event_id"};
    json_t *id = json_is_object(body) ? json_object_get(body, id_fields[type]) : NULL;
    return json_is_string(id) ? json_string_value(id) : "";
}

int ingest_submit(ingest_ctx *ctx, request_type type, json_t *body, const cw_role *role,
                  ingest_outcome *out, api_error *err)
{
    ingest_call call = ingest_call_single(ctx);
    /* From the idempotency check to the Redis write that records the id,
     * nobody else may handle the same id. */
    pthread_mutex_t *lock = ingest_id_lock(ctx, record_id(type, body));
    pthread_mutex_lock(lock);
    int rc = submit(&call, type, body, role, out, err);
    pthread_mutex_unlock(lock);
    ingest_call_end(&call);
    return rc;
}

/* ---- batches ---------------------------------------------------------------- */

struct ingest_batch {
    ingest_call call;
    int locked[ID_LOCK_STRIPES];
    int prefetched;
};

ingest_batch *ingest_batch_begin(ingest_ctx *ctx)
{
    ingest_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    batch_session *session = ingest_batch_session_new();
    if (!session) {
        free(b);
        return NULL;
    }
    b->call = ingest_call_batch(ctx, session);
    return b;
}

/* A reference the line names in a string field, or NULL. */
static const char *named(json_t *body, const char *field)
{
    json_t *ref = json_object_get(body, field);
    return json_is_string(ref) ? json_string_value(ref) : NULL;
}

int ingest_batch_expect(ingest_batch *b, request_type type, json_t *body, const cw_role *role)
{
    static const char *const kinds[] = {"elder", "caregiver", "contract", "order",
                                        "event", "event",     "event"};
    ingest_call *call = &b->call;
    const char *id = record_id(type, body), *ref;
    if (!cw_id_is_valid(id))
        return 0; /* the line is refused before it reads anything */
    b->locked[ingest_id_lock(call->ctx, id) - call->ctx->id_locks] = 1;
    int rc = ingest_store_want_mark(call, kinds[type], id);
    if (type == REQ_ORDER) {
        if ((ref = named(body, "elder_id")) != NULL)
            rc |= ingest_store_want_row(call, INGEST_ELDER_ROW, ref);
        if ((ref = named(body, "caregiver_id")) != NULL)
            rc |= ingest_store_want_row(call, INGEST_CAREGIVER_ROW, ref);
    } else if (type >= REQ_CHECK_IN && (ref = named(body, "order_id")) != NULL) {
        rc |= ingest_store_want_row(call, INGEST_ORDER_ROW, ref);
    }
    if (type == REQ_CONTRACT)
        rc |= ingest_store_want_row(call, INGEST_CONTRACT_ROW, id); /* its provider is read */
    /* A provider's check-in or check-out reads its caregiver's provider. */
    if (role->kind == CW_ROLE_PROVIDER && (type == REQ_CHECK_IN || type == REQ_CHECK_OUT) &&
        (ref = named(body, "caregiver_id")) != NULL)
        rc |= ingest_store_want_row(call, INGEST_CAREGIVER_ROW, ref);
    return rc ? -1 : 0;
}

int ingest_batch_prefetch(ingest_batch *b)
{
    /* The ids' locks, in one order for every batch, so that two batches
     * cannot each wait for the other. */
    for (int i = 0; i < ID_LOCK_STRIPES; i++)
        if (b->locked[i])
            pthread_mutex_lock(&b->call.ctx->id_locks[i]);
    b->prefetched = 1;
    return ingest_store_prefetch(&b->call);
}

int ingest_batch_submit(ingest_batch *b, size_t line, request_type type, json_t *body,
                        const cw_role *role, ingest_outcome *out, api_error *err)
{
    b->call.line = line;
    return submit(&b->call, type, body, role, out, err);
}

size_t ingest_batch_finish(ingest_batch *b)
{
    return ingest_store_finish(&b->call);
}

void ingest_batch_end(ingest_batch *b)
{
    if (!b)
        return;
    for (int i = 0; b->prefetched && i < ID_LOCK_STRIPES; i++)
        if (b->locked[i])
            pthread_mutex_unlock(&b->call.ctx->id_locks[i]);
    ingest_batch_session_free(b->call.batch);
    ingest_call_end(&b->call);
    free(b);
}
