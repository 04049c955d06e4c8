#include "payment-scheduler/pay_config.h"

#include <string.h>

const cw_cfg_spec pay_config_spec[] = {
    {.key = "stream.transactional_id", .type = CW_CFG_STRING,
     .default_value = "carewatch-payment-scheduler",
     .help = "Kafka transactional.id: one running instance per id; a new one fences the old"},
    {.key = "stream.group_id", .type = CW_CFG_STRING,
     .default_value = "carewatch-payment-scheduler",
     .help = "consumer group whose offsets each transaction commits (for lag monitoring)"},
    {.key = "stream.allowed_lateness_minutes", .type = CW_CFG_DOUBLE, .default_value = "60",
     .min = 0, .max = 10080,
     .help = "partition watermark = smallest partition clock (largest finalized_at read in "
             "it), minus this; the watermark is that, capped by the ledger's promise when "
             "stream.wait_for_ledger is on"},
    {.key = "stream.quiet_partition_ms", .type = CW_CFG_INT, .default_value = "2000", .min = 0,
     .max = 600000,
     .help = "a partition of orders.finalized without records this long, and read to the end "
             "the broker reports, follows the other partitions' clock, so statements come due "
             "though it is idle"},
    {.key = "stream.wait_for_ledger", .type = CW_CFG_BOOL, .default_value = "true",
     .help = "also cap the watermark by the largest finalized_through of the ledger.checkpoints "
             "whose entries have all been read on orders.finalized, so that no order still to "
             "come from the ledger is made late; false only for an orders.finalized written "
             "without a ledger"},
    {.key = "stream.batch_max", .type = CW_CFG_INT, .default_value = "500", .min = 1,
     .max = 100000, .help = "records consumed per transaction at most"},
    {.key = "stream.batch_wait_ms", .type = CW_CFG_INT, .default_value = "100", .min = 1,
     .max = 60000, .help = "how long a transaction waits for more records"},
    {.key = "rules.under_served", .type = CW_CFG_BOOL, .default_value = "true",
     .help = "judge UNDER_SERVED per elder and month (CheckResult on visit.checks)"},
    {.key = "rules.under_served_lag_days", .type = CW_CFG_INT, .default_value = "3", .min = 0,
     .max = 31,
     .help = "a month is judged at 00:00 UTC+8 of the next month's first day plus this many "
             "days, with the orders finalized before then"},
    {.key = "report.dir", .type = CW_CFG_STRING, .default_value = "reports",
     .help = "where --run writes its report files when --out is not given"},
    {.key = NULL},
};

void pay_settings_load(const cw_config *cfg, pay_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->transactional_id = cw_config_str(cfg, "stream.transactional_id");
    s->group_id = cw_config_str(cfg, "stream.group_id");
    s->report_dir = cw_config_str(cfg, "report.dir");
    s->live = strcmp(cw_config_str(cfg, "time.mode"), "live") == 0;
    s->utc_offset_minutes = (int)cw_config_int(cfg, "time.utc_offset_minutes");
    s->lateness_ms =
        (int64_t)(cw_config_double(cfg, "stream.allowed_lateness_minutes") * 60000.0 + 0.5);
    s->quiet_ms = cw_config_int(cfg, "stream.quiet_partition_ms");
    s->wait_for_ledger = cw_config_bool(cfg, "stream.wait_for_ledger");
    s->batch_max = (int)cw_config_int(cfg, "stream.batch_max");
    s->batch_wait_ms = (int)cw_config_int(cfg, "stream.batch_wait_ms");
    s->under_served = cw_config_bool(cfg, "rules.under_served");
    s->under_served_lag_days = (int)cw_config_int(cfg, "rules.under_served_lag_days");
}
