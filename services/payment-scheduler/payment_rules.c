#include "payment-scheduler/payment_rules.h"

#include <stdio.h>
#include <string.h>

#include "timeutil.h"

int pay_ratio_cents(int64_t amount_cents, int64_t ratio_ppm, int64_t *out)
{
    if (amount_cents < 0 || ratio_ppm < 0 || ratio_ppm > PAY_PPM)
        return -1;
    /* amount = q·10⁶ + r, so amount·ratio/10⁶ = q·ratio + r·ratio/10⁶; r·ratio
     * < 10¹² and q·ratio <= amount never overflow. */
    int64_t q = amount_cents / PAY_PPM, r = amount_cents % PAY_PPM;
    int64_t whole = q * ratio_ppm;
    int64_t rest = r * ratio_ppm;
    *out = whole + (rest + PAY_PPM / 2) / PAY_PPM;
    return 0;
}

int pay_times_cents(int64_t count, int64_t unit_cents, int64_t *out)
{
    if (count < 0 || unit_cents < 0)
        return -1;
    return __builtin_mul_overflow(count, unit_cents, out) ? -1 : 0;
}

int pay_signed_times_cents(int64_t count, int64_t unit_cents, int64_t *out)
{
    if (unit_cents < 0)
        return -1;
    return __builtin_mul_overflow(count, unit_cents, out) ? -1 : 0;
}

int pay_add_cents(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}

int pay_settlement(int64_t gross_cents, int64_t deduction_cents, int64_t prepaid_cents,
                   int64_t budget_cents, cw_payment_kind *kind, int64_t *amount_cents)
{
    int64_t net, due;
    if (budget_cents < 0 || __builtin_sub_overflow(gross_cents, deduction_cents, &net))
        return -1;
    if (net > budget_cents)
        net = budget_cents;
    if (__builtin_sub_overflow(net, prepaid_cents, &due) || due == INT64_MIN)
        return -1;
    if (due >= 0) {
        *kind = CW_PAYMENT_KIND_SETTLEMENT;
        *amount_cents = due;
    } else {
        *kind = CW_PAYMENT_KIND_CLAWBACK;
        *amount_cents = -due;
    }
    return 0;
}

pay_due pay_correction_due(int64_t net_before, int64_t net_after, int64_t budget_cents,
                           cw_payment_kind *kind, int64_t *amount_cents)
{
    int64_t before = net_before < budget_cents ? net_before : budget_cents;
    int64_t after = net_after < budget_cents ? net_after : budget_cents;
    int64_t delta;
    if (__builtin_sub_overflow(after, before, &delta) || delta == INT64_MIN)
        return PAY_DUE_OVERFLOW;
    if (delta == 0)
        return PAY_DUE_NOTHING;
    *kind = delta > 0 ? CW_PAYMENT_KIND_SETTLEMENT : CW_PAYMENT_KIND_CLAWBACK;
    *amount_cents = delta > 0 ? delta : -delta;
    return PAY_DUE_MOVES;
}

int pay_account_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (n >= PAY_ACCOUNT_MAX || s[n] < 0x20 || s[n] > 0x7e)
            return 0;
    return n > 0;
}

void pay_accounts(cw_payment_kind kind, const char *provider_account, const char *treasury_account,
                  const char **payer, const char **payee)
{
    int back = kind == CW_PAYMENT_KIND_CLAWBACK;
    *payer = back ? provider_account : treasury_account;
    *payee = back ? treasury_account : provider_account;
}

const char *pay_budget_rule(pay_budget_level level)
{
    return level == PAY_BUDGET_80 ? "BUDGET_80" : "BUDGET_EXCEEDED";
}

int64_t pay_budget_threshold(int64_t budget_cents, pay_budget_level level)
{
    int64_t t = budget_cents;
    if (level == PAY_BUDGET_80 && pay_ratio_cents(budget_cents, 800000, &t) != 0)
        t = budget_cents;
    return t;
}

int pay_budget_crossed(int64_t before_cents, int64_t after_cents, int64_t budget_cents,
                       pay_budget_level level)
{
    int64_t t = pay_budget_threshold(budget_cents, level);
    return before_cents <= t && t < after_cents;
}

int64_t pay_publication_ms(int64_t service_day, int lag_days, int utc_offset_minutes)
{
    return (service_day + lag_days + 1) * PAY_DAY_MS - (int64_t)utc_offset_minutes * 60000;
}

static int fits(int n, size_t len)
{
    return n >= 0 && (size_t)n < len ? 0 : -1;
}

int pay_statement_id(char *buf, size_t len, const char *contract_id, int64_t service_day)
{
    char day[16];
    cw_date_format(service_day, day, sizeof(day));
    return fits(snprintf(buf, len, "%s:%s", contract_id, day), len);
}

int pay_instruction_id(char *buf, size_t len, const char *contract_id, cw_payment_kind kind,
                       int64_t period_end)
{
    if (kind == CW_PAYMENT_KIND_PREPAY)
        return fits(snprintf(buf, len, "%s:PREPAY", contract_id), len);
    char day[16];
    cw_date_format(period_end, day, sizeof(day));
    return fits(snprintf(buf, len, "%s:%s:%s", contract_id, cw_payment_kind_name(kind), day), len);
}

int pay_correction_instruction_id(char *buf, size_t len, const char *contract_id,
                                  cw_payment_kind kind, const char *correction_id)
{
    if (kind == CW_PAYMENT_KIND_PREPAY)
        return -1;
    return fits(snprintf(buf, len, "%s:%s:%s", contract_id, cw_payment_kind_name(kind),
                         correction_id),
                len);
}

int64_t pay_watermark(const pay_partition_clock *parts, size_t n, int64_t now_ms, int live,
                      int64_t lateness_ms)
{
    int64_t global = INT64_MIN;
    for (size_t i = 0; i < n; i++)
        if (parts[i].max_event_ms > global)
            global = parts[i].max_event_ms;
    int64_t followed = global;
    if (live && now_ms > followed)
        followed = now_ms;
    int64_t wm = followed;
    for (size_t i = 0; i < n; i++) {
        int64_t clock = parts[i].caught_up ? followed : parts[i].max_event_ms;
        if (clock < wm)
            wm = clock;
    }
    if (lateness_ms < 0)
        lateness_ms = 0;
    if (wm < INT64_MIN + lateness_ms)
        return INT64_MIN;
    return wm - lateness_ms;
}

int pay_partition_caught_up(int64_t since_last_ms, int64_t quiet_ms, int64_t position,
                            int64_t high)
{
    if (since_last_ms < quiet_ms || high < 0)
        return 0;
    if (position < 0)
        position = 0;
    return position >= high;
}

int64_t pay_rate_bp(int64_t part, int64_t whole)
{
    if (whole <= 0 || part < 0)
        return 0;
    /* part·10000 fits for any count of orders a period can hold. */
    return (part * 10000 + whole / 2) / whole;
}

int pay_format_yuan(char *buf, size_t len, int64_t cents)
{
    const char *sign = cents < 0 ? "-" : "";
    /* -(INT64_MIN) does not exist: take the digits of the magnitude apart. */
    uint64_t mag = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    return fits(snprintf(buf, len, "%s%llu.%02llu", sign, (unsigned long long)(mag / 100),
                         (unsigned long long)(mag % 100)),
                len);
}
