/* The geo-validator's handlers: a message (an Elder to store, a
 * VisitEvent to judge) and a travel timer, each decode -> rules -> store
 * -> emit. */
#include <stdio.h>
#include <string.h>

#include "geo-validator/geo_records.h"
#include "geo-validator/geo_store.h"
#include "geo-validator/geo_validator.h"

static cw_result handle_elder(geo_ctx *g, const cw_stream_msg *msg, char *reason, size_t len)
{
    cw_result rc = geo_store_elder(g->ck->redis, msg->value);
    if (rc == CW_REJECT)
        snprintf(reason, len, "Elder record lacks a field");
    return rc;
}

/* The verdicts at arrival; the event recorded for the travel checks. */
static cw_result judge_visit(geo_ctx *g, const cw_stream_msg *msg, const cw_visit_event *ev,
                             cw_outbox *out, char *reason, size_t len)
{
    cw_elder_state elder;
    cw_result found = geo_store_load_elder(g->ck->redis, ev->elder_id, &elder);
    if (found == CW_REJECT)
        snprintf(reason, len, "unknown elder %s", ev->elder_id);
    if (found != CW_OK)
        return found;
    cw_crs crs;
    if (cw_crs_parse(elder.crs, &crs) != 0) {
        snprintf(reason, len, "elder %s has an unknown crs '%s'", ev->elder_id, elder.crs);
        return CW_REJECT;
    }
    geo_point home = geo_to_wgs84((geo_point){elder.lat, elder.lon}, crs);
    geo_arrival verdicts = geo_rule_arrival(ev, home, elder.geofence_m, &g->thresholds);
    if (geo_store_visit(g->ck, msg->partition, ev) != 0 ||
        geo_emit_arrival(out, ev, &verdicts) != 0)
        return CW_RETRY;
    return CW_OK;
}

static cw_result handle_visit(geo_ctx *g, const cw_stream_msg *msg, cw_outbox *out,
                              char *reason, size_t len)
{
    cw_visit_event ev;
    if (cw_visit_event_read(msg->value, &ev) != 0) {
        snprintf(reason, len, "VisitEvent lacks a field");
        return CW_REJECT;
    }
    cw_result rc = judge_visit(g, msg, &ev, out, reason, len);
    cw_visit_event_release(&ev);
    return rc;
}

cw_result geo_handle(void *ctx, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                     size_t len)
{
    geo_ctx *g = ctx;
    const char *name = msg->schema->name;
    if (strcmp(name, "Elder") == 0)
        return handle_elder(g, msg, reason, len);
    if (strcmp(name, "VisitEvent") == 0)
        return handle_visit(g, msg, out, reason, len);
    /* Nothing to judge in an admin's unfreeze (the overlap-detector applies
     * it), in evidence (no location), or in the copy of an assignment in the
     * caregiver's stream (the overlap-detector's). */
    if (strcmp(name, "CaregiverStatusChanged") == 0 || strcmp(name, "Evidence") == 0 ||
        strcmp(name, "OrderAssigned") == 0)
        return CW_OK;
    snprintf(reason, len, "unexpected %s record on %s", name, msg->topic);
    return CW_REJECT;
}

int geo_on_timer(void *ctx, const char *event_id, int64_t due, cw_outbox *out)
{
    geo_ctx *g = ctx;
    geo_waiting_check_in w;
    int found, has_prev;
    geo_point prev = {0, 0};
    int64_t prev_at = 0;
    (void)due; /* the check-in's own time, which its hash holds too */
    if (geo_store_waiting_check_in(g->ck->redis, event_id, &found, &w) != 0)
        return CW_RETRY;
    if (!found)
        return CW_OK;
    if (geo_store_previous_check_out(g->ck->redis, w.caregiver_id, w.at, &has_prev, &prev,
                                     &prev_at) != 0)
        return CW_RETRY;
    geo_verdict v = geo_rule_impossible_travel(has_prev, prev, prev_at, w.fix, w.at,
                                               &g->thresholds);
    return geo_emit_travel(out, event_id, &w, &v) == 0 ? CW_OK : CW_RETRY;
}
