#include "supervision-desk/desk_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger-writer/ledger_proof_json.h"
#include "log.h"
#include "shutdown.h"
#include "supervision-desk/callback_rules.h"
#include "supervision-desk/case_json.h"
#include "supervision-desk/ingest_proxy.h"
#include "timeutil.h"

#define LIMIT_MAX 500

int desk_filter_status(const char *name)
{
    cw_case_status s;
    return cw_case_status_parse(name, &s) == 0 ? (int)s : -1;
}

int desk_filter_colour(const char *name)
{
    cw_case_colour c;
    return cw_case_colour_parse(name, &c) == 0 ? (int)c : -1;
}

int desk_filter_kind(const char *name)
{
    cw_case_kind k;
    return cw_case_kind_parse(name, &k) == 0 ? (int)k : -1;
}

json_t *desk_error(const char *code, const char *message, const char *field)
{
    return json_pack("{s:s, s:s, s:s}", "error", code, "message", message, "field",
                     field ? field : "");
}

int desk_ops_ready(desk *d)
{
    return atomic_load(&d->ready);
}

static int fail(json_t **body, int status, const char *code, const char *message,
                const char *field)
{
    *body = desk_error(code, message, field);
    return status;
}

static int not_found(json_t **body, const char *what)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "no %s with this id", what);
    return fail(body, 404, "not_found", msg, "");
}

/* The desk's event clock for a person's deed: the watermark, else the
 * latest event time read since the start, else the latest event time its
 * case book holds (a restart begins there); INT64_MIN when none is known. */
static int64_t person_clock(const desk *d)
{
    if (d->watermark != INT64_MIN)
        return d->watermark;
    int64_t latest = d->book_clock;
    for (int p = 0; p < d->clock.count; p++)
        if (d->clock.clock[p] > latest)
            latest = d->clock.clock[p];
    return latest;
}

static int clock_known(const desk *d)
{
    return person_clock(d) != INT64_MIN;
}

/* Publishes ev (and, when it confirms a denied call-back, the order's
 * correction) and applies it. 0; otherwise an HTTP status with *body set. */
static int publish_event(desk *d, const desk_case_event *ev, json_t **body)
{
    char err[256];
    const desk_case *before = desk_case_book_find(&d->book, ev->case_id);
    if (desk_record_add(&d->out, ev, err, sizeof(err)) != 0 ||
        (desk_rules_confirms_denial(before, ev) &&
         desk_record_add_correction(&d->out, ev, err, sizeof(err)) != 0)) {
        cw_outbox_clear(&d->out);
        cw_log_error("cannot encode a case event", "error", err, NULL);
        return fail(body, 500, "internal", "the event could not be encoded", "");
    }
    int rc = desk_publish(d, NULL);
    if (rc == 1) {
        if (desk_restore(d) != 0)
            cw_shutdown_request();
        return fail(body, 503, "unavailable", "Kafka refused the change; try again", "");
    }
    if (rc != 0) {
        cw_shutdown_request();
        return fail(body, 503, "unavailable", "Kafka is unavailable", "");
    }
    if (desk_case_book_apply(&d->book, ev) != 1) {
        cw_log_error("a published case event does not apply", "event_id", ev->event_id, NULL);
        cw_shutdown_request();
        return fail(body, 500, "internal", "the desk must restart", "");
    }
    const desk_case *c = desk_case_book_find(&d->book, ev->case_id);
    if (desk_live_feed_push(&d->feed, c, &c->events[c->event_count - 1], d->watermark,
                            d->utc_offset_minutes) != 0)
        cw_log_warn("the live feed is out of memory: an event is not shown live", NULL);
    cw_counter_add(d->events_out, CW_LABELS(cw_case_action_name(ev->action)), 1);
    return 0;
}

/* ---- cases ---------------------------------------------------------------- */

static int matches(const desk *d, const desk_case *c, const cw_role *role,
                   const desk_case_filter *f)
{
    if (!desk_rules_may_read(c, role))
        return 0;
    if (f->status >= 0 && (int)c->status != f->status)
        return 0;
    if (f->colour >= 0 && (int)c->colour != f->colour)
        return 0;
    if (f->street_id && strcmp(c->subject.street_id, f->street_id) != 0)
        return 0;
    if (f->kind && strcmp(cw_case_kind_name(c->kind), f->kind) != 0)
        return 0;
    if (f->since != INT64_MIN && c->updated_at < f->since)
        return 0;
    if (f->attention && c->colour != CW_CASE_COLOUR_RED && c->status != CW_CASE_STATUS_ESCALATED)
        return 0;
    if (f->overdue && !(c->status == CW_CASE_STATUS_OPEN && c->has_deadline &&
                        d->watermark != INT64_MIN && d->watermark > c->deadline))
        return 0;
    return 1;
}

