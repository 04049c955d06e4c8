/* Fuzzes ingest's request bodies: the parsers of services/ingest/requests.c
 * and, for a body they accept, the record ingest would publish for it
 * (services/ingest/records.c), decoded back with common/avro_codec.c.
 *
 * Input: byte 0 picks the request (modulo 12: elder, caregiver, contract,
 * order, check-in, check-out, evidence, unfreeze, an order's cancel,
 * reschedule, reassign, approve-change); the rest is the body,
 * loaded as http_server.c loads it (json_loadb, JSON_REJECT_DUPLICATES).
 * Like submit.c, only a JSON object reaches a parser.
 *
 * Invariant checked: an accepted body always yields a record that encodes
 * and decodes; anything else aborts (a finding).
 *
 * Ownership: the JSON document is this file's (json_decref at the end);
 * the parsed structs and the typed records borrow its strings; the encoded
 * record is malloc'd by records.c and freed here; the decoded value is
 * released here. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "log.h"
#include "ingest/records.h"
#include "ingest/requests.h"

#define UPDATED_AT 1714521600000LL /* 2024-05-01T00:00:00Z */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    cw_log_set_level(CW_LOG_ERROR);
    if (cw_avro_init(err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_requests: %s\n", err);
        abort();
    }
    atexit(cw_avro_shutdown);
    return 0;
}

/* The record's bytes must decode: records.c and the codec agree. */
static void check_record(int rc, encoded_record *rec, const char *what, const char *err)
{
    if (rc != 0) {
        fprintf(stderr, "fuzz_requests: accepted %s does not encode: %s\n", what, err);
        abort();
    }
    const cw_avro_schema *schema;
    avro_value_t value;
    char derr[256];
    if (cw_avro_decode(rec->data, rec->len, &schema, &value, derr, sizeof(derr)) != 0) {
        fprintf(stderr, "fuzz_requests: %s record does not decode: %s\n", what, derr);
        abort();
    }
    avro_value_decref(&value);
    free(rec->data);
}

/* A change the body asks for, as the revision and the OrderChange ingest
 * would publish if it took effect. */
static void parse_change_and_encode(change_action action, json_t *body)
{
    change_req r;
    api_error aerr;
    encoded_record rec;
    char err[256] = "";
    if (ingest_parse_change(body, action, &r, &aerr) != 0)
        return;
    int reschedule = action == CHANGE_RESCHEDULE, reassign = action == CHANGE_REASSIGN;
    order_revision rev = {.order_id = "P001:O1",
                          .elder_id = "E1",
                          .caregiver_id = reassign ? r.caregiver_id : "CG1",
                          .provider_id = "P001",
                          .service_type = "bathing",
                          .certified = 1,
                          .scheduled_start = reschedule ? r.scheduled_start_ms : UPDATED_AT,
                          .scheduled_minutes = 60,
                          .received_at = UPDATED_AT,
                          .revision = 1,
                          .change_id = "P001:O1@1",
                          .kind = action,
                          .reason_code = r.reason_code,
                          .note = r.note,
                          .requested_at = UPDATED_AT,
                          .previous_caregiver_id = "CG1",
                          .previous_scheduled_start = UPDATED_AT};
    cw_order_assigned revision = ingest_revision_record(&rev);
    check_record(ingest_encode_order(&revision, &rec, err, sizeof(err)), &rec, "revision", err);
    order_change_record c = {.change_id = "P001:O1@1",
                             .order_id = "P001:O1",
                             .provider_id = "P001",
                             .street_id = "S01",
                             .kind = action,
                             .reason_code = r.reason_code,
                             .note = r.note,
                             .requested_at = UPDATED_AT,
                             .requested_by = "provider:P001",
                             .scheduled_start = UPDATED_AT,
                             .caregiver_id = "CG1",
                             .state = CW_ORDER_CHANGE_STATE_PENDING,
                             .has_new_start = reschedule,
                             .new_scheduled_start = r.scheduled_start_ms,
                             .new_caregiver_id = reassign ? r.caregiver_id : NULL};
    cw_order_change change = ingest_change_record(&c);
    check_record(ingest_encode_change(&change, &rec, err, sizeof(err)), &rec, "change", err);
}

static void parse_and_encode(unsigned which, json_t *body)
{
    static const order_refs refs = {"P001", "E1", "CG1"};
    api_error aerr;
    encoded_record rec;
    char err[256] = "";
    switch (which) {
    case 0: {
        elder_req r;
        if (ingest_parse_elder(body, &r, &aerr) == 0) {
            cw_elder elder = ingest_elder_record(&r, UPDATED_AT);
            check_record(ingest_encode_elder(&elder, &rec, err, sizeof(err)), &rec, "elder", err);
        }
        break;
    }
    case 1: {
        caregiver_req r;
        if (ingest_parse_caregiver(body, &r, &aerr) == 0) {
            cw_caregiver caregiver = ingest_caregiver_record(&r, UPDATED_AT);
            check_record(ingest_encode_caregiver(&caregiver, &rec, err, sizeof(err)), &rec,
                         "caregiver", err);
        }
        break;
    }
    case 2: {
        contract_req r;
        if (ingest_parse_contract(body, &r, &aerr) == 0) {
            cw_contract contract = ingest_contract_record(&r, UPDATED_AT);
            check_record(ingest_encode_contract(&contract, &rec, err, sizeof(err)), &rec,
                         "contract", err);
        }
        break;
    }
    case 3: {
        order_req r;
        if (ingest_parse_order(body, &r, &aerr) == 0) {
            cw_order_assigned order =
                ingest_order_record(&r, refs.provider_id, 1, NULL, UPDATED_AT);
            check_record(ingest_encode_order(&order, &rec, err, sizeof(err)), &rec, "order", err);
        }
        break;
    }
    case 4:
    case 5: {
        visit_req r;
        cw_visit_kind kind = which == 4 ? CW_VISIT_KIND_CHECK_IN : CW_VISIT_KIND_CHECK_OUT;
        if (ingest_parse_visit(body, kind, &r, &aerr) == 0) {
            cw_visit_event event = ingest_visit_record(&r, &refs, UPDATED_AT);
            check_record(ingest_encode_visit(&event, &rec, err, sizeof(err)), &rec, "visit", err);
        }
        break;
    }
    case 6: {
        evidence_req r;
        if (ingest_parse_evidence(body, &r, &aerr) == 0) {
            cw_evidence evidence = ingest_evidence_record(&r, &refs, UPDATED_AT, NULL);
            check_record(ingest_encode_evidence(&evidence, &rec, err, sizeof(err)), &rec,
                         "evidence", err);
        }
        break;
    }
    case 7: {
        unfreeze_req r;
        ingest_parse_unfreeze(body, &r, &aerr);
        break;
    }
    case 11: {
        approve_req r;
        ingest_parse_approve(body, &r, &aerr);
        break;
    }
    default:
        parse_change_and_encode((change_action)(which - 8), body);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL)
        return 0;
    if (json_is_object(body))
        parse_and_encode(data[0] % 12u, body);
    json_decref(body);
    return 0;
}
