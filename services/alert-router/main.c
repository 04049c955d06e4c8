/* carewatch-alert-router: every non-PASS CheckResult on visit.checks, and
 * every caregiver freeze on caregiver.status, becomes one Alert, enriched
 * from Redis (the order's elder, street, community, provider and schedule)
 * and routed to alerts.street.<street_id>, alerts.all and, for red,
 * alerts.command (routing.h); one alert per (order, rule) (dedup.h,
 * claims.h). Alerts are keyed by order_id, so one order's alerts stay in
 * order on every topic.
 *
 * Redis state of its own: cw:alert:claim:*, cw:alert:last:*, cw:alert:epoch
 * (claims.h). Reads ingest's cw:order:* and cw:elder:*. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "topic_maker.h"
#include "avro_codec.h"
#include "checker.h"
#include "claims.h"
#include "dedup.h"
#include "log.h"
#include "messages.h"
#include "metrics.h"
#include "routing.h"
#include "state.h"
#include "timeutil.h"
#include "topics.h"

#define SERVICE "alert-router"
/* Attempts (the stream pauses 0.5 s between them) to make or find a topic
 * before the alert goes to its other targets and the miss is dead-lettered. */
#define TOPIC_ATTEMPTS 20
/* How often the state is looked for while messages flow. */
#define EPOCH_CHECK_SECONDS 1.0

static const cw_cfg_spec router_config_spec[] = {
    {.key = "routing.yellow", .type = CW_CFG_LIST,
     .default_value = "alerts.street.{street_id},alerts.all",
     .help = "topics of yellow alerts; {street_id}, {community_id} and {provider_id} are "
             "replaced; must keep alerts.street.{street_id} and alerts.all"},
    {.key = "routing.orange", .type = CW_CFG_LIST,
     .default_value = "alerts.street.{street_id},alerts.all",
     .help = "topics of orange alerts (same form)"},
    {.key = "routing.red", .type = CW_CFG_LIST,
     .default_value = "alerts.street.{street_id},alerts.command,alerts.all",
     .help = "topics of red alerts (same form; must also keep alerts.command)"},
    {.key = "routing.rule_targets", .type = CW_CFG_LIST,
     .help = "extra topics for one rule's alerts, RULE=topic each (FACE_MISMATCH=alerts.command)"},
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
     .help = "a red CAREGIVER_FROZEN alert for every freeze on caregiver.status"},
    {.key = NULL},
};

/* An alert in the outbox, waiting for the broker's acknowledgement. */
typedef struct {
    char claim_key[ALERT_CLAIM_KEY_MAX];
    char position[ALERT_POSITION_MAX];
    char rule[ALERT_RULE_MAX];
    alert_colour colour;
    double received; /* cw_metrics_now() when its message was handled */
    int64_t at;
} pending_alert;

typedef struct {
    cw_checker *ck;
    alert_routing routing;
    cw_topic_maker *topics;
    int64_t window_ms;
    int window_colours[ALERT_COLOURS];
    int64_t ttl_seconds;
    int frozen_alerts;
    int utc_offset_minutes;
    double epoch_checked; /* cw_metrics_now() of the last look; 0 = never */
    pending_alert *pending;
    size_t pending_count, pending_capacity;
    cw_counter *alerts;       /* {colour, rule}: acknowledged alerts */
    cw_counter *decisions;    /* {rule, decision} */
    cw_counter *statuses;     /* {status} */
    cw_counter *unroutable;   /* {reason} */
    cw_counter *topics_made;  /* topics created */
    cw_histogram *routing_seconds; /* {colour} */
    cw_histogram *event_age_seconds; /* {colour} */
} router_ctx;

/* What a message found, before it is an alert. Strings borrowed. */
typedef struct {
    const char *order_id;
    const char *rule;
    const char *caregiver_id;
    alert_colour colour;
    int has_measured;
    double measured;
    int has_threshold;
    double threshold;
    const char *unit;
    const char *reason; /* the freeze's reason, CAREGIVER_FROZEN only */
    int64_t at;
    double received; /* cw_metrics_now() when the handler got the message */
} finding;

