/* What a provider key may create, judged from the request and the stored
 * reference data alone (pure functions; the handlers do the lookups). The rules
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

#include "reference_store.h" /* cw_contract_cover */

/* Whether id lies in provider_id's namespace ("<provider_id>:" then at
 * least one character). */
int ingest_id_in_namespace(const char *provider_id, const char *id);

/* What the n entries of a provider's contract index (written by
 * cw_state_write_contract, reference_store.h: "<first day> <last day>
 * <street>,...") say of street_id on service_day, the best of them: no
 * contract holds the day, contracts hold it for other streets only, or one
 * serves the street. Malformed entries (and NULL ones) hold nothing. */
cw_contract_cover ingest_contracts_cover(const char *const *entries, size_t n,
                                         int64_t service_day, const char *street_id);

#endif
