/* Configuration: a YAML file, every key overridable by an environment
 * variable, checked against a spec.
 *
 * Keys are dotted paths ("kafka.brokers"); the YAML file nests them as
 * mappings. The environment variable for a key is CAREWATCH_ followed by the
 * key upper-cased with '.' and '-' replaced by '_' ("CAREWATCH_KAFKA_BROKERS").
 * Precedence: environment > file > spec default.
 *
 * Unknown keys in the file, duplicate keys, values of the wrong type, out of
 * range or not among the allowed choices, and malformed YAML are errors whose
 * message names the key and file:line (or the environment variable).
 * CW_CFG_LIST values are YAML sequences of scalars; in the environment and in
 * spec defaults they are comma-separated (items trimmed, empty items
 * dropped). Values of keys marked secret never appear in errors.
 *
 * Booleans accept true/false, yes/no, on/off, 1/0 (any case). Integers are
 * decimal and must fit in 64 bits; doubles must be finite.
 *
 * If the spec has a "service.instance_id" string key and it is left empty,
 * the loaded value is "<hostname>-<pid>". */
#ifndef CW_CONFIG_H
#define CW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { CW_CFG_STRING, CW_CFG_INT, CW_CFG_DOUBLE, CW_CFG_BOOL, CW_CFG_LIST } cw_cfg_type;

typedef struct {
    const char *key;           /* "kafka.brokers"; NULL ends a spec array */
    cw_cfg_type type;
    const char *default_value; /* as text; NULL = no default (empty string / empty list / 0) */
    double min, max;           /* range for INT and DOUBLE, used when min < max */
    int secret;                /* value never printed */
    const char *help;
    const char *choices;       /* STRING and LIST: allowed values as "live|replay"; NULL = any */
} cw_cfg_spec;

typedef struct cw_config cw_config;

/* Spec entries every service accepts (kafka.*, redis.*, admin.*, log.*,
 * time.*, service.*). */
extern const cw_cfg_spec cw_config_common_spec[];

/* specs: NULL-terminated array of spec arrays (each ended by {.key = NULL}).
 * path: YAML file, or NULL for defaults + environment only.
 * envp: environment in "NAME=value" form, NULL-terminated (pass environ),
 * or NULL for none.
 * Returns a config the caller frees with cw_config_free, or NULL with a
 * message in err. A key declared twice across the specs, or a default that
 * does not parse, is also an error. */
cw_config *cw_config_load(const cw_cfg_spec *const *specs, const char *path,
                          char *const *envp, char *err, size_t errlen);
void cw_config_free(cw_config *cfg);

/* Getters: the key must be in the spec with the getter's type (abort()
 * otherwise: a programming error). Strings and lists are borrowed from cfg;
 * a list is also NULL-terminated, and count may be NULL. */
const char *cw_config_str(const cw_config *cfg, const char *key);
int64_t cw_config_int(const cw_config *cfg, const char *key);
double cw_config_double(const cw_config *cfg, const char *key);
int cw_config_bool(const cw_config *cfg, const char *key);
const char *const *cw_config_list(const cw_config *cfg, const char *key, size_t *count);

/* Longest environment variable name a key may map to, with its NUL. */
#define CW_CFG_ENV_NAME_MAX 256

/* Writes the environment variable name for key into buf ("kafka.brokers" ->
 * "CAREWATCH_KAFKA_BROKERS"). Returns 0, or -1 if it does not fit. */
int cw_config_env_name(const char *key, char *buf, size_t len);

#endif