int desk_ops_list_cases(desk *d, const cw_role *role, const desk_case_filter *f, json_t **body)
{
    size_t limit = f->limit ? f->limit : 100;
    if (limit > LIMIT_MAX)
        limit = LIMIT_MAX;
    json_t *cases = json_array();
    pthread_mutex_lock(&d->lock);
    size_t i = f->cursor, n = 0;
    for (; i < d->book.count && n < limit; i++) {
        const desk_case *c = d->book.cases[i];
        if (!matches(d, c, role, f))
            continue;
        json_array_append_new(cases, desk_json_summary(c, d->watermark, d->utc_offset_minutes));
        n++;
    }
    int more = 0;
    for (size_t j = i; j < d->book.count && !more; j++)
        more = matches(d, d->book.cases[j], role, f);
    char cursor[24];
    snprintf(cursor, sizeof(cursor), "%zu", i);
    *body = json_pack("{s:o, s:o, s:o}", "cases", cases, "next_cursor",
                      more ? json_string(cursor) : json_null(), "watermark",
                      desk_json_time(d->watermark, d->utc_offset_minutes));
    pthread_mutex_unlock(&d->lock);
    return 200;
}

int desk_ops_may_see(desk *d, const cw_role *role, const char *case_id)
{
    pthread_mutex_lock(&d->lock);
    const desk_case *c = desk_case_book_find(&d->book, case_id);
    int ok = c && desk_rules_may_read(c, role);
    pthread_mutex_unlock(&d->lock);
    return ok;
}

/* The whole case with the order's visit (schedule, fixes, evidence, the
 * elder's home); called with the lock held. */
static json_t *full_case(desk *d, const desk_case *c)
{
    const char *order = c->subject.order_id;
    json_t *o = desk_json_full(c, order[0] ? desk_order_find(d, order) : NULL, d->watermark,
                               d->utc_offset_minutes);
    const desk_visit *v = order[0] ? desk_visit_find(d, order) : NULL;
    json_object_set_new(
        o, "visit",
        v ? desk_json_visit(v, desk_elder_find(d, c->subject.elder_id), d->utc_offset_minutes)
          : json_null());
    return o;
}

int desk_ops_get_case(desk *d, const cw_role *role, const char *case_id, json_t **body)
{
    int status = 200;
    pthread_mutex_lock(&d->lock);
    const desk_case *c = desk_case_book_find(&d->book, case_id);
    if (!c || !desk_rules_may_read(c, role))
        status = not_found(body, "case");
    else
        *body = full_case(d, c);
    pthread_mutex_unlock(&d->lock);
    return status;
}

/* The request's note: a string of at most DESK_NOTE_MAX bytes, or absent
 * (""). 0, or 400 with *body. */
static int read_note(json_t *request, const char *name, int required, const char **note,
                     json_t **body)
{
    json_t *v = request ? json_object_get(request, name) : NULL;
    *note = "";
    if (v == NULL || json_is_null(v)) {
        if (required)
            return fail(body, 400, "missing_field", "this field is required", name);
        return 0;
    }
    if (!json_is_string(v))
        return fail(body, 400, "invalid_type", "must be a string", name);
    if (json_string_length(v) > DESK_NOTE_MAX)
        return fail(body, 400, "too_long", "at most 2000 bytes", name);
    if (required && json_string_length(v) == 0)
        return fail(body, 400, "missing_field", "must not be empty", name);
    *note = json_string_value(v);
    return 0;
}

