/* carewatch-geo-validator's wiring: its config keys, its context and its
 * checker definition. What the service does and which file does it:
 * geo_validator.h. */
#include <stdlib.h>

#include "checker.h"
#include "geo-validator/geo_validator.h"
#include "log.h"
#include "topics.h"

static const cw_cfg_spec geo_config_spec[] = {
    {.key = "rules.geo_distance_m", .type = CW_CFG_DOUBLE, .default_value = "30", .min = 0,
     .max = 100000, .help = "GEO_DISTANCE when a fix is farther than this from the home"},
    {.key = "rules.dual_mismatch_m", .type = CW_CFG_DOUBLE, .default_value = "30", .min = 0,
     .max = 100000, .help = "GEO_DUAL_MISMATCH when GPS and BeiDou are farther apart"},
    {.key = "rules.travel_min_m", .type = CW_CFG_DOUBLE, .default_value = "1000", .min = 0,
     .max = 1e7, .help = "IMPOSSIBLE_TRAVEL needs more than this distance..."},
    {.key = "rules.travel_max_kmh", .type = CW_CFG_DOUBLE, .default_value = "80", .min = 0,
     .max = 100000, .help = "...covered faster than this speed"},
    {.key = "rules.gps_accuracy_max_m", .type = CW_CFG_DOUBLE, .default_value = "50", .min = 0,
     .max = 100000,
     .help = "GPS_INACCURATE when a fix reports a horizontal accuracy worse than this"},
    {.key = NULL},
};

static void *geo_context_new(cw_checker *ck)
{
    geo_ctx *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        cw_log_error("out of memory for the context", NULL);
        return NULL;
    }
    g->ck = ck;
    geo_thresholds_default(&g->thresholds);
    g->thresholds.distance_max_m = cw_config_double(ck->cfg, "rules.geo_distance_m");
    g->thresholds.dual_max_m = cw_config_double(ck->cfg, "rules.dual_mismatch_m");
    g->thresholds.travel_min_m = cw_config_double(ck->cfg, "rules.travel_min_m");
    g->thresholds.travel_max_kmh = cw_config_double(ck->cfg, "rules.travel_max_kmh");
    g->thresholds.accuracy_max_m = cw_config_double(ck->cfg, "rules.gps_accuracy_max_m");
    return g;
}

static void geo_context_free(void *ctx)
{
    free(ctx);
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {CW_TOPIC_ELDERS, CW_TOPIC_VISIT_EVENTS, NULL};
    static const char *const bootstrap[] = {CW_TOPIC_ELDERS, NULL};
    static const cw_cfg_spec *const specs[] = {geo_config_spec, NULL};
    const cw_checker_def def = {.name = GEO_SERVICE,
                                .topics = topics,
                                .bootstrap_topics = bootstrap,
                                .specs = specs,
                                .context_new = geo_context_new,
                                .context_free = geo_context_free,
                                .handle = geo_handle,
                                .on_timer = geo_on_timer};
    return cw_checker_main(&def, argc, argv);
}
