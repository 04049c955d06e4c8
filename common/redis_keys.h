/* The Redis key layout every service shares. Redis is a cache of what is on
 * Kafka (ref.* topics, orders.assigned, visit.events): each key can be
 * rebuilt from the topics after a Redis loss.
 *
 *   cw:elder:<elder_id>          hash  street_id community_id lat lon crs
 *                                      visits_per_month minutes_per_visit
 *   cw:caregiver:<caregiver_id>  hash  provider_id certified level
 *   cw:contract:<contract_id>    hash  provider_id period_start period_end budget_cents
 *                                      unit_price_cents prepay_ratio_ppm
 *                                      invalid_deduction_cents publication_lag_days
 *                                      historical (1: imported history, clawback only)
 *   cw:provider_contracts:<provider_id>
 *                                hash  contract_id -> "<first day> <last day> <streets>"
 *                                      (days from 1970-01-01; streets comma-separated,
 *                                      empty: every street): what the provider may order
 *   cw:order:<order_id>          hash  elder_id caregiver_id provider_id service_type
 *                                      scheduled_start (ms) scheduled_minutes person_id
 *                                      revision status (CANCELLED or "") of its latest
 *                                      revision (docs/maintenance.md; an older revision
 *                                      never overwrites a newer one)
 *                                      final (the ledger-writer: its status once final)
 *   cw:change:<order_id>         hash  the change waiting for the street's approval
 *                                      (ingest; rebuilt from orders.changes)
 *   cw:visited:<order_id>        string  set once ingest accepted a check-in of the order
 *                                      (rebuilt from visit.events)
 *   cw:elder_status:<elder_id>   hash  "<from>|<status>|<to or ->" -> received_at
 *                                      (elder_status.h: every period posted)
 *   cw:cgstate:<caregiver_id>    hash  status (ACTIVE|FROZEN) reason order_id at
 *   cw:photo:<sha256>            string  the order that first used this photo
 *   cw:idem:<kind>:<id>          string  SHA-256 of the accepted request body
 *   cw:stream_clock              string  largest accepted event time (ms), replay mode
 */
#ifndef CW_REDIS_KEYS_H
#define CW_REDIS_KEYS_H

#define CW_KEY_MAX 160

#define CW_KEY_ELDER "cw:elder:%s"
#define CW_KEY_ELDER_STATUS "cw:elder_status:%s"
#define CW_KEY_CAREGIVER "cw:caregiver:%s"
#define CW_KEY_CONTRACT "cw:contract:%s"
#define CW_KEY_PROVIDER_CONTRACTS "cw:provider_contracts:%s"
#define CW_KEY_ORDER "cw:order:%s"
#define CW_KEY_PENDING_CHANGE "cw:change:%s"
#define CW_KEY_VISITED "cw:visited:%s"
#define CW_KEY_CGSTATE "cw:cgstate:%s"
#define CW_KEY_PHOTO "cw:photo:%s"
/* The order whose evidence first showed a watermark photo or recording
 * (EVIDENCE_REUSE); ingest, SET NX. */
#define CW_KEY_EVIDENCE_HASH "cw:evhash:%s"
#define CW_KEY_IDEMPOTENCY "cw:idem:%s:%s"
#define CW_KEY_STREAM_CLOCK "cw:stream_clock"

#endif
