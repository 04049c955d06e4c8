/* ELDER_UNAVAILABLE (docs/design.md §4.1; seed 003 对接金民工程): a check-in
 * while the elder is in hospital or after their death, by the registry's
 * periods (elder_status.h) as received by the check-in's own receipt, so a
 * replay judges as live did. Pure. */
#ifndef OVERLAP_ELDER_RULES_H
#define OVERLAP_ELDER_RULES_H

#include "check_result.h"
#include "elder_status.h"

/* Red when the elder was HOSPITALIZED or DECEASED at the check-in.
 * Measured: the status (0 active, 1 hospitalized, 2 deceased); threshold
 * 0. */
cw_verdict overlap_rule_elder_unavailable(cw_elder_status status_at_check_in);

#endif
