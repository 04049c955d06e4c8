#include "overlap-detector/assignment_rules.h"

#include <string.h>

static int listed(const char *service_type, const char *const *types, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (types[i] != NULL && strcmp(types[i], service_type) == 0)
            return 1;
    return 0;
}

cw_verdict overlap_rule_uncertified(int has_certified, int certified, const char *service_type,
                                    const char *const *certified_types, size_t n)
{
    cw_verdict v = {.outcome = CW_OUTCOME_PASS, .has_threshold = 1, .threshold = 1, .unit = ""};
    v.has_measured = has_certified;
    v.measured = has_certified && certified ? 1 : 0;
    if (has_certified && !certified && service_type != NULL &&
        listed(service_type, certified_types, n))
        v.outcome = CW_OUTCOME_RED;
    return v;
}
