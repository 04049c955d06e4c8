#include "alert-router/dedup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fits(int n, size_t len)
{
    return n >= 0 && (size_t)n < len;
}

int alert_position_format(char *buf, size_t len, const char *topic, int partition, int64_t offset)
{
    return fits(snprintf(buf, len, "%s:%d:%" PRId64, topic, partition, offset), len) ? 0 : -1;
}

int alert_claim_format(const alert_claim *c, char *buf, size_t len)
{
    return fits(snprintf(buf, len, "%s|%c", c->position, (char)c->state), len) ? 0 : -1;
}

int alert_claim_parse(const char *text, alert_claim *out)
{
    const char *bar = strrchr(text, '|');
    if (bar == NULL || bar == text || strlen(bar) != 2)
        return -1;
    char s = bar[1];
    if (s != ALERT_CLAIM_PENDING && s != ALERT_CLAIM_DELIVERED && s != ALERT_CLAIM_SUPPRESSED)
        return -1;
    size_t n = (size_t)(bar - text);
    if (n >= sizeof(out->position))
        return -1;
    memcpy(out->position, text, n);
    out->position[n] = '\0';
    out->state = (alert_claim_state)s;
    return 0;
}

int alert_last_format(const alert_last *l, char *buf, size_t len)
{
    return fits(snprintf(buf, len, "%" PRId64 "|%s", l->at, l->order_id), len) ? 0 : -1;
}

int alert_last_parse(const char *text, alert_last *out)
{
    char *end;
    errno = 0;
    long long at = strtoll(text, &end, 10);
    if (end == text || *end != '|' || errno != 0 || end[1] == '\0' ||
        strlen(end + 1) >= sizeof(out->order_id))
        return -1;
    out->at = at;
    snprintf(out->order_id, sizeof(out->order_id), "%s", end + 1);
    return 0;
}

static int within_window(const alert_dedup_input *in)
{
    if (in->window_ms <= 0 || !in->has_last || strcmp(in->last.order_id, in->order_id) == 0)
        return 0;
    int64_t lo = in->last.at, hi = in->at;
    if (lo > hi) {
        lo = in->at;
        hi = in->last.at;
    }
    /* hi - lo in unsigned arithmetic: exact, where the signed one could
     * overflow for absurd event times. */
    return (uint64_t)hi - (uint64_t)lo < (uint64_t)in->window_ms;
}

void alert_dedup_decide(const alert_dedup_input *in, alert_dedup_decision *out)
{
    memset(out, 0, sizeof(*out));
    if (in->has_claim) {
        if (strcmp(in->claim.position, in->position) != 0)
            out->action = ALERT_DEDUP_DUPLICATE;
        else if (in->claim.state == ALERT_CLAIM_PENDING)
            out->action = ALERT_DEDUP_RETRY;
        else if (in->claim.state == ALERT_CLAIM_DELIVERED)
            out->action = ALERT_DEDUP_DELIVERED;
        else
            out->action = ALERT_DEDUP_WINDOW;
        out->produce = out->action == ALERT_DEDUP_RETRY;
        return;
    }
    out->write_claim = 1;
    snprintf(out->claim.position, sizeof(out->claim.position), "%s", in->position);
    if (within_window(in)) {
        out->action = ALERT_DEDUP_WINDOW;
        out->claim.state = ALERT_CLAIM_SUPPRESSED;
        return;
    }
    out->action = ALERT_DEDUP_NEW;
    out->produce = 1;
    out->claim.state = ALERT_CLAIM_PENDING;
    if (in->window_ms > 0 && (!in->has_last || in->at >= in->last.at)) {
        out->write_last = 1;
        out->last.at = in->at;
        snprintf(out->last.order_id, sizeof(out->last.order_id), "%s", in->order_id);
    }
}

const char *alert_dedup_action_name(alert_dedup_action a)
{
    switch (a) {
    case ALERT_DEDUP_NEW: return "new";
    case ALERT_DEDUP_RETRY: return "retry";
    case ALERT_DEDUP_WINDOW: return "window";
    case ALERT_DEDUP_DELIVERED: return "delivered";
    case ALERT_DEDUP_DUPLICATE: return "duplicate";
    }
    return "?";
}
