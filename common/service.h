/* Start-up shared by every carewatch service binary: command-line options,
 * configuration, logging, the Avro codec and metrics.
 *
 *   cw_service svc;
 *   int rc = cw_service_start(&svc, "ingest", argc, argv, specs);
 *   if (rc != CW_SERVICE_RUN) return rc == CW_SERVICE_EXIT_OK ? 0 : 2;
 *   ... run with svc.cfg ...
 *   cw_service_finish(&svc);
 *
 * Options: --config FILE (or CAREWATCH_CONFIG), --check-config,
 * --config-keys, --help, --version. */
#ifndef CW_SERVICE_H
#define CW_SERVICE_H

#include "config.h"
#include "kafka.h"
#include "redis.h"

enum {
    CW_SERVICE_RUN = 0,     /* go on */
    CW_SERVICE_EXIT_OK = 1, /* --help, --version, --check-config passed */
    CW_SERVICE_EXIT_ERR = 2 /* bad option or configuration; already reported */
};

typedef struct {
    const char *name;  /* "ingest" */
    cw_config *cfg;    /* owned; freed by cw_service_finish */
    const char *config_path;
} cw_service;

/* specs: the service's own spec arrays, NULL-terminated (the common spec is
 * added in front). */
int cw_service_start(cw_service *svc, const char *name, int argc, char **argv,
                     const cw_cfg_spec *const *specs);
void cw_service_finish(cw_service *svc);

/* The readiness every service starts from: Redis answers a PING and the
 * producer reaches a broker within 2 s. 0, or -1 with the reason
 * ("redis unreachable", "kafka unreachable"). */
int cw_service_reachable(cw_redis *redis, cw_producer *producer, char *reason, size_t reason_len);

#endif
