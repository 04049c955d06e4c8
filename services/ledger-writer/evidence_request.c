#include "ledger-writer/evidence_request.h"

#include <stdio.h>
#include <string.h>

#include "avro_codec.h"
#include "avro_records.h"
#include "topics.h"

ledger_evidence_request ledger_evidence_request_of(const ledger_fin_decision *f,
                                                   const char *order_id, const char *provider_id,
                                                   const char *caregiver_id, const char *elder_id,
                                                   const char *street_id)
{
    ledger_evidence_request r = {
        .order_id = order_id,
        .provider_id = provider_id,
        .caregiver_id = caregiver_id,
        .elder_id = elder_id,
        .street_id = street_id,
        .visit_end = f->visit_end,
        .deadline = f->evidence_deadline,
        .at = f->questionable_at,
    };
    /* The decision may add EVIDENCE_EXPIRED (or EVIDENCE_REUSE) once the
     * deadline has passed; the request names the flags alone. */
    for (size_t i = 0; i < f->reason_count; i++)
        if (strcmp(f->reasons[i], "EVIDENCE_EXPIRED") != 0 &&
            strcmp(f->reasons[i], "EVIDENCE_REUSE") != 0)
            r.reasons[r.reason_count++] = f->reasons[i];
    return r;
}

int ledger_evidence_request_topic(const char *provider_id, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s%s", CW_TOPIC_PROVIDER_NOTICE_PREFIX, provider_id);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int ledger_evidence_request_encode(const ledger_evidence_request *r, uint8_t **out, size_t *len,
                                   char *err, size_t errlen)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("EvidenceRequested");
    avro_value_t v;
    char id[LEDGER_FIN_ID_MAX + 32];
    *out = NULL;
    if (s == NULL || cw_avro_new_value(s, &v) != 0) {
        snprintf(err, errlen, "no EvidenceRequested schema");
        return -1;
    }
    snprintf(id, sizeof(id), "%s:EVIDENCE_REQUESTED", r->order_id);
    const cw_evidence_requested rec = {
        .request_id = id,
        .order_id = r->order_id,
        .provider_id = r->provider_id,
        .caregiver_id = r->caregiver_id,
        .elder_id = r->elder_id,
        .street_id = r->street_id,
        /* The writer only reads the array. */
        .reasons = (const char **)r->reasons,
        .reasons_count = r->reason_count,
        .visit_end = r->visit_end,
        .deadline = r->deadline,
        .at = r->at,
    };
    int bad = cw_evidence_requested_write(&v, &rec) != 0;
    int rc = -1;
    if (bad)
        snprintf(err, errlen, "cannot fill EvidenceRequested of %s", r->order_id);
    else
        rc = cw_avro_encode(&v, s, out, len, err, errlen);
    avro_value_decref(&v);
    return rc;
}
