#include "ingest/rebuild.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "ingest/change_store.h"
#include "log.h"
#include "partition_marks.h"
#include "reference_replay.h"
#include "topics.h"

void ingest_rebuild_watch(ingest_rebuild_state *w, const cw_config *cfg, ingest_ctx *ctx,
                         cw_redis *r)
{
    static const char *const topics[] = {CW_TOPIC_ELDERS,       CW_TOPIC_CAREGIVERS,
                                         CW_TOPIC_CONTRACTS,    CW_TOPIC_ELDER_STATUS,
                                         CW_TOPIC_ORDERS_ASSIGNED, NULL};
    char run_id[64];
    if (cw_redis_run_id(r, run_id, sizeof(run_id)) != 0)
        return; /* Redis down: requests answer 503 on their own */
    int restarted = w->run_id[0] != '\0' && strcmp(run_id, w->run_id) != 0;
    int marked = cw_state_partition_marked(r, "ingest", "reference", 0);
    if (marked < 0 || (marked > 0 && !restarted && w->run_id[0] != '\0'))
        return;
    if (marked > 0 && w->run_id[0] == '\0') {
        snprintf(w->run_id, sizeof(w->run_id), "%s", run_id);
        atomic_store(&ctx->rebuilding, 0);
        return; /* first look: the state is there */
    }
    atomic_store(&ctx->rebuilding, 1);
    cw_log_warn(marked ? "Redis restarted (it may have come back older): rebuilding the "
                         "reference data and orders from Kafka"
                       : "reference data missing in Redis: rebuilding it from Kafka",
                NULL);
    char err[256], n[24];
    long stored = cw_state_bootstrap(cfg, r, topics, err, sizeof(err));
    long kept = stored < 0 ? -1 : ingest_change_store_rebuild(cfg, r, err, sizeof(err));
    if (kept < 0 || cw_state_partition_mark(r, "ingest", "reference", 0) != 0) {
        cw_log_error("rebuild failed; retrying", "error", kept < 0 ? err : "cannot mark",
                     NULL);
        return; /* still rebuilding: the next look tries again */
    }
    snprintf(n, sizeof(n), "%ld", stored + kept);
    cw_log_info("reference data rebuilt from Kafka", "records", n, NULL);
    snprintf(w->run_id, sizeof(w->run_id), "%s", run_id);
    atomic_store(&ctx->rebuilding, 0);
}
