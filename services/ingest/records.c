/* Building ingest's records: plain fills of the typed records, encoded with
 * the generated writers. A writer that fails means the code and the .avsc
 * disagree (or memory ran out), which the error names. */
#include "ingest/records.h"

#include <stdio.h>
#include <string.h>

#include "avro_codec.h"
#include "check_result.h"

cw_elder ingest_elder_record(const elder_req *r, int64_t updated_at)
{
    return (cw_elder){.elder_id = r->elder_id,
                      .street_id = r->street_id,
                      .community_id = r->community_id,
                      .home = {.lat = r->lat, .lon = r->lon, .crs = r->crs},
                      .visits_per_month = (int32_t)r->visits_per_month,
                      .minutes_per_visit = (int32_t)r->minutes_per_visit,
                      .has_geofence_radius_m = r->has_geofence,
                      .geofence_radius_m = (int32_t)r->geofence_radius_m,
                      .updated_at = updated_at};
}

cw_caregiver ingest_caregiver_record(const caregiver_req *r, int64_t updated_at)
{
    return (cw_caregiver){.caregiver_id = r->caregiver_id,
                          .provider_id = r->provider_id,
                          .certified = r->certified,
                          .level = r->level,
                          .updated_at = updated_at,
                          .person_id = r->person_id};
}

cw_contract ingest_contract_record(const contract_req *r, int64_t updated_at)
{
    /* The record's array is not const-qualified; the writer only reads it. */
    return (cw_contract){.contract_id = r->contract_id,
                         .provider_id = r->provider_id,
                         .period_start = r->period_start,
                         .period_end = r->period_end,
                         .budget_cents = r->budget_cents,
                         .unit_price_cents = r->unit_price_cents,
                         .prepay_ratio_ppm = (int32_t)r->prepay_ratio_ppm,
                         .invalid_deduction_cents = r->invalid_deduction_cents,
                         .publication_lag_days = (int32_t)r->publication_lag_days,
                         .street_ids = (const char **)r->street_ids,
                         .street_ids_count = r->street_count,
                         .updated_at = updated_at,
                         .historical = r->historical,
                         .provider_account = r->provider_account,
                         .treasury_account = r->treasury_account};
}

cw_elder_status_changed ingest_elder_status_record(const char *elder_id,
                                                   const elder_status_req *r,
                                                   int64_t received_at)
{
    return (cw_elder_status_changed){.elder_id = elder_id,
                                     .status = r->status,
                                     .from = r->from_ms,
                                     .has_to = r->has_to,
                                     .to = r->to_ms,
                                     .received_at = received_at};
}

cw_order_assigned ingest_order_record(const order_req *r, const char *provider_id, int certified,
                                      const char *person_id, int64_t received_at)
{
    return (cw_order_assigned){.order_id = r->order_id,
                               .elder_id = r->elder_id,
                               .caregiver_id = r->caregiver_id,
                               .provider_id = provider_id,
                               .service_type = r->service_type,
                               .scheduled_start = r->scheduled_start_ms,
                               .scheduled_minutes = (int32_t)r->scheduled_minutes,
                               .received_at = received_at,
                               .has_caregiver_certified = 1,
                               .caregiver_certified = certified,
                               .person_id = person_id};
}

/* A change's kind as the schemas name it (APPROVE is no kind of change). */
static cw_order_change_kind change_kind(change_action a)
{
    return a == CHANGE_RESCHEDULE ? CW_ORDER_CHANGE_KIND_RESCHEDULE
           : a == CHANGE_REASSIGN ? CW_ORDER_CHANGE_KIND_REASSIGN
                                  : CW_ORDER_CHANGE_KIND_CANCEL;
}

cw_order_assigned ingest_revision_record(const order_revision *r)
{
    return (cw_order_assigned){
        .order_id = r->order_id,
        .elder_id = r->elder_id,
        .caregiver_id = r->caregiver_id,
        .provider_id = r->provider_id,
        .service_type = r->service_type,
        .scheduled_start = r->scheduled_start,
        .scheduled_minutes = (int32_t)r->scheduled_minutes,
        .received_at = r->received_at,
        .has_caregiver_certified = 1,
        .caregiver_certified = r->certified,
        .person_id = r->person_id,
        .has_revision = 1,
        .revision = (int32_t)r->revision,
        .has_change = 1,
        .change = {.kind = change_kind(r->kind),
                   .reason_code = r->reason_code,
                   .note = r->note,
                   .requested_at = r->requested_at,
                   .approved_by = r->approved_by,
                   .previous_caregiver_id = r->previous_caregiver_id,
                   .has_previous_scheduled_start = 1,
                   .previous_scheduled_start = r->previous_scheduled_start,
                   .previous_person_id = r->previous_person_id,
                   .change_id = r->change_id}};
}

