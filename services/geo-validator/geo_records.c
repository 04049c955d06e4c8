#include "geo-validator/geo_records.h"

#include "check_result.h"
#include "geo-validator/geo_validator.h"

static int emit(cw_outbox *out, const char *event_id, const char *rule, const geo_verdict *v,
                const char *order_id, const char *caregiver_id, int64_t at)
{
    return cw_check_emit_verdict(out, GEO_SERVICE, event_id, rule, v, order_id, caregiver_id,
                                 event_id, at);
}

int geo_emit_arrival(cw_outbox *out, const cw_visit_event *ev, const geo_arrival *a)
{
    if (emit(out, ev->event_id, "GEO_DISTANCE", &a->distance, ev->order_id, ev->caregiver_id,
             ev->at) ||
        emit(out, ev->event_id, "GEO_DUAL_MISMATCH", &a->dual, ev->order_id, ev->caregiver_id,
             ev->at) ||
        emit(out, ev->event_id, "GPS_INACCURATE", &a->accuracy, ev->order_id, ev->caregiver_id,
             ev->at))
        return -1;
    return 0;
}

int geo_emit_travel(cw_outbox *out, const char *event_id, const geo_waiting_check_in *w,
                    const geo_verdict *v)
{
    return emit(out, event_id, "IMPOSSIBLE_TRAVEL", v, w->order_id, w->caregiver_id, w->at);
}
