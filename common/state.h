/* The checkers' shared Redis state: reference data and orders in ingest's
 * layout (redis_keys.h), the per-service event clock (watermark source),
 * event-time timers and the per-partition marks that tell a service Redis
 * was emptied under it.
 *
 * Every function returns -1 when Redis is unreachable or answers an error;
 * callers treat that as transient (retry the message). */
#ifndef CW_STATE_H
#define CW_STATE_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

#include "avro_codec.h"
#include "elder_status.h"
#include "kafka.h"
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

/* Revisions of an order (docs/maintenance.md). A change that takes effect
 * (a cancel, reschedule or reassign) is published as the order again: an
 * OrderAssigned with the same order_id, the next revision (1, 2...) and the
 * change that made it, keyed like any assignment by the (new) caregiver's
 * stream key; a reassign also by the previous caregiver's. Readers keep
 * the highest revision. Strings are borrowed from the record. */
typedef struct {
    int revision;                    /* 0: the assignment as first posted */
    const char *kind;                /* CANCEL | RESCHEDULE | REASSIGN; NULL for revision 0 */
    const char *reason_code;         /* NULL for revision 0 */
    const char *stream_key;          /* where the order's records go now */
    const char *previous_stream_key; /* where they went before; NULL for revision 0 */
    int64_t received_at;             /* when the revision took effect at ingest */
} cw_order_revision;

/* 0, or -1 when the record lacks a field. */
int cw_order_revision_of(avro_value_t *order, cw_order_revision *out);
int cw_order_revision_is_cancel(const cw_order_revision *r);

/* The subject (check_id prefix) of the verdicts about a revision of an
 * order: "<order_id>" for revision 0, "<order_id>@<revision>" after ('@'
 * is in no id, so no event id can take it). 0, or -1 when it does not fit
 * in len (CW_SUBJECT_MAX always fits). */
#define CW_SUBJECT_MAX 80
int cw_order_revision_subject(const char *order_id, int revision, char *buf, size_t len);

/* What one copy of a revision, read from the partition of message_key,
 * means there. Pure. leave: the partition held the previous revision (its
 * schedule and timers are dropped); arrive: the order is scheduled there
 * from now on (judged as if assigned so). A reschedule or cancel has one
 * copy that leaves (and a reschedule's also arrives); a reassign to
 * another person has two, one of each; revision 0 only arrives. */
typedef struct {
    int leave, arrive;
} cw_revision_copy;
cw_revision_copy cw_order_revision_copy(const cw_order_revision *r, const char *message_key);

int cw_state_store_caregiver(cw_redis_batch *b, avro_value_t *caregiver);

/* An ElderStatusChanged record as its period in the elder's status hash
 * (elder_status.h; HSETNX: a period posted again keeps its first receipt).
 * 0, or -1 when the record lacks a field. */
int cw_state_store_elder_status(cw_redis_batch *b, avro_value_t *status);
/* Every period of the elder, at most max of them into out. Returns how
 * many, or -1 (Redis). Malformed entries are skipped. */
