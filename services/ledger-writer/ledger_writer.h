/* The ledger-writer's state shared by its files: main.c (start-up, the
 * record dispatch and timers), dossier_store.c (dossiers in Redis and the
 * decision of each order), evidence_request.c (the notice a questionable
 * order sends its provider), correction.c (the supervision desk's
 * corrections of final orders) and publication.c (what the log holds that
 * Kafka must get). One instance, one thread. */
#ifndef LEDGER_WRITER_H
#define LEDGER_WRITER_H

#include <limits.h>
#include <stdint.h>

#include "checker.h"
#include "finalize_rules.h"
#include "id_set.h"
#include "ledger_log.h"
#include "ledger_sign.h"
#include "metrics.h"
#include "topic_maker.h"

/* finalized_through (the promise a checkpoint carries to the payment
 * scheduler): every order this writer will ever finalize with finalized_at
 * <= it is in the log already. It is the smallest of the watermarks of the
 * writer's partitions (an order not seen yet finalizes after them) and the
 * smallest lower bound of the orders not final yet (cw:lw:pending: each
 * one's latest known event or verdict time, or its scheduled start when
 * only its assignment is known, which its finalized_at cannot be below),
 * minus one. It is computed only when the writer has no backlog on any
 * input partition (an order whose assignment is still unread is in no
 * dossier). An order pending longer than pending_cap_ms behind both the
 * watermarks and the slowest verdict source's clock (a verdict that will
 * never come) stops holding it back (finalize_pending_horizon). */
typedef struct {
    cw_checker *ck;
    fin_windows windows;
    int64_t pending_cap_ms;      /* ledger.max_pending_hours */
    const char *const *verdict_sources; /* ledger.verdict_sources (borrowed from the config) */
    size_t verdict_source_count;
    int64_t republish_step_ms;   /* ledger.progress_step_minutes */
    ledger_checkpoint last_cp;   /* the latest checkpoint, to publish again */
    int has_last_cp;
    int64_t finalized_through;   /* as last published; INT64_MIN: never */
    int utc_offset_minutes;
    ledger_log *log;
    ledger_key *signer;
    char log_id[128];
    cw_idset index;        /* order id -> ledger index: the orders that are final */
    /* Correcting entries (correction.c), read back from the log at start:
     * an order's latest entry is found from its first by following
     * corrected. */
    cw_idset corrected;   /* "<index>" of a corrected entry -> the entry correcting it */
    cw_idset corrections; /* correction id -> the entry it appended */
    long held_orders;     /* orders with corrections held in Redis; -1: not known */
    cw_counter *correction_outcomes; /* OrderCorrection records, by outcome */
    uint64_t checkpointed; /* log size at the last checkpoint */
    uint64_t published;    /* entries [0, published) are acknowledged on Kafka */
    char published_path[PATH_MAX];
    cw_counter *finalized;   /* by status */
    cw_counter *after_final; /* records about orders already final (ignored) */
    cw_counter *evidence_requests; /* EvidenceRequested notices produced */
    int evidence_notices;          /* ledger.evidence_notices */
    cw_topic_maker *notice_topics; /* notices.provider.<id>, made on first use */
    cw_gauge *size;
} ledger_ctx;

/* dossier_store.c: each takes one input record into the order's dossier
 * and decides the order if it can. CW_OK, CW_REJECT (with reason) or
 * CW_RETRY (Redis). */
int lw_handle_order(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                    size_t len);
int lw_handle_visit(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                    size_t len);
int lw_handle_evidence(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                       size_t len);
int lw_handle_check(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                    size_t len);
/* Decides an order if it can be decided (appending it to the log), else
 * makes sure its timer is set. A questionable order also gets its
 * EvidenceRequested notice into out. CW_OK or CW_RETRY. */
int lw_evaluate(ledger_ctx *c, cw_outbox *out, const char *order_id);
/* finalized_through now (see above), never below the last published one.
 * 0, or -1 when Redis cannot be asked or no partition is assigned. */
int lw_finalized_through(ledger_ctx *c, int64_t *out);

/* correction.c: the supervision desk's OrderCorrection records
 * (correction_rules.h). */
/* One record: a correcting entry appended, or the correction held in the
 * order's dossier until the order is final, or nothing. CW_OK,
 * CW_REJECT (with reason) or CW_RETRY (Redis). */
int lw_handle_correction(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                         size_t len);
/* Applies the held corrections of the orders that are final now (the
 * tick's, after the timers). CW_OK or CW_RETRY. */
int lw_apply_held_corrections(ledger_ctx *c);
/* At start-up, after lw_index_log: registers the metric, reads the
 * correcting entries of the log into c->corrected and c->corrections and
 * marks the held corrections as to be looked at. 0 or -1. */
int lw_corrections_start(ledger_ctx *c);

/* publication.c */
/* Reads every entry's order id into c->index. 0 or -1. */
int lw_index_log(ledger_ctx *c);
/* Publishes the entries a previous run appended but never saw
 * acknowledged, and records the published size. 0 or -1. */
int lw_publish_tail(ledger_ctx *c);
/* The stream's before_produce and after_produce hooks. */
int lw_before_produce(void *user_data, cw_outbox *out);
void lw_after_produce(void *user_data);

#endif
