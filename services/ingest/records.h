/* Avro records ingest publishes, built from validated requests.
 * Each function encodes one record in single-object encoding into out
 * (malloc'd; the caller frees out->data) and returns 0, or -1 with err. */
#ifndef INGEST_RECORDS_H
#define INGEST_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "intake_rules.h"
#include "requests.h"

typedef struct {
    uint8_t *data;
    size_t len;
} encoded_record;

typedef struct {
    const char *provider_id; /* the caregiver's provider */
    const char *elder_id;
    const char *caregiver_id;
} order_refs;

int record_elder(const elder_req *r, int64_t updated_at, encoded_record *out, char *err,
                 size_t errlen);
int record_caregiver(const caregiver_req *r, int64_t updated_at, encoded_record *out, char *err,
                     size_t errlen);
int record_contract(const contract_req *r, int64_t updated_at, encoded_record *out, char *err,
                    size_t errlen);
/* The registry's word on an elder (ElderStatusChanged, ref.elder_status). */
int record_elder_status(const char *elder_id, const elder_status_req *r, int64_t received_at,
                        encoded_record *out, char *err, size_t errlen);
/* provider_id, certified and person_id (NULL: none): the caregiver as
 * registered when the assignment is accepted (the order carries them, so
 * its checks are judged from the record alone). */
int record_order(const order_req *r, const char *provider_id, int certified,
                 const char *person_id, int64_t received_at, encoded_record *out, char *err,
                 size_t errlen);
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
    const char *change_id, *kind, *reason_code;
    const char *note;        /* NULL when none */
    int64_t requested_at;
    const char *approved_by; /* NULL when it took effect at once */
    const char *previous_caregiver_id;
    const char *previous_person_id; /* NULL when none */
    int64_t previous_scheduled_start;
} order_revision;
int record_order_revision(const order_revision *r, encoded_record *out, char *err,
                          size_t errlen);

/* An OrderChange for orders.changes (the schema says every field). */
typedef struct {
    const char *change_id, *order_id, *provider_id, *street_id, *kind, *reason_code;
    const char *note; /* NULL when none */
    int64_t requested_at;
    const char *requested_by;
    int64_t scheduled_start;
    const char *caregiver_id;
    const char *state;         /* EFFECTIVE, PENDING, APPROVED */
    const char *approved_by;   /* APPROVED only */
    int64_t approved_at;       /* APPROVED only */
    const char *approval_note; /* NULL when none */
    int has_new_start;
    int64_t new_scheduled_start;
    const char *new_caregiver_id; /* NULL unless a reassign */
    int revision;                 /* 0 while PENDING: null */
} order_change_record;
int record_order_change(const order_change_record *c, encoded_record *out, char *err,
                        size_t errlen);

int record_visit(const visit_req *r, const order_refs *refs, int64_t received_at,
                 encoded_record *out, char *err, size_t errlen);
/* reused_from: the order that first used one of the evidence's hashes
 * (EVIDENCE_REUSE), or NULL. */
int record_evidence(const evidence_req *r, const order_refs *refs, int64_t received_at,
                    const char *reused_from, encoded_record *out, char *err, size_t errlen);
/* check_id is "<event_id>:<rule>": the same event judged again yields the
 * same id, so a replay changes nothing downstream. */
int record_intake_check(const intake_verdict *v, const char *order_id, const char *caregiver_id,
                        const char *event_id, int64_t at, int64_t produced_at,
                        encoded_record *out, char *err, size_t errlen);
int record_status_changed(const char *caregiver_id, const char *status, const char *reason,
                          const char *order_id, int64_t at, encoded_record *out, char *err,
                          size_t errlen);

#endif
