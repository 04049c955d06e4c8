/* An order's maintenance state in Redis (docs/maintenance.md,
 * redis_keys.h), besides the order's own hash:
 *   cw:change:<order_id>   the change waiting for the street's approval
 *                          (this file's family)
 * and what a change request reads, each in one round trip: the order with
 * its visited mark (cw:visited, ingest_store.h), its waiting change and the
 * latest request of its kind (cw:idem); then the elder's street and the
 * caregivers concerned.
 *
 * After a Redis loss the waiting changes come back from orders.changes (a
 * PENDING record waits until a later record of its order) and the visited
 * marks from visit.events (every check-in); the order's revision and status
 * come back with orders.assigned (reference_store.h). Strings passed in are
 * borrowed (a batch copies them); what is read is copied. */
#ifndef INGEST_CHANGE_STORE_H
#define INGEST_CHANGE_STORE_H

#include <stdint.h>

#include "config.h"
#include "ingest/requests.h"
#include "redis.h"

#define CHANGE_FIELD_MAX 128

/* What a change reads of the order (cw:order, cw:visited). */
typedef struct {
    char elder_id[CHANGE_FIELD_MAX], caregiver_id[CHANGE_FIELD_MAX];
    char provider_id[CHANGE_FIELD_MAX], service_type[CHANGE_FIELD_MAX];
    char person_id[CHANGE_FIELD_MAX], status[CHANGE_FIELD_MAX], final[CHANGE_FIELD_MAX];
    int64_t scheduled_start;
    int scheduled_minutes, revision;
    int visited;
} change_order;

/* The change waiting for the street (cw:change), as read back. */
typedef struct {
    int present;
    char change_id[CHANGE_FIELD_MAX], kind[CHANGE_FIELD_MAX], reason_code[CHANGE_FIELD_MAX];
    char requested_by[CHANGE_FIELD_MAX], new_caregiver_id[CHANGE_FIELD_MAX];
    char note[MAX_NOTE_LEN + 1]; /* "" when none */
    int64_t requested_at, new_start;
} pending_change;

/* What a change request reads first. */
typedef struct {
    int found; /* the order exists */
    change_order order;
    pending_change pending;
    char idem[256]; /* the latest request of the kind asked, or "" */
} order_view;

/* The order, whether it was visited, its waiting change and the latest
 * request of idem_kind ("change", "approve"). 0, or -1 when Redis is
 * unavailable. */
int ingest_change_store_view(cw_redis *r, const char *order_id, const char *idem_kind,
                             order_view *v);

/* What else a change needs. */
typedef struct {
    char street_id[CHANGE_FIELD_MAX]; /* the elder's */
    int certified;                    /* the order's caregiver's certificate now */
    int new_found;                    /* a reassign's caregiver: */
    char new_provider[CHANGE_FIELD_MAX], new_person[CHANGE_FIELD_MAX];
    int new_certified, new_frozen;
} change_refs;

/* The elder's street, the order's caregiver's certificate and, for a
 * reassign (new_caregiver not NULL), the new caregiver and whether the
 * overlap-detector froze them (cw:cgstate). 0, or -1 when Redis is
 * unavailable. */
int ingest_change_store_refs(cw_redis *r, const change_order *o, const char *new_caregiver,
                             change_refs *refs);

/* A change to keep waiting. */
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
void ingest_change_store_waiting(cw_redis_batch *b, const waiting_change *w);
/* Adds the DEL of cw:change:<order_id> to b: nothing waits any more. */
void ingest_change_store_done(cw_redis_batch *b, const char *order_id);

/* Rebuilds the waiting changes and the visited marks. Returns the records
 * stored, or -1 with err. */
long ingest_change_store_rebuild(const cw_config *cfg, cw_redis *r, char *err, size_t errlen);

#endif
