#include "overlap-detector/overlap_records.h"

#include <stdio.h>

#include "avro_codec.h"
#include "log.h"
#include "overlap-detector/overlap_detector.h"
#include "topics.h"

int overlap_emit_verdict(cw_outbox *out, const char *subject, const char *rule,
                         const cw_verdict *v, const char *order_id, const char *caregiver_id,
                         const char *event_id, int64_t at)
{
    return cw_check_emit_verdict(out, OVERLAP_SERVICE, subject, rule, v, order_id, caregiver_id,
                                 event_id, at);
}

int overlap_emit_status(cw_outbox *out, const cw_caregiver_status_changed *rec)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("CaregiverStatusChanged");
    avro_value_t v;
    char err[256] = "a field does not fit the schema";
    if (s == NULL || cw_avro_new_value(s, &v) != 0) {
        cw_log_error("CaregiverStatusChanged schema not loaded", NULL);
        return -1;
    }
    int rc = cw_caregiver_status_changed_write(&v, rec);
    if (rc == 0)
        rc = cw_outbox_add_avro(out, CW_TOPIC_CAREGIVER_STATUS, rec->caregiver_id, &v, s, err,
                                sizeof(err));
    avro_value_decref(&v);
    if (rc != 0)
        cw_log_error("cannot build a CaregiverStatusChanged", "caregiver_id", rec->caregiver_id,
                     "error", err, NULL);
    return rc;
}

int overlap_freeze_reason(const char *rule, const char *order_id, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s on order %s", rule, order_id);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
