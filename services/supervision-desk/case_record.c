#include "supervision-desk/case_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "geo-validator/geo.h"
#include "topics.h"

/* Copies s into a fixed buffer, refusing what does not fit. */
static int copy_field(char *dst, size_t len, const char *s)
{
    size_t n = strlen(s);
    if (n >= len)
        return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

/* ---- CaseEvent and OrderCorrection out ---------------------------------------- */

/* The typed record of ev; its strings borrow from ev. */
static void event_record(const desk_case_event *ev, cw_case_event *r)
{
    const desk_case_subject *s = &ev->subject;
    const desk_case_alert *al = &ev->alert;
    *r = (cw_case_event){
        .event_id = ev->event_id,
        .case_id = ev->case_id,
        .seq = ev->seq,
        .kind = ev->kind,
        .action = ev->action,
        .status = ev->status,
        .has_resolution = ev->has_resolution,
        .resolution = ev->resolution,
        .colour = ev->colour,
        .has_deadline = ev->has_deadline,
        .deadline = ev->deadline,
        .actor = ev->actor,
        .actor_role = ev->actor_role,
        .note = ev->note ? ev->note : "",
        .at = ev->at,
        .recorded_at = ev->recorded_at,
        .order_id = s->order_id[0] ? s->order_id : NULL,
        .street_id = s->street_id,
        .community_id = s->community_id,
        .provider_id = s->provider_id,
        .caregiver_id = s->caregiver_id,
        .elder_id = s->elder_id,
        .has_alert = ev->has_alert,
        .alert = {.alert_id = al->alert_id,
                  .rule = al->rule,
                  .colour = al->colour,
                  .has_measured = al->has_measured,
                  .measured = al->measured,
                  .has_threshold = al->has_threshold,
                  .threshold = al->threshold,
                  .at = al->at,
                  .message_zh = al->message_zh,
                  .message_en = al->message_en},
        .has_callback_result = ev->has_callback,
        .callback_result = ev->callback,
        .channel = ev->channel[0] ? ev->channel : NULL,
    };
}

int desk_record_encode(const desk_case_event *ev, uint8_t **out, size_t *len, char *err,
                       size_t errlen)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("CaseEvent");
    avro_value_t v;
    cw_case_event r;
    if (!s || cw_avro_new_value(s, &v) != 0) {
        snprintf(err, errlen, "CaseEvent schema unavailable");
        return -1;
    }
    event_record(ev, &r);
    int rc = -1;
    if (cw_case_event_write(&v, &r) != 0)
        snprintf(err, errlen, "CaseEvent %s: a field does not fit the schema", ev->event_id);
    else
        rc = cw_avro_encode(&v, s, out, len, err, errlen);
    avro_value_decref(&v);
    return rc;
}

