/* The ledger's log on disk: create, append, reopen, read-only opens, the
 * torn tail of a crash, damage that is refused; and the tamper test: a log
 * of a few hundred real OrderFinalized entries with checkpoints along the
 * way, changed in every way an operator or an intruder could, must fail
 * ledger_verify_dir, which must name the first bad entry and checkpoint. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ledger-writer/ledger_log.h"
#include "ledger-writer/ledger_verify.h"
#include "ledger_fixture.h"

static ledger_key *test_key;
static ledger_key *other_key;

static int setup(void **state)
{
    (void)state;
    test_key = fixture_key(LEDGER_SIG_ED25519);
    other_key = fixture_key(LEDGER_SIG_ED25519);
    return 0;
}

static void tamper_free(void);

static int teardown(void **state)
{
    (void)state;
    tamper_free();
    ledger_key_free(test_key);
    ledger_key_free(other_key);
    cw_avro_shutdown();
    return 0;
}

static off_t file_size(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static int open_log(const char *dir, const ledger_log_options *opt, ledger_log **log, char *err)
{
    return ledger_log_open(dir, opt, log, err, 512);
}

/* ---- the log itself ------------------------------------------------------ */

static void test_create_append_reopen(void **state)
{
    (void)state;
    char tmp[64], dir[128], err[512];
    fixture_tmpdir(tmp);
    snprintf(dir, sizeof(dir), "%s/ledger", tmp); /* created by the writer */
    ledger_log *log = fixture_writer(dir, LEDGER_HASH_SM3, test_key);
    assert_int_equal(ledger_log_size(log), 0);
    assert_string_equal(ledger_log_origin(log), "carewatch.ledger/test-log/sm3");
    fixture_append_orders(log, 0, 10);
    fixture_checkpoint(log);
    fixture_append_orders(log, 10, 15);
    uint8_t roots[16][LEDGER_HASH_LEN];
    for (uint64_t s = 0; s <= 15; s++)
        assert_int_equal(ledger_log_root(log, s, roots[s]), 0);
    assert_int_equal(ledger_log_root(log, 16, roots[0]), -1);
    ledger_log_close(log);

    size_t len;
    uint8_t *origin = fixture_read(dir, LEDGER_FILE_ORIGIN, &len);
    assert_int_equal(len, strlen("carewatch.ledger/test-log/sm3\n"));
    assert_memory_equal(origin, "carewatch.ledger/test-log/sm3\n", len);
    free(origin);
    off_t expect = 0;
    for (uint64_t i = 0; i < 15; i++) {
        size_t n;
        free(fixture_order(i, NULL, &n));
        expect += (off_t)(LEDGER_FRAME_LEN + n);
    }
    assert_int_equal(file_size(dir, LEDGER_FILE_ENTRIES), expect);

    /* Read-only: everything back, nothing writable. */
    ledger_log_options ro = {0};
    assert_int_equal(open_log(dir, &ro, &log, err), 0);
    assert_int_equal(ledger_log_size(log), 15);
    assert_string_equal(ledger_log_id(log), "test-log");
    assert_int_equal(ledger_log_hash(log), LEDGER_HASH_SM3);
    for (uint64_t i = 0; i < 15; i++) {
        size_t n, got_len;
        const uint8_t *got;
        uint8_t *rec = fixture_order(i, NULL, &n);
        assert_int_equal(ledger_log_entry(log, i, &got, &got_len), 0);
        assert_int_equal(got_len, n);
        assert_memory_equal(got, rec, n);
        free(rec);
    }
    const uint8_t *p;
    size_t n;
    assert_int_equal(ledger_log_entry(log, 15, &p, &n), -1);
    for (uint64_t s = 0; s <= 15; s++) {
        uint8_t r[LEDGER_HASH_LEN];
        assert_int_equal(ledger_log_root(log, s, r), 0);
        assert_memory_equal(r, roots[s], LEDGER_HASH_LEN);
    }
    assert_int_equal(ledger_log_checkpoint_count(log), 1);
    ledger_checkpoint cp;
    assert_int_equal(ledger_log_checkpoint_get(log, 0, &cp, err, sizeof(err)), 0);
    assert_int_equal(cp.tree_size, 10);
    assert_memory_equal(cp.root_hash, roots[10], LEDGER_HASH_LEN);
    assert_int_equal(ledger_checkpoint_verify(&cp, test_key, err, sizeof(err)), 0);
    assert_int_equal(ledger_log_checkpoint_get(log, 1, &cp, err, sizeof(err)), -1);
    assert_int_equal(ledger_log_torn_entry_bytes(log), 0);
    uint8_t one = 1;
    assert_int_equal(ledger_log_append(log, &one, 1, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "read-only"));
    assert_int_equal(ledger_log_checkpoint(log, 1, NULL, err, sizeof(err)), -1);
    ledger_log_close(log);

    /* A writer again, checking every signature; it goes on appending. */
    ledger_log_options rw = {.log_id = "test-log", .hash = LEDGER_HASH_SM3, .signer = test_key,
                             .verify_key = test_key};
    assert_int_equal(open_log(dir, &rw, &log, err), 0);
    fixture_append_orders(log, 15, 20);
    fixture_checkpoint(log);
    assert_int_equal(ledger_log_checkpoint_count(log), 2);
    ledger_log_close(log);

    /* Another log's options are refused. */
    rw.log_id = "other-log";
    assert_int_equal(open_log(dir, &rw, &log, err), LEDGER_ERR_CONFIG);
    assert_non_null(strstr(err, "carewatch.ledger/test-log/sm3"));
    rw.log_id = "test-log";
    rw.hash = LEDGER_HASH_SHA256;
    assert_int_equal(open_log(dir, &rw, &log, err), LEDGER_ERR_CONFIG);
    /* ... and the wrong key's checkpoints. */
    rw.hash = LEDGER_HASH_SM3;
    rw.verify_key = other_key;
    assert_int_equal(open_log(dir, &rw, &log, err), LEDGER_ERR_CORRUPT);
    assert_non_null(strstr(err, "checkpoint 0"));
    fixture_rmdir(dir);
    fixture_rmdir(tmp);
}

