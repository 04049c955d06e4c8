#include "payment-scheduler/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

/* ---- text ---------------------------------------------------------------- */

void pay_text_printf(pay_text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->data != NULL && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap : 4096;
        while (cap - t->len <= (size_t)n)
            cap *= 2;
        char *p = realloc(t->data, cap);
        if (p == NULL) {
            t->failed = 1;
            return;
        }
        t->data = p;
        t->cap = cap;
    }
}

/* Appends n bytes of s. */
static void append(pay_text *t, const char *s, size_t n)
{
    pay_text_printf(t, "%.*s", (int)n, s);
}

void pay_text_free(pay_text *t)
{
    free(t->data);
    memset(t, 0, sizeof(*t));
}

/* ---- period -------------------------------------------------------------- */

int pay_period_parse(const char *text, pay_period *p)
{
    memset(p, 0, sizeof(*p));
    const char *dots = strstr(text, "..");
    if (dots != NULL) {
        char first[16];
        size_t n = (size_t)(dots - text);
        if (n >= sizeof(first))
            return -1;
        memcpy(first, text, n);
        first[n] = '\0';
        if (cw_date_parse(first, &p->first_day) != 0 ||
            cw_date_parse(dots + 2, &p->last_day) != 0 || p->last_day < p->first_day)
            return -1;
    } else {
        char day[16];
        if (strlen(text) != 7 || snprintf(day, sizeof(day), "%s-01", text) != 10 ||
            cw_date_parse(day, &p->first_day) != 0)
            return -1;
        int64_t y;
        unsigned m, d;
        cw_civil_from_days(p->first_day, &y, &m, &d);
        int64_t next = m == 12 ? cw_days_from_civil(y + 1, 1, 1) : cw_days_from_civil(y, m + 1, 1);
        p->last_day = next - 1;
    }
    snprintf(p->label, sizeof(p->label), "%s", text);
    return 0;
}

int pay_period_holds(const pay_period *p, const pay_contract *c)
{
    return c->period_start <= p->last_day && c->period_end >= p->first_day;
}

/* ---- totals -------------------------------------------------------------- */

typedef struct {
    char provider_id[PAY_ID_MAX + 1];
    int64_t contracts, valid, invalid, late_valid, late_invalid;
    int64_t gross, deduction, prepaid, settlement, clawback;
    int64_t pending, unpaid, historical;
} provider_total;

typedef struct {
    provider_total *rows; /* by provider id; the last is the TOTAL */
    size_t count;
} totals;

/* The next account of the report (its contract's period overlaps the
 * report's) at or after *i, *i moved past it; NULL when there is none. */
static const pay_account *next_account(const pay_report *r, size_t *i)
{
    while (*i < pay_state_account_count(r->state)) {
        const pay_account *a = pay_state_account(r->state, (*i)++);
        if (a->contract != NULL && pay_period_holds(&r->period, a->contract))
            return a;
    }
    return NULL;
}

static provider_total *row_for(totals *t, const char *provider_id, size_t cap)
{
    size_t i = 0;
    while (i < t->count && strcmp(t->rows[i].provider_id, provider_id) < 0)
        i++;
    if (i < t->count && strcmp(t->rows[i].provider_id, provider_id) == 0)
        return &t->rows[i];
    if (t->count == cap)
        return NULL;
    memmove(&t->rows[i + 1], &t->rows[i], (t->count - i) * sizeof(*t->rows));
    memset(&t->rows[i], 0, sizeof(*t->rows));
    snprintf(t->rows[i].provider_id, sizeof(t->rows[i].provider_id), "%s", provider_id);
    t->count++;
    return &t->rows[i];
}

static int add(int64_t *sum, int64_t v)
{
    return pay_add_cents(*sum, v, sum);
}

