/* Every Redis read and write of the alert-router. Its own keys, the dedup
 * state (dedup.h says what it means):
 *
 *   cw:alert:claim:<order_id>:<rule>     string  "<topic>:<partition>:<offset>|P|D|S"
 *   cw:alert:last:<caregiver_id>:<rule>  string  "<at>|<order_id>" (window only)
 *   cw:alert:epoch                       string  set once the state was rebuilt
 *
 * Claims and last alerts expire after dedup.claim_ttl_days. When the epoch
 * key is missing (first start, or Redis lost its data) the service rebuilds
 * the reference data, the orders and the claims before routing anything
 * (alert_store_rebuild): every alert on alerts.all becomes a delivered
 * claim (and the window's last alert), so the checks that the checkers
 * re-emit after a Redis loss do not alert twice. A claim is written only
 * while the epoch key exists, so nothing is claimed between a loss and the
 * rebuild.
 *
 * It reads ingest's cw:order:<order_id> and cw:elder:<elder_id>
 * (redis_keys.h, reference_store.h) and writes them only in the rebuild.
 * Functions return -1 when Redis is unreachable or answers an error. */
#ifndef ALERT_ROUTER_STORE_H
#define ALERT_ROUTER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "alert-router/dedup.h"
#include "avro_records.h" /* CW_COLOUR_COUNT */
#include "config.h"
#include "redis.h"
#include "reference_store.h"

#define ALERT_CLAIM_KEY_MAX 220

/* The keys of (order, rule) and of (caregiver, rule). 0, or -1 when they
 * do not fit. */
int alert_claim_key(char *buf, size_t len, const char *order_id, const char *rule);
int alert_last_key(char *buf, size_t len, const char *caregiver_id, const char *rule);

/* What deciding one flagged check needs, in one round trip: the claim of
 * (order, rule) and, when last_key is not NULL, the window's last alert
 * into in (has_claim, claim, has_last, last; a value that does not parse
 * counts as absent), and, when order_id is not NULL, the order into
 * *order (*order_found 0 when Redis has none). 0 or -1. */
int alert_store_load(cw_redis *r, const char *claim_key, const char *last_key,
                     const char *order_id, alert_dedup_input *in, cw_order_state *order,
                     int *order_found);

/* The elder an alert is routed by (*found 0 when Redis has none). 0 or -1. */
int alert_store_load_elder(cw_redis *r, const char *elder_id, cw_elder_state *elder,
                           int *found);

typedef enum {
    ALERT_CLAIM_WRITTEN,  /* the claim (and its last alert) are in Redis */
    ALERT_CLAIM_TAKEN,    /* another message claimed it first: decide again */
    ALERT_CLAIM_NO_EPOCH, /* the epoch key is missing: Redis lost its data, rebuild first */
    ALERT_CLAIM_FAILED    /* Redis error */
} alert_claim_write;

/* Writes d's claim if the key is still absent, and with it d's last alert
 * (when d->write_last), atomically. */
alert_claim_write alert_store_claim(cw_redis *r, const char *claim_key, const char *last_key,
                                    const alert_dedup_decision *d, int64_t ttl_seconds);

/* Turns pending claims into delivered ones: keys[i] is set to
 * "<positions[i]>|D" while it holds "<positions[i]>|P", or when it is gone
 * (lost with Redis's data since; it expires after ttl_seconds then). A
 * claim of another message is left alone. One round trip per
 * CW_REDIS_BATCH_MAX_CMDS claims. 0 or -1. */
int alert_store_mark_delivered(cw_redis *r, size_t n, const char *const *keys,
                               const char *const *positions, int64_t ttl_seconds);

typedef enum {
    ALERT_EPOCH_PRESENT, /* the state is there (or was rebuilt) */
    ALERT_EPOCH_MISSING, /* first start, or Redis lost its data */
    ALERT_EPOCH_UNKNOWN  /* Redis cannot be asked */
} alert_epoch;

alert_epoch alert_store_epoch(cw_redis *r);

/* Rebuilds the state a Redis loss took, then sets the epoch key: the
 * reference data and orders (ref.elders, ref.caregivers, orders.assigned),
 * then a delivered claim for every alert of alerts.all (keeping any claim
 * already there) and, for the colours with window_colours[c] set, the last
 * alert per caregiver and rule. *reference and *alerts: the records stored.
 * 0, or -1 with err. */
int alert_store_rebuild(const cw_config *cfg, cw_redis *r, int64_t ttl_seconds,
                        const int window_colours[CW_COLOUR_COUNT], long *reference,
                        long *alerts, char *err, size_t errlen);

#endif
