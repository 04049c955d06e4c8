#include "case_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "geo.h"
#include "topics.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        goto done;                                                                                 \
    } while (0)

/* Copies s into a fixed buffer, refusing what does not fit. */
static int copy_field(char *dst, size_t len, const char *s)
{
    size_t n = strlen(s);
    if (n >= len)
        return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

static int set_subject(avro_value_t *v, const case_subject *s)
{
    return cw_av_set_opt_str(v, "order_id", s->order_id[0] ? s->order_id : NULL) ||
           cw_av_set_str(v, "street_id", s->street_id) ||
           cw_av_set_str(v, "community_id", s->community_id) ||
           cw_av_set_str(v, "provider_id", s->provider_id) ||
           cw_av_set_str(v, "caregiver_id", s->caregiver_id) ||
           cw_av_set_str(v, "elder_id", s->elder_id);
}

static int set_alert(avro_value_t *v, const case_event *ev)
{
    avro_value_t u, a;
    if (!ev->has_alert)
        return cw_av_set_null(v, "alert");
    if (cw_av_field(v, "alert", &u) != 0 || avro_value_set_branch(&u, 1, &a) != 0)
        return -1;
    const case_alert *al = &ev->alert;
    return cw_av_set_str(&a, "alert_id", al->alert_id) || cw_av_set_str(&a, "rule", al->rule) ||
           cw_av_set_enum(&a, "colour", case_colour_name(al->colour)) ||
           cw_av_set_opt_double(&a, "measured", al->has_measured, al->measured) ||
           cw_av_set_opt_double(&a, "threshold", al->has_threshold, al->threshold) ||
           cw_av_set_long(&a, "at", al->at) || cw_av_set_str(&a, "message_zh", al->message_zh) ||
           cw_av_set_str(&a, "message_en", al->message_en);
}

static int fill_event(avro_value_t *v, const case_event *ev)
{
    if (cw_av_set_str(v, "event_id", ev->event_id) || cw_av_set_str(v, "case_id", ev->case_id) ||
        cw_av_set_int(v, "seq", ev->seq) || cw_av_set_enum(v, "kind", case_kind_name(ev->kind)) ||
        cw_av_set_enum(v, "action", case_action_name(ev->action)) ||
        cw_av_set_enum(v, "status", case_status_name(ev->status)) ||
        cw_av_set_enum(v, "colour", case_colour_name(ev->colour)) ||
        cw_av_set_opt_long(v, "deadline", ev->has_deadline, ev->deadline) ||
        cw_av_set_str(v, "actor", ev->actor) || cw_av_set_str(v, "actor_role", ev->actor_role) ||
        cw_av_set_str(v, "note", ev->note ? ev->note : "") || cw_av_set_long(v, "at", ev->at) ||
        cw_av_set_long(v, "recorded_at", ev->recorded_at) || set_subject(v, &ev->subject) ||
        set_alert(v, ev))
        return -1;
    if (ev->resolution != RESOLUTION_NONE &&
        cw_av_set_enum(v, "resolution", case_resolution_name(ev->resolution)) != 0)
        return -1;
    if (ev->callback != CALLBACK_NONE &&
        cw_av_set_enum(v, "callback_result", callback_result_name(ev->callback)) != 0)
        return -1;
    if (ev->channel[0] && cw_av_set_str(v, "channel", ev->channel) != 0)
        return -1;
    return 0;
}

int case_record_encode(const case_event *ev, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("CaseEvent");
    avro_value_t v;
    int rc = -1;
    if (!s || cw_avro_new_value(s, &v) != 0) {
        snprintf(err, errlen, "CaseEvent schema unavailable");
        return -1;
    }
    if (fill_event(&v, ev) != 0)
        FAIL("CaseEvent %s: a field does not fit the schema", ev->event_id);
    rc = cw_avro_encode(&v, s, out, len, err, errlen);
done:
    avro_value_decref(&v);
    return rc;
}

int case_record_add(cw_outbox *ob, const case_event *ev, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (case_record_encode(ev, &buf, &len, err, errlen) != 0)
        return -1;
    if (cw_outbox_add_owned(ob, CW_TOPIC_CASE_EVENTS, ev->case_id, buf, len) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

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

static int get_subject(avro_value_t *v, case_subject *s)
{
    const char *order_id, *street, *community, *provider, *caregiver, *elder;
    if (cw_av_get_opt_str(v, "order_id", &order_id) || cw_av_get_str(v, "street_id", &street) ||
        cw_av_get_str(v, "community_id", &community) ||
        cw_av_get_str(v, "provider_id", &provider) ||
        cw_av_get_str(v, "caregiver_id", &caregiver) || cw_av_get_str(v, "elder_id", &elder))
        return -1;
    memset(s, 0, sizeof(*s));
    return copy_field(s->order_id, sizeof(s->order_id), order_id ? order_id : "") ||
           copy_field(s->street_id, sizeof(s->street_id), street) ||
           copy_field(s->community_id, sizeof(s->community_id), community) ||
           copy_field(s->provider_id, sizeof(s->provider_id), provider) ||
           copy_field(s->caregiver_id, sizeof(s->caregiver_id), caregiver) ||
           copy_field(s->elder_id, sizeof(s->elder_id), elder);
}

/* The alert fields shared by Alert and CaseAlert; messages copied. */
static int get_alert(avro_value_t *a, case_alert *al)
{
    const char *id, *rule, *colour, *zh, *en;
    if (cw_av_get_str(a, "alert_id", &id) || cw_av_get_str(a, "rule", &rule) ||
        cw_av_get_enum(a, "colour", &colour) ||
        cw_av_get_opt_double(a, "measured", &al->has_measured, &al->measured) ||
        cw_av_get_opt_double(a, "threshold", &al->has_threshold, &al->threshold) ||
        cw_av_get_long(a, "at", &al->at) || cw_av_get_str(a, "message_zh", &zh) ||
        cw_av_get_str(a, "message_en", &en))
        return -1;
    int c = case_colour_parse(colour);
    if (c < 0 || copy_field(al->alert_id, sizeof(al->alert_id), id) ||
        copy_field(al->rule, sizeof(al->rule), rule))
        return -1;
    al->colour = (case_colour)c;
    al->message_zh = strdup(zh);
    al->message_en = strdup(en);
    return al->message_zh && al->message_en ? 0 : -1;
}

/* The symbol index of a ["null", enum] field: -1 for null. 0 or -1. */
static int opt_enum_index(avro_value_t *rec, const char *field, int *index)
{
    avro_value_t u, branch;
    int disc;
    *index = -1;
    if (cw_av_field(rec, field, &u) != 0 || avro_value_get_discriminant(&u, &disc) != 0)
        return -1;
    if (disc == 0)
        return 0;
    if (avro_value_get_current_branch(&u, &branch) != 0 ||
        avro_value_get_enum(&branch, index) != 0)
        return -1;
    return 0;
}

int case_record_decode(const void *buf, size_t len, case_event *ev, char *err, size_t errlen)
{
    avro_value_t v, alert;
    int rc = -1;
    memset(ev, 0, sizeof(*ev));
    ev->resolution = RESOLUTION_NONE;
    ev->callback = CALLBACK_NONE;
    if (decode_as(buf, len, "CaseEvent", &v, err, errlen) != 0)
        return -1;
    const char *event_id, *case_id, *kind, *action, *status, *colour, *actor, *role, *note;
    const char *channel;
    int32_t seq;
    int has_alert;
    const char *bad = cw_av_get_str(&v, "event_id", &event_id)    ? "event_id"
                      : cw_av_get_str(&v, "case_id", &case_id)    ? "case_id"
                      : cw_av_get_int(&v, "seq", &seq)            ? "seq"
                      : cw_av_get_enum(&v, "kind", &kind)         ? "kind"
                      : cw_av_get_enum(&v, "action", &action)     ? "action"
                      : cw_av_get_enum(&v, "status", &status)     ? "status"
                      : cw_av_get_enum(&v, "colour", &colour)     ? "colour"
                      : cw_av_get_opt_long(&v, "deadline", &ev->has_deadline, &ev->deadline)
                          ? "deadline"
                      : cw_av_get_str(&v, "actor", &actor)        ? "actor"
                      : cw_av_get_str(&v, "actor_role", &role)    ? "actor_role"
                      : cw_av_get_str(&v, "note", &note)          ? "note"
                      : cw_av_get_long(&v, "at", &ev->at)         ? "at"
                      : cw_av_get_long(&v, "recorded_at", &ev->recorded_at) ? "recorded_at"
                      : cw_av_get_opt_str(&v, "channel", &channel) ? "channel"
                      : get_subject(&v, &ev->subject)             ? "subject"
                      : cw_av_get_present(&v, "alert", &has_alert, &alert) ? "alert"
                                                                  : NULL;
    if (bad)
        FAIL("CaseEvent: %s is missing or malformed", bad);
    /* The enums' symbols are in the order of case_resolution and
     * callback_result. */
    int resolution_index = -1, callback_index = -1;
    if (opt_enum_index(&v, "resolution", &resolution_index) != 0 ||
        opt_enum_index(&v, "callback_result", &callback_index) != 0 ||
        resolution_index > RESOLUTION_EVIDENCE_ACCEPTED || callback_index > CALLBACK_UNREACHABLE)
        FAIL("CaseEvent: bad resolution or callback_result");
    int k = case_kind_parse(kind), a = case_action_parse(action), s = case_status_parse(status),
        c = case_colour_parse(colour);
    if (k < 0 || a < 0 || s < 0 || c < 0 || seq < 1 ||
        copy_field(ev->event_id, sizeof(ev->event_id), event_id) ||
        copy_field(ev->case_id, sizeof(ev->case_id), case_id) ||
        copy_field(ev->actor, sizeof(ev->actor), actor) ||
        copy_field(ev->actor_role, sizeof(ev->actor_role), role) ||
        copy_field(ev->channel, sizeof(ev->channel), channel ? channel : ""))
        FAIL("CaseEvent: a field is out of range");
    ev->seq = seq;
    ev->kind = (case_kind)k;
    ev->action = (case_action)a;
    ev->status = (case_status)s;
    ev->colour = (case_colour)c;
    ev->resolution = (case_resolution)resolution_index;
    ev->callback = (callback_result)callback_index;
    ev->note = strdup(note);
    if (!ev->note)
        FAIL("out of memory");
    if (has_alert) {
        ev->has_alert = 1;
        if (get_alert(&alert, &ev->alert) != 0)
            FAIL("CaseEvent: a malformed alert");
    }
    rc = 0;
done:
    avro_value_decref(&v);
    if (rc != 0)
        case_event_clear(ev);
    return rc;
}

int case_record_decode_alert(const void *buf, size_t len, case_alert *a, case_subject *s,
                             char **message_zh, char **message_en, char *err, size_t errlen)
{
    avro_value_t v;
    int rc = -1;
    memset(a, 0, sizeof(*a));
    if (decode_as(buf, len, "Alert", &v, err, errlen) != 0)
        return -1;
    if (get_subject(&v, s) != 0 || get_alert(&v, a) != 0)
        FAIL("Alert: a field is missing or too long");
    *message_zh = a->message_zh;
    *message_en = a->message_en;
    rc = 0;
done:
    if (rc != 0) {
        free(a->message_zh);
        free(a->message_en);
        a->message_zh = a->message_en = NULL;
    }
    avro_value_decref(&v);
    return rc;
}

int case_record_decode_check_at(const void *buf, size_t len, int64_t *at, int *of_event,
                                char *err, size_t errlen)
{
    avro_value_t v;
    const char *event_id;
    if (decode_as(buf, len, "CheckResult", &v, err, errlen) != 0)
        return -1;
    int rc = cw_av_get_long(&v, "at", at) || cw_av_get_opt_str(&v, "event_id", &event_id) ? -1 : 0;
    if (rc != 0)
        snprintf(err, errlen, "CheckResult without at or event_id");
    else
        *of_event = event_id != NULL;
    avro_value_decref(&v);
    return rc;
}

int case_record_decode_finalized(const void *buf, size_t len, desk_order *o, char *err,
                                 size_t errlen)
{
    avro_value_t v;
    int rc = -1;
    memset(o, 0, sizeof(*o));
    if (decode_as(buf, len, "OrderFinalized", &v, err, errlen) != 0)
        return -1;
    const char *order_id, *provider, *caregiver, *elder, *street, *day, *status;
    int has_out, has_corrects = 0;
    int32_t minutes;
    int64_t corrects = -1;
    size_t n_reasons;
    if (cw_av_get_str(&v, "order_id", &order_id) || cw_av_get_str(&v, "provider_id", &provider) ||
        cw_av_get_str(&v, "caregiver_id", &caregiver) || cw_av_get_str(&v, "elder_id", &elder) ||
        cw_av_get_str(&v, "street_id", &street) || cw_av_get_str(&v, "service_day", &day) ||
        cw_av_get_enum(&v, "status", &status) ||
        cw_av_get_opt_long(&v, "check_in_at", &o->has_check_in, &o->check_in_at) ||
        cw_av_get_opt_long(&v, "check_out_at", &has_out, &o->check_out_at) ||
        cw_av_get_opt_int(&v, "duration_minutes", &o->has_duration, &minutes) ||
        cw_av_get_long(&v, "finalized_at", &o->finalized_at) ||
        cw_av_get_long(&v, "ledger_index", &o->ledger_index) ||
        cw_av_get_array_size(&v, "reasons", &n_reasons))
        FAIL("OrderFinalized: a field is missing or malformed");
    /* corrects_index: only in entries that correct an earlier one. */
    avro_value_t field;
    if (avro_value_get_by_name(&v, "corrects_index", &field, NULL) == 0 &&
        cw_av_get_opt_long(&v, "corrects_index", &has_corrects, &corrects) != 0)
        FAIL("OrderFinalized: a malformed corrects_index");
    o->corrects_index = has_corrects ? corrects : -1;
    o->duration_minutes = o->has_duration ? minutes : 0;
    if (!has_out)
        o->check_out_at = 0;
    if (copy_field(o->subject.order_id, sizeof(o->subject.order_id), order_id) ||
        copy_field(o->subject.provider_id, sizeof(o->subject.provider_id), provider) ||
        copy_field(o->subject.caregiver_id, sizeof(o->subject.caregiver_id), caregiver) ||
        copy_field(o->subject.elder_id, sizeof(o->subject.elder_id), elder) ||
        copy_field(o->subject.street_id, sizeof(o->subject.street_id), street) ||
        copy_field(o->service_day, sizeof(o->service_day), day) ||
        copy_field(o->status, sizeof(o->status), status))
        FAIL("OrderFinalized: a field is too long");
    size_t used = 0;
    for (size_t i = 0; i < n_reasons; i++) {
        const char *r;
        if (cw_av_get_str_at(&v, "reasons", i, &r) != 0)
            FAIL("OrderFinalized: a malformed reason");
        int w = snprintf(o->reasons + used, sizeof(o->reasons) - used, "%s%s", i ? "," : "", r);
        if (w < 0 || (size_t)w >= sizeof(o->reasons) - used)
            break; /* the list is for display: a long one is cut */
        used += (size_t)w;
    }
    rc = 0;
done:
    avro_value_decref(&v);
    return rc;
}

int case_record_decode_elder(const void *buf, size_t len, desk_elder *e, char *err,
                             size_t errlen)
{
    avro_value_t v;
    int rc = -1;
    memset(e, 0, sizeof(*e));
    if (decode_as(buf, len, "Elder", &v, err, errlen) != 0)
        return -1;
    const char *id, *street, *community, *crs;
    avro_value_t home;
    int has_radius;
    int32_t radius = 0;
    geo_point p;
    geo_crs system;
    if (cw_av_get_str(&v, "elder_id", &id) || cw_av_get_str(&v, "street_id", &street) ||
        cw_av_get_str(&v, "community_id", &community) || cw_av_field(&v, "home", &home) ||
        cw_av_get_double(&home, "lat", &p.lat) || cw_av_get_double(&home, "lon", &p.lon) ||
        cw_av_get_enum(&home, "crs", &crs) || geo_crs_parse(crs, &system) ||
        cw_av_get_opt_int(&v, "geofence_radius_m", &has_radius, &radius))
        FAIL("Elder: a field is missing");
    p = geo_to_wgs84(p, system);
    e->home_lat = p.lat;
    e->home_lon = p.lon;
    e->geofence_m = has_radius ? radius : 0;
    if (copy_field(e->elder_id, sizeof(e->elder_id), id) ||
        copy_field(e->street_id, sizeof(e->street_id), street) ||
        copy_field(e->community_id, sizeof(e->community_id), community))
        FAIL("Elder: a field is too long");
    rc = 0;
done:
    avro_value_decref(&v);
    return rc;
}

static int get_fix(avro_value_t *v, desk_fix *f)
{
    avro_value_t gps, bd;
    const char *event_id;
    if (cw_av_get_str(v, "event_id", &event_id) || cw_av_get_long(v, "at", &f->at) ||
        cw_av_field(v, "gps", &gps) || cw_av_get_double(&gps, "lat", &f->lat) ||
        cw_av_get_double(&gps, "lon", &f->lon) ||
        cw_av_get_opt_double(&gps, "accuracy_m", &f->has_accuracy, &f->accuracy_m) ||
        cw_av_get_present(v, "beidou", &f->has_beidou, &bd) ||
        copy_field(f->event_id, sizeof(f->event_id), event_id))
        return -1;
    if (f->has_beidou && (cw_av_get_double(&bd, "lat", &f->beidou_lat) ||
                          cw_av_get_double(&bd, "lon", &f->beidou_lon)))
        return -1;
    f->present = 1;
    return 0;
}

int case_record_decode_visit(const void *buf, size_t len, desk_visit *out, visit_rec *kind,
                             char *err, size_t errlen)
{
    const cw_avro_schema *s;
    avro_value_t v;
    int rc = -1;
    const char *order;
    memset(out, 0, sizeof(*out));
    *kind = VISIT_REC_OTHER;
    if (cw_avro_decode(buf, len, &s, &v, err, errlen) != 0)
        return -1;
    if (strcmp(s->name, "OrderAssigned") == 0) {
        const char *type;
        int32_t minutes, revision = 0;
        int has_revision = 0;
        if (cw_av_get_str(&v, "order_id", &order) || cw_av_get_str(&v, "service_type", &type) ||
            cw_av_get_long(&v, "scheduled_start", &out->scheduled_start) ||
            cw_av_get_int(&v, "scheduled_minutes", &minutes) ||
            cw_av_get_opt_int(&v, "revision", &has_revision, &revision))
            FAIL("OrderAssigned: a field is missing or malformed");
        out->revision = has_revision ? revision : 0;
        snprintf(out->service_type, sizeof(out->service_type), "%s", type);
        out->scheduled_minutes = minutes;
        out->has_schedule = 1;
        *kind = VISIT_REC_ASSIGNED;
    } else if (strcmp(s->name, "VisitEvent") == 0) {
        const char *visit_kind;
        if (cw_av_get_str(&v, "order_id", &order) || cw_av_get_enum(&v, "kind", &visit_kind))
            FAIL("VisitEvent: a field is missing or malformed");
        desk_fix *f = strcmp(visit_kind, "CHECK_IN") == 0 ? &out->check_in : &out->check_out;
        if (get_fix(&v, f) != 0)
            FAIL("VisitEvent: a fix is missing or malformed");
        *kind = VISIT_REC_EVENT;
    } else if (strcmp(s->name, "Evidence") == 0) {
        const char *photo, *recording;
        if (cw_av_get_str(&v, "order_id", &order) || cw_av_get_long(&v, "at", &out->evidence_at) ||
            cw_av_get_str(&v, "watermark_photo_sha256", &photo) ||
            cw_av_get_str(&v, "elder_recording_sha256", &recording) ||
            copy_field(out->photo_sha256, sizeof(out->photo_sha256), photo) ||
            copy_field(out->recording_sha256, sizeof(out->recording_sha256), recording))
            FAIL("Evidence: a field is missing or malformed");
        out->has_evidence = 1;
        *kind = VISIT_REC_EVIDENCE;
    } else {
        rc = 0; /* another record (an unfreeze): nothing of an order's visit */
        goto done;
    }
    if (copy_field(out->order_id, sizeof(out->order_id), order) != 0)
        FAIL("visit.events: an order id too long");
    rc = 0;
done:
    avro_value_decref(&v);
    return rc;
}

int case_record_decode_change(const void *buf, size_t len, desk_change *c, char *err,
                              size_t errlen)
{
    avro_value_t v;
    int rc = -1;
    memset(c, 0, sizeof(*c));
    if (decode_as(buf, len, "OrderChange", &v, err, errlen) != 0)
        return -1;
    const char *id, *order, *provider, *street, *caregiver, *kind, *reason, *state, *by;
    const char *approved_by, *new_caregiver;
    if (cw_av_get_str(&v, "change_id", &id) || cw_av_get_str(&v, "order_id", &order) ||
        cw_av_get_str(&v, "provider_id", &provider) || cw_av_get_str(&v, "street_id", &street) ||
        cw_av_get_str(&v, "caregiver_id", &caregiver) || cw_av_get_enum(&v, "kind", &kind) ||
        cw_av_get_str(&v, "reason_code", &reason) || cw_av_get_enum(&v, "state", &state) ||
        cw_av_get_str(&v, "requested_by", &by) ||
        cw_av_get_opt_str(&v, "approved_by", &approved_by) ||
        cw_av_get_opt_str(&v, "new_caregiver_id", &new_caregiver) ||
        cw_av_get_long(&v, "requested_at", &c->requested_at) ||
        cw_av_get_long(&v, "scheduled_start", &c->scheduled_start) ||
        cw_av_get_opt_long(&v, "new_scheduled_start", &c->has_new_start,
                           &c->new_scheduled_start))
        FAIL("OrderChange: a field is missing or malformed");
    if (copy_field(c->change_id, sizeof(c->change_id), id) ||
        copy_field(c->order_id, sizeof(c->order_id), order) ||
        copy_field(c->provider_id, sizeof(c->provider_id), provider) ||
        copy_field(c->street_id, sizeof(c->street_id), street) ||
        copy_field(c->caregiver_id, sizeof(c->caregiver_id), caregiver) ||
        copy_field(c->kind, sizeof(c->kind), kind) ||
        copy_field(c->reason_code, sizeof(c->reason_code), reason) ||
        copy_field(c->state, sizeof(c->state), state) ||
        copy_field(c->requested_by, sizeof(c->requested_by), by) ||
        copy_field(c->approved_by, sizeof(c->approved_by), approved_by ? approved_by : "") ||
        copy_field(c->new_caregiver_id, sizeof(c->new_caregiver_id),
                   new_caregiver ? new_caregiver : ""))
        FAIL("OrderChange: a field is too long");
    rc = 0;
done:
    avro_value_decref(&v);
    return rc;
}

int case_record_decode_status(const void *buf, size_t len, desk_status_change *c, char *err,
                              size_t errlen)
{
    avro_value_t v;
    int rc = -1;
    memset(c, 0, sizeof(*c));
    if (decode_as(buf, len, "CaregiverStatusChanged", &v, err, errlen) != 0)
        return -1;
    const char *cg, *status, *reason, *order;
    if (cw_av_get_str(&v, "caregiver_id", &cg) || cw_av_get_enum(&v, "status", &status) ||
        cw_av_get_str(&v, "reason", &reason) || cw_av_get_opt_str(&v, "order_id", &order) ||
        cw_av_get_long(&v, "at", &c->at))
        FAIL("CaregiverStatusChanged: a field is missing or malformed");
    if (copy_field(c->caregiver_id, sizeof(c->caregiver_id), cg) ||
        copy_field(c->status, sizeof(c->status), status) ||
        copy_field(c->order_id, sizeof(c->order_id), order ? order : ""))
        FAIL("CaregiverStatusChanged: a field is too long");
    snprintf(c->reason, sizeof(c->reason), "%s", reason); /* shown only: a long one is cut */
    rc = 0;
done:
    avro_value_decref(&v);
    return rc;
}

int case_record_add_correction(cw_outbox *ob, const case_event *resolved, char *err,
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
    int rc = -1;
    if (cw_av_set_str(&v, "correction_id", id) ||
        cw_av_set_str(&v, "order_id", resolved->subject.order_id) ||
        cw_av_set_enum(&v, "status", "INVALID") || cw_av_set_str(&v, "reason", "CALLBACK_DENIED") ||
        cw_av_set_str(&v, "case_id", resolved->case_id) ||
        cw_av_set_str(&v, "decided_by", resolved->actor) ||
        cw_av_set_long(&v, "decided_at", resolved->at) ||
        cw_av_set_str(&v, "note", resolved->note ? resolved->note : ""))
        FAIL("OrderCorrection: a field does not fit the schema");
    rc = cw_outbox_add_avro(ob, CW_TOPIC_ORDER_CORRECTIONS, resolved->subject.order_id, &v, s, err,
                            errlen);
done:
    avro_value_decref(&v);
    return rc;
}