static const double routing_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,    2.5,   5,    10,  30};
static const double age_buckets[] = {1, 5, 15, 60, 300, 900, 3600, 21600, 86400, 604800};

/* ---- state after a Redis loss -------------------------------------------- */

/* Rebuilds what a Redis loss took (reference data, orders, claims) before
 * anything is routed, when the epoch key is missing. Looked at once a
 * second, and at once after state_lost(). 0, or -1 to retry. */
static int ensure_state(router_ctx *r)
{
    double now = cw_metrics_now();
    if (r->epoch_checked > 0 && now - r->epoch_checked < EPOCH_CHECK_SECONDS)
        return 0;
    int present = alert_claims_epoch(r->ck->redis);
    if (present < 0)
        return -1;
    if (present == 0) {
        static const char *const reference[] = {CW_TOPIC_ELDERS, CW_TOPIC_CAREGIVERS, CW_TOPIC_ORDERS_ASSIGNED,
                                                NULL};
        char err[256], nref[24], nalerts[24];
        cw_log_warn("no alert state in Redis: rebuilding reference data, orders and claims "
                    "from Kafka", NULL);
        long stored = cw_state_bootstrap(r->ck->cfg, r->ck->redis, reference, err, sizeof(err));
        long alerts = stored < 0 ? -1
                                 : alert_claims_rebuild(r->ck->cfg, r->ck->redis, r->ttl_seconds,
                                                        r->window_colours, err, sizeof(err));
        if (alerts < 0) {
            cw_log_error("cannot rebuild the alert state", "error", err, NULL);
            return -1;
        }
        if (alert_claims_set_epoch(r->ck->redis) != 0)
            return -1;
        snprintf(nref, sizeof(nref), "%ld", stored);
        snprintf(nalerts, sizeof(nalerts), "%ld", alerts);
        cw_log_info("alert state rebuilt", "reference_records", nref, "alerts", nalerts, NULL);
    }
    r->epoch_checked = now;
    return 0;
}

/* A claim could not be written for want of the epoch key, or an order is
 * unknown: Redis may have just lost its data. CW_RETRY when it did (the
 * next attempt rebuilds first) or cannot be asked, CW_REJECT when the state
 * is there (the order is really unknown). */
static int state_lost(router_ctx *r)
{
    int present = alert_claims_epoch(r->ck->redis);
    if (present == 1)
        return CW_REJECT;
    r->epoch_checked = 0;
    return CW_RETRY;
}

/* ---- producing ------------------------------------------------------------- */

