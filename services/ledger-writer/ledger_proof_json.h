/* Inclusion and consistency proofs of the ledger as JSON documents that
 * an outsider checks offline, with `carewatch ledger check-proof` /
 * `check-consistency` or any RFC 9162 implementation (docs/ledger.md has
 * the formats). Hashes are lowercase hex, entries base64, and each proof
 * carries the signed checkpoint note(s) it verifies against.
 *
 * Return codes are those of ledger_verify.h (LEDGER_AUDIT_*). */
#ifndef LEDGER_PROOF_JSON_H
#define LEDGER_PROOF_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger-writer/ledger_log.h"
#include "ledger-writer/ledger_sign.h"
#include "ledger-writer/ledger_verify.h"

#define LEDGER_INCLUSION_FORMAT "carewatch-ledger-inclusion-proof/1"
#define LEDGER_CONSISTENCY_FORMAT "carewatch-ledger-consistency-proof/1"

/* The inclusion proof of order_id's entry in the tree of the log's last
 * checkpoint, as a new JSON object (*out, the caller json_decref's it):
 *   format, origin, log_id, hash_alg, order_id, leaf_index, tree_size,
 *   entry (base64), leaf_hash (hex), proof (hex hashes, lowest first),
 *   root_hash (hex), checkpoint (the signed note).
 * LEDGER_AUDIT_FAILED when the order is not in the log or no checkpoint
 * covers its entry yet (err says which). */
int ledger_inclusion_proof_json(const ledger_log *log, const char *order_id, json_t **out,
                                char *err, size_t errlen);

/* The consistency proof between the log's checkpoints of old_size and
 * new_size entries (the last checkpoint of each size):
 *   format, origin, log_id, hash_alg, old_size, new_size, old_root,
 *   new_root, proof, old_checkpoint, new_checkpoint.
 * LEDGER_AUDIT_FAILED when either size has no checkpoint or old_size >
 * new_size. */
int ledger_consistency_proof_json(const ledger_log *log, uint64_t old_size, uint64_t new_size,
                                  json_t **out, char *err, size_t errlen);

/* Checks an inclusion proof made by ledger_inclusion_proof_json: the
 * checkpoint note parses and names the same log, size and root; the entry
 * hashes to leaf_hash, decodes as an OrderFinalized of that order_id and
 * leaf_index; the RFC 9162 proof leads from it to the root; and with key
 * (may be NULL) the checkpoint is signed by it. msg gets a one-line
 * result either way. LEDGER_AUDIT_OK or LEDGER_AUDIT_FAILED. */
int ledger_check_inclusion_proof(const json_t *proof, const ledger_key *key, char *msg,
                                 size_t msglen);

/* Checks a consistency proof made by ledger_consistency_proof_json: both
 * notes parse and name the same log and the stated sizes and roots, the
 * RFC 9162 proof verifies, and with key both are signed by it. */
int ledger_check_consistency_proof(const json_t *proof, const ledger_key *key, char *msg,
                                   size_t msglen);

#endif
