/* How ingest keeps the maintenance state of orders in Redis besides the
 * order's own hash (docs/maintenance.md, redis_keys.h):
 *   cw:change:<order_id>   the change waiting for the street's approval
 *   cw:visited:<order_id>  set once a check-in of the order was accepted
 * and how both are rebuilt from Kafka after Redis lost them: the waiting
 * changes from orders.changes (a PENDING record waits until a later record
 * of its order), the visited orders from visit.events (every check-in).
 * The order's revision and status come back with orders.assigned
 * (cw_state_store_order). Strings are borrowed; the batch copies them. */
#ifndef INGEST_CHANGE_STORE_H
#define INGEST_CHANGE_STORE_H

#include <stdint.h>

#include "config.h"
#include "redis.h"

typedef struct {
    const char *order_id, *change_id, *kind, *reason_code;
    const char *note; /* NULL when none */
    int64_t requested_at;
    const char *requested_by;
    int has_new_start;
    int64_t new_start;            /* a reschedule's */
    const char *new_caregiver_id; /* a reassign's; NULL otherwise */
} waiting_change;

/* Adds the HSET of cw:change:<order_id> to b. */
void change_store_waiting(cw_redis_batch *b, const waiting_change *w);

/* Rebuilds the waiting changes and the visited marks. Returns the records
 * stored, or -1 with err. */
long change_store_rebuild(const cw_config *cfg, cw_redis *r, char *err, size_t errlen);

#endif