int desk_record_add(cw_outbox *ob, const desk_case_event *ev, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (desk_record_encode(ev, &buf, &len, err, errlen) != 0)
        return -1;
    if (cw_outbox_add_owned(ob, CW_TOPIC_CASE_EVENTS, ev->case_id, buf, len) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int desk_record_add_correction(cw_outbox *ob, const desk_case_event *resolved, char *err,
                               size_t errlen)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("OrderCorrection");
    avro_value_t v;
    char id[DESK_CASE_ID_MAX * 2];
    if (!s || cw_avro_new_value(s, &v) != 0) {
        snprintf(err, errlen, "OrderCorrection schema unavailable");
        return -1;
    }
    snprintf(id, sizeof(id), "%s:CORRECTION:%s", resolved->subject.order_id, resolved->event_id);
    const cw_order_correction r = {.correction_id = id,
                                   .order_id = resolved->subject.order_id,
                                   .status = CW_ORDER_STATUS_INVALID,
                                   .reason = "CALLBACK_DENIED",
                                   .case_id = resolved->case_id,
                                   .decided_by = resolved->actor,
                                   .decided_at = resolved->at,
                                   .note = resolved->note ? resolved->note : ""};
    int rc = -1;
    if (cw_order_correction_write(&v, &r) != 0)
        snprintf(err, errlen, "OrderCorrection: a field does not fit the schema");
    else
        rc = cw_outbox_add_avro(ob, CW_TOPIC_ORDER_CORRECTIONS, resolved->subject.order_id, &v, s,
                                err, errlen);
    avro_value_decref(&v);
    return rc;
}

/* ---- records in ------------------------------------------------------------------ */

/* Decodes buf as a record named `name` into *v (released by the caller on
 * success). */
static int decode_as(const void *buf, size_t len, const char *name, avro_value_t *v, char *err,
                     size_t errlen)
{
    const cw_avro_schema *s;
    if (cw_avro_decode(buf, len, &s, v, err, errlen) != 0)
        return -1;
    if (strcmp(s->name, name) != 0) {
        snprintf(err, errlen, "a %s where a %s was expected", s->name, name);
        avro_value_decref(v);
        return -1;
    }
    return 0;
}

static int put_subject(desk_case_subject *s, const char *order_id, const char *street,
                       const char *community, const char *provider, const char *caregiver,
                       const char *elder)
{
    memset(s, 0, sizeof(*s));
    return copy_field(s->order_id, sizeof(s->order_id), order_id ? order_id : "") ||
           copy_field(s->street_id, sizeof(s->street_id), street) ||
           copy_field(s->community_id, sizeof(s->community_id), community) ||
           copy_field(s->provider_id, sizeof(s->provider_id), provider) ||
           copy_field(s->caregiver_id, sizeof(s->caregiver_id), caregiver) ||
           copy_field(s->elder_id, sizeof(s->elder_id), elder);
}

/* The alert fields shared by Alert and CaseAlert; messages copied (al owns
 * them, also when this fails). */
static int put_alert(desk_case_alert *al, const char *id, const char *rule, cw_case_colour colour,
                     int has_measured, double measured, int has_threshold, double threshold,
                     int64_t at, const char *zh, const char *en)
{
    al->colour = colour;
    al->has_measured = has_measured;
    al->measured = measured;
    al->has_threshold = has_threshold;
    al->threshold = threshold;
    al->at = at;
    al->message_zh = strdup(zh);
    al->message_en = strdup(en);
    return copy_field(al->alert_id, sizeof(al->alert_id), id) ||
                   copy_field(al->rule, sizeof(al->rule), rule) || !al->message_zh ||
                   !al->message_en
               ? -1
               : 0;
}

/* The desk's event of a CaseEvent record. */
static int event_of(const cw_case_event *r, desk_case_event *ev, char *err, size_t errlen)
{
    const cw_case_alert *a = &r->alert;
    if (r->seq < 1 || copy_field(ev->event_id, sizeof(ev->event_id), r->event_id) ||
        copy_field(ev->case_id, sizeof(ev->case_id), r->case_id) ||
        copy_field(ev->actor, sizeof(ev->actor), r->actor) ||
        copy_field(ev->actor_role, sizeof(ev->actor_role), r->actor_role) ||
        copy_field(ev->channel, sizeof(ev->channel), r->channel ? r->channel : "") ||
        put_subject(&ev->subject, r->order_id, r->street_id, r->community_id, r->provider_id,
                    r->caregiver_id, r->elder_id)) {
        snprintf(err, errlen, "CaseEvent: a field is out of range");
        return -1;
    }
    ev->seq = r->seq;
    ev->kind = r->kind;
    ev->action = r->action;
    ev->status = r->status;
    ev->has_resolution = r->has_resolution;
    ev->resolution = r->resolution;
    ev->colour = r->colour;
    ev->has_deadline = r->has_deadline;
    ev->deadline = r->deadline;
    ev->at = r->at;
    ev->recorded_at = r->recorded_at;
    ev->has_callback = r->has_callback_result;
    ev->callback = r->callback_result;
    ev->note = strdup(r->note);
    if (!ev->note) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ev->has_alert = r->has_alert;
    if (r->has_alert &&
        put_alert(&ev->alert, a->alert_id, a->rule, a->colour, a->has_measured, a->measured,
                  a->has_threshold, a->threshold, a->at, a->message_zh, a->message_en) != 0) {
        snprintf(err, errlen, "CaseEvent: a malformed alert");
        return -1;
    }
    return 0;
}

int desk_record_decode(const void *buf, size_t len, desk_case_event *ev, char *err, size_t errlen)
{
    avro_value_t v;
    cw_case_event r;
    memset(ev, 0, sizeof(*ev));
    if (decode_as(buf, len, "CaseEvent", &v, err, errlen) != 0)
        return -1;
    int rc = -1;
    if (cw_case_event_read(&v, &r) != 0)
        snprintf(err, errlen, "CaseEvent: a field is missing or malformed");
    else
        rc = event_of(&r, ev, err, errlen);
    cw_case_event_release(&r);
    avro_value_decref(&v);
    if (rc != 0)
        desk_case_event_clear(ev);
    return rc;
}

int desk_record_decode_alert(const void *buf, size_t len, desk_case_alert *a, desk_case_subject *s,
                             char **message_zh, char **message_en, char *err, size_t errlen)
{
    avro_value_t v;
    cw_alert r;
    cw_case_colour colour;
    memset(a, 0, sizeof(*a));
    if (decode_as(buf, len, "Alert", &v, err, errlen) != 0)
        return -1;
    int rc = -1;
    /* Alert and CaseAlert name the same colours. */
    if (cw_alert_read(&v, &r) != 0 || cw_case_colour_parse(cw_colour_name(r.colour), &colour) ||
        put_subject(s, r.order_id, r.street_id, r.community_id, r.provider_id, r.caregiver_id,
                    r.elder_id) ||
        put_alert(a, r.alert_id, r.rule, colour, r.has_measured, r.measured, r.has_threshold,
                  r.threshold, r.at, r.message_zh, r.message_en)) {
        snprintf(err, errlen, "Alert: a field is missing or too long");
        free(a->message_zh);
        free(a->message_en);
        a->message_zh = a->message_en = NULL;
    } else {
        *message_zh = a->message_zh;
        *message_en = a->message_en;
        rc = 0;
    }
    cw_alert_release(&r);
    avro_value_decref(&v);
    return rc;
}

int desk_record_decode_check_at(const void *buf, size_t len, int64_t *at, int *of_event, char *err,
                                size_t errlen)
{
    avro_value_t v;
    cw_check_result r;
    if (decode_as(buf, len, "CheckResult", &v, err, errlen) != 0)
        return -1;
    int rc = cw_check_result_read(&v, &r);
    if (rc != 0) {
        snprintf(err, errlen, "CheckResult without at or event_id");
    } else {
        *at = r.at;
        *of_event = r.event_id != NULL;
    }
    cw_check_result_release(&r);
    avro_value_decref(&v);
    return rc;
}

/* The desk's order of an OrderFinalized record. */
static int order_of(const cw_order_finalized *r, desk_order *o)
{
    o->status = r->status;
    o->has_check_in = r->has_check_in_at;
    o->check_in_at = r->check_in_at;
    o->check_out_at = r->has_check_out_at ? r->check_out_at : 0;
    o->has_duration = r->has_duration_minutes;
    o->duration_minutes = r->has_duration_minutes ? r->duration_minutes : 0;
    o->finalized_at = r->finalized_at;
    o->ledger_index = r->ledger_index;
    o->corrects_index = r->has_corrects_index ? r->corrects_index : -1;
    if (put_subject(&o->subject, r->order_id, r->street_id, "", r->provider_id, r->caregiver_id,
                    r->elder_id) ||
        copy_field(o->service_day, sizeof(o->service_day), r->service_day))
        return -1;
    size_t used = 0;
    for (size_t i = 0; i < r->reasons_count; i++) {
        int w = snprintf(o->reasons + used, sizeof(o->reasons) - used, "%s%s", i ? "," : "",
                         r->reasons[i]);
        if (w < 0 || (size_t)w >= sizeof(o->reasons) - used)
            break; /* the list is for display: a long one is cut */
        used += (size_t)w;
    }
    return 0;
}

int desk_record_decode_finalized(const void *buf, size_t len, desk_order *o, char *err,
                                 size_t errlen)
{
    avro_value_t v;
    cw_order_finalized r;
    memset(o, 0, sizeof(*o));
    if (decode_as(buf, len, "OrderFinalized", &v, err, errlen) != 0)
        return -1;
    int rc = -1;
    if (cw_order_finalized_read(&v, &r) != 0)
        snprintf(err, errlen, "OrderFinalized: a field is missing or malformed");
    else if (order_of(&r, o) != 0)
        snprintf(err, errlen, "OrderFinalized: a field is too long");
    else
        rc = 0;
    cw_order_finalized_release(&r);
    avro_value_decref(&v);
    return rc;
}

int desk_record_decode_elder(const void *buf, size_t len, desk_elder *e, char *err, size_t errlen)
{
    avro_value_t v;
    cw_elder r;
    memset(e, 0, sizeof(*e));
    if (decode_as(buf, len, "Elder", &v, err, errlen) != 0)
        return -1;
    int rc = -1;
    if (cw_elder_read(&v, &r) != 0) {
        snprintf(err, errlen, "Elder: a field is missing");
    } else if (copy_field(e->elder_id, sizeof(e->elder_id), r.elder_id) ||
               copy_field(e->street_id, sizeof(e->street_id), r.street_id) ||
               copy_field(e->community_id, sizeof(e->community_id), r.community_id)) {
        snprintf(err, errlen, "Elder: a field is too long");
    } else {
        geo_point p = geo_to_wgs84((geo_point){.lat = r.home.lat, .lon = r.home.lon}, r.home.crs);
        e->home_lat = p.lat;
        e->home_lon = p.lon;
        e->geofence_m = r.has_geofence_radius_m ? r.geofence_radius_m : 0;
        rc = 0;
    }
    cw_elder_release(&r);
    avro_value_decref(&v);
    return rc;
}

/* The fix of a check-in or check-out. */
static int fix_of(const cw_visit_event *r, desk_fix *f)
{
    if (copy_field(f->event_id, sizeof(f->event_id), r->event_id) != 0)
        return -1;
    f->present = 1;
    f->at = r->at;
    f->lat = r->gps.lat;
    f->lon = r->gps.lon;
    f->has_accuracy = r->gps.has_accuracy_m;
    f->accuracy_m = r->gps.accuracy_m;
    f->has_beidou = r->has_beidou;
    f->beidou_lat = r->beidou.lat;
    f->beidou_lon = r->beidou.lon;
    return 0;
}

/* What one record of visit.events (of schema name) says of its order,
 * into out. 0, or -1 with err. */
static int visit_of(const char *name, avro_value_t *v, desk_visit *out, desk_visit_rec *kind,
                    char *err, size_t errlen)
{
    if (strcmp(name, "OrderAssigned") == 0) {
        cw_order_assigned r;
        int rc = cw_order_assigned_read(v, &r);
        if (rc != 0 || copy_field(out->order_id, sizeof(out->order_id), r.order_id) != 0) {
            snprintf(err, errlen, "OrderAssigned: a field is missing or malformed");
            rc = -1;
        } else {
            out->revision = r.has_revision ? r.revision : 0;
            snprintf(out->service_type, sizeof(out->service_type), "%s", r.service_type);
            out->scheduled_start = r.scheduled_start;
            out->scheduled_minutes = r.scheduled_minutes;
            out->has_schedule = 1;
            *kind = DESK_VISIT_REC_ASSIGNED;
        }
        cw_order_assigned_release(&r);
        return rc;
    }
    if (strcmp(name, "VisitEvent") == 0) {
        cw_visit_event r;
        int rc = cw_visit_event_read(v, &r);
        if (rc != 0 || copy_field(out->order_id, sizeof(out->order_id), r.order_id) != 0 ||
            fix_of(&r, r.kind == CW_VISIT_KIND_CHECK_IN ? &out->check_in : &out->check_out)) {
            snprintf(err, errlen, "VisitEvent: a field is missing or malformed");
            rc = -1;
        } else {
            *kind = DESK_VISIT_REC_EVENT;
        }
        cw_visit_event_release(&r);
        return rc;
    }
    if (strcmp(name, "Evidence") == 0) {
        cw_evidence r;
        int rc = cw_evidence_read(v, &r);
        if (rc != 0 || copy_field(out->order_id, sizeof(out->order_id), r.order_id) ||
            copy_field(out->photo_sha256, sizeof(out->photo_sha256), r.watermark_photo_sha256) ||
            copy_field(out->recording_sha256, sizeof(out->recording_sha256),
                       r.elder_recording_sha256)) {
            snprintf(err, errlen, "Evidence: a field is missing or malformed");
            rc = -1;
        } else {
            out->evidence_at = r.at;
            out->has_evidence = 1;
            *kind = DESK_VISIT_REC_EVIDENCE;
        }
        cw_evidence_release(&r);
        return rc;
    }
    return 0; /* another record (an unfreeze): nothing of an order's visit */
}

int desk_record_decode_visit(const void *buf, size_t len, desk_visit *out, desk_visit_rec *kind,
                             char *err, size_t errlen)
{
    const cw_avro_schema *s;
    avro_value_t v;
    memset(out, 0, sizeof(*out));
    *kind = DESK_VISIT_REC_OTHER;
    if (cw_avro_decode(buf, len, &s, &v, err, errlen) != 0)
        return -1;
    int rc = visit_of(s->name, &v, out, kind, err, errlen);
    avro_value_decref(&v);
    return rc;
}

int desk_record_decode_change(const void *buf, size_t len, desk_change *c, char *err, size_t errlen)
{
    avro_value_t v;
    cw_order_change r;
    memset(c, 0, sizeof(*c));
    if (decode_as(buf, len, "OrderChange", &v, err, errlen) != 0)
        return -1;
    int rc = -1;
    if (cw_order_change_read(&v, &r) != 0) {
        snprintf(err, errlen, "OrderChange: a field is missing or malformed");
    } else if (copy_field(c->change_id, sizeof(c->change_id), r.change_id) ||
               copy_field(c->order_id, sizeof(c->order_id), r.order_id) ||
               copy_field(c->provider_id, sizeof(c->provider_id), r.provider_id) ||
               copy_field(c->street_id, sizeof(c->street_id), r.street_id) ||
               copy_field(c->caregiver_id, sizeof(c->caregiver_id), r.caregiver_id) ||
               copy_field(c->reason_code, sizeof(c->reason_code), r.reason_code) ||
               copy_field(c->requested_by, sizeof(c->requested_by), r.requested_by) ||
               copy_field(c->approved_by, sizeof(c->approved_by),
                          r.approved_by ? r.approved_by : "") ||
               copy_field(c->new_caregiver_id, sizeof(c->new_caregiver_id),
                          r.new_caregiver_id ? r.new_caregiver_id : "")) {
        snprintf(err, errlen, "OrderChange: a field is too long");
    } else {
        c->kind = r.kind;
        c->state = r.state;
        c->requested_at = r.requested_at;
        c->scheduled_start = r.scheduled_start;
        c->has_new_start = r.has_new_scheduled_start;
        c->new_scheduled_start = r.new_scheduled_start;
        rc = 0;
    }
    cw_order_change_release(&r);
    avro_value_decref(&v);
    return rc;
}

int desk_record_decode_status(const void *buf, size_t len, desk_status_change *c, char *err,
                              size_t errlen)
{
    avro_value_t v;
    cw_caregiver_status_changed r;
    memset(c, 0, sizeof(*c));
    if (decode_as(buf, len, "CaregiverStatusChanged", &v, err, errlen) != 0)
        return -1;
    int rc = -1;
    if (cw_caregiver_status_changed_read(&v, &r) != 0) {
        snprintf(err, errlen, "CaregiverStatusChanged: a field is missing or malformed");
    } else if (copy_field(c->caregiver_id, sizeof(c->caregiver_id), r.caregiver_id) ||
               copy_field(c->order_id, sizeof(c->order_id), r.order_id ? r.order_id : "")) {
        snprintf(err, errlen, "CaregiverStatusChanged: a field is too long");
    } else {
        c->status = r.status;
        c->at = r.at;
        snprintf(c->reason, sizeof(c->reason), "%s", r.reason); /* shown only: a long one is cut */
        rc = 0;
    }
    cw_caregiver_status_changed_release(&r);
    avro_value_decref(&v);
    return rc;
}
