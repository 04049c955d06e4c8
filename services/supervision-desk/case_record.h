/* The desk's records in Avro, read and written through the typed records
 * generated from the schemas (avro_records.h): CaseEvent out and back
 * (cases.events is both its output and, at start, the state it is rebuilt
 * from), OrderCorrection out, and what it keeps of Alert, CheckResult,
 * OrderFinalized, Elder, OrderChange, CaregiverStatusChanged and the
 * records of visit.events.
 *
 * Decoders fill caller-owned structs (fixed buffers: a field too long for
 * one is refused); a decoded desk_case_event owns its strings
 * (desk_case_event_clear). Every function returns 0, or -1 with why in err
 * (undecodable, another record type, a field out of range). */
#ifndef DESK_CASE_RECORD_H
#define DESK_CASE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "avro_records.h"
#include "outbox.h"
#include "supervision-desk/case_book.h"

/* A finalized order as the desk keeps it. */
typedef struct {
    desk_case_subject subject; /* community_id from the elder, when known */
    char service_day[11];
    cw_order_status status;
    char reasons[160];    /* comma-separated */
    int has_check_in;
    int64_t check_in_at, check_out_at;
    int has_duration;
    int duration_minutes;
    int64_t finalized_at;
    int64_t ledger_index;
    int64_t corrects_index; /* -1: an order's first entry */
} desk_order;

/* A maintenance request on an order (OrderChange), as its latest state. */
typedef struct {
    char change_id[80];
    char order_id[65];
    char provider_id[65];
    char street_id[65];
    char caregiver_id[65];
    cw_order_change_kind kind;
    char reason_code[32];
    cw_order_change_state state;
    char requested_by[97];
    char approved_by[97];
    char new_caregiver_id[65];
    int64_t requested_at, scheduled_start;
    int has_new_start;
    int64_t new_scheduled_start;
} desk_change;

/* A caregiver frozen or unfrozen (CaregiverStatusChanged). */
typedef struct {
    char caregiver_id[65];
    cw_caregiver_status status;
    char reason[97];
    char order_id[65];
    int64_t at;
} desk_status_change;

typedef struct {
    char elder_id[65];
    char street_id[65];
    char community_id[65];
    double home_lat, home_lon; /* WGS-84 (converted from the registered CRS) */
    int geofence_m;            /* 0: the rule's radius */
} desk_elder;

/* One position fix of a check-in or check-out. */
typedef struct {
    int present;
    char event_id[65];
    int64_t at;
    double lat, lon;
    int has_accuracy;
    double accuracy_m;
    int has_beidou;
    double beidou_lat, beidou_lon;
} desk_fix;

/* What visit.events says of one order: its assignment (the latest
 * revision), its check-in and check-out, its evidence. */
typedef struct {
    char order_id[65];
    char service_type[32];
    int has_schedule;
    int revision;         /* of the schedule held: a later one replaces it */
    int64_t scheduled_start;
    int scheduled_minutes;
    desk_fix check_in, check_out;
    int has_evidence;
    int64_t evidence_at;
    char photo_sha256[65];
    char recording_sha256[65];
} desk_visit;

/* Which record of visit.events a message holds. */
typedef enum {
    DESK_VISIT_REC_OTHER,
    DESK_VISIT_REC_ASSIGNED,
    DESK_VISIT_REC_EVENT,
    DESK_VISIT_REC_EVIDENCE
} desk_visit_rec;

int desk_record_encode(const desk_case_event *ev, uint8_t **out, size_t *len, char *err,
                       size_t errlen);
/* Adds ev to ob on cases.events, keyed by its case id. */
int desk_record_add(cw_outbox *ob, const desk_case_event *ev, char *err, size_t errlen);
int desk_record_decode(const void *buf, size_t len, desk_case_event *ev, char *err, size_t errlen);

/* An Alert: the alert and its subject. */
int desk_record_decode_alert(const void *buf, size_t len, desk_case_alert *a, desk_case_subject *s,
                             char **message_zh, char **message_en, char *err, size_t errlen);
/* A CheckResult's event time (at), and whether it judged a visit event
 * (event_id set) rather than an order or a month. */
int desk_record_decode_check_at(const void *buf, size_t len, int64_t *at, int *of_event, char *err,
                                size_t errlen);
int desk_record_decode_finalized(const void *buf, size_t len, desk_order *o, char *err,
                                 size_t errlen);
int desk_record_decode_elder(const void *buf, size_t len, desk_elder *e, char *err, size_t errlen);

/* A record of visit.events into v (the fields it has; v->order_id always):
 * *kind says which. 0, or -1 undecodable. */
int desk_record_decode_visit(const void *buf, size_t len, desk_visit *v, desk_visit_rec *kind,
                             char *err, size_t errlen);

int desk_record_decode_change(const void *buf, size_t len, desk_change *c, char *err,
                              size_t errlen);
int desk_record_decode_status(const void *buf, size_t len, desk_status_change *c, char *err,
                              size_t errlen);

/* An OrderCorrection (the street confirmed a denied call-back: the order is
 * INVALID after the fact) into ob on orders.corrections, keyed by order id;
 * its id is <order_id>:CORRECTION:<event_id>. */
int desk_record_add_correction(cw_outbox *ob, const desk_case_event *resolved, char *err,
                               size_t errlen);

#endif
