#include "access_rules.h"

#include <stdlib.h>
#include <string.h>

int access_id_in_namespace(const char *provider_id, const char *id)
{
    size_t n = strlen(provider_id);
    return n > 0 && strncmp(id, provider_id, n) == 0 && id[n] == ':' && id[n + 1] != '\0';
}

/* Whether the comma-separated list (up to end) names street_id. */
static int list_names(const char *list, const char *street_id)
{
    size_t want = strlen(street_id);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == want && strncmp(p, street_id, n) == 0)
            return 1;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

static contract_cover entry_cover(const char *entry, int64_t day, const char *street_id)
{
    char *end;
    long long first = strtoll(entry, &end, 10);
    if (end == entry || *end != ' ')
        return COVER_NO_CONTRACT;
    const char *p = end + 1;
    long long last = strtoll(p, &end, 10);
    if (end == p || *end != ' ')
        return COVER_NO_CONTRACT;
    if (day < first || day > last)
        return COVER_NO_CONTRACT;
    const char *streets = end + 1;
    return *streets == '\0' || list_names(streets, street_id) ? COVER_SERVED : COVER_OTHER_STREET;
}

contract_cover access_contracts_cover(const char *const *entries, size_t n, int64_t service_day,
                                      const char *street_id)
{
    contract_cover best = COVER_NO_CONTRACT;
    for (size_t i = 0; i < n; i++) {
        contract_cover c = entries[i] ? entry_cover(entries[i], service_day, street_id)
                                      : COVER_NO_CONTRACT;
        if (c > best)
            best = c;
    }
    return best;
}
