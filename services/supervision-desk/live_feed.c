#include "supervision-desk/live_feed.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "supervision-desk/case_json.h"

int desk_live_feed_init(desk_live_feed *f)
{
    memset(f, 0, sizeof(*f));
    return pthread_cond_init(&f->changed, NULL) == 0 ? 0 : -1;
}

void desk_live_feed_free(desk_live_feed *f)
{
    for (size_t i = 0; i < DESK_LIVE_FEED_SIZE; i++)
        free(f->items[i].json);
    pthread_cond_destroy(&f->changed);
}

int desk_live_feed_push(desk_live_feed *f, const desk_case *c, const desk_case_event *ev,
                        int64_t watermark, int utc_offset_minutes)
{
    if (!c->visible)
        return 0;
    json_t *o = json_pack("{s:o, s:o}", "case", desk_json_summary(c, watermark, utc_offset_minutes),
                          "event", desk_json_event(ev, utc_offset_minutes));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return -1;
    desk_live_item *item = &f->items[(f->last + 1) % DESK_LIVE_FEED_SIZE];
    free(item->json);
    item->json = text;
    item->seq = ++f->last;
    memcpy(item->street_id, c->subject.street_id, sizeof(item->street_id));
    item->red_or_escalated =
        c->colour == CW_CASE_COLOUR_RED || c->status == CW_CASE_STATUS_ESCALATED;
    pthread_cond_broadcast(&f->changed);
    return 0;
}

int desk_live_feed_visible(const desk_live_item *item, const cw_role *role)
{
    switch (role->kind) {
    case CW_ROLE_ADMIN:
    case CW_ROLE_COMMAND: return 1;
    case CW_ROLE_STREET: return strcmp(item->street_id, role->street_id) == 0;
    default: return 0;
    }
}

const desk_live_item *desk_live_feed_get(const desk_live_feed *f, uint64_t seq)
{
    if (seq == 0 || seq > f->last || f->last - seq >= DESK_LIVE_FEED_SIZE)
        return NULL;
    const desk_live_item *item = &f->items[seq % DESK_LIVE_FEED_SIZE];
    return item->seq == seq ? item : NULL;
}
