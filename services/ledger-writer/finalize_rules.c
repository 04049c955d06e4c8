#include "ledger-writer/finalize_rules.h"

#include <stdio.h>
#include <string.h>

#include "order_revision.h"

const char *const ledger_fin_order_rules[] = {"NO_SHOW", "SCHEDULE_OVERLAP",
                                              "CROSS_PROVIDER_OVERLAP", "UNCERTIFIED", NULL};
const char *const ledger_fin_check_in_rules[] = {"LATE_SUBMISSION",
                                                 "FACE_MISMATCH",
                                                 "PHOTO_REUSE",
                                                 "GEO_DISTANCE",
                                                 "GEO_DUAL_MISMATCH",
                                                 "GPS_INACCURATE",
                                                 "IMPOSSIBLE_TRAVEL",
                                                 "NO_CHECKOUT",
                                                 "VISIT_OVERLAP",
                                                 "FROZEN_CAREGIVER",
                                                 "ELDER_UNAVAILABLE",
                                                 "CROSS_PROVIDER_OVERLAP",
                                                 NULL};

const char *ledger_fin_state_name(ledger_fin_state state)
{
    switch (state) {
    case LEDGER_FIN_VALID: return "VALID";
    case LEDGER_FIN_INVALID: return "INVALID";
    case LEDGER_FIN_CANCELLED: return "CANCELLED";
    case LEDGER_FIN_WAIT: break;
    }
    return "WAIT";
}
const char *const ledger_fin_check_out_rules[] = {"LATE_SUBMISSION",
                                                  "VOICE_UNCONFIRMED",
                                                  "PHOTO_REUSE",
                                                  "GEO_DISTANCE",
                                                  "GEO_DUAL_MISMATCH",
                                                  "GPS_INACCURATE",
                                                  "SHORT_DURATION",
                                                  "FROZEN_CAREGIVER",
                                                  "SERVICE_MISMATCH",
                                                  "DAILY_HOURS_EXCEEDED",
                                                  NULL};

/* Judged only for a visit with both its check-in and its check-out. */
static int needs_both_events(const char *rule)
{
    return strcmp(rule, "SHORT_DURATION") == 0 || strcmp(rule, "DAILY_HOURS_EXCEEDED") == 0;
}

#define MINUTE_MS 60000LL
#define HOUR_MS (60 * MINUTE_MS)

void ledger_fin_windows_default(ledger_fin_windows *w)
{
    w->no_show_invalid_ms = 24 * HOUR_MS;
    w->no_checkout_ms = 240 * MINUTE_MS;
    w->evidence_window_ms = 72 * HOUR_MS;
}

int32_t ledger_fin_duration_minutes(int64_t in_at, int64_t out_at)
{
    if (out_at < in_at)
        return 0;
    int64_t minutes = (out_at - in_at) / MINUTE_MS;
    return minutes > INT32_MAX ? INT32_MAX : (int32_t)minutes;
}

