/* ingest's context: the id locks, the per-thread Redis connections, and
 * the readiness the admin listener reports. */
#include "ingest/ingest.h"

#include <stdio.h>

#include "service.h"

int ingest_ctx_init(ingest_ctx *ctx, const cw_config *cfg)
{
    for (int i = 0; i < ID_LOCK_STRIPES; i++)
        pthread_mutex_init(&ctx->id_locks[i], NULL);
    return cw_redis_per_thread_init(&ctx->redis, cfg);
}

void ingest_ctx_destroy(ingest_ctx *ctx)
{
    cw_redis_per_thread_destroy(&ctx->redis);
    for (int i = 0; i < ID_LOCK_STRIPES; i++)
        pthread_mutex_destroy(&ctx->id_locks[i]);
}

pthread_mutex_t *ingest_id_lock(ingest_ctx *ctx, const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &ctx->id_locks[h % ID_LOCK_STRIPES];
}

int ingest_ready(void *user_data, char *reason, size_t reason_len)
{
    ingest_readiness *r = user_data;
    if (cw_service_reachable(r->redis, r->producer, reason, reason_len) != 0)
        return -1;
    /* From the start until the first look at Redis found the reference
     * data there, or rebuilt it. */
    if (atomic_load(&r->ingest->rebuilding)) {
        snprintf(reason, reason_len, "reference data not in Redis yet (rebuilding from Kafka)");
        return -1;
    }
    return 0;
}
