/* The payment run as a state machine, without I/O: contracts, finalized
 * orders, daily statements and payment instructions (docs/design.md §6).
 *
 * Daily statement of contract c for service day D, published at
 * T(D) = 00:00 local of D + publication_lag_days + 1, once the watermark has
 * reached T(D). It counts every order of c not counted before whose
 * finalized_at < T(D) and whose service day is within c's period and not
 * after D: those of day D as valid_orders / invalid_orders, those of earlier
 * days as late_valid_orders / late_invalid_orders (finalized after their
 * own day's statement). A day whose statement would count nothing has none.
 * With day period_end comes the settlement: due = min(Σgross − Σdeduction,
 * budget) − prepaid, SETTLEMENT of due or CLAWBACK of −due: a contract is
 * never paid beyond its budget. The PREPAY is budget × prepay_ratio,
 * issued when the contract is first seen. A statement that takes the
 * contract's consumption (Σgross − Σdeduction so far) above 80 % of the
 * budget, or above the budget, raises BUDGET_80 / BUDGET_EXCEEDED with it
 * (pay_budget_crossed): once each, as the statements are published once.
 *
 * Historical contracts (Contract.historical: a past period registered by an
 * import, docs/design.md §6 and §7) were paid long ago: no PREPAY, no statement, no
 * budget alert. Their orders wait, admitted as any other, until T(period_end);
 * then one CLAWBACK of (invalid orders) × invalid_deduction_cents, not capped
 * by the budget (it pays nothing), or no instruction at all when none was
 * invalid. Valid orders are counted for the report only. Whether an account
 * is historical is decided by what it published, then by the contract: one
 * with a PREPAY or a statement is a running contract whatever a later version
 * says; one closed without a PREPAY was historical; otherwise the version
 * held decides, so a historical contract turned into a running one before its
 * settlement instant gets its PREPAY then. (Ingest refuses a version that
 * changes the flag; a historical account closed with nothing to claw back
 * leaves no record, so such a change after it would be seen by a restart.)
 * Every instruction names its payer and payee: PREPAY and SETTLEMENT from the
 * treasury account to the provider's, CLAWBACK back (pay_accounts).
 *
 * Orders are rejected (for the dead letters) when they name no contract,
 * fall outside their contract's period, belong to another provider than the
 * contract, or were finalized at or after the settlement instant T(period_end)
 * or after the settlement was made: the settlement cannot take them any more.
 * An order id seen before is a duplicate and counts nothing.
 *
 * Because a statement counts by event time, the outcome depends only on the
 * records, not on the order they were read in, as long as no record arrives
 * after the watermark passed its finalized_at; one that does is counted as a
 * late adjustment on the next statement. The scheduler sees to that: its
 * watermark is the smallest partition clock minus the allowed lateness
 * (pay_watermark), capped by the ledger's promise G (ledger_progress.h:
 * every order with finalized_at <= G has been read), so only an order the
 * ledger finalized after its statement's instant can be late.
 * So a batch run over the whole stream (add everything, then advance once)
 * yields the statements and instructions the streaming run did.
 *
 * Restart. The state is rebuilt from what was published (restore_*, read
 * back from the output topics) and the whole input (replay_order): an order
 * already counted is the one that the published statements would have
 * counted — the first published statement of its contract on or after its
 * day that was published after its finalized_at. If the published counts are
 * short of that (an order arrived after its statement, and the crash came
 * before the next one), the difference is carried as late adjustments into
 * the next statement. Nothing published is published again: statements only
 * for days after the last published one, instructions only when absent.
 * A historical account whose CLAWBACK was published counts every replayed
 * order as counted by it (the scheduler skips those it dead-lettered).
 *
 * Corrections. A correcting entry (OrderFinalized.corrects_index, the
 * supervision desk's later decision) moves the order from the status of
 * the entry it corrects to its own: it adds the change of the counts
 * (VALID -> INVALID: valid -1, invalid +1) to its contract. It is admitted
 * as an order is (same provider, service day in the period), once per
 * correction id, and only when the entry it corrects was admitted (one
 * that was refused stays finance's to handle). Finalized before
 * T(period_end), it counts by its finalized_at like an order, on the
 * first statement on or after its order's day published after it: in
 * valid_orders / invalid_orders on its order's own day's statement, else
 * in late_valid_orders / late_invalid_orders, which may then be negative
 * (and gross_cents or deduction_cents with them: a statement that carries
 * only a correction from VALID to INVALID has late_valid_orders -1,
 * gross_cents -unit price). One read after the settlement although
 * finalized before T(period_end) (only without the ledger's promise) is
 * refused like a late order. Finalized at or after T(period_end), it gets
 * an instruction of its own once the contract is settled (or, historical,
 * closed) and the watermark reaches its finalized_at: the money the
 * settlement would have moved differently, pay_correction_due (running
 * contract: min(net, budget) before and after; historical: its change of
 * invalid orders × invalid deduction), a CLAWBACK
 * "<contract_id>:CLAWBACK:<correction_id>" or a SETTLEMENT
 * "<contract_id>:SETTLEMENT:<correction_id>", created_at = its
 * finalized_at (T(period_end) at the earliest); none when it moves
 * nothing. Such corrections are taken in order of finalized_at, then
 * ledger index, then correction id, so the budget cap splits the money the
 * same way however the partitions were read. On a restart they are taken again in that order from the
 * settlement's net: one whose instruction was published is not instructed
 * again, one before it moved nothing and moves nothing again, the rest are
 * instructed as they come due. UNDER_SERVED reads an order's first entry
 * only.
 *
 * Usage:
 *   st = pay_state_new(480);
 *   restore_instruction / restore_statement   (everything published)
 *   put_contract                              (every contract)
 *   replay_order, then finish_replay          (the input so far)
 *   advance(watermark)
 *   then, per batch of new records: put_contract / add_order, advance.
 * Outputs are appended to a pay_output that the caller publishes. */
