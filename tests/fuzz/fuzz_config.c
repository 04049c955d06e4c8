/* Fuzzes the YAML configuration loader (cw_config_load, common/config.c)
 * and the getters the services read it with.
 *
 * cw_config_load reads a file only (it has no in-memory form), so each
 * input's YAML is written to one scratch file of this process
 * (fuzz_files.h) and loaded from there.
 *
 * Input: byte 0 picks the specs (modulo 4: common + ingest, common +
 * payment-scheduler, common + checker, or this file's own spec holding
 * every type, range, choice and secret, under the test.* keys that
 * tests/unit/data/config_*.yaml use); the rest is the YAML text, up to
 * an optional NUL after which come environment entries ("NAME=value", one
 * a line, only lines holding '=' kept, as in a real environment).
 *
 * Ownership: the config is freed here (cw_config_free) whether it loaded
 * or not; the environment array and its copy of the text are malloc'd
 * and freed here; the scratch file is the process's, removed at exit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "config.h"
#include "fuzz_files.h"
#include "log.h"
#include "payment-scheduler/pay_config.h"
#include "ingest/settings.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENV 16

static const cw_cfg_spec fuzz_spec[] = {
    {.key = "test.name", .type = CW_CFG_STRING, .default_value = "anonymous"},
    {.key = "test.count", .type = CW_CFG_INT, .default_value = "3", .min = 1, .max = 100},
    {.key = "test.big", .type = CW_CFG_INT},
    {.key = "test.ratio", .type = CW_CFG_DOUBLE, .default_value = "0.5", .min = 0, .max = 1},
    {.key = "test.scale", .type = CW_CFG_DOUBLE},
    {.key = "test.enabled", .type = CW_CFG_BOOL, .default_value = "no"},
    {.key = "test.tags", .type = CW_CFG_LIST, .default_value = " a, b ,,"},
    {.key = "test.modes", .type = CW_CFG_LIST, .choices = "slow|fast"},
    {.key = "test.mode", .type = CW_CFG_STRING, .default_value = "slow", .choices = "slow|fast"},
    {.key = "test.dash-key", .type = CW_CFG_STRING},
    {.key = "test.deep.nested.key", .type = CW_CFG_STRING},
    {.key = "test.pin", .type = CW_CFG_INT, .default_value = "1234", .min = 1000, .max = 9999,
     .secret = 1},
    {.key = NULL},
};

static const cw_cfg_spec *const spec_sets[4][3] = {
    {cw_config_common_spec, ingest_config_spec, NULL},
    {cw_config_common_spec, pay_config_spec, NULL},
    {cw_config_common_spec, cw_checker_config_spec, NULL},
    {cw_config_common_spec, fuzz_spec, NULL},
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    cw_log_set_level(CW_LOG_ERROR);
    fuzz_scratch_dir();
    return 0;
}

/* Reads every key of the specs with its own getter, as a service would. */
static void read_all(const cw_config *cfg, const cw_cfg_spec *const *specs)
{
    for (size_t s = 0; specs[s] != NULL; s++) {
        for (const cw_cfg_spec *k = specs[s]; k->key != NULL; k++) {
            size_t count;
            switch (k->type) {
            case CW_CFG_STRING: (void)cw_config_str(cfg, k->key); break;
            case CW_CFG_INT: (void)cw_config_int(cfg, k->key); break;
            case CW_CFG_DOUBLE: (void)cw_config_double(cfg, k->key); break;
            case CW_CFG_BOOL: (void)cw_config_bool(cfg, k->key); break;
            case CW_CFG_LIST: (void)cw_config_list(cfg, k->key, &count); break;
            }
        }
    }
}

/* The services' own translations of a loaded config. */
static void translate(const cw_config *cfg, unsigned set)
{
    if (set == 0) {
        intake_thresholds t;
        http_settings h;
        ingest_thresholds_from_config(cfg, &t);
        ingest_http_from_config(cfg, &h);
    } else if (set == 1) {
        pay_settings p;
        pay_settings_load(cfg, &p);
    }
}

/* Splits text (modified in place) into lines holding '='. */
static void split_env(char *text, char **env)
{
    size_t n = 0;
    for (char *line = text; line != NULL && n < MAX_ENV;) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        if (strchr(line, '=') != NULL)
            env[n++] = line;
        line = nl != NULL ? nl + 1 : NULL;
    }
    env[n] = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned set = data[0] % 4u;
    const char *yaml = (const char *)data + 1;
    const char *nul = memchr(yaml, '\0', size - 1);
    size_t yaml_len = nul != NULL ? (size_t)(nul - yaml) : size - 1;
    const char *path = fuzz_write_file("config.yaml", yaml, yaml_len);

    char *env_text = NULL;
    char *env[MAX_ENV + 1] = {NULL};
    if (nul != NULL) {
        size_t env_len = size - 1 - yaml_len - 1;
        env_text = malloc(env_len + 1);
        if (env_text == NULL)
            return 0;
        memcpy(env_text, nul + 1, env_len);
        env_text[env_len] = '\0';
        split_env(env_text, env);
    }

    char err[512];
    cw_config *cfg = cw_config_load(spec_sets[set], path, env, err, sizeof(err));
    if (cfg != NULL) {
        read_all(cfg, spec_sets[set]);
        translate(cfg, set);
        cw_config_free(cfg);
    }
    free(env_text);
    return 0;
}
