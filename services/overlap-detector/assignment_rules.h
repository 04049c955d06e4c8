/* UNCERTIFIED (docs/design.md §4.1, seed 000 §1.3 B 护理员无证), judged at
 * assignment like SCHEDULE_OVERLAP, from the assignment record alone:
 * ingest stamps the caregiver's certificate as registered when it accepted
 * the order (OrderAssigned.caregiver_certified), so a replay judges as live
 * did whatever the registry says later. Pure. */
#ifndef OVERLAP_ASSIGNMENT_RULES_H
#define OVERLAP_ASSIGNMENT_RULES_H

#include <stddef.h>

#include "check_result.h"

/* Red when the caregiver is known to be uncertified (has_certified and
 * !certified) and service_type is one of the n service types in
 * certified_types (exact text) that only a certified caregiver may do.
 * An assignment not stamped (has_certified = 0) passes: nothing says the
 * caregiver lacks the certificate. Measured: 1 certified, 0 not (absent
 * when unknown); threshold 1. */
cw_verdict overlap_rule_uncertified(int has_certified, int certified, const char *service_type,
                                    const char *const *certified_types, size_t n);

#endif
