/* The Avro codec's configuration keys beyond the decode limits: how records
 * are framed on Kafka and where the schema registry is.
 *
 *   avro.framing       single-object (default) | registry
 *   avro.registry_url  the registry's Confluent-compatible base URL
 *
 * cw_avro_configure() applies every avro.* key at start-up (after
 * cw_avro_init): the decode limits, and with a registry URL the id resolver;
 * with avro.framing: registry it registers every schema first (a registry
 * that cannot be reached, or refuses a schema as incompatible, stops the
 * service at start with the reason). docs/schemas.md says how to move a
 * topic from one framing to the other. */
#ifndef CW_AVRO_CONFIG_H
#define CW_AVRO_CONFIG_H

#include <stddef.h>

#include "config.h"

extern const cw_cfg_spec cw_avro_config_spec[];

/* Returns 0, or -1 with a message in err. */
int cw_avro_configure(const cw_config *cfg, char *err, size_t errlen);

#endif
