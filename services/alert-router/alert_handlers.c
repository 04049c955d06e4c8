/* One input message of the alert-router: decode -> dedup -> route -> claim
 * -> the Alert records (alert_router.h says who does what). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert-router/alert_records.h"
#include "alert-router/alert_router.h"
#include "avro_codec.h"
#include "avro_fields.h"
#include "grow.h"
#include "log.h"
#include "timeutil.h"

/* Attempts (the stream pauses 0.5 s between them) to make or find a topic
 * before the alert goes to its other targets and the miss is dead-lettered. */
#define TOPIC_ATTEMPTS 20
/* How often the state is looked for while messages flow. */
#define EPOCH_CHECK_SECONDS 1.0
/* Why a target was not delivered: the topic's error. */
#define WHY_MAX (ALERT_TOPIC_MAX + 200)

/* ---- state after a Redis loss -------------------------------------------- */

/* Rebuilds what a Redis loss took (reference data, orders, claims) before
 * anything is routed, when the epoch key is missing. Looked at once a
 * second, and at once after state_lost(). 0, or -1 to retry. */
static int ensure_state(alert_router *r)
{
    double now = cw_metrics_now();
    if (r->epoch_checked > 0 && now - r->epoch_checked < EPOCH_CHECK_SECONDS)
        return 0;
    alert_epoch epoch = alert_store_epoch(r->ck->redis);
    if (epoch == ALERT_EPOCH_UNKNOWN)
        return -1;
    if (epoch == ALERT_EPOCH_MISSING) {
        char err[256], nref[24], nalerts[24];
        long stored, alerts;
        cw_log_warn("no alert state in Redis: rebuilding reference data, orders and claims "
                    "from Kafka", NULL);
        if (alert_store_rebuild(r->ck->cfg, r->ck->redis, r->ttl_seconds, r->window_colours,
                                &stored, &alerts, err, sizeof(err)) != 0) {
            cw_log_error("cannot rebuild the alert state", "error", err, NULL);
            return -1;
        }
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
static cw_result state_lost(alert_router *r)
{
    if (alert_store_epoch(r->ck->redis) == ALERT_EPOCH_PRESENT)
        return CW_REJECT;
    r->epoch_checked = 0;
    return CW_RETRY;
}

/* Writes d's claim. CW_OK, or CW_RETRY (Redis error or loss, or claimed
 * meanwhile: decide again). */
static cw_result claim(alert_router *r, const char *claim_key, const char *last_key,
                       const alert_dedup_decision *d)
{
    alert_claim_write w = alert_store_claim(r->ck->redis, claim_key, last_key, d, r->ttl_seconds);
    if (w == ALERT_CLAIM_NO_EPOCH)
        r->epoch_checked = 0;
    return w == ALERT_CLAIM_WRITTEN ? CW_OK : CW_RETRY;
}

/* ---- producing ------------------------------------------------------------- */

static int remember_pending(alert_router *r, const char *claim_key, const char *position,
                            const alert_finding *f)
{
    if (cw_grow((void **)&r->pending, &r->pending_capacity, r->pending_count,
                sizeof(*r->pending), 64) != 0)
        return -1;
    alert_pending *p = &r->pending[r->pending_count++];
    snprintf(p->claim_key, sizeof(p->claim_key), "%s", claim_key);
    snprintf(p->position, sizeof(p->position), "%s", position);
    snprintf(p->rule, sizeof(p->rule), "%s", f->alert.rule);
    p->colour = f->alert.colour;
    p->received = f->received;
    p->at = f->alert.at;
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
    int rc = cw_stream_dead_letter(out, ALERT_SERVICE, msg->topic, msg->partition, msg->offset,
                                   msg->key, strlen(msg->key), payload, len, reason,
                                   cw_now_ms());
    free(payload);
    return rc;
}

/* Makes sure every target exists; a target that cannot be had after
 * TOPIC_ATTEMPTS (or was given up on in the last minute) moves to the
 * unroutable ones, with why[] saying why. CW_OK or CW_RETRY. */
static cw_result ensure_topics(alert_router *r, const cw_stream_msg *msg, alert_targets *t,
                               char why[][WHY_MAX])
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
            snprintf(why[t->unroutable_count], WHY_MAX, "%s", err);
            memcpy(t->unroutable[t->unroutable_count++], t->topics[i], ALERT_TOPIC_MAX);
        }
    }
    t->count = kept;
    return CW_OK;
}

/* One flagged check or freeze on its way: its finding, ids and keys, what
 * the store read for it and what deduplication made of it. */
typedef struct {
    alert_finding f;
    char alert_id[ALERT_ID_MAX];
    char claim_key[ALERT_CLAIM_KEY_MAX], last_key[ALERT_CLAIM_KEY_MAX];
    char position[ALERT_POSITION_MAX];
    const char *lkey; /* last_key when the window applies, else NULL */
    alert_dedup_decision d;
    cw_order_state order;
    int order_found;
} alert_job;

/* An elder's month, "<elder_id>:<YYYY-MM>" (UNDER_SERVED, the payment
 * scheduler's): no order, no caregiver, no provider; routed by the
 * elder's street. */
