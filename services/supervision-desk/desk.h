/* The supervision desk's files and the state they share:
 *
 *   main.c            config specs and the service's loop: wiring only
 *   desk_context.c    the desk made from the configuration, connected to
 *                     Kafka, freed (desk_new, desk_connect, desk_free)
 *   desk_stream.c     the rebuild from Kafka and the input loop: alerts into
 *                     case events, the event clock, escalations, the books
 *   desk_books.c      the order, elder, change, status and visit books
 *   desk_ops.c        what a person asks: reading and working cases,
 *                     call-backs, complaints, figures, each published
 *                     before it is applied
 *   desk_http.c       the HTTP API: routes, keys, bodies
 *   case_record.c     the records read and written (the generated typed
 *                     records of avro_records.h)
 *   case_book.c, case_rules.c, callback_rules.c, desk_clock.c
 *                     the case book, the rules, the call-back draw and the
 *                     event clock: pure
 *   case_json.c, live_feed.c, static_files.c, ingest_proxy.c
 *                     the answers, the live feed, the console's files, the
 *                     unfreeze passed on to ingest
 *
 * main() owns the desk (desk_new, desk_free); the desk owns its books, its
 * outbox, its key table, its live feed and its Kafka clients.
 *
 * One lock guards everything below it: the stream thread holds it while it
 * turns a batch into events and publishes them, an HTTP thread while it
 * reads or publishes. Events are published in a Kafka transaction and only
 * then applied to the book (a batch's events are applied as they are made,
 * and an aborted transaction makes the desk rebuild its book from
 * cases.events), so the book is always the fold of what cases.events holds.
 * One instance: the transactional id fences an older one. */
#ifndef DESK_H
#define DESK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "access_keys.h"
#include "config.h"
#include "id_set.h"
#include "kafka_txn.h"
#include "metrics.h"
#include "outbox.h"
#include "supervision-desk/case_book.h"
#include "supervision-desk/case_record.h"
#include "supervision-desk/case_rules.h"
#include "supervision-desk/desk_clock.h"
#include "supervision-desk/live_feed.h"

typedef struct {
    desk_order *items; /* owned */
    size_t count, cap;
    cw_idset by_id;    /* order id -> index */
} desk_order_book;

typedef struct {
    desk_elder *items; /* owned */
    size_t count, cap;
    cw_idset by_id;
} desk_elder_book;

typedef struct {
    desk_change *items; /* owned */
    size_t count, cap;
    cw_idset by_id;     /* change id -> index */
} desk_change_book;

typedef struct {
    desk_status_change *items; /* owned, in the order read */
    size_t count, cap;
} desk_status_book;

typedef struct {
    desk_visit *items; /* owned */
    size_t count, cap;
    cw_idset by_id;    /* order id -> index */
} desk_visit_book;

typedef struct {
    const cw_config *cfg;
    cw_key_table keys;
    desk_deadlines deadlines;
    int utc_offset_minutes;
    double callback_share;    /* desk.callback_share */
    uint64_t callback_seed;   /* desk.callback_seed */
    const char *group_id;     /* desk.group_id */
    const char *transactional_id;

    pthread_mutex_t lock;     /* guards everything below */
    desk_case_book book;
    desk_order_book orders;
    desk_elder_book elders;
    desk_change_book changes;
    desk_status_book statuses;
    desk_visit_book visits;
    desk_clock clock;
    int64_t watermark;        /* INT64_MIN until known */
    int64_t book_clock;       /* the latest event time the case book holds */
    cw_txn_producer *producer;
    rd_kafka_t *consumer;
    cw_outbox out;            /* the batch being published */
    /* Events applied since the last publication, for the live feed once
     * their transaction is committed. */
    struct desk_applied { char case_id[DESK_CASE_ID_MAX]; int seq; } *applied;
    size_t applied_count, applied_cap;
    desk_live_feed feed;
    const char *ledger_dir;   /* desk.ledger_dir: "" for none */
    const char *ledger_key;   /* desk.ledger_public_key: "" for none */
    const char *ingest_url;   /* desk.ingest_url: "" for none */

    atomic_int ready;         /* rebuilt and streaming */
    cw_counter *events_out;   /* CaseEvents published, by action */
    cw_counter *inputs;       /* records read, by topic and outcome */
    cw_gauge *open_cases;     /* by status */
} desk;

/* desk_context.c */
/* A desk with the settings of cfg and its metrics, not yet connected.
 * NULL (logged) when auth.keys is malformed (*bad_config set) or memory
 * runs out. */
desk *desk_new(const cw_config *cfg, int *bad_config);
/* Frees d and all it holds (after desk_disconnect); NULL is ignored. */
void desk_free(desk *d);
/* The transactional producer and the consumer, retried until the broker
 * answers or shutdown. 0, or -1 (logged, or shutdown). */
int desk_connect(desk *d);
void desk_disconnect(desk *d);
/* The admin listener's readiness: rebuilt and Kafka reachable (0), or 1
 * with why. */
int desk_ready_probe(void *user_data, char *reason, size_t len);

/* desk_stream.c */
/* Reads cases.events, orders.finalized, ref.elders, orders.changes and
 * caregiver.status to their ends into the books, then assigns the inputs (alerts.all and visit.checks from the
 * group's committed offsets). 0, or -1 (logged). Called with the lock
 * held. */
int desk_restore(desk *d);
/* The input loop, until shutdown. 0 clean stop, 1 failure. */
int desk_stream_run(desk *d);
/* Publishes d->out in one transaction with offsets (NULL: none). 0,
 * 1 aborted (nothing published; the caller rebuilds), -1 fatal. Clears
 * d->out. Called with the lock held. */
int desk_publish(desk *d, const rd_kafka_topic_partition_list_t *offsets);

/* Notes an event applied to the book (desk_stream.c); desk_publish
 * passes the noted ones to the live feed when their transaction commits,
 * and forgets them when it aborts. 0 or -1 out of memory. */
int desk_note_applied(desk *d, const desk_case_event *ev);

/* desk_books.c: the order, elder, change and status books. Each put
 * returns 0, or -1 out of memory. */
const desk_order *desk_order_find(const desk *d, const char *order_id);
const desk_elder *desk_elder_find(const desk *d, const char *elder_id);
int desk_order_put(desk *d, const desk_order *o);
int desk_elder_put(desk *d, const desk_elder *e);
/* A later record of the same change id (APPROVED after PENDING) replaces
 * the earlier one. */
int desk_change_put(desk *d, const desk_change *c);
int desk_status_put(desk *d, const desk_status_change *c);
/* Merges what one visit.events record says of its order (kind) into the
 * order's visit. */
int desk_visit_merge(desk *d, const desk_visit *v, desk_visit_rec kind);
const desk_visit *desk_visit_find(const desk *d, const char *order_id);
void desk_books_free(desk *d);

#endif