static void test_open_refusals(void **state)
{
    (void)state;
    char dir[64], err[512];
    fixture_tmpdir(dir);
    ledger_log *log;
    ledger_log_options ro = {0};
    /* Not a ledger, and a read-only open creates nothing. */
    assert_int_equal(open_log(dir, &ro, &log, err), LEDGER_ERR_IO);
    assert_non_null(strstr(err, "not a ledger"));
    assert_int_equal(open_log("/nonexistent/ledger", &ro, &log, err), LEDGER_ERR_IO);
    /* A writer needs a key and a valid id. */
    ledger_log_options bad = {.log_id = "a b", .hash = LEDGER_HASH_SM3, .signer = test_key};
    assert_int_equal(open_log(dir, &bad, &log, err), LEDGER_ERR_CONFIG);
    bad.log_id = NULL;
    assert_int_equal(open_log(dir, &bad, &log, err), LEDGER_ERR_CONFIG);
    /* One writer at a time. */
    ledger_log *first = fixture_writer(dir, LEDGER_HASH_SHA256, test_key);
    ledger_log_options rw = {.log_id = "test-log", .hash = LEDGER_HASH_SHA256, .signer = test_key};
    assert_int_equal(open_log(dir, &rw, &log, err), LEDGER_ERR_IO);
    assert_non_null(strstr(err, "another process"));
    /* Readers are welcome meanwhile. */
    assert_int_equal(open_log(dir, &ro, &log, err), 0);
    ledger_log_close(log);
    ledger_log_close(first);

    /* Data without an origin file, or a damaged origin. */
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, LEDGER_FILE_ORIGIN);
    unlink(path);
    fixture_write(dir, LEDGER_FILE_ENTRIES, "\0\0\0\1x", 5);
    assert_int_equal(open_log(dir, &rw, &log, err), LEDGER_ERR_CORRUPT);
    fixture_write(dir, LEDGER_FILE_ORIGIN, "carewatch.ledger/test-log/md5\n", 30);
    assert_int_equal(open_log(dir, &ro, &log, err), LEDGER_ERR_CORRUPT);
    fixture_write(dir, LEDGER_FILE_ORIGIN, "carewatch.ledger/test-log/sha256", 32);
    assert_int_equal(open_log(dir, &ro, &log, err), LEDGER_ERR_CORRUPT);
    fixture_rmdir(dir);
}

static void test_append_limits(void **state)
{
    (void)state;
    char dir[64], err[512];
    fixture_tmpdir(dir);
    ledger_log *log = fixture_writer(dir, LEDGER_HASH_SM3, test_key);
    uint8_t *big = calloc(1, LEDGER_ENTRY_MAX + 1);
    assert_int_equal(ledger_log_append(log, big, 0, NULL, err, sizeof(err)), -1);
    assert_int_equal(ledger_log_append(log, big, LEDGER_ENTRY_MAX + 1, NULL, err, sizeof(err)), -1);
    uint64_t index = 99;
    assert_int_equal(ledger_log_append(log, big, LEDGER_ENTRY_MAX, &index, err, sizeof(err)), 0);
    assert_int_equal(index, 0);

    /* A batch is all or nothing. */
    const uint8_t *entries[3] = {(const uint8_t *)"a", (const uint8_t *)"bb", (const uint8_t *)"ccc"};
    size_t lens[3] = {1, 0, 3};
    assert_int_equal(ledger_log_append_many(log, entries, lens, 3, &index, err, sizeof(err)), -1);
    assert_int_equal(ledger_log_size(log), 1);
    lens[1] = 2;
    assert_int_equal(ledger_log_append_many(log, entries, lens, 3, &index, err, sizeof(err)), 0);
    assert_int_equal(index, 1);
    assert_int_equal(ledger_log_size(log), 4);
    const uint8_t *p;
    size_t n;
    assert_int_equal(ledger_log_entry(log, 2, &p, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(p, "bb", 2);
    ledger_log_close(log);
    free(big);

    ledger_log_options ro = {0};
    assert_int_equal(open_log(dir, &ro, &log, err), 0);
    assert_int_equal(ledger_log_size(log), 4);
    assert_int_equal(ledger_log_entry(log, 3, &p, &n), 0);
    assert_memory_equal(p, "ccc", 3);
    ledger_log_close(log);
    fixture_rmdir(dir);
}

/* A crash inside an append leaves part of a record: a reader leaves it
 * out, a writer cuts it and goes on. */
static void test_torn_entry_tail(void **state)
{
    (void)state;
    char dir[64], err[512];
    fixture_tmpdir(dir);
    ledger_log *log = fixture_writer(dir, LEDGER_HASH_SM3, test_key);
    fixture_append_orders(log, 0, 5);
    fixture_checkpoint(log);
    fixture_append_orders(log, 5, 7);
    ledger_log_close(log);
    off_t good = file_size(dir, LEDGER_FILE_ENTRIES);

    size_t len;
    uint8_t *rec = fixture_order(7, NULL, &len);
    uint8_t framed[4096];
    framed[0] = (uint8_t)(len >> 24);
    framed[1] = (uint8_t)(len >> 16);
    framed[2] = (uint8_t)(len >> 8);
    framed[3] = (uint8_t)len;
    memcpy(framed + 4, rec, len);
    const size_t cuts[] = {1, 3, 4, 5, 4 + len / 2, 3 + len};
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        fixture_append(dir, LEDGER_FILE_ENTRIES, framed, cuts[c]);
        ledger_log_options ro = {0};
        assert_int_equal(open_log(dir, &ro, &log, err), 0);
        assert_int_equal(ledger_log_size(log), 7);
        assert_int_equal(ledger_log_torn_entry_bytes(log), cuts[c]);
        ledger_log_close(log);
        assert_int_equal(file_size(dir, LEDGER_FILE_ENTRIES), good + (off_t)cuts[c]);

        log = fixture_writer(dir, LEDGER_HASH_SM3, test_key);
        assert_int_equal(ledger_log_torn_entry_bytes(log), cuts[c]);
        assert_int_equal(ledger_log_size(log), 7);
        ledger_log_close(log);
        assert_int_equal(file_size(dir, LEDGER_FILE_ENTRIES), good);
    }
    /* After the cut the log goes on where it was. */
    log = fixture_writer(dir, LEDGER_HASH_SM3, test_key);
    fixture_append_orders(log, 7, 8);
    fixture_checkpoint(log);
    ledger_log_close(log);
    ledger_verify_report rep;
    assert_int_equal(ledger_verify_dir(dir, test_key, &rep), LEDGER_AUDIT_OK);
    assert_int_equal(rep.entries, 8);
    free(rec);

    /* A partial entry where a checkpoint covers more is no crash: the open
     * fails and the file is left as it is. */
    off_t size = file_size(dir, LEDGER_FILE_ENTRIES);
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, LEDGER_FILE_ENTRIES);
    assert_int_equal(truncate(path, size - 10), 0);
    ledger_log_options rw = {.log_id = "test-log", .hash = LEDGER_HASH_SM3, .signer = test_key};
    assert_int_equal(open_log(dir, &rw, &log, err), LEDGER_ERR_CORRUPT);
    assert_non_null(strstr(err, "checkpoint 1"));
    assert_non_null(strstr(err, "missing"));
    assert_int_equal(file_size(dir, LEDGER_FILE_ENTRIES), size - 10);
    fixture_rmdir(dir);
}

