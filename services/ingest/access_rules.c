#include "access_rules.h"

#include <string.h>

#include "state.h"

int access_id_in_namespace(const char *provider_id, const char *id)
{
    size_t n = strlen(provider_id);
    return n > 0 && strncmp(id, provider_id, n) == 0 && id[n] == ':' && id[n + 1] != '\0';
}

contract_cover access_contracts_cover(const char *const *entries, size_t n, int64_t service_day,
                                      const char *street_id)
{
    contract_cover best = COVER_NO_CONTRACT;
    for (size_t i = 0; i < n; i++) {
        contract_cover c = COVER_NO_CONTRACT;
        if (entries[i] != NULL)
            switch (cw_contract_cover_of(entries[i], service_day, street_id)) {
            case CW_COVER_NONE: break;
            case CW_COVER_OTHER_STREET: c = COVER_OTHER_STREET; break;
            case CW_COVER_SERVED: c = COVER_SERVED; break;
            }
        if (c > best)
            best = c;
    }
    return best;
}
