#include "case_book.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

static const char *const kind_names[] = {"ORDER", "FREEZE", "COMPLAINT"};
static const char *const action_names[] = {"OPENED",   "ALERT_ADDED", "ACKNOWLEDGED",
                                           "ESCALATED", "RESOLVED",   "REOPENED",
                                           "CALLBACK", "COMPLAINT"};
static const char *const status_names[] = {"OPEN", "ACKNOWLEDGED", "ESCALATED", "RESOLVED"};
static const char *const resolution_names[] = {"CONFIRMED", "FALSE_ALARM", "RECTIFIED",
                                               "EVIDENCE_ACCEPTED"};
static const char *const colour_names[] = {"YELLOW", "ORANGE", "RED"};
static const char *const callback_names[] = {"CONFIRMED", "DENIED", "UNREACHABLE"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "";
}

static int parse_in(const char *const *names, int n, const char *s)
{
    for (int i = 0; s != NULL && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *case_kind_name(case_kind k) { return name_of(kind_names, COUNT(kind_names), k); }
const char *case_action_name(case_action a) { return name_of(action_names, COUNT(action_names), a); }
const char *case_status_name(case_status s) { return name_of(status_names, COUNT(status_names), s); }
const char *case_resolution_name(case_resolution r)
{
    return name_of(resolution_names, COUNT(resolution_names), r);
}
const char *case_colour_name(case_colour c) { return name_of(colour_names, COUNT(colour_names), c); }
const char *callback_result_name(callback_result r)
{
    return name_of(callback_names, COUNT(callback_names), r);
}
int case_kind_parse(const char *s) { return parse_in(kind_names, COUNT(kind_names), s); }
int case_action_parse(const char *s) { return parse_in(action_names, COUNT(action_names), s); }
int case_status_parse(const char *s) { return parse_in(status_names, COUNT(status_names), s); }
int case_resolution_parse(const char *s)
{
    return parse_in(resolution_names, COUNT(resolution_names), s);
}
int case_colour_parse(const char *s) { return parse_in(colour_names, COUNT(colour_names), s); }
int callback_result_parse(const char *s) { return parse_in(callback_names, COUNT(callback_names), s); }

void case_event_clear(case_event *ev)
{
    free(ev->note);
    free(ev->alert.message_zh);
    free(ev->alert.message_en);
    ev->note = NULL;
    ev->alert.message_zh = NULL;
    ev->alert.message_en = NULL;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

int case_event_copy(case_event *dst, const case_event *src)
{
    *dst = *src;
    dst->note = dup_or_empty(src->note);
    dst->alert.message_zh = src->has_alert ? dup_or_empty(src->alert.message_zh) : NULL;
    dst->alert.message_en = src->has_alert ? dup_or_empty(src->alert.message_en) : NULL;
    if (!dst->note || (src->has_alert && (!dst->alert.message_zh || !dst->alert.message_en))) {
        case_event_clear(dst);
        return -1;
    }
    return 0;
}

void case_book_init(case_book *b)
{
    memset(b, 0, sizeof(*b));
}

static void case_free(desk_case *c)
{
    for (size_t i = 0; i < c->event_count; i++)
        case_event_clear(&c->events[i]);
    free(c->events);
    free(c);
}

void case_book_free(case_book *b)
{
    for (size_t i = 0; i < b->count; i++)
        case_free(b->cases[i]);
    free(b->cases);
    cw_idset_free(&b->by_id);
    memset(b, 0, sizeof(*b));
}

desk_case *case_book_find(const case_book *b, const char *case_id)
{
    uint64_t i;
    if (cw_idset_get(&b->by_id, case_id, &i) != 1)
        return NULL;
    return b->cases[i];
}

int case_book_next_seq(const case_book *b, const char *case_id)
{
    const desk_case *c = case_book_find(b, case_id);
    return c ? (int)c->event_count + 1 : 1;
}

static desk_case *case_new(case_book *b, const case_event *ev)
{
    if (cw_grow((void **)&b->cases, &b->cap, b->count, sizeof(*b->cases), 64) != 0)
        return NULL;
    desk_case *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    memcpy(c->id, ev->case_id, sizeof(c->id));
    c->kind = ev->kind;
    c->resolution = RESOLUTION_NONE;
    if (cw_idset_add(&b->by_id, c->id, b->count) != 1) {
        free(c);
        return NULL;
    }
    b->cases[b->count++] = c;
    return c;
}

static int append_event(desk_case *c, const case_event *ev)
{
    if (cw_grow((void **)&c->events, &c->event_cap, c->event_count, sizeof(*c->events), 4))
        return -1;
    if (case_event_copy(&c->events[c->event_count], ev) != 0)
        return -1;
    c->event_count++;
    return 0;
}

/* Whether the event makes its case visible (listed, worked). */
static int opens_case(const case_event *ev)
{
    return ev->action != CASE_CALLBACK || ev->callback == CALLBACK_DENIED;
}

int case_book_apply(case_book *b, const case_event *ev)
{
    desk_case *c = case_book_find(b, ev->case_id);
    int next = c ? (int)c->event_count + 1 : 1;
    if (ev->seq < next)
        return 0;
    if (ev->seq > next)
        return -1;
    if (!c && !(c = case_new(b, ev)))
        return -1;
    if (append_event(c, ev) != 0)
        return -1;
    if (ev->action == CASE_CALLBACK) {
        c->callback_done = 1;
        if (ev->callback == CALLBACK_DENIED)
            c->denied = 1;
    }
    c->subject = ev->subject;
    c->updated_at = ev->at;
    if (!c->visible && !opens_case(ev))
        return 1;
    if (!c->visible) {
        c->visible = 1;
        c->opened_at = ev->at;
    }
    c->status = ev->status;
    c->resolution = ev->resolution;
    c->colour = ev->colour;
    c->has_deadline = ev->has_deadline;
    c->deadline = ev->deadline;
    return 1;
}
