#include "overlap-detector/elder_rules.h"

cw_verdict overlap_rule_elder_unavailable(cw_elder_status status_at_check_in)
{
    int active = status_at_check_in == CW_ELDER_STATUS_ACTIVE;
    cw_verdict v = {.outcome = active ? CW_OUTCOME_PASS : CW_OUTCOME_RED,
                    .has_measured = 1,
                    .measured = (double)status_at_check_in,
                    .has_threshold = 1,
                    .threshold = 0,
                    .unit = ""};
    return v;
}
