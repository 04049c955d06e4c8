/* Reference data: POST /v1/elders, /v1/caregivers, /v1/contracts (a
 * registry's update of a known id is a new version), an elder's status,
 * and an admin's unfreeze of a caregiver. Each record goes to its ref.*
 * topic (an unfreeze to visit.events), then into Redis through
 * reference_store.h from the same typed record. */
#include <stdio.h>
#include <string.h>

#include "elder_status.h"
#include "ingest/auth.h"
#include "ingest/handlers.h"
#include "ingest/requests.h"
#include "reference_store.h"
#include "topics.h"

int ingest_submit_elder(ingest_call *call, json_t *body, const char *hash, ingest_outcome *out,
                        api_error *err)
{
    elder_req r;
    char e[256];
    if (ingest_parse_elder(body, &r, err))
        return -1;
    idem_step step = ingest_resolve_idempotency(call, "elder", r.elder_id, hash, 1, out, err);
    if (step != IDEM_GO_ON)
        return step == IDEM_ANSWERED ? 0 : -1;
    cw_elder elder = ingest_elder_record(&r, call->ctx->now_ms());
    encoded_record rec;
    if (ingest_encode_elder(&elder, &rec, e, sizeof(e)))
        return ingest_encoding_failed(err, e);
    ingest_outbox box = {0};
    ingest_outbox_add(&box, CW_TOPIC_ELDERS, r.elder_id, rec);
    cw_redis_batch b = {0};
    int written = cw_state_write_elder(&b, &elder);
    return ingest_publish(call, &box, written, &b, "elder", r.elder_id, hash, err);
}

int ingest_submit_caregiver(ingest_call *call, json_t *body, const char *hash,
                            ingest_outcome *out, api_error *err)
{
    caregiver_req r;
    ingest_caregiver_row held;
    char e[256];
    if (ingest_parse_caregiver(body, &r, err))
        return -1;
    idem_step step =
        ingest_resolve_idempotency(call, "caregiver", r.caregiver_id, hash, 1, out, err);
    if (step != IDEM_GO_ON)
        return step == IDEM_ANSWERED ? 0 : -1;
    /* The person behind a registration never changes: it decides which
     * partition the caregiver's records go to (cw_order_stream_key), and a
     * caregiver's stream must stay in one. */
    ingest_lookup found = ingest_store_caregiver(call, r.caregiver_id, &held);
    if (found == INGEST_UNAVAILABLE)
        return ingest_unavailable(err, "Redis");
    if (found == INGEST_FOUND && strcmp(held.person_id, r.person_id ? r.person_id : "") != 0)
        return ingest_fail(err, 409, "person_fixed", "person_id",
                           "caregiver %s is registered with %s person_id: it cannot change",
                           r.caregiver_id, held.person_id[0] ? "another" : "no");
    cw_caregiver caregiver = ingest_caregiver_record(&r, call->ctx->now_ms());
    encoded_record rec;
    if (ingest_encode_caregiver(&caregiver, &rec, e, sizeof(e)))
        return ingest_encoding_failed(err, e);
    ingest_outbox box = {0};
    ingest_outbox_add(&box, CW_TOPIC_CAREGIVERS, r.caregiver_id, rec);
    cw_redis_batch b = {0};
    int written = cw_state_write_caregiver(&b, &caregiver);
    return ingest_publish(call, &box, written, &b, "caregiver", r.caregiver_id, hash, err);
}

/* Whether a new version would change a contract's historical flag, as its
 * hash keeps it: the payment-scheduler can neither take back a PREPAY nor
 * reopen a historical period it has closed (payment_state.h). "" (a hash
 * written before the flag was kept) is unknown and not checked. */
static int historical_changes(const char *held, int historical)
{
    return held[0] != '\0' && (strcmp(held, "1") == 0) != (historical != 0);
}

int ingest_submit_contract(ingest_call *call, json_t *body, const char *hash,
                           ingest_outcome *out, api_error *err)
{
    contract_req r;
    char held_by[INGEST_FIELD_MAX], held_flag[INGEST_FIELD_MAX], e[256];
    if (ingest_parse_contract(body, &r, err))
        return -1;
    cw_contract contract = ingest_contract_record(&r, call->ctx->now_ms());
    cw_contract_row row;
    if (cw_contract_row_of(&contract, &row) != 0)
        return ingest_fail(err, 400, "out_of_range", "street_ids", "at most %d street_ids",
                           CW_CONTRACT_MAX_STREETS);
    char cover[CW_CONTRACT_COVER_MAX];
    if (cw_contract_cover_entry(&row, cover, sizeof(cover)))
        return ingest_fail(err, 400, "out_of_range", "street_ids",
                           "street_ids are too long together (at most %d bytes)",
                           CW_CONTRACT_COVER_MAX - 48);
    ingest_lookup found = ingest_store_contract(call, r.contract_id, held_by, held_flag);
    if (found == INGEST_UNAVAILABLE)
        return ingest_unavailable(err, "Redis");
    idem_step step =
        ingest_resolve_idempotency(call, "contract", r.contract_id, hash, 1, out, err);
    if (step != IDEM_GO_ON)
        return step == IDEM_ANSWERED ? 0 : -1;
    /* The old provider's contract index would keep the contract. */
    if (found == INGEST_FOUND && strcmp(held_by, r.provider_id) != 0)
        return ingest_fail(err, 409, "conflict", "provider_id",
                           "contract %s belongs to another provider; a contract's provider does "
                           "not change: register a new contract",
                           r.contract_id);
    if (found == INGEST_FOUND && historical_changes(held_flag, r.historical))
        return ingest_fail(err, 409, "conflict", "historical",
                           "contract %s was registered %s historical; a contract's historical "
                           "flag does not change: register a new contract",
                           r.contract_id, r.historical ? "as not" : "as");
    encoded_record rec;
    if (ingest_encode_contract(&contract, &rec, e, sizeof(e)))
        return ingest_encoding_failed(err, e);
    ingest_outbox box = {0};
    ingest_outbox_add(&box, CW_TOPIC_CONTRACTS, r.contract_id, rec);
    cw_redis_batch b = {0};
    int written = cw_state_write_contract(&b, &row); /* its index entry fits: checked above */
    return ingest_publish(call, &box, written, &b, "contract", r.contract_id, hash, err);
}

