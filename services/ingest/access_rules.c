#include "ingest/access_rules.h"

#include <string.h>

int ingest_id_in_namespace(const char *provider_id, const char *id)
{
    size_t n = strlen(provider_id);
    return n > 0 && strncmp(id, provider_id, n) == 0 && id[n] == ':' && id[n + 1] != '\0';
}

cw_contract_cover ingest_contracts_cover(const char *const *entries, size_t n,
                                         int64_t service_day, const char *street_id)
{
    cw_contract_cover best = CW_COVER_NONE;
    for (size_t i = 0; i < n; i++) {
        /* The enum is ordered: a served street beats another street. */
        cw_contract_cover c =
            entries[i] != NULL ? cw_contract_cover_of(entries[i], service_day, street_id)
                               : CW_COVER_NONE;
        if (c > best)
            best = c;
    }
    return best;
}
