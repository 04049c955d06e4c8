/* The payment scheduler's configuration keys (besides the common ones of
 * config.h) and their values, read once. */
#ifndef PAY_CONFIG_H
#define PAY_CONFIG_H

#include <stdint.h>

#include "config.h"

extern const cw_cfg_spec pay_config_spec[];

typedef struct {
    const char *transactional_id; /* borrowed from the config */
    const char *group_id;
    const char *report_dir;
    int live;                     /* time.mode: live */
    int utc_offset_minutes;
    int64_t lateness_ms;
    int64_t quiet_ms;             /* stream.quiet_partition_ms */
    int wait_for_ledger;          /* stream.wait_for_ledger */
    int batch_max;
    int batch_wait_ms;
    int under_served;             /* rules.under_served */
    int under_served_lag_days;    /* rules.under_served_lag_days */
} pay_settings;

void pay_settings_load(const cw_config *cfg, pay_settings *s);

#endif
