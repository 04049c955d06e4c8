#include "ingest/requests.h"

#include <math.h>
#include <string.h>

#include "ingest/json_fields.h"

/* Bounds that keep values meaningful and their arithmetic far from overflow:
 * a visit lasts at most a day; money stays below 10^15 cents. */
#define MAX_MINUTES 1440
/* A per-home GEO_DISTANCE radius above this is no geofence at all. */
#define MAX_GEOFENCE_M 1000
#define MAX_CENTS 1000000000000000LL
/* An account name on a contract (and on the payment instructions). */
#define MAX_ACCOUNT_LEN 64

/* Batch lines carry their "type" beside the record's own fields. */
#define COMMON_FIELDS "type"

static int parse_crs(json_t *home, cw_crs *out, api_error *err)
{
    const char *crs;
    *out = CW_CRS_WGS84;
    if (ingest_json_optional_text(home, "home", "crs", 16, &crs, err))
        return -1;
    if (!crs || cw_crs_parse(crs, out) == 0)
        return 0;
    return ingest_fail(err, 400, "invalid_value", "home.crs",
                       "home.crs must be WGS84, GCJ02 or BD09");
}

static int parse_lat_lon(json_t *obj, const char *prefix, double *lat, double *lon, api_error *err)
{
    return ingest_json_require_number(obj, prefix, "lat", -90, 90, lat, err) ||
                   ingest_json_require_number(obj, prefix, "lon", -180, 180, lon, err)
               ? -1
               : 0;
}

int ingest_parse_elder(json_t *body, elder_req *out, api_error *err)
{
    static const char *const fields[] = {COMMON_FIELDS,      "elder_id",         "street_id",
                                         "community_id",     "home",             "visits_per_month",
                                         "minutes_per_visit", "geofence_radius_m", NULL};
    static const char *const home_fields[] = {"lat", "lon", "crs", NULL};
    json_t *home;
    int present;
    memset(out, 0, sizeof(*out));
    if (ingest_json_reject_unknown(body, "", fields, err) ||
        ingest_json_require_id(body, "", "elder_id", &out->elder_id, err) ||
        ingest_json_require_id(body, "", "street_id", &out->street_id, err) ||
        ingest_json_require_id(body, "", "community_id", &out->community_id, err) ||
        ingest_json_require_object(body, "", "home", &home, err) ||
        ingest_json_reject_unknown(home, "home", home_fields, err) ||
        parse_lat_lon(home, "home", &out->lat, &out->lon, err) || parse_crs(home, &out->crs, err))
        return -1;
    out->visits_per_month = 4;
    out->minutes_per_visit = 60;
    if (ingest_json_optional_int(body, "", "visits_per_month", 1, 62, &out->visits_per_month,
                                 &present,
                                 err) ||
        ingest_json_optional_int(body, "", "minutes_per_visit", 1, MAX_MINUTES,
                                 &out->minutes_per_visit,
                                 &present, err) ||
        ingest_json_optional_int(body, "", "geofence_radius_m", 1, MAX_GEOFENCE_M,
                                 &out->geofence_radius_m, &out->has_geofence, err))
        return -1;
    return 0;
}

/* A provider's ids are namespaced "<provider_id>:..." (access_rules.h), so a
 * provider id may not hold the separator itself. */
static int require_provider_id(json_t *body, const char **out, api_error *err)
{
    if (ingest_json_require_id(body, "", "provider_id", out, err))
        return -1;
    if (strchr(*out, ':'))
        return ingest_fail(err, 400, "invalid_id", "provider_id",
                           "provider_id may not contain ':' (it begins the provider's own ids)");
    return 0;
}

static int parse_street_ids(json_t *body, contract_req *out, api_error *err)
{
    json_t *streets = json_object_get(body, "street_ids");
    if (!streets || json_is_null(streets))
        return 0;
    if (!json_is_array(streets))
        return ingest_fail(err, 400, "wrong_type", "street_ids",
                           "street_ids must be an array of ids");
    if (json_array_size(streets) > MAX_CONTRACT_STREETS)
        return ingest_fail(err, 400, "out_of_range", "street_ids",
                           "street_ids holds at most %d entries", MAX_CONTRACT_STREETS);
    size_t i;
    json_t *street;
    json_array_foreach(streets, i, street) {
        char path[48];
        snprintf(path, sizeof(path), "street_ids[%zu]", i);
        const char *id = json_string_value(street);
        if (!json_is_string(street) || strlen(id) != json_string_length(street) ||
            !cw_id_is_valid(id))
            return ingest_fail(err, 400, "invalid_id", path,
                               "%s must be an id of 1-64 characters [A-Za-z0-9_.:-]", path);
        out->street_ids[out->street_count++] = id;
    }
    return 0;
}

