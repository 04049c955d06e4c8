/* The reference data and orders in Redis, in the one layout every service
 * reads (redis_keys.h): elders, caregivers, contracts (with each provider's
 * contract index), an elder's availability periods and orders. This file
 * is the only writer of those hashes: ingest as it accepts a record, the
 * services as they replay the topics after a Redis loss (reference_replay.h).
 *
 * The store functions add their writes to a batch (one round trip with the
 * caller's other writes); the load functions ask Redis and return 1 found,
 * 0 missing, -1 Redis error. */
#ifndef CW_REFERENCE_STORE_H
#define CW_REFERENCE_STORE_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

#include "avro_records.h"
#include "elder_status.h"
#include "redis.h"

#define CW_ID_MAX 65 /* ids are 1..64 characters */

typedef struct {
    double lat, lon;
    char crs[8];
    char street_id[CW_ID_MAX];
    char community_id[CW_ID_MAX];
    int geofence_m; /* the home's GEO_DISTANCE radius; 0: the rule's */
    int visits_per_month, minutes_per_visit; /* the elder's duty; 0: none */
} cw_elder_state;

typedef struct {
    char elder_id[CW_ID_MAX];
    char caregiver_id[CW_ID_MAX];
    char provider_id[CW_ID_MAX];
    int64_t scheduled_start;
    int scheduled_minutes;
    char person_id[CW_ID_MAX]; /* "" when the caregiver has none */
} cw_order_state;

/* Where one person's records go: the key of an order's assignment and
 * visit events (its person_id when the caregiver has one, so that every
 * registration of one person lands in one partition, else the caregiver's
 * id). Borrowed from o. */
const char *cw_order_stream_key(const cw_order_state *o);

/* Adds the HSET of an Elder / OrderAssigned record to b (what ingest
 * writes), so a service replaying the topics rebuilds a flushed Redis.
 * An OrderAssigned is stored only when its revision is not older than the
 * one stored (cw:order's revision field): the latest revision stands
 * whatever order the topics are read in. 0, or -1 when the record lacks a
 * field. */
int cw_state_store_elder(cw_redis_batch *b, avro_value_t *elder);
int cw_state_store_order(cw_redis_batch *b, avro_value_t *order);
/* The same from the typed records (avro_records.h): ingest writes what it
 * accepts through these, the replays above through them too. 0, or -1
 * when a value cannot be written (an unknown enum). */
int cw_state_write_elder(cw_redis_batch *b, const cw_elder *elder);
int cw_state_write_order(cw_redis_batch *b, const cw_order_assigned *order);
int cw_state_write_caregiver(cw_redis_batch *b, const cw_caregiver *caregiver);
int cw_state_write_elder_status(cw_redis_batch *b, const cw_elder_status_changed *status);

int cw_state_store_caregiver(cw_redis_batch *b, avro_value_t *caregiver);

/* An ElderStatusChanged record as its period in the elder's status hash
 * (elder_status.h; HSETNX: a period posted again keeps its first receipt).
 * 0, or -1 when the record lacks a field. */
int cw_state_store_elder_status(cw_redis_batch *b, avro_value_t *status);
/* Every period of the elder, at most max of them into out. Returns how
 * many, or -1 (Redis). Malformed entries are skipped. */
long cw_state_load_elder_periods(cw_redis *r, const char *elder_id, cw_elder_period *out,
                                 size_t max);
/* The same from the reply of HGETALL cw:elder_status:<id> made elsewhere
 * (in a pipeline); at most max into out. */
size_t cw_state_elder_periods_from_reply(const redisReply *reply, cw_elder_period *out,
                                         size_t max);

/* A contract as Redis keeps it: its hash, and its entry in its provider's
 * contract index (redis_keys.h), the one place that entry's text is
 * written. Days count from 1970-01-01 (UTC+8 calendar). */
typedef struct {
    const char *contract_id, *provider_id;
    const char *period_start, *period_end; /* YYYY-MM-DD */
    int64_t period_start_day, period_end_day;
    int64_t budget_cents, unit_price_cents, prepay_ratio_ppm, invalid_deduction_cents;
    int64_t publication_lag_days;
    const char *const *street_ids; /* none: every street */
    size_t street_count;
    int historical; /* imported history: clawback only (docs/payments.md) */
} cw_contract_row;

#define CW_CONTRACT_MAX_STREETS 64
#define CW_CONTRACT_COVER_MAX 1024
/* The index entry "<first day> <last day> <street>,<street>,..." into buf
 * (len bytes). 0, or -1 when it does not fit. */
int cw_contract_cover_entry(const cw_contract_row *c, char *buf, size_t len);
/* What one index entry says of street_id on day (days as above): no
 * contract (the day is outside its period, or the entry is malformed), a
 * contract for other streets only, or a contract that serves the street
 * (its list names it, or is empty: every street). */
typedef enum { CW_COVER_NONE, CW_COVER_OTHER_STREET, CW_COVER_SERVED } cw_contract_cover;
cw_contract_cover cw_contract_cover_of(const char *entry, int64_t day, const char *street_id);
/* Adds the contract's HSETs to b. 0, or -1 when its entry does not fit. */
int cw_state_write_contract(cw_redis_batch *b, const cw_contract_row *c);
/* The row of a Contract record (strings and street ids borrowed from it).
 * 0, or -1 when a period date does not parse or it names more streets than
 * CW_CONTRACT_MAX_STREETS. */
int cw_contract_row_of(const cw_contract *rec, cw_contract_row *row);
/* The same from a Contract record; -1 when the record lacks a field. */
int cw_state_store_contract(cw_redis_batch *b, avro_value_t *contract);

/* 1 found, 0 missing, -1 Redis error. */
int cw_state_load_elder(cw_redis *r, const char *elder_id, cw_elder_state *out);
int cw_state_load_order(cw_redis *r, const char *order_id, cw_order_state *out);
/* An order from the reply of HMGET cw:order:<id> scheduled_start
 * scheduled_minutes elder_id caregiver_id provider_id person_id (made elsewhere, a
 * script's for one): 1, 0 when the order is missing, -1 when the reply is
 * not that. */
int cw_state_order_from_reply(const redisReply *reply, cw_order_state *out);
/* The fields that HMGET reads, in that order. */
#define CW_STATE_ORDER_FIELD_COUNT 6
extern const char *const cw_state_order_fields[CW_STATE_ORDER_FIELD_COUNT];

#endif
