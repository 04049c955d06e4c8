/* Event time in Redis: each service's clocks (the largest event time seen,
 * service-wide and per input partition) and the watermark made of them.
 * Every function but the pure cw_watermark returns -1 when Redis cannot be
 * asked; callers retry the message. */
#ifndef CW_EVENT_CLOCK_H
#define CW_EVENT_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

/* Event clocks: the largest event time a service has seen overall
 * (cw:clock:<service>) and in one input partition
 * (cw:clock:<service>:<partition>). advance raises both to at if lower,
 * atomically across instances, and reports them; get reads them (0 when
 * nothing was seen). add_clock puts the same advance last in a pipeline of
 * writes (one round trip for both); clock_reply reads its reply. */
void cw_state_add_clock(cw_redis_batch *b, const char *service, int partition, int64_t at);
int cw_state_clock_reply(const redisReply *reply, int64_t *global, int64_t *partition_clock);
int cw_state_advance_clock(cw_redis *r, const char *service, int partition, int64_t at,
                           int64_t *global, int64_t *partition_clock);
int cw_state_get_clock(cw_redis *r, const char *service, int partition, int64_t *global,
                       int64_t *partition_clock);
/* The service-wide clocks of n services into clocks[0..n): INT64_MIN for
 * one that has read nothing yet. 0, or -1 when Redis cannot be asked. */
int cw_state_get_service_clocks(cw_redis *r, const char *const *services, size_t n,
                                int64_t *clocks);

/* The watermark of one partition. Pure.
 *
 * While the partition still has a backlog, only its own events count: a
 * replay of history processes partitions one after the other, and another
 * partition being hours ahead says nothing about this one. Once it is
 * caught up, the service-wide clock counts too (in live mode also the wall
 * clock), so the timers of a quiet partition still fire. The allowed
 * lateness is then subtracted. */
int64_t cw_watermark(int64_t partition_clock, int64_t global_clock, int caught_up,
                     int64_t now_ms, int live, int64_t lateness_ms);

#endif
