#include "checkpoint_record.h"

#include <stdint.h>
#include <stdio.h>

#include "avro_codec.h"
#include "avro_fields.h"

int checkpoint_record_encode(const ledger_checkpoint *cp, int64_t finalized_through,
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
    int bad = cw_av_set_str(&v, "log_id", cp->log_id) ||
              cw_av_set_long(&v, "tree_size", (int64_t)cp->tree_size) ||
              cw_av_set_bytes(&v, "root_hash", cp->root_hash, sizeof(cp->root_hash)) ||
              cw_av_set_str(&v, "hash_alg", cp->hash_alg) ||
              cw_av_set_long(&v, "timestamp", cp->timestamp_ms) ||
              cw_av_set_str(&v, "key_id", cp->key_id_hex) ||
              cw_av_set_bytes(&v, "signature", cp->signature, cp->signature_len) ||
              cw_av_set_str(&v, "note", note) ||
              cw_av_set_opt_long(&v, "finalized_through", finalized_through != INT64_MIN,
                                 finalized_through);
    int rc = -1;
    if (bad)
        snprintf(err, errlen, "cannot fill LedgerCheckpoint");
    else
        rc = cw_avro_encode(&v, s, out, len, err, errlen);
    avro_value_decref(&v);
    return rc;
}