static void test_torn_checkpoint_tail(void **state)
{
    (void)state;
    char dir[64], err[512];
    fixture_tmpdir(dir);
    ledger_log *log = fixture_writer(dir, LEDGER_HASH_SHA256, test_key);
    fixture_append_orders(log, 0, 3);
    ledger_checkpoint cp;
    assert_int_equal(ledger_log_checkpoint(log, 7, &cp, err, sizeof(err)), 0);
    ledger_log_close(log);
    off_t good = file_size(dir, LEDGER_FILE_CHECKPOINTS);
    assert_int_equal(good, (off_t)cp.signed_note_len + 1);

    /* Every prefix of the next note, including the whole note without the
     * blank line that ends its record. */
    for (size_t cut = 1; cut <= cp.signed_note_len; cut += 37) {
        fixture_append(dir, LEDGER_FILE_CHECKPOINTS, cp.signed_note, cut);
        ledger_log_options ro = {0};
        assert_int_equal(open_log(dir, &ro, &log, err), 0);
        assert_int_equal(ledger_log_checkpoint_count(log), 1);
        assert_int_equal(ledger_log_torn_checkpoint_bytes(log), cut);
        ledger_log_close(log);
        log = fixture_writer(dir, LEDGER_HASH_SHA256, test_key);
        assert_int_equal(ledger_log_torn_checkpoint_bytes(log), cut);
        ledger_log_close(log);
        assert_int_equal(file_size(dir, LEDGER_FILE_CHECKPOINTS), good);
    }
    log = fixture_writer(dir, LEDGER_HASH_SHA256, test_key);
    fixture_checkpoint(log);
    assert_int_equal(ledger_log_checkpoint_count(log), 2);
    ledger_log_close(log);
    ledger_verify_report rep;
    assert_int_equal(ledger_verify_dir(dir, test_key, &rep), LEDGER_AUDIT_OK);
    assert_int_equal(rep.checkpoints, 2);
    fixture_rmdir(dir);
}