#ifndef PAYMENT_STATE_H
#define PAYMENT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "payment-scheduler/payment_rules.h"
#include "payment-scheduler/service_months.h"

/* UNDER_SERVED's default lag after a month's end (service_months.h). */
#define PAY_UNDER_SERVED_LAG_DAYS 3

typedef struct {
    char contract_id[PAY_ID_MAX + 1];
    char provider_id[PAY_ID_MAX + 1];
    int64_t period_start, period_end; /* service days, inclusive */
    int64_t budget_cents;
    int64_t unit_price_cents;
    int64_t invalid_deduction_cents;
    int32_t prepay_ratio_ppm;
    int32_t publication_lag_days;
    int64_t updated_at;
    int historical; /* a past period: see above */
    /* "" when the contract names none (Avro null). */
    char provider_account[PAY_ACCOUNT_MAX + 1];
    char treasury_account[PAY_ACCOUNT_MAX + 1];
} pay_contract;

/* 0 when the contract's values make sense (non-empty ids, period_start <=
 * period_end, money >= 0, ratio within 0..1 000 000 ppm, lag 0..366,
 * accounts empty or pay_account_ok); otherwise -1 with the reason. */
int pay_contract_check(const pay_contract *c, char *reason, size_t reason_len);

typedef struct {
    char contract_id[PAY_ID_MAX + 1];
    char provider_id[PAY_ID_MAX + 1];
    int64_t service_day;
    int32_t valid_orders, invalid_orders;
    int32_t late_valid_orders, late_invalid_orders;
    int64_t gross_cents, deduction_cents;
    int64_t published_at;
} pay_statement;

typedef struct {
    char contract_id[PAY_ID_MAX + 1];
    char provider_id[PAY_ID_MAX + 1];
    cw_payment_kind kind;
    int64_t amount_cents;
    int64_t period_start, period_end;
    int64_t created_at;
    /* From the contract held when it was made (pay_accounts); "": none. */
    char payer_account[PAY_ACCOUNT_MAX + 1];
    char payee_account[PAY_ACCOUNT_MAX + 1];
    /* A correction's own instruction (see Corrections above); "": the
     * contract's PREPAY, SETTLEMENT or CLAWBACK. */
    char correction_id[PAY_CORRECTION_ID_MAX + 1];
} pay_instruction;

