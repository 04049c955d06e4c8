#include "ledger-writer/dossier.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int copy_id(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (n == 0 || n >= len)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

static int add_check(ledger_dossier *d, const char *field, const char *value)
{
    const char *key = field + strlen(LEDGER_DOSSIER_CHECK_PREFIX);
    const char *bar = strrchr(key, '|');
    const char *vbar = strchr(value, '|');
    if (bar == NULL || vbar == NULL)
        return -1;
    ledger_fin_check c;
    memset(&c, 0, sizeof(c));
    size_t subject_len = (size_t)(bar - key), rule_len = strlen(bar + 1);
    size_t outcome_len = (size_t)(vbar - value);
    char outcome[16];
    if (subject_len == 0 || subject_len >= sizeof(c.subject) || rule_len == 0 ||
        rule_len >= sizeof(c.rule) || outcome_len >= sizeof(outcome))
        return -1;
    memcpy(c.subject, key, subject_len);
    memcpy(c.rule, bar + 1, rule_len + 1);
    memcpy(outcome, value, outcome_len);
    outcome[outcome_len] = '\0';
    if (cw_outcome_parse(outcome, &c.outcome) != 0 || parse_i64(vbar + 1, &c.at) != 0)
        return -1;
    if (d->d.check_count == d->check_capacity) {
        size_t capacity = d->check_capacity ? d->check_capacity * 2 : 32;
        ledger_fin_check *grown = realloc(d->checks, capacity * sizeof(*grown));
        if (grown == NULL)
            return -2;
        d->checks = grown;
        d->check_capacity = capacity;
    }
    d->checks[d->d.check_count++] = c;
    return 0;
}

/* 0 used, -1 malformed or unknown, -2 out of memory. */
static int parse_field(ledger_dossier *d, const char *f, const char *v)
{
    int64_t n;
    if (strncmp(f, LEDGER_DOSSIER_CHECK_PREFIX, strlen(LEDGER_DOSSIER_CHECK_PREFIX)) == 0)
        return add_check(d, f, v);
    if (strcmp(f, "cg") == 0)
        return copy_id(d->caregiver_id, sizeof(d->caregiver_id), v);
    if (strcmp(f, "prov") == 0)
        return copy_id(d->provider_id, sizeof(d->provider_id), v);
    if (strcmp(f, "elder") == 0)
        return copy_id(d->elder_id, sizeof(d->elder_id), v);
    if (strcmp(f, "in_ev") == 0)
        return copy_id(d->d.in_event, sizeof(d->d.in_event), v);
    if (strcmp(f, "out_ev") == 0)
        return copy_id(d->d.out_event, sizeof(d->d.out_event), v);
    if (strcmp(f, "cancel") == 0) {
        if (v[0] == '\0')
            return 0; /* the latest revision is no cancel */
        if (copy_id(d->d.cancel_reason, sizeof(d->d.cancel_reason), v) != 0)
            return -1;
        d->d.cancelled = 1;
        return 0;
    }
    if (parse_i64(v, &n) != 0)
        return -1;
    if (strcmp(f, "start") == 0)
        d->d.scheduled_start = n;
    else if (strcmp(f, "minutes") == 0 && n >= 0 && n <= INT32_MAX)
        d->scheduled_minutes = (int)n;
    else if (strcmp(f, "part") == 0 && n >= 0 && n <= INT32_MAX)
        d->partition = (int)n;
    else if (strcmp(f, "rev") == 0 && n >= 0 && n <= INT32_MAX)
        d->d.revision = (int)n;
    else if (strcmp(f, "chg_at") == 0)
        d->d.changed_at = n;
    else if (strcmp(f, "in_at") == 0)
        d->d.in_at = n;
    else if (strcmp(f, "out_at") == 0)
        d->d.out_at = n;
    else if (strcmp(f, "ev_at") == 0) {
        d->d.evidence_at = n;
        d->d.has_evidence = 1;
    } else if (strcmp(f, "rev_at") == 0) {
        d->d.reused_evidence_at = n;
        d->d.has_reused_evidence = 1;
    } else
        return -1;
    return 0;
}

int ledger_dossier_parse(const char *order_id, const char *const *fields, const char *const *values,
                         size_t n, ledger_dossier *out, size_t *skipped)
{
    memset(out, 0, sizeof(*out));
    out->partition = -1;
    if (skipped)
        *skipped = 0;
    snprintf(out->d.order_id, sizeof(out->d.order_id), "%s", order_id);
    int has_start = 0, has_in_at = 0, has_out_at = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = parse_field(out, fields[i], values[i]);
        if (rc == -2)
            return -1;
        if (rc != 0) {
            if (skipped)
                (*skipped)++;
            continue;
        }
        has_start |= strcmp(fields[i], "start") == 0;
        has_in_at |= strcmp(fields[i], "in_at") == 0;
        has_out_at |= strcmp(fields[i], "out_at") == 0;
    }
    out->d.checks = out->checks;
    out->d.has_order = has_start && out->caregiver_id[0] && out->provider_id[0] &&
                       out->elder_id[0] && out->partition >= 0;
    out->d.has_in = has_in_at && out->d.in_event[0];
    out->d.has_out = has_out_at && out->d.out_event[0];
    return 0;
}

void ledger_dossier_free(ledger_dossier *d)
{
    free(d->checks);
    d->checks = NULL;
    d->d.checks = NULL;
    d->check_capacity = 0;
    d->d.check_count = 0;
}

int ledger_dossier_check_field(const char *subject, const char *rule, char *field, size_t len)
{
    int n = snprintf(field, len, LEDGER_DOSSIER_CHECK_PREFIX "%s|%s", subject, rule);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int ledger_dossier_check_value(const char *outcome, int64_t at, char *value, size_t len)
{
    int n = snprintf(value, len, "%s|%" PRId64, outcome, at);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