static int add_row(provider_total *sum, const provider_total *x)
{
    return add(&sum->contracts, x->contracts) || add(&sum->valid, x->valid) ||
           add(&sum->invalid, x->invalid) || add(&sum->late_valid, x->late_valid) ||
           add(&sum->late_invalid, x->late_invalid) || add(&sum->gross, x->gross) ||
           add(&sum->deduction, x->deduction) || add(&sum->prepaid, x->prepaid) ||
           add(&sum->settlement, x->settlement) || add(&sum->clawback, x->clawback) ||
           add(&sum->pending, x->pending) || add(&sum->unpaid, x->unpaid) ||
           add(&sum->historical, x->historical);
}

static int account_row(const pay_account *a, provider_total *p)
{
    p->contracts++;
    /* A historical period has no statements: the orders its close counted
     * show in the counts (and the invalid rate), its CLAWBACK below. */
    if (a->historical &&
        (add(&p->historical, 1) || add(&p->valid, a->historical_valid) ||
         add(&p->invalid, a->historical_invalid)))
        return -1;
    for (size_t k = 0; k < a->statement_count; k++) {
        const pay_statement *s = &a->statements[k];
        if (add(&p->valid, s->valid_orders) || add(&p->invalid, s->invalid_orders) ||
            add(&p->late_valid, s->late_valid_orders) ||
            add(&p->late_invalid, s->late_invalid_orders) || add(&p->gross, s->gross_cents) ||
            add(&p->deduction, s->deduction_cents))
            return -1;
    }
    if (a->has_prepay && add(&p->prepaid, a->prepay.amount_cents))
        return -1;
    if (a->settled &&
        add(a->settlement.kind == CW_PAYMENT_KIND_CLAWBACK ? &p->clawback : &p->settlement,
            a->settlement.amount_cents))
        return -1;
    /* Corrections after the settlement: their own instructions, and their
     * changes of the counts as late ones. */
    for (size_t k = 0; k < a->correction_count; k++) {
        const pay_instruction *in = &a->corrections[k];
        if (add(in->kind == CW_PAYMENT_KIND_CLAWBACK ? &p->clawback : &p->settlement,
                in->amount_cents))
            return -1;
    }
    if (add(&p->late_valid, a->corrected_valid) || add(&p->late_invalid, a->corrected_invalid))
        return -1;
    return add(&p->pending, (int64_t)a->pending_orders) ||
           add(&p->unpaid, a->unsettled_orders);
}

/* Builds the per-provider rows and the TOTAL; the caller frees t->rows. */
static int build_totals(const pay_report *r, totals *t)
{
    size_t n = pay_state_account_count(r->state);
    size_t cap = n + r->unpaid_count + 1;
    t->count = 0;
    t->rows = calloc(cap, sizeof(*t->rows));
    if (t->rows == NULL)
        return -1;
    size_t next = 0;
    for (const pay_account *a; (a = next_account(r, &next)) != NULL;) {
        provider_total *p = row_for(t, a->contract->provider_id, cap - 1);
        if (p == NULL || account_row(a, p) != 0)
            return -1;
    }
    for (size_t i = 0; i < r->unpaid_count; i++) {
        provider_total *p = row_for(t, r->unpaid[i].provider_id, cap - 1);
        if (p == NULL || add(&p->unpaid, r->unpaid[i].orders))
            return -1;
    }
    provider_total *sum = &t->rows[t->count];
    memset(sum, 0, sizeof(*sum));
    snprintf(sum->provider_id, sizeof(sum->provider_id), "TOTAL");
    for (size_t i = 0; i < t->count; i++)
        if (add_row(sum, &t->rows[i]) != 0)
            return -1;
    return 0;
}

static int64_t net_paid(const provider_total *p)
{
    int64_t net;
    if (pay_add_cents(p->prepaid, p->settlement, &net) != 0 ||
        __builtin_sub_overflow(net, p->clawback, &net))
        return 0;
    return net;
}

static void rate_text(char *buf, size_t len, int64_t invalid, int64_t valid)
{
    int64_t bp = pay_rate_bp(invalid, invalid + valid);
    snprintf(buf, len, "%lld.%02lld", (long long)(bp / 100), (long long)(bp % 100));
}

