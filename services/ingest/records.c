/* Building ingest's Avro records. Each public function creates a value of
 * its schema, fills it field by field, encodes it and releases the value;
 * any failing setter means the code and the .avsc disagree, which the
 * error message names. */
#include "records.h"

#include <stdio.h>
#include <string.h>

#include "avro_codec.h"
#include "check_result.h"

typedef struct {
    const cw_avro_schema *schema;
    avro_value_t value;
    int failed;
    const char *failed_field;
} record_builder;

static int builder_start(record_builder *b, const char *schema_name, char *err, size_t errlen)
{
    memset(b, 0, sizeof(*b));
    b->schema = cw_avro_schema_by_name(schema_name);
    if (b->schema == NULL) {
        snprintf(err, errlen, "schema %s not loaded", schema_name);
        return -1;
    }
    if (cw_avro_new_value(b->schema, &b->value) != 0) {
        snprintf(err, errlen, "cannot create a %s value", schema_name);
        return -1;
    }
    return 0;
}

/* Records the first failing field so one check at the end covers all. */
static void builder_check(record_builder *b, int rc, const char *field)
{
    if (rc != 0 && !b->failed) {
        b->failed = 1;
        b->failed_field = field;
    }
}

static int builder_finish(record_builder *b, encoded_record *out, char *err, size_t errlen)
{
    int rc = -1;
    out->data = NULL;
    out->len = 0;
    if (b->failed) {
        snprintf(err, errlen, "%s: cannot set field %s", b->schema->name, b->failed_field);
    } else if (cw_avro_encode(&b->value, b->schema, &out->data, &out->len, err, errlen) == 0) {
        rc = 0;
    }
    avro_value_decref(&b->value);
    return rc;
}

#define SET(b, call, field) builder_check((b), (call), (field))

int record_elder(const elder_req *r, int64_t updated_at, encoded_record *out, char *err,
                 size_t errlen)
{
    record_builder b;
    if (builder_start(&b, "Elder", err, errlen) != 0)
        return -1;
    avro_value_t *v = &b.value;
    avro_value_t home;
    SET(&b, cw_av_set_str(v, "elder_id", r->elder_id), "elder_id");
    SET(&b, cw_av_set_str(v, "street_id", r->street_id), "street_id");
    SET(&b, cw_av_set_str(v, "community_id", r->community_id), "community_id");
    if (cw_av_field(v, "home", &home) == 0) {
        SET(&b, cw_av_set_double(&home, "lat", r->lat), "home.lat");
        SET(&b, cw_av_set_double(&home, "lon", r->lon), "home.lon");
        SET(&b, cw_av_set_enum(&home, "crs", crs_name(r->crs)), "home.crs");
    } else {
        SET(&b, -1, "home");
    }
    SET(&b, cw_av_set_int(v, "visits_per_month", (int32_t)r->visits_per_month),
        "visits_per_month");
    SET(&b, cw_av_set_int(v, "minutes_per_visit", (int32_t)r->minutes_per_visit),
        "minutes_per_visit");
    SET(&b, cw_av_set_opt_int(v, "geofence_radius_m", r->has_geofence,
                              (int32_t)r->geofence_radius_m),
        "geofence_radius_m");
    SET(&b, cw_av_set_long(v, "updated_at", updated_at), "updated_at");
    return builder_finish(&b, out, err, errlen);
}

int record_caregiver(const caregiver_req *r, int64_t updated_at, encoded_record *out, char *err,
                     size_t errlen)
{
    record_builder b;
    if (builder_start(&b, "Caregiver", err, errlen) != 0)
        return -1;
    avro_value_t *v = &b.value;
    SET(&b, cw_av_set_str(v, "caregiver_id", r->caregiver_id), "caregiver_id");
    SET(&b, cw_av_set_str(v, "provider_id", r->provider_id), "provider_id");
    SET(&b, cw_av_set_bool(v, "certified", r->certified), "certified");
    SET(&b, cw_av_set_opt_str(v, "level", r->level), "level");
    SET(&b, cw_av_set_long(v, "updated_at", updated_at), "updated_at");
    SET(&b, cw_av_set_opt_str(v, "person_id", r->person_id), "person_id");
    return builder_finish(&b, out, err, errlen);
}

