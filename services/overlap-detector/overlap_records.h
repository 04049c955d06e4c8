/* The records the overlap-detector emits, built in one place: its
 * CheckResult verdicts (visit.checks, keyed by order) and
 * CaregiverStatusChanged (caregiver.status, keyed by caregiver). Each adds
 * the encoded record to the outbox, which owns it from then on. */
#ifndef OVERLAP_RECORDS_H
#define OVERLAP_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "avro_records.h"
#include "check_result.h"
#include "outbox.h"

/* The verdict "<subject>:<rule>" about the order (event_id NULL for an
 * assignment's). 0, or -1 (logged). */
int overlap_emit_verdict(cw_outbox *out, const char *subject, const char *rule,
                         const cw_verdict *v, const char *order_id, const char *caregiver_id,
                         const char *event_id, int64_t at);

/* A caregiver's status change. 0, or -1 (logged). */
int overlap_emit_status(cw_outbox *out, const cw_caregiver_status_changed *rec);

/* The reason of the freeze a red verdict causes: "<rule> on order
 * <order_id>". 0, or -1 when it does not fit. */
int overlap_freeze_reason(const char *rule, const char *order_id, char *buf, size_t len);

#endif