static const ledger_fin_check *find_check(const ledger_fin_dossier *d, const char *subject,
                                          const char *rule)
{
    for (size_t i = 0; i < d->check_count; i++)
        if (strcmp(d->checks[i].rule, rule) == 0 && strcmp(d->checks[i].subject, subject) == 0)
            return &d->checks[i];
    return NULL;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

int ledger_fin_order_subject(const ledger_fin_dossier *d, char *buf, size_t len)
{
    return cw_order_revision_subject(d->order_id, d->revision, buf, len);
}

/* The order's verdicts but NO_SHOW (SCHEDULE_OVERLAP, CROSS_PROVIDER_OVERLAP,
 * UNCERTIFIED) are judged when the assignment (or its revision) is
 * received: their time is a receipt time, not the event time of the visit.
 * subject: the order's current one. */
static int receipt_time(const char *subject, const ledger_fin_check *c)
{
    return strcmp(c->subject, subject) == 0 && strcmp(c->rule, "NO_SHOW") != 0;
}

/* A verdict about another revision of the order than the current one
 * (subject): neither owed nor a flag. */
static int other_revision(const ledger_fin_dossier *d, const char *subject,
                          const ledger_fin_check *c)
{
    size_t n = strlen(d->order_id);
    int about_order = strncmp(c->subject, d->order_id, n) == 0 &&
                      (c->subject[n] == '\0' || c->subject[n] == '@');
    return about_order && strcmp(c->subject, subject) != 0;
}

/* Checks that every verdict of rules about subject is in, raising *latest
 * to their times. 0 when complete, else -1 with the first missing one.
 * without_pair: the subject is a check-out without check-in, so rules that
 * need both events are not owed. */
static int require(const ledger_fin_dossier *d, const char *order_subject, const char *subject,
                   const char *const *rules, int without_pair, int64_t *latest,
                   ledger_fin_decision *out)
{
    for (size_t i = 0; rules[i] != NULL; i++) {
        if (without_pair && needs_both_events(rules[i]))
            continue;
        const ledger_fin_check *c = find_check(d, subject, rules[i]);
        if (c == NULL) {
            snprintf(out->missing_subject, sizeof(out->missing_subject), "%s", subject);
            snprintf(out->missing_rule, sizeof(out->missing_rule), "%s", rules[i]);
            return -1;
        }
        if (!receipt_time(order_subject, c))
            *latest = max64(*latest, c->at);
    }
    return 0;
}

static void add_reason(ledger_fin_decision *out, const char *rule)
{
    for (size_t i = 0; i < out->reason_count; i++)
        if (strcmp(out->reasons[i], rule) == 0)
            return;
    if (out->reason_count == LEDGER_FIN_MAX_REASONS)
        return;
    /* Insertion keeps them sorted: the ledger entry must not depend on the
     * order verdicts arrived in. */
    size_t at = out->reason_count;
    while (at > 0 && strcmp(out->reasons[at - 1], rule) > 0) {
        out->reasons[at] = out->reasons[at - 1];
        at--;
    }
    out->reasons[at] = rule;
    out->reason_count++;
}

/* Collects the flagged rules (not those of earlier revisions); returns
 * whether any was red. */
static int collect_flags(const ledger_fin_dossier *d, const char *subject, ledger_fin_decision *out)
{
    int red = 0;
    for (size_t i = 0; i < d->check_count; i++) {
        if (d->checks[i].outcome == CW_OUTCOME_PASS || other_revision(d, subject, &d->checks[i]))
            continue;
        add_reason(out, d->checks[i].rule);
        if (d->checks[i].outcome == CW_OUTCOME_RED)
            red = 1;
    }
    return red;
}

static ledger_fin_decision missing_event(ledger_fin_decision out, const char *order_id,
                                         const char *kind)
{
    out.state = LEDGER_FIN_WAIT;
    out.wake_at = INT64_MAX;
    snprintf(out.missing_subject, sizeof(out.missing_subject), "%s", order_id);
    snprintf(out.missing_rule, sizeof(out.missing_rule), "%s", kind);
    return out;
}

static ledger_fin_decision wait_until(ledger_fin_decision out, int64_t wake_at)
{
    out.state = LEDGER_FIN_WAIT;
    out.reason_count = 0;
    out.wake_at = wake_at;
    return out;
}

static ledger_fin_decision decide(ledger_fin_decision out, ledger_fin_state state,
                                  int64_t finalized_at)
{
    out.state = state;
    out.finalized_at = finalized_at;
    out.wake_at = INT64_MAX;
    return out;
}

ledger_fin_decision ledger_finalize_decide(const ledger_fin_dossier *d, int64_t wm,
                                           const ledger_fin_windows *w)
{
    ledger_fin_decision out;
    memset(&out, 0, sizeof(out));
    out.state = LEDGER_FIN_WAIT;
    out.wake_at = INT64_MAX;
    if (!d->has_order) {
        snprintf(out.missing_subject, sizeof(out.missing_subject), "%s", d->order_id);
        snprintf(out.missing_rule, sizeof(out.missing_rule), "OrderAssigned");
        return out;
    }
    if (d->cancelled) {
        /* A provider's cancel took effect: nothing else is owed. */
        add_reason(&out, d->cancel_reason);
        return decide(out, LEDGER_FIN_CANCELLED, max64(d->scheduled_start, d->changed_at));
    }
    char subject[LEDGER_FIN_SUBJECT_MAX];
    if (ledger_fin_order_subject(d, subject, sizeof(subject)) != 0) {
        snprintf(out.missing_subject, sizeof(out.missing_subject), "%s", d->order_id);
        snprintf(out.missing_rule, sizeof(out.missing_rule), "revision");
        return out;
    }
    int64_t latest = INT64_MIN;
    if (require(d, subject, subject, ledger_fin_order_rules, 0, &latest, &out) != 0)
        return out;
    if (d->has_in) {
        if (require(d, subject, d->in_event, ledger_fin_check_in_rules, 0, &latest, &out) != 0)
            return out;
        latest = max64(latest, d->in_at);
    }
    if (d->has_out) {
        if (require(d, subject, d->out_event, ledger_fin_check_out_rules, !d->has_in, &latest,
                    &out) != 0)
            return out;
        latest = max64(latest, d->out_at);
    }

    /* Verdicts and events come on different topics: a PASS that vouches
     * for an event (a check-in in time, a check-out in time) means that
     * event is on its way. */
    const ledger_fin_check *no_show = find_check(d, subject, "NO_SHOW");
    if (no_show->outcome == CW_OUTCOME_PASS && !d->has_in)
        return missing_event(out, d->order_id, "CHECK_IN");
    if (d->has_in) {
        const ledger_fin_check *no_checkout = find_check(d, d->in_event, "NO_CHECKOUT");
        if (no_checkout->outcome == CW_OUTCOME_PASS && !d->has_out)
            return missing_event(out, d->order_id, "CHECK_OUT");
    }

    int red = collect_flags(d, subject, &out);
    if (red)
        return decide(out, LEDGER_FIN_INVALID, latest);

    int64_t no_show_deadline = d->scheduled_start + w->no_show_invalid_ms;
    if (!d->has_in && d->elder_at_start != CW_ELDER_STATUS_ACTIVE) {
        /* The elder was away: the visit could not happen. Not a no-show. */
        out.reason_count = 0;
        add_reason(&out, d->elder_at_start == CW_ELDER_STATUS_DECEASED ? "ELDER_DECEASED"
                                                                : "ELDER_HOSPITALIZED");
        if (wm > no_show_deadline)
            return decide(out, LEDGER_FIN_CANCELLED, max64(latest, no_show_deadline));
        return wait_until(out, no_show_deadline);
    }
    if (!d->has_in || d->in_at > no_show_deadline) {
        /* Not visited. A check-in after the 24 h is not a visit either. */
        if (out.reason_count == 0)
            add_reason(&out, "NO_SHOW");
        if (d->has_in)
            return decide(out, LEDGER_FIN_INVALID, max64(latest, no_show_deadline));
        if (wm > no_show_deadline)
            return decide(out, LEDGER_FIN_INVALID, max64(latest, no_show_deadline));
        return wait_until(out, no_show_deadline);
    }

    if (out.reason_count == 0)
        return decide(out, LEDGER_FIN_VALID, latest);

    int64_t visit_end = d->has_out ? d->out_at : d->in_at + w->no_checkout_ms;
    int64_t deadline = visit_end + w->evidence_window_ms;
    out.questionable = 1;
    out.visit_end = visit_end;
    out.evidence_deadline = deadline;
    out.questionable_at = latest;
    if (d->has_evidence && d->evidence_at <= deadline)
        return decide(out, LEDGER_FIN_VALID, max64(latest, d->evidence_at));
    if (wm > deadline) {
        add_reason(&out, "EVIDENCE_EXPIRED");
        if (d->has_reused_evidence && d->reused_evidence_at <= deadline)
            add_reason(&out, "EVIDENCE_REUSE");
        return decide(out, LEDGER_FIN_INVALID, max64(latest, deadline));
    }
    /* Waiting for evidence keeps the reasons: they are what it is asked
     * for. */
    out.state = LEDGER_FIN_WAIT;
    out.wake_at = deadline;
    return out;
}

int64_t ledger_finalize_lower_bound(const ledger_fin_dossier *d)
{
    /* What ledger_finalize_decide takes into finalized_at and what it knows now:
     * the verdicts about the order, its check-in and its check-out (not
     * the receipt times of the order's verdicts but NO_SHOW), and the two
     * events. Evidence is left
     * out: evidence after its deadline does not count. */
    int64_t lb = INT64_MIN;
    char subject[LEDGER_FIN_SUBJECT_MAX];
    if (ledger_fin_order_subject(d, subject, sizeof(subject)) != 0)
        subject[0] = '\0';
    if (d->has_in)
        lb = max64(lb, d->in_at);
    if (d->has_out)
        lb = max64(lb, d->out_at);
    for (size_t i = 0; i < d->check_count; i++) {
        const ledger_fin_check *c = &d->checks[i];
        int about = strcmp(c->subject, subject) == 0 ||
                    (d->has_in && strcmp(c->subject, d->in_event) == 0) ||
                    (d->has_out && strcmp(c->subject, d->out_event) == 0);
        if (about && !receipt_time(subject, c))
            lb = max64(lb, c->at);
    }
    if (lb == INT64_MIN && d->has_order)
        lb = d->scheduled_start;
    return lb;
}

int64_t ledger_finalize_pending_horizon(int64_t min_watermark, int64_t slowest_source,
                                        int64_t cap_ms)
{
    int64_t base = min_watermark < slowest_source ? min_watermark : slowest_source;
    return base > INT64_MIN + cap_ms ? base - cap_ms : INT64_MIN;
}

int64_t ledger_finalize_through(int64_t min_watermark, int has_pending, int64_t pending_lower_bound,
                                int64_t previous)
{
    int64_t ft = min_watermark;
    if (has_pending) {
        int64_t below = pending_lower_bound == INT64_MIN ? INT64_MIN : pending_lower_bound - 1;
        if (below < ft)
            ft = below;
    }
    return ft > previous ? ft : previous;
}