static int about_a_month(const alert_finding *f)
{
    return strcmp(f->alert.rule, "UNDER_SERVED") == 0;
}

/* The order of j (read with its claim) or the elder of its month, then its
 * elder. CW_OK, CW_REJECT or CW_RETRY. */
static cw_result find_place(alert_router *r, alert_job *j, cw_elder_state *elder, char *reason,
                            size_t reason_len)
{
    const char *order_id = j->f.alert.order_id;
    if (about_a_month(&j->f)) {
        memset(&j->order, 0, sizeof(j->order));
        const char *colon = strrchr(order_id, ':');
        size_t n = colon ? (size_t)(colon - order_id) : 0;
        if (n == 0 || n >= sizeof(j->order.elder_id)) {
            snprintf(reason, reason_len, "UNDER_SERVED subject %s is not <elder>:<month>",
                     order_id);
            return CW_REJECT;
        }
        memcpy(j->order.elder_id, order_id, n);
        j->order.elder_id[n] = '\0';
    } else if (!j->order_found) {
        snprintf(reason, reason_len, "unknown order %s", order_id);
        return state_lost(r);
    }
    int found;
    if (alert_store_load_elder(r->ck->redis, j->order.elder_id, elder, &found) != 0)
        return CW_RETRY;
    if (!found || elder->street_id[0] == '\0') {
        snprintf(reason, reason_len, "unknown elder %s of order %s", j->order.elder_id,
                 order_id);
        return state_lost(r);
    }
    return CW_OK;
}

/* An alert deduplication let through: enriched, routed, claimed, then added
 * to the outbox; each target that cannot be had is dead-lettered. */
static cw_result produce_alert(alert_router *r, const cw_stream_msg *msg, alert_job *j,
                               cw_outbox *out, char *reason, size_t reason_len)
{
    const alert_finding *f = &j->f;
    cw_elder_state elder;
    cw_result rc = find_place(r, j, &elder, reason, reason_len);
    if (rc != CW_OK)
        return rc;
    alert_targets targets;
    char why[ALERT_MAX_TARGETS][WHY_MAX];
    alert_place place = {elder.street_id, elder.community_id, j->order.provider_id};
    alert_route(&r->routing, f->alert.rule, f->alert.colour, &place, &targets);
    for (size_t i = 0; i < targets.unroutable_count; i++)
        snprintf(why[i], sizeof(why[i]), "not a valid topic name");
    if (ensure_topics(r, msg, &targets, why) != CW_OK)
        return CW_RETRY;
    if (j->d.write_claim && claim(r, j->claim_key, j->lkey, &j->d) != CW_OK)
        return CW_RETRY;
    char err[256];
    if (alert_emit(out, f, &j->order, &elder, r->utc_offset_minutes, cw_now_ms(), &targets, err,
                   sizeof(err)) != 0) {
        cw_log_error("cannot build an alert", "alert_id", j->alert_id, "error", err, NULL);
        return CW_RETRY;
    }
    for (size_t i = 0; i < targets.unroutable_count; i++) {
        char text[ALERT_TOPIC_MAX * 2 + 300];
        snprintf(text, sizeof(text), "alert %s not delivered to %.249s: %.300s", j->alert_id,
                 targets.unroutable[i], why[i]);
        cw_counter_add(r->unroutable, CW_LABELS(f->alert.rule), 1);
        if (dead_letter(msg, out, text) != 0)
            return CW_RETRY;
    }
    if (remember_pending(r, j->claim_key, j->position, f) != 0)
        return CW_RETRY;
    char ntargets[8];
    snprintf(ntargets, sizeof(ntargets), "%zu", targets.count);
    cw_log_info("alert", "alert_id", j->alert_id, "colour", cw_colour_name(f->alert.colour),
                "street_id", elder.street_id, "topics", ntargets, "decision",
                alert_dedup_action_name(j->d.action), NULL);
    return CW_OK;
}

/* The deduplication of one flagged check or freeze (dedup.h). Its claim,
 * the window's last alert and its order are read in one round trip. */
static cw_result raise_alert(alert_router *r, const cw_stream_msg *msg, alert_job *j,
                             cw_outbox *out, char *reason, size_t reason_len)
{
    cw_alert *a = &j->f.alert;
    if (strlen(a->rule) >= ALERT_RULE_MAX ||
        alert_id_format(j->alert_id, sizeof(j->alert_id), a->order_id, a->rule) != 0 ||
        alert_claim_key(j->claim_key, sizeof(j->claim_key), a->order_id, a->rule) != 0 ||
        alert_last_key(j->last_key, sizeof(j->last_key), a->caregiver_id, a->rule) != 0 ||
        alert_position_format(j->position, sizeof(j->position), msg->topic, msg->partition,
                              msg->offset) != 0) {
        snprintf(reason, reason_len, "ids too long for an alert (rule %.80s)", a->rule);
        return CW_REJECT;
    }
    a->alert_id = j->alert_id;
    int64_t window = r->window_colours[a->colour] ? r->window_ms : 0;
    j->lkey = window > 0 ? j->last_key : NULL;
    alert_dedup_input in = {.position = j->position, .order_id = a->order_id, .at = a->at,
                            .window_ms = window};
    if (alert_store_load(r->ck->redis, j->claim_key, j->lkey,
                         about_a_month(&j->f) ? NULL : a->order_id, &in, &j->order,
                         &j->order_found) != 0)
        return CW_RETRY;
    alert_dedup_decide(&in, &j->d);
    cw_result rc = CW_OK;
    if (j->d.produce)
        rc = produce_alert(r, msg, j, out, reason, reason_len);
    else if (j->d.write_claim)
        rc = claim(r, j->claim_key, j->lkey, &j->d);
    if (rc == CW_OK)
        cw_counter_add(r->decisions, CW_LABELS(a->rule, alert_dedup_action_name(j->d.action)), 1);
    return rc;
}

