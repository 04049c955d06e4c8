/* What a supervision desk's OrderCorrection does to an order in the ledger
 * (docs/design.md §5: a later decision is a new correcting entry that names the
 * entry it corrects). Pure: the correction and the order's latest entry
 * are parameters; correction.c does the Redis and log work.
 *
 * A correction of an order that is final appends one correcting entry:
 * the latest entry's fields, the correction's status, the latest entry's
 * reasons plus the correction's reason (sorted, each once), corrects_index
 * = the latest entry's index. Nothing is appended for a correction id the
 * log holds already, for one whose status is the order's current status,
 * or for one decided before the order's latest correction (superseded:
 * the later decision stands). An order's corrections come in the order
 * they were decided (one key, one partition), so a correction's outcome
 * depends only on those decided before it: a replay that meets a
 * correction which changed nothing before meets the later ones in the log
 * and supersedes it again. A correction of an order not final yet is held
 * in its dossier and applied once the order is final, held ones in
 * decision order (decided_at, then correction id).
 *
 * The correcting entry's finalized_at is the correction's decided_at, or
 * later: never before the entry it corrects, and after the finalized_through
 * the writer last promised (every order finalized at or before it is in
 * the log already), so that the payment scheduler's statements, which wait
 * for that promise, count it by its finalized_at alone.
 *
 * Held form, a field of the order's dossier hash (dossier.h):
 *   corr:<correction_id>  ->  "<STATUS>|<decided_at>|<reason>"
 *
 * Strings in a ledger_corr_request are copies; ledger_corr_reasons borrows its input. */
#ifndef CORRECTION_RULES_H
#define CORRECTION_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "ledger-writer/finalize_rules.h"

/* Correction ids: 1 to 190 printable ASCII characters, no space. */
#define LEDGER_CORR_ID_MAX 191
/* Reason codes: 1 to 31 of A-Z, 0-9 and _, the shape of a rule code. */
#define LEDGER_CORR_REASON_MAX LEDGER_FIN_RULE_MAX
#define LEDGER_CORR_HELD_PREFIX "corr:"
/* Reasons a correcting entry may carry. */
#define LEDGER_CORR_MAX_REASONS 64

typedef struct {
    char correction_id[LEDGER_CORR_ID_MAX];
    char order_id[LEDGER_FIN_ID_MAX];
    ledger_fin_state status; /* LEDGER_FIN_VALID, LEDGER_FIN_INVALID or LEDGER_FIN_CANCELLED */
    char reason[LEDGER_CORR_REASON_MAX];
    int64_t decided_at;
} ledger_corr_request;

/* LEDGER_FIN_VALID, LEDGER_FIN_INVALID or LEDGER_FIN_CANCELLED from its OrderStatus symbol. 0,
 * or -1 for another name. */
int ledger_corr_status_parse(const char *name, ledger_fin_state *out);

/* Fills *out from the record's fields, checking their shape. 0, or -1 with
 * why. */
int ledger_corr_request_make(ledger_corr_request *out, const char *correction_id,
                             const char *order_id, const char *status, const char *reason,
                             int64_t decided_at, char *why, size_t why_len);

/* The order's latest entry, as a correction reads it. */
typedef struct {
    ledger_fin_state status;
    int64_t finalized_at;
    int corrected;             /* it is a correcting entry: the two below are set */
    int64_t decided_at;        /* its correction's */
    const char *correction_id; /* its correction's, borrowed */
} ledger_corr_latest;

typedef enum {
    LEDGER_CORR_APPEND = 0,  /* append a correcting entry */
    LEDGER_CORR_HOLD,        /* the order is not final: keep it in the dossier */
    LEDGER_CORR_SAME_STATUS, /* the order has that status already: nothing */
    LEDGER_CORR_SUPERSEDED   /* decided before the order's latest correction: nothing */
} ledger_corr_action;

/* "APPEND", "HOLD", "SAME_STATUS", "SUPERSEDED". */
const char *ledger_corr_action_name(ledger_corr_action action);

/* What x does to an order whose latest entry is latest (NULL: the order is
 * not final). A correction id already in the log is the caller's to skip. */
ledger_corr_action ledger_corr_decide(const ledger_corr_latest *latest,
                                      const ledger_corr_request *x);

/* Whether (a_at, a_id) comes before (b_at, b_id): decision time, then id. */
int ledger_corr_precedes(int64_t a_at, const char *a_id, int64_t b_at, const char *b_id);

/* The reasons of the correcting entry: reasons[0..n) and reason, sorted and
 * each once, into out (room for max; pointers borrowed from the inputs).
 * The count, or -1 when they do not fit. */
long ledger_corr_reasons(const char *const *reasons, size_t n, const char *reason, const char **out,
                         size_t max);

/* The correcting entry's finalized_at: max(decided_at, latest_finalized_at,
 * promised + 1); promised is INT64_MIN when nothing was promised yet. */
int64_t ledger_corr_finalized_at(int64_t decided_at, int64_t latest_finalized_at, int64_t promised);

/* The held form. 0, or -1 when it does not fit (or, parsing, is
 * malformed). */
int ledger_corr_held_field(const char *correction_id, char *field, size_t len);
int ledger_corr_held_value(const ledger_corr_request *x, char *value, size_t len);
int ledger_corr_held_parse(const char *order_id, const char *field, const char *value,
                           ledger_corr_request *out);

/* Sorts held corrections into decision order (ledger_corr_precedes). */
void ledger_corr_sort(ledger_corr_request *held, size_t n);

#endif
