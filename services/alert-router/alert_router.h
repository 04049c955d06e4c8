/* The alert-router: every non-PASS CheckResult on visit.checks, and every
 * caregiver freeze on caregiver.status, becomes one Alert routed to the
 * street, alerts.all and, for red, the district command.
 *
 * Who does what:
 *   main.c                the configuration keys, the checker definition and
 *                         its stream hooks (tick, after_produce); wiring only
 *   alert_router.c        the context: configuration read into the routing
 *                         table and the dedup settings, the metrics
 *   alert_handlers.c      one input message: decode (the generated readers)
 *                         -> dedup.h -> routing.h -> the store -> the
 *                         records; the tick (the state looked for) and the
 *                         acknowledgement of a batch's alerts
 *   alert_router_store.c  every Redis read and write (its key families are
 *                         listed in alert_router_store.h)
 *   alert_records.c       the Alert record: built from a finding, the order
 *                         and the elder, with the texts of messages.c
 *   dedup.c, routing.c,   the rules, pure: one alert per (order, rule) and
 *   messages.c            the suppression window; the targets of a colour
 *                         and a rule; the Chinese and English texts
 *
 * Alerts are keyed by order_id, so one order's alerts stay in order on
 * every topic. An alert's claim is written before the alert goes into the
 * outbox and marked delivered once the broker acknowledged it
 * (alert_after_produce): a crash in between produces it again under the
 * same id (dedup.h, RETRY).
 *
 * Ownership: alert_router_new allocates the context (the topic maker, the
 * list of pending alerts); alert_router_free releases all of it. Strings of
 * a finding are borrowed from the message being handled. One instance per
 * consumer group member, one thread. */
#ifndef ALERT_ROUTER_H
#define ALERT_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "alert-router/alert_router_store.h"
#include "alert-router/dedup.h"
#include "alert-router/routing.h"
#include "checker.h"
#include "metrics.h"
#include "topic_maker.h"

#define ALERT_SERVICE "alert-router"

/* An alert in the outbox, waiting for the broker's acknowledgement. */
typedef struct {
    char claim_key[ALERT_CLAIM_KEY_MAX];
    char position[ALERT_POSITION_MAX];
    char rule[ALERT_RULE_MAX];
    cw_colour colour;
    double received; /* cw_metrics_now() when its message was handled */
    int64_t at;
} alert_pending;

typedef struct {
    cw_checker *ck;
    alert_routing routing;
    cw_topic_maker *topics;        /* alerts.street.<id> and the like, made on first use */
    int64_t window_ms;             /* dedup.window_minutes */
    int window_colours[CW_COLOUR_COUNT]; /* dedup.window_colours */
    int64_t ttl_seconds;           /* dedup.claim_ttl_days */
    int frozen_alerts;             /* alerts.caregiver_frozen */
    int utc_offset_minutes;
    double epoch_checked; /* cw_metrics_now() of the last look; 0 = look at once */
    alert_pending *pending;
    size_t pending_count, pending_capacity;
    cw_counter *alerts;              /* {colour, rule}: acknowledged alerts */
    cw_counter *decisions;           /* {rule, decision} */
    cw_counter *statuses;            /* {status} */
    cw_counter *unroutable;          /* {rule} */
    cw_counter *topics_made;         /* topics created */
    cw_histogram *routing_seconds;   /* {colour} */
    cw_histogram *event_age_seconds; /* {colour} */
} alert_router;

/* alert_router.c: the checker's context_new and context_free. NULL (the
 * reason logged) when the configuration is refused or memory runs out. */
void *alert_router_new(cw_checker *ck);
void alert_router_free(void *ctx);

/* alert_handlers.c */
/* The checker's handler: one CheckResult or CaregiverStatusChanged.
 * CW_OK (an alert in out, or nothing to alert), CW_REJECT with the reason,
 * or CW_RETRY (Redis, a topic not made yet, the state being rebuilt). */
cw_result alert_handle(void *ctx, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                       size_t reason_len);
/* The stream's tick (after each batch and while idle): the state is looked
 * for, and rebuilt, before a message needs it. CW_OK or CW_RETRY. */
cw_result alert_tick(alert_router *r);
/* The stream's after_produce: the batch's alerts are acknowledged, their
 * claims become delivered, and they are counted and timed. */
void alert_acknowledged(alert_router *r);

#endif