/* The instruction's id: pay_instruction_id, or for a correction's
 * pay_correction_instruction_id. 0 or -1 (does not fit). */
int pay_instruction_record_id(const pay_instruction *in, char *buf, size_t len);

/* A budget level crossed by a statement (alerts.finance). */
typedef struct {
    char contract_id[PAY_ID_MAX + 1];
    char provider_id[PAY_ID_MAX + 1];
    pay_budget_level level;
    int64_t consumed_cents;  /* Σgross − Σdeduction with the statement */
    int64_t threshold_cents; /* the level's amount */
    int64_t budget_cents;
    int64_t service_day;     /* the statement's day */
    int64_t at;              /* the statement's published_at */
} pay_budget_alert;

/* What a call published, in order. The caller owns it: pay_output_clear
 * empties it for reuse, pay_output_free releases it. */
typedef struct {
    pay_statement *statements;
    size_t statement_count, statement_cap;
    pay_instruction *instructions;
    size_t instruction_count, instruction_cap;
    pay_budget_alert *budget_alerts;
    size_t budget_alert_count, budget_alert_cap;
    pay_month_verdict *month_verdicts; /* UNDER_SERVED, per elder and month */
    size_t month_verdict_count, month_verdict_cap;
} pay_output;

void pay_output_clear(pay_output *out);
void pay_output_free(pay_output *out);

/* A finalized order; strings are borrowed for the call. */
typedef struct {
    const char *order_id;
    const char *provider_id;
    const char *contract_id; /* NULL: no contract holds the service day */
    int64_t service_day;
    int valid;     /* status VALID (1) or INVALID (0) */
    int cancelled; /* status CANCELLED: neither paid nor deducted */
    /* For UNDER_SERVED (service_months.h): */
    const char *elder_id; /* NULL: the order is not counted for its elder */
    int has_duration;
    int32_t duration_minutes;
    int32_t visits_per_month, minutes_per_visit; /* the stamped duty; 0: none */
    int64_t finalized_at;
    int64_t ledger_index; /* its entry in the ledger (ledger_progress.h) */
    /* A correcting entry: the ledger index of the entry it corrects and its
     * correction id (both from the OrderFinalized); has_corrects 0 for an
     * order's first entry. */
    int has_corrects;
    int64_t corrects_index;
    const char *correction_id;
} pay_order;

typedef enum {
    PAY_ORDER_PENDING = 0, /* waits for its statement (a correction: or its instruction) */
    PAY_ORDER_COUNTED,     /* replay: a published statement (or instruction) counted it */
    PAY_ORDER_DUPLICATE,   /* its id (a correction's: its correction id) was seen before */
    PAY_ORDER_CANCELLED,   /* CANCELLED (the elder was away), or a correction that
                              changes no count: seen, never counted */
    PAY_ORDER_REJECTED,    /* cannot be paid; the reason says why */
    PAY_ORDER_ERROR        /* out of memory */
} pay_order_result;

/* Read-only view of one contract's account. */
typedef struct {
    const char *contract_id;
    const pay_contract *contract;     /* NULL until its Contract record is seen */
    const pay_statement *statements;  /* published, by service day */
    size_t statement_count;
    int has_prepay;
    pay_instruction prepay;
    int settled;                      /* a settlement instruction exists */
    pay_instruction settlement;       /* SETTLEMENT or CLAWBACK, when settled */
    int closed;                       /* settled, or historical with nothing to claw back */
    int historical;                   /* settled (or to be) as a historical period */
    int64_t historical_valid;         /* orders a historical close counted */
    int64_t historical_invalid;       /* (its CLAWBACK is invalid × deduction) */
    size_t pending_orders;            /* accepted, not counted yet */
    int64_t unsettled_orders;         /* left uncounted at the settlement */
    /* Corrections after the settlement instant (see Corrections above): the
     * instructions made for them, and the changes of the counts they
     * brought after the settlement. */
    const pay_instruction *corrections;
    size_t correction_count;
    int64_t corrected_valid, corrected_invalid;
    size_t pending_corrections;       /* accepted, neither counted nor instructed yet */
} pay_account;