static void test_damage_is_refused(void **state)
{
    (void)state;
    char dir[64], work[64], err[512];
    fixture_tmpdir(dir);
    fixture_tmpdir(work);
    fixture_build(dir, LEDGER_HASH_SM3, test_key, 6, 3);
    size_t elen, clen;
    uint8_t *entries = fixture_read(dir, LEDGER_FILE_ENTRIES, &elen);
    uint8_t *cps = fixture_read(dir, LEDGER_FILE_CHECKPOINTS, &clen);
    ledger_log *log;
    ledger_log_options ro = {0};
    ledger_log_options rw = {.log_id = "test-log", .hash = LEDGER_HASH_SM3, .signer = test_key};

    /* A length field of 0, and one beyond the limit, in the middle. */
    uint32_t first_len = (uint32_t)entries[0] << 24 | (uint32_t)entries[1] << 16 |
                         (uint32_t)entries[2] << 8 | entries[3];
    size_t second = 4 + first_len;
    uint8_t *copy = malloc(elen);
    const uint8_t bad_lengths[2][4] = {{0, 0, 0, 0}, {0, 0x10, 0, 1}};
    for (int b = 0; b < 2; b++) {
        fixture_copy_dir(dir, work);
        memcpy(copy, entries, elen);
        memcpy(copy + second, bad_lengths[b], 4);
        fixture_write(work, LEDGER_FILE_ENTRIES, copy, elen);
        assert_int_equal(open_log(work, &rw, &log, err), LEDGER_ERR_CORRUPT);
        assert_non_null(strstr(err, "entry 1 "));
        assert_int_equal(open_log(work, &ro, &log, err), LEDGER_ERR_CORRUPT);
        size_t now_len;
        uint8_t *now = fixture_read(work, LEDGER_FILE_ENTRIES, &now_len);
        assert_int_equal(now_len, elen);
        free(now);
    }

    /* A changed entry: its checkpoints' roots no longer match. */
    fixture_copy_dir(dir, work);
    memcpy(copy, entries, elen);
    copy[second + 20] ^= 0x20;
    fixture_write(work, LEDGER_FILE_ENTRIES, copy, elen);
    assert_int_equal(open_log(work, &ro, &log, err), LEDGER_ERR_CORRUPT);
    assert_non_null(strstr(err, "checkpoint 0"));
    assert_non_null(strstr(err, "root"));

    /* Entries cut at a boundary under a checkpoint. */
    fixture_copy_dir(dir, work);
    fixture_write(work, LEDGER_FILE_ENTRIES, entries, second);
    assert_int_equal(open_log(work, &rw, &log, err), LEDGER_ERR_CORRUPT);
    assert_non_null(strstr(err, "missing"));

    /* A record in the checkpoints file that is no note. */
    fixture_copy_dir(dir, work);
    fixture_append(work, LEDGER_FILE_CHECKPOINTS, "hello\n\nworld\n\n", 14);
    assert_int_equal(open_log(work, &rw, &log, err), LEDGER_ERR_CORRUPT);
    assert_non_null(strstr(err, "checkpoint 2"));

    /* The entries file missing. */
    fixture_copy_dir(dir, work);
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", work, LEDGER_FILE_ENTRIES);
    unlink(path);
    assert_int_equal(open_log(work, &ro, &log, err), LEDGER_ERR_IO);
    assert_non_null(strstr(err, LEDGER_FILE_ENTRIES));

    free(copy);
    free(entries);
    free(cps);
    fixture_rmdir(dir);
    fixture_rmdir(work);
}

static void test_checkpoint_lookup(void **state)
{
    (void)state;
    char dir[64], err[512];
    fixture_tmpdir(dir);
    fixture_build(dir, LEDGER_HASH_SM3, test_key, 10, 4);
    ledger_log *log;
    ledger_log_options ro = {0};
    assert_int_equal(open_log(dir, &ro, &log, err), 0);
    assert_int_equal(ledger_log_checkpoint_count(log), 3);
    assert_int_equal(ledger_log_checkpoint_size(log, 0), 4);
    assert_int_equal(ledger_log_checkpoint_size(log, 1), 8);
    assert_int_equal(ledger_log_checkpoint_size(log, 2), 10);
    ledger_checkpoint cp;
    assert_int_equal(ledger_log_checkpoint_find(log, 8, &cp, err, sizeof(err)), 0);
    assert_int_equal(cp.tree_size, 8);
    uint8_t root[LEDGER_HASH_LEN];
    assert_int_equal(ledger_log_root(log, 8, root), 0);
    assert_memory_equal(root, cp.root_hash, LEDGER_HASH_LEN);
    assert_int_equal(ledger_log_checkpoint_find(log, 7, &cp, err, sizeof(err)), 1);
    assert_int_equal(ledger_log_checkpoint_find(log, 11, &cp, err, sizeof(err)), 1);
    ledger_log_close(log);
    fixture_rmdir(dir);
}

/* ---- the tamper test ----------------------------------------------------------- */

#define TAMPER_ENTRIES 200
#define TAMPER_EVERY 23

typedef struct {
    char pristine[64], work[64];
    uint8_t *entries, *cps;
    size_t entries_len, cps_len;
    size_t offset[TAMPER_ENTRIES + 1]; /* of each record; [n] is the file's length */
    uint64_t cp_size[16];
    size_t cp_offset[17]; /* of each note; [count] is the file's length */
    size_t cp_count;
} tamper_log;

/* The log of the tamper tests, built once (200 fsync'd appends) and only
 * ever read: each test changes copies in t->work. */
static tamper_log shared_tamper;
static int shared_tamper_built;

static void tamper_build(tamper_log *t)
{
    memset(t, 0, sizeof(*t));
    fixture_tmpdir(t->pristine);
    fixture_tmpdir(t->work);
    fixture_build(t->pristine, LEDGER_HASH_SM3, test_key, TAMPER_ENTRIES, TAMPER_EVERY);
    fixture_copy_dir(t->pristine, t->work);
    t->entries = fixture_read(t->pristine, LEDGER_FILE_ENTRIES, &t->entries_len);
    t->cps = fixture_read(t->pristine, LEDGER_FILE_CHECKPOINTS, &t->cps_len);
    size_t pos = 0;
    for (int i = 0; i < TAMPER_ENTRIES; i++) {
        t->offset[i] = pos;
        const uint8_t *e;
        size_t n;
        assert_int_equal(ledger_next_entry(t->entries, t->entries_len, &pos, &e, &n),
                         LEDGER_RECORD_OK);
    }
    t->offset[TAMPER_ENTRIES] = pos;
    assert_int_equal(pos, t->entries_len);
    pos = 0;
    size_t note_len;
    while (ledger_next_checkpoint((const char *)t->cps, t->cps_len, &pos, &note_len) ==
           LEDGER_RECORD_OK) {
        ledger_checkpoint cp;
        char err[256];
        t->cp_offset[t->cp_count] = pos - note_len - 1;
        assert_int_equal(ledger_checkpoint_parse((const char *)t->cps + t->cp_offset[t->cp_count],
                                                 note_len, &cp, err, sizeof(err)),
                         0);
        t->cp_size[t->cp_count++] = cp.tree_size;
    }
    t->cp_offset[t->cp_count] = pos;
    assert_int_equal(t->cp_count, (TAMPER_ENTRIES + TAMPER_EVERY - 1) / TAMPER_EVERY);
    assert_int_equal(t->cp_size[t->cp_count - 1], TAMPER_ENTRIES);
}

