#include "ledger-writer/checkpoint_record.h"

#include <stdint.h>
#include <stdio.h>

#include "avro_codec.h"
#include "avro_records.h"

int ledger_checkpoint_record_encode(const ledger_checkpoint *cp, int64_t finalized_through,
                                    uint8_t **out, size_t *len, char *err, size_t errlen)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("LedgerCheckpoint");
    avro_value_t v;
    *out = NULL;
    if (s == NULL || cw_avro_new_value(s, &v) != 0) {
        snprintf(err, errlen, "no LedgerCheckpoint schema");
        return -1;
    }
    char note[LEDGER_NOTE_MAX + 1];
    snprintf(note, sizeof(note), "%.*s", (int)cp->signed_note_len, cp->signed_note);
    const cw_ledger_checkpoint r = {
        .log_id = cp->log_id,
        .tree_size = (int64_t)cp->tree_size,
        .root_hash = cp->root_hash,
        .root_hash_len = sizeof(cp->root_hash),
        .hash_alg = cp->hash_alg,
        .timestamp = cp->timestamp_ms,
        .key_id = cp->key_id_hex,
        .signature = cp->signature,
        .signature_len = cp->signature_len,
        .note = note,
        .has_finalized_through = finalized_through != INT64_MIN,
        .finalized_through = finalized_through,
    };
    int bad = cw_ledger_checkpoint_write(&v, &r) != 0;
    int rc = -1;
    if (bad)
        snprintf(err, errlen, "cannot fill LedgerCheckpoint");
    else
        rc = cw_avro_encode(&v, s, out, len, err, errlen);
    avro_value_decref(&v);
    return rc;
}
