/* carewatch-overlap-detector: the overlap rules, the elder's availability
 * and caregiver freezes over visit.events (overlap_detector.h says what it
 * judges and which file does what). This file is the wiring: its
 * configuration, its context and the dispatch by record type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "log.h"
#include "overlap-detector/overlap_detector.h"
#include "topics.h"

static const cw_cfg_spec overlap_config_spec[] = {
    {.key = "rules.open_visit_minutes", .type = CW_CFG_INT, .default_value = "240", .min = 1,
     .max = 10080, .help = "a visit without check-out counts as open this long"},
    {.key = "rules.certified_service_types", .type = CW_CFG_LIST,
     .default_value = "bathing,health_check,medication,nursing,rehabilitation",
     .help = "service types only a certified caregiver may be assigned (UNCERTIFIED)"},
    {.key = NULL},
};

static void *overlap_context_new(cw_checker *ck)
{
    overlap_ctx *o = calloc(1, sizeof(*o));
    if (o == NULL) {
        cw_log_error("out of memory for the context", NULL);
        return NULL;
    }
    o->ck = ck;
    o->open_max_ms = cw_config_int(ck->cfg, "rules.open_visit_minutes") * 60000;
    o->certified_types =
        cw_config_list(ck->cfg, "rules.certified_service_types", &o->certified_type_count);
    return o;
}

static void overlap_context_free(void *ctx)
{
    free(ctx);
}

static cw_result overlap_handle(void *ctx, const cw_stream_msg *msg, cw_outbox *out,
                                char *reason, size_t len)
{
    const char *name = msg->schema->name;
    if (strcmp(name, "OrderAssigned") == 0)
        return overlap_handle_assignment(ctx, msg, out, reason, len);
    if (strcmp(name, "VisitEvent") == 0)
        return overlap_handle_visit(ctx, msg, out, reason, len);
    if (strcmp(name, "CaregiverStatusChanged") == 0 &&
        strcmp(msg->topic, CW_TOPIC_VISIT_EVENTS) == 0)
        return overlap_handle_unfreeze(ctx, msg, out, reason, len);
    if (strcmp(name, "Evidence") == 0)
        return CW_OK;
    snprintf(reason, len, "unexpected %s record on %s", name, msg->topic);
    return CW_REJECT;
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {CW_TOPIC_VISIT_EVENTS, NULL};
    static const char *const bootstrap[] = {CW_TOPIC_ORDERS_ASSIGNED, CW_TOPIC_ELDER_STATUS, NULL};
    static const cw_cfg_spec *const specs[] = {overlap_config_spec, NULL};
    const cw_checker_def def = {.name = OVERLAP_SERVICE,
                                .topics = topics,
                                .bootstrap_topics = bootstrap,
                                .specs = specs,
                                .context_new = overlap_context_new,
                                .context_free = overlap_context_free,
                                .handle = overlap_handle,
                                .on_timer = overlap_on_timer};
    return cw_checker_main(&def, argc, argv);
}