/* An optional account: printable ASCII only, so that finance's systems
 * read the same text the payment instructions carry. */
static int parse_account(json_t *body, const char *name, const char **out, api_error *err)
{
    if (ingest_json_optional_text(body, "", name, MAX_ACCOUNT_LEN, out, err))
        return -1;
    for (const char *p = *out; p != NULL && *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return ingest_fail(err, 400, "invalid_value", name,
                               "%s must be 1-%d printable ASCII characters", name,
                               MAX_ACCOUNT_LEN);
    return 0;
}

/* historical: a boolean; absent or null is false. */
static int parse_historical(json_t *body, int *out, api_error *err)
{
    json_t *v = json_object_get(body, "historical");
    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    return ingest_json_require_bool(body, "", "historical", out, err);
}

int ingest_parse_caregiver(json_t *body, caregiver_req *out, api_error *err)
{
    static const char *const fields[] = {COMMON_FIELDS, "caregiver_id", "provider_id",
                                         "certified",   "level",        "person_id", NULL};
    memset(out, 0, sizeof(*out));
    if (ingest_json_reject_unknown(body, "", fields, err) ||
        ingest_json_require_id(body, "", "caregiver_id", &out->caregiver_id, err) ||
        require_provider_id(body, &out->provider_id, err) ||
        ingest_json_require_bool(body, "", "certified", &out->certified, err) ||
        ingest_json_optional_text(body, "", "level", 32, &out->level, err))
        return -1;
    json_t *person = json_object_get(body, "person_id");
    if (person != NULL && !json_is_null(person) &&
        ingest_json_require_id(body, "", "person_id", &out->person_id, err))
        return -1;
    return 0;
}

int ingest_parse_contract(json_t *body, contract_req *out, api_error *err)
{
    static const char *const fields[] = {COMMON_FIELDS,
                                         "contract_id",
                                         "provider_id",
                                         "period_start",
                                         "period_end",
                                         "budget_cents",
                                         "unit_price_cents",
                                         "prepay_ratio",
                                         "invalid_deduction_cents",
                                         "publication_lag_days",
                                         "street_ids",
                                         "historical",
                                         "provider_account",
                                         "treasury_account",
                                         NULL};
    double ratio;
    int present;
    memset(out, 0, sizeof(*out));
    if (ingest_json_reject_unknown(body, "", fields, err) ||
        ingest_json_require_id(body, "", "contract_id", &out->contract_id, err) ||
        require_provider_id(body, &out->provider_id, err) ||
        ingest_json_require_date(body, "", "period_start", &out->period_start_day,
                                 &out->period_start, err) ||
        ingest_json_require_date(body, "", "period_end", &out->period_end_day, &out->period_end,
                                 err) ||
        ingest_json_require_int(body, "", "budget_cents", 0, MAX_CENTS, &out->budget_cents, err) ||
        ingest_json_require_int(body, "", "unit_price_cents", 1, MAX_CENTS, &out->unit_price_cents,
                                err) ||
        ingest_json_require_number(body, "", "prepay_ratio", 0, 1, &ratio, err) ||
        ingest_json_require_int(body, "", "invalid_deduction_cents", 0, MAX_CENTS,
                                &out->invalid_deduction_cents, err))
        return -1;
    if (out->period_end_day < out->period_start_day)
        return ingest_fail(err, 400, "out_of_range", "period_end",
                           "period_end must not be before period_start");
    /* The ratio is kept in parts per million so money arithmetic stays in
     * integers; 0.3 arrives as 0.29999999999999999 and rounds to 300000. */
    out->prepay_ratio_ppm = llround(ratio * 1e6);
    out->publication_lag_days = 3;
    if (ingest_json_optional_int(body, "", "publication_lag_days", 0, 31,
                                 &out->publication_lag_days,
                                 &present, err) ||
        parse_historical(body, &out->historical, err) ||
        parse_account(body, "provider_account", &out->provider_account, err) ||
        parse_account(body, "treasury_account", &out->treasury_account, err))
        return -1;
    return parse_street_ids(body, out, err);
}

int ingest_parse_order(json_t *body, order_req *out, api_error *err)
{
    static const char *const fields[] = {
        COMMON_FIELDS,  "order_id",        "elder_id",          "caregiver_id",
        "service_type", "scheduled_start", "scheduled_minutes", NULL};
    memset(out, 0, sizeof(*out));
    if (ingest_json_reject_unknown(body, "", fields, err) ||
        ingest_json_require_id(body, "", "order_id", &out->order_id, err) ||
        ingest_json_require_id(body, "", "elder_id", &out->elder_id, err) ||
        ingest_json_require_id(body, "", "caregiver_id", &out->caregiver_id, err) ||
        ingest_json_require_text(body, "", "service_type", 64, &out->service_type, err) ||
        ingest_json_require_time(body, "", "scheduled_start", &out->scheduled_start_ms, err) ||
        ingest_json_require_int(body, "", "scheduled_minutes", 1, MAX_MINUTES,
                                &out->scheduled_minutes,
                                err))
        return -1;
    return 0;
}

static int parse_gps(json_t *body, gps_fix *gps, api_error *err)
{
    static const char *const fields[] = {"lat", "lon", "accuracy_m", NULL};
    json_t *obj;
    if (ingest_json_require_object(body, "", "gps", &obj, err) ||
        ingest_json_reject_unknown(obj, "gps", fields, err) ||
        parse_lat_lon(obj, "gps", &gps->lat, &gps->lon, err) ||
        ingest_json_optional_number(obj, "gps", "accuracy_m", 0, 100000, &gps->accuracy_m,
                                    &gps->has_accuracy, err))
        return -1;
    return 0;
}

static int parse_beidou(json_t *body, visit_req *out, api_error *err)
{
    static const char *const fields[] = {"lat", "lon", NULL};
    json_t *obj;
    if (ingest_json_optional_object(body, "", "beidou", &obj, &out->has_beidou, err))
        return -1;
    if (!out->has_beidou)
        return 0;
    if (ingest_json_reject_unknown(obj, "beidou", fields, err) ||
        parse_lat_lon(obj, "beidou", &out->beidou_lat, &out->beidou_lon, err))
        return -1;
    return 0;
}

static int parse_items(json_t *body, visit_req *out, api_error *err)
{
    json_t *items = json_object_get(body, "items");
    if (!items || json_is_null(items))
        return 0;
    if (!json_is_array(items))
        return ingest_fail(err, 400, "wrong_type", "items", "items must be an array of strings");
    if (json_array_size(items) > MAX_ITEMS)
        return ingest_fail(err, 400, "out_of_range", "items", "items holds at most %d entries",
                           MAX_ITEMS);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        char path[32];
        snprintf(path, sizeof(path), "items[%zu]", i);
        if (!json_is_string(item))
            return ingest_fail(err, 400, "wrong_type", path, "%s must be a string", path);
        const char *s = json_string_value(item);
        if (strlen(s) != json_string_length(item) || strlen(s) == 0 || strlen(s) > 128)
            return ingest_fail(err, 400, "invalid_length", path, "%s must be 1-128 bytes, no NUL",
                               path);
        out->items[out->item_count++] = s;
    }
    return 0;
}