int record_contract(const contract_req *r, int64_t updated_at, encoded_record *out, char *err,
                    size_t errlen)
{
    record_builder b;
    if (builder_start(&b, "Contract", err, errlen) != 0)
        return -1;
    avro_value_t *v = &b.value;
    SET(&b, cw_av_set_str(v, "contract_id", r->contract_id), "contract_id");
    SET(&b, cw_av_set_str(v, "provider_id", r->provider_id), "provider_id");
    SET(&b, cw_av_set_str(v, "period_start", r->period_start), "period_start");
    SET(&b, cw_av_set_str(v, "period_end", r->period_end), "period_end");
    SET(&b, cw_av_set_long(v, "budget_cents", r->budget_cents), "budget_cents");
    SET(&b, cw_av_set_long(v, "unit_price_cents", r->unit_price_cents), "unit_price_cents");
    SET(&b, cw_av_set_int(v, "prepay_ratio_ppm", (int32_t)r->prepay_ratio_ppm),
        "prepay_ratio_ppm");
    SET(&b, cw_av_set_long(v, "invalid_deduction_cents", r->invalid_deduction_cents),
        "invalid_deduction_cents");
    SET(&b, cw_av_set_int(v, "publication_lag_days", (int32_t)r->publication_lag_days),
        "publication_lag_days");
    SET(&b, cw_av_set_str_array(v, "street_ids", r->street_ids, r->street_count), "street_ids");
    SET(&b, cw_av_set_long(v, "updated_at", updated_at), "updated_at");
    SET(&b, cw_av_set_bool(v, "historical", r->historical), "historical");
    SET(&b, cw_av_set_opt_str(v, "provider_account", r->provider_account), "provider_account");
    SET(&b, cw_av_set_opt_str(v, "treasury_account", r->treasury_account), "treasury_account");
    return builder_finish(&b, out, err, errlen);
}

int record_elder_status(const char *elder_id, const elder_status_req *r, int64_t received_at,
                        encoded_record *out, char *err, size_t errlen)
{
    record_builder b;
    if (builder_start(&b, "ElderStatusChanged", err, errlen) != 0)
        return -1;
    avro_value_t *v = &b.value;
    SET(&b, cw_av_set_str(v, "elder_id", elder_id), "elder_id");
    SET(&b, cw_av_set_enum(v, "status", r->status), "status");
    SET(&b, cw_av_set_long(v, "from", r->from_ms), "from");
    SET(&b, cw_av_set_opt_long(v, "to", r->has_to, r->to_ms), "to");
    SET(&b, cw_av_set_long(v, "received_at", received_at), "received_at");
    return builder_finish(&b, out, err, errlen);
}

int record_order(const order_req *r, const char *provider_id, int certified,
                 const char *person_id, int64_t received_at, encoded_record *out, char *err,
                 size_t errlen)
{
    record_builder b;
    if (builder_start(&b, "OrderAssigned", err, errlen) != 0)
        return -1;
    avro_value_t *v = &b.value;
    SET(&b, cw_av_set_str(v, "order_id", r->order_id), "order_id");
    SET(&b, cw_av_set_str(v, "elder_id", r->elder_id), "elder_id");
    SET(&b, cw_av_set_str(v, "caregiver_id", r->caregiver_id), "caregiver_id");
    SET(&b, cw_av_set_str(v, "provider_id", provider_id), "provider_id");
    SET(&b, cw_av_set_str(v, "service_type", r->service_type), "service_type");
    SET(&b, cw_av_set_long(v, "scheduled_start", r->scheduled_start_ms), "scheduled_start");
    SET(&b, cw_av_set_int(v, "scheduled_minutes", (int32_t)r->scheduled_minutes),
        "scheduled_minutes");
    SET(&b, cw_av_set_long(v, "received_at", received_at), "received_at");
    SET(&b, cw_av_set_bool(v, "caregiver_certified", certified), "caregiver_certified");
    SET(&b, cw_av_set_opt_str(v, "person_id", person_id), "person_id");
    return builder_finish(&b, out, err, errlen);
}

