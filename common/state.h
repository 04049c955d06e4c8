/* The checkers' shared Redis state: reference data and orders in ingest's
 * layout (redis_keys.h), the per-service event clock (watermark source),
 * event-time timers and the per-partition marks that tell a service Redis
 * was emptied under it.
 *
 * Every function returns -1 when Redis is unreachable or answers an error;
 * callers treat that as transient (retry the message). */
#ifndef CW_STATE_H
#define CW_STATE_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

#include "redis.h"

#define CW_ID_MAX 65 /* ids are 1..64 characters */

typedef struct {
    double lat, lon;
    char crs[8];
    char street_id[CW_ID_MAX];
    char community_id[CW_ID_MAX];
} cw_elder_state;

typedef struct {
    char elder_id[CW_ID_MAX];
    char caregiver_id[CW_ID_MAX];
    char provider_id[CW_ID_MAX];
    int64_t scheduled_start;
    int scheduled_minutes;
} cw_order_state;

/* Adds the HSET of an Elder / OrderAssigned record to b (what ingest
 * writes), so a service replaying the topics rebuilds a flushed Redis.
 * 0, or -1 when the record lacks a field. */
int cw_state_store_elder(cw_redis_batch *b, avro_value_t *elder);
int cw_state_store_order(cw_redis_batch *b, avro_value_t *order);

/* 1 found, 0 missing, -1 Redis error. */
int cw_state_load_elder(cw_redis *r, const char *elder_id, cw_elder_state *out);
int cw_state_load_order(cw_redis *r, const char *order_id, cw_order_state *out);

/* The largest event time a service has seen (cw:clock:<service>), raised
 * to at if lower, atomically across instances. *clock gets the result. */
int cw_state_advance_clock(cw_redis *r, const char *service, int64_t at, int64_t *clock);
/* *clock = 0 when nothing was seen yet. */
int cw_state_get_clock(cw_redis *r, const char *service, int64_t *clock);

/* The watermark: event clock minus the allowed lateness; in live mode the
 * wall clock advances it too. Pure. */
int64_t cw_watermark(int64_t event_clock, int64_t now_ms, int live, int64_t lateness_ms);

/* Event-time timers: one sorted set per service and input partition,
 * member = what to do, score = due time (ms). */
int cw_timers_add(cw_redis_batch *b, const char *service, int partition, int64_t due,
                  const char *member);
typedef struct {
    char **members; /* owned; cw_timers_free */
    int64_t *due;
    size_t count;
} cw_timer_list;
/* Timers due strictly before `before`, earliest first, at most limit. */
int cw_timers_due(cw_redis *r, const char *service, int partition, int64_t before, size_t limit,
                  cw_timer_list *out);
int cw_timers_remove(cw_redis *r, const char *service, int partition, const cw_timer_list *list);
void cw_timers_free(cw_timer_list *list);

/* Marks that this service holds state in Redis for one input partition
 * (cw:epoch:<service>:<topic>:<partition>). Returns 1 when the mark was
 * missing (first start, or Redis lost its data): the caller must then
 * rebuild that state by replaying the partition from the beginning. 0 when
 * present, -1 on Redis error. */
int cw_state_partition_fresh(cw_redis *r, const char *service, const char *topic,
                             int partition);

#endif
