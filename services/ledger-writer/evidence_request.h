/* The EvidenceRequested notice (schema EvidenceRequested): when an order
 * turns questionable (finalize_rules.h: every verdict in, none red, visited
 * in time, flagged yellow or orange) its provider is asked for evidence on
 * notices.provider.<provider_id>, keyed by order_id, so that the provider's
 * system can ask the caregiver for the watermarked photo and the elder's
 * recording before the deadline. Every field comes from the dossier and the
 * decision, so each notice of one order has the same bytes, live or
 * replayed. Pure: the record is encoded, nothing is sent. */
#ifndef LEDGER_EVIDENCE_REQUEST_H
#define LEDGER_EVIDENCE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "ledger-writer/finalize_rules.h"
#include "topics.h"


typedef struct {
    const char *order_id, *provider_id, *caregiver_id, *elder_id, *street_id;
    const char *reasons[LEDGER_FIN_MAX_REASONS]; /* borrowed from the decision */
    size_t reason_count;
    int64_t visit_end, deadline, at;
} ledger_evidence_request;

/* From a questionable decision (f->questionable) and the order's ids. */
ledger_evidence_request ledger_evidence_request_of(const ledger_fin_decision *f,
                                                   const char *order_id, const char *provider_id,
                                                   const char *caregiver_id, const char *elder_id,
                                                   const char *street_id);

/* "notices.provider.<provider_id>". 0, or -1 when it does not fit. */
int ledger_evidence_request_topic(const char *provider_id, char *buf, size_t len);

/* Encodes r (single-object Avro) into *out (malloc'd; the caller frees).
 * 0, or -1 with err. */
int ledger_evidence_request_encode(const ledger_evidence_request *r, uint8_t **out, size_t *len,
                                   char *err, size_t errlen);

#endif
