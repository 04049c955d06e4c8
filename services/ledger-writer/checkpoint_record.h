/* The LedgerCheckpoint record (schemas/LedgerCheckpoint.avsc) of a signed
 * checkpoint, as published on ledger.checkpoints. Its note field holds the
 * whole signed note (checkpoint text, blank line, signature line), so a
 * subscriber can verify it with the log's public key alone. */
#ifndef CHECKPOINT_RECORD_H
#define CHECKPOINT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "ledger-writer/ledger_checkpoint.h"

/* Single-object encoded, malloc'd into *out (caller frees), with
 * finalized_through (INT64_MIN: null; not part of the signed note, see
 * ledger_writer.h). 0, or -1 with err. */
int ledger_checkpoint_record_encode(const ledger_checkpoint *cp, int64_t finalized_through,
                                    uint8_t **out, size_t *len, char *err, size_t errlen);

#endif
