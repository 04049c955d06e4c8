/* carewatch-geo-validator: GEO_DISTANCE, GEO_DUAL_MISMATCH and
 * GPS_INACCURATE for every check-in and check-out as it arrives,
 * IMPOSSIBLE_TRAVEL for every check-in once the watermark has passed it
 * (so a check-out that arrives late, within the allowed lateness, is still
 * taken into account).
 *
 * Input: visit.events, and ref.elders to keep the homes in Redis current
 * (and rebuild them after a Redis loss). Output: CheckResults on
 * visit.checks.
 *
 * Who does what, one file each:
 *   main.c          wiring: the config keys, the checker definition, the
 *                   context made from the config
 *   geo_handlers.c  the handler of a message and of a travel timer:
 *                   decode, rules, store, emit
 *   geo_rules.c     the rules, pure (geo_rules.h)
 *   geo.c           geodesy: distances and the Chinese map coordinate
 *                   systems, pure (geo.h)
 *   geo_store.c     every Redis read and write, and the key families the
 *                   service owns (geo_store.h)
 *   geo_records.c   the CheckResults it emits (geo_records.h)
 *
 * Ownership: the context is made by main.c's context_new and freed by its
 * context_free (the checker calls both); a decoded VisitEvent borrows its
 * strings from the message and is released by the handler that read it;
 * the store copies what it reads out of Redis. One thread. */
#ifndef GEO_VALIDATOR_H
#define GEO_VALIDATOR_H

#include <stddef.h>
#include <stdint.h>

#include "checker.h"
#include "geo-validator/geo_rules.h"
#include "result.h"

#define GEO_SERVICE "geo-validator"

typedef struct {
    cw_checker *ck;
    geo_thresholds thresholds; /* the rules.* config keys */
} geo_ctx;

/* One input message (ctx is a geo_ctx): CW_OK, CW_REJECT with the reason,
 * or CW_RETRY. */
cw_result geo_handle(void *ctx, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                     size_t reason_len);

/* The travel check of the check-in whose timer (member: its event id)
 * came due. CW_OK or CW_RETRY. */
int geo_on_timer(void *ctx, const char *event_id, int64_t due, cw_outbox *out);

#endif
