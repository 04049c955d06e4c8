/* The ledger's Merkle log on disk (docs/ledger.md has the format byte by
 * byte). A log is a directory of three files:
 *
 *   origin       "carewatch.ledger/<log_id>/<hash>\n", written once
 *   entries      every entry as a 4-byte big-endian length and the bytes
 *   checkpoints  every signed checkpoint note, each followed by a blank line
 *
 * Both data files are only ever appended to. An append returns once the
 * bytes are on disk (fsync; the directory too when the files were created),
 * so an entry or checkpoint whose append returned survives a crash. A
 * crash during an append leaves a partial record at the end of a file;
 * opening the log cuts it away ("torn tail") and says how many bytes it
 * cut. Anything else malformed is an error, never repaired.
 *
 * The writer keeps the whole log in memory: the entries file as read (each
 * entry once), its offsets and the Merkle tree's complete subtrees (the
 * leaf hashes and under as many inner hashes: < 64 bytes per entry). For
 * the checkpoints only their sizes and places in the file are kept.
 *
 * One process at a time may open a log for writing (an exclusive lock on
 * the entries file); read-only opens never write and take no lock. A
 * ledger_log is not thread-safe: use it from one thread. */
#ifndef LEDGER_LOG_H
#define LEDGER_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "ledger-writer/ledger_checkpoint.h"
#include "ledger-writer/ledger_hash.h"
#include "ledger-writer/ledger_sign.h"
#include "ledger-writer/merkle.h"

#define LEDGER_FILE_ORIGIN "origin"
#define LEDGER_FILE_ENTRIES "entries"
#define LEDGER_FILE_CHECKPOINTS "checkpoints"
/* Largest entry, in bytes (an OrderFinalized record is well under 1 KiB). */
#define LEDGER_ENTRY_MAX (1u << 20)
#define LEDGER_FRAME_LEN 4

/* Return codes of ledger_log_open (0 is success). */
#define LEDGER_ERR_IO (-1)      /* missing, unreadable or unwritable, out of memory */
#define LEDGER_ERR_CORRUPT (-2) /* the files do not hold a consistent log */
#define LEDGER_ERR_CONFIG (-3)  /* another log than the options name, or a bad option */

typedef struct ledger_log_options {
    /* The log's id and hash. A writer creates the log with them when the
     * directory holds none, and refuses a log with others. A read-only
     * open may leave log_id NULL to take the log's own (hash is then
     * ignored too). */
    const char *log_id;
    ledger_hash_alg hash;
    /* Private key that signs checkpoints. NULL opens read-only: nothing is
     * created, cut or written; a torn tail is only left out in memory. */
    const ledger_key *signer;
    /* When non-NULL every checkpoint read at open must be signed by this
     * key (the writer passes its signer). Every checkpoint's root is
     * checked against the entries in any case. */
    const ledger_key *verify_key;
} ledger_log_options;

typedef struct ledger_log ledger_log;

/* Opens (a writer: creates when missing, directory included) the log in
 * dir. On success returns 0 and *out, which ledger_log_close frees. On
 * failure returns LEDGER_ERR_IO, LEDGER_ERR_CORRUPT or LEDGER_ERR_CONFIG
 * with a message in err naming the file and the entry or checkpoint. */
int ledger_log_open(const char *dir, const ledger_log_options *opt, ledger_log **out, char *err,
                    size_t errlen);
void ledger_log_close(ledger_log *log);

const char *ledger_log_id(const ledger_log *log);
const char *ledger_log_origin(const ledger_log *log);
ledger_hash_alg ledger_log_hash(const ledger_log *log);
uint64_t ledger_log_size(const ledger_log *log);
/* Bytes of an incomplete last record found at open in each file: cut
 * away by a writer, left out by a read-only open. Normally 0. */
uint64_t ledger_log_torn_entry_bytes(const ledger_log *log);
uint64_t ledger_log_torn_checkpoint_bytes(const ledger_log *log);

/* Appends one entry (1 byte to LEDGER_ENTRY_MAX) and returns once it is
 * on disk. *index_out (may be NULL) is its index. On failure nothing is
 * appended; after a failed write or fsync the log refuses further appends
 * (what reached the disk is unknown until it is opened again). 0, or -1
 * with a message in err. */
int ledger_log_append(ledger_log *log, const uint8_t *entry, size_t len, uint64_t *index_out,
                      char *err, size_t errlen);
