/* The audit of a ledger, as `carewatch ledger verify` runs it offline:
 * every byte of a log directory checked without trusting it, and finding
 * an order's entry. The proofs are in ledger_proof_json.h.
 *
 * Entries are expected to be single-object encoded OrderFinalized records
 * (schemas/OrderFinalized.avsc) whose ledger_index is their position.
 * The functions that decode entries call cw_avro_init() themselves; the
 * caller may call cw_avro_shutdown() when done.
 *
 * Return codes are those of the command line: LEDGER_AUDIT_OK (0),
 * LEDGER_AUDIT_FAILED (1: the log or proof does not verify, or holds no
 * such order or checkpoint), LEDGER_AUDIT_ERROR (2: unreadable input,
 * out of memory). */
#ifndef LEDGER_VERIFY_H
#define LEDGER_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "ledger-writer/ledger_checkpoint.h"
#include "ledger-writer/ledger_log.h"
#include "ledger-writer/ledger_sign.h"

#define LEDGER_AUDIT_OK 0
#define LEDGER_AUDIT_FAILED 1
#define LEDGER_AUDIT_ERROR 2

typedef enum {
    LEDGER_PROBLEM_NONE = 0,
    /* entries */
    LEDGER_PROBLEM_ENTRY_FRAMING,   /* a length outside 1..LEDGER_ENTRY_MAX */
    LEDGER_PROBLEM_ENTRY_TORN,      /* the entries file ends inside an entry */
    LEDGER_PROBLEM_ENTRY_DECODE,    /* not a single-object OrderFinalized record */
    LEDGER_PROBLEM_ENTRY_INDEX,     /* ledger_index is not the entry's position */
    LEDGER_PROBLEM_ENTRY_DUPLICATE, /* its order_id is at an earlier entry too */
    LEDGER_PROBLEM_ENTRY_CORRECTION, /* a correcting entry that does not correct its
                                        order's latest entry, or reuses a correction id */
    /* checkpoints */
    LEDGER_PROBLEM_CHECKPOINT_FORMAT,    /* not a checkpoint note */
    LEDGER_PROBLEM_CHECKPOINT_TORN,      /* the file ends inside a note */
    LEDGER_PROBLEM_CHECKPOINT_ORIGIN,    /* another log's origin */
    LEDGER_PROBLEM_CHECKPOINT_SIGNATURE, /* not signed by the given key */
    LEDGER_PROBLEM_CHECKPOINT_ORDER,     /* a smaller tree than the one before */
    LEDGER_PROBLEM_CHECKPOINT_BEYOND,    /* covers more entries than there are */
    LEDGER_PROBLEM_CHECKPOINT_ROOT,      /* the entries give another root */
} ledger_problem;

typedef struct ledger_verify_report {
    char origin[LEDGER_ORIGIN_MAX + 1];
    uint64_t entries;     /* complete entries read */
    uint64_t checkpoints; /* checkpoint notes read */
    uint64_t corrections; /* correcting entries read */
    uint64_t covered;     /* largest tree size of a checkpoint that verified */
    int signatures_checked;
    char key_id_hex[2 * LEDGER_KEY_ID_LEN + 1]; /* the given key's id, when checked */

    /* The first bad entry, by index. */
    ledger_problem entry_problem;
    uint64_t bad_entry;
    uint64_t duplicate_of; /* ENTRY_DUPLICATE: the earlier entry */
    char entry_message[256];

    /* The first bad checkpoint, by its place in the checkpoints file
     * (0-based). For CHECKPOINT_ROOT the changed entry lies in
     * [range_begin, range_end): range_begin is the size of the last
     * checkpoint before it that verified (0 if none), range_end its own. */
    ledger_problem checkpoint_problem;
    uint64_t bad_checkpoint;
    uint64_t bad_checkpoint_size;
    uint64_t range_begin, range_end;
    char checkpoint_message[256];

    char message[768]; /* one paragraph for people: the result */
} ledger_verify_report;

/* Verifies the log in dir without trusting it: every entry's framing,
 * that each is an OrderFinalized whose ledger_index is its position and
 * whose order_id is not at an earlier entry, unless it is a correcting
 * entry (corrects_index set) that corrects the latest earlier entry of its
 * order under a correction id no other entry has; every checkpoint's form,
 * origin, order and root (re-derived from the entries), and with key
 * (may be NULL) its signature. A torn tail counts as a problem here (the
 * writer cuts it when it next opens the log). Never writes. */
int ledger_verify_dir(const char *dir, const ledger_key *key, ledger_verify_report *rep);

/* The index of the latest entry of order_id (its last correcting entry,
 * when it was corrected): LEDGER_AUDIT_OK and *index, LEDGER_AUDIT_FAILED
 * when no entry has it, LEDGER_AUDIT_ERROR. */
int ledger_find_order(const ledger_log *log, const char *order_id, uint64_t *index, char *err,
                      size_t errlen);

#endif
