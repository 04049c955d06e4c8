/* The payment formulas (docs/design.md §6), as pure functions.
 *
 * Money is integer cents (分), never floating point; ratios are parts per
 * million and round half up. Service days are days since 1970-01-01 of the
 * local calendar (UTC+8 by default). */
#ifndef PAYMENT_RULES_H
#define PAYMENT_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "avro_records.h" /* cw_payment_kind: PREPAY, SETTLEMENT, CLAWBACK */

#define PAY_DAY_MS 86400000LL
#define PAY_PPM 1000000LL
/* Contract and provider ids are 1-64 characters (docs/design.md §3). */
#define PAY_ID_MAX 64
/* A payer or payee account (Contract.provider_account, treasury_account):
 * 1-64 printable ASCII characters. */
#define PAY_ACCOUNT_MAX 64
/* "<contract_id>:SETTLEMENT:YYYY-MM-DD" and the like, with the NUL. */
#define PAY_RECORD_ID_MAX (PAY_ID_MAX + 32)
/* A correction id (OrderFinalized.correction_id): 1-190 characters. */
#define PAY_CORRECTION_ID_MAX 190
/* Any instruction id, a correction's "<contract_id>:CLAWBACK:<correction_id>"
 * included, with the NUL. */
#define PAY_INSTRUCTION_ID_MAX (PAY_ID_MAX + 16 + PAY_CORRECTION_ID_MAX)

/* amount × ratio_ppm / 1 000 000, rounded half up to a whole cent: the
 * prepayment is pay_ratio_cents(budget, prepay_ratio_ppm). amount >= 0 and
 * 0 <= ratio_ppm <= 1 000 000. Returns 0, or -1 when out of range. */
int pay_ratio_cents(int64_t amount_cents, int64_t ratio_ppm, int64_t *out);

/* count × unit_cents (gross = valid × unit price, deduction = invalid ×
 * invalid deduction). Both >= 0. Returns 0, or -1 on overflow or a negative
 * operand. */
int pay_times_cents(int64_t count, int64_t unit_cents, int64_t *out);

/* count × unit_cents for a count of either sign (a correction's change of
 * the valid or invalid count); unit_cents >= 0. 0, or -1 on overflow. */
int pay_signed_times_cents(int64_t count, int64_t unit_cents, int64_t *out);

/* a + b, or -1 on overflow. */
int pay_add_cents(int64_t a, int64_t b, int64_t *out);

/* due = min(gross − deduction, budget) − prepaid: SETTLEMENT of due when
 * due >= 0, else CLAWBACK of −due. The budget caps what the contract is
 * paid in all (prepayment and settlement; seed 004 超预算支出): a period
 * whose net is above it is settled up to the budget only. budget >= 0.
 * Returns 0, or -1 on overflow. */
int pay_settlement(int64_t gross_cents, int64_t deduction_cents, int64_t prepaid_cents,
                   int64_t budget_cents, cw_payment_kind *kind, int64_t *amount_cents);

/* The money of a correction after its contract's settlement instant: the
 * contract is paid min(net, budget) in all (pay_settlement), so a net going
 * from net_before to net_after moves min(net_after, budget) −
 * min(net_before, budget): a SETTLEMENT of it when positive, a CLAWBACK of
 * its opposite when negative. A historical contract, not capped, passes
 * INT64_MAX as its budget. */
typedef enum {
    PAY_DUE_MOVES,   /* *kind and *amount_cents > 0 set */
    PAY_DUE_NOTHING, /* it moves no money */
    PAY_DUE_OVERFLOW
} pay_due;
pay_due pay_correction_due(int64_t net_before, int64_t net_after, int64_t budget_cents,
                           cw_payment_kind *kind, int64_t *amount_cents);

/* Whether s is an account name as contracts carry them: 1-64 printable
 * ASCII characters (space to '~'). 1 or 0. */
int pay_account_ok(const char *s);

/* Who pays whom (docs/design.md §6): the treasury account pays PREPAY and
 * SETTLEMENT to the provider's settlement account; a CLAWBACK goes from the
 * provider back to the treasury (上缴区财政国库). *payer and *payee point to
 * provider_account or treasury_account. */
