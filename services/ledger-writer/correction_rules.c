#include "ledger-writer/correction_rules.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ledger_corr_status_parse(const char *name, ledger_fin_state *out)
{
    static const ledger_fin_state states[] = {LEDGER_FIN_VALID, LEDGER_FIN_INVALID,
                                              LEDGER_FIN_CANCELLED};
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        if (strcmp(name, ledger_fin_state_name(states[i])) == 0) {
            *out = states[i];
            return 0;
        }
    }
    return -1;
}

static int id_ok(const char *id, size_t max)
{
    size_t n = 0;
    for (; id[n] != '\0'; n++)
        if (n + 1 >= max || id[n] <= ' ' || id[n] > '~')
            return 0;
    return n > 0;
}

static int reason_ok(const char *reason)
{
    size_t n = 0;
    for (; reason[n] != '\0'; n++) {
        char ch = reason[n];
        if (n + 1 >= LEDGER_CORR_REASON_MAX ||
            !((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return 0;
    }
    return n > 0;
}

int ledger_corr_request_make(ledger_corr_request *out, const char *correction_id,
                             const char *order_id, const char *status, const char *reason,
                             int64_t decided_at, char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    if (!id_ok(correction_id, LEDGER_CORR_ID_MAX)) {
        snprintf(why, why_len, "correction_id must be 1 to %d printable characters",
                 LEDGER_CORR_ID_MAX - 1);
        return -1;
    }
    if (!id_ok(order_id, LEDGER_FIN_ID_MAX)) {
        snprintf(why, why_len, "correction %s: order_id must be 1 to %d printable characters",
                 correction_id, LEDGER_FIN_ID_MAX - 1);
        return -1;
    }
    if (ledger_corr_status_parse(status, &out->status) != 0) {
        snprintf(why, why_len, "correction %s: unknown status %s", correction_id, status);
        return -1;
    }
    if (!reason_ok(reason)) {
        snprintf(why, why_len, "correction %s: reason must be 1 to %d of A-Z, 0-9 and _",
                 correction_id, LEDGER_CORR_REASON_MAX - 1);
        return -1;
    }
    snprintf(out->correction_id, sizeof(out->correction_id), "%s", correction_id);
    snprintf(out->order_id, sizeof(out->order_id), "%s", order_id);
    snprintf(out->reason, sizeof(out->reason), "%s", reason);
    out->decided_at = decided_at;
    return 0;
}

const char *ledger_corr_action_name(ledger_corr_action action)
{
    switch (action) {
    case LEDGER_CORR_APPEND: return "APPEND";
    case LEDGER_CORR_HOLD: return "HOLD";
    case LEDGER_CORR_SAME_STATUS: return "SAME_STATUS";
    case LEDGER_CORR_SUPERSEDED: return "SUPERSEDED";
    }
    return "?";
}

int ledger_corr_precedes(int64_t a_at, const char *a_id, int64_t b_at, const char *b_id)
{
    if (a_at != b_at)
        return a_at < b_at;
    return strcmp(a_id, b_id) < 0;
}

ledger_corr_action ledger_corr_decide(const ledger_corr_latest *latest,
                                      const ledger_corr_request *x)
{
    if (latest == NULL)
        return LEDGER_CORR_HOLD;
    if (latest->corrected && latest->correction_id != NULL &&
        ledger_corr_precedes(x->decided_at, x->correction_id, latest->decided_at,
                             latest->correction_id))
        return LEDGER_CORR_SUPERSEDED;
    if (x->status == latest->status)
        return LEDGER_CORR_SAME_STATUS;
    return LEDGER_CORR_APPEND;
}

long ledger_corr_reasons(const char *const *reasons, size_t n, const char *reason, const char **out,
                         size_t max)
{
    size_t count = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *r = i < n ? reasons[i] : reason;
        size_t at = 0;
        while (at < count && strcmp(out[at], r) < 0)
            at++;
        if (at < count && strcmp(out[at], r) == 0)
            continue;
        if (count == max)
            return -1;
        memmove(&out[at + 1], &out[at], (count - at) * sizeof(*out));
        out[at] = r;
        count++;
    }
    return (long)count;
}

int64_t ledger_corr_finalized_at(int64_t decided_at, int64_t latest_finalized_at, int64_t promised)
{
    int64_t at = decided_at > latest_finalized_at ? decided_at : latest_finalized_at;
    if (promised != INT64_MIN && promised < INT64_MAX && promised + 1 > at)
        at = promised + 1;
    return at;
}

int ledger_corr_held_field(const char *correction_id, char *field, size_t len)
{
    int n = snprintf(field, len, LEDGER_CORR_HELD_PREFIX "%s", correction_id);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int ledger_corr_held_value(const ledger_corr_request *x, char *value, size_t len)
{
    int n = snprintf(value, len, "%s|%" PRId64 "|%s", ledger_fin_state_name(x->status),
                     x->decided_at, x->reason);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int ledger_corr_held_parse(const char *order_id, const char *field, const char *value,
                           ledger_corr_request *out)
{
    size_t prefix = strlen(LEDGER_CORR_HELD_PREFIX);
    if (strncmp(field, LEDGER_CORR_HELD_PREFIX, prefix) != 0)
        return -1;
    const char *bar1 = strchr(value, '|');
    const char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
    char status[16], at[24], why[64];
    if (bar2 == NULL || (size_t)(bar1 - value) >= sizeof(status) ||
        (size_t)(bar2 - bar1 - 1) >= sizeof(at) || bar2 == bar1 + 1)
        return -1;
    snprintf(status, sizeof(status), "%.*s", (int)(bar1 - value), value);
    snprintf(at, sizeof(at), "%.*s", (int)(bar2 - bar1 - 1), bar1 + 1);
    char *end;
    errno = 0;
    long long decided_at = strtoll(at, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    return ledger_corr_request_make(out, field + prefix, order_id, status, bar2 + 1, decided_at,
                                    why, sizeof(why));
}

static int compare_held(const void *a, const void *b)
{
    const ledger_corr_request *x = a, *y = b;
    if (ledger_corr_precedes(x->decided_at, x->correction_id, y->decided_at, y->correction_id))
        return -1;
    return ledger_corr_precedes(y->decided_at, y->correction_id, x->decided_at, x->correction_id);
}

void ledger_corr_sort(ledger_corr_request *held, size_t n)
{
    if (n > 1)
        qsort(held, n, sizeof(*held), compare_held);
}