int desk_ops_deed(desk *d, const cw_role *role, const char *case_id, desk_deed deed,
                  json_t *request, json_t **body)
{
    const char *note, *why = "";
    cw_case_resolution resolution;
    const cw_case_resolution *given = NULL;
    json_t *res = json_object_get(request, "resolution");
    int status = read_note(request, "note", 0, &note, body);
    if (status)
        return status;
    if (res && !json_is_null(res)) {
        if (!json_is_string(res) ||
            cw_case_resolution_parse(json_string_value(res), &resolution) != 0)
            return fail(body, 400, "invalid_value",
                        "resolution must be CONFIRMED, FALSE_ALARM, RECTIFIED or "
                        "EVIDENCE_ACCEPTED",
                        "resolution");
        given = &resolution;
    }
    pthread_mutex_lock(&d->lock);
    desk_case *c = desk_case_book_find(&d->book, case_id);
    desk_case_event ev;
    if (!c || !desk_rules_may_read(c, role)) {
        status = not_found(body, "case");
    } else if (!desk_rules_may_act(c, role)) {
        status = fail(body, 403, "forbidden",
                      "the command acts on red and escalated cases; streets on their own", "");
    } else if (!clock_known(d)) {
        status = fail(body, 503, "no_clock", "the desk's event clock is not known yet", "");
    } else if ((status = desk_rules_deed(c, deed, given, role, note, person_clock(d), cw_now_ms(),
                                         &ev, &why)) != 0) {
        status = fail(body, status, status == 409 ? "conflict" : "invalid_value", why,
                      status == 400 ? "resolution" : "");
    } else {
        status = publish_event(d, &ev, body);
        desk_case_event_clear(&ev);
        if (status == 0) {
            status = 200;
            *body = full_case(d, c);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return status;
}

/* ---- call-backs --------------------------------------------------------------- */

/* street_id of the request: a street key its own (another answers 404 as
 * nothing of it exists for that key); command and admin must name one. */
static int street_of(const cw_role *role, const char *asked, const char **street, json_t **body)
{
    if (role->kind == CW_ROLE_STREET) {
        if (asked && strcmp(asked, role->street_id) != 0)
            return not_found(body, "street");
        *street = role->street_id;
        return 0;
    }
    if (!asked || !cw_id_is_valid(asked))
        return fail(body, 400, "missing_field", "street_id is required for this key",
                    "street_id");
    *street = asked;
    return 0;
}

int desk_ops_callbacks(desk *d, const cw_role *role, const char *street_id, const char *day,
                       json_t **body)
{
    const char *street;
    int status = street_of(role, street_id, &street, body);
    if (status)
        return status;
    int64_t week = day ? desk_callback_week(day) : -1;
    if (week < 0)
        return fail(body, 400, "invalid_value", "day must be a date YYYY-MM-DD", "day");
    pthread_mutex_lock(&d->lock);
    /* The orders of the day's week (every street: a caregiver's weekly
     * call-back may fall on another street's order). */
    size_t n = 0, in_week = 0;
    for (size_t i = 0; i < d->orders.count; i++)
        in_week += desk_callback_week(d->orders.items[i].service_day) == week;
    desk_order *week_orders = calloc(in_week ? in_week : 1, sizeof(*week_orders));
    unsigned char *picked = calloc(in_week ? in_week : 1, 1);
    json_t *list = json_array();
    if (!week_orders || !picked || !list) {
        status = fail(body, 500, "internal", "out of memory", "");
        goto done;
    }
    for (size_t i = 0; i < d->orders.count && n < in_week; i++)
        if (desk_callback_week(d->orders.items[i].service_day) == week)
            week_orders[n++] = d->orders.items[i];
    desk_callback_sample(week_orders, n, d->callback_seed, d->callback_share, picked);
    size_t done_count = 0;
    for (size_t i = 0; i < n; i++) {
        const desk_order *o = &week_orders[i];
        if (!picked[i] || strcmp(o->service_day, day) != 0 ||
            strcmp(o->subject.street_id, street) != 0)
            continue;
        json_t *item = desk_json_order(o, d->utc_offset_minutes);
        const desk_case *c = desk_case_book_find(&d->book, o->subject.order_id);
        const desk_case_event *last = NULL;
        for (size_t j = 0; c && j < c->event_count; j++)
            if (c->events[j].action == CW_CASE_ACTION_CALLBACK)
                last = &c->events[j];
        json_object_set_new(item, "callback",
                            last ? desk_json_event(last, d->utc_offset_minutes) : json_null());
        done_count += last != NULL;
        json_array_append_new(list, item);
    }
    *body = json_pack("{s:s, s:s, s:O, s:I, s:I}", "street_id", street, "day", day, "callbacks",
                      list, "total", (json_int_t)json_array_size(list), "done",
                      (json_int_t)done_count);
    status = 200;
done:
    json_decref(list);
    free(week_orders);
    free(picked);
    pthread_mutex_unlock(&d->lock);
    return status;
}

int desk_ops_callback(desk *d, const cw_role *role, const char *order_id, json_t *request,
                      json_t **body)
{
    const char *note;
    json_t *r = json_object_get(request, "result");
    cw_callback_result result;
    if (!r || !json_is_string(r) || cw_callback_result_parse(json_string_value(r), &result) != 0)
        return fail(body, 400, "invalid_value", "result must be CONFIRMED, DENIED or UNREACHABLE",
                    "result");
    int status = read_note(request, "note", 0, &note, body);
    if (status)
        return status;
    pthread_mutex_lock(&d->lock);
    const desk_order *o = desk_order_find(d, order_id);
    desk_case_event ev;
    if (!o || (role->kind == CW_ROLE_STREET && strcmp(o->subject.street_id, role->street_id))) {
        status = not_found(body, "finalized order");
    } else if (o->status != CW_ORDER_STATUS_VALID) {
        status = fail(body, 409, "not_valid",
                      "only a VALID order is called back (the draw is of valid orders)", "");
    } else if (!clock_known(d)) {
        status = fail(body, 503, "no_clock", "the desk's event clock is not known yet", "");
    } else if (desk_rules_callback(&d->book, &o->subject, result, role, note, &d->deadlines,
                                   person_clock(d), cw_now_ms(), &ev) != 0) {
        status = fail(body, 500, "internal", "out of memory", "");
    } else {
        status = publish_event(d, &ev, body);
        if (status == 0) {
            status = 201;
            *body = desk_json_event(&ev, d->utc_offset_minutes);
            json_object_set_new(*body, "case_id", json_string(ev.case_id));
        }
        desk_case_event_clear(&ev);
    }
    pthread_mutex_unlock(&d->lock);
    return status;
}

/* ---- complaints ---------------------------------------------------------------- */

int desk_ops_complaint(desk *d, const cw_role *role, json_t *request, json_t **body)
{
    const char *text, *channel = "hotline";
    json_t *elder = json_object_get(request, "elder_id");
    json_t *order = json_object_get(request, "order_id");
    json_t *ch = json_object_get(request, "channel");
    if (!elder || !json_is_string(elder) || !cw_id_is_valid(json_string_value(elder)))
        return fail(body, 400, "invalid_id", "elder_id must be an id", "elder_id");
    if (order && !json_is_null(order) &&
        (!json_is_string(order) || !cw_id_is_valid(json_string_value(order))))
        return fail(body, 400, "invalid_id", "order_id must be an id", "order_id");
    if (ch && !json_is_null(ch)) {
        if (!json_is_string(ch) || json_string_length(ch) == 0 || json_string_length(ch) > 31)
            return fail(body, 400, "invalid_value", "channel: 1-31 characters", "channel");
        channel = json_string_value(ch);
    }
    int status = read_note(request, "text", 1, &text, body);
    if (status)
        return status;
    pthread_mutex_lock(&d->lock);
    desk_case_subject s;
    memset(&s, 0, sizeof(s));
    const desk_elder *e = desk_elder_find(d, json_string_value(elder));
    const desk_order *o =
        order && json_is_string(order) ? desk_order_find(d, json_string_value(order)) : NULL;
    const desk_case *c = order && json_is_string(order)
                             ? desk_case_book_find(&d->book, json_string_value(order))
                             : NULL;
    if (!e || (role->kind == CW_ROLE_STREET && strcmp(e->street_id, role->street_id) != 0)) {
        status = not_found(body, "elder");
        goto done;
    }
    if (order && json_is_string(order)) {
        if (o)
            s = o->subject;
        else if (c)
            s = c->subject;
        else {
            status = not_found(body, "order");
            goto done;
        }
        if (strcmp(s.elder_id, e->elder_id) != 0) {
            status = fail(body, 422, "order_elder_mismatch", "the order is another elder's",
                          "order_id");
            goto done;
        }
    } else {
        snprintf(s.elder_id, sizeof(s.elder_id), "%s", e->elder_id);
        snprintf(s.street_id, sizeof(s.street_id), "%s", e->street_id);
    }
    snprintf(s.community_id, sizeof(s.community_id), "%s", e->community_id);
    if (!clock_known(d)) {
        status = fail(body, 503, "no_clock", "the desk's event clock is not known yet", "");
        goto done;
    }
    desk_case_event ev;
    if (desk_rules_complaint(&d->book, &s, channel, text, role, &d->deadlines, person_clock(d),
                             cw_now_ms(), &ev) != 0) {
        status = fail(body, 500, "internal", "out of memory", "");
        goto done;
    }
    status = publish_event(d, &ev, body);
    if (status == 0) {
        status = 201;
        const desk_case *made = desk_case_book_find(&d->book, ev.case_id);
        *body = desk_json_full(made, o, d->watermark, d->utc_offset_minutes);
    }
    desk_case_event_clear(&ev);
done:
    pthread_mutex_unlock(&d->lock);
    return status;
}

/* ---- orders and figures ---------------------------------------------------------- */

int desk_ops_order(desk *d, const cw_role *role, const char *order_id, json_t **body)
{
    int status = 200;
    pthread_mutex_lock(&d->lock);
    const desk_order *o = desk_order_find(d, order_id);
    const desk_case *c = desk_case_book_find(&d->book, order_id);
    if (!o || (role->kind == CW_ROLE_STREET && strcmp(o->subject.street_id, role->street_id))) {
        status = not_found(body, "finalized order");
    } else {
        *body = desk_json_order(o, d->utc_offset_minutes);
        const desk_visit *v = desk_visit_find(d, order_id);
        json_object_set_new(
            *body, "visit",
            v ? desk_json_visit(v, desk_elder_find(d, o->subject.elder_id), d->utc_offset_minutes)
              : json_null());
        json_object_set_new(*body, "case",
                            c && desk_rules_may_read(c, role)
                                ? desk_json_summary(c, d->watermark, d->utc_offset_minutes)
                                : json_null());
    }
    pthread_mutex_unlock(&d->lock);
    return status;
}

static json_t *change_json(const desk_change *c, int tz)
{
    json_t *o = json_object();
    json_object_set_new(o, "change_id", json_string(c->change_id));
    json_object_set_new(o, "order_id", json_string(c->order_id));
    json_object_set_new(o, "provider_id", json_string(c->provider_id));
    json_object_set_new(o, "street_id", json_string(c->street_id));
    json_object_set_new(o, "caregiver_id", json_string(c->caregiver_id));
    json_object_set_new(o, "kind", json_string(cw_order_change_kind_name(c->kind)));
    json_object_set_new(o, "reason_code", json_string(c->reason_code));
    json_object_set_new(o, "state", json_string(cw_order_change_state_name(c->state)));
    json_object_set_new(o, "requested_by", json_string(c->requested_by));
    json_object_set_new(o, "requested_at", desk_json_time(c->requested_at, tz));
    json_object_set_new(o, "scheduled_start", desk_json_time(c->scheduled_start, tz));
    json_object_set_new(o, "new_scheduled_start",
                        c->has_new_start ? desk_json_time(c->new_scheduled_start, tz)
                                         : json_null());
    json_object_set_new(o, "new_caregiver_id",
                        c->new_caregiver_id[0] ? json_string(c->new_caregiver_id) : json_null());
    json_object_set_new(o, "approved_by",
                        c->approved_by[0] ? json_string(c->approved_by) : json_null());
    return o;
}

int desk_ops_changes(desk *d, const cw_role *role, const char *street_id, const char *state,
                     json_t **body)
{
    const char *street;
    int status = street_of(role, street_id, &street, body);
    if (status)
        return status;
    cw_order_change_state wanted;
    if (state && cw_order_change_state_parse(state, &wanted) != 0)
        return fail(body, 400, "invalid_value", "state: PENDING, EFFECTIVE or APPROVED", "state");
    json_t *list = json_array();
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->changes.count; i++) {
        const desk_change *c = &d->changes.items[i];
        if (strcmp(c->street_id, street) == 0 && (!state || c->state == wanted))
            json_array_append_new(list, change_json(c, d->utc_offset_minutes));
    }
    pthread_mutex_unlock(&d->lock);
    *body = json_pack("{s:s, s:o}", "street_id", street, "changes", list);
    return 200;
}

/* Whether role may see the freeze of order_id: its case (or finalized
 * order) is of the role's street. Command and admin see all. */
static int may_see_order(desk *d, const cw_role *role, const char *order_id)
{
    if (role->kind != CW_ROLE_STREET)
        return 1;
    const desk_case *c = desk_case_book_find(&d->book, order_id);
    if (c)
        return desk_rules_may_read(c, role);
    const desk_order *o = desk_order_find(d, order_id);
    return o && strcmp(o->subject.street_id, role->street_id) == 0;
}

int desk_ops_caregiver(desk *d, const cw_role *role, const char *caregiver_id, json_t **body)
{
    json_t *history = json_array(), *flags = json_array(), *open = json_array();
    cw_caregiver_status status = CW_CAREGIVER_STATUS_ACTIVE;
    int seen = 0, known = 0;
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->statuses.count; i++) {
        const desk_status_change *c = &d->statuses.items[i];
        if (strcmp(c->caregiver_id, caregiver_id) != 0)
            continue;
        known = 1;
        status = c->status;
        /* A street sees the freezes its own orders caused (and unfreezes). */
        if (c->order_id[0] && !may_see_order(d, role, c->order_id))
            continue;
        json_array_append_new(
            history, json_pack("{s:s, s:s, s:o, s:o}", "status",
                               cw_caregiver_status_name(c->status), "reason", c->reason, "order_id",
                               c->order_id[0] ? json_string(c->order_id) : json_null(), "at",
                               desk_json_time(c->at, d->utc_offset_minutes)));
    }
    for (size_t i = 0; i < d->book.count; i++) {
        const desk_case *c = d->book.cases[i];
        if (strcmp(c->subject.caregiver_id, caregiver_id) != 0)
            continue;
        known = 1;
        if (!desk_rules_may_read(c, role))
            continue;
        seen = 1;
        for (size_t j = 0; j < c->event_count; j++)
            if (c->events[j].has_alert)
                json_array_append_new(
                    flags, json_pack("{s:s, s:s, s:s, s:o}", "case_id", c->id, "rule",
                                     c->events[j].alert.rule, "colour",
                                     cw_case_colour_name(c->events[j].alert.colour), "at",
                                     desk_json_time(c->events[j].alert.at, d->utc_offset_minutes)));
        if (c->status != CW_CASE_STATUS_RESOLVED)
            json_array_append_new(open, desk_json_summary(c, d->watermark, d->utc_offset_minutes));
    }
    for (size_t i = 0; !seen && i < d->orders.count; i++) {
        const desk_order *o = &d->orders.items[i];
        if (strcmp(o->subject.caregiver_id, caregiver_id) != 0)
            continue;
        known = 1;
        seen = role->kind != CW_ROLE_STREET || strcmp(o->subject.street_id, role->street_id) == 0;
    }
    if (role->kind != CW_ROLE_STREET)
        seen = known;
    pthread_mutex_unlock(&d->lock);
    if (!seen) {
        json_decref(history);
        json_decref(flags);
        json_decref(open);
        return not_found(body, "caregiver");
    }
    *body = json_pack("{s:s, s:s, s:o, s:o, s:o}", "caregiver_id", caregiver_id, "status",
                      cw_caregiver_status_name(status), "freeze_history", history, "flagged", flags,
                      "open_cases", open);
    return 200;
}