cw_order_change ingest_change_record(const order_change_record *c)
{
    int approved = c->approved_by != NULL;
    return (cw_order_change){.change_id = c->change_id,
                             .order_id = c->order_id,
                             .provider_id = c->provider_id,
                             .street_id = c->street_id,
                             .kind = change_kind(c->kind),
                             .reason_code = c->reason_code,
                             .note = c->note,
                             .requested_at = c->requested_at,
                             .requested_by = c->requested_by,
                             .scheduled_start = c->scheduled_start,
                             .caregiver_id = c->caregiver_id,
                             .state = c->state,
                             .approved_by = c->approved_by,
                             .has_approved_at = approved,
                             .approved_at = c->approved_at,
                             .approval_note = c->approval_note,
                             .has_new_scheduled_start = c->has_new_start,
                             .new_scheduled_start = c->new_scheduled_start,
                             .new_caregiver_id = c->new_caregiver_id,
                             .has_revision = c->revision > 0,
                             .revision = (int32_t)c->revision};
}

cw_visit_event ingest_visit_record(const visit_req *r, const order_refs *refs,
                                   int64_t received_at)
{
    int is_check_in = r->kind == CW_VISIT_KIND_CHECK_IN;
    /* The score belongs to the field of its kind; the other stays null. */
    return (cw_visit_event){
        .event_id = r->event_id,
        .kind = r->kind,
        .order_id = r->order_id,
        .caregiver_id = r->caregiver_id,
        .provider_id = refs->provider_id,
        .elder_id = refs->elder_id,
        .at = r->at_ms,
        .received_at = received_at,
        .gps = {.lat = r->gps.lat,
                .lon = r->gps.lon,
                .has_accuracy_m = r->gps.has_accuracy,
                .accuracy_m = r->gps.accuracy_m},
        .has_beidou = r->has_beidou,
        .beidou = {.lat = r->beidou_lat, .lon = r->beidou_lon},
        .has_face_match = is_check_in && r->has_score,
        .face_match = r->score,
        .has_voiceprint_match = !is_check_in && r->has_score,
        .voiceprint_match = r->score,
        .photo_sha256 = r->has_photo ? r->photo_sha256 : NULL,
        .device_id = r->device_id,
        .items = (const char **)r->items, /* read only, as the contract's streets */
        .items_count = r->item_count};
}

cw_evidence ingest_evidence_record(const evidence_req *r, const order_refs *refs,
                                   int64_t received_at, const char *reused_from)
{
    return (cw_evidence){.event_id = r->event_id,
                         .order_id = r->order_id,
                         .caregiver_id = refs->caregiver_id,
                         .provider_id = refs->provider_id,
                         .at = r->at_ms,
                         .received_at = received_at,
                         .watermark_photo_sha256 = r->watermark_photo_sha256,
                         .elder_recording_sha256 = r->elder_recording_sha256,
                         .reused_from_order = reused_from};
}

cw_caregiver_status_changed ingest_unfreeze_record(const char *caregiver_id, const char *reason,
                                                   int64_t at)
{
    return (cw_caregiver_status_changed){.caregiver_id = caregiver_id,
                                         .status = CW_CAREGIVER_STATUS_ACTIVE,
                                         .reason = reason,
                                         .at = at};
}

/* ---- encoding ------------------------------------------------------------ */

/* A fresh value of the schema. 0, or -1 with err. */
static int start(const char *schema_name, const cw_avro_schema **schema, avro_value_t *value,
                 char *err, size_t errlen)
{
    *schema = cw_avro_schema_by_name(schema_name);
    if (*schema == NULL || cw_avro_new_value(*schema, value) != 0) {
        snprintf(err, errlen, "cannot create a %s value (schema not loaded?)", schema_name);
        return -1;
    }
    return 0;
}

/* Encodes the value its writer filled (written: the writer's return) and
 * releases it. */
