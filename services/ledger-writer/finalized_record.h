/* The OrderFinalized record (docs/design.md §5) of a decided order, and
 * the contract it belongs to. The encoded record is both the ledger entry
 * and the value published on orders.finalized: an auditor hashes a Kafka
 * record to find its leaf. Avro's binary encoding of a record is
 * deterministic, so the same decision always gives the same bytes. */
#ifndef FINALIZED_RECORD_H
#define FINALIZED_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "avro_records.h"
#include "ledger-writer/finalize_rules.h"

typedef struct {
    const char *order_id, *provider_id, *caregiver_id, *elder_id, *street_id;
    const char *contract_id; /* NULL: no contract of the provider holds the day */
    int64_t service_day;     /* days since the epoch (UTC+8 date of the start) */
    ledger_fin_state status; /* LEDGER_FIN_VALID, LEDGER_FIN_INVALID or LEDGER_FIN_CANCELLED */
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
} ledger_finalized_order;

/* Single-object encoded OrderFinalized, malloc'd into *out (caller frees).
 * 0, or -1 with err. */
int ledger_finalized_encode(const ledger_finalized_order *o, uint8_t **out, size_t *len, char *err,
                            size_t errlen);

/* An entry of the log read back: the decoded value and the typed record,
 * whose strings borrow from it. */
typedef struct {
    avro_value_t v;
    cw_order_finalized rec;
} ledger_entry;

/* Decodes an entry's bytes into *e, which the caller releases with
 * ledger_entry_release on success. 0, or -1 with err (undecodable, another
 * record than OrderFinalized, a field missing). */
int ledger_entry_decode(const uint8_t *bytes, size_t len, ledger_entry *e, char *err,
                        size_t errlen);
void ledger_entry_release(ledger_entry *e);

/* The contract an order belongs to, among its provider's contracts as the
 * provider's contract index keeps them (ids[i] -> entries[i], the text of
 * cw_contract_cover_entry, reference_store.h): the one whose period holds day and
 * which serves street_id (names it, or every street), the smallest id when
 * several do. Its position in ids, or -1 when none does. */
long ledger_contract_for_order(const char *const *ids, const char *const *entries, size_t n,
                               int64_t day, const char *street_id);

#endif