/* ---- CSV ----------------------------------------------------------------- */

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void csv_field(pay_text *t, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        pay_text_printf(t, "%s", s);
        return;
    }
    pay_text_printf(t, "\"");
    for (; *s; s++)
        append(t, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    pay_text_printf(t, "\"");
}

int pay_report_totals_csv(const pay_report *r, pay_text *out)
{
    totals t;
    if (build_totals(r, &t) != 0) {
        free(t.rows);
        return -1;
    }
    pay_text_printf(out, "provider_id,contracts,valid_orders,invalid_orders,late_valid_orders,"
                         "late_invalid_orders,invalid_rate_percent,gross_cents,deduction_cents,"
                         "prepaid_cents,settlement_cents,clawback_cents,net_paid_cents,"
                         "pending_orders,unpaid_orders,historical_contracts\r\n");
    for (size_t i = 0; i <= t.count; i++) {
        const provider_total *p = &t.rows[i];
        char rate[32];
        rate_text(rate, sizeof(rate), p->invalid + p->late_invalid, p->valid + p->late_valid);
        csv_field(out, p->provider_id);
        pay_text_printf(out,
                        ",%lld,%lld,%lld,%lld,%lld,%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,"
                        "%lld\r\n",
                        (long long)p->contracts, (long long)p->valid, (long long)p->invalid,
                        (long long)p->late_valid, (long long)p->late_invalid, rate,
                        (long long)p->gross, (long long)p->deduction, (long long)p->prepaid,
                        (long long)p->settlement, (long long)p->clawback,
                        (long long)net_paid(p), (long long)p->pending, (long long)p->unpaid,
                        (long long)p->historical);
    }
    free(t.rows);
    return out->failed ? -1 : 0;
}

int pay_report_statements_csv(const pay_report *r, pay_text *out)
{
    int offset = pay_state_utc_offset(r->state);
    pay_text_printf(out, "statement_id,contract_id,provider_id,service_day,published_at,"
                         "valid_orders,invalid_orders,late_valid_orders,late_invalid_orders,"
                         "gross_cents,deduction_cents\r\n");
    size_t next = 0;
    for (const pay_account *a; (a = next_account(r, &next)) != NULL;) {
        for (size_t k = 0; k < a->statement_count; k++) {
            const pay_statement *s = &a->statements[k];
            char id[PAY_RECORD_ID_MAX], day[16], at[40];
            if (pay_statement_id(id, sizeof(id), s->contract_id, s->service_day) != 0)
                return -1;
            cw_date_format(s->service_day, day, sizeof(day));
            cw_time_format_rfc3339(s->published_at, offset, at, sizeof(at));
            csv_field(out, id);
            pay_text_printf(out, ",");
            csv_field(out, s->contract_id);
            pay_text_printf(out, ",");
            csv_field(out, s->provider_id);
            pay_text_printf(out, ",%s,%s,%d,%d,%d,%d,%lld,%lld\r\n", day, at, s->valid_orders,
                            s->invalid_orders, s->late_valid_orders, s->late_invalid_orders,
                            (long long)s->gross_cents, (long long)s->deduction_cents);
        }
    }
    return out->failed ? -1 : 0;
}

static int instruction_row(pay_text *out, const pay_instruction *in)
{
    char id[PAY_INSTRUCTION_ID_MAX], start[16], end[16];
    if (pay_instruction_record_id(in, id, sizeof(id)) != 0)
        return -1;
    cw_date_format(in->period_start, start, sizeof(start));
    cw_date_format(in->period_end, end, sizeof(end));
    csv_field(out, id);
    pay_text_printf(out, ",");
    csv_field(out, in->contract_id);
    pay_text_printf(out, ",");
    csv_field(out, in->provider_id);
    pay_text_printf(out, ",%s,%lld,%s,%s,%lld,", cw_payment_kind_name(in->kind),
                    (long long)in->amount_cents, start, end, (long long)in->created_at);
    csv_field(out, in->payer_account);
    pay_text_printf(out, ",");
    csv_field(out, in->payee_account);
    pay_text_printf(out, "\r\n");
    return 0;
}