typedef struct {
    char key[DESK_ID_MAX];
    long orders, visited, duration_met, valid, invalid, cancelled;
    long alerts[CW_CASE_COLOUR_COUNT];
    long cases[CW_CASE_STATUS_COUNT];
    long overdue;
    long resolutions[CW_CASE_RESOLUTION_COUNT];
    long callbacks, denied;
    long changes[CW_ORDER_CHANGE_KIND_COUNT];
} stat_row;

static const char *group_key(const desk_case_subject *s, const char *by)
{
    if (strcmp(by, "community") == 0)
        return s->community_id;
    if (strcmp(by, "provider") == 0)
        return s->provider_id;
    if (strcmp(by, "caregiver") == 0)
        return s->caregiver_id;
    return s->street_id;
}

static stat_row *row_for(stat_row **rows, size_t *n, size_t *cap, const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*rows)[i].key, key) == 0)
            return &(*rows)[i];
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        stat_row *grown = realloc(*rows, c * sizeof(*grown));
        if (!grown)
            return NULL;
        *rows = grown;
        *cap = c;
    }
    stat_row *r = &(*rows)[(*n)++];
    memset(r, 0, sizeof(*r));
    snprintf(r->key, sizeof(r->key), "%s", key);
    return r;
}

static json_t *share(long part, long whole)
{
    return whole > 0 ? json_real((double)part / (double)whole) : json_null();
}

