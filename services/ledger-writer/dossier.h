/* One order's dossier as the ledger-writer keeps it in Redis (a hash
 * cw:lw:d:<order_id>), and its parsing into what ledger_finalize_decide reads.
 *
 *   start minutes cg prov elder part   from OrderAssigned (part: its
 *                                      partition, which owns the timers)
 *   in_at in_ev out_at out_ev          the first check-in / check-out seen
 *   ev_at                              the first evidence seen
 *   rev_at                             the first evidence seen that shows
 *                                      another order's hashes (EVIDENCE_REUSE)
 *   rev cancel chg_at                  the latest revision of the order
 *                                      (docs/maintenance.md), the reason
 *                                      code when it is a cancel (else ""),
 *                                      when it took effect
 *   k:<subject>|<rule>                 "<OUTCOME>|<at>" of each verdict
 *
 * Pure: parsing takes the hash's field/value pairs. */
#ifndef DOSSIER_H
#define DOSSIER_H

#include <stddef.h>
#include <stdint.h>

#include "ledger-writer/finalize_rules.h"

#define LEDGER_DOSSIER_CHECK_PREFIX "k:"

typedef struct {
    ledger_fin_dossier d;     /* d.checks points into checks */
    ledger_fin_check *checks; /* owned; ledger_dossier_free */
    size_t check_capacity;
    char caregiver_id[LEDGER_FIN_ID_MAX];
    char provider_id[LEDGER_FIN_ID_MAX];
    char elder_id[LEDGER_FIN_ID_MAX];
    int scheduled_minutes;
    int partition; /* -1 until the order is known */
} ledger_dossier;

/* Fills out from n field/value pairs of the hash. Fields it does not know
 * and malformed values are skipped (counted in *skipped when not NULL).
 * 0, or -1 out of memory. out must be ledger_dossier_free'd either way. */
int ledger_dossier_parse(const char *order_id, const char *const *fields, const char *const *values,
                         size_t n, ledger_dossier *out, size_t *skipped);
void ledger_dossier_free(ledger_dossier *d);

/* The hash field and value of one verdict: "k:<subject>|<rule>" and
 * "<OUTCOME>|<at>". 0, or -1 when they do not fit. */
int ledger_dossier_check_field(const char *subject, const char *rule, char *field, size_t len);
int ledger_dossier_check_value(const char *outcome, int64_t at, char *value, size_t len);

#endif