int record_order_revision(const order_revision *r, encoded_record *out, char *err,
                          size_t errlen)
{
    record_builder b;
    if (builder_start(&b, "OrderAssigned", err, errlen) != 0)
        return -1;
    avro_value_t *v = &b.value;
    avro_value_t change;
    SET(&b, cw_av_set_str(v, "order_id", r->order_id), "order_id");
    SET(&b, cw_av_set_str(v, "elder_id", r->elder_id), "elder_id");
    SET(&b, cw_av_set_str(v, "caregiver_id", r->caregiver_id), "caregiver_id");
    SET(&b, cw_av_set_str(v, "provider_id", r->provider_id), "provider_id");
    SET(&b, cw_av_set_str(v, "service_type", r->service_type), "service_type");
    SET(&b, cw_av_set_long(v, "scheduled_start", r->scheduled_start), "scheduled_start");
    SET(&b, cw_av_set_int(v, "scheduled_minutes", (int32_t)r->scheduled_minutes),
        "scheduled_minutes");
    SET(&b, cw_av_set_long(v, "received_at", r->received_at), "received_at");
    SET(&b, cw_av_set_bool(v, "caregiver_certified", r->certified), "caregiver_certified");
    SET(&b, cw_av_set_opt_str(v, "person_id", r->person_id), "person_id");
    SET(&b, cw_av_set_int(v, "revision", (int32_t)r->revision), "revision");
    if (cw_av_set_present(v, "change", &change) == 0) {
        SET(&b, cw_av_set_enum(&change, "kind", r->kind), "change.kind");
        SET(&b, cw_av_set_str(&change, "reason_code", r->reason_code), "change.reason_code");
        SET(&b, cw_av_set_opt_str(&change, "note", r->note), "change.note");
        SET(&b, cw_av_set_long(&change, "requested_at", r->requested_at), "change.requested_at");
        SET(&b, cw_av_set_opt_str(&change, "approved_by", r->approved_by), "change.approved_by");
        SET(&b, cw_av_set_str(&change, "previous_caregiver_id", r->previous_caregiver_id),
            "change.previous_caregiver_id");
        SET(&b, cw_av_set_long(&change, "previous_scheduled_start", r->previous_scheduled_start),
            "change.previous_scheduled_start");
        SET(&b, cw_av_set_opt_str(&change, "previous_person_id", r->previous_person_id),
            "change.previous_person_id");
        SET(&b, cw_av_set_str(&change, "change_id", r->change_id), "change.change_id");
    } else {
        SET(&b, -1, "change");
    }
    return builder_finish(&b, out, err, errlen);
}

int record_order_change(const order_change_record *c, encoded_record *out, char *err,
                        size_t errlen)
{
    record_builder b;
    if (builder_start(&b, "OrderChange", err, errlen) != 0)
        return -1;
    avro_value_t *v = &b.value;
    int approved = c->approved_by != NULL;
    SET(&b, cw_av_set_str(v, "change_id", c->change_id), "change_id");
    SET(&b, cw_av_set_str(v, "order_id", c->order_id), "order_id");
    SET(&b, cw_av_set_str(v, "provider_id", c->provider_id), "provider_id");
    SET(&b, cw_av_set_str(v, "street_id", c->street_id), "street_id");
    SET(&b, cw_av_set_enum(v, "kind", c->kind), "kind");
    SET(&b, cw_av_set_str(v, "reason_code", c->reason_code), "reason_code");
    SET(&b, cw_av_set_opt_str(v, "note", c->note), "note");
    SET(&b, cw_av_set_long(v, "requested_at", c->requested_at), "requested_at");
    SET(&b, cw_av_set_str(v, "requested_by", c->requested_by), "requested_by");
    SET(&b, cw_av_set_long(v, "scheduled_start", c->scheduled_start), "scheduled_start");
    SET(&b, cw_av_set_str(v, "caregiver_id", c->caregiver_id), "caregiver_id");
    SET(&b, cw_av_set_enum(v, "state", c->state), "state");
    SET(&b, cw_av_set_opt_str(v, "approved_by", c->approved_by), "approved_by");
    SET(&b, cw_av_set_opt_long(v, "approved_at", approved, c->approved_at), "approved_at");
    SET(&b, cw_av_set_opt_str(v, "approval_note", c->approval_note), "approval_note");
    SET(&b, cw_av_set_opt_long(v, "new_scheduled_start", c->has_new_start,
                               c->new_scheduled_start),
        "new_scheduled_start");
    SET(&b, cw_av_set_opt_str(v, "new_caregiver_id", c->new_caregiver_id), "new_caregiver_id");
    SET(&b, cw_av_set_opt_int(v, "revision", c->revision > 0, (int32_t)c->revision),
        "revision");
    return builder_finish(&b, out, err, errlen);
}