int desk_ops_stats(desk *d, const cw_role *role, const char *street_id, const char *from,
                   const char *to, const char *by, json_t **body)
{
    int64_t from_day = INT64_MIN, to_day = INT64_MAX, day;
    const char *street = NULL;
    if (!by)
        by = "street";
    if (strcmp(by, "street") && strcmp(by, "community") && strcmp(by, "provider") &&
        strcmp(by, "caregiver"))
        return fail(body, 400, "invalid_value", "by must be street, community, provider or caregiver",
                    "by");
    if ((from && cw_date_parse(from, &from_day) != 0))
        return fail(body, 400, "invalid_value", "from must be a date YYYY-MM-DD", "from");
    if ((to && cw_date_parse(to, &to_day) != 0))
        return fail(body, 400, "invalid_value", "to must be a date YYYY-MM-DD", "to");
    if (role->kind == CW_ROLE_STREET) {
        if (street_id && strcmp(street_id, role->street_id) != 0)
            return not_found(body, "street");
        street = role->street_id;
    } else if (street_id) {
        street = street_id;
    }
    stat_row *rows = NULL;
    size_t n = 0, cap = 0;
    int status = 200;
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->orders.count; i++) {
        const desk_order *o = &d->orders.items[i];
        if ((street && strcmp(o->subject.street_id, street) != 0) ||
            cw_date_parse(o->service_day, &day) != 0 || day < from_day || day > to_day)
            continue;
        stat_row *r = row_for(&rows, &n, &cap, group_key(&o->subject, by));
        if (!r)
            goto oom;
        r->orders++;
        r->visited += o->has_check_in;
        r->duration_met += o->has_check_in && !strstr(o->reasons, "SHORT_DURATION");
        r->valid += o->status == CW_ORDER_STATUS_VALID;
        r->invalid += o->status == CW_ORDER_STATUS_INVALID;
        r->cancelled += o->status == CW_ORDER_STATUS_CANCELLED;
    }
    for (size_t i = 0; i < d->book.count; i++) {
        const desk_case *c = d->book.cases[i];
        if (street && strcmp(c->subject.street_id, street) != 0)
            continue;
        stat_row *r = row_for(&rows, &n, &cap, group_key(&c->subject, by));
        if (!r)
            goto oom;
        int counted = 0;
        /* A call-back is counted on its order's service day (it is made
         * days later), everything else on the day of its event time. */
        const desk_order *order = c->subject.order_id[0] ? desk_order_find(d, c->subject.order_id)
                                                         : NULL;
        int64_t order_day;
        if (!order || cw_date_parse(order->service_day, &order_day) != 0)
            order_day = INT64_MIN;
        for (size_t j = 0; j < c->event_count; j++) {
            const desk_case_event *ev = &c->events[j];
            int64_t ev_day = ev->action == CW_CASE_ACTION_CALLBACK && order_day != INT64_MIN
                                 ? order_day
                                 : cw_service_day(ev->at, d->utc_offset_minutes);
            if (ev_day < from_day || ev_day > to_day)
                continue;
            counted = 1;
            if (ev->has_alert)
                r->alerts[ev->alert.colour]++;
            if (ev->action == CW_CASE_ACTION_CALLBACK) {
                r->callbacks++;
                r->denied += ev->has_callback && ev->callback == CW_CALLBACK_RESULT_DENIED;
            }
        }
        if (!counted || !c->visible)
            continue;
        r->cases[c->status]++;
        if (c->has_resolution)
            r->resolutions[c->resolution]++;
        r->overdue += c->status == CW_CASE_STATUS_OPEN && c->has_deadline &&
                      d->watermark != INT64_MIN && d->watermark > c->deadline;
    }
    for (size_t i = 0; i < d->changes.count; i++) {
        const desk_change *c = &d->changes.items[i];
        desk_case_subject s;
        memset(&s, 0, sizeof(s));
        snprintf(s.street_id, sizeof(s.street_id), "%s", c->street_id);
        snprintf(s.provider_id, sizeof(s.provider_id), "%s", c->provider_id);
        snprintf(s.caregiver_id, sizeof(s.caregiver_id), "%s", c->caregiver_id);
        const desk_order *o = desk_order_find(d, c->order_id);
        if (o)
            snprintf(s.community_id, sizeof(s.community_id), "%s", o->subject.community_id);
        day = cw_service_day(c->scheduled_start, d->utc_offset_minutes);
        if ((street && strcmp(c->street_id, street) != 0) || day < from_day || day > to_day ||
            c->state == CW_ORDER_CHANGE_STATE_PENDING)
            continue;
        stat_row *r = row_for(&rows, &n, &cap, group_key(&s, by));
        if (!r)
            goto oom;
        r->changes[c->kind]++;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const stat_row *r = &rows[i];
        json_t *row = json_pack(
            "{s:s, s:I, s:o, s:o, s:o, s:I, s:I, s:I,"
            " s:{s:I, s:I, s:I},"
            " s:{s:I, s:I, s:I, s:I, s:I},"
            " s:{s:I, s:I, s:I, s:I},"
            " s:{s:I, s:I}}",
            by, r->key, "orders", (json_int_t)r->orders, "visited_share",
            share(r->visited, r->orders), "duration_met_share", share(r->duration_met, r->visited),
            "invalid_share", share(r->invalid, r->orders), "valid", (json_int_t)r->valid, "invalid",
            (json_int_t)r->invalid, "cancelled", (json_int_t)r->cancelled, "alerts", "red",
            (json_int_t)r->alerts[CW_CASE_COLOUR_RED], "orange",
            (json_int_t)r->alerts[CW_CASE_COLOUR_ORANGE], "yellow",
            (json_int_t)r->alerts[CW_CASE_COLOUR_YELLOW], "cases", "open",
            (json_int_t)r->cases[CW_CASE_STATUS_OPEN], "acknowledged",
            (json_int_t)r->cases[CW_CASE_STATUS_ACKNOWLEDGED], "escalated",
            (json_int_t)r->cases[CW_CASE_STATUS_ESCALATED], "resolved",
            (json_int_t)r->cases[CW_CASE_STATUS_RESOLVED], "overdue", (json_int_t)r->overdue,
            "resolutions", "CONFIRMED", (json_int_t)r->resolutions[CW_CASE_RESOLUTION_CONFIRMED],
            "FALSE_ALARM", (json_int_t)r->resolutions[CW_CASE_RESOLUTION_FALSE_ALARM], "RECTIFIED",
            (json_int_t)r->resolutions[CW_CASE_RESOLUTION_RECTIFIED], "EVIDENCE_ACCEPTED",
            (json_int_t)r->resolutions[CW_CASE_RESOLUTION_EVIDENCE_ACCEPTED], "callbacks", "done",
            (json_int_t)r->callbacks, "denied", (json_int_t)r->denied);
        long changed = r->changes[CW_ORDER_CHANGE_KIND_CANCEL] +
                       r->changes[CW_ORDER_CHANGE_KIND_RESCHEDULE] +
                       r->changes[CW_ORDER_CHANGE_KIND_REASSIGN];
        json_object_set_new(
            row, "maintenance",
            json_pack("{s:I, s:I, s:I, s:o}", "cancelled",
                      (json_int_t)r->changes[CW_ORDER_CHANGE_KIND_CANCEL], "rescheduled",
                      (json_int_t)r->changes[CW_ORDER_CHANGE_KIND_RESCHEDULE], "reassigned",
                      (json_int_t)r->changes[CW_ORDER_CHANGE_KIND_REASSIGN], "rate",
                      share(changed, r->orders)));
        json_array_append_new(list, row);
    }
    *body = json_pack("{s:s, s:o, s:o}", "by", by, "rows", list, "watermark",
                      desk_json_time(d->watermark, d->utc_offset_minutes));
    goto done;
