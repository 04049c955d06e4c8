#include "redis_per_thread.h"

static void free_connection(void *connection)
{
    cw_redis_free(connection);
}

int cw_redis_per_thread_init(cw_redis_per_thread *t, const cw_config *cfg)
{
    t->cfg = cfg;
    t->ready = pthread_key_create(&t->key, free_connection) == 0;
    return t->ready ? 0 : -1;
}

cw_redis *cw_redis_per_thread_get(cw_redis_per_thread *t)
{
    cw_redis *r = pthread_getspecific(t->key);
    if (r != NULL)
        return r;
    r = cw_redis_new(t->cfg);
    if (r != NULL && pthread_setspecific(t->key, r) != 0) {
        cw_redis_free(r);
        return NULL;
    }
    return r;
}

void cw_redis_per_thread_destroy(cw_redis_per_thread *t)
{
    if (!t->ready)
        return;
    cw_redis_free(pthread_getspecific(t->key));
    pthread_setspecific(t->key, NULL);
    pthread_key_delete(t->key);
    t->ready = 0;
}
