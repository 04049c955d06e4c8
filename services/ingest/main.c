/* carewatch-ingest: the HTTP API of docs/design.md §3.
 *
 * Wiring only: configuration, the Kafka producer, Redis, the key table, the
 * admin listener and the HTTP server. Requests are handled on the HTTP
 * server's threads, one per connection (api.c); this thread keeps the admin heartbeat
 * going and watches Redis until SIGTERM or SIGINT. */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "admin_http.h"
#include "api.h"
#include "change_store.h"
#include "http_server.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "service.h"
#include "settings.h"
#include "shutdown.h"
#include "state.h"
#include "timeutil.h"
#include "topics.h"

/* Readiness (0 = ready) runs on the admin thread; it has its own Redis connection so it
 * never shares one with the request threads. */
typedef struct {
    cw_producer *producer;
    cw_redis *redis;
    ingest_ctx *ingest;
} readiness_ctx;

static cw_histogram *request_seconds;
static cw_counter *responses;

static int ingest_ready(void *user_data, char *reason, size_t reason_len)
{
    readiness_ctx *r = user_data;
    if (atomic_load(&r->ingest->rebuilding)) {
        snprintf(reason, reason_len, "rebuilding Redis from Kafka");
        return -1;
    }
    if (cw_redis_ping(r->redis) != 0) {
        snprintf(reason, reason_len, "redis unreachable");
        return -1;
    }
    if (cw_producer_ping(r->producer, 2000) != 0) {
        snprintf(reason, reason_len, "kafka unreachable");
        return -1;
    }
    return 0;
}

static void observe_request(const char *route, int status, double seconds)
{
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    cw_counter_add(responses, CW_LABELS(route, code), 1);
    cw_histogram_observe(request_seconds, CW_LABELS(route), seconds);
}

/* Redis is the fast copy of the reference data and orders (with what
 * ingest keeps of their changes: change_store.h), rebuilt from
 * the topics when it lost them (a flush, a new empty instance) or may have
 * lost some (a restart: it may have come back from an older snapshot or
 * without its last second of writes, so its run_id changed). Requests wait
 * with 503 meanwhile. Idempotency marks, photo claims and the stream clock
 * are not in Kafka and start afresh. */
static void rebuild_if_lost(const cw_config *cfg, ingest_ctx *ctx, cw_redis *r)
{
    static const char *const topics[] = {CW_TOPIC_ELDERS, CW_TOPIC_CAREGIVERS, CW_TOPIC_CONTRACTS,
                                         CW_TOPIC_ELDER_STATUS,
                                         CW_TOPIC_ORDERS_ASSIGNED, NULL};
    static char known_run_id[64];
    char run_id[64];
    if (cw_redis_run_id(r, run_id, sizeof(run_id)) != 0)
        return; /* Redis down: requests answer 503 on their own */
    int restarted = known_run_id[0] != '\0' && strcmp(run_id, known_run_id) != 0;
    int marked = cw_state_partition_marked(r, "ingest", "reference", 0);
    if (marked < 0 || (marked > 0 && !restarted && known_run_id[0] != '\0'))
        return;
    if (marked > 0 && known_run_id[0] == '\0') {
        snprintf(known_run_id, sizeof(known_run_id), "%s", run_id);
        return; /* first look: the state is there */
    }
    atomic_store(&ctx->rebuilding, 1);
    cw_log_warn(marked ? "Redis restarted (it may have come back older): rebuilding the "
                         "reference data and orders from Kafka"
                       : "reference data missing in Redis: rebuilding it from Kafka",
                NULL);
    char err[256], n[24];
    long stored = cw_state_bootstrap(cfg, r, topics, err, sizeof(err));
    long kept = stored < 0 ? -1 : change_store_rebuild(cfg, r, err, sizeof(err));
    if (kept < 0 || cw_state_partition_mark(r, "ingest", "reference", 0) != 0) {
        cw_log_error("rebuild failed; retrying", "error", kept < 0 ? err : "cannot mark",
                     NULL);
        return; /* still rebuilding: the next turn tries again */
    }
    snprintf(n, sizeof(n), "%ld", stored + kept);
    cw_log_info("reference data rebuilt from Kafka", "records", n, NULL);
    snprintf(known_run_id, sizeof(known_run_id), "%s", run_id);
    atomic_store(&ctx->rebuilding, 0);
}

static int load_auth(const cw_config *cfg, cw_key_table *table)
{
    size_t n = 0;
    const char *const *entries = cw_config_list(cfg, "auth.keys", &n);
    char err[256];
    if (cw_key_table_load(table, entries, n, err, sizeof(err)) != 0) {
        cw_log(CW_LOG_ERROR, "bad auth.keys", "error", err, NULL);
        return -1;
    }
    if (n == 0)
        cw_log(CW_LOG_WARN, "auth.keys is empty: every request will be refused", NULL);
    return 0;
}

