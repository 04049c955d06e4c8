/* Inclusion and consistency proofs of the ledger as JSON: made from a real
 * log, checked offline, and refused when any field is altered. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger-writer/ledger_encoding.h"
#include "ledger-writer/ledger_proof_json.h"
#include "ledger-writer/ledger_verify.h"
#include "ledger_fixture.h"

#define ENTRIES 50
#define EVERY 7

typedef struct {
    char dir[64];
    ledger_key *key, *other;
    ledger_log *log;
} proof_env;

static int setup_with(void **state, ledger_hash_alg hash, ledger_sig_alg sig)
{
    proof_env *env = calloc(1, sizeof(*env));
    fixture_tmpdir(env->dir);
    env->key = fixture_key(sig);
    env->other = fixture_key(sig);
    fixture_build(env->dir, hash, env->key, ENTRIES, EVERY);
    /* Two entries newer than the last checkpoint. */
    ledger_log *w = fixture_writer(env->dir, hash, env->key);
    fixture_append_orders(w, ENTRIES, ENTRIES + 2);
    ledger_log_close(w);
    ledger_log_options ro = {0};
    char err[512];
    assert_int_equal(ledger_log_open(env->dir, &ro, &env->log, err, sizeof(err)), 0);
    *state = env;
    return 0;
}

static int setup_sm3(void **state)
{
    return setup_with(state, LEDGER_HASH_SM3, LEDGER_SIG_ED25519);
}

static int setup_sha256_sm2(void **state)
{
    return setup_with(state, LEDGER_HASH_SHA256, LEDGER_SIG_SM2);
}

static int teardown(void **state)
{
    proof_env *env = *state;
    ledger_log_close(env->log);
    ledger_key_free(env->key);
    ledger_key_free(env->other);
    fixture_rmdir(env->dir);
    free(env);
    cw_avro_shutdown();
    return 0;
}

static json_t *inclusion(proof_env *env, const char *order_id)
{
    json_t *proof = NULL;
    char err[512];
    int rc = ledger_inclusion_proof_json(env->log, order_id, &proof, err, sizeof(err));
    if (rc != LEDGER_AUDIT_OK)
        fail_msg("proof of %s: %s", order_id, err);
    return proof;
}

static int check_incl(const json_t *proof, const ledger_key *key, char *msg)
{
    return ledger_check_inclusion_proof(proof, key, msg, 1024);
}

/* A copy of proof with field set to value (stolen), or removed when NULL. */
static json_t *with(const json_t *proof, const char *field, json_t *value)
{
    json_t *copy = json_deep_copy(proof);
    if (value == NULL)
        json_object_del(copy, field);
    else
        json_object_set_new(copy, field, value);
    return copy;
}

static void expect_incl_fails(const json_t *proof, const ledger_key *key, const char *what)
{
    char msg[1024];
    int rc = check_incl(proof, key, msg);
    if (rc != LEDGER_AUDIT_FAILED)
        fail_msg("an inclusion proof with %s passed: %s", what, msg);
}

/* A string field with one character changed, keeping it well-formed. */
static json_t *altered_string(const json_t *proof, const char *field, size_t at)
{
    const char *s = json_string_value(json_object_get(proof, field));
    assert_non_null(s);
    char *copy = strdup(s);
    size_t n = strlen(copy);
    at %= n;
    copy[at] = copy[at] == 'a' ? 'b' : (copy[at] == 'A' ? 'B' : (copy[at] == '0' ? '1' : 'a'));
    json_t *v = json_string(copy);
    free(copy);
    return v;
}

