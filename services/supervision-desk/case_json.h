/* The desk's answers as JSON (jansson): a case in a list, a case whole
 * (its events, alerts, call-backs and the order's final entry), a
 * finalized order. Times are RFC 3339 in UTC+8. Each returns a new
 * reference the caller owns (json_decref), or NULL out of memory. */
#ifndef DESK_CASE_JSON_H
#define DESK_CASE_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "supervision-desk/case_book.h"
#include "supervision-desk/case_record.h"

/* watermark: the desk's event clock, to say whether the case is overdue. */
json_t *desk_json_summary(const desk_case *c, int64_t watermark, int utc_offset_minutes);
json_t *desk_json_full(const desk_case *c, const desk_order *order, int64_t watermark,
                       int utc_offset_minutes);
json_t *desk_json_event(const desk_case_event *ev, int utc_offset_minutes);
json_t *desk_json_order(const desk_order *o, int utc_offset_minutes);
/* An order's visit (schedule, fixes, evidence); elder may be NULL (then
 * no distances). */
json_t *desk_json_visit(const desk_visit *v, const desk_elder *elder, int utc_offset_minutes);
/* A time as RFC 3339, or JSON null for INT64_MIN. */
json_t *desk_json_time(int64_t ms, int utc_offset_minutes);

#endif
