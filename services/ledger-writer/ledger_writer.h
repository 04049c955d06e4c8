/* The ledger-writer's state shared by its files: main.c (start-up, the
 * record dispatch and timers), dossier_store.c (dossiers in Redis and the
 * decision of each order) and publication.c (what the log holds that Kafka
 * must get). One instance, one thread. */
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

typedef struct {
    cw_checker *ck;
    fin_windows windows;
    int utc_offset_minutes;
    ledger_log *log;
    ledger_key *signer;
    char log_id[128];
    cw_idset index;        /* order id -> ledger index: the orders that are final */
    uint64_t checkpointed; /* log size at the last checkpoint */
    uint64_t published;    /* entries [0, published) are acknowledged on Kafka */
    char published_path[PATH_MAX];
    cw_counter *finalized;   /* by status */
    cw_counter *after_final; /* records about orders already final (ignored) */
    cw_gauge *size;
} ledger_ctx;

/* dossier_store.c: each takes one input record into the order's dossier
 * and decides the order if it can. CW_HANDLED, CW_REJECT (with reason) or
 * CW_RETRY (Redis). */
int lw_handle_order(ledger_ctx *c, const cw_stream_msg *msg, char *reason, size_t len);
int lw_handle_visit(ledger_ctx *c, const cw_stream_msg *msg, char *reason, size_t len);
int lw_handle_evidence(ledger_ctx *c, const cw_stream_msg *msg, char *reason, size_t len);
int lw_handle_check(ledger_ctx *c, const cw_stream_msg *msg, char *reason, size_t len);
int lw_handle_contract(ledger_ctx *c, const cw_stream_msg *msg, char *reason, size_t len);
/* Decides an order if it can be decided (appending it to the log), else
 * makes sure its timer is set. CW_HANDLED or CW_RETRY. */
int lw_evaluate(ledger_ctx *c, const char *order_id);

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