static void tamper_setup(tamper_log *t)
{
    if (!shared_tamper_built) {
        tamper_build(&shared_tamper);
        shared_tamper_built = 1;
    }
    *t = shared_tamper;
}

/* Puts the work copy back as the pristine log. */
static void tamper_teardown(tamper_log *t)
{
    fixture_copy_dir(t->pristine, t->work);
}

static void tamper_free(void)
{
    if (!shared_tamper_built)
        return;
    free(shared_tamper.entries);
    free(shared_tamper.cps);
    fixture_rmdir(shared_tamper.pristine);
    fixture_rmdir(shared_tamper.work);
    shared_tamper_built = 0;
}

/* Writes the given files into the work copy and verifies it. */
static int verify_with(tamper_log *t, const uint8_t *entries, size_t elen, const uint8_t *cps,
                       size_t clen, const ledger_key *key, ledger_verify_report *rep)
{
    fixture_write(t->work, LEDGER_FILE_ENTRIES, entries, elen);
    fixture_write(t->work, LEDGER_FILE_CHECKPOINTS, cps, clen);
    return ledger_verify_dir(t->work, key, rep);
}

/* The first checkpoint that covers entry i. */
static size_t first_cover(const tamper_log *t, uint64_t i)
{
    for (size_t c = 0; c < t->cp_count; c++)
        if (t->cp_size[c] > i)
            return c;
    fail_msg("no checkpoint covers entry %llu", (unsigned long long)i);
    return 0;
}

static void expect_root_problem_at(const tamper_log *t, const ledger_verify_report *rep,
                                   uint64_t i)
{
    size_t c = first_cover(t, i);
    if (rep->checkpoint_problem != LEDGER_PROBLEM_CHECKPOINT_ROOT || rep->bad_checkpoint != c)
        fail_msg("entry %llu changed: expected a root mismatch at checkpoint %zu, got problem %d "
                 "at %llu: %s",
                 (unsigned long long)i, c, rep->checkpoint_problem,
                 (unsigned long long)rep->bad_checkpoint, rep->message);
    assert_int_equal(rep->range_begin, c ? t->cp_size[c - 1] : 0);
    assert_int_equal(rep->range_end, t->cp_size[c]);
    assert_true(rep->range_begin <= i && i < rep->range_end);
}

static void test_tamper_pristine(void **state)
{
    (void)state;
    tamper_log t;
    tamper_setup(&t);
    ledger_verify_report rep;
    assert_int_equal(ledger_verify_dir(t.pristine, test_key, &rep), LEDGER_AUDIT_OK);
    assert_int_equal(rep.entries, TAMPER_ENTRIES);
    assert_int_equal(rep.checkpoints, t.cp_count);
    assert_int_equal(rep.covered, TAMPER_ENTRIES);
    assert_true(rep.signatures_checked);
    assert_non_null(strstr(rep.message, "every signature verified"));
    assert_int_equal(ledger_verify_dir(t.pristine, NULL, &rep), LEDGER_AUDIT_OK);
    assert_false(rep.signatures_checked);
    assert_non_null(strstr(rep.message, "not checked"));
    /* Another key: the first checkpoint already fails. */
    assert_int_equal(ledger_verify_dir(t.pristine, other_key, &rep), LEDGER_AUDIT_FAILED);
    assert_int_equal(rep.checkpoint_problem, LEDGER_PROBLEM_CHECKPOINT_SIGNATURE);
    assert_int_equal(rep.bad_checkpoint, 0);
    assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_NONE);
    /* Not a ledger at all. */
    assert_int_equal(ledger_verify_dir("/nonexistent", NULL, &rep), LEDGER_AUDIT_ERROR);
    tamper_teardown(&t);
}

/* One changed byte in the body of every entry, at a place that moves
 * through the record (marker, fingerprint, ids, numbers, the index).
 * The entry tests verify without the key: the roots are what catch an
 * entry changed (signatures are the checkpoint tests' part), and checking
 * 9 signatures per run costs more than the rest under valgrind. */
