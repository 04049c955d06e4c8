#include "supervision-desk/case_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void desk_rules_case_id(const char *rule, const desk_case_subject *s, char *case_id, size_t len,
                        cw_case_kind *kind)
{
    if (strcmp(rule, "CAREGIVER_FROZEN") == 0) {
        /* One per street: a caregiver frozen again for another street's
         * order is that street's case, not a look into the first one. */
        snprintf(case_id, len, "freeze:%s:%s", s->street_id, s->caregiver_id);
        *kind = CW_CASE_KIND_FREEZE;
    } else {
        snprintf(case_id, len, "%s", s->order_id);
        *kind = CW_CASE_KIND_ORDER;
    }
}

/* A fresh event of case case_id (c when it exists, else a new case of
 * kind kind), numbered after the case's last event; the rest zero. */
static int event_start(const desk_case *c, const char *case_id, cw_case_kind kind,
                       cw_case_action action, int64_t at, int64_t recorded_at, desk_case_event *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->case_id, sizeof(out->case_id), "%s", case_id);
    out->seq = c ? (int)c->event_count + 1 : 1;
    snprintf(out->event_id, sizeof(out->event_id), "%s:%d", case_id, out->seq);
    out->kind = c ? c->kind : kind;
    out->action = action;
    out->at = at;
    out->recorded_at = recorded_at;
    snprintf(out->actor, sizeof(out->actor), "%s", DESK_SYSTEM_ACTOR);
    snprintf(out->actor_role, sizeof(out->actor_role), "system");
    out->note = strdup("");
    return out->note ? 0 : -1;
}

static int set_note(desk_case_event *ev, const char *note)
{
    char *copy = strdup(note ? note : "");
    if (!copy)
        return -1;
    free(ev->note);
    ev->note = copy;
    return 0;
}

static void set_actor(desk_case_event *ev, const cw_role *role)
{
    snprintf(ev->actor, sizeof(ev->actor), "%s", role->label);
    snprintf(ev->actor_role, sizeof(ev->actor_role), "%s", cw_role_kind_name(role->kind));
}

