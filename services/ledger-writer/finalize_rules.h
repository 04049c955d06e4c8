/* When an order is final and what its verdict is (docs/design.md §5,
 * 4.1). Pure: the dossier (what is known of one order), the watermark and
 * the windows are parameters.
 *
 * An order is decided only once every verdict the checkers owe it is in:
 * NO_SHOW, SCHEDULE_OVERLAP, CROSS_PROVIDER_OVERLAP and UNCERTIFIED for the
 * order, the check-in
 * rules for its check-in, the check-out rules for its check-out
 * (SHORT_DURATION and DAILY_HOURS_EXCEEDED only when it has both), and the events those verdicts vouch for (a NO_SHOW PASS
 * means a check-in exists, a NO_CHECKOUT PASS a check-out: verdicts and
 * events travel on different topics). Then:
 *   any red                                   -> INVALID
 *   no check-in by scheduled start + 24 h     -> INVALID (once the watermark
 *                                                is past that instant)
 *   no flag                                   -> VALID
 *   only yellow / orange (questionable)       -> VALID when evidence with
 *       at <= deadline is in, where deadline = check-out + 72 h (no
 *       check-out: check-in + 240 min + 72 h); INVALID with
 *       EVIDENCE_EXPIRED once the watermark is past the deadline.
 * An order whose latest revision is a cancel (docs/maintenance.md: a
 * provider's change that took effect, at once or with the street's
 * approval) is CANCELLED at once with its reason code, whatever else is
 * known of it (ingest refuses a cancel once the order has a check-in; a
 * check-in that raced the cancel does not undo it), finalized_at the later
 * of its scheduled start and the cancel's taking effect. A rescheduled or
 * reassigned order is decided on its latest revision: the order verdicts
 * owed are those with the revision's subject ("<order_id>@<revision>"),
 * and the verdicts of earlier revisions are neither waited for nor flags.
 * An order not visited (no check-in) whose elder was HOSPITALIZED or
 * DECEASED at its scheduled start is CANCELLED instead, once the watermark
 * is past start + 24 h, with the one reason ELDER_HOSPITALIZED or
 * ELDER_DECEASED (red verdicts still make it INVALID).
 * reasons are the flagged rules (sorted, each once), plus EVIDENCE_EXPIRED
 * when that decided it. finalized_at is event time: the instant at which
 * the deciding information existed (the latest verdict or evidence used, or
 * the deadline that passed), so a replay finalizes with the same bytes. */
#ifndef FINALIZE_RULES_H
#define FINALIZE_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "check_result.h"
#include "elder_status.h"

#define LEDGER_FIN_ID_MAX 65
/* A verdict's subject: an event id, an order id, or "<order_id>@<n>" */
#define LEDGER_FIN_SUBJECT_MAX 80
#define LEDGER_FIN_RULE_MAX 32
#define LEDGER_FIN_MAX_REASONS 16

typedef struct {
    char subject[LEDGER_FIN_SUBJECT_MAX]; /* event id, or the order's revision for order rules */
    char rule[LEDGER_FIN_RULE_MAX];
    cw_outcome outcome;
    int64_t at;
} ledger_fin_check;

typedef struct {
    int has_order;
    char order_id[LEDGER_FIN_ID_MAX];
    int64_t scheduled_start;
    int has_in, has_out;
    char in_event[LEDGER_FIN_ID_MAX], out_event[LEDGER_FIN_ID_MAX];
    int64_t in_at, out_at;
    int has_evidence;
    int64_t evidence_at; /* the earliest evidence of the order */
    /* The earliest evidence showing another order's photo or recording
     * (EVIDENCE_REUSE): it cures nothing, and an order it did not cure
     * carries EVIDENCE_REUSE among its reasons. */
    int has_reused_evidence;
    int64_t reused_evidence_at;
    const ledger_fin_check *checks; /* every verdict received for the order */
    size_t check_count;
    /* The elder's status at the scheduled start, by the registry's periods
     * received by the no-show deadline (elder_status.h); ACTIVE when none.
     * An order never visited while the elder was away is CANCELLED. */
    cw_elder_status elder_at_start;
    /* The order's latest revision (0: as first assigned); its order
     * verdicts have the subject ledger_fin_order_subject gives. */
    int revision;
    /* The latest revision is a cancel, with this reason code. */
    int cancelled;
    char cancel_reason[LEDGER_FIN_RULE_MAX];
    int64_t changed_at; /* when the latest revision took effect */
} ledger_fin_dossier;

