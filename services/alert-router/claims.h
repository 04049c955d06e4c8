/* The dedup state in Redis (see dedup.h for what it means):
 *
 *   cw:alert:claim:<order_id>:<rule>     string  "<topic>:<partition>:<offset>|P|D|S"
 *   cw:alert:last:<caregiver_id>:<rule>  string  "<at>|<order_id>" (window only)
 *   cw:alert:epoch                       string  set once the state was rebuilt
 *
 * Claims and last alerts expire after dedup.claim_ttl_days. When the epoch
 * key is missing (first start, or Redis lost its data) the service rebuilds
 * the reference data, the orders and the claims before routing anything:
 * every alert on alerts.all becomes a delivered claim (and the window's last
 * alert), so the checks that the checkers re-emit after a Redis loss do not
 * alert twice. A claim is written only while the epoch key exists, so
 * nothing is claimed between a loss and the rebuild.
 *
 * Functions return -1 when Redis is unreachable or answers an error. */
#ifndef ALERT_CLAIMS_H
#define ALERT_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dedup.h"
#include "redis.h"
#include "routing.h"

#define ALERT_CLAIM_KEY_MAX 220

int alert_claim_key(char *buf, size_t len, const char *order_id, const char *rule);
int alert_last_key(char *buf, size_t len, const char *caregiver_id, const char *rule);

/* Reads the claim of (order, rule) and, when last_key is not NULL, the last
 * alert of the window into in (has_claim, claim, has_last, last). A value
 * that does not parse counts as absent. 0 or -1. */
int alert_claims_load(cw_redis *r, const char *claim_key, const char *last_key,
                      alert_dedup_input *in);

/* Writes d's claim if the key is still absent, and with it d's last alert
 * (when d->write_last), atomically. 1 written, 0 someone claimed it first,
 * -2 the epoch key is missing (Redis lost its data: rebuild first), -1
 * error. */
int alert_claims_store(cw_redis *r, const char *claim_key, const char *last_key,
                       const alert_dedup_decision *d, int64_t ttl_seconds);

/* Turns pending claims into delivered ones: keys[i] is set to
 * "<positions[i]>|D" while it holds "<positions[i]>|P", or when it is gone
 * (lost with Redis's data since; it expires after ttl_seconds then). A
 * claim of another message is left alone. 0 or -1. */
int alert_claims_mark_delivered(cw_redis *r, size_t n, const char *const *keys,
                                const char *const *positions, int64_t ttl_seconds);

/* 1 when the epoch key is there, 0 when not, -1 error. */
int alert_claims_epoch(cw_redis *r);
int alert_claims_set_epoch(cw_redis *r);

/* Reads alerts.all from the beginning to its current end and restores a
 * delivered claim for every alert (keeping any claim already there) and,
 * with window_colours[c] set, the last alert per caregiver and rule.
 * Returns the number of alerts read, or -1 with err. */
long alert_claims_rebuild(const cw_config *cfg, cw_redis *r, int64_t ttl_seconds,
                          const int window_colours[ALERT_COLOURS], char *err, size_t errlen);

#endif