int ingest_parse_visit(json_t *body, cw_visit_kind kind, visit_req *out, api_error *err)
{
    static const char *const check_in_fields[] = {
        COMMON_FIELDS, "event_id",   "order_id",     "caregiver_id", "at",
        "gps",         "beidou",     "face_match",   "photo_sha256", "device_id",
        NULL};
    static const char *const check_out_fields[] = {
        COMMON_FIELDS, "event_id", "order_id",         "caregiver_id", "at", "gps",
        "beidou",      "items",    "voiceprint_match", "photo_sha256", "device_id",
        NULL};
    const char *score_field = kind == CW_VISIT_KIND_CHECK_IN ? "face_match" : "voiceprint_match";
    memset(out, 0, sizeof(*out));
    out->kind = kind;
    const char *const *fields = kind == CW_VISIT_KIND_CHECK_IN ? check_in_fields : check_out_fields;
    if (ingest_json_reject_unknown(body, "", fields, err) ||
        ingest_json_require_id(body, "", "event_id", &out->event_id, err) ||
        ingest_json_require_id(body, "", "order_id", &out->order_id, err) ||
        ingest_json_require_id(body, "", "caregiver_id", &out->caregiver_id, err) ||
        ingest_json_require_time(body, "", "at", &out->at_ms, err) || parse_gps(body, &out->gps,
                                                                                err) ||
        parse_beidou(body, out, err) ||
        ingest_json_optional_number(body, "", score_field, 0, 1, &out->score, &out->has_score,
                                    err) ||
        ingest_json_optional_sha256(body, "", "photo_sha256", out->photo_sha256, &out->has_photo,
                                    err) ||
        ingest_json_optional_text(body, "", "device_id", 128, &out->device_id, err) ||
        parse_items(body, out, err))
        return -1;
    return 0;
}