int ingest_elder_status(ingest_ctx *ctx, const char *elder_id, json_t *body,
                        const cw_role *role, ingest_outcome *out, api_error *err)
{
    elder_status_req r;
    char street[INGEST_FIELD_MAX], field[96], e[256];
    ingest_call call = ingest_call_single(ctx);
    memset(out, 0, sizeof(*out));
    if (ingest_check_rebuilding(ctx, err) || ingest_request_role_check(REQ_ELDER, role, err) ||
        ingest_check_path(elder_id, "elder_id", "elder", body, err) ||
        ingest_parse_elder_status(body, &r, err))
        return -1;
    ingest_lookup found = ingest_store_elder_street(&call, elder_id, street);
    if (found == INGEST_UNAVAILABLE)
        return ingest_unavailable(err, "Redis");
    if (found == INGEST_MISSING)
        return ingest_fail(err, 404, "unknown_elder", "elder_id", "elder %s is not registered",
                           elder_id);
    snprintf(out->id, sizeof(out->id), "%s", elder_id);
    cw_elder_period period = {.status = r.status, .from = r.from_ms, .has_to = r.has_to,
                              .to = r.to_ms};
    if (cw_elder_period_field(&period, field, sizeof(field)) != 0)
        return ingest_fail(err, 400, "invalid_value", "status", "cannot record this period");
    found = ingest_store_period_known(&call, elder_id, &period);
    if (found == INGEST_UNAVAILABLE)
        return ingest_unavailable(err, "Redis");
    out->duplicate = found == INGEST_FOUND;
    if (out->duplicate)
        return 0;
    int64_t at = ctx->now_ms();
    if (ctx->replay_mode && ingest_receipt_time(&call, 0, &at, err))
        return -1;
    cw_elder_status_changed status = ingest_elder_status_record(elder_id, &r, at);
    encoded_record rec;
    if (ingest_encode_elder_status(&status, &rec, e, sizeof(e)))
        return ingest_encoding_failed(err, e);
    ingest_outbox box = {0};
    ingest_outbox_add(&box, CW_TOPIC_ELDER_STATUS, elder_id, rec);
    cw_redis_batch b = {0};
    if (cw_state_write_elder_status(&b, &status) != 0) {
        ingest_outbox_free(&box);
        return ingest_fail(err, 400, "invalid_value", "status", "cannot record this period");
    }
    return ingest_send_then_commit(&call, &box, &b, err);
}

int ingest_unfreeze(ingest_ctx *ctx, const char *caregiver_id, json_t *body,
                    const cw_role *role, ingest_outcome *out, api_error *err)
{
    unfreeze_req r;
    ingest_caregiver_row caregiver;
    char e[256];
    ingest_call call = ingest_call_single(ctx);
    memset(out, 0, sizeof(*out));
    if (ingest_check_rebuilding(ctx, err))
        return -1;
    if (!ingest_may_unfreeze(role))
        return ingest_fail(err, 403, "forbidden", "", "only an admin key may unfreeze");
    if (ingest_check_path(caregiver_id, "caregiver_id", "caregiver", body, err) ||
        ingest_parse_unfreeze(body, &r, err))
        return -1;
    ingest_lookup found = ingest_store_caregiver(&call, caregiver_id, &caregiver);
    if (found == INGEST_UNAVAILABLE)
        return ingest_unavailable(err, "Redis");
    if (found == INGEST_MISSING)
        return ingest_fail(err, 404, "unknown_caregiver", "caregiver_id",
                           "caregiver %s is not registered", caregiver_id);
    int64_t at = ctx->now_ms();
    if (ctx->replay_mode && ingest_receipt_time(&call, 0, &at, err))
        return -1;
    /* Into the caregiver's partition of visit.events (its person's, when it
     * has one), behind every event accepted before it: the overlap-detector
     * lifts the freeze when it reaches it (and publishes it on
     * caregiver.status), so every event accepted before this answer is
     * judged frozen (docs/design.md §4.1). */
    cw_caregiver_status_changed status = ingest_unfreeze_record(caregiver_id, r.reason, at);
    encoded_record rec;
    if (ingest_encode_status(&status, &rec, e, sizeof(e)))
        return ingest_encoding_failed(err, e);
    ingest_outbox box = {0};
    ingest_outbox_add(&box, CW_TOPIC_VISIT_EVENTS,
                      caregiver.person_id[0] ? caregiver.person_id : caregiver_id, rec);
    if (ingest_outbox_send(&call, &box, err))
        return -1;
    snprintf(out->id, sizeof(out->id), "%s", caregiver_id);
    return 0;
}
