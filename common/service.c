#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "avro_config.h"
#include "log.h"
#include "metrics.h"
#include "shutdown.h"

extern char **environ;

#define MAX_SPECS 8

static void print_usage(const char *name, FILE *out)
{
    fprintf(out,
            "usage: carewatch-%s [--config FILE] [--check-config]\n"
            "       carewatch-%s --help | --version\n"
            "\n"
            "  --config FILE    YAML configuration (default: $CAREWATCH_CONFIG, else\n"
            "                   built-in defaults); every key can be overridden by an\n"
            "                   environment variable CAREWATCH_<KEY>, e.g.\n"
            "                   CAREWATCH_KAFKA_BROKERS for kafka.brokers\n"
            "  --check-config   load and validate the configuration, then exit\n"
            "  --config-keys    list every configuration key (Markdown table), then exit\n",
            name, name);
}

static const char *type_name(cw_cfg_type type)
{
    switch (type) {
    case CW_CFG_STRING: return "string";
    case CW_CFG_INT: return "integer";
    case CW_CFG_DOUBLE: return "number";
    case CW_CFG_BOOL: return "boolean";
    case CW_CFG_LIST: return "list";
    }
    return "?";
}

/* One row per key: what the README's configuration tables are checked
 * against. */
static void print_config_keys(const cw_cfg_spec *const *specs)
{
    printf("| key | environment | type | default | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; specs[i] != NULL; i++) {
        for (const cw_cfg_spec *k = specs[i]; k->key != NULL; k++) {
            char env[128];
            if (cw_config_env_name(k->key, env, sizeof(env)) != 0)
                snprintf(env, sizeof(env), "?");
            const char *def = k->default_value ? k->default_value : "";
            printf("| `%s` | `%s` | %s", k->key, env, type_name(k->type));
            if (k->choices != NULL) {
                /* "live|replay" would split the Markdown cell. */
                printf(": ");
                for (const char *c = k->choices; *c; c++)
                    fputs(*c == '|' ? " / " : (char[2]){*c, 0}, stdout);
            }
            printf(" | %s%s%s | %s |\n", def[0] ? "`" : "", def, def[0] ? "`" : "",
                   k->help ? k->help : "");
        }
    }
}

int cw_service_start(cw_service *svc, const char *name, int argc, char **argv,
                     const cw_cfg_spec *const *specs)
{
    int check_only = 0, list_keys = 0;
    memset(svc, 0, sizeof(*svc));
    svc->name = name;
    svc->config_path = getenv("CAREWATCH_CONFIG");
    if (svc->config_path != NULL && svc->config_path[0] == '\0')
        svc->config_path = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(name, stdout);
            return CW_SERVICE_EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("carewatch-%s %s\n", name, CW_VERSION);
            return CW_SERVICE_EXIT_OK;
        } else if (strcmp(argv[i], "--config-keys") == 0) {
            list_keys = 1;
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check_only = 1;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            svc->config_path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            svc->config_path = argv[i] + 9;
        } else {
            fprintf(stderr, "carewatch-%s: unknown or incomplete option '%s'\n", name, argv[i]);
            print_usage(name, stderr);
            return CW_SERVICE_EXIT_ERR;
        }
    }

    const cw_cfg_spec *all[MAX_SPECS + 2];
    size_t n = 0;
    all[n++] = cw_config_common_spec;
    all[n++] = cw_avro_config_spec;
    for (size_t i = 0; specs != NULL && specs[i] != NULL; i++) {
        if (n > MAX_SPECS) {
            fprintf(stderr, "carewatch-%s: too many config specs\n", name);
            return CW_SERVICE_EXIT_ERR;
        }
        all[n++] = specs[i];
    }
    all[n] = NULL;
    if (list_keys) {
        print_config_keys(all);
        return CW_SERVICE_EXIT_OK;
    }

    char err[512];
    svc->cfg = cw_config_load(all, svc->config_path, environ, err, sizeof(err));
    if (svc->cfg == NULL) {
        fprintf(stderr, "carewatch-%s: configuration: %s\n", name, err);
        return CW_SERVICE_EXIT_ERR;
    }
    if (check_only) {
        printf("carewatch-%s: configuration %s is valid\n", name,
               svc->config_path ? svc->config_path : "(defaults and environment)");
        cw_config_free(svc->cfg);
        svc->cfg = NULL;
        return CW_SERVICE_EXIT_OK;
    }
    if (cw_log_init(name, cw_config_str(svc->cfg, "log.level")) != 0) {
        fprintf(stderr, "carewatch-%s: bad log.level\n", name);
        goto fail;
    }
    if (cw_avro_init(err, sizeof(err)) != 0) {
        cw_log_error("cannot load the Avro schemas", "error", err, NULL);
        goto fail;
    }
    if (cw_avro_configure(svc->cfg, err, sizeof(err)) != 0) {
        cw_log_error("cannot configure the Avro codec", "error", err, NULL);
        goto fail_avro;
    }
    if (cw_metrics_init(name, CW_VERSION) != 0) {
        cw_log_error("cannot initialise metrics", NULL);
        goto fail_avro;
    }
    if (cw_shutdown_install() != 0) {
        cw_log_error("cannot install signal handlers", NULL);
        goto fail_metrics;
    }
    return CW_SERVICE_RUN;

fail_metrics:
    cw_metrics_shutdown();
fail_avro:
    cw_avro_shutdown();
fail:
    cw_config_free(svc->cfg);
    svc->cfg = NULL;
    return CW_SERVICE_EXIT_ERR;
}

void cw_service_finish(cw_service *svc)
{
    cw_metrics_shutdown();
    cw_avro_shutdown();
    cw_config_free(svc->cfg);
    svc->cfg = NULL;
}

int cw_service_reachable(cw_redis *redis, cw_producer *producer, char *reason, size_t reason_len)
{
    if (cw_redis_ping(redis) != 0) {
        snprintf(reason, reason_len, "redis unreachable");
        return -1;
    }
    if (cw_producer_ping(producer, 2000) != 0) {
        snprintf(reason, reason_len, "kafka unreachable");
        return -1;
    }
    return 0;
}
