/* What a provider key may create, judged from the request and the stored
 * reference data alone (pure functions; api.c does the lookups). The rules
 * keep providers out of each other's way (docs/security.md):
 *
 *   - id namespace: every order_id and event_id a provider key posts begins
 *     with "<provider_id>:". Refusing another provider's ids depends on the
 *     id's text only, never on whether the id exists, so the refusal reveals
 *     nothing, and nobody can take a provider's future ids first. (Provider
 *     ids hold no ':', so no namespace contains another.)
 *   - contract cover: an order is for an elder the provider has a contract
 *     to serve: one of the provider's contracts holds the order's service
 *     day (UTC+8) in its period and, when it names streets, the elder's
 *     street among them.
 *
 * Registry, importer and admin keys act for the whole district and are not
 * bound by either rule. */
#ifndef INGEST_ACCESS_RULES_H
#define INGEST_ACCESS_RULES_H

#include <stddef.h>
#include <stdint.h>

/* Whether id lies in provider_id's namespace ("<provider_id>:" then at
 * least one character). */
int access_id_in_namespace(const char *provider_id, const char *id);

/* One contract as the provider's contract index keeps it (written by
 * cw_state_write_contract, state.h): "<first day> <last day> <street>,..."
 * with days counted from 1970-01-01, the street list empty when the
 * contract serves every street. */
typedef enum {
    COVER_NO_CONTRACT,  /* no contract holds the day */
    COVER_OTHER_STREET, /* contracts hold the day, for other streets only */
    COVER_SERVED
} contract_cover;

/* What the n index entries say of street_id on service_day. Malformed
 * entries (and NULL ones) hold nothing. */
contract_cover access_contracts_cover(const char *const *entries, size_t n, int64_t service_day,
                                      const char *street_id);

#endif
