/* Event-time timers in Redis (the no-show and duration deadlines, the
 * travel checks that wait for the watermark). -1 when Redis cannot be
 * asked. */
#ifndef CW_TIMERS_H
#define CW_TIMERS_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

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
/* Adds to b the removal of one timer not fired yet (ZREM). */
void cw_timers_cancel(cw_redis_batch *b, const char *service, int partition, const char *member);
void cw_timers_free(cw_timer_list *list);

#endif