static void test_inclusion_proofs_verify(void **state)
{
    proof_env *env = *state;
    const uint64_t orders[] = {0, 1, 6, 7, 25, 48, 49};
    for (size_t k = 0; k < sizeof(orders) / sizeof(orders[0]); k++) {
        char id[32];
        snprintf(id, sizeof(id), "ord-%05llu", (unsigned long long)orders[k]);
        json_t *proof = inclusion(env, id);
        assert_string_equal(json_string_value(json_object_get(proof, "format")),
                            LEDGER_INCLUSION_FORMAT);
        assert_string_equal(json_string_value(json_object_get(proof, "order_id")), id);
        assert_int_equal(json_integer_value(json_object_get(proof, "leaf_index")), orders[k]);
        assert_int_equal(json_integer_value(json_object_get(proof, "tree_size")), ENTRIES);
        assert_string_equal(json_string_value(json_object_get(proof, "log_id")), "test-log");
        /* The entry is the log's bytes. */
        const char *b64 = json_string_value(json_object_get(proof, "entry"));
        uint8_t entry[4096];
        size_t len;
        assert_int_equal(ledger_base64_decode(b64, strlen(b64), entry, sizeof(entry), &len), 0);
        const uint8_t *stored;
        size_t stored_len;
        assert_int_equal(ledger_log_entry(env->log, orders[k], &stored, &stored_len), 0);
        assert_int_equal(len, stored_len);
        assert_memory_equal(entry, stored, len);

        char msg[1024];
        assert_int_equal(check_incl(proof, env->key, msg), LEDGER_AUDIT_OK);
        assert_non_null(strstr(msg, id));
        assert_non_null(strstr(msg, "verified"));
        assert_int_equal(check_incl(proof, NULL, msg), LEDGER_AUDIT_OK);
        assert_non_null(strstr(msg, "NOT checked"));
        assert_int_equal(check_incl(proof, env->other, msg), LEDGER_AUDIT_FAILED);
        assert_non_null(strstr(msg, "not by the given key"));
        json_decref(proof);
    }
}

static void test_inclusion_refusals(void **state)
{
    proof_env *env = *state;
    json_t *proof = inclusion(env, "ord-00020"), *bad;
    json_int_t index = json_integer_value(json_object_get(proof, "leaf_index"));
    json_int_t size = json_integer_value(json_object_get(proof, "tree_size"));

#define EXPECT_FAILS(copy, what)                                                                   \
    do {                                                                                           \
        bad = (copy);                                                                              \
        expect_incl_fails(bad, env->key, what);                                                    \
        expect_incl_fails(bad, NULL, what);                                                        \
        json_decref(bad);                                                                          \
    } while (0)

    EXPECT_FAILS(with(proof, "leaf_index", json_integer(index + 1)), "leaf_index + 1");
    EXPECT_FAILS(with(proof, "leaf_index", json_integer(index - 1)), "leaf_index - 1");
    EXPECT_FAILS(with(proof, "leaf_index", json_integer(-1)), "a negative leaf_index");
    EXPECT_FAILS(with(proof, "leaf_index", json_string("20")), "leaf_index as a string");
    EXPECT_FAILS(with(proof, "tree_size", json_integer(size - 1)), "tree_size - 1");
    EXPECT_FAILS(with(proof, "tree_size", json_integer(size + 1)), "tree_size + 1");
    EXPECT_FAILS(with(proof, "order_id", json_string("ord-00021")), "another order_id");
    EXPECT_FAILS(with(proof, "format", json_string("something/1")), "another format");
    EXPECT_FAILS(with(proof, "hash_alg", json_string("sha256")), "another hash_alg");
    EXPECT_FAILS(with(proof, "log_id", json_string("other")), "another log_id");
    EXPECT_FAILS(with(proof, "origin", json_string("carewatch.ledger/other/sm3")), "another origin");
    for (size_t at = 0; at < 400; at += 37)
        EXPECT_FAILS(with(proof, "entry", altered_string(proof, "entry", at)), "an altered entry");
    EXPECT_FAILS(with(proof, "entry", json_string("")), "an empty entry");
    EXPECT_FAILS(with(proof, "entry", json_string("!!!!")), "an entry not base64");
    EXPECT_FAILS(with(proof, "leaf_hash", altered_string(proof, "leaf_hash", 5)), "another leaf_hash");
    EXPECT_FAILS(with(proof, "root_hash", altered_string(proof, "root_hash", 9)), "another root_hash");
    EXPECT_FAILS(with(proof, "root_hash", json_string("abcd")), "a short root_hash");
    EXPECT_FAILS(with(proof, "checkpoint", altered_string(proof, "checkpoint", 60)),
                 "an altered checkpoint");
    static const char *const fields[] = {"format", "origin", "log_id", "hash_alg", "order_id",
                                         "leaf_index", "tree_size", "entry", "leaf_hash", "proof",
                                         "root_hash", "checkpoint"};
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
        EXPECT_FAILS(with(proof, fields[f], NULL), fields[f]);

    /* The path: each hash changed, one removed, one added, one short. */
    const json_t *path = json_object_get(proof, "proof");
    size_t count = json_array_size(path);
    assert_true(count >= 5);
    for (size_t i = 0; i < count; i++) {
        json_t *copy = json_deep_copy(proof);
        json_t *p = json_object_get(copy, "proof");
        const char *h = json_string_value(json_array_get(p, i));
        char changed[65];
        snprintf(changed, sizeof(changed), "%s", h);
        changed[i % 64] = changed[i % 64] == 'f' ? 'e' : 'f';
        json_array_set_new(p, i, json_string(changed));
        EXPECT_FAILS(copy, "a changed proof hash");
    }
    json_t *copy = json_deep_copy(proof);
    json_array_remove(json_object_get(copy, "proof"), count - 1);
    EXPECT_FAILS(copy, "a proof hash removed");
    copy = json_deep_copy(proof);
    json_array_append_new(json_object_get(copy, "proof"),
                          json_string(json_string_value(json_object_get(proof, "root_hash"))));
    EXPECT_FAILS(copy, "a proof hash added");
    copy = json_deep_copy(proof);
    json_array_set_new(json_object_get(copy, "proof"), 0, json_string("00"));
    EXPECT_FAILS(copy, "a short proof hash");

    /* A well-formed proof of another order with this one's name. */
    json_t *other = inclusion(env, "ord-00021");
    EXPECT_FAILS(with(other, "order_id", json_string("ord-00020")), "another order's proof");
    /* An older checkpoint of the same log. */
    json_t *older = json_deep_copy(proof);
    ledger_checkpoint cp;
    char err[512];
    assert_int_equal(ledger_log_checkpoint_get(env->log, 3, &cp, err, sizeof(err)), 0);
    json_object_set_new(older, "checkpoint", json_string(cp.signed_note));
    EXPECT_FAILS(older, "an older checkpoint");
    json_decref(other);
#undef EXPECT_FAILS

    char msg[1024];
    json_t *not_object = json_array();
    assert_int_equal(check_incl(not_object, NULL, msg), LEDGER_AUDIT_FAILED);
    json_decref(not_object);
    /* The original still passes: nothing above changed it. */
    assert_int_equal(check_incl(proof, env->key, msg), LEDGER_AUDIT_OK);
    json_decref(proof);
}

