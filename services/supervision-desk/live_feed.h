/* The desk's live feed: the case events it applies, kept in a ring of the
 * last DESK_LIVE_FEED_SIZE, each as the JSON line a console shows, so that open
 * /v1/live streams (Server-Sent Events) send what is new to each reader
 * that may see it. Guarded by the desk's lock; the feed's condition wakes
 * readers waiting for a new event. The feed owns its lines. */
#ifndef DESK_LIVE_FEED_H
#define DESK_LIVE_FEED_H

#include <pthread.h>
#include <stdint.h>

#include "access_keys.h"
#include "supervision-desk/case_book.h"

#define DESK_LIVE_FEED_SIZE 1024

typedef struct {
    uint64_t seq;  /* 1, 2, ...: the feed's own numbering */
    char street_id[DESK_ID_MAX];
    int red_or_escalated;
    char *json;    /* owned */
} desk_live_item;

typedef struct {
    desk_live_item items[DESK_LIVE_FEED_SIZE];
    uint64_t last;          /* seq of the newest item; 0: none yet */
    pthread_cond_t changed; /* signalled (with the desk's lock) on every push */
} desk_live_feed;

int desk_live_feed_init(desk_live_feed *f);
void desk_live_feed_free(desk_live_feed *f);
/* Adds the event (as applied to case c); 0 or -1 out of memory. */
int desk_live_feed_push(desk_live_feed *f, const desk_case *c, const desk_case_event *ev,
                        int64_t watermark, int utc_offset_minutes);
/* Whether role may see item (the case rules' reading, on the item's
 * street and colour). */
int desk_live_feed_visible(const desk_live_item *item, const cw_role *role);
/* The item of seq, or NULL when it is not (or no longer) in the ring. */
const desk_live_item *desk_live_feed_get(const desk_live_feed *f, uint64_t seq);

#endif