int ingest_parse_evidence(json_t *body, evidence_req *out, api_error *err)
{
    static const char *const fields[] = {COMMON_FIELDS,
                                         "event_id",
                                         "order_id",
                                         "at",
                                         "watermark_photo_sha256",
                                         "elder_recording_sha256",
                                         NULL};
    memset(out, 0, sizeof(*out));
    if (ingest_json_reject_unknown(body, "", fields, err) ||
        ingest_json_require_id(body, "", "event_id", &out->event_id, err) ||
        ingest_json_require_id(body, "", "order_id", &out->order_id, err) ||
        ingest_json_require_time(body, "", "at", &out->at_ms, err) ||
        ingest_json_require_sha256(body, "", "watermark_photo_sha256", out->watermark_photo_sha256,
                                   err) ||
        ingest_json_require_sha256(body, "", "elder_recording_sha256", out->elder_recording_sha256,
                                   err))
        return -1;
    return 0;
}

int ingest_parse_elder_status(json_t *body, elder_status_req *out, api_error *err)
{
    static const char *const fields[] = {"status", "from", "to", NULL};
    const char *status;
    memset(out, 0, sizeof(*out));
    if (ingest_json_reject_unknown(body, "", fields, err) ||
        ingest_json_require_text(body, "", "status", 16, &status, err) ||
        ingest_json_require_time(body, "", "from", &out->from_ms, err))
        return -1;
    if (cw_elder_status_parse(status, &out->status) != 0)
        return ingest_fail(err, 400, "invalid_value", "status",
                           "status must be ACTIVE, HOSPITALIZED or DECEASED");
    json_t *to = json_object_get(body, "to");
    if (to == NULL || json_is_null(to))
        return 0;
    if (out->status == CW_ELDER_STATUS_DECEASED)
        return ingest_fail(err, 400, "invalid_value", "to", "a death has no end: leave out to");
    if (ingest_json_require_time(body, "", "to", &out->to_ms, err))
        return -1;
    if (out->to_ms <= out->from_ms)
        return ingest_fail(err, 400, "invalid_value", "to", "to must be after from");
    out->has_to = 1;
    return 0;
}

int ingest_parse_unfreeze(json_t *body, unfreeze_req *out, api_error *err)
{
    static const char *const fields[] = {"reason", NULL};
    memset(out, 0, sizeof(*out));
    if (ingest_json_reject_unknown(body, "", fields, err) ||
        ingest_json_require_text(body, "", "reason", 500, &out->reason, err))
        return -1;
    return 0;
}

int ingest_parse_change(json_t *body, change_action action, change_req *out, api_error *err)
{
    static const char *const cancel_fields[] = {"reason_code", "note", NULL};
    static const char *const reschedule_fields[] = {"scheduled_start", "reason_code", "note",
                                                    NULL};
    static const char *const reassign_fields[] = {"caregiver_id", "reason_code", "note", NULL};
    const char *const *fields = action == CHANGE_RESCHEDULE ? reschedule_fields
                                : action == CHANGE_REASSIGN ? reassign_fields
                                                            : cancel_fields;
    memset(out, 0, sizeof(*out));
    if (ingest_json_reject_unknown(body, "", fields, err) ||
        (action == CHANGE_RESCHEDULE &&
         ingest_json_require_time(body, "", "scheduled_start", &out->scheduled_start_ms, err)) ||
        (action == CHANGE_REASSIGN &&
         ingest_json_require_id(body, "", "caregiver_id", &out->caregiver_id, err)) ||
        ingest_json_require_text(body, "", "reason_code", 32, &out->reason_code, err) ||
        ingest_json_optional_text(body, "", "note", MAX_NOTE_LEN, &out->note, err))
        return -1;
    if (!ingest_change_reason_is_valid(out->reason_code))
        return ingest_fail(err, 400, "invalid_value", "reason_code",
                           "reason_code must be one of %s",
                           ingest_change_reason_list);
    return 0;
}

int ingest_parse_approve(json_t *body, approve_req *out, api_error *err)
{
    static const char *const fields[] = {"note", NULL};
    memset(out, 0, sizeof(*out));
    if (ingest_json_reject_unknown(body, "", fields, err) ||
        ingest_json_optional_text(body, "", "note", MAX_NOTE_LEN, &out->note, err))
        return -1;
    return 0;
}