static int run(const cw_config *cfg)
{
    int rc = 1;
    char err[512];
    ingest_ctx ctx;
    readiness_ctx ready = {0};
    http_server *server = NULL;
    cw_redis *state_redis = NULL; /* the main thread's own connection */
    int ctx_ready = 0;
    memset(&ctx, 0, sizeof(ctx));
    atomic_init(&ctx.rebuilding, 0);

    request_seconds = cw_metrics_histogram("carewatch_ingest_request_seconds",
                                           "Time to answer an ingest request", "route", NULL, 0);
    responses = cw_metrics_counter("carewatch_ingest_responses_total",
                                   "Ingest responses by route and status", "route,status");
    if (request_seconds == NULL || responses == NULL) {
        cw_log(CW_LOG_ERROR, "cannot register metrics", NULL);
        return 1;
    }

    ctx.producer = cw_producer_new(cfg, "carewatch-ingest", err, sizeof(err));
    if (ctx.producer == NULL) {
        cw_log(CW_LOG_ERROR, "cannot create the Kafka producer", "error", err, NULL);
        return 1;
    }
    if (cw_producer_share(ctx.producer) != 0) {
        cw_log(CW_LOG_ERROR, "cannot start the Kafka delivery thread", NULL);
        cw_producer_free(ctx.producer);
        return 1;
    }
    ctx_ready = ingest_ctx_init(&ctx, cfg) == 0;
    ready.redis = cw_redis_new(cfg);
    state_redis = cw_redis_new(cfg);
    ready.producer = ctx.producer;
    ready.ingest = &ctx;
    if (!ctx_ready || ready.redis == NULL || state_redis == NULL) {
        cw_log(CW_LOG_ERROR, "cannot create the Redis client", NULL);
        goto out;
    }
    if (load_auth(cfg, &ctx.auth) != 0)
        goto out;
    ingest_thresholds_from_config(cfg, &ctx.thresholds);
    ctx.replay_mode = strcmp(cw_config_str(cfg, "time.mode"), "replay") == 0;
    ctx.clock_skew_ms = (int64_t)(cw_config_double(cfg, "rules.clock_skew_minutes") * 60000.0);
    ctx.order_final_after_ms = cw_config_int(cfg, "rules.order_final_hours") * 3600000;
    ctx.now_ms = cw_now_ms;
    ctx.max_batch_lines = (size_t)cw_config_int(cfg, "http.max_batch_lines");
    ctx.max_batch_failures = (size_t)cw_config_int(cfg, "http.max_batch_failures");

    if (cw_admin_start(cw_config_str(cfg, "admin.bind"), (int)cw_config_int(cfg, "admin.port"),
                       ingest_ready, &ready, err, sizeof(err)) != 0) {
        cw_log(CW_LOG_ERROR, "cannot start the admin listener", "error", err, NULL);
        goto out;
    }

    rebuild_if_lost(cfg, &ctx, state_redis);
    http_settings hs;
    ingest_http_from_config(cfg, &hs);
    hs.probe = cw_admin_probe;
    hs.observe = observe_request;
    server = http_server_start(&hs, &ctx, err, sizeof(err));
    if (server == NULL) {
        cw_log(CW_LOG_ERROR, "cannot start the HTTP server", "error", err, NULL);
        goto out_admin;
    }

    char port[16], admin_port[16];
    snprintf(port, sizeof(port), "%d", http_server_port(server));
    snprintf(admin_port, sizeof(admin_port), "%d", cw_admin_port());
    cw_log(CW_LOG_INFO, "ingest listening", "port", port, "admin_port", admin_port, "time_mode",
           cw_config_str(cfg, "time.mode"), NULL);

    while (!cw_shutdown_requested()) {
        cw_admin_heartbeat();
        rebuild_if_lost(cfg, &ctx, state_redis);
        cw_shutdown_sleep_ms(1000);
    }
    cw_log(CW_LOG_INFO, "shutting down", NULL);
    http_server_stop(server);
    rc = 0;

out_admin:
    cw_admin_stop();
out:
    cw_key_table_free(&ctx.auth);
    cw_redis_free(state_redis);
    cw_redis_free(ready.redis);
    if (ctx_ready)
        ingest_ctx_destroy(&ctx);
    cw_producer_free(ctx.producer);
    return rc;
}

int main(int argc, char **argv)
{
    static const cw_cfg_spec *const specs[] = {ingest_config_spec, NULL};
    /* A thread per connection would otherwise get malloc arenas of its own,
     * each keeping freed memory: two bound the resident size. */
    mallopt(M_ARENA_MAX, 2);
    cw_service svc;
    int start = cw_service_start(&svc, "ingest", argc, argv, specs);
    if (start != CW_SERVICE_RUN)
        return start == CW_SERVICE_EXIT_OK ? 0 : 2;
    int rc = run(svc.cfg);
    cw_service_finish(&svc);
    return rc;
}
