/* The ledger-writer's files and the state they share (the service itself
 * is described in main.c):
 *
 *   main.c              config specs and the checker definition: wiring only
 *   ledger_context.c    the context: settings, metrics, the log opened and
 *                       read back at start (ledger_context_new/free)
 *   ledger_handle.c     which input record goes to which handler; the timer
 *   dossier_store.c     every Redis read and write of the service (the
 *                       dossiers, pending orders, held corrections), the
 *                       decision of each order and its append to the log
 *   correction.c        the supervision desk's corrections of final orders
 *   publication.c       what the log holds that Kafka must get (before and
 *                       after every batch), and the log read back at start
 *   finalized_record.c, evidence_request.c, checkpoint_record.c
 *                       the records, encoded in one place each (the
 *                       generated writers of avro_records.h); a log entry
 *                       read back (ledger_entry_decode)
 *   finalize_rules.c, correction_rules.c, dossier.c
 *                       the rules and the dossier's form: pure
 *   ledger_log.c ...    the Merkle log on disk, its proofs and signatures
 *                       (also the CLI's and the desk's)
 *
 * One instance, one thread. The checker owns the context (made by
 * ledger_context_new, freed by ledger_context_free); the context owns the
 * log, the signing key, its id sets and the notice topics' maker. */
#ifndef LEDGER_WRITER_H
#define LEDGER_WRITER_H

#include <limits.h>
#include <stdint.h>

#include "checker.h"
#include "id_set.h"
#include "ledger-writer/finalize_rules.h"
#include "ledger-writer/finalized_record.h"
#include "ledger-writer/ledger_log.h"
#include "ledger-writer/ledger_sign.h"
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
 * never come) stops holding it back (ledger_finalize_pending_horizon). */
typedef struct {
    cw_checker *ck;
    ledger_fin_windows windows;
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

/* ledger_context.c: the checker's context_new and context_free. NULL
 * (logged) when the log cannot be opened or read back. */
void *ledger_context_new(cw_checker *ck);
void ledger_context_free(void *ctx);

/* ledger_handle.c: the checker's handle and on_timer. */
cw_result ledger_handle(void *ctx, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                        size_t len);
int ledger_on_timer(void *ctx, const char *order_id, int64_t due, cw_outbox *out);

/* dossier_store.c: each takes one input record into the order's dossier
 * and decides the order if it can. CW_OK, CW_REJECT (with reason) or
 * CW_RETRY (Redis). */
cw_result ledger_handle_order(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                              size_t len);
cw_result ledger_handle_visit(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                              size_t len);
cw_result ledger_handle_evidence(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out,
                                 char *reason, size_t len);
cw_result ledger_handle_check(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                              size_t len);
/* Decides an order if it can be decided (appending it to the log), else
 * makes sure its timer is set. A questionable order also gets its
 * EvidenceRequested notice into out. CW_OK or CW_RETRY. */
cw_result ledger_evaluate(ledger_ctx *c, cw_outbox *out, const char *order_id);
/* finalized_through now (see above), never below the last published one.
 * 0, or -1 when Redis cannot be asked or no partition is assigned. */
int ledger_finalized_through(ledger_ctx *c, int64_t *out);

/* dossier_store.c: the held corrections' Redis (correction.c). Each
 * CW_OK or CW_RETRY. */
/* The order's dossier hash, into *hash (an array reply the caller frees
 * with freeReplyObject). */
cw_result ledger_store_dossier(ledger_ctx *c, const char *order_id, redisReply **hash);
/* A correction held in the order's dossier (field, value), and the order
 * marked as holding one. */
cw_result ledger_store_hold(ledger_ctx *c, const char *order_id, const char *field,
                            const char *value);
/* Forgets the held fields[0..n) of the order and its mark. */
cw_result ledger_store_unhold(ledger_ctx *c, const char *order_id, const char *const *fields,
                              size_t n);
/* The orders marked as holding corrections, into *members (an array reply
 * the caller frees). */
cw_result ledger_store_held_orders(ledger_ctx *c, redisReply **members);

/* correction.c: the supervision desk's OrderCorrection records
 * (correction_rules.h). */
/* One record: a correcting entry appended, or the correction held in the
 * order's dossier until the order is final, or nothing. CW_OK,
 * CW_REJECT (with reason) or CW_RETRY (Redis). */
cw_result ledger_handle_correction(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out,
                                   char *reason, size_t len);
/* Applies the held corrections of the orders that are final now (before
 * every batch is produced). CW_OK or CW_RETRY. */
cw_result ledger_apply_held_corrections(ledger_ctx *c);
/* At start-up, after ledger_index_log: registers the metric, reads the
 * correcting entries of the log into c->corrected and c->corrections and
 * marks the held corrections as to be looked at. 0 or -1. */
int ledger_corrections_start(ledger_ctx *c);

/* publication.c */
/* Entry index of the log read back into *e (ledger_entry_release), with
 * its bytes (borrowed from the log). 0, or -1 logged. */
int ledger_entry_read(const ledger_ctx *c, uint64_t index, ledger_entry *e, const uint8_t **bytes,
                      size_t *len);
/* Reads every entry's order id into c->index. 0 or -1. */
int ledger_index_log(ledger_ctx *c);
/* Publishes the entries a previous run appended but never saw
 * acknowledged, and records the published size. 0 or -1. */
int ledger_publish_tail(ledger_ctx *c);
/* The promise this log last published (finalized_through on
 * ledger.checkpoints) into c->finalized_through, so that a restart never
 * stamps a correcting entry below it while the writer catches up. 0, or
 * -1 logged. */
int ledger_restore_promise(ledger_ctx *c);
/* The stream's before_produce and after_produce hooks (main.c's setup
 * sets them): their user_data is the checker. */
int ledger_before_produce(void *user_data, cw_outbox *out);
void ledger_after_produce(void *user_data);

#endif