oom:
    status = fail(body, 500, "internal", "out of memory", "");
done:
    pthread_mutex_unlock(&d->lock);
    free(rows);
    return status;
}

int desk_ops_proof(desk *d, const cw_role *role, const char *order_id, json_t **body)
{
    pthread_mutex_lock(&d->lock);
    const desk_order *o = desk_order_find(d, order_id);
    int visible = o && (role->kind != CW_ROLE_STREET ||
                        strcmp(o->subject.street_id, role->street_id) == 0);
    pthread_mutex_unlock(&d->lock);
    if (!visible)
        return not_found(body, "finalized order");
    if (!d->ledger_dir[0])
        return fail(body, 503, "unavailable", "this desk has no ledger (desk.ledger_dir)", "");
    ledger_log_options opt = {0};
    ledger_log *log = NULL;
    ledger_key *key = NULL;
    json_t *proof = NULL;
    char err[512], msg[512];
    int status;
    if (ledger_log_open(d->ledger_dir, &opt, &log, err, sizeof(err)) != 0) {
        cw_log_warn("cannot open the ledger", "error", err, NULL);
        return fail(body, 503, "unavailable", "the ledger cannot be read now", "");
    }
    if (ledger_inclusion_proof_json(log, order_id, &proof, err, sizeof(err)) != LEDGER_AUDIT_OK) {
        status = fail(body, 409, "not_yet", err, "");
        goto done;
    }
    if (d->ledger_key[0] && ledger_key_load(d->ledger_key, 0, &key, err, sizeof(err)) != 0) {
        cw_log_warn("cannot read the ledger's public key", "error", err, NULL);
        status = fail(body, 503, "unavailable", "the ledger's key cannot be read", "");
        goto done;
    }
    int ok = ledger_check_inclusion_proof(proof, key, msg, sizeof(msg)) == LEDGER_AUDIT_OK;
    *body = json_pack("{s:O, s:b, s:b, s:s}", "proof", proof, "verified", ok, "signature_checked",
                      key != NULL, "message", msg);
    status = 200;
done:
    json_decref(proof);
    ledger_key_free(key);
    ledger_log_close(log);
    return status;
}

