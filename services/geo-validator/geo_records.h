/* The records the geo-validator emits: CheckResults on visit.checks
 * (check_result.h), one per rule and visit event, "<event_id>:<rule>",
 * keyed by order id. Built here only. */
#ifndef GEO_RECORDS_H
#define GEO_RECORDS_H

#include "avro_records.h"
#include "geo-validator/geo_rules.h"
#include "geo-validator/geo_store.h"
#include "outbox.h"

/* GEO_DISTANCE, GEO_DUAL_MISMATCH and GPS_INACCURATE of a visit event.
 * 0, or -1 (logged). */
int geo_emit_arrival(cw_outbox *out, const cw_visit_event *ev, const geo_arrival *a);

/* IMPOSSIBLE_TRAVEL of a waiting check-in. 0, or -1 (logged). */
int geo_emit_travel(cw_outbox *out, const char *event_id, const geo_waiting_check_in *w,
                    const geo_verdict *v);

#endif