long cw_state_load_elder_periods(cw_redis *r, const char *elder_id, cw_elder_period *out,
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
/* The same from a Contract record; -1 when the record lacks a field. */
int cw_state_store_contract(cw_redis_batch *b, avro_value_t *contract);

/* Rebuilds reference data and orders in Redis from Kafka: reads each of
 * topics (ref.elders, ref.caregivers, ref.contracts, orders.assigned...)
 * from the beginning to its current end and stores every Elder, Caregiver,
 * Contract, OrderAssigned and ElderStatusChanged record. Returns the number of records stored, or -1 with err. */
long cw_state_bootstrap(const struct cw_config *cfg, cw_redis *r, const char *const *topics,
                        char *err, size_t errlen);

/* Replays a topic into Redis: reads it from the beginning to its current
 * end, decodes each record and hands it to fn, which adds at most
 * CW_STATE_REPLAY_MAX_CMDS commands to b and returns 1 when it stored the
 * record (0 when it skipped it); the commands are sent as the batch fills.
 * Records that do not decode are skipped: the topic's consumer
 * dead-letters them. Returns the number stored, or -1 with err. */
#define CW_STATE_REPLAY_MAX_CMDS 4
typedef int (*cw_state_replay_fn)(void *user_data, const rd_kafka_message_t *m,
                                  const cw_avro_schema *s, avro_value_t *v, cw_redis_batch *b);
long cw_state_replay_topic(const struct cw_config *cfg, cw_redis *r, const char *topic,
                           cw_state_replay_fn fn, void *user_data, char *err, size_t errlen);

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

/* Event clocks: the largest event time a service has seen overall
 * (cw:clock:<service>) and in one input partition
 * (cw:clock:<service>:<partition>). advance raises both to at if lower,
 * atomically across instances, and reports them; get reads them (0 when
 * nothing was seen). add_clock puts the same advance last in a pipeline of
 * writes (one round trip for both); clock_reply reads its reply. */
void cw_state_add_clock(cw_redis_batch *b, const char *service, int partition, int64_t at);
int cw_state_clock_reply(const redisReply *reply, int64_t *global, int64_t *partition_clock);
int cw_state_advance_clock(cw_redis *r, const char *service, int partition, int64_t at,
                           int64_t *global, int64_t *partition_clock);
int cw_state_get_clock(cw_redis *r, const char *service, int partition, int64_t *global,
                       int64_t *partition_clock);
/* The service-wide clocks of n services into clocks[0..n): INT64_MIN for
 * one that has read nothing yet. 0, or -1 when Redis cannot be asked. */
int cw_state_get_service_clocks(cw_redis *r, const char *const *services, size_t n,
                                int64_t *clocks);

/* The watermark of one partition. Pure.
 *
 * While the partition still has a backlog, only its own events count: a
 * replay of history processes partitions one after the other, and another
 * partition being hours ahead says nothing about this one. Once it is
 * caught up, the service-wide clock counts too (in live mode also the wall
 * clock), so the timers of a quiet partition still fire. The allowed
 * lateness is then subtracted. */
int64_t cw_watermark(int64_t partition_clock, int64_t global_clock, int caught_up,
                     int64_t now_ms, int live, int64_t lateness_ms);

/* Event-time timers: one sorted set per service and input partition,
 * member = what to do, score = due time (ms). */
int cw_timers_add(cw_redis_batch *b, const char *service, int partition, int64_t due,
                  const char *member);
typedef struct {
    char **members; /* owned; cw_timers_free */
    int64_t *due;
    size_t count;
} cw_timer_list;
/* Timers due strictly before `before`, earliest first, at most limit. */
int cw_timers_due(cw_redis *r, const char *service, int partition, int64_t before, size_t limit,
                  cw_timer_list *out);
int cw_timers_remove(cw_redis *r, const char *service, int partition, const cw_timer_list *list);
/* Adds to b the removal of one timer not fired yet (ZREM). */
void cw_timers_cancel(cw_redis_batch *b, const char *service, int partition, const char *member);
void cw_timers_free(cw_timer_list *list);

/* Marks that this service holds state in Redis for one input partition
 * (cw:epoch:<service>:<topic>:<partition>). A missing mark means a first
 * start or a Redis that lost its data: the service must rebuild that state
 * by replaying the partition from the beginning, then set the mark.
 * cw_state_partition_marked: 1 marked, 0 not, -1 Redis error.
 * cw_state_partition_mark: 0 or -1. */
int cw_state_partition_marked(cw_redis *r, const char *service, const char *topic,
                              int partition);
int cw_state_partition_mark(cw_redis *r, const char *service, const char *topic, int partition);

/* The input offsets a service's Redis state reflects: the hash
 * cw:offsets:<service>, field "<topic>:<partition>" = the next offset to
 * handle. The stream writes them after a batch's results are acknowledged
 * and before its offsets are committed, never lowering one. Redis writes
 * land in order (AOF, snapshots), so a stored offset vouches for every
 * state change made before it; after Redis came back older (an old
 * snapshot, a replica that missed writes) the stored offsets are behind the
 * group's committed ones and the stream replays the difference (a
 * partition marked but with no offset stored counts as at its beginning:
 * the mark is set when it is replayed from there).
 * store: 0 or -1. load fills next[i] (-1 where none is stored): 0 or -1. */
int cw_state_offsets_store(cw_redis *r, const char *service, size_t n, const char *const *topics,
                           const int32_t *partitions, const int64_t *next);
int cw_state_offsets_load(cw_redis *r, const char *service, size_t n, const char *const *topics,
                          const int32_t *partitions, int64_t *next);

#endif