static void test_tamper_payload_bytes(void **state)
{
    (void)state;
    tamper_log t;
    tamper_setup(&t);
    uint8_t *copy = malloc(t.entries_len);
    ledger_verify_report rep;
    for (uint64_t i = 0; i < TAMPER_ENTRIES; i++) {
        size_t body = t.offset[i] + LEDGER_FRAME_LEN;
        size_t len = t.offset[i + 1] - body;
        size_t at = body + (i * 13 + i / 7) % len;
        memcpy(copy, t.entries, t.entries_len);
        copy[at] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(verify_with(&t, copy, t.entries_len, t.cps, t.cps_len, NULL, &rep),
                         LEDGER_AUDIT_FAILED);
        expect_root_problem_at(&t, &rep, i);
        /* When the entry itself shows the change it is named. */
        if (rep.entry_problem != LEDGER_PROBLEM_NONE &&
            !(rep.bad_entry == i ||
              (rep.entry_problem == LEDGER_PROBLEM_ENTRY_DUPLICATE && rep.duplicate_of == i)))
            fail_msg("entry %llu changed, report names entry %llu: %s", (unsigned long long)i,
                     (unsigned long long)rep.bad_entry, rep.message);
    }
    /* The last byte of the last entry, and the first of the first. */
    memcpy(copy, t.entries, t.entries_len);
    copy[t.entries_len - 1] ^= 1;
    assert_int_equal(verify_with(&t, copy, t.entries_len, t.cps, t.cps_len, NULL, &rep),
                     LEDGER_AUDIT_FAILED);
    expect_root_problem_at(&t, &rep, TAMPER_ENTRIES - 1);
    memcpy(copy, t.entries, t.entries_len);
    copy[LEDGER_FRAME_LEN] ^= 0x80;
    assert_int_equal(verify_with(&t, copy, t.entries_len, t.cps, t.cps_len, NULL, &rep),
                     LEDGER_AUDIT_FAILED);
    assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_ENTRY_DECODE);
    assert_int_equal(rep.bad_entry, 0);
    expect_root_problem_at(&t, &rep, 0);
    free(copy);
    tamper_teardown(&t);
}

/* One changed byte in the length field of every entry. */
static void test_tamper_framing_bytes(void **state)
{
    (void)state;
    tamper_log t;
    tamper_setup(&t);
    uint8_t *copy = malloc(t.entries_len);
    ledger_verify_report rep;
    for (uint64_t i = 0; i < TAMPER_ENTRIES; i++) {
        memcpy(copy, t.entries, t.entries_len);
        copy[t.offset[i] + i % 4] ^= (uint8_t)(1u << (i / 4 % 8));
        assert_int_equal(verify_with(&t, copy, t.entries_len, t.cps, t.cps_len, NULL, &rep),
                         LEDGER_AUDIT_FAILED);
        if (rep.bad_entry != i ||
            (rep.entry_problem != LEDGER_PROBLEM_ENTRY_FRAMING &&
             rep.entry_problem != LEDGER_PROBLEM_ENTRY_TORN &&
             rep.entry_problem != LEDGER_PROBLEM_ENTRY_DECODE))
            fail_msg("length of entry %llu changed: report says %s", (unsigned long long)i,
                     rep.message);
        size_t c = first_cover(&t, i);
        assert_int_equal(rep.bad_checkpoint, c);
        assert_true(rep.checkpoint_problem == LEDGER_PROBLEM_CHECKPOINT_ROOT ||
                    rep.checkpoint_problem == LEDGER_PROBLEM_CHECKPOINT_BEYOND);
    }
    free(copy);
    tamper_teardown(&t);
}

static void test_tamper_truncation(void **state)
{
    (void)state;
    tamper_log t;
    tamper_setup(&t);
    ledger_verify_report rep;
    /* At entry boundaries: no entry is bad, the first checkpoint beyond
     * the end says entries are missing. */
    const uint64_t keep[] = {0, 1, 22, 23, 24, 100, 183, 184, 199};
    for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
        assert_int_equal(verify_with(&t, t.entries, t.offset[keep[k]], t.cps, t.cps_len, NULL,
                                     &rep),
                         LEDGER_AUDIT_FAILED);
        assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_NONE);
        assert_int_equal(rep.entries, keep[k]);
        assert_int_equal(rep.checkpoint_problem, LEDGER_PROBLEM_CHECKPOINT_BEYOND);
        assert_int_equal(rep.bad_checkpoint, first_cover(&t, keep[k]));
        assert_non_null(strstr(rep.message, "missing"));
    }
    /* Inside an entry: that entry is torn. */
    const uint64_t inside[] = {0, 5, 23, 150, 199};
    for (size_t k = 0; k < sizeof(inside) / sizeof(inside[0]); k++) {
        uint64_t i = inside[k];
        size_t cuts[3] = {t.offset[i] + 2, t.offset[i] + LEDGER_FRAME_LEN + 3,
                          t.offset[i + 1] - 1};
        for (int c = 0; c < 3; c++) {
            assert_int_equal(verify_with(&t, t.entries, cuts[c], t.cps, t.cps_len, NULL, &rep),
                             LEDGER_AUDIT_FAILED);
            assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_ENTRY_TORN);
            assert_int_equal(rep.bad_entry, i);
            assert_int_equal(rep.checkpoint_problem, LEDGER_PROBLEM_CHECKPOINT_BEYOND);
            assert_int_equal(rep.bad_checkpoint, first_cover(&t, i));
        }
    }
    /* The checkpoints file cut: inside a note it is torn; at a boundary
     * the log only looks younger (a consistency check against a
     * checkpoint seen before shows that), and verifies. */
    assert_int_equal(verify_with(&t, t.entries, t.entries_len, t.cps, t.cp_offset[3] + 10, NULL,
                                 &rep),
                     LEDGER_AUDIT_FAILED);
    assert_int_equal(rep.checkpoint_problem, LEDGER_PROBLEM_CHECKPOINT_TORN);
    assert_int_equal(rep.bad_checkpoint, 3);
    assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_NONE);
    assert_int_equal(verify_with(&t, t.entries, t.entries_len, t.cps, t.cp_offset[3], NULL, &rep),
                     LEDGER_AUDIT_OK);
    assert_int_equal(rep.covered, t.cp_size[2]);
    assert_non_null(strstr(rep.message, "not covered by a checkpoint yet"));
    tamper_teardown(&t);
}