int desk_ops_whoami(const cw_role *role, json_t **body)
{
    *body = json_pack("{s:s, s:o, s:s}", "role", cw_role_kind_name(role->kind), "street_id",
                      role->kind == CW_ROLE_STREET ? json_string(role->street_id) : json_null(),
                      "label", role->label);
    return 200;
}

int desk_ops_caregivers(desk *d, const cw_role *role, json_t **body)
{
    json_t *frozen = json_array(), *active = json_array();
    cw_idset seen = {0}; /* caregivers whose latest status is listed */
    pthread_mutex_lock(&d->lock);
    for (size_t i = d->statuses.count; i-- > 0;) {
        const desk_status_change *c = &d->statuses.items[i];
        int added = cw_idset_add(&seen, c->caregiver_id, 0);
        if (added == 0)
            continue; /* an older status of a caregiver listed already */
        if (added < 0)
            break;
        /* The caregiver's latest freeze case the role may read. */
        const desk_case *fc = NULL;
        for (size_t k = 0; k < d->book.count; k++) {
            const desk_case *x = d->book.cases[k];
            if (x->kind == CW_CASE_KIND_FREEZE &&
                strcmp(x->subject.caregiver_id, c->caregiver_id) == 0 &&
                desk_rules_may_read(x, role))
                fc = x;
        }
        if (role->kind == CW_ROLE_STREET && !fc)
            continue;
        json_t *item =
            json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "caregiver_id", c->caregiver_id, "status",
                      cw_caregiver_status_name(c->status), "reason", c->reason, "order_id",
                      c->order_id[0] ? json_string(c->order_id) : json_null(), "at",
                      desk_json_time(c->at, d->utc_offset_minutes), "case_id",
                      fc && fc->visible ? json_string(fc->id) : json_null());
        json_array_append_new(c->status == CW_CAREGIVER_STATUS_FROZEN ? frozen : active, item);
    }
    pthread_mutex_unlock(&d->lock);
    cw_idset_free(&seen);
    json_array_extend(frozen, active);
    json_decref(active);
    *body = json_pack("{s:o}", "caregivers", frozen);
    return 200;
}

int desk_ops_unfreeze(desk *d, const cw_role *role, const char *caregiver_id,
                      const char *authorization, json_t *request, json_t **body)
{
    char path[128];
    if (role->kind != CW_ROLE_ADMIN)
        return fail(body, 403, "forbidden", "only an admin key unfreezes", "");
    if (!cw_id_is_valid(caregiver_id))
        return fail(body, 400, "invalid_id", "not a caregiver id", "");
    if (!d->ingest_url[0])
        return fail(body, 503, "unavailable", "this desk has no ingest (desk.ingest_url)", "");
    snprintf(path, sizeof(path), "/v1/caregivers/%s/unfreeze", caregiver_id);
    int status = desk_ingest_post(d->ingest_url, path, authorization, request, 10, body);
    return status < 0 ? 502 : status;
}
