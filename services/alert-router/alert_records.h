/* The Alert record the router emits (schemas/Alert.avsc, docs/design.md
 * §4.2), built in one place: a finding (what a flagged CheckResult or a
 * freeze says) enriched with the order, the elder's street and the texts
 * of messages.h. No Kafka or Redis: the caller hands in what the store
 * read and takes the encoded records from the outbox. */
#ifndef ALERT_RECORDS_H
#define ALERT_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "alert-router/routing.h"
#include "avro_records.h" /* cw_alert */
#include "outbox.h"
#include "reference_store.h" /* cw_order_state, cw_elder_state */

/* "<order_id>:<rule>": 64 + 1 + rule code. */
#define ALERT_ID_MAX (65 + ALERT_RULE_MAX)

/* What one message found, before it is an alert. alert holds alert_id,
 * order_id, rule, caregiver_id, colour, measured, threshold and at; the
 * rest is filled by alert_emit. Strings are borrowed (from the message). */
typedef struct {
    cw_alert alert;
    const char *unit;   /* the CheckResult's unit ("" for a freeze) */
    const char *reason; /* the freeze's reason, CAREGIVER_FROZEN only */
    double received;    /* cw_metrics_now() when the handler got the message */
} alert_finding;

/* The finding of a CheckResult: 0, or -1 for a PASS (no alert). received:
 * cw_metrics_now() when its message was handled. Strings borrowed from c. */
int alert_finding_of_check(const cw_check_result *c, double received, alert_finding *f);
/* The finding of a freeze (status FROZEN, with an order): a red
 * CAREGIVER_FROZEN alert. Strings borrowed from s. */
void alert_finding_of_freeze(const cw_caregiver_status_changed *s, double received,
                             alert_finding *f);

/* The deterministic alert id of (order, rule): one alert per pair, so a
 * replay or a re-emitted check yields the same id. 0, or -1 when it does
 * not fit. */
int alert_id_format(char *buf, size_t len, const char *order_id, const char *rule);

/* Encodes a as an Alert (single-object encoding) into a malloc'd buffer the
 * caller frees. 0, or -1 with err. */
int alert_encode(const cw_alert *a, uint8_t **out, size_t *len, char *err, size_t errlen);

/* The alert of f, with the order's elder, provider and schedule (a zero
 * scheduled_start: no schedule), the elder's street and community, both
 * messages (the schedule shown at utc_offset_minutes) and raised_at, added
 * to out once per target of t, keyed by order_id. 0, or -1 with err (an
 * encoding failure or out of memory; a copy added before stays in out). */
int alert_emit(cw_outbox *out, const alert_finding *f, const cw_order_state *order,
               const cw_elder_state *elder, int utc_offset_minutes, int64_t raised_at,
               const alert_targets *t, char *err, size_t errlen);

#endif