/* Entries removed, swapped or duplicated. */
static void test_tamper_reordering(void **state)
{
    (void)state;
    tamper_log t;
    tamper_setup(&t);
    uint8_t *copy = malloc(2 * t.entries_len);
    ledger_verify_report rep;
    const uint64_t places[] = {0, 1, 22, 23, 57, 120, 198};
    for (size_t k = 0; k < sizeof(places) / sizeof(places[0]); k++) {
        uint64_t i = places[k];
        size_t a = t.offset[i], b = t.offset[i + 1], c = t.offset[i + 2];

        /* Deleted. */
        memcpy(copy, t.entries, a);
        memcpy(copy + a, t.entries + b, t.entries_len - b);
        assert_int_equal(verify_with(&t, copy, t.entries_len - (b - a), t.cps, t.cps_len, NULL,
                                     &rep),
                         LEDGER_AUDIT_FAILED);
        assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_ENTRY_INDEX);
        assert_int_equal(rep.bad_entry, i);
        assert_int_equal(rep.bad_checkpoint, first_cover(&t, i));

        /* Swapped with the next one. */
        memcpy(copy, t.entries, t.entries_len);
        memcpy(copy + a, t.entries + b, c - b);
        memcpy(copy + a + (c - b), t.entries + a, b - a);
        assert_int_equal(verify_with(&t, copy, t.entries_len, t.cps, t.cps_len, NULL, &rep),
                         LEDGER_AUDIT_FAILED);
        assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_ENTRY_INDEX);
        assert_int_equal(rep.bad_entry, i);
        expect_root_problem_at(&t, &rep, i);

        /* Copied in again right after itself. */
        memcpy(copy, t.entries, b);
        memcpy(copy + b, t.entries + a, b - a);
        memcpy(copy + b + (b - a), t.entries + b, t.entries_len - b);
        assert_int_equal(verify_with(&t, copy, t.entries_len + (b - a), t.cps, t.cps_len, NULL,
                                     &rep),
                         LEDGER_AUDIT_FAILED);
        assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_ENTRY_INDEX);
        assert_int_equal(rep.bad_entry, i + 1);
        expect_root_problem_at(&t, &rep, i + 1);
    }
    /* Swapped far apart (records of different lengths). */
    size_t a10 = t.offset[10], b10 = t.offset[11], a150 = t.offset[150], b150 = t.offset[151];
    size_t at = 0;
    memcpy(copy + at, t.entries, a10);
    at += a10;
    memcpy(copy + at, t.entries + a150, b150 - a150);
    at += b150 - a150;
    memcpy(copy + at, t.entries + b10, a150 - b10);
    at += a150 - b10;
    memcpy(copy + at, t.entries + a10, b10 - a10);
    at += b10 - a10;
    memcpy(copy + at, t.entries + b150, t.entries_len - b150);
    at += t.entries_len - b150;
    assert_int_equal(at, t.entries_len);
    assert_int_equal(verify_with(&t, copy, t.entries_len, t.cps, t.cps_len, NULL, &rep),
                     LEDGER_AUDIT_FAILED);
    assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_ENTRY_INDEX);
    assert_int_equal(rep.bad_entry, 10);
    expect_root_problem_at(&t, &rep, 10);
    free(copy);
    tamper_teardown(&t);
}

/* An order appended twice with a correct index and signed over, as a
 * writer that finalized twice would: the entries are consistent with the
 * checkpoints, and the duplicate is what fails. */
static void test_tamper_duplicate_order(void **state)
{
    (void)state;
    char dir[64], err[512];
    fixture_tmpdir(dir);
    ledger_log *log = fixture_writer(dir, LEDGER_HASH_SM3, test_key);
    fixture_append_orders(log, 0, 30);
    size_t len;
    uint8_t *rec = fixture_order(30, "ord-00012", &len);
    assert_int_equal(ledger_log_append(log, rec, len, NULL, err, sizeof(err)), 0);
    free(rec);
    fixture_checkpoint(log);
    ledger_log_close(log);
    ledger_verify_report rep;
    assert_int_equal(ledger_verify_dir(dir, test_key, &rep), LEDGER_AUDIT_FAILED);
    assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_ENTRY_DUPLICATE);
    assert_int_equal(rep.bad_entry, 30);
    assert_int_equal(rep.duplicate_of, 12);
    assert_int_equal(rep.checkpoint_problem, LEDGER_PROBLEM_NONE);
    assert_non_null(strstr(rep.message, "ord-00012"));

    /* And an entry that is no OrderFinalized. */
    fixture_rmdir(dir);
    fixture_tmpdir(dir);
    log = fixture_writer(dir, LEDGER_HASH_SM3, test_key);
    fixture_append_orders(log, 0, 3);
    assert_int_equal(ledger_log_append(log, (const uint8_t *)"not avro", 8, NULL, err, sizeof(err)),
                     0);
    fixture_checkpoint(log);
    ledger_log_close(log);
    assert_int_equal(ledger_verify_dir(dir, test_key, &rep), LEDGER_AUDIT_FAILED);
    assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_ENTRY_DECODE);
    assert_int_equal(rep.bad_entry, 3);
    fixture_rmdir(dir);
}

/* Bytes of checkpoint notes changed: each line, the signature, the blank
 * lines; the report names that checkpoint and no entry. */
