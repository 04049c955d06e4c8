#include "supervision-desk/case_json.h"

#include <string.h>

#include "geo-validator/geo.h"
#include "timeutil.h"

/* The GEO_DISTANCE rule's radius, when the elder has none of its own. */
#define RULE_RADIUS_M 30

json_t *desk_json_time(int64_t ms, int utc_offset_minutes)
{
    char buf[40];
    if (ms == INT64_MIN)
        return json_null();
    cw_time_format_rfc3339(ms, utc_offset_minutes, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

static void put_subject(json_t *o, const desk_case_subject *s)
{
    json_object_set_new(o, "order_id", str_or_null(s->order_id));
    json_object_set_new(o, "street_id", json_string(s->street_id));
    json_object_set_new(o, "community_id", json_string(s->community_id));
    json_object_set_new(o, "provider_id", json_string(s->provider_id));
    json_object_set_new(o, "caregiver_id", json_string(s->caregiver_id));
    json_object_set_new(o, "elder_id", json_string(s->elder_id));
}

static json_t *alert_json(const desk_case_alert *a, int tz)
{
    json_t *o = json_object();
    json_object_set_new(o, "alert_id", json_string(a->alert_id));
    json_object_set_new(o, "rule", json_string(a->rule));
    json_object_set_new(o, "colour", json_string(cw_case_colour_name(a->colour)));
    json_object_set_new(o, "measured", a->has_measured ? json_real(a->measured) : json_null());
    json_object_set_new(o, "threshold", a->has_threshold ? json_real(a->threshold) : json_null());
    json_object_set_new(o, "at", desk_json_time(a->at, tz));
    json_object_set_new(o, "message_zh", json_string(a->message_zh ? a->message_zh : ""));
    json_object_set_new(o, "message_en", json_string(a->message_en ? a->message_en : ""));
    return o;
}

/* A case's or an event's status, resolution, colour and deadline (NULL:
 * none). */
static void put_state(json_t *o, cw_case_status status, const cw_case_resolution *resolution,
                      cw_case_colour colour, const int64_t *deadline, int tz)
{
    json_object_set_new(o, "status", json_string(cw_case_status_name(status)));
    json_object_set_new(o, "resolution",
                        resolution ? json_string(cw_case_resolution_name(*resolution))
                                   : json_null());
    json_object_set_new(o, "colour", json_string(cw_case_colour_name(colour)));
    json_object_set_new(o, "deadline", deadline ? desk_json_time(*deadline, tz) : json_null());
}

json_t *desk_json_summary(const desk_case *c, int64_t watermark, int tz)
{
    json_t *o = json_object();
    json_t *rules = json_array();
    if (!o || !rules) {
        json_decref(o);
        json_decref(rules);
        return NULL;
    }
    size_t alerts = 0;
    for (size_t i = 0; i < c->event_count; i++) {
        const desk_case_event *ev = &c->events[i];
        if (!ev->has_alert)
            continue;
        alerts++;
        int seen = 0;
        for (size_t j = 0; j < json_array_size(rules); j++)
            seen |= strcmp(json_string_value(json_array_get(rules, j)), ev->alert.rule) == 0;
        if (!seen)
            json_array_append_new(rules, json_string(ev->alert.rule));
    }
    json_object_set_new(o, "case_id", json_string(c->id));
    json_object_set_new(o, "kind", json_string(cw_case_kind_name(c->kind)));
    put_state(o, c->status, c->has_resolution ? &c->resolution : NULL, c->colour,
              c->has_deadline ? &c->deadline : NULL, tz);
    json_object_set_new(o, "overdue",
                        json_boolean(c->has_deadline && c->status == CW_CASE_STATUS_OPEN &&
                                     watermark != INT64_MIN && watermark > c->deadline));
    json_object_set_new(o, "opened_at", desk_json_time(c->opened_at, tz));
    json_object_set_new(o, "updated_at", desk_json_time(c->updated_at, tz));
    put_subject(o, &c->subject);
    json_object_set_new(o, "alerts", json_integer((json_int_t)alerts));
    json_object_set_new(o, "rules", rules);
    json_object_set_new(o, "callback_denied", json_boolean(c->denied));
    return o;
}

json_t *desk_json_event(const desk_case_event *ev, int tz)
{
    json_t *o = json_object();
    json_object_set_new(o, "event_id", json_string(ev->event_id));
    json_object_set_new(o, "seq", json_integer(ev->seq));
    json_object_set_new(o, "action", json_string(cw_case_action_name(ev->action)));
    put_state(o, ev->status, ev->has_resolution ? &ev->resolution : NULL, ev->colour,
              ev->has_deadline ? &ev->deadline : NULL, tz);
    json_object_set_new(o, "actor", json_string(ev->actor));
    json_object_set_new(o, "actor_role", json_string(ev->actor_role));
    json_object_set_new(o, "note", json_string(ev->note ? ev->note : ""));
    json_object_set_new(o, "at", desk_json_time(ev->at, tz));
    json_object_set_new(o, "recorded_at", desk_json_time(ev->recorded_at, tz));
    json_object_set_new(o, "alert", ev->has_alert ? alert_json(&ev->alert, tz) : json_null());
    json_object_set_new(o, "callback_result",
                        ev->has_callback ? json_string(cw_callback_result_name(ev->callback))
                                         : json_null());
    json_object_set_new(o, "channel", str_or_null(ev->channel));
    return o;
}

json_t *desk_json_order(const desk_order *d, int tz)
{
    json_t *o = json_object();
    json_t *reasons = json_array();
    put_subject(o, &d->subject);
    json_object_set_new(o, "service_day", json_string(d->service_day));
    json_object_set_new(o, "status", json_string(cw_order_status_name(d->status)));
    if (d->reasons[0]) {
        char copy[sizeof(d->reasons)];
        memcpy(copy, d->reasons, sizeof(copy));
        for (char *save = NULL, *r = strtok_r(copy, ",", &save); r; r = strtok_r(NULL, ",", &save))
            json_array_append_new(reasons, json_string(r));
    }
    json_object_set_new(o, "reasons", reasons);
    json_object_set_new(o, "check_in_at",
                        d->has_check_in ? desk_json_time(d->check_in_at, tz) : json_null());
    json_object_set_new(o, "check_out_at",
                        d->check_out_at ? desk_json_time(d->check_out_at, tz) : json_null());
    json_object_set_new(o, "duration_minutes",
                        d->has_duration ? json_integer(d->duration_minutes) : json_null());
    json_object_set_new(o, "finalized_at", desk_json_time(d->finalized_at, tz));
    json_object_set_new(o, "ledger_index", json_integer((json_int_t)d->ledger_index));
    json_object_set_new(o, "corrects_index",
                        d->corrects_index >= 0 ? json_integer((json_int_t)d->corrects_index)
                                               : json_null());
    return o;
}

json_t *desk_json_full(const desk_case *c, const desk_order *order, int64_t watermark, int tz)
{
    json_t *o = desk_json_summary(c, watermark, tz);
    json_t *events = json_array(), *alerts = json_array(), *callbacks = json_array();
    for (size_t i = 0; i < c->event_count; i++) {
        const desk_case_event *ev = &c->events[i];
        json_array_append_new(events, desk_json_event(ev, tz));
        if (ev->has_alert)
            json_array_append_new(alerts, alert_json(&ev->alert, tz));
        if (ev->action == CW_CASE_ACTION_CALLBACK)
            json_array_append_new(callbacks, desk_json_event(ev, tz));
    }
    json_object_set_new(o, "events", events);
    json_object_set_new(o, "alert_list", alerts);
    json_object_set_new(o, "callbacks", callbacks);
    json_object_set_new(o, "order", order ? desk_json_order(order, tz) : json_null());
    return o;
}

static json_t *fix_json(const desk_fix *f, const desk_elder *elder, int tz)
{
    if (!f->present)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "event_id", json_string(f->event_id));
    json_object_set_new(o, "at", desk_json_time(f->at, tz));
    json_object_set_new(o, "gps", json_pack("{s:f, s:f, s:o}", "lat", f->lat, "lon", f->lon,
                                            "accuracy_m", f->has_accuracy
                                                              ? json_real(f->accuracy_m)
                                                              : json_null()));
    json_object_set_new(o, "beidou", f->has_beidou ? json_pack("{s:f, s:f}", "lat", f->beidou_lat,
                                                               "lon", f->beidou_lon)
                                                   : json_null());
    if (elder) {
        geo_point home = {elder->home_lat, elder->home_lon};
        geo_point gps = {f->lat, f->lon};
        json_object_set_new(o, "gps_distance_m", json_real(geo_distance_m(home, gps)));
        if (f->has_beidou) {
            geo_point bd = {f->beidou_lat, f->beidou_lon};
            json_object_set_new(o, "beidou_distance_m", json_real(geo_distance_m(home, bd)));
        }
    }
    return o;
}

json_t *desk_json_visit(const desk_visit *v, const desk_elder *elder, int tz)
{
    json_t *o = json_object();
    json_object_set_new(o, "service_type", v->has_schedule ? json_string(v->service_type)
                                                           : json_null());
    json_object_set_new(o, "scheduled_start",
                        v->has_schedule ? desk_json_time(v->scheduled_start, tz) : json_null());
    json_object_set_new(o, "scheduled_minutes",
                        v->has_schedule ? json_integer(v->scheduled_minutes) : json_null());
    json_object_set_new(o, "check_in", fix_json(&v->check_in, elder, tz));
    json_object_set_new(o, "check_out", fix_json(&v->check_out, elder, tz));
    json_object_set_new(o, "evidence",
                        v->has_evidence
                            ? json_pack("{s:o, s:s, s:s}", "at", desk_json_time(v->evidence_at, tz),
                                        "watermark_photo_sha256", v->photo_sha256,
                                        "elder_recording_sha256", v->recording_sha256)
                            : json_null());
    json_object_set_new(o, "home", elder ? json_pack("{s:f, s:f, s:i}", "lat", elder->home_lat,
                                                     "lon", elder->home_lon, "radius_m",
                                                     elder->geofence_m ? elder->geofence_m
                                                                       : RULE_RADIUS_M)
                                         : json_null());
    return o;
}