static int64_t earlier(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static cw_case_colour redder(cw_case_colour a, cw_case_colour b)
{
    return a > b ? a : b;
}

/* Status, colour and deadline after a flag of colour `colour` at `at`
 * reaches case c (NULL or invisible: a new case). */
static void flag_case(const desk_case *c, cw_case_colour colour, int64_t at,
                      const desk_deadlines *d, desk_case_event *ev)
{
    int64_t due = at + d->ack_ms[colour];
    if (c == NULL || !c->visible || c->status == CW_CASE_STATUS_RESOLVED) {
        ev->status = CW_CASE_STATUS_OPEN;
        ev->colour = c && c->visible ? redder(c->colour, colour) : colour;
        ev->has_deadline = 1;
        ev->deadline = due;
        return;
    }
    ev->status = c->status;
    ev->colour = redder(c->colour, colour);
    ev->has_deadline = c->status == CW_CASE_STATUS_OPEN;
    ev->deadline = c->status == CW_CASE_STATUS_OPEN ? earlier(c->deadline, due) : 0;
}

static int holds_alert(const desk_case *c, const char *alert_id)
{
    for (size_t i = 0; c && i < c->event_count; i++)
        if (c->events[i].has_alert && strcmp(c->events[i].alert.alert_id, alert_id) == 0)
            return 1;
    return 0;
}

int desk_rules_from_alert(const desk_case_book *b, const desk_case_alert *a,
                          const desk_case_subject *s, const desk_deadlines *d, int64_t recorded_at,
                          desk_case_event *out)
{
    char case_id[DESK_CASE_ID_MAX];
    cw_case_kind kind;
    desk_rules_case_id(a->rule, s, case_id, sizeof(case_id), &kind);
    const desk_case *c = desk_case_book_find(b, case_id);
    if (holds_alert(c, a->alert_id))
        return 0;
    cw_case_action action = c == NULL || !c->visible               ? CW_CASE_ACTION_OPENED
                            : c->status == CW_CASE_STATUS_RESOLVED ? CW_CASE_ACTION_REOPENED
                                                                   : CW_CASE_ACTION_ALERT_ADDED;
    if (event_start(c, case_id, kind, action, a->at, recorded_at, out) != 0)
        return -1;
    out->subject = *s;
    flag_case(c, a->colour, a->at, d, out);
    out->has_alert = 1;
    out->alert = *a;
    out->alert.message_zh = strdup(a->message_zh ? a->message_zh : "");
    out->alert.message_en = strdup(a->message_en ? a->message_en : "");
    if (!out->alert.message_zh || !out->alert.message_en) {
        desk_case_event_clear(out);
        return -1;
    }
    return 1;
}

int desk_rules_may_read(const desk_case *c, const cw_role *role)
{
    if (!c->visible)
        return 0;
    switch (role->kind) {
    case CW_ROLE_ADMIN:
    case CW_ROLE_COMMAND: return 1;
    case CW_ROLE_STREET: return strcmp(c->subject.street_id, role->street_id) == 0;
    default: return 0;
    }
}

int desk_rules_may_act(const desk_case *c, const cw_role *role)
{
    if (!desk_rules_may_read(c, role))
        return 0;
    if (role->kind == CW_ROLE_COMMAND)
        return c->colour == CW_CASE_COLOUR_RED || c->status == CW_CASE_STATUS_ESCALATED;
    return 1;
}

int desk_rules_deed(const desk_case *c, desk_deed deed, const cw_case_resolution *resolution,
                    const cw_role *role, const char *note, int64_t clock, int64_t recorded_at,
                    desk_case_event *out, const char **why)
{
    cw_case_action action;
    cw_case_status status;
    switch (deed) {
    case DESK_DEED_ACKNOWLEDGE:
        if (c->status != CW_CASE_STATUS_OPEN && c->status != CW_CASE_STATUS_ESCALATED) {
            *why = "only an open or escalated case can be acknowledged";
            return 409;
        }
        action = CW_CASE_ACTION_ACKNOWLEDGED;
        status = CW_CASE_STATUS_ACKNOWLEDGED;
        break;
    case DESK_DEED_RESOLVE:
        if (c->status == CW_CASE_STATUS_RESOLVED) {
            *why = "the case is resolved already";
            return 409;
        }
        if (resolution == NULL) {
            *why = "resolution must be CONFIRMED, FALSE_ALARM, RECTIFIED or EVIDENCE_ACCEPTED";
            return 400;
        }
        action = CW_CASE_ACTION_RESOLVED;
        status = CW_CASE_STATUS_RESOLVED;
        break;
    case DESK_DEED_ESCALATE:
        if (c->status != CW_CASE_STATUS_OPEN && c->status != CW_CASE_STATUS_ACKNOWLEDGED) {
            *why = "only an open or acknowledged case can be escalated";
            return 409;
        }
        action = CW_CASE_ACTION_ESCALATED;
        status = CW_CASE_STATUS_ESCALATED;
        break;
    default: *why = "unknown deed"; return 400;
    }
    if (deed != DESK_DEED_RESOLVE && resolution != NULL) {
        *why = "a resolution is given only when resolving";
        return 400;
    }
    /* A person acts now: never before what the case already holds. */
    int64_t at = clock > c->updated_at ? clock : c->updated_at;
    if (event_start(c, c->id, c->kind, action, at, recorded_at, out) != 0) {
        *why = "out of memory";
        return 500;
    }
    out->subject = c->subject;
    out->status = status;
    out->has_resolution = resolution != NULL;
    if (resolution != NULL)
        out->resolution = *resolution;
    out->colour = c->colour;
    set_actor(out, role);
    if (set_note(out, note) != 0) {
        desk_case_event_clear(out);
        *why = "out of memory";
        return 500;
    }
    return 0;
}

size_t desk_rules_due(const desk_case_book *b, int64_t watermark, desk_case **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < b->count && n < max; i++) {
        desk_case *c = b->cases[i];
        if (c->visible && c->status == CW_CASE_STATUS_OPEN && c->has_deadline &&
            watermark > c->deadline)
            out[n++] = c;
    }
    return n;
}

