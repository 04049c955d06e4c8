/* Every Redis read and write of the geo-validator. Key families of its
 * own:
 *   cw:geo:out:<caregiver>  zset of the caregiver's check-outs, score at,
 *                           member "<at>|<event_id>|<lat>|<lon>" (WGS-84 fix)
 *   cw:geo:in:<event_id>    hash order_id caregiver_id at lat lon: a
 *                           check-in waiting for its travel check (expires
 *                           after 8 days)
 *   cw:timers:geo-validator:<partition>  the waiting check-ins by at
 *                           (checker.h; member: the event id)
 * It reads the elders' homes ingest keeps (cw:elder:<id>, redis_keys.h)
 * and stores them itself from ref.elders, so that they come back after a
 * Redis loss. Strings passed in are borrowed; what comes out is copied. */
#ifndef GEO_STORE_H
#define GEO_STORE_H

#include <stdint.h>

#include "avro_records.h"
#include "checker.h"
#include "geo-validator/geo.h"
#include "reference_store.h"
#include "result.h"

/* An Elder record into its hash. CW_OK, CW_REJECT (the record lacks a
 * field) or CW_RETRY. */
cw_result geo_store_elder(cw_redis *r, avro_value_t *elder);

/* The elder of a visit: CW_OK, CW_REJECT (no such elder) or CW_RETRY. */
cw_result geo_store_load_elder(cw_redis *r, const char *elder_id, cw_elder_state *out);

/* Records a visit event for the travel checks, with the clocks' advance to
 * its time, in one round trip: a check-out for the check-ins after it, a
 * check-in as waiting, with its timer at its own time (the watermark
 * passing it means every check-out before it has been read). 0 or -1. */
int geo_store_visit(cw_checker *ck, int partition, const cw_visit_event *ev);

typedef struct {
    char order_id[CW_ID_MAX];
    char caregiver_id[CW_ID_MAX];
    int64_t at;
    geo_point fix;
} geo_waiting_check_in;

/* The check-in of a travel timer: *found 0 when it is gone (its hash
 * expired: a timer fired again long after). 0, or -1 (Redis). */
int geo_store_waiting_check_in(cw_redis *r, const char *event_id, int *found,
                               geo_waiting_check_in *out);

/* The caregiver's check-out with the largest at not after `at`: *found 0
 * when there is none. 0, or -1 (Redis). */
int geo_store_previous_check_out(cw_redis *r, const char *caregiver_id, int64_t at, int *found,
                                 geo_point *fix, int64_t *fix_at);

#endif
