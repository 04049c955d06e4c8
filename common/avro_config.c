#include "avro_config.h"

#include <stdio.h>
#include <string.h>

#include "avro_codec.h"
#include "log.h"
#include "schema_registry.h"

const cw_cfg_spec cw_avro_config_spec[] = {
    {.key = "avro.framing", .type = CW_CFG_STRING, .default_value = "single-object",
     .choices = "single-object|registry",
     .help = "how records are framed on Kafka: single-object (C3 01 + CRC-64-AVRO fingerprint) "
             "or registry (Confluent wire format: 00 + 4-byte schema id from avro.registry_url, "
             "every schema registered at start, compatibility BACKWARD); both are read either "
             "way"},
    {.key = "avro.registry_url", .type = CW_CFG_STRING,
     .help = "Confluent-compatible schema registry base URL, http only (e.g. "
             "http://127.0.0.1:8085/apis/ccompat/v7); needed by avro.framing registry; when set, "
             "records with an unknown schema id are looked up there; empty = none"},
    {.key = NULL},
};

int cw_avro_configure(const cw_config *cfg, char *err, size_t errlen)
{
    cw_avro_limits limits = {
        .max_items = (size_t)cw_config_int(cfg, "avro.max_array_items"),
        .max_string_bytes = (size_t)cw_config_int(cfg, "avro.max_string_bytes"),
        .max_decoded_bytes = (size_t)cw_config_int(cfg, "avro.max_decoded_bytes"),
    };
    cw_avro_set_limits(&limits);

    int registry_framing = strcmp(cw_config_str(cfg, "avro.framing"), "registry") == 0;
    const char *url = cw_config_str(cfg, "avro.registry_url");
    if (url == NULL || url[0] == '\0') {
        if (registry_framing) {
            snprintf(err, errlen, "avro.framing registry needs avro.registry_url");
            return -1;
        }
        cw_avro_set_framing(CW_AVRO_FRAMING_SINGLE_OBJECT);
        return 0;
    }
    cw_registry *r = cw_registry_new(url, err, errlen);
    if (r == NULL)
        return -1;
    if (registry_framing && cw_registry_register_all(r, err, errlen) != 0) {
        cw_registry_free(r);
        return -1;
    }
    cw_registry_install_resolver(r); /* the codec owns r from here */
    cw_avro_set_framing(registry_framing ? CW_AVRO_FRAMING_REGISTRY
                                         : CW_AVRO_FRAMING_SINGLE_OBJECT);
    char count[24];
    snprintf(count, sizeof(count), "%zu", cw_embedded_schema_count);
    cw_log_info(registry_framing ? "schemas registered" : "schema registry for reading",
           "framing", registry_framing ? "registry" : "single-object", "registry", url,
           "schemas", registry_framing ? count : "0", NULL);
    return 0;
}
