#include "checker.h"

#include <stdio.h>
#include <string.h>

#include "admin_http.h"
#include "log.h"
#include "service.h"
#include "state.h"
#include "timeutil.h"

#define MAX_SPECS 8
#define MAX_TOPICS 8

const cw_cfg_spec cw_checker_config_spec[] = {
    {.key = "stream.group_id", .type = CW_CFG_STRING,
     .help = "consumer group; empty = carewatch-<service>"},
    {.key = "stream.allowed_lateness_minutes", .type = CW_CFG_DOUBLE, .default_value = "2",
     .min = 0, .max = 10080,
     .help = "events up to this late are judged as if they had come in order; timers fire "
             "this long after their due time"},
    {.key = "stream.batch_max", .type = CW_CFG_INT, .default_value = "500", .min = 1,
     .max = 100000, .help = "messages handled per produce-and-commit round"},
    {.key = NULL},
};

typedef struct {
    cw_producer *producer;
    cw_redis *redis;
} readiness;

static int checker_ready(void *user_data, char *reason, size_t reason_len)
{
    readiness *r = user_data;
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

int cw_checker_watermark(cw_checker *ck, int64_t *wm)
{
    int64_t clock;
    if (cw_state_get_clock(ck->redis, ck->name, &clock) != 0)
        return -1;
    *wm = cw_watermark(clock, cw_now_ms(), ck->live, ck->lateness_ms);
    return 0;
}

static int run(const cw_checker_def *def, cw_checker *ck)
{
    char err[512], group[128];
    readiness ready = {0};
    int rc = 1;
    size_t ntopics = 0;
    while (def->topics[ntopics] != NULL && ntopics < MAX_TOPICS)
        ntopics++;

    const char *configured_group = cw_config_str(ck->cfg, "stream.group_id");
    if (configured_group[0])
        snprintf(group, sizeof(group), "%s", configured_group);
    else
        snprintf(group, sizeof(group), "carewatch-%s", def->name);
    ck->live = strcmp(cw_config_str(ck->cfg, "time.mode"), "live") == 0;
    ck->lateness_ms =
        (int64_t)(cw_config_double(ck->cfg, "stream.allowed_lateness_minutes") * 60000.0);

    ck->redis = cw_redis_new(ck->cfg);
    ready.redis = cw_redis_new(ck->cfg);
    if (ck->redis == NULL || ready.redis == NULL) {
        cw_log_error("cannot create the Redis client", NULL);
        goto out;
    }
    ck->producer = cw_producer_new(ck->cfg, def->name, err, sizeof(err));
    if (ck->producer == NULL) {
        cw_log_error("cannot create the Kafka producer", "error", err, NULL);
        goto out;
    }
    ready.producer = ck->producer;
    ck->consumer = cw_consumer_new(ck->cfg, group, def->topics, ntopics, err, sizeof(err));
    if (ck->consumer == NULL) {
        cw_log_error("cannot create the Kafka consumer", "error", err, NULL);
        goto out;
    }
    ck->handlers.service = def->name;
    ck->handlers.redis = ck->redis;
    ck->handlers.batch_max = (int)cw_config_int(ck->cfg, "stream.batch_max");
    if (def->setup(ck) != 0)
        goto out;
    if (ck->handlers.user_data == NULL)
        ck->handlers.user_data = ck;
    if (cw_admin_start(cw_config_str(ck->cfg, "admin.bind"), (int)cw_config_int(ck->cfg, "admin.port"),
                       checker_ready, &ready, err, sizeof(err)) != 0) {
        cw_log_error("cannot start the admin listener", "error", err, NULL);
        goto out_teardown;
    }
    char port[16];
    snprintf(port, sizeof(port), "%d", cw_admin_port());
    cw_log_info("started", "group", group, "admin_port", port, "time_mode",
                cw_config_str(ck->cfg, "time.mode"), NULL);
    rc = cw_stream_run(ck->consumer, ck->producer, &ck->handlers) == 0 ? 0 : 1;
    cw_log_info("shutting down", NULL);
    cw_admin_stop();
out_teardown:
    if (def->teardown)
        def->teardown(ck);
out:
    cw_consumer_free(ck->consumer);
    cw_producer_free(ck->producer);
    cw_redis_free(ready.redis);
    cw_redis_free(ck->redis);
    return rc;
}

int cw_checker_main(const cw_checker_def *def, int argc, char **argv)
{
    const cw_cfg_spec *specs[MAX_SPECS + 2];
    size_t n = 0;
    specs[n++] = cw_checker_config_spec;
    for (size_t i = 0; def->specs != NULL && def->specs[i] != NULL && n <= MAX_SPECS; i++)
        specs[n++] = def->specs[i];
    specs[n] = NULL;

    cw_service svc;
    int start = cw_service_start(&svc, def->name, argc, argv, specs);
    if (start != CW_SERVICE_RUN)
        return start == CW_SERVICE_EXIT_OK ? 0 : 2;
    cw_checker ck;
    memset(&ck, 0, sizeof(ck));
    ck.name = def->name;
    ck.cfg = svc.cfg;
    int rc = run(def, &ck);
    cw_service_finish(&svc);
    return rc;
}