static int remember_pending(router_ctx *r, const char *claim_key, const char *position,
                            const finding *f)
{
    if (r->pending_count == r->pending_capacity) {
        size_t cap = r->pending_capacity ? r->pending_capacity * 2 : 64;
        pending_alert *grown = realloc(r->pending, cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        r->pending = grown;
        r->pending_capacity = cap;
    }
    pending_alert *p = &r->pending[r->pending_count++];
    snprintf(p->claim_key, sizeof(p->claim_key), "%s", claim_key);
    snprintf(p->position, sizeof(p->position), "%s", position);
    snprintf(p->rule, sizeof(p->rule), "%s", f->rule);
    p->colour = f->colour;
    p->received = f->received;
    p->at = f->at;
    return 0;
}

/* The original message again, for a dead letter (the handler has only the
 * decoded value; Avro's binary encoding of it is the same bytes). */
static int dead_letter(const cw_stream_msg *msg, cw_outbox *out, const char *reason)
{
    uint8_t *payload = NULL;
    size_t len = 0;
    char err[200];
    if (cw_avro_encode(msg->value, msg->schema, &payload, &len, err, sizeof(err)) != 0)
        return -1;
    int rc = cw_stream_dead_letter(out, SERVICE, msg->topic, msg->partition, msg->offset,
                                   msg->key, strlen(msg->key), payload, len, reason,
                                   cw_now_ms());
    free(payload);
    return rc;
}

/* Makes sure every target exists; a target that cannot be had after
 * TOPIC_ATTEMPTS (or was given up on in the last minute) moves to the
 * unroutable ones. 0, or CW_RETRY. */
static int ensure_topics(router_ctx *r, const cw_stream_msg *msg, alert_targets *t,
                         char reasons[][ALERT_TOPIC_MAX + 200])
{
    size_t kept = 0;
    for (size_t i = 0; i < t->count; i++) {
        char err[256] = "given up on for a minute after failing";
        int created = 0;
        int failing = cw_topic_maker_given_up(r->topics, t->topics[i]);
        if (!failing &&
            cw_topic_maker_ensure(r->topics, t->topics[i], &created, err, sizeof(err)) == 0) {
            if (created) {
                cw_counter_add(r->topics_made, NULL, 1);
                cw_log_info("alert topic created", "topic", t->topics[i], NULL);
            }
            if (kept != i)
                memcpy(t->topics[kept], t->topics[i], ALERT_TOPIC_MAX);
            kept++;
            continue;
        }
        if (!failing) {
            cw_log_warn("alert topic unavailable", "topic", t->topics[i], "error", err, NULL);
            if (msg->attempt + 1 < TOPIC_ATTEMPTS)
                return CW_RETRY;
            cw_topic_maker_give_up(r->topics, t->topics[i]);
        }
        if (t->unroutable_count < ALERT_MAX_TARGETS) {
            snprintf(reasons[t->unroutable_count], ALERT_TOPIC_MAX + 200, "%s", err);
            memcpy(t->unroutable[t->unroutable_count++], t->topics[i], ALERT_TOPIC_MAX);
        }
    }
    t->count = kept;
    return 0;
}

/* Builds the alert and adds it to the outbox, once per target. */
static int add_alert(router_ctx *r, const finding *f, const char *alert_id,
                     const cw_order_state *order, const cw_elder_state *elder,
                     const alert_targets *t, cw_outbox *out)
{
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX], err[256];
    alert_message_input mi = {.rule = f->rule,
                              .caregiver_id = f->caregiver_id,
                              .order_id = f->order_id,
                              .elder_id = order->elder_id,
                              .has_measured = f->has_measured,
                              .measured = f->measured,
                              .has_threshold = f->has_threshold,
                              .threshold = f->threshold,
                              .unit = f->unit,
                              .scheduled_start = order->scheduled_start,
                              .scheduled_minutes = order->scheduled_minutes,
                              .utc_offset_minutes = r->utc_offset_minutes,
                              .reason = f->reason};
    if (alert_messages(&mi, zh, sizeof(zh), en, sizeof(en)) != 0)
        return -1;
    alert_record a = {.alert_id = alert_id,
                      .order_id = f->order_id,
                      .rule = f->rule,
                      .colour = f->colour,
                      .street_id = elder->street_id,
                      .community_id = elder->community_id,
                      .provider_id = order->provider_id,
                      .caregiver_id = f->caregiver_id,
                      .elder_id = order->elder_id,
                      .has_schedule = order->scheduled_start != 0,
                      .scheduled_start = order->scheduled_start,
                      .scheduled_minutes = order->scheduled_minutes,
                      .has_measured = f->has_measured,
                      .measured = f->measured,
                      .has_threshold = f->has_threshold,
                      .threshold = f->threshold,
                      .at = f->at,
                      .raised_at = cw_now_ms(),
                      .message_zh = zh,
                      .message_en = en};
    uint8_t *value = NULL;
    size_t len = 0;
    if (alert_encode(&a, &value, &len, err, sizeof(err)) != 0) {
        cw_log_error("cannot encode an alert", "alert_id", alert_id, "error", err, NULL);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < t->count && rc == 0; i++) {
        uint8_t *copy = malloc(len);
        if (copy == NULL) {
            rc = -1;
            break;
        }
        memcpy(copy, value, len);
        rc = cw_outbox_add_owned(out, t->topics[i], f->order_id, copy, len);
    }
    free(value);
    return rc;
}

/* An alert deduplication let through: enriched, routed, claimed, then added
 * to the outbox. */