int record_visit(const visit_req *r, const order_refs *refs, int64_t received_at,
                 encoded_record *out, char *err, size_t errlen)
{
    record_builder b;
    if (builder_start(&b, "VisitEvent", err, errlen) != 0)
        return -1;
    avro_value_t *v = &b.value;
    avro_value_t gps, beidou;
    int is_check_in = r->kind == VISIT_CHECK_IN;

    SET(&b, cw_av_set_str(v, "event_id", r->event_id), "event_id");
    SET(&b, cw_av_set_enum(v, "kind", is_check_in ? "CHECK_IN" : "CHECK_OUT"), "kind");
    SET(&b, cw_av_set_str(v, "order_id", r->order_id), "order_id");
    SET(&b, cw_av_set_str(v, "caregiver_id", r->caregiver_id), "caregiver_id");
    SET(&b, cw_av_set_str(v, "provider_id", refs->provider_id), "provider_id");
    SET(&b, cw_av_set_str(v, "elder_id", refs->elder_id), "elder_id");
    SET(&b, cw_av_set_long(v, "at", r->at_ms), "at");
    SET(&b, cw_av_set_long(v, "received_at", received_at), "received_at");
    if (cw_av_field(v, "gps", &gps) == 0) {
        SET(&b, cw_av_set_double(&gps, "lat", r->gps.lat), "gps.lat");
        SET(&b, cw_av_set_double(&gps, "lon", r->gps.lon), "gps.lon");
        SET(&b, cw_av_set_opt_double(&gps, "accuracy_m", r->gps.has_accuracy, r->gps.accuracy_m),
            "gps.accuracy_m");
    } else {
        SET(&b, -1, "gps");
    }
    if (r->has_beidou) {
        if (cw_av_set_present(v, "beidou", &beidou) == 0) {
            SET(&b, cw_av_set_double(&beidou, "lat", r->beidou_lat), "beidou.lat");
            SET(&b, cw_av_set_double(&beidou, "lon", r->beidou_lon), "beidou.lon");
        } else {
            SET(&b, -1, "beidou");
        }
    }
    /* The score belongs to the field of its kind; the other stays null. */
    SET(&b, cw_av_set_opt_double(v, "face_match", is_check_in && r->has_score, r->score),
        "face_match");
    SET(&b, cw_av_set_opt_double(v, "voiceprint_match", !is_check_in && r->has_score, r->score),
        "voiceprint_match");
    SET(&b, cw_av_set_opt_str(v, "photo_sha256", r->has_photo ? r->photo_sha256 : NULL),
        "photo_sha256");
    SET(&b, cw_av_set_opt_str(v, "device_id", r->device_id), "device_id");
    SET(&b, cw_av_set_str_array(v, "items", r->items, r->item_count), "items");
    return builder_finish(&b, out, err, errlen);
}

int record_evidence(const evidence_req *r, const order_refs *refs, int64_t received_at,
                    const char *reused_from, encoded_record *out, char *err, size_t errlen)
{
    record_builder b;
    if (builder_start(&b, "Evidence", err, errlen) != 0)
        return -1;
    avro_value_t *v = &b.value;
    SET(&b, cw_av_set_str(v, "event_id", r->event_id), "event_id");
    SET(&b, cw_av_set_str(v, "order_id", r->order_id), "order_id");
    SET(&b, cw_av_set_str(v, "caregiver_id", refs->caregiver_id), "caregiver_id");
    SET(&b, cw_av_set_str(v, "provider_id", refs->provider_id), "provider_id");
    SET(&b, cw_av_set_long(v, "at", r->at_ms), "at");
    SET(&b, cw_av_set_long(v, "received_at", received_at), "received_at");
    SET(&b, cw_av_set_str(v, "watermark_photo_sha256", r->watermark_photo_sha256),
        "watermark_photo_sha256");
    SET(&b, cw_av_set_str(v, "elder_recording_sha256", r->elder_recording_sha256),
        "elder_recording_sha256");
    SET(&b, cw_av_set_opt_str(v, "reused_from_order", reused_from), "reused_from_order");
    return builder_finish(&b, out, err, errlen);
}

int record_intake_check(const intake_verdict *iv, const char *order_id, const char *caregiver_id,
                        const char *event_id, int64_t at, int64_t produced_at,
                        encoded_record *out, char *err, size_t errlen)
{
    cw_check c = {.order_id = order_id,
                  .caregiver_id = caregiver_id,
                  .event_id = event_id,
                  .rule = iv->rule,
                  .outcome = (cw_outcome)iv->outcome,
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

int record_status_changed(const char *caregiver_id, const char *status, const char *reason,
                          const char *order_id, int64_t at, encoded_record *out, char *err,
                          size_t errlen)
{
    record_builder b;
    if (builder_start(&b, "CaregiverStatusChanged", err, errlen) != 0)
        return -1;
    avro_value_t *v = &b.value;
    SET(&b, cw_av_set_str(v, "caregiver_id", caregiver_id), "caregiver_id");
    SET(&b, cw_av_set_enum(v, "status", status), "status");
    SET(&b, cw_av_set_str(v, "reason", reason), "reason");
    SET(&b, cw_av_set_opt_str(v, "order_id", order_id), "order_id");
    SET(&b, cw_av_set_long(v, "at", at), "at");
    return builder_finish(&b, out, err, errlen);
}
