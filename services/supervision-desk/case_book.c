#include "supervision-desk/case_book.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

void desk_case_event_clear(desk_case_event *ev)
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

int desk_case_event_copy(desk_case_event *dst, const desk_case_event *src)
{
    *dst = *src;
    dst->note = dup_or_empty(src->note);
    dst->alert.message_zh = src->has_alert ? dup_or_empty(src->alert.message_zh) : NULL;
    dst->alert.message_en = src->has_alert ? dup_or_empty(src->alert.message_en) : NULL;
    if (!dst->note || (src->has_alert && (!dst->alert.message_zh || !dst->alert.message_en))) {
        desk_case_event_clear(dst);
        return -1;
    }
    return 0;
}

void desk_case_book_init(desk_case_book *b)
{
    memset(b, 0, sizeof(*b));
}

static void case_free(desk_case *c)
{
    for (size_t i = 0; i < c->event_count; i++)
        desk_case_event_clear(&c->events[i]);
    free(c->events);
    free(c);
}

void desk_case_book_free(desk_case_book *b)
{
    for (size_t i = 0; i < b->count; i++)
        case_free(b->cases[i]);
    free(b->cases);
    cw_idset_free(&b->by_id);
    memset(b, 0, sizeof(*b));
}

desk_case *desk_case_book_find(const desk_case_book *b, const char *case_id)
{
    uint64_t i;
    if (cw_idset_get(&b->by_id, case_id, &i) != 1)
        return NULL;
    return b->cases[i];
}

int desk_case_book_next_seq(const desk_case_book *b, const char *case_id)
{
    const desk_case *c = desk_case_book_find(b, case_id);
    return c ? (int)c->event_count + 1 : 1;
}

static desk_case *case_new(desk_case_book *b, const desk_case_event *ev)
{
    if (cw_grow((void **)&b->cases, &b->cap, b->count, sizeof(*b->cases), 64) != 0)
        return NULL;
    desk_case *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    memcpy(c->id, ev->case_id, sizeof(c->id));
    c->kind = ev->kind;
    if (cw_idset_add(&b->by_id, c->id, b->count) != 1) {
        free(c);
        return NULL;
    }
    b->cases[b->count++] = c;
    return c;
}

static int append_event(desk_case *c, const desk_case_event *ev)
{
    if (cw_grow((void **)&c->events, &c->event_cap, c->event_count, sizeof(*c->events), 4))
        return -1;
    if (desk_case_event_copy(&c->events[c->event_count], ev) != 0)
        return -1;
    c->event_count++;
    return 0;
}

/* Whether the event makes its case visible (listed, worked). */
static int opens_case(const desk_case_event *ev)
{
    return ev->action != CW_CASE_ACTION_CALLBACK ||
           (ev->has_callback && ev->callback == CW_CALLBACK_RESULT_DENIED);
}

int desk_case_book_apply(desk_case_book *b, const desk_case_event *ev)
{
    desk_case *c = desk_case_book_find(b, ev->case_id);
    int next = c ? (int)c->event_count + 1 : 1;
    if (ev->seq < next)
        return 0;
    if (ev->seq > next)
        return -1;
    if (!c && !(c = case_new(b, ev)))
        return -1;
    if (append_event(c, ev) != 0)
        return -1;
    if (ev->action == CW_CASE_ACTION_CALLBACK) {
        c->callback_done = 1;
        if (ev->has_callback && ev->callback == CW_CALLBACK_RESULT_DENIED)
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
    c->has_resolution = ev->has_resolution;
    c->resolution = ev->resolution;
    c->colour = ev->colour;
    c->has_deadline = ev->has_deadline;
    c->deadline = ev->deadline;
    return 1;
}
