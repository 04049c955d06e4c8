/* Shared by the ledger's unit tests: scratch directories, real
 * OrderFinalized records (single-object encoded with common/avro_codec.h,
 * as the ledger-writer stores them), and a log built with checkpoints. */
#ifndef LEDGER_FIXTURE_H
#define LEDGER_FIXTURE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avro_codec.h"
#include "ledger-writer/ledger_log.h"
#include "ledger-writer/ledger_sign.h"

/* A fresh directory under /tmp (path has room for 64 bytes). */
static inline void fixture_tmpdir(char *path)
{
    strcpy(path, "/tmp/cw-ledger-test-XXXXXX");
    assert_non_null(mkdtemp(path));
}

/* Removes a directory and the files in it. */
static inline void fixture_rmdir(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char file[512];
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        unlink(file);
    }
    closedir(d);
    rmdir(path);
}

static inline uint8_t *fixture_read(const char *dir, const char *name, size_t *len)
{
    uint8_t *data;
    assert_int_equal(ledger_read_file(dir, name, &data, len), 0);
    return data;
}

static inline void fixture_write(const char *dir, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static inline void fixture_append(const char *dir, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static inline void fixture_copy_dir(const char *from, const char *to)
{
    static const char *const files[] = {LEDGER_FILE_ORIGIN, LEDGER_FILE_ENTRIES,
                                        LEDGER_FILE_CHECKPOINTS};
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        uint8_t *data = fixture_read(from, files[i], &len);
        fixture_write(to, files[i], data, len);
        free(data);
    }
}

/* The OrderFinalized record of ledger entry index, single-object encoded
 * (malloc'd). Fields vary with the index so records differ in length and
 * content; order_id is "ord-<index>" unless given. */
static inline uint8_t *fixture_order(uint64_t index, const char *order_id, size_t *len)
{
    char err[256];
    assert_int_equal(cw_avro_init(err, sizeof(err)), 0);
    const cw_avro_schema *s = cw_avro_schema_by_name("OrderFinalized");
    assert_non_null(s);
    avro_value_t v;
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    char id[80];
    if (order_id == NULL) {
        snprintf(id, sizeof(id), "ord-%05llu", (unsigned long long)index);
        order_id = id;
    }
    char caregiver[32], elder[32];
    snprintf(caregiver, sizeof(caregiver), "cg-%llu", (unsigned long long)(index % 11));
    snprintf(elder, sizeof(elder), "elder-%llu", (unsigned long long)(index * 7 % 37));
    int valid = index % 3 != 0;
    int64_t in_at = 1714521600000 + (int64_t)index * 3600000;
    assert_int_equal(cw_av_set_str(&v, "order_id", order_id), 0);
    assert_int_equal(cw_av_set_str(&v, "provider_id", index % 2 ? "prov-a" : "prov-bb"), 0);
    assert_int_equal(cw_av_set_opt_str(&v, "contract_id", index % 5 ? "contract-2024" : NULL), 0);
    assert_int_equal(cw_av_set_str(&v, "caregiver_id", caregiver), 0);
    assert_int_equal(cw_av_set_str(&v, "elder_id", elder), 0);
    assert_int_equal(cw_av_set_str(&v, "street_id", "street-3"), 0);
    assert_int_equal(cw_av_set_str(&v, "service_day", "2024-05-01"), 0);
    assert_int_equal(cw_av_set_enum(&v, "status", valid ? "VALID" : "INVALID"), 0);
    if (!valid) {
        assert_int_equal(cw_av_append_str(&v, "reasons", "SHORT_DURATION"), 0);
        if (index % 2)
            assert_int_equal(cw_av_append_str(&v, "reasons", "EVIDENCE_EXPIRED"), 0);
    }
    assert_int_equal(cw_av_set_opt_long(&v, "check_in_at", index % 7 != 0, in_at), 0);
    assert_int_equal(cw_av_set_opt_long(&v, "check_out_at", index % 7 != 0, in_at + 3300000), 0);
    assert_int_equal(cw_av_set_opt_int(&v, "duration_minutes", index % 7 != 0, 55), 0);
    assert_int_equal(cw_av_set_long(&v, "unit_price_cents", index % 5 ? 4000 : 0), 0);
    assert_int_equal(cw_av_set_long(&v, "finalized_at", in_at + 86400000), 0);
    assert_int_equal(cw_av_set_long(&v, "ledger_index", (int64_t)index), 0);
    uint8_t *buf;
    assert_int_equal(cw_avro_encode(&v, s, &buf, len, err, sizeof(err)), 0);
    avro_value_decref(&v);
    return buf;
}

static inline ledger_key *fixture_key(ledger_sig_alg alg)
{
    ledger_key *k;
    char err[256];
    assert_int_equal(ledger_key_generate(alg, &k, err, sizeof(err)), 0);
    return k;
}

/* Opens (creating) a writer on dir for log "test-log". */
static inline ledger_log *fixture_writer(const char *dir, ledger_hash_alg hash, const ledger_key *key)
{
    ledger_log_options opt = {.log_id = "test-log", .hash = hash, .signer = key};
    ledger_log *log;
    char err[512];
    int rc = ledger_log_open(dir, &opt, &log, err, sizeof(err));
    if (rc != 0)
        fail_msg("open %s: %s", dir, err);
    return log;
}

static inline void fixture_append_orders(ledger_log *log, uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to; i++) {
        size_t len;
        uint8_t *rec = fixture_order(i, NULL, &len);
        uint64_t index;
        char err[256];
        assert_int_equal(ledger_log_append(log, rec, len, &index, err, sizeof(err)), 0);
        assert_int_equal(index, i);
        free(rec);
    }
}

static inline void fixture_checkpoint(ledger_log *log)
{
    char err[256];
    ledger_checkpoint cp;
    assert_int_equal(ledger_log_checkpoint(log, 1714521600000 + (int64_t)ledger_log_size(log), &cp,
                                           err, sizeof(err)),
                     0);
    assert_int_equal(cp.tree_size, ledger_log_size(log));
}

/* A log of n orders in dir, a checkpoint after every `every` entries and
 * one at the end (none twice at one size). */
static inline void fixture_build(const char *dir, ledger_hash_alg hash, const ledger_key *key, uint64_t n,
                          uint64_t every)
{
    ledger_log *log = fixture_writer(dir, hash, key);
    for (uint64_t i = 0; i < n; i += every) {
        uint64_t end = i + every < n ? i + every : n;
        fixture_append_orders(log, i, end);
        fixture_checkpoint(log);
    }
    ledger_log_close(log);
}

#endif