typedef struct pay_state pay_state;

/* utc_offset_minutes: the service days' zone (480 = UTC+8). NULL when out
 * of memory. Freed with pay_state_free. */
pay_state *pay_state_new(int utc_offset_minutes);
/* Whether the state judges UNDER_SERVED (on by default, lag 3 days), and
 * with which lag after a month's end. Before any order. 0 or -1 (memory). */
int pay_state_judge_months(pay_state *st, int enabled, int lag_days);
void pay_state_free(pay_state *st);

/* What the state made of a record it was given. */
typedef enum {
    PAY_RECORD_TAKEN,   /* recorded */
    PAY_RECORD_IGNORED, /* one of the same id restored before, or an older contract */
    PAY_RECORD_NOMEM
} pay_record_result;

/* ---- restart: what was published already --------------------------------- */

/* TAKEN, IGNORED (a record of the same id was restored before) or NOMEM. */
pay_record_result pay_state_restore_statement(pay_state *st, const pay_statement *s);
pay_record_result pay_state_restore_instruction(pay_state *st, const pay_instruction *in);

/* ---- contracts ----------------------------------------------------------- */

/* Records a contract (checked with pay_contract_check first). A version
 * older than the one held (updated_at) is ignored. The first time a running
 * (not historical) contract is seen without a PREPAY already published and
 * before it is closed, the PREPAY is added to out. TAKEN, IGNORED (older
 * than, or the same as, the version held) or NOMEM. */
pay_record_result pay_state_put_contract(pay_state *st, const pay_contract *c,
                                         pay_output *out);

/* ---- orders -------------------------------------------------------------- */

/* A newly consumed order: PENDING, DUPLICATE, REJECTED (reason written) or
 * ERROR. */
pay_order_result pay_state_add_order(pay_state *st, const pay_order *o, char *reason,
                                     size_t reason_len);

/* An order of the input replayed at start-up, after the restore_* calls and
 * the contracts: COUNTED, PENDING, DUPLICATE, REJECTED or ERROR. */
pay_order_result pay_state_replay_order(pay_state *st, const pay_order *o, char *reason,
                                        size_t reason_len);

/* Marks an order id as seen without counting it (its record went to the
 * dead letters before). 0 or -1 out of memory. */
int pay_state_mark_seen(pay_state *st, const char *order_id);
/* The same for any entry: its order id, or a correcting entry's correction
 * id, is seen, and the entry is not paid (a correction of it is refused). */
int pay_state_mark_refused(pay_state *st, const pay_order *o);

/* Ends the replay: whatever the published statements are short of the
 * replayed orders becomes late adjustments of the next statement. 0 or -1. */
int pay_state_finish_replay(pay_state *st);

/* ---- time ---------------------------------------------------------------- */

/* Publishes, in order of contract id and then day, every statement and
 * settlement due at the watermark (for a historical contract, its CLAWBACK
 * at T(period_end)). 0, or -1 out of memory or on an
 * overflow (logged nowhere: the caller reports it). */
int pay_state_advance(pay_state *st, int64_t watermark, pay_output *out);

/* The earliest instant at which advance would publish something, or
 * INT64_MAX. */
int64_t pay_state_next_due(const pay_state *st);

/* ---- reading ------------------------------------------------------------- */

/* Accounts in contract id order; the pointer is valid until the next
 * change to the state. */
size_t pay_state_account_count(const pay_state *st);
const pay_account *pay_state_account(const pay_state *st, size_t i);
/* NULL when the contract is unknown. */
const pay_account *pay_state_find_account(const pay_state *st, const char *contract_id);

int pay_state_utc_offset(const pay_state *st);

#endif
