/* Fuzzes the ledger's readers (services/ledger-writer): a log directory as
 * the offline verifier and a read-only open read it, the JSON proofs an
 * outsider checks, and the signed checkpoint note.
 *
 * Input: byte 0 picks what the rest is (modulo 4):
 *   0  a log directory: the files origin, entries and checkpoints, in that
 *      order, separated by the line SEPARATOR; written into this process's
 *      scratch directory (fuzz_files.h: the readers take a directory), then
 *      ledger_verify_dir, and ledger_log_open read-only, which on success
 *      also finds an order and makes the proofs a verifier would ask for;
 *   1  an inclusion proof (JSON) for ledger_check_inclusion_proof;
 *   2  a consistency proof (JSON) for ledger_check_consistency_proof;
 *   3  one checkpoint note for ledger_checkpoint_parse and, when it
 *      parses, ledger_checkpoint_verify.
 * Signatures are checked against FUZZ_PUBLIC_KEY, whose private half
 * signed the seed corpus (README).
 *
 * Ownership: the key lives from init to exit; the log, the JSON documents
 * and the proofs made are freed here; the scratch files are the process's,
 * removed at exit. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "fuzz_files.h"
#include "ledger-writer/ledger_checkpoint.h"
#include "ledger-writer/ledger_log.h"
#include "ledger-writer/ledger_proof_json.h"
#include "ledger-writer/ledger_sign.h"
#include "ledger-writer/ledger_verify.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEPARATOR "\n----8<----\n"

static const char FUZZ_PUBLIC_KEY[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAuRbFzpFCmYgApLGz/lXIZdO8UUk4QVfnkijfEyAjZSQ=\n"
    "-----END PUBLIC KEY-----\n";

static ledger_key *key;

static void cleanup(void)
{
    ledger_key_free(key);
    cw_avro_shutdown();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    cw_log_set_level(CW_LOG_ERROR);
    if (ledger_key_from_pem(FUZZ_PUBLIC_KEY, sizeof(FUZZ_PUBLIC_KEY) - 1, 0, &key, err,
                            sizeof(err)) != 0 ||
        cw_avro_init(err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_ledger: %s\n", err);
        abort();
    }
    fuzz_scratch_dir();
    atexit(cleanup);
    return 0;
}

/* The next part of data[*pos..size): up to SEPARATOR or the end. */
static size_t next_part(const uint8_t *data, size_t size, size_t *pos)
{
    static const size_t sep_len = sizeof(SEPARATOR) - 1;
    size_t start = *pos;
    for (size_t i = start; i + sep_len <= size; i++) {
        if (memcmp(data + i, SEPARATOR, sep_len) == 0) {
            *pos = i + sep_len;
            return i - start;
        }
    }
    *pos = size;
    return size - start;
}

/* What `carewatch ledger prove` asks of an opened log. */
static void use_log(const ledger_log *log)
{
    char err[512];
    uint64_t index;
    json_t *proof = NULL;
    (void)ledger_find_order(log, "ord-00001", &index, err, sizeof(err));
    if (ledger_inclusion_proof_json(log, "ord-00001", &proof, err, sizeof(err)) == 0)
        json_decref(proof);
    uint64_t count = ledger_log_checkpoint_count(log);
    if (count >= 2) {
        uint64_t old_size = ledger_log_checkpoint_size(log, 0);
        uint64_t new_size = ledger_log_checkpoint_size(log, count - 1);
        proof = NULL;
        if (ledger_consistency_proof_json(log, old_size, new_size, &proof, err, sizeof(err)) == 0)
            json_decref(proof);
    }
}

static void read_directory(const uint8_t *data, size_t size)
{
    static const char *const files[] = {LEDGER_FILE_ORIGIN, LEDGER_FILE_ENTRIES,
                                        LEDGER_FILE_CHECKPOINTS};
    size_t pos = 0;
    for (size_t i = 0; i < 3; i++) {
        size_t start = pos;
        size_t len = next_part(data, size, &pos);
        fuzz_write_file(files[i], data + start, len);
    }
    const char *dir = fuzz_scratch_dir();

    ledger_verify_report report;
    (void)ledger_verify_dir(dir, key, &report);

    ledger_log_options opt = {.verify_key = key};
    ledger_log *log;
    char err[512];
    if (ledger_log_open(dir, &opt, &log, err, sizeof(err)) == 0) {
        use_log(log);
        ledger_log_close(log);
    }
}

static void check_proof(const uint8_t *data, size_t size, int consistency)
{
    json_error_t jerr;
    json_t *proof = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (proof == NULL)
        return;
    char msg[512];
    if (consistency)
        (void)ledger_check_consistency_proof(proof, key, msg, sizeof(msg));
    else
        (void)ledger_check_inclusion_proof(proof, key, msg, sizeof(msg));
    json_decref(proof);
}

static void check_note(const uint8_t *data, size_t size)
{
    ledger_checkpoint cp;
    char err[256];
    if (ledger_checkpoint_parse((const char *)data, size, &cp, err, sizeof(err)) == 0)
        (void)ledger_checkpoint_verify(&cp, key, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4u) {
    case 0: read_directory(data + 1, size - 1); break;
    case 1: check_proof(data + 1, size - 1, 0); break;
    case 2: check_proof(data + 1, size - 1, 1); break;
    default: check_note(data + 1, size - 1); break;
    }
    return 0;
}
