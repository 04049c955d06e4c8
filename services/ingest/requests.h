/* The validated forms of ingest's request bodies (docs/design.md §3).
 *
 * parse_* functions are pure: they read a JSON object, check every field
 * (presence, type, range, format, unknown fields) and fill the struct, or
 * fill an api_error (status 400) and return -1. String members are borrowed
 * from the JSON document, which must outlive the struct. */
#ifndef INGEST_REQUESTS_H
#define INGEST_REQUESTS_H

#include <jansson.h>
#include <stdint.h>

#include "avro_records.h"    /* cw_crs, cw_visit_kind, cw_elder_status */
#include "reference_store.h" /* CW_CONTRACT_MAX_STREETS */
#include "ingest/api_error.h"
#include "ingest/change_rules.h"

#define MAX_ITEMS 100
#define MAX_CONTRACT_STREETS CW_CONTRACT_MAX_STREETS

typedef struct {
    const char *elder_id, *street_id, *community_id;
    double lat, lon;
    cw_crs crs;
    int64_t visits_per_month, minutes_per_visit;
    int has_geofence;
    int64_t geofence_radius_m; /* when has_geofence */
} elder_req;

typedef struct {
    const char *caregiver_id, *provider_id;
    int certified;
    const char *level;     /* NULL when absent */
    const char *person_id; /* NULL when absent: the person's ID-number hash */
} caregiver_req;

typedef struct {
    const char *contract_id, *provider_id;
    const char *period_start, *period_end; /* YYYY-MM-DD */
    int64_t period_start_day, period_end_day;
    int64_t budget_cents, unit_price_cents, invalid_deduction_cents;
    int64_t prepay_ratio_ppm;
    int64_t publication_lag_days;
    /* The streets the contract serves; none listed: every street. */
    const char *street_ids[MAX_CONTRACT_STREETS];
    size_t street_count;
    /* A past period (an import's): paid long ago, only its invalid orders
     * are clawed back (docs/design.md §6). false when absent. */
    int historical;
    /* The provider's settlement account and the district treasury's: 1-64
     * printable ASCII characters; NULL when absent. */
    const char *provider_account, *treasury_account;
} contract_req;

typedef struct {
    const char *order_id, *elder_id, *caregiver_id, *service_type;
    int64_t scheduled_start_ms;
    int64_t scheduled_minutes;
} order_req;

typedef struct {
    double lat, lon;
    int has_accuracy;
    double accuracy_m;
} gps_fix;

typedef struct {
    cw_visit_kind kind;
    const char *event_id, *order_id, *caregiver_id;
    int64_t at_ms;
    gps_fix gps;
    int has_beidou;
    double beidou_lat, beidou_lon;
    int has_score; /* face_match on check-in, voiceprint_match on check-out */
    double score;
    int has_photo;
    char photo_sha256[65];
    const char *device_id; /* NULL when absent */
    const char *items[MAX_ITEMS];
    size_t item_count;
} visit_req;

typedef struct {
    const char *event_id, *order_id;
    int64_t at_ms;
    char watermark_photo_sha256[65];
    char elder_recording_sha256[65];
} evidence_req;

typedef struct {
    const char *reason;
} unfreeze_req;

/* POST /v1/elders/{id}/status: status ACTIVE | HOSPITALIZED | DECEASED
 * from `from`, until `to` (excluded) when given; a death has no end. */
typedef struct {
    cw_elder_status status;
    int64_t from_ms;
    int has_to;
    int64_t to_ms;
} elder_status_req;

/* POST /v1/orders/{id}/cancel, /reschedule, /reassign (the order id is the
 * path's): reason_code one of change_rules.h's codes, note up to
 * MAX_NOTE_LEN bytes; a reschedule's new scheduled_start, a reassign's new
 * caregiver_id. */
#define MAX_NOTE_LEN 500
typedef struct {
    const char *reason_code;
    const char *note; /* NULL when absent */
    int64_t scheduled_start_ms; /* CHANGE_RESCHEDULE */
    const char *caregiver_id;   /* CHANGE_REASSIGN */
} change_req;

/* POST /v1/orders/{id}/approve-change. */
typedef struct {
    const char *note; /* NULL when absent */
} approve_req;

int ingest_parse_elder(json_t *body, elder_req *out, api_error *err);
int ingest_parse_caregiver(json_t *body, caregiver_req *out, api_error *err);
int ingest_parse_contract(json_t *body, contract_req *out, api_error *err);
int ingest_parse_order(json_t *body, order_req *out, api_error *err);
int ingest_parse_visit(json_t *body, cw_visit_kind kind, visit_req *out, api_error *err);
int ingest_parse_evidence(json_t *body, evidence_req *out, api_error *err);
int ingest_parse_unfreeze(json_t *body, unfreeze_req *out, api_error *err);
int ingest_parse_elder_status(json_t *body, elder_status_req *out, api_error *err);
/* action is CHANGE_CANCEL, CHANGE_RESCHEDULE or CHANGE_REASSIGN. */
int ingest_parse_change(json_t *body, change_action action, change_req *out, api_error *err);
int ingest_parse_approve(json_t *body, approve_req *out, api_error *err);

#endif
