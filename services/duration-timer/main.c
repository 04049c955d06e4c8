/* carewatch-duration-timer's wiring: its config keys, its context and its
 * checker definition. What the service does and which file does it:
 * duration_timer.h. */
#include <stdlib.h>

#include "checker.h"
#include "duration-timer/duration_timer.h"
#include "log.h"
#include "topics.h"

static const cw_cfg_spec duration_config_spec[] = {
    {.key = "rules.no_show_grace_minutes", .type = CW_CFG_INT, .default_value = "30", .min = 0,
     .max = 1440, .help = "NO_SHOW without a check-in by scheduled start + this"},
    {.key = "rules.short_margin_minutes", .type = CW_CFG_INT, .default_value = "5", .min = 0,
     .max = 1440, .help = "SHORT_DURATION below the scheduled minutes minus this"},
    {.key = "rules.no_checkout_minutes", .type = CW_CFG_INT, .default_value = "240", .min = 1,
     .max = 10080, .help = "NO_CHECKOUT without a check-out by check-in + this"},
    {.key = "rules.evidence_window_hours", .type = CW_CFG_INT, .default_value = "72", .min = 1,
     .max = 8760, .help = "evidence deadline: check-out + this"},
    {.key = "rules.daily_visit_minutes_max", .type = CW_CFG_INT, .default_value = "600",
     .min = 1, .max = 1440,
     .help = "DAILY_HOURS_EXCEEDED above this many visit minutes of a caregiver in one service "
             "day"},
    {.key = NULL},
};

static void *duration_context_new(cw_checker *ck)
{
    duration_ctx *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        cw_log_error("out of memory for the context", NULL);
        return NULL;
    }
    d->ck = ck;
    duration_thresholds_default(&d->t);
    d->t.no_show_grace_ms = cw_config_int(ck->cfg, "rules.no_show_grace_minutes") * 60000;
    d->t.short_margin_ms = cw_config_int(ck->cfg, "rules.short_margin_minutes") * 60000;
    d->t.no_checkout_ms = cw_config_int(ck->cfg, "rules.no_checkout_minutes") * 60000;
    d->t.evidence_window_ms = cw_config_int(ck->cfg, "rules.evidence_window_hours") * 3600000;
    d->t.daily_visit_max_ms = cw_config_int(ck->cfg, "rules.daily_visit_minutes_max") * 60000;
    d->t.utc_offset_minutes = (int)cw_config_int(ck->cfg, "time.utc_offset_minutes");
    return d;
}

static void duration_context_free(void *ctx)
{
    free(ctx);
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {CW_TOPIC_ORDERS_ASSIGNED, CW_TOPIC_VISIT_EVENTS, NULL};
    static const char *const bootstrap[] = {CW_TOPIC_ORDERS_ASSIGNED, NULL};
    static const cw_cfg_spec *const specs[] = {duration_config_spec, NULL};
    const cw_checker_def def = {.name = DURATION_SERVICE,
                                .topics = topics,
                                .bootstrap_topics = bootstrap,
                                .specs = specs,
                                .context_new = duration_context_new,
                                .context_free = duration_context_free,
                                .handle = duration_handle,
                                .on_timer = duration_on_timer};
    return cw_checker_main(&def, argc, argv);
}
