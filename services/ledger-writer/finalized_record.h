/* The OrderFinalized record (docs/design.md §5) of a decided order, and
 * the contract it belongs to. The encoded record is both the ledger entry
 * and the value published on orders.finalized: an auditor hashes a Kafka
 * record to find its leaf. Avro's binary encoding of a record is
 * deterministic, so the same decision always gives the same bytes. */
#ifndef FINALIZED_RECORD_H
#define FINALIZED_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "finalize_rules.h"

typedef struct {
    const char *order_id, *provider_id, *caregiver_id, *elder_id, *street_id;
    const char *contract_id; /* NULL: no contract of the provider holds the day */
    int64_t service_day;     /* days since the epoch (UTC+8 date of the start) */
    fin_state status;        /* FIN_VALID, FIN_INVALID or FIN_CANCELLED */
    const char *const *reasons;
    size_t reason_count;
    int has_in, has_out;
    int64_t in_at, out_at;
    int64_t unit_price_cents;
    int64_t finalized_at;
    uint64_t ledger_index;
    /* The elder's duty when finalized (UNDER_SERVED); 0: not known. */
    int visits_per_month, minutes_per_visit;
    /* A correcting entry (correction_rules.h): the entry it corrects, its
     * correction and that one's decided_at. has_corrects 0: a first entry
     * (the three are null on the wire). */
    int has_corrects;
    uint64_t corrects_index;
    const char *correction_id;
    int64_t decided_at;
} finalized_order;

/* Single-object encoded OrderFinalized, malloc'd into *out (caller frees).
 * 0, or -1 with err. */
int finalized_encode(const finalized_order *o, uint8_t **out, size_t *len, char *err,
                     size_t errlen);

/* The contract an order belongs to, among its provider's contracts as the
 * provider's contract index keeps them (ids[i] -> entries[i], the text of
 * cw_contract_cover_entry, state.h): the one whose period holds day and
 * which serves street_id (names it, or every street), the smallest id when
 * several do. Its position in ids, or -1 when none does. */
long contract_for_order(const char *const *ids, const char *const *entries, size_t n,
                        int64_t day, const char *street_id);

#endif