static int produce_alert(router_ctx *r, const cw_stream_msg *msg, const finding *f,
                         const alert_dedup_decision *d, const char *alert_id,
                         const char *claim_key, const char *lkey, const char *position,
                         cw_outbox *out, char *reason, size_t reason_len)
{
    cw_order_state order;
    cw_elder_state elder;
    int found;
    if (strcmp(f->rule, "UNDER_SERVED") == 0) {
        /* About an elder's month, "<elder_id>:<YYYY-MM>": no order, no
         * caregiver, no provider; routed by the elder's street. */
        memset(&order, 0, sizeof(order));
        const char *colon = strrchr(f->order_id, ':');
        size_t n = colon ? (size_t)(colon - f->order_id) : 0;
        if (n == 0 || n >= sizeof(order.elder_id)) {
            snprintf(reason, reason_len, "UNDER_SERVED subject %s is not <elder>:<month>",
                     f->order_id);
            return CW_REJECT;
        }
        memcpy(order.elder_id, f->order_id, n);
        order.elder_id[n] = '\0';
    } else {
        found = cw_state_load_order(r->ck->redis, f->order_id, &order);
        if (found < 0)
            return CW_RETRY;
        if (found == 0) {
            snprintf(reason, reason_len, "unknown order %s", f->order_id);
            return state_lost(r);
        }
    }
    found = cw_state_load_elder(r->ck->redis, order.elder_id, &elder);
    if (found < 0)
        return CW_RETRY;
    if (found == 0 || elder.street_id[0] == '\0') {
        snprintf(reason, reason_len, "unknown elder %s of order %s", order.elder_id, f->order_id);
        return state_lost(r);
    }

    alert_targets targets;
    char why[ALERT_MAX_TARGETS][ALERT_TOPIC_MAX + 200];
    alert_place place = {elder.street_id, elder.community_id, order.provider_id};
    alert_route(&r->routing, f->rule, f->colour, &place, &targets);
    for (size_t i = 0; i < targets.unroutable_count; i++)
        snprintf(why[i], sizeof(why[i]), "not a valid topic name");
    if (ensure_topics(r, msg, &targets, why) != 0)
        return CW_RETRY;

    if (d->write_claim) {
        int stored = alert_claims_store(r->ck->redis, claim_key, lkey, d, r->ttl_seconds);
        if (stored == -2)
            r->epoch_checked = 0;
        if (stored != 1)
            return CW_RETRY;
    }
    if (add_alert(r, f, alert_id, &order, &elder, &targets, out) != 0)
        return CW_RETRY;
    for (size_t i = 0; i < targets.unroutable_count; i++) {
        char text[ALERT_TOPIC_MAX * 2 + 300];
        snprintf(text, sizeof(text), "alert %s not delivered to %.249s: %.300s", alert_id,
                 targets.unroutable[i], why[i]);
        cw_counter_add(r->unroutable, CW_LABELS(f->rule), 1);
        if (dead_letter(msg, out, text) != 0)
            return CW_RETRY;
    }
    if (remember_pending(r, claim_key, position, f) != 0)
        return CW_RETRY;
    cw_counter_add(r->decisions, CW_LABELS(f->rule, alert_dedup_action_name(d->action)), 1);
    char ntargets[8];
    snprintf(ntargets, sizeof(ntargets), "%zu", targets.count);
    cw_log_info("alert", "alert_id", alert_id, "colour", alert_colour_name(f->colour), "street_id",
                elder.street_id, "topics", ntargets, "decision",
                alert_dedup_action_name(d->action), NULL);
    return CW_OK;
}

