/* The skeleton every stream service's main() uses: options and config,
 * Redis, an idempotent producer, a consumer group on the service's input
 * topics, the admin listener (readiness = Redis and Kafka reachable), then
 * cw_stream_run until SIGTERM, then an orderly close.
 *
 *   static int setup(cw_checker *ck) { ... ck->handlers.handle = ...; }
 *   int main(int argc, char **argv) {
 *       static const char *const topics[] = {"visit.events", NULL};
 *       cw_checker_def def = {.name = "geo-validator", .topics = topics,
 *                             .specs = specs, .setup = setup};
 *       return cw_checker_main(&def, argc, argv);
 *   }
 *
 * Config keys added for every such service (besides the common ones):
 *   stream.group_id                  consumer group (default carewatch-<name>)
 *   stream.allowed_lateness_minutes  how late an event may arrive and still
 *                                    be judged as if in order (default 2)
 *   stream.batch_max                 messages per batch (default 500) */
#ifndef CW_CHECKER_H
#define CW_CHECKER_H

#include "config.h"
#include "kafka.h"
#include "redis.h"
#include "stream.h"

typedef struct cw_checker {
    const char *name;
    const cw_config *cfg;
    cw_redis *redis;
    cw_producer *producer;
    cw_consumer *consumer;
    int live;            /* time.mode: live */
    int64_t lateness_ms; /* stream.allowed_lateness_minutes */
    cw_stream_handlers handlers; /* setup fills handle (required), tick... */
    void *user_data;             /* the service's own; teardown frees it */
} cw_checker;

typedef struct {
    const char *name;
    const char *const *topics;        /* NULL-terminated */
    const cw_cfg_spec *const *specs;  /* the service's own specs, NULL-terminated */
    int (*setup)(cw_checker *ck);     /* 0, or -1 to stop (already logged) */
    void (*teardown)(cw_checker *ck); /* optional */
} cw_checker_def;

extern const cw_cfg_spec cw_checker_config_spec[];

/* Returns the process exit code: 0 clean stop, 1 runtime failure, 2 bad
 * options or configuration. */
int cw_checker_main(const cw_checker_def *def, int argc, char **argv);

/* The watermark now (event clock of this service minus the lateness,
 * advanced by the wall clock in live mode). -1 on Redis error. */
int cw_checker_watermark(cw_checker *ck, int64_t *wm);

#endif
