/* After a Redis loss: the reference data, orders and pending changes come
 * back from Kafka (reference_replay.h, change_store.h), while requests
 * answer 503. Used by the main thread only. */
#ifndef INGEST_REBUILD_H
#define INGEST_REBUILD_H

#include "config.h"
#include "ingest/ingest.h"
#include "redis.h"

/* What the main thread knows of Redis between two looks. */
typedef struct {
    char run_id[64]; /* "" before the first look */
} ingest_rebuild_state;
/* Redis is the fast copy of the reference data and orders (with what
 * change_store.h keeps of their maintenance), rebuilt from the topics when
 * it lost them (a flush, a new empty instance) or may have lost some (a
 * restart: it may have come back from an older snapshot or without its
 * last second of writes, so its run_id changed). ctx->rebuilding is set
 * meanwhile (requests answer 503). A failed rebuild is tried again at the
 * next look. r: the main thread's own connection. */
void ingest_rebuild_watch(ingest_rebuild_state *w, const cw_config *cfg, ingest_ctx *ctx,
                         cw_redis *r);

#endif