/* The deduplication of one flagged check or freeze (dedup.h). */
static int raise_alert(router_ctx *r, const cw_stream_msg *msg, const finding *f, cw_outbox *out,
                       char *reason, size_t reason_len)
{
    char alert_id[ALERT_ID_MAX], claim_key[ALERT_CLAIM_KEY_MAX], last_key[ALERT_CLAIM_KEY_MAX],
        position[ALERT_POSITION_MAX];
    if (strlen(f->rule) >= ALERT_RULE_MAX ||
        alert_id_format(alert_id, sizeof(alert_id), f->order_id, f->rule) != 0 ||
        alert_claim_key(claim_key, sizeof(claim_key), f->order_id, f->rule) != 0 ||
        alert_last_key(last_key, sizeof(last_key), f->caregiver_id, f->rule) != 0 ||
        alert_position_format(position, sizeof(position), msg->topic, msg->partition,
                              msg->offset) != 0) {
        snprintf(reason, reason_len, "ids too long for an alert (rule %.80s)", f->rule);
        return CW_REJECT;
    }
    int64_t window = r->window_colours[f->colour] ? r->window_ms : 0;
    const char *lkey = window > 0 ? last_key : NULL;
    alert_dedup_input in = {.position = position, .order_id = f->order_id, .at = f->at,
                            .window_ms = window};
    if (alert_claims_load(r->ck->redis, claim_key, lkey, &in) != 0)
        return CW_RETRY;
    alert_dedup_decision d;
    alert_dedup_decide(&in, &d);
    if (d.produce)
        return produce_alert(r, msg, f, &d, alert_id, claim_key, lkey, position, out, reason,
                             reason_len);
    if (d.write_claim) {
        int stored = alert_claims_store(r->ck->redis, claim_key, lkey, &d, r->ttl_seconds);
        if (stored == -2)
            r->epoch_checked = 0;
        if (stored != 1)
            return CW_RETRY; /* Redis error or loss, or claimed meanwhile: decide again */
    }
    cw_counter_add(r->decisions, CW_LABELS(f->rule, alert_dedup_action_name(d.action)), 1);
    return CW_OK;
}

/* ---- the two inputs -------------------------------------------------------- */

static int handle_check(router_ctx *r, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                        size_t len)
{
    finding f = {0};
    const char *outcome;
    avro_value_t *v = msg->value;
    if (cw_av_get_str(v, "order_id", &f.order_id) ||
        cw_av_get_str(v, "caregiver_id", &f.caregiver_id) || cw_av_get_str(v, "rule", &f.rule) ||
        cw_av_get_enum(v, "outcome", &outcome) ||
        cw_av_get_opt_double(v, "measured", &f.has_measured, &f.measured) ||
        cw_av_get_opt_double(v, "threshold", &f.has_threshold, &f.threshold) ||
        cw_av_get_str(v, "unit", &f.unit) || cw_av_get_long(v, "at", &f.at)) {
        snprintf(reason, len, "CheckResult lacks a field");
        return CW_REJECT;
    }
    if (strcmp(outcome, "PASS") == 0)
        return CW_OK;
    if (alert_colour_parse(outcome, &f.colour) != 0) {
        snprintf(reason, len, "unknown outcome %s", outcome);
        return CW_REJECT;
    }
    f.received = cw_metrics_now();
    return raise_alert(r, msg, &f, out, reason, len);
}

static int handle_status(router_ctx *r, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                         size_t len)
{
    finding f = {0};
    const char *status;
    avro_value_t *v = msg->value;
    if (cw_av_get_str(v, "caregiver_id", &f.caregiver_id) ||
        cw_av_get_enum(v, "status", &status) || cw_av_get_str(v, "reason", &f.reason) ||
        cw_av_get_opt_str(v, "order_id", &f.order_id) || cw_av_get_long(v, "at", &f.at)) {
        snprintf(reason, len, "CaregiverStatusChanged lacks a field");
        return CW_REJECT;
    }
    if (msg->attempt == 0)
        cw_counter_add(r->statuses, CW_LABELS(status), 1);
    if (strcmp(status, "FROZEN") != 0 || !r->frozen_alerts)
        return CW_OK;
    if (f.order_id == NULL) {
        snprintf(reason, len, "freeze of %s names no order: no street to alert", f.caregiver_id);
        return CW_REJECT;
    }
    f.rule = ALERT_RULE_CAREGIVER_FROZEN;
    f.colour = ALERT_RED;
    f.unit = "";
    f.received = cw_metrics_now();
    return raise_alert(r, msg, &f, out, reason, len);
}

static int router_handle(void *user_data, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                         size_t len)
{
    router_ctx *r = user_data;
    if (ensure_state(r) != 0)
        return CW_RETRY;
    const char *name = msg->schema->name;
    if (strcmp(name, "CheckResult") == 0)
        return handle_check(r, msg, out, reason, len);
    if (strcmp(name, "CaregiverStatusChanged") == 0)
        return handle_status(r, msg, out, reason, len);
    snprintf(reason, len, "unexpected %s record on %s", name, msg->topic);
    return CW_REJECT;
}