int pay_report_instructions_csv(const pay_report *r, pay_text *out)
{
    pay_text_printf(out, "instruction_id,contract_id,provider_id,kind,amount_cents,"
                         "period_start,period_end,created_at,payer_account,payee_account\r\n");
    size_t next = 0;
    for (const pay_account *a; (a = next_account(r, &next)) != NULL;) {
        if ((a->has_prepay && instruction_row(out, &a->prepay) != 0) ||
            (a->settled && instruction_row(out, &a->settlement) != 0))
            return -1;
        for (size_t k = 0; k < a->correction_count; k++)
            if (instruction_row(out, &a->corrections[k]) != 0)
                return -1;
    }
    return out->failed ? -1 : 0;
}

/* ---- HTML ---------------------------------------------------------------- */

static void html_text(pay_text *t, const char *s)
{
    while (*s) {
        size_t plain = strcspn(s, "&<>\"'");
        append(t, s, plain);
        s += plain;
        switch (*s) {
        case '&': pay_text_printf(t, "&amp;"); break;
        case '<': pay_text_printf(t, "&lt;"); break;
        case '>': pay_text_printf(t, "&gt;"); break;
        case '"': pay_text_printf(t, "&quot;"); break;
        case '\'': pay_text_printf(t, "&#39;"); break;
        default: return;
        }
        s++;
    }
}

static void yuan_cell(pay_text *t, int64_t cents)
{
    char y[40];
    pay_format_yuan(y, sizeof(y), cents);
    pay_text_printf(t, "<td class=\"n\">%s</td>", y);
}

typedef struct {
    int64_t valid, invalid, late_valid, late_invalid, gross, deduction;
} day_total;

/* Sums of the selected statements by service day of the period. */
static day_total *daily_series(const pay_report *r, size_t *days)
{
    *days = (size_t)(r->period.last_day - r->period.first_day + 1);
    day_total *d = calloc(*days, sizeof(*d));
    if (d == NULL)
        return NULL;
    size_t next = 0;
    for (const pay_account *a; (a = next_account(r, &next)) != NULL;) {
        for (size_t k = 0; k < a->statement_count; k++) {
            const pay_statement *s = &a->statements[k];
            if (s->service_day < r->period.first_day || s->service_day > r->period.last_day)
                continue;
            day_total *x = &d[s->service_day - r->period.first_day];
            x->valid += s->valid_orders;
            x->invalid += s->invalid_orders;
            x->late_valid += s->late_valid_orders;
            x->late_invalid += s->late_invalid_orders;
            if (add(&x->gross, s->gross_cents) || add(&x->deduction, s->deduction_cents)) {
                free(d);
                return NULL;
            }
        }
    }
    return d;
}

/* Chart geometry, in whole pixels. */
#define CHART_W 760
#define CHART_H 260
#define PLOT_X 48
#define PLOT_Y 16
#define PLOT_W (CHART_W - PLOT_X - 12)
#define PLOT_H (CHART_H - PLOT_Y - 40)

/* A round axis maximum at or above max: 1, 2 or 5 times a power of ten. */
static int64_t axis_max(int64_t max)
{
    int64_t step = 1;
    for (;;) {
        if (max <= step)
            return step;
        if (max <= 2 * step)
            return 2 * step;
        if (max <= 5 * step)
            return 5 * step;
        step *= 10;
    }
}

