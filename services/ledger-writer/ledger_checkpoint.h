/* Checkpoints of the ledger: the signed statement "the log <origin> has
 * <size> entries and this root", as a C2SP signed note (c2sp.org/
 * signed-note) whose text is a C2SP checkpoint (c2sp.org/tlog-checkpoint)
 * with one extension line:
 *
 *   carewatch.ledger/<log_id>/<hash>        origin: names the log and its hash
 *   <tree size, decimal>
 *   <root hash, base64>
 *   timestamp <ms since the epoch, decimal>
 *   (blank line)
 *   — <origin> <base64(4-byte key ID || signature)>
 *
 * The signed text is the four lines, each ending in a newline. The key
 * name is the origin; the key ID is ledger_key_id() under that name.
 * <hash> is "sm3" or "sha256" (an SM3 log is a private variant of the C2SP
 * format, which fixes SHA-256; naming the hash in the origin keeps the two
 * apart). */
#ifndef LEDGER_CHECKPOINT_H
#define LEDGER_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "ledger-writer/ledger_hash.h"
#include "ledger-writer/ledger_sign.h"

#define LEDGER_ORIGIN_PREFIX "carewatch.ledger/"
/* Log ids are 1..64 characters of [A-Za-z0-9_.:-], as every carewatch id. */
#define LEDGER_LOG_ID_MAX 64
#define LEDGER_ORIGIN_MAX 96
#define LEDGER_BODY_MAX 256
#define LEDGER_NOTE_MAX 1024

/* One checkpoint, holding everything schemas/LedgerCheckpoint.avsc
 * publishes. Plain data: copy it freely. */
typedef struct ledger_checkpoint {
    char log_id[LEDGER_LOG_ID_MAX + 1];
    char origin[LEDGER_ORIGIN_MAX + 1];     /* also the signature's key name */
    ledger_hash_alg hash;
    const char *hash_alg;                   /* "SM3" or "SHA256": LedgerCheckpoint.hash_alg */
    uint64_t tree_size;
    uint8_t root_hash[LEDGER_HASH_LEN];
    int64_t timestamp_ms;
    uint8_t key_id[LEDGER_KEY_ID_LEN];
    char key_id_hex[2 * LEDGER_KEY_ID_LEN + 1]; /* LedgerCheckpoint.key_id, e.g. "1a2b3c4d" */
    uint8_t signature[LEDGER_SIG_MAX];      /* LedgerCheckpoint.signature, over note */
    size_t signature_len;
    char note[LEDGER_BODY_MAX];             /* the signed text: LedgerCheckpoint.note */
    size_t note_len;
    char signed_note[LEDGER_NOTE_MAX];      /* note, blank line, signature line(s) */
    size_t signed_note_len;
} ledger_checkpoint;

/* True when log_id is 1..64 characters of [A-Za-z0-9_.:-]. */
int ledger_log_id_valid(const char *log_id);
/* "carewatch.ledger/<log_id>/<hash>" into buf. 0, or -1 (invalid id). */
int ledger_origin_format(char *buf, size_t cap, const char *log_id, ledger_hash_alg alg);
/* The reverse; log_id has room for LEDGER_LOG_ID_MAX + 1. 0, or -1. */
int ledger_origin_parse(const char *origin, char *log_id, ledger_hash_alg *alg);

/* Builds and signs the checkpoint of a tree (origin from log_id and alg)
 * with the private key k. Returns 0, or -1 with a message in err. */
int ledger_checkpoint_sign(const ledger_key *k, const char *log_id, ledger_hash_alg alg,
                           uint64_t tree_size, const uint8_t root[LEDGER_HASH_LEN],
                           int64_t timestamp_ms, ledger_checkpoint *out, char *err, size_t errlen);

/* Parses a signed note text[0..len) (without the blank line that ends it
 * in the checkpoints file). Strict: exactly the four lines above, size
 * and timestamp without leading zeros, the root 32 bytes of canonical
 * base64, printable ASCII only (the em dashes aside), and a signature line
 * by the origin; signature lines by other keys (cosigners) are allowed
 * and ignored. Does not verify the signature. Returns 0, or -1 with a
 * message in err. */
int ledger_checkpoint_parse(const char *text, size_t len, ledger_checkpoint *out, char *err,
                            size_t errlen);

/* Checks that the checkpoint's signature is k's: the key ID under the
 * origin matches and the signature verifies. 0, or -1 with a message. */
int ledger_checkpoint_verify(const ledger_checkpoint *cp, const ledger_key *k, char *err,
                             size_t errlen);

#endif