static void test_inclusion_not_available(void **state)
{
    proof_env *env = *state;
    json_t *proof = NULL;
    char err[512];
    /* Entry 50 is in the log but after the last checkpoint. */
    assert_int_equal(ledger_inclusion_proof_json(env->log, "ord-00050", &proof, err, sizeof(err)),
                     LEDGER_AUDIT_FAILED);
    assert_null(proof);
    assert_non_null(strstr(err, "no checkpoint covers"));
    assert_int_equal(ledger_inclusion_proof_json(env->log, "ord-99999", &proof, err, sizeof(err)),
                     LEDGER_AUDIT_FAILED);
    assert_non_null(strstr(err, "no entry"));
    /* An id that is part of another's is no match. */
    assert_int_equal(ledger_inclusion_proof_json(env->log, "ord-0002", &proof, err, sizeof(err)),
                     LEDGER_AUDIT_FAILED);
    uint64_t index;
    assert_int_equal(ledger_find_order(env->log, "ord-00033", &index, err, sizeof(err)),
                     LEDGER_AUDIT_OK);
    assert_int_equal(index, 33);
}

static json_t *consistency(proof_env *env, uint64_t m, uint64_t n)
{
    json_t *proof = NULL;
    char err[512];
    int rc = ledger_consistency_proof_json(env->log, m, n, &proof, err, sizeof(err));
    if (rc != LEDGER_AUDIT_OK)
        fail_msg("consistency %llu..%llu: %s", (unsigned long long)m, (unsigned long long)n, err);
    return proof;
}

static void expect_cons_fails(const json_t *proof, const ledger_key *key, const char *what)
{
    char msg[1024];
    int rc = ledger_check_consistency_proof(proof, key, msg, sizeof(msg));
    if (rc != LEDGER_AUDIT_FAILED)
        fail_msg("a consistency proof with %s passed: %s", what, msg);
}