static void svg_chart(pay_text *t, const pay_report *r, const day_total *d, size_t days)
{
    int64_t max = 0;
    for (size_t i = 0; i < days; i++)
        if (d[i].valid + d[i].invalid > max)
            max = d[i].valid + d[i].invalid;
    int64_t top = axis_max(max > 0 ? max : 1);
    int64_t slot = PLOT_W / (int64_t)days;
    int64_t bar = slot * 7 / 10 > 0 ? slot * 7 / 10 : 1;
    pay_text_printf(t,
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                    "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"daily valid and invalid "
                    "orders\">\n",
                    CHART_W, CHART_H, CHART_W, CHART_H);
    for (int k = 0; k <= 2; k++) {
        int64_t y = PLOT_Y + PLOT_H - (int64_t)PLOT_H * k / 2;
        pay_text_printf(t,
                        "<line x1=\"%d\" y1=\"%lld\" x2=\"%d\" y2=\"%lld\" class=\"grid\"/>"
                        "<text x=\"%d\" y=\"%lld\" class=\"axis\" text-anchor=\"end\">"
                        "%lld</text>\n",
                        PLOT_X, (long long)y, PLOT_X + PLOT_W, (long long)y, PLOT_X - 6,
                        (long long)y + 4, (long long)(top * k / 2));
    }
    size_t label_every = days > 16 ? (days + 15) / 16 : 1;
    for (size_t i = 0; i < days; i++) {
        int64_t x = PLOT_X + slot * (int64_t)i + (slot - bar) / 2;
        int64_t hv = (int64_t)PLOT_H * d[i].valid / top;
        int64_t hi = (int64_t)PLOT_H * d[i].invalid / top;
        int64_t base = PLOT_Y + PLOT_H;
        char day[16];
        cw_date_format(r->period.first_day + (int64_t)i, day, sizeof(day));
        pay_text_printf(t, "<g><title>%s: %lld valid, %lld invalid</title>", day,
                        (long long)d[i].valid, (long long)d[i].invalid);
        pay_text_printf(t,
                        "<rect class=\"valid\" x=\"%lld\" y=\"%lld\" width=\"%lld\" "
                        "height=\"%lld\"/>",
                        (long long)x, (long long)(base - hv), (long long)bar, (long long)hv);
        pay_text_printf(t,
                        "<rect class=\"invalid\" x=\"%lld\" y=\"%lld\" width=\"%lld\" "
                        "height=\"%lld\"/></g>\n",
                        (long long)x, (long long)(base - hv - hi), (long long)bar, (long long)hi);
        if (i % label_every == 0)
            pay_text_printf(t,
                            "<text x=\"%lld\" y=\"%d\" class=\"axis\" "
                            "text-anchor=\"middle\">%s</text>\n",
                            (long long)(x + bar / 2), CHART_H - 22, day + 5);
    }
    pay_text_printf(t,
                    "<rect class=\"valid\" x=\"%d\" y=\"%d\" width=\"10\" height=\"10\"/>"
                    "<text x=\"%d\" y=\"%d\" class=\"axis\">有效 valid</text>"
                    "<rect class=\"invalid\" x=\"%d\" y=\"%d\" width=\"10\" height=\"10\"/>"
                    "<text x=\"%d\" y=\"%d\" class=\"axis\">无效 invalid</text>\n</svg>\n",
                    PLOT_X, CHART_H - 12, PLOT_X + 14, CHART_H - 3, PLOT_X + 110, CHART_H - 12,
                    PLOT_X + 124, CHART_H - 3);
}

static const char *const page_style =
    "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',Arial,sans-serif;margin:2em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #bbb;padding:.25em .6em}th{background:#eee}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.total td{font-weight:bold;background:#f6f6f6}"
    ".valid{fill:#2e7d32}.invalid{fill:#c62828}"
    ".grid{stroke:#ccc;stroke-width:1}.axis{font-size:11px;fill:#444}"
    "p.note{color:#555;font-size:.9em}";

