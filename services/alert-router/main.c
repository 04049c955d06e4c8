/* carewatch-alert-router: every non-PASS CheckResult on visit.checks, and
 * every caregiver freeze on caregiver.status, becomes one Alert, enriched
 * from Redis (the order's elder, street, community, provider and schedule)
 * and routed to alerts.street.<street_id>, alerts.all and, for red,
 * alerts.command (routing.h); one alert per (order, rule) (dedup.h).
 * alert_router.h says which file does what; alert_router_store.h lists the
 * Redis keys. */
#include "alert-router/alert_router.h"
#include "topics.h"

#define STREET_AND_ALL CW_TOPIC_ALERTS_STREET_TEMPLATE "," CW_TOPIC_ALERTS_ALL

static const cw_cfg_spec router_config_spec[] = {
    {.key = "routing.yellow", .type = CW_CFG_LIST, .default_value = STREET_AND_ALL,
     .help = "topics of yellow alerts; {street_id}, {community_id} and {provider_id} are "
             "replaced; must keep " CW_TOPIC_ALERTS_STREET_TEMPLATE " and " CW_TOPIC_ALERTS_ALL},
    {.key = "routing.orange", .type = CW_CFG_LIST, .default_value = STREET_AND_ALL,
     .help = "topics of orange alerts (same form)"},
    {.key = "routing.red", .type = CW_CFG_LIST,
     .default_value = CW_TOPIC_ALERTS_STREET_TEMPLATE "," CW_TOPIC_ALERTS_COMMAND
                      "," CW_TOPIC_ALERTS_ALL,
     .help = "topics of red alerts (same form; must also keep " CW_TOPIC_ALERTS_COMMAND ")"},
    {.key = "routing.rule_targets", .type = CW_CFG_LIST,
     .help = "extra topics for one rule's alerts, RULE=topic each "
             "(FACE_MISMATCH=" CW_TOPIC_ALERTS_COMMAND ")"},
    {.key = "routing.street_partitions", .type = CW_CFG_INT, .default_value = "3", .min = 1,
     .max = 10000, .help = "partitions of a topic the service creates on first use"},
    {.key = "routing.street_replication_factor", .type = CW_CFG_INT, .default_value = "-1",
     .min = -1, .max = 32, .help = "replication factor of such a topic; -1 = the broker's default"},
    {.key = "routing.topic_timeout_ms", .type = CW_CFG_INT, .default_value = "10000", .min = 100,
     .max = 300000, .help = "how long to wait for the broker to create a topic"},
    {.key = "dedup.window_minutes", .type = CW_CFG_DOUBLE, .default_value = "0", .min = 0,
     .max = 525600,
     .help = "suppress an alert when the same caregiver had one of the same rule on another "
             "order less than this far away in event time; 0 = off"},
    {.key = "dedup.window_colours", .type = CW_CFG_LIST, .default_value = "YELLOW,ORANGE",
     .choices = "YELLOW|ORANGE|RED", .help = "colours the suppression window applies to"},
    {.key = "dedup.claim_ttl_days", .type = CW_CFG_INT, .default_value = "35", .min = 1,
     .max = 3650,
     .help = "how long the one-alert-per-(order, rule) claims are kept; a check re-emitted "
             "later alerts again"},
    {.key = "alerts.caregiver_frozen", .type = CW_CFG_BOOL, .default_value = "true",
     .help = "a red CAREGIVER_FROZEN alert for every freeze on " CW_TOPIC_CAREGIVER_STATUS},
    {.key = NULL},
};

/* The stream's hooks get the checker; the context is its user_data. */
static int router_tick(void *checker, cw_outbox *out)
{
    (void)out;
    return alert_tick(((cw_checker *)checker)->user_data);
}

static void router_after_produce(void *checker)
{
    alert_acknowledged(((cw_checker *)checker)->user_data);
}

static int router_setup(cw_checker *ck)
{
    ck->handlers.tick = router_tick;
    ck->handlers.after_produce = router_after_produce;
    /* No replay from the beginning after a Redis loss: routing keeps no
     * state that the input would rebuild. The handler rebuilds the
     * reference data and the claims instead (alert_router_store.h), and
     * routing goes on from the committed offsets. */
    ck->handlers.redis = NULL;
    ck->handlers.rebuild = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {CW_TOPIC_VISIT_CHECKS, CW_TOPIC_CAREGIVER_STATUS, NULL};
    static const cw_cfg_spec *const specs[] = {router_config_spec, NULL};
    const cw_checker_def def = {.name = ALERT_SERVICE,
                                .topics = topics,
                                .specs = specs,
                                .context_new = alert_router_new,
                                .context_free = alert_router_free,
                                .handle = alert_handle,
                                .setup = router_setup};
    return cw_checker_main(&def, argc, argv);
}