static int finish(int written, const cw_avro_schema *schema, avro_value_t *value,
                  encoded_record *out, char *err, size_t errlen)
{
    int rc = -1;
    out->data = NULL;
    out->len = 0;
    if (written != 0)
        snprintf(err, errlen, "%s: a field does not fit the schema", schema->name);
    else
        rc = cw_avro_encode(value, schema, &out->data, &out->len, err, errlen);
    avro_value_decref(value);
    return rc;
}

int ingest_encode_elder(const cw_elder *rec, encoded_record *out, char *err, size_t errlen)
{
    const cw_avro_schema *s;
    avro_value_t v;
    if (start("Elder", &s, &v, err, errlen) != 0)
        return -1;
    return finish(cw_elder_write(&v, rec), s, &v, out, err, errlen);
}

int ingest_encode_caregiver(const cw_caregiver *rec, encoded_record *out, char *err,
                            size_t errlen)
{
    const cw_avro_schema *s;
    avro_value_t v;
    if (start("Caregiver", &s, &v, err, errlen) != 0)
        return -1;
    return finish(cw_caregiver_write(&v, rec), s, &v, out, err, errlen);
}

int ingest_encode_contract(const cw_contract *rec, encoded_record *out, char *err, size_t errlen)
{
    const cw_avro_schema *s;
    avro_value_t v;
    if (start("Contract", &s, &v, err, errlen) != 0)
        return -1;
    return finish(cw_contract_write(&v, rec), s, &v, out, err, errlen);
}

int ingest_encode_elder_status(const cw_elder_status_changed *rec, encoded_record *out, char *err,
                               size_t errlen)
{
    const cw_avro_schema *s;
    avro_value_t v;
    if (start("ElderStatusChanged", &s, &v, err, errlen) != 0)
        return -1;
    return finish(cw_elder_status_changed_write(&v, rec), s, &v, out, err, errlen);
}

int ingest_encode_order(const cw_order_assigned *rec, encoded_record *out, char *err,
                        size_t errlen)
{
    const cw_avro_schema *s;
    avro_value_t v;
    if (start("OrderAssigned", &s, &v, err, errlen) != 0)
        return -1;
    return finish(cw_order_assigned_write(&v, rec), s, &v, out, err, errlen);
}

int ingest_encode_change(const cw_order_change *rec, encoded_record *out, char *err,
                         size_t errlen)
{
    const cw_avro_schema *s;
    avro_value_t v;
    if (start("OrderChange", &s, &v, err, errlen) != 0)
        return -1;
    return finish(cw_order_change_write(&v, rec), s, &v, out, err, errlen);
}

int ingest_encode_visit(const cw_visit_event *rec, encoded_record *out, char *err, size_t errlen)
{
    const cw_avro_schema *s;
    avro_value_t v;
    if (start("VisitEvent", &s, &v, err, errlen) != 0)
        return -1;
    return finish(cw_visit_event_write(&v, rec), s, &v, out, err, errlen);
}

int ingest_encode_evidence(const cw_evidence *rec, encoded_record *out, char *err, size_t errlen)
{
    const cw_avro_schema *s;
    avro_value_t v;
    if (start("Evidence", &s, &v, err, errlen) != 0)
        return -1;
    return finish(cw_evidence_write(&v, rec), s, &v, out, err, errlen);
}

int ingest_encode_status(const cw_caregiver_status_changed *rec, encoded_record *out, char *err,
                         size_t errlen)
{
    const cw_avro_schema *s;
    avro_value_t v;
    if (start("CaregiverStatusChanged", &s, &v, err, errlen) != 0)
        return -1;
    return finish(cw_caregiver_status_changed_write(&v, rec), s, &v, out, err, errlen);
}

int ingest_encode_intake_check(const intake_verdict *iv, const char *order_id,
                               const char *caregiver_id, const char *event_id, int64_t at,
                               int64_t produced_at, encoded_record *out, char *err,
                               size_t errlen)
{
    cw_check c = {.order_id = order_id,
                  .caregiver_id = caregiver_id,
                  .event_id = event_id,
                  .rule = iv->rule,
                  .outcome = iv->outcome,
                  .has_measured = iv->has_measured,
                  .measured = iv->measured,
                  .has_threshold = iv->has_threshold,
                  .threshold = iv->threshold,
                  .unit = iv->unit,
                  .checker = "ingest",
                  .at = at,
                  .produced_at = produced_at};
    if (cw_check_set_id(&c, event_id, iv->rule) != 0) {
        snprintf(err, errlen, "check id too long");
        return -1;
    }
    return cw_check_encode(&c, &out->data, &out->len, err, errlen);
}