static void html_totals(pay_text *t, const totals *tt)
{
    pay_text_printf(t, "<h2>承接方汇总 · Totals by provider (T+3 公示)</h2>\n<table>\n<tr>"
                       "<th>承接方 Provider</th><th>合同 Contracts</th><th>有效 Valid</th>"
                       "<th>无效 Invalid</th><th>迟到调整 Late (valid / invalid)</th>"
                       "<th>无效率 Invalid rate</th><th>应付 Gross (元)</th>"
                       "<th>扣款 Deductions (元)</th><th>预拨 Prepaid (元)</th>"
                       "<th>结算 Settlement (元)</th><th>追回 Clawback (元)</th>"
                       "<th>实付 Net paid (元)</th><th>待统计 Pending</th>"
                       "<th>未付 Unpaid</th><th>历史期合同 Historical</th></tr>\n");
    for (size_t i = 0; i <= tt->count; i++) {
        const provider_total *p = &tt->rows[i];
        char rate[32];
        rate_text(rate, sizeof(rate), p->invalid + p->late_invalid, p->valid + p->late_valid);
        pay_text_printf(t, "<tr%s><td>", i == tt->count ? " class=\"total\"" : "");
        html_text(t, i == tt->count ? "合计 Total" : p->provider_id);
        pay_text_printf(t,
                        "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
                        "<td class=\"n\">%lld</td><td class=\"n\">%lld / %lld</td>"
                        "<td class=\"n\">%s%%</td>",
                        (long long)p->contracts, (long long)p->valid, (long long)p->invalid,
                        (long long)p->late_valid, (long long)p->late_invalid, rate);
        yuan_cell(t, p->gross);
        yuan_cell(t, p->deduction);
        yuan_cell(t, p->prepaid);
        yuan_cell(t, p->settlement);
        yuan_cell(t, p->clawback);
        yuan_cell(t, net_paid(p));
        pay_text_printf(t,
                        "<td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
                        "<td class=\"n\">%lld</td></tr>\n",
                        (long long)p->pending, (long long)p->unpaid, (long long)p->historical);
    }
    pay_text_printf(t, "</table>\n");
}

static void html_daily(pay_text *t, const pay_report *r, const day_total *d, size_t days)
{
    pay_text_printf(t, "<h2>每日有效/无效工单 · Daily valid and invalid orders</h2>\n");
    svg_chart(t, r, d, days);
    pay_text_printf(t, "<table>\n<tr><th>服务日 Service day</th><th>有效 Valid</th>"
                       "<th>无效 Invalid</th><th>迟到调整 Late (valid / invalid)</th>"
                       "<th>无效率 Invalid rate</th><th>应付 Gross (元)</th>"
                       "<th>扣款 Deductions (元)</th></tr>\n");
    for (size_t i = 0; i < days; i++) {
        const day_total *x = &d[i];
        char day[16], rate[32];
        if (x->valid + x->invalid + x->late_valid + x->late_invalid == 0)
            continue;
        cw_date_format(r->period.first_day + (int64_t)i, day, sizeof(day));
        rate_text(rate, sizeof(rate), x->invalid, x->valid);
        pay_text_printf(t,
                        "<tr><td>%s</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
                        "<td class=\"n\">%lld / %lld</td><td class=\"n\">%s%%</td>",
                        day, (long long)x->valid, (long long)x->invalid, (long long)x->late_valid,
                        (long long)x->late_invalid, rate);
        yuan_cell(t, x->gross);
        yuan_cell(t, x->deduction);
        pay_text_printf(t, "</tr>\n");
    }
    pay_text_printf(t, "</table>\n");
}

static void html_instruction(pay_text *t, const pay_instruction *in)
{
    char id[PAY_INSTRUCTION_ID_MAX], start[16], end[16];
    if (pay_instruction_record_id(in, id, sizeof(id)) != 0)
        snprintf(id, sizeof(id), "?");
    cw_date_format(in->period_start, start, sizeof(start));
    cw_date_format(in->period_end, end, sizeof(end));
    pay_text_printf(t, "<tr><td>");
    html_text(t, id);
    pay_text_printf(t, "</td><td>");
    html_text(t, in->provider_id);
    pay_text_printf(t, "</td><td>%s</td>", cw_payment_kind_name(in->kind));
    yuan_cell(t, in->amount_cents);
    pay_text_printf(t, "<td>%s – %s</td><td>", start, end);
    html_text(t, in->payer_account[0] ? in->payer_account : "—");
    pay_text_printf(t, " → ");
    html_text(t, in->payee_account[0] ? in->payee_account : "—");
    pay_text_printf(t, "</td></tr>\n");
}

/* A historical period closed without invalid orders: no instruction, shown
 * as nothing to claw back. */
