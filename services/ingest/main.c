/* carewatch-ingest: the HTTP API of docs/design.md §3 (ingest.h says
 * which file does what).
 *
 * Wiring only: configuration, the Kafka producer, Redis, the key table, the
 * admin listener and the HTTP server. Requests are handled on the HTTP
 * server's threads, one per connection; this thread keeps the admin
 * heartbeat going and watches Redis (ingest_rebuild_watch) until SIGTERM or
 * SIGINT. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "admin_http.h"
#include "ingest/http_server.h"
#include "ingest/ingest.h"
#include "ingest/ingest_store.h"
#include "ingest/rebuild.h"
#include "ingest/settings.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "service.h"
#include "shutdown.h"
#include "timeutil.h"

static cw_histogram *request_seconds;
static cw_counter *responses;

static void observe_request(const char *route, int status, double seconds)
{
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    cw_counter_add(responses, CW_LABELS(route, code), 1);
    cw_histogram_observe(request_seconds, CW_LABELS(route), seconds);
}

static int load_auth(const cw_config *cfg, cw_key_table *table)
{
    size_t n = 0;
    const char *const *entries = cw_config_list(cfg, "auth.keys", &n);
    char err[256];
    if (cw_key_table_load(table, entries, n, err, sizeof(err)) != 0) {
        cw_log_error("bad auth.keys", "error", err, NULL);
        return -1;
    }
    if (n == 0)
        cw_log_warn("auth.keys is empty: every request will be refused", NULL);
    return 0;
}

static int run(const cw_config *cfg)
{
    int rc = 1;
    char err[512];
    ingest_ctx ctx;
    ingest_readiness ready = {0};
    ingest_rebuild_state watch = {{0}};
    http_server *server = NULL;
    cw_redis *state_redis = NULL; /* the main thread's own connection */
    int ctx_ready = 0;
    memset(&ctx, 0, sizeof(ctx));
    atomic_init(&ctx.rebuilding, 1); /* not ready before the first look */

    request_seconds = cw_metrics_histogram("carewatch_ingest_request_seconds",
                                           "Time to answer an ingest request", "route", NULL, 0);
    responses = cw_metrics_counter("carewatch_ingest_responses_total",
                                   "Ingest responses by route and status", "route,status");
    if (request_seconds == NULL || responses == NULL) {
        cw_log_error("cannot register metrics", NULL);
        return 1;
    }

    ctx.producer = cw_producer_new(cfg, "carewatch-ingest", err, sizeof(err));
    if (ctx.producer == NULL) {
        cw_log_error("cannot create the Kafka producer", "error", err, NULL);
        return 1;
    }
    if (cw_producer_share(ctx.producer) != 0) {
        cw_log_error("cannot start the Kafka delivery thread", NULL);
        cw_producer_free(ctx.producer);
        return 1;
    }
    ctx_ready = ingest_ctx_init(&ctx, cfg) == 0;
    ready.redis = cw_redis_new(cfg);
    state_redis = cw_redis_new(cfg);
    ready.producer = ctx.producer;
    ready.ingest = &ctx;
    if (!ctx_ready || ready.redis == NULL || state_redis == NULL) {
        cw_log_error("cannot create the Redis client", NULL);
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
        cw_log_error("cannot start the admin listener", "error", err, NULL);
        goto out;
    }

    ingest_rebuild_watch(&watch, cfg, &ctx, state_redis);
    http_settings hs;
    ingest_http_from_config(cfg, &hs);
    hs.probe = cw_admin_probe;
    hs.observe = observe_request;
    server = ingest_http_start(&hs, &ctx, err, sizeof(err));
    if (server == NULL) {
        cw_log_error("cannot start the HTTP server", "error", err, NULL);
        goto out_admin;
    }

    char port[16], admin_port[16];
    snprintf(port, sizeof(port), "%d", ingest_http_port(server));
    snprintf(admin_port, sizeof(admin_port), "%d", cw_admin_port());
    cw_log_info("ingest listening", "port", port, "admin_port", admin_port, "time_mode",
                cw_config_str(cfg, "time.mode"), NULL);

    while (!cw_shutdown_requested()) {
        cw_admin_heartbeat();
        ingest_rebuild_watch(&watch, cfg, &ctx, state_redis);
        cw_shutdown_sleep_ms(1000);
    }
    cw_log_info("shutting down", NULL);
    ingest_http_stop(server);
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