typedef struct {
    int64_t no_show_invalid_ms; /* 24 h: no check-in by start + this -> INVALID */
    int64_t no_checkout_ms;     /* 240 min: an open visit ends here */
    int64_t evidence_window_ms; /* 72 h */
} ledger_fin_windows;

typedef enum {
    LEDGER_FIN_WAIT = 0,
    LEDGER_FIN_VALID,
    LEDGER_FIN_INVALID,
    LEDGER_FIN_CANCELLED
} ledger_fin_state;

/* "VALID", "INVALID", "CANCELLED" (the OrderStatus symbols); "WAIT". */
const char *ledger_fin_state_name(ledger_fin_state state);

typedef struct {
    ledger_fin_state state;
    const char *reasons[LEDGER_FIN_MAX_REASONS]; /* borrowed from the dossier or static */
    size_t reason_count;
    int64_t finalized_at;
    /* LEDGER_FIN_WAIT: the event time at which the order decides itself if nothing
     * else arrives (INT64_MAX when it waits for verdicts). */
    int64_t wake_at;
    /* LEDGER_FIN_WAIT for verdicts: the first one missing (diagnostics); rule
     * "CHECK_IN" / "CHECK_OUT" when an event is awaited. */
    char missing_subject[LEDGER_FIN_SUBJECT_MAX];
    char missing_rule[LEDGER_FIN_RULE_MAX];
    /* The order is questionable: every verdict is in, none red, it was
     * visited in time, and yellow / orange ones flag it (reasons, without
     * EVIDENCE_EXPIRED). Set whatever evidence and watermark say, so that
     * a replay requests the evidence a live run requested: visit_end is the
     * check-out (or check-in + 240 min), evidence_deadline visit_end + 72 h,
     * questionable_at the latest verdict or event time. */
    int questionable;
    int64_t visit_end, evidence_deadline, questionable_at;
} ledger_fin_decision;

void ledger_fin_windows_default(ledger_fin_windows *w);

/* The subject of the order verdicts of the dossier's latest revision:
 * "<order_id>", then "<order_id>@<revision>". 0, or -1 when it does not
 * fit. */
int ledger_fin_order_subject(const ledger_fin_dossier *d, char *buf, size_t len);

/* The verdicts owed, for the test of completeness; rules lists end with
 * NULL. */
extern const char *const ledger_fin_order_rules[];
extern const char *const ledger_fin_check_in_rules[];
extern const char *const ledger_fin_check_out_rules[];

/* Decides one order at watermark wm (the event time up to which everything
 * has been seen). */
ledger_fin_decision ledger_finalize_decide(const ledger_fin_dossier *d, int64_t wm,
                                           const ledger_fin_windows *w);

/* Minutes between check-in and check-out, rounded down; 0 when out < in. */
int32_t ledger_fin_duration_minutes(int64_t in_at, int64_t out_at);

/* The smallest finalized_at an undecided order can still get: the latest
 * time ledger_finalize_decide would take from what its dossier knows now (the
 * order's, check-in's and check-out's verdicts but the order's receipt-time
 * ones (all but NO_SHOW), and
 * the two events); a decision takes that or a later instant. An order
 * known by its assignment alone is bounded by its scheduled start: its
 * NO_SHOW verdict comes at its check-in (not seen yet, so after the
 * watermark that ledger_finalize_through also takes) or at its start plus the
 * grace. INT64_MIN when the dossier knows no time at all. */
int64_t ledger_finalize_lower_bound(const ledger_fin_dossier *d);

/* The event time before which a pending order's bound no longer holds
 * finalized_through back (ledger.max_pending_hours = cap_ms: a verdict
 * that will never come, its record dead-lettered): cap_ms before the
 * smaller of the writer's smallest watermark and slowest_source, the
 * smallest clock of the services whose verdicts the writer waits for. A
 * checker that lags (restarted, replaying a backlog) is behind in event
 * time, and the verdicts it still owes are not given up on. INT64_MIN
 * (none is given up on) when slowest_source is INT64_MIN (a source has
 * no clock yet). */
int64_t ledger_finalize_pending_horizon(int64_t min_watermark, int64_t slowest_source,
                                        int64_t cap_ms);

/* finalized_through from the smallest watermark of the writer's partitions
 * (an order not seen yet finalizes after it) and, when has_pending, the
 * smallest lower bound of the orders not final (one of them may finalize
 * at exactly that bound, hence one less); never below previous (what was
 * promised stays promised). */
int64_t ledger_finalize_through(int64_t min_watermark, int has_pending, int64_t pending_lower_bound,
                                int64_t previous);

#endif