static void html_nothing_owed(pay_text *t, const pay_account *a)
{
    char start[16], end[16];
    cw_date_format(a->contract->period_start, start, sizeof(start));
    cw_date_format(a->contract->period_end, end, sizeof(end));
    pay_text_printf(t, "<tr><td>");
    html_text(t, a->contract_id);
    pay_text_printf(t, " (历史期无无效工单 historical, no invalid order: no instruction)</td><td>");
    html_text(t, a->contract->provider_id);
    pay_text_printf(t, "</td><td>CLAWBACK</td>");
    yuan_cell(t, 0);
    pay_text_printf(t, "<td>%s – %s</td><td>—</td></tr>\n", start, end);
}

static void html_instructions(pay_text *t, const pay_report *r)
{
    pay_text_printf(t, "<h2>支付指令 · Payment instructions</h2>\n<table>\n<tr>"
                       "<th>指令 Instruction</th><th>承接方 Provider</th><th>类型 Kind</th>"
                       "<th>金额 Amount (元)</th><th>合同期 Contract period</th>"
                       "<th>付款方 → 收款方 Payer → payee</th></tr>\n");
    size_t next = 0;
    for (const pay_account *a; (a = next_account(r, &next)) != NULL;) {
        if (a->has_prepay)
            html_instruction(t, &a->prepay);
        if (a->settled)
            html_instruction(t, &a->settlement);
        else if (a->closed && a->historical)
            html_nothing_owed(t, a);
        for (size_t k = 0; k < a->correction_count; k++)
            html_instruction(t, &a->corrections[k]);
    }
    pay_text_printf(t, "</table>\n");
}

int pay_report_html(const pay_report *r, pay_text *out)
{
    totals tt;
    size_t days;
    if (build_totals(r, &tt) != 0) {
        free(tt.rows);
        return -1;
    }
    day_total *d = daily_series(r, &days);
    if (d == NULL) {
        free(tt.rows);
        return -1;
    }
    int offset = pay_state_utc_offset(r->state);
    char first[16], last[16], wm[40], generated[40];
    cw_date_format(r->period.first_day, first, sizeof(first));
    cw_date_format(r->period.last_day, last, sizeof(last));
    if (r->watermark == INT64_MIN)
        snprintf(wm, sizeof(wm), "—");
    else
        cw_time_format_rfc3339(r->watermark, offset, wm, sizeof(wm));
    cw_time_format_rfc3339(r->generated_at, offset, generated, sizeof(generated));

    pay_text_printf(out, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n"
                         "<meta charset=\"utf-8\">\n<title>居家养老服务费结算 · Home-care payments ");
    html_text(out, r->period.label);
    pay_text_printf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n", page_style);
    pay_text_printf(out, "<h1>居家养老服务费结算 · Home-care payments ");
    html_text(out, r->period.label);
    pay_text_printf(out,
                    "</h1>\n<p>服务日 Service days %s – %s. 事件时间水位 Event time reached: %s. "
                    "生成 Generated: %s.</p>\n",
                    first, last, wm, generated);
    pay_text_printf(out,
                    "<p class=\"note\">只有终审有效的工单计费:应付 = 有效 × 单价,扣款 = 无效 × "
                    "扣款额,结算 = Σ应付 − Σ扣款 − 预拨 (负数为资金追回). Only finalized valid "
                    "orders are paid: gross = valid × unit price, deduction = invalid × "
                    "deduction, settlement = Σgross − Σdeduction − prepaid (a negative result is "
                    "a clawback). Late adjustments are orders finalized after their day's "
                    "statement, counted on the next one. 历史期合同 (导入的往期) 不预拨、无日结单,"
                    "按单扣款:追回 = 无效 × 扣款额. A historical contract (a past period "
                    "imported) gets no prepayment and no statements: its clawback is invalid × "
                    "deduction, and its orders show in the totals only.</p>\n");
    html_totals(out, &tt);
    html_daily(out, r, d, days);
    html_instructions(out, r);
    pay_text_printf(out, "</body>\n</html>\n");
    free(d);
    free(tt.rows);
    return out->failed ? -1 : 0;
}