int desk_rules_escalation(const desk_case *c, int64_t recorded_at, desk_case_event *out)
{
    if (event_start(c, c->id, c->kind, CW_CASE_ACTION_ESCALATED, c->deadline, recorded_at, out) !=
        0)
        return -1;
    out->subject = c->subject;
    out->status = CW_CASE_STATUS_ESCALATED;
    out->colour = c->colour;
    return set_note(out, "not acknowledged by its deadline");
}

int desk_rules_callback(const desk_case_book *b, const desk_case_subject *s,
                        cw_callback_result result, const cw_role *role, const char *note,
                        const desk_deadlines *d, int64_t clock, int64_t recorded_at,
                        desk_case_event *out)
{
    const desk_case *c = desk_case_book_find(b, s->order_id);
    if (c && clock < c->updated_at) /* never before what the case holds */
        clock = c->updated_at;
    if (event_start(c, s->order_id, CW_CASE_KIND_ORDER, CW_CASE_ACTION_CALLBACK, clock, recorded_at,
                    out) != 0)
        return -1;
    out->subject = *s;
    out->has_callback = 1;
    out->callback = result;
    set_actor(out, role);
    if (result == CW_CALLBACK_RESULT_DENIED) {
        flag_case(c, CW_CASE_COLOUR_RED, clock, d, out);
    } else if (c != NULL && c->visible) {
        out->status = c->status;
        out->colour = c->colour;
        out->has_deadline = c->has_deadline;
        out->deadline = c->deadline;
        out->has_resolution = c->has_resolution;
        out->resolution = c->resolution;
    } else {
        out->status = CW_CASE_STATUS_RESOLVED; /* not a case: kept in the history only */
        out->colour = CW_CASE_COLOUR_YELLOW;
    }
    if (set_note(out, note) != 0) {
        desk_case_event_clear(out);
        return -1;
    }
    return 0;
}

int desk_rules_complaint(const desk_case_book *b, const desk_case_subject *s, const char *channel,
                         const char *text, const cw_role *role, const desk_deadlines *d,
                         int64_t clock, int64_t recorded_at, desk_case_event *out)
{
    char case_id[DESK_CASE_ID_MAX];
    cw_case_kind kind = CW_CASE_KIND_ORDER;
    if (s->order_id[0]) {
        snprintf(case_id, sizeof(case_id), "%s", s->order_id);
    } else {
        kind = CW_CASE_KIND_COMPLAINT;
        for (int n = 1;; n++) {
            snprintf(case_id, sizeof(case_id), "complaint:%s:%d", s->elder_id, n);
            if (desk_case_book_find(b, case_id) == NULL)
                break;
        }
    }
    const desk_case *c = desk_case_book_find(b, case_id);
    if (c && clock < c->updated_at)
        clock = c->updated_at;
    if (event_start(c, case_id, kind, CW_CASE_ACTION_COMPLAINT, clock, recorded_at, out) != 0)
        return -1;
    out->subject = *s;
    flag_case(c, CW_CASE_COLOUR_ORANGE, clock, d, out);
    set_actor(out, role);
    snprintf(out->channel, sizeof(out->channel), "%s", channel);
    if (set_note(out, text) != 0) {
        desk_case_event_clear(out);
        return -1;
    }
    return 0;
}

int desk_rules_confirms_denial(const desk_case *c, const desk_case_event *ev)
{
    return c != NULL && c->denied && c->subject.order_id[0] &&
           ev->action == CW_CASE_ACTION_RESOLVED && ev->has_resolution &&
           ev->resolution == CW_CASE_RESOLUTION_CONFIRMED;
}