/* Called after each batch and while idle: the state is looked for (and
 * rebuilt) before the first message needs it, not while it waits. */
static int router_tick(void *user_data, cw_outbox *out)
{
    (void)out;
    return ensure_state(user_data) == 0 ? CW_OK : CW_RETRY;
}

/* The batch's alerts are acknowledged: their claims become delivered, and
 * they are counted and timed. */
static void router_after_produce(void *user_data)
{
    router_ctx *r = user_data;
    if (r->pending_count == 0)
        return;
    const char **keys = calloc(r->pending_count, sizeof(*keys));
    const char **positions = calloc(r->pending_count, sizeof(*positions));
    int64_t now = cw_now_ms();
    double mono = cw_metrics_now();
    for (size_t i = 0; i < r->pending_count; i++) {
        pending_alert *p = &r->pending[i];
        if (keys && positions) {
            keys[i] = p->claim_key;
            positions[i] = p->position;
        }
        const char *colour = alert_colour_name(p->colour);
        cw_counter_add(r->alerts, CW_LABELS(colour, p->rule), 1);
        cw_histogram_observe(r->routing_seconds, CW_LABELS(colour), mono - p->received);
        cw_histogram_observe(r->event_age_seconds, CW_LABELS(colour),
                             (double)(now - p->at) / 1000.0);
    }
    /* A claim left pending only means that a replay of its message from the
     * same offset would produce the alert once more, under the same id. */
    if (keys == NULL || positions == NULL ||
        alert_claims_mark_delivered(r->ck->redis, r->pending_count, keys, positions,
                                    r->ttl_seconds) != 0)
        cw_log_warn("could not mark delivered alerts in Redis", NULL);
    free(keys);
    free(positions);
    r->pending_count = 0;
}

/* ---- set-up ------------------------------------------------------------------- */

static int load_routing(router_ctx *r, const cw_config *cfg)
{
    static const char *const keys[ALERT_COLOURS] = {"routing.yellow", "routing.orange",
                                                    "routing.red"};
    char err[512];
    for (int c = 0; c < ALERT_COLOURS; c++) {
        size_t n = 0;
        const char *const *list = cw_config_list(cfg, keys[c], &n);
        if (alert_routing_set_colour(&r->routing, (alert_colour)c, list, n, err, sizeof(err))) {
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
        alert_colour c;
        if (alert_colour_parse(colours[i], &c) == 0)
            r->window_colours[c] = 1;
    }
    return 0;
}

static void register_metrics(router_ctx *r)
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

static void router_teardown(cw_checker *ck)
{
    router_ctx *r = ck->user_data;
    if (r == NULL)
        return;
    cw_topic_maker_free(r->topics);
    free(r->pending);
    free(r);
    ck->user_data = NULL;
}

static int router_setup(cw_checker *ck)
{
    router_ctx *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -1;
    r->ck = ck;
    ck->user_data = r;
    if (load_routing(r, ck->cfg) != 0) {
        router_teardown(ck); /* the framework calls teardown only after a setup that worked */
        return -1;
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
        router_teardown(ck);
        return -1;
    }
    register_metrics(r);
    ck->handlers.user_data = r;
    ck->handlers.handle = router_handle;
    ck->handlers.tick = router_tick;
    ck->handlers.after_produce = router_after_produce;
    /* No replay from the beginning after a Redis loss: routing keeps no
     * state that the input would rebuild. ensure_state rebuilds the
     * reference data and the claims instead, and routing goes on from the
     * committed offsets. */
    ck->handlers.redis = NULL;
    ck->handlers.rebuild = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {CW_TOPIC_VISIT_CHECKS, CW_TOPIC_CAREGIVER_STATUS, NULL};
    static const cw_cfg_spec *const specs[] = {router_config_spec, NULL};
    const cw_checker_def def = {.name = SERVICE,
                                .topics = topics,
                                .specs = specs,
                                .setup = router_setup,
                                .teardown = router_teardown};
    return cw_checker_main(&def, argc, argv);
}