static void test_consistency_proofs(void **state)
{
    proof_env *env = *state;
    char msg[1024];
    const uint64_t pairs[][2] = {{7, 14}, {7, 50}, {14, 49}, {28, 35}, {35, 50}, {21, 21}, {50, 50}};
    for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
        json_t *proof = consistency(env, pairs[k][0], pairs[k][1]);
        assert_int_equal(json_integer_value(json_object_get(proof, "old_size")), pairs[k][0]);
        assert_int_equal(json_integer_value(json_object_get(proof, "new_size")), pairs[k][1]);
        assert_int_equal(ledger_check_consistency_proof(proof, env->key, msg, sizeof(msg)),
                         LEDGER_AUDIT_OK);
        assert_non_null(strstr(msg, "is a prefix of"));
        assert_non_null(strstr(msg, "verified"));
        assert_int_equal(ledger_check_consistency_proof(proof, NULL, msg, sizeof(msg)),
                         LEDGER_AUDIT_OK);
        assert_non_null(strstr(msg, "NOT checked"));
        expect_cons_fails(proof, env->other, "another key");

        json_t *bad;
        json_int_t m = (json_int_t)pairs[k][0], n = (json_int_t)pairs[k][1];
#define EXPECT_FAILS(copy, what)                                                                   \
    do {                                                                                           \
        bad = (copy);                                                                              \
        expect_cons_fails(bad, env->key, what);                                                    \
        expect_cons_fails(bad, NULL, what);                                                        \
        json_decref(bad);                                                                          \
    } while (0)
        EXPECT_FAILS(with(proof, "old_size", json_integer(m - 1)), "old_size - 1");
        EXPECT_FAILS(with(proof, "new_size", json_integer(n + 1)), "new_size + 1");
        EXPECT_FAILS(with(proof, "old_root", altered_string(proof, "old_root", 3)), "another old root");
        EXPECT_FAILS(with(proof, "new_root", altered_string(proof, "new_root", 3)), "another new root");
        EXPECT_FAILS(with(proof, "old_checkpoint", altered_string(proof, "old_checkpoint", 40)),
                     "an altered old checkpoint");
        EXPECT_FAILS(with(proof, "new_checkpoint", NULL), "no new checkpoint");
        if (m != n) {
            json_t *swapped = json_deep_copy(proof);
            json_object_set(swapped, "old_checkpoint", json_object_get(proof, "new_checkpoint"));
            json_object_set(swapped, "new_checkpoint", json_object_get(proof, "old_checkpoint"));
            EXPECT_FAILS(swapped, "swapped checkpoints");
            const json_t *path = json_object_get(proof, "proof");
            for (size_t i = 0; i < json_array_size(path); i++) {
                json_t *copy = json_deep_copy(proof);
                json_t *p = json_object_get(copy, "proof");
                char changed[65];
                snprintf(changed, sizeof(changed), "%s", json_string_value(json_array_get(p, i)));
                changed[7] = changed[7] == '0' ? '1' : '0';
                json_array_set_new(p, i, json_string(changed));
                EXPECT_FAILS(copy, "a changed proof hash");
            }
            json_t *copy = json_deep_copy(proof);
            json_array_clear(json_object_get(copy, "proof"));
            EXPECT_FAILS(copy, "an empty proof");
        } else {
            json_t *copy = json_deep_copy(proof);
            json_array_append_new(json_object_get(copy, "proof"),
                                  json_string(json_string_value(json_object_get(proof, "old_root"))));
            EXPECT_FAILS(copy, "a proof between equal sizes");
        }
#undef EXPECT_FAILS
        json_decref(proof);
    }
    /* Sizes without checkpoints, and backwards. */
    json_t *proof = NULL;
    char err[512];
    assert_int_equal(ledger_consistency_proof_json(env->log, 8, 14, &proof, err, sizeof(err)),
                     LEDGER_AUDIT_FAILED);
    assert_non_null(strstr(err, "no checkpoint of 8 entries"));
    assert_non_null(strstr(err, "7, 14, 21"));
    assert_int_equal(ledger_consistency_proof_json(env->log, 14, 7, &proof, err, sizeof(err)),
                     LEDGER_AUDIT_FAILED);
    assert_int_equal(ledger_consistency_proof_json(env->log, 7, 52, &proof, err, sizeof(err)),
                     LEDGER_AUDIT_FAILED);
    assert_null(proof);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inclusion_proofs_verify, setup_sm3, teardown),
        cmocka_unit_test_setup_teardown(test_inclusion_refusals, setup_sm3, teardown),
        cmocka_unit_test_setup_teardown(test_inclusion_not_available, setup_sm3, teardown),
        cmocka_unit_test_setup_teardown(test_consistency_proofs, setup_sm3, teardown),
        cmocka_unit_test_setup_teardown(test_inclusion_proofs_verify, setup_sha256_sm2, teardown),
        cmocka_unit_test_setup_teardown(test_consistency_proofs, setup_sha256_sm2, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
