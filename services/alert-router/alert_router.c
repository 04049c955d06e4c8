/* The alert-router's context: its configuration read once, its metrics. */
#include "alert-router/alert_router.h"

#include <stdlib.h>

#include "log.h"

static const double routing_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,    2.5,   5,    10,  30};
static const double age_buckets[] = {1, 5, 15, 60, 300, 900, 3600, 21600, 86400, 604800};

/* routing.yellow, .orange, .red and .rule_targets into the table, which
 * must keep the contract's targets; dedup.window_colours. 0, or -1
 * (logged). */
static int load_routing(alert_router *r, const cw_config *cfg)
{
    static const char *const keys[CW_COLOUR_COUNT] = {"routing.yellow", "routing.orange",
                                                      "routing.red"};
    char err[512];
    for (int c = 0; c < CW_COLOUR_COUNT; c++) {
        size_t n = 0;
        const char *const *list = cw_config_list(cfg, keys[c], &n);
        if (alert_routing_set_colour(&r->routing, (cw_colour)c, list, n, err, sizeof(err))) {
            cw_log_error("bad routing", "setting", keys[c], "error", err, NULL);
            return -1;
        }
    }
    size_t n = 0;
    const char *const *extra = cw_config_list(cfg, "routing.rule_targets", &n);
    for (size_t i = 0; i < n; i++) {
        if (alert_routing_add_rule_target(&r->routing, extra[i], err, sizeof(err)) != 0) {
            cw_log_error("bad routing", "setting", "routing.rule_targets", "error", err, NULL);
            return -1;
        }
    }
    if (alert_routing_check_contract(&r->routing, err, sizeof(err)) != 0) {
        cw_log_error("bad routing", "error", err, NULL);
        return -1;
    }
    const char *const *colours = cw_config_list(cfg, "dedup.window_colours", &n);
    for (size_t i = 0; i < n; i++) {
        cw_colour c;
        if (cw_colour_parse(colours[i], &c) == 0)
            r->window_colours[c] = 1;
    }
    return 0;
}

static void register_metrics(alert_router *r)
{
    r->alerts = cw_metrics_counter("carewatch_alerts_total",
                                   "Alerts produced and acknowledged, by colour and rule.",
                                   "colour,rule");
    r->decisions = cw_metrics_counter(
        "carewatch_alert_decisions_total",
        "Flagged checks and freezes by what deduplication made of them: new, retry (produced "
        "again after a restart), window, delivered (read again), duplicate (re-emitted).",
        "rule,decision");
    r->statuses = cw_metrics_counter("carewatch_alert_caregiver_status_total",
                                     "CaregiverStatusChanged records read, by status.", "status");
    r->unroutable = cw_metrics_counter(
        "carewatch_alert_unroutable_total",
        "Alert targets that could not be delivered (dead-lettered), by rule.", "rule");
    r->topics_made = cw_metrics_counter("carewatch_alert_topics_created_total",
                                        "Alert topics created on first use.", NULL);
    r->routing_seconds = cw_metrics_histogram(
        "carewatch_alert_routing_seconds",
        "From the record's handling by the router to the broker's acknowledgement of its "
        "alert.",
        "colour", routing_buckets, sizeof(routing_buckets) / sizeof(routing_buckets[0]));
    r->event_age_seconds = cw_metrics_histogram(
        "carewatch_alert_event_age_seconds",
        "From the event time (at) of what was judged to the acknowledgement of its alert; "
        "meaningful in live mode only (a replay of history is hours or days old).",
        "colour", age_buckets, sizeof(age_buckets) / sizeof(age_buckets[0]));
}

void *alert_router_new(cw_checker *ck)
{
    alert_router *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        cw_log_error("out of memory", NULL);
        return NULL;
    }
    r->ck = ck;
    if (load_routing(r, ck->cfg) != 0) {
        free(r);
        return NULL;
    }
    r->window_ms = (int64_t)(cw_config_double(ck->cfg, "dedup.window_minutes") * 60000.0);
    r->ttl_seconds = cw_config_int(ck->cfg, "dedup.claim_ttl_days") * 86400;
    r->frozen_alerts = cw_config_bool(ck->cfg, "alerts.caregiver_frozen");
    r->utc_offset_minutes = (int)cw_config_int(ck->cfg, "time.utc_offset_minutes");
    r->topics = cw_topic_maker_new(cw_producer_handle(ck->producer),
                                   (int)cw_config_int(ck->cfg, "routing.street_partitions"),
                                   (int)cw_config_int(ck->cfg, "routing.street_replication_factor"),
                                   (int)cw_config_int(ck->cfg, "routing.topic_timeout_ms"));
    if (r->topics == NULL) {
        cw_log_error("cannot make the alert topic maker", NULL);
        free(r);
        return NULL;
    }
    register_metrics(r);
    return r;
}

void alert_router_free(void *ctx)
{
    alert_router *r = ctx;
    if (r == NULL)
        return;
    cw_topic_maker_free(r->topics);
    free(r->pending);
    free(r);
}
