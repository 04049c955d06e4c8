/* The ledger's hashes: SM3 (GB/T 32905-2016 Annex A) and SHA-256 (FIPS
 * 180-4 examples) through ledger_hasher, and the RFC 6962 leaf and node
 * prefixes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ledger-writer/ledger_encoding.h"
#include "ledger-writer/ledger_hash.h"

static void expect_digest(ledger_hash_alg alg, const void *data, size_t len, const char *hex)
{
    ledger_hasher *h = ledger_hasher_new(alg);
    assert_non_null(h);
    uint8_t out[LEDGER_HASH_LEN];
    char got[2 * LEDGER_HASH_LEN + 1];
    assert_int_equal(ledger_hash_data(h, data, len, out), 0);
    ledger_hex_encode(out, sizeof(out), got);
    assert_string_equal(got, hex);
    ledger_hasher_free(h);
}

static void test_sm3_vectors(void **state)
{
    (void)state;
    expect_digest(LEDGER_HASH_SM3, "abc", 3,
                  "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    char abcd16[65];
    for (int i = 0; i < 16; i++)
        memcpy(abcd16 + 4 * i, "abcd", 4);
    expect_digest(LEDGER_HASH_SM3, abcd16, 64,
                  "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
    expect_digest(LEDGER_HASH_SM3, "", 0,
                  "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b");
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    expect_digest(LEDGER_HASH_SHA256, "abc", 3,
                  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect_digest(LEDGER_HASH_SHA256, "", 0,
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* A hasher is reused for every hash: a long run of mixed hashes must give
 * the same results as fresh hashers. */
static void test_hasher_is_reusable(void **state)
{
    (void)state;
    ledger_hasher *h = ledger_hasher_new(LEDGER_HASH_SM3);
    assert_non_null(h);
    uint8_t a[LEDGER_HASH_LEN], b[LEDGER_HASH_LEN];
    for (int i = 0; i < 100; i++) {
        assert_int_equal(ledger_hash_leaf(h, "x", 1, a), 0);
        assert_int_equal(ledger_hash_data(h, "abc", 3, b), 0);
    }
    char hex[2 * LEDGER_HASH_LEN + 1];
    ledger_hex_encode(b, sizeof(b), hex);
    assert_string_equal(hex, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    ledger_hasher_free(h);
}

/* leaf = H(0x00 || d), node = H(0x01 || l || r), empty = H(""). */
static void check_prefixes(ledger_hash_alg alg)
{
    ledger_hasher *h = ledger_hasher_new(alg);
    assert_non_null(h);
    const uint8_t entry[] = {0x10, 0x20, 0x30};
    uint8_t buf[1 + 2 * LEDGER_HASH_LEN];
    uint8_t leaf[LEDGER_HASH_LEN], expect[LEDGER_HASH_LEN];

    buf[0] = 0x00;
    memcpy(buf + 1, entry, sizeof(entry));
    assert_int_equal(ledger_hash_leaf(h, entry, sizeof(entry), leaf), 0);
    assert_int_equal(ledger_hash_data(h, buf, 1 + sizeof(entry), expect), 0);
    assert_memory_equal(leaf, expect, LEDGER_HASH_LEN);

    uint8_t left[LEDGER_HASH_LEN], right[LEDGER_HASH_LEN], node[LEDGER_HASH_LEN];
    memset(left, 0xaa, sizeof(left));
    memset(right, 0x55, sizeof(right));
    buf[0] = 0x01;
    memcpy(buf + 1, left, LEDGER_HASH_LEN);
    memcpy(buf + 1 + LEDGER_HASH_LEN, right, LEDGER_HASH_LEN);
    assert_int_equal(ledger_hash_node(h, left, right, node), 0);
    assert_int_equal(ledger_hash_data(h, buf, sizeof(buf), expect), 0);
    assert_memory_equal(node, expect, LEDGER_HASH_LEN);
    /* The order of children matters, and a node is not a leaf. */
    uint8_t swapped[LEDGER_HASH_LEN], as_leaf[LEDGER_HASH_LEN];
    assert_int_equal(ledger_hash_node(h, right, left, swapped), 0);
    assert_memory_not_equal(node, swapped, LEDGER_HASH_LEN);
    assert_int_equal(ledger_hash_leaf(h, buf + 1, 2 * LEDGER_HASH_LEN, as_leaf), 0);
    assert_memory_not_equal(node, as_leaf, LEDGER_HASH_LEN);

    /* The output may be one of the inputs. */
    assert_int_equal(ledger_hash_node(h, left, right, left), 0);
    assert_memory_equal(left, node, LEDGER_HASH_LEN);

    uint8_t empty[LEDGER_HASH_LEN];
    assert_int_equal(ledger_hash_empty(h, empty), 0);
    assert_int_equal(ledger_hash_data(h, "", 0, expect), 0);
    assert_memory_equal(empty, expect, LEDGER_HASH_LEN);
    ledger_hasher_free(h);
}

static void test_rfc6962_prefixes(void **state)
{
    (void)state;
    check_prefixes(LEDGER_HASH_SHA256);
    check_prefixes(LEDGER_HASH_SM3);
}

/* leaf("") of RFC 6962 is H(0x00): SHA-256 from transparency-dev/merkle's
 * vectors, SM3 re-derived (it equals SM3 of the single byte 00). */
static void test_empty_leaf(void **state)
{
    (void)state;
    char hex[2 * LEDGER_HASH_LEN + 1];
    uint8_t out[LEDGER_HASH_LEN];
    ledger_hasher *h = ledger_hasher_new(LEDGER_HASH_SHA256);
    assert_int_equal(ledger_hash_leaf(h, "", 0, out), 0);
    ledger_hex_encode(out, sizeof(out), hex);
    assert_string_equal(hex, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    ledger_hasher_free(h);
    h = ledger_hasher_new(LEDGER_HASH_SM3);
    assert_int_equal(ledger_hash_leaf(h, "", 0, out), 0);
    ledger_hex_encode(out, sizeof(out), hex);
    assert_string_equal(hex, "2daef60e7a0b8f5e024c81cd2ab3109f2b4f155cf83adeb2ae5532f74a157fdf");
    ledger_hasher_free(h);
}

static void test_names(void **state)
{
    (void)state;
    ledger_hash_alg alg = LEDGER_HASH_SHA256;
    assert_int_equal(ledger_hash_parse("sm3", &alg), 0);
    assert_int_equal(alg, LEDGER_HASH_SM3);
    assert_int_equal(ledger_hash_parse("SHA256", &alg), 0);
    assert_int_equal(alg, LEDGER_HASH_SHA256);
    assert_int_equal(ledger_hash_parse("sha-256", &alg), 0);
    assert_int_equal(ledger_hash_parse("md5", &alg), -1);
    assert_int_equal(ledger_hash_parse("", &alg), -1);
    assert_int_equal(ledger_hash_parse(NULL, &alg), -1);
    assert_string_equal(ledger_hash_name(LEDGER_HASH_SM3), "sm3");
    assert_string_equal(ledger_hash_name(LEDGER_HASH_SHA256), "sha256");
    assert_string_equal(ledger_hash_avro_name(LEDGER_HASH_SM3), "SM3");
    assert_string_equal(ledger_hash_avro_name(LEDGER_HASH_SHA256), "SHA256");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sm3_vectors),        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_hasher_is_reusable), cmocka_unit_test(test_rfc6962_prefixes),
        cmocka_unit_test(test_empty_leaf),         cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
