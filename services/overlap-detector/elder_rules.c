#include "elder_rules.h"

cw_verdict rule_elder_unavailable(cw_elder_status status_at_check_in)
{
    cw_verdict v = {.outcome = status_at_check_in == CW_ELDER_ACTIVE ? CW_PASS : CW_RED,
                    .has_measured = 1,
                    .measured = (double)status_at_check_in,
                    .has_threshold = 1,
                    .threshold = 0,
                    .unit = ""};
    return v;
}
