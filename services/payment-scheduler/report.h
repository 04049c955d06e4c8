/* The finance officer's report of a payment run over a period, rendered
 * from a pay_state without I/O: CSV files and one static HTML page (inline
 * CSS and SVG, no external assets).
 *
 * A contract belongs to the period when its own period overlaps it; its
 * statements and instructions are reported whole. Money columns are integer
 * cents in the CSV files and yuan with two decimals in the page; invalid
 * rates are invalid / (valid + invalid) of the counted orders, late
 * adjustments included, rounded half up to 0.01 %. */
#ifndef PAY_REPORT_H
#define PAY_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "payment-scheduler/payment_state.h"

typedef struct {
    int64_t first_day, last_day; /* service days, inclusive */
    char label[32];              /* "2024-05", or "2024-05-01..2024-05-31" */
} pay_period;

/* "YYYY-MM" (the calendar month) or "YYYY-MM-DD..YYYY-MM-DD". 0 or -1. */
int pay_period_parse(const char *text, pay_period *p);

/* Whether contract c's period overlaps p. */
int pay_period_holds(const pay_period *p, const pay_contract *c);

/* A growing text buffer. The caller frees it with pay_text_free. When an
 * append runs out of memory, failed is set and later appends do nothing. */
typedef struct {
    char *data; /* NUL-terminated while not failed */
    size_t len, cap;
    int failed;
} pay_text;

void pay_text_printf(pay_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pay_text_free(pay_text *t);

/* Orders of one provider that could not be paid (no contract, outside the
 * period, finalized after the settlement), counted by the run. */
typedef struct {
    char provider_id[PAY_ID_MAX + 1];
    int64_t orders;
} pay_unpaid;

typedef struct {
    const pay_state *state;
    pay_period period;
    int64_t watermark;    /* the run's event-time position (UTC ms) */
    int64_t generated_at; /* shown on the page (UTC ms) */
    const pay_unpaid *unpaid;
    size_t unpaid_count;
} pay_report;

/* Per provider: provider_id, contracts, valid_orders, invalid_orders,
 * late_valid_orders, late_invalid_orders, invalid_rate_percent, gross_cents,
 * deduction_cents, prepaid_cents, settlement_cents, clawback_cents,
 * net_paid_cents, pending_orders, unpaid_orders, historical_contracts; then
 * a TOTAL row. A historical contract adds the orders its close counted to
 * valid_orders and invalid_orders (no gross, no deduction: it has no
 * statements) and its CLAWBACK, 0 when it had no invalid order. A
 * correction after its contract's settlement instant adds its change of the
 * counts to the late columns and its own instruction to settlement_cents or
 * clawback_cents.
 * 0, or -1 out of memory or on an overflow. */
int pay_report_totals_csv(const pay_report *r, pay_text *out);

/* Every statement: statement_id, contract_id, provider_id, service_day,
 * published_at (RFC 3339, local), the four counts, gross_cents,
 * deduction_cents. */
int pay_report_statements_csv(const pay_report *r, pay_text *out);

/* Every instruction: instruction_id, contract_id, provider_id, kind,
 * amount_cents, period_start, period_end, created_at (UTC ms), payer_account,
 * payee_account (empty when null). */
int pay_report_instructions_csv(const pay_report *r, pay_text *out);

/* The page: per-provider totals and invalid rates (the T+3 public notice),
 * the daily valid / invalid series as an SVG bar chart and a table (of the
 * statements: historical contracts have none), and the instructions with
 * payer and payee, a historical contract closed with nothing to claw back
 * shown as 0. */
int pay_report_html(const pay_report *r, pay_text *out);

#endif