void pay_accounts(cw_payment_kind kind, const char *provider_account,
                  const char *treasury_account, const char **payer, const char **payee);

/* Budget consumption alerts (alerts.finance): a contract's consumption is
 * its net so far (Σgross − Σdeduction of the statements published). */
typedef enum { PAY_BUDGET_80 = 0, PAY_BUDGET_EXCEEDED = 1 } pay_budget_level;

/* "BUDGET_80", "BUDGET_EXCEEDED" (the alert's rule code). */
const char *pay_budget_rule(pay_budget_level level);

/* The consumption above which a level is crossed: 80 % of the budget
 * (rounded half up to a cent), or the budget itself. */
int64_t pay_budget_threshold(int64_t budget_cents, pay_budget_level level);

/* Whether a statement that takes consumption from before to after crosses
 * the level: before <= threshold < after (strictly exceeded, as every
 * threshold; 80 % exactly raises nothing). Once crossed a level is not
 * raised again, even if deductions bring consumption back under it. */
int pay_budget_crossed(int64_t before_cents, int64_t after_cents, int64_t budget_cents,
                       pay_budget_level level);

/* The instant (UTC ms) a daily statement of service_day is published:
 * 00:00 local time of service_day + lag_days + 1. */
int64_t pay_publication_ms(int64_t service_day, int lag_days, int utc_offset_minutes);

/* "<contract_id>:<YYYY-MM-DD>". Returns 0, or -1 when it does not fit. */
int pay_statement_id(char *buf, size_t len, const char *contract_id, int64_t service_day);

/* "<contract_id>:PREPAY", "<contract_id>:SETTLEMENT:<period_end>" or
 * "<contract_id>:CLAWBACK:<period_end>". 0 or -1 (does not fit). */
int pay_instruction_id(char *buf, size_t len, const char *contract_id, cw_payment_kind kind,
                       int64_t period_end);
/* A correction's own instruction: "<contract_id>:CLAWBACK:<correction_id>"
 * or "<contract_id>:SETTLEMENT:<correction_id>". 0 or -1 (does not fit). */
int pay_correction_instruction_id(char *buf, size_t len, const char *contract_id,
                                  cw_payment_kind kind, const char *correction_id);

/* One input partition's clock: the largest event time seen in it
 * (INT64_MIN when none), and whether it is caught up
 * (pay_partition_caught_up). */
typedef struct {
    int64_t max_event_ms;
    int caught_up;
} pay_partition_clock;

/* The watermark: the smallest partition clock, minus the allowed lateness.
 * A partition that is not caught up counts with its own largest event time,
 * so a partition read ahead of the others does not make their records late:
 * a statement instant is passed only once every partition has passed it. A
 * caught-up partition follows the largest event time of all partitions, and
 * in live mode also the wall clock (now_ms). INT64_MIN when nothing is known
 * yet. With stream.wait_for_ledger the scheduler caps the result by the
 * ledger's promise (pay_ledger_cap, ledger_progress.h). */
int64_t pay_watermark(const pay_partition_clock *parts, size_t n, int64_t now_ms, int live,
                      int64_t lateness_ms);

/* Whether a partition counts as caught up, i.e. may follow the others in
 * pay_watermark: no message has come from it for quiet_ms (since_last_ms:
 * wall-clock time since its last message), and its position (the next
 * offset it will read; < 0 when it has read nothing, taken as 0) has
 * reached high, the end offset of the partition at the broker. high < 0
 * (unknown) never counts: the backlog could be anything. A partition that
 * never had a record and is empty (high 0) is caught up. 1 or 0. */
int pay_partition_caught_up(int64_t since_last_ms, int64_t quiet_ms, int64_t position,
                            int64_t high);

/* part / whole in basis points (1/100 of a percent), rounded half up; 0
 * when whole is 0. Both >= 0, part <= whole. */
int64_t pay_rate_bp(int64_t part, int64_t whole);

/* Writes cents as yuan with two decimals ("-12.05"). 0, or -1 when it does
 * not fit. */
int pay_format_yuan(char *buf, size_t len, int64_t cents);

#endif