static void test_tamper_checkpoints(void **state)
{
    (void)state;
    tamper_log t;
    tamper_setup(&t);
    uint8_t *copy = malloc(t.cps_len + 64);
    ledger_verify_report rep;
    for (size_t c = 0; c < t.cp_count; c++) {
        size_t start = t.cp_offset[c], end = t.cp_offset[c + 1];
        const char *note = (const char *)t.cps + start;
        const char *lines[4];
        lines[0] = note;
        for (int l = 1; l < 4; l++)
            lines[l] = strchr(lines[l - 1], '\n') + 1;
        const char *blank = strstr(note, "\n\n");
        size_t places[] = {
            (size_t)(lines[0] - note) + 18,  /* the log id */
            (size_t)(lines[1] - note),       /* the size */
            (size_t)(lines[2] - note) + 5,   /* the root */
            (size_t)(lines[3] - note) + 12,  /* the timestamp */
            (size_t)(blank - note) + 1,      /* the blank line */
            (size_t)(blank - note) + 6,      /* the key name */
            end - start - 10,                /* the signature */
            end - start - 1,                 /* the blank line ending the record */
            (c * 31) % (end - start),        /* somewhere */
        };
        for (size_t p = 0; p < sizeof(places) / sizeof(places[0]); p++) {
            memcpy(copy, t.cps, t.cps_len);
            copy[start + places[p]] ^= (uint8_t)(p % 2 ? 0x01 : 0x04);
            int rc = verify_with(&t, t.entries, t.entries_len, copy, t.cps_len, test_key, &rep);
            if (rc != LEDGER_AUDIT_FAILED || rep.bad_checkpoint != c ||
                rep.checkpoint_problem == LEDGER_PROBLEM_NONE ||
                rep.entry_problem != LEDGER_PROBLEM_NONE)
                fail_msg("checkpoint %zu byte %zu changed: rc %d, %s", c, places[p], rc,
                         rep.message);
        }
    }
    /* Without the key a changed root or size is still caught by the
     * entries. */
    const char *note = (const char *)t.cps + t.cp_offset[2];
    const char *root_line = strchr(strchr(note, '\n') + 1, '\n') + 1;
    memcpy(copy, t.cps, t.cps_len);
    copy[t.cp_offset[2] + (size_t)(root_line - note) + 3] ^= 0x01;
    assert_int_equal(verify_with(&t, t.entries, t.entries_len, copy, t.cps_len, NULL, &rep),
                     LEDGER_AUDIT_FAILED);
    assert_int_equal(rep.bad_checkpoint, 2);
    /* A checkpoint removed, or two swapped (sizes out of order). */
    memcpy(copy, t.cps, t.cp_offset[4]);
    memcpy(copy + t.cp_offset[4], t.cps + t.cp_offset[5], t.cps_len - t.cp_offset[5]);
    assert_int_equal(verify_with(&t, t.entries, t.entries_len, copy,
                                 t.cps_len - (t.cp_offset[5] - t.cp_offset[4]), test_key, &rep),
                     LEDGER_AUDIT_OK);
    size_t l4 = t.cp_offset[5] - t.cp_offset[4], l5 = t.cp_offset[6] - t.cp_offset[5];
    memcpy(copy, t.cps, t.cps_len);
    memcpy(copy + t.cp_offset[4], t.cps + t.cp_offset[5], l5);
    memcpy(copy + t.cp_offset[4] + l5, t.cps + t.cp_offset[4], l4);
    assert_int_equal(verify_with(&t, t.entries, t.entries_len, copy, t.cps_len, test_key, &rep),
                     LEDGER_AUDIT_FAILED);
    assert_int_equal(rep.checkpoint_problem, LEDGER_PROBLEM_CHECKPOINT_ORDER);
    assert_int_equal(rep.bad_checkpoint, 5);
    /* A checkpoint of another log (its origin), signed by its own key. */
    char other_dir[64];
    fixture_tmpdir(other_dir);
    ledger_log_options opt = {.log_id = "other", .hash = LEDGER_HASH_SM3, .signer = test_key};
    ledger_log *log;
    char err[512];
    assert_int_equal(ledger_log_open(other_dir, &opt, &log, err, sizeof(err)), 0);
    fixture_append_orders(log, 0, 5);
    fixture_checkpoint(log);
    ledger_log_close(log);
    size_t olen;
    uint8_t *other = fixture_read(other_dir, LEDGER_FILE_CHECKPOINTS, &olen);
    uint8_t *mixed = malloc(t.cps_len + olen);
    memcpy(mixed, t.cps, t.cps_len);
    memcpy(mixed + t.cps_len, other, olen);
    assert_int_equal(verify_with(&t, t.entries, t.entries_len, mixed, t.cps_len + olen, test_key,
                                 &rep),
                     LEDGER_AUDIT_FAILED);
    assert_int_equal(rep.checkpoint_problem, LEDGER_PROBLEM_CHECKPOINT_ORIGIN);
    assert_int_equal(rep.bad_checkpoint, t.cp_count);
    free(mixed);
    free(other);
    fixture_rmdir(other_dir);
    free(copy);
    tamper_teardown(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_append_reopen),
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_append_limits),
        cmocka_unit_test(test_torn_entry_tail),
        cmocka_unit_test(test_torn_checkpoint_tail),
        cmocka_unit_test(test_damage_is_refused),
        cmocka_unit_test(test_checkpoint_lookup),
        cmocka_unit_test(test_tamper_pristine),
        cmocka_unit_test(test_tamper_payload_bytes),
        cmocka_unit_test(test_tamper_framing_bytes),
        cmocka_unit_test(test_tamper_truncation),
        cmocka_unit_test(test_tamper_reordering),
        cmocka_unit_test(test_tamper_duplicate_order),
        cmocka_unit_test(test_tamper_checkpoints),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
