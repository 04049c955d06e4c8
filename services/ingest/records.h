/* The records ingest publishes, built in one place.
 *
 * ingest_*_record fill the typed record (avro_records.h) from a validated
 * request and what was looked up for it: pure, and every string is
 * borrowed from the inputs, which must outlive the record. The same record
 * goes to Kafka (ingest_encode_*) and, for reference data and orders, to
 * Redis (reference_store.h's cw_state_write_*), so the two always agree.
 *
 * ingest_encode_* encode one record in single-object encoding into out:
 * out->data is malloc'd, the caller frees it (or hands it to an outbox,
 * which then does). 0, or -1 with err. */
#ifndef INGEST_RECORDS_H
#define INGEST_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "avro_records.h"
#include "ingest/change_rules.h"
#include "ingest/intake_rules.h"
#include "ingest/requests.h"

typedef struct {
    uint8_t *data;
    size_t len;
} encoded_record;

typedef struct {
    const char *provider_id; /* the caregiver's provider */
    const char *elder_id;
    const char *caregiver_id;
} order_refs;

cw_elder ingest_elder_record(const elder_req *r, int64_t updated_at);
cw_caregiver ingest_caregiver_record(const caregiver_req *r, int64_t updated_at);
cw_contract ingest_contract_record(const contract_req *r, int64_t updated_at);
/* The registry's word on an elder (ElderStatusChanged, ref.elder_status). */
cw_elder_status_changed ingest_elder_status_record(const char *elder_id,
                                                   const elder_status_req *r,
                                                   int64_t received_at);
/* provider_id, certified and person_id (NULL: none): the caregiver as
 * registered when the assignment is accepted (the order carries them, so
 * its checks are judged from the record alone). Revision 0: no revision,
 * no change. */
cw_order_assigned ingest_order_record(const order_req *r, const char *provider_id, int certified,
                                      const char *person_id, int64_t received_at);

/* A revision of an order (docs/maintenance.md): the whole order as it
 * stands after a change, and the change. */
typedef struct {
    const char *order_id, *elder_id, *caregiver_id, *provider_id, *service_type;
    const char *person_id; /* NULL: the caregiver has none */
    int certified;         /* the caregiver's certificate now */
    int64_t scheduled_start;
    int scheduled_minutes;
    int64_t received_at; /* when the change took effect */
    int revision;        /* 1, 2... */
    change_action kind;  /* CHANGE_CANCEL, CHANGE_RESCHEDULE or CHANGE_REASSIGN */
    const char *change_id, *reason_code;
    const char *note; /* NULL when none */
    int64_t requested_at;
    const char *approved_by; /* NULL when it took effect at once */
    const char *previous_caregiver_id;
    const char *previous_person_id; /* NULL when none */
    int64_t previous_scheduled_start;
} order_revision;
cw_order_assigned ingest_revision_record(const order_revision *r);

/* An OrderChange for orders.changes (the schema says every field). */
typedef struct {
    const char *change_id, *order_id, *provider_id, *street_id, *reason_code;
    change_action kind; /* CHANGE_CANCEL, CHANGE_RESCHEDULE or CHANGE_REASSIGN */
    const char *note;   /* NULL when none */
    int64_t requested_at;
    const char *requested_by;
    int64_t scheduled_start;
    const char *caregiver_id;
    cw_order_change_state state;
    const char *approved_by;   /* APPROVED only */
    int64_t approved_at;       /* APPROVED only */
    const char *approval_note; /* NULL when none */
    int has_new_start;
    int64_t new_scheduled_start;
    const char *new_caregiver_id; /* NULL unless a reassign */
    int revision;                 /* 0 while PENDING: null */
} order_change_record;
cw_order_change ingest_change_record(const order_change_record *c);

cw_visit_event ingest_visit_record(const visit_req *r, const order_refs *refs,
                                   int64_t received_at);
/* reused_from: the order that first used one of the evidence's hashes
 * (EVIDENCE_REUSE), or NULL. */
cw_evidence ingest_evidence_record(const evidence_req *r, const order_refs *refs,
                                   int64_t received_at, const char *reused_from);
/* An admin's unfreeze: the caregiver ACTIVE again, for reason. */
cw_caregiver_status_changed ingest_unfreeze_record(const char *caregiver_id, const char *reason,
                                                   int64_t at);

int ingest_encode_elder(const cw_elder *rec, encoded_record *out, char *err, size_t errlen);
int ingest_encode_caregiver(const cw_caregiver *rec, encoded_record *out, char *err,
                            size_t errlen);
int ingest_encode_contract(const cw_contract *rec, encoded_record *out, char *err, size_t errlen);
int ingest_encode_elder_status(const cw_elder_status_changed *rec, encoded_record *out, char *err,
                               size_t errlen);
int ingest_encode_order(const cw_order_assigned *rec, encoded_record *out, char *err,
                        size_t errlen);
int ingest_encode_change(const cw_order_change *rec, encoded_record *out, char *err,
                         size_t errlen);
int ingest_encode_visit(const cw_visit_event *rec, encoded_record *out, char *err, size_t errlen);
int ingest_encode_evidence(const cw_evidence *rec, encoded_record *out, char *err, size_t errlen);
int ingest_encode_status(const cw_caregiver_status_changed *rec, encoded_record *out, char *err,
                         size_t errlen);
/* An intake check's CheckResult (check_result.h). check_id is
 * "<event_id>:<rule>": the same event judged again yields the same id, so
 * a replay changes nothing downstream. */
int ingest_encode_intake_check(const intake_verdict *v, const char *order_id,
                               const char *caregiver_id, const char *event_id, int64_t at,
                               int64_t produced_at, encoded_record *out, char *err,
                               size_t errlen);

#endif