/* Appends n entries with one write and one fsync (a batch, as an import
 * makes); *first_index (may be NULL) is the index of the first. All or
 * none are appended, as with ledger_log_append. */
int ledger_log_append_many(ledger_log *log, const uint8_t *const *entries, const size_t *lens,
                           size_t n, uint64_t *first_index, char *err, size_t errlen);
/* Entry index, borrowed from the log: valid until the next append or
 * close. 0, or -1 when index >= size. */
int ledger_log_entry(const ledger_log *log, uint64_t index, const uint8_t **entry, size_t *len);
/* Leaf hash of entry index (borrowed like an entry), or NULL. */
const uint8_t *ledger_log_leaf_hash(const ledger_log *log, uint64_t index);
/* Root of the first size entries (size <= ledger_log_size). 0, or -1. */
int ledger_log_root(const ledger_log *log, uint64_t size, uint8_t root[LEDGER_HASH_LEN]);

/* Proofs against the tree of size entries (see merkle.h): proof has room
 * for LEDGER_MERKLE_MAX_PROOF hashes. 0, or -1 for sizes out of range. */
int ledger_log_inclusion_proof(const ledger_log *log, uint64_t index, uint64_t size,
                               uint8_t *proof, size_t *count);
int ledger_log_consistency_proof(const ledger_log *log, uint64_t old_size, uint64_t new_size,
                                 uint8_t *proof, size_t *count);

/* Signs the root at the current size (timestamp_ms: ms since the epoch,
 * >= 0), appends the note to the checkpoints file and returns once it is
 * on disk; *out (may be NULL) receives it. 0, or -1 with a message. */
int ledger_log_checkpoint(ledger_log *log, int64_t timestamp_ms, ledger_checkpoint *out,
                          char *err, size_t errlen);
/* Checkpoints in file order; their tree sizes never decrease. */
uint64_t ledger_log_checkpoint_count(const ledger_log *log);
/* Tree size of checkpoint i (i < count), from memory. */
uint64_t ledger_log_checkpoint_size(const ledger_log *log, uint64_t i);
/* Checkpoint i, read back from the file. 0, or -1 with a message. */
int ledger_log_checkpoint_get(const ledger_log *log, uint64_t i, ledger_checkpoint *out,
                              char *err, size_t errlen);
/* The last checkpoint whose tree size is size: 0 and *out, 1 when there is
 * none, -1 on a read error (message in err). */
int ledger_log_checkpoint_find(const ledger_log *log, uint64_t size, ledger_checkpoint *out,
                               char *err, size_t errlen);

/* ---- record framing, shared with the offline verifier ---------------- */

#define LEDGER_RECORD_OK 1
#define LEDGER_RECORD_END 0
#define LEDGER_RECORD_TORN (-1) /* the data ends inside a record */
#define LEDGER_RECORD_BAD (-2)  /* a record that no append writes */

/* The entry at *pos of the entries file data[0..len): returns
 * LEDGER_RECORD_OK with *entry, *entry_len and *pos moved past it,
 * LEDGER_RECORD_END at the end, LEDGER_RECORD_TORN when the data ends
 * inside the entry, LEDGER_RECORD_BAD for a length of 0 or above
 * LEDGER_ENTRY_MAX. */
int ledger_next_entry(const uint8_t *data, size_t len, size_t *pos, const uint8_t **entry,
                      size_t *entry_len);
/* The checkpoint note at *pos of the checkpoints file text[0..len): a note
 * ends at the blank line after its signature lines. Returns
 * LEDGER_RECORD_OK with the note (without that blank line) at
 * text + *pos, *note_len bytes, and *pos moved past the blank line;
 * LEDGER_RECORD_END, LEDGER_RECORD_TORN (unterminated, at most
 * LEDGER_NOTE_MAX bytes), or LEDGER_RECORD_BAD (an unterminated or
 * terminated record longer than LEDGER_NOTE_MAX, or one without a blank
 * line between text and signatures). */
int ledger_next_checkpoint(const char *text, size_t len, size_t *pos, size_t *note_len);

/* Reads the file dir/name whole into a malloc'd buffer (*data, one byte
 * more than *len, NUL-terminated; the caller frees it). 0, or -1 with
 * errno set. */
int ledger_read_file(const char *dir, const char *name, uint8_t **data, size_t *len);

#endif