/* ---- the two inputs -------------------------------------------------------- */

static cw_result lacks_a_field(const cw_stream_msg *msg, char *reason, size_t len)
{
    snprintf(reason, len, "%s lacks a field", msg->schema->name);
    return CW_REJECT;
}

/* What a CheckResult or a CaregiverStatusChanged says: CW_OK, with *raise
 * set and f filled when it is to be alerted (a flagged check, a freeze),
 * or CW_REJECT with the reason. f's strings borrow from msg->value. */
static cw_result find(alert_router *r, const cw_stream_msg *msg, alert_finding *f, int *raise,
                      char *reason, size_t len)
{
    const char *name = msg->schema->name;
    *raise = 0;
    if (strcmp(name, "CheckResult") == 0) {
        /* Nearly every verdict is a PASS: it is known from the outcome alone,
         * without reading the other twelve fields. */
        const char *outcome;
        if (cw_av_get_enum(msg->value, "outcome", &outcome) == 0 && strcmp(outcome, "PASS") == 0)
            return CW_OK;
        cw_check_result c;
        if (cw_check_result_read(msg->value, &c) != 0)
            return lacks_a_field(msg, reason, len);
        *raise = alert_finding_of_check(&c, cw_metrics_now(), f) == 0;
        cw_check_result_release(&c);
        return CW_OK;
    }
    if (strcmp(name, "CaregiverStatusChanged") != 0) {
        snprintf(reason, len, "unexpected %s record on %s", name, msg->topic);
        return CW_REJECT;
    }
    cw_caregiver_status_changed s;
    if (cw_caregiver_status_changed_read(msg->value, &s) != 0)
        return lacks_a_field(msg, reason, len);
    if (msg->attempt == 0)
        cw_counter_add(r->statuses, CW_LABELS(cw_caregiver_status_name(s.status)), 1);
    cw_result rc = CW_OK;
    if (s.status == CW_CAREGIVER_STATUS_FROZEN && r->frozen_alerts && s.order_id == NULL) {
        snprintf(reason, len, "freeze of %s names no order: no street to alert", s.caregiver_id);
        rc = CW_REJECT;
    } else if (s.status == CW_CAREGIVER_STATUS_FROZEN && r->frozen_alerts) {
        alert_finding_of_freeze(&s, cw_metrics_now(), f);
        *raise = 1;
    }
    cw_caregiver_status_changed_release(&s);
    return rc;
}

cw_result alert_handle(void *ctx, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                       size_t reason_len)
{
    alert_router *r = ctx;
    alert_job j = {0};
    int raise;
    if (ensure_state(r) != 0)
        return CW_RETRY;
    cw_result rc = find(r, msg, &j.f, &raise, reason, reason_len);
    return rc == CW_OK && raise ? raise_alert(r, msg, &j, out, reason, reason_len) : rc;
}

cw_result alert_tick(alert_router *r)
{
    return ensure_state(r) == 0 ? CW_OK : CW_RETRY;
}

void alert_acknowledged(alert_router *r)
{
    if (r->pending_count == 0)
        return;
    const char **keys = calloc(r->pending_count, sizeof(*keys));
    const char **positions = calloc(r->pending_count, sizeof(*positions));
    int64_t now = cw_now_ms();
    double mono = cw_metrics_now();
    for (size_t i = 0; i < r->pending_count; i++) {
        alert_pending *p = &r->pending[i];
        if (keys && positions) {
            keys[i] = p->claim_key;
            positions[i] = p->position;
        }
        const char *colour = cw_colour_name(p->colour);
        cw_counter_add(r->alerts, CW_LABELS(colour, p->rule), 1);
        cw_histogram_observe(r->routing_seconds, CW_LABELS(colour), mono - p->received);
        cw_histogram_observe(r->event_age_seconds, CW_LABELS(colour),
                             (double)(now - p->at) / 1000.0);
    }
    /* A claim left pending only means that a replay of its message from the
     * same offset would produce the alert once more, under the same id. */
    if (keys == NULL || positions == NULL ||
        alert_store_mark_delivered(r->ck->redis, r->pending_count, keys, positions,
                                   r->ttl_seconds) != 0)
        cw_log_warn("could not mark delivered alerts in Redis", NULL);
    free(keys);
    free(positions);
    r->pending_count = 0;
}
