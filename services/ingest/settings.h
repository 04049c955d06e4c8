/* ingest's configuration keys (beyond the common kafka/redis/admin/log/time
 * ones) and their translation into the structs the service runs on. */
#ifndef INGEST_SETTINGS_H
#define INGEST_SETTINGS_H

#include "config.h"
#include "ingest/http_server.h"
#include "ingest/intake_rules.h"

extern const cw_cfg_spec ingest_config_spec[];

void ingest_thresholds_from_config(const cw_config *cfg, intake_thresholds *t);
void ingest_http_from_config(const cw_config *cfg, http_settings *s);

#endif
