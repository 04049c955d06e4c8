/* One Redis connection per thread, for servers whose requests run on a pool
 * of threads (hiredis contexts are not thread-safe, see redis.h).
 *
 * Each thread's connection is created on its first cw_redis_per_thread_get
 * and freed when that thread exits. The cw_redis_per_thread itself and the
 * configuration it was made from must outlive every thread that used it;
 * cw_redis_per_thread_destroy is called after those threads ended. */
#ifndef CW_REDIS_PER_THREAD_H
#define CW_REDIS_PER_THREAD_H

#include <pthread.h>

#include "redis.h"

typedef struct {
    const cw_config *cfg; /* borrowed */
    pthread_key_t key;
    int ready;
} cw_redis_per_thread;

/* 0, or -1 when no thread-local slot is left. */
int cw_redis_per_thread_init(cw_redis_per_thread *t, const cw_config *cfg);
/* The calling thread's connection; NULL only when out of memory. */
cw_redis *cw_redis_per_thread_get(cw_redis_per_thread *t);
/* Frees the calling thread's connection (the others went with their
 * threads) and the slot. */
void cw_redis_per_thread_destroy(cw_redis_per_thread *t);

#endif
