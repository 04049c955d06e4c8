/* The payment scheduler's records on Kafka, between their Avro encoding
 * and the structs of payment_state.h: the one place they are read and
 * built. No I/O: values come as Kafka payloads, read with the generated
 * readers (avro_records.h), and go out encoded into an outbox.
 *
 *   orders.finalized       OrderFinalized   -> pay_order
 *   ref.contracts          Contract         -> pay_contract
 *   ledger.checkpoints     LedgerCheckpoint -> pay_checkpoint
 *   payments.statements    DailyStatement  <-> pay_statement   (key contract_id)
 *   payments.instructions  PaymentInstruction <-> pay_instruction (key contract_id)
 *   alerts.finance         Alert            <-  pay_budget_alert (key contract_id)
 *   visit.checks           CheckResult      <-  pay_month_verdict (UNDER_SERVED, key
 *                                               "<elder_id>:<YYYY-MM>") */
#ifndef PAYMENT_RECORDS_H
#define PAYMENT_RECORDS_H

#include <avro.h>
#include <stddef.h>

#include "outbox.h"
#include "payment-scheduler/payment_state.h"

/* What the scheduler reads of a LedgerCheckpoint (ledger_progress.h). */
typedef struct {
    int64_t tree_size;
    int has_through; /* 0: finalized_through is null or absent */
    int64_t finalized_through;
} pay_checkpoint;

/* From a Kafka value: the single-object decoding, a check of the record
 * type, the generated reader, then the conversion and its checks. 0, or -1
 * with a reason (undecodable, a record of another type, a field missing,
 * a value out of shape):
 *
 *   pay_read_order        an id of 1..PAY_ID_MAX characters, a parsable
 *                         service_day, a correcting entry's correction_id
 *                         (1..PAY_CORRECTION_ID_MAX) and corrects_index
 *                         (>= 0). *value keeps the decoded record (o's
 *                         strings borrow from it) for the caller to release
 *                         with avro_value_decref; on failure there is
 *                         nothing to release.
 *   pay_read_contract     then pay_contract_check; provider_account and
 *                         treasury_account "" when null, refused when
 *                         longer than PAY_ACCOUNT_MAX.
 *   pay_read_checkpoint   finalized_through null: has_through 0.
 *   pay_read_statement,   the service's own output read back (an
 *   pay_read_instruction  instruction's payer_account and payee_account as
 *                         the contract's accounts above). */
int pay_read_order(const void *payload, size_t len, avro_value_t *value, pay_order *o,
                   char *reason, size_t reason_len);
int pay_read_contract(const void *payload, size_t len, pay_contract *c, char *reason,
                      size_t reason_len);
int pay_read_checkpoint(const void *payload, size_t len, pay_checkpoint *cp, char *reason,
                        size_t reason_len);
int pay_read_statement(const void *payload, size_t len, pay_statement *s, char *reason,
                       size_t reason_len);
int pay_read_instruction(const void *payload, size_t len, pay_instruction *in, char *reason,
                         size_t reason_len);

/* A LedgerCheckpoint value into *cp. finalized_through is optional: a
 * value of the schema before that field existed reads as null. 0 or -1
 * with a reason. */
int pay_checkpoint_from_avro(avro_value_t *v, pay_checkpoint *cp, char *reason,
                             size_t reason_len);

/* Encodes s (DailyStatement) / in (PaymentInstruction), with their
 * deterministic ids, into the outbox for their topic, keyed by contract_id.
 * 0, or -1 with a message in err. */
int pay_outbox_add_statement(cw_outbox *ob, const pay_statement *s, char *err, size_t errlen);
int pay_outbox_add_instruction(cw_outbox *ob, const pay_instruction *in, char *err,
                               size_t errlen);
/* UNDER_SERVED of one elder and month as a CheckResult: check_id
 * "<elder_id>:<YYYY-MM>:UNDER_SERVED", order_id "<elder_id>:<YYYY-MM>", no
 * caregiver or event, ORANGE or PASS, measured the valid orders and
 * threshold visits_per_month (absent when the elder has no monthly duty),
 * unit "visits", at the month's cutoff. 0, or -1 with err. */
int pay_outbox_add_month_verdict(cw_outbox *ob, const pay_month_verdict *v, char *err,
                                 size_t errlen);
/* "<elder_id>:<YYYY-MM>". 0, or -1 when it does not fit. */
int pay_month_subject(const pay_month_verdict *v, char *buf, size_t len);

/* A budget level crossed, as an Alert for finance: alert_id
 * "<contract_id>:<BUDGET_80|BUDGET_EXCEEDED>" (once per contract), order_id
 * the statement that crossed it, colour orange (80 %) or red (exceeded),
 * measured the consumption and threshold the level in yuan, at and
 * raised_at the statement's published_at; no street, elder or caregiver. */
int pay_outbox_add_budget_alert(cw_outbox *ob, const pay_budget_alert *b, char *err,
                                size_t errlen);

#endif
