/* The Merkle tree of RFC 6962 / RFC 9162: roots, inclusion and consistency
 * proofs against the published SHA-256 vectors of transparency-dev/merkle
 * (proof/verify_test.go: 8 leaves, roots of sizes 1..8, proofs), the SM3
 * values of the ledger notes, and generated trees checked against a
 * straightforward recursive reading of the RFC's definitions: every proof
 * of every tree up to 70 leaves and of larger ones must verify, and every
 * altered proof, index or size must not. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger-writer/ledger_encoding.h"
#include "ledger-writer/ledger_hash.h"
#include "ledger-writer/merkle.h"

#define HL LEDGER_HASH_LEN

/* ---- published vectors --------------------------------------------------- */

static const char *const leaf_inputs[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

static const char *const sha256_roots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* Leaf indices are zero-based here (the source lists them from 1). */
typedef struct {
    uint64_t index, size;
    size_t count;
    const char *proof[3];
} inclusion_vector;

static const inclusion_vector inclusion_vectors[] = {
    {0, 1, 0, {NULL}},
    {0, 8, 3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5, 8, 3,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1, 5, 3,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

typedef struct {
    uint64_t old_size, new_size;
    size_t count;
    const char *proof[3];
} consistency_vector;

static const consistency_vector consistency_vectors[] = {
    {1, 1, 0, {NULL}},
    {1, 8, 3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6, 8, 3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 5, 2,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6, 7, 3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

static void hash_from_hex(const char *hex, uint8_t out[HL])
{
    assert_int_equal(ledger_hex_decode(hex, out, HL), 0);
}

/* The 8 leaf hashes of the vectors under the hasher's hash. */
static void vector_leaves(ledger_hasher *h, uint8_t leaves[8 * HL])
{
    for (int i = 0; i < 8; i++) {
        uint8_t data[16];
        size_t n = strlen(leaf_inputs[i]) / 2;
        assert_int_equal(ledger_hex_decode(leaf_inputs[i], data, n), 0);
        assert_int_equal(ledger_hash_leaf(h, data, n, leaves + i * HL), 0);
    }
}

static void build_tree(ledger_hasher *h, ledger_merkle_tree *t, const uint8_t *leaves, uint64_t n)
{
    ledger_merkle_tree_init(t);
    for (uint64_t i = 0; i < n; i++)
        assert_int_equal(ledger_merkle_tree_append(h, t, leaves + i * HL), 0);
}

/* ---- a second, recursive implementation of the RFC's definitions -------- */

static uint64_t ref_split(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

static void ref_mth(ledger_hasher *h, const uint8_t *leaves, uint64_t n, uint8_t out[HL])
{
    if (n == 0) {
        assert_int_equal(ledger_hash_empty(h, out), 0);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves, HL);
        return;
    }
    uint64_t k = ref_split(n);
    uint8_t l[HL], r[HL];
    ref_mth(h, leaves, k, l);
    ref_mth(h, leaves + k * HL, n - k, r);
    assert_int_equal(ledger_hash_node(h, l, r, out), 0);
}

/* PATH(m, D[n]) of RFC 9162 2.1.3.1. */
static void ref_path(ledger_hasher *h, uint64_t m, const uint8_t *leaves, uint64_t n, uint8_t *out,
                     size_t *count)
{
    if (n == 1) {
        *count = 0;
        return;
    }
    uint64_t k = ref_split(n);
    if (m < k) {
        ref_path(h, m, leaves, k, out, count);
        ref_mth(h, leaves + k * HL, n - k, out + *count * HL);
    } else {
        ref_path(h, m - k, leaves + k * HL, n - k, out, count);
        ref_mth(h, leaves, k, out + *count * HL);
    }
    (*count)++;
}

/* SUBPROOF(m, D[n], b) of RFC 9162 2.1.4.1. */
static void ref_subproof(ledger_hasher *h, uint64_t m, const uint8_t *leaves, uint64_t n, int b,
                         uint8_t *out, size_t *count)
{
    if (m == n) {
        *count = 0;
        if (!b) {
            ref_mth(h, leaves, n, out);
            *count = 1;
        }
        return;
    }
    uint64_t k = ref_split(n);
    if (m <= k) {
        ref_subproof(h, m, leaves, k, b, out, count);
        ref_mth(h, leaves + k * HL, n - k, out + *count * HL);
    } else {
        ref_subproof(h, m - k, leaves + k * HL, n - k, 0, out, count);
        ref_mth(h, leaves, k, out + *count * HL);
    }
    (*count)++;
}

/* ---- the published vectors ------------------------------------------------ */

static void test_roots_of_vectors(void **state)
{
    (void)state;
    ledger_hasher *h = ledger_hasher_new(LEDGER_HASH_SHA256);
    uint8_t leaves[8 * HL], root[HL], expect[HL];
    vector_leaves(h, leaves);

    ledger_merkle_tree t;
    build_tree(h, &t, leaves, 8);
    ledger_merkle_compact c;
    ledger_merkle_compact_init(&c);
    for (uint64_t n = 1; n <= 8; n++) {
        hash_from_hex(sha256_roots[n - 1], expect);
        assert_int_equal(ledger_merkle_root(h, leaves, n, root), 0);
        assert_memory_equal(root, expect, HL);
        assert_int_equal(ledger_merkle_tree_root(h, &t, n, root), 0);
        assert_memory_equal(root, expect, HL);
        assert_int_equal(ledger_merkle_compact_append(h, &c, leaves + (n - 1) * HL), 0);
        assert_int_equal(ledger_merkle_compact_root(h, &c, root), 0);
        assert_memory_equal(root, expect, HL);
    }
    /* The empty tree is H(""); there is no size beyond the tree. */
    hash_from_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", expect);
    assert_int_equal(ledger_merkle_root(h, leaves, 0, root), 0);
    assert_memory_equal(root, expect, HL);
    assert_int_equal(ledger_merkle_tree_root(h, &t, 0, root), 0);
    assert_memory_equal(root, expect, HL);
    assert_int_equal(ledger_merkle_tree_root(h, &t, 9, root), -1);
    ledger_merkle_tree_free(&t);
    ledger_hasher_free(h);
}

/* The notes' SM3 values of the same leaf inputs, re-derived by an
 * independent implementation before being written here. */
static void test_sm3_root_of_vectors(void **state)
{
    (void)state;
    ledger_hasher *h = ledger_hasher_new(LEDGER_HASH_SM3);
    uint8_t leaves[8 * HL], root[HL], expect[HL];
    vector_leaves(h, leaves);
    hash_from_hex("2daef60e7a0b8f5e024c81cd2ab3109f2b4f155cf83adeb2ae5532f74a157fdf", expect);
    assert_memory_equal(leaves, expect, HL);
    hash_from_hex("bc48ba7a709184b5f2a631e1adeb8dc2a0d4c018c1d6cc89b5664fe154c93b38", expect);
    assert_int_equal(ledger_merkle_root(h, leaves, 8, root), 0);
    assert_memory_equal(root, expect, HL);
    ledger_hasher_free(h);
}

static int inclusion_ok(ledger_hasher *h, uint64_t index, uint64_t size, const uint8_t *leaf,
                        const uint8_t *proof, size_t count, const uint8_t *root)
{
    return ledger_merkle_verify_inclusion(h, index, size, leaf, proof, count, root) == 0;
}

/* Alterations that must all fail: the probes of transparency-dev's tests
 * (wrong index, size, leaf, root; garbage before or after; a flipped bit
 * in each hash; a hash removed or inserted), done here with our own code. */
static void expect_inclusion_probes_fail(ledger_hasher *h, uint64_t index, uint64_t size,
                                         const uint8_t *leaf, const uint8_t *proof, size_t count,
                                         const uint8_t *root)
{
    uint8_t other[HL], buf[(LEDGER_MERKLE_MAX_PROOF + 1) * HL];
    memset(other, 0x5a, sizeof(other));
    if (index > 0)
        assert_false(inclusion_ok(h, index - 1, size, leaf, proof, count, root));
    assert_false(inclusion_ok(h, index + 1, size, leaf, proof, count, root));
    assert_false(inclusion_ok(h, index ^ 2, size, leaf, proof, count, root));
    assert_false(inclusion_ok(h, index, size * 2, leaf, proof, count, root));
    assert_false(inclusion_ok(h, index, size / 2, leaf, proof, count, root));
    assert_false(inclusion_ok(h, index, size, other, proof, count, root));
    assert_false(inclusion_ok(h, index, size, leaf, proof, count, other));
    memcpy(buf, proof, count * HL);
    memcpy(buf + count * HL, root, HL);
    assert_false(inclusion_ok(h, index, size, leaf, buf, count + 1, root));
    memcpy(buf + count * HL, other, HL);
    assert_false(inclusion_ok(h, index, size, leaf, buf, count + 1, root));
    memcpy(buf, root, HL);
    memcpy(buf + HL, proof, count * HL);
    assert_false(inclusion_ok(h, index, size, leaf, buf, count + 1, root));
    for (size_t i = 0; i < count; i++) {
        memcpy(buf, proof, count * HL);
        buf[i * HL] ^= 8;
        assert_false(inclusion_ok(h, index, size, leaf, buf, count, root));
    }
    if (count > 0)
        assert_false(inclusion_ok(h, index, size, leaf, proof, count - 1, root));
    if (count > 1) {
        memcpy(buf, proof, HL);
        memcpy(buf + HL, other, HL);
        memcpy(buf + 2 * HL, proof + HL, (count - 1) * HL);
        assert_false(inclusion_ok(h, index, size, leaf, buf, count + 1, root));
    }
}

static void test_inclusion_vectors(void **state)
{
    (void)state;
    ledger_hasher *h = ledger_hasher_new(LEDGER_HASH_SHA256);
    uint8_t leaves[8 * HL];
    vector_leaves(h, leaves);
    ledger_merkle_tree t;
    build_tree(h, &t, leaves, 8);
    for (size_t v = 0; v < sizeof(inclusion_vectors) / sizeof(inclusion_vectors[0]); v++) {
        const inclusion_vector *iv = &inclusion_vectors[v];
        uint8_t published[3 * HL], made[LEDGER_MERKLE_MAX_PROOF * HL], root[HL];
        for (size_t i = 0; i < iv->count; i++)
            hash_from_hex(iv->proof[i], published + i * HL);
        hash_from_hex(sha256_roots[iv->size - 1], root);
        size_t count = 99;
        assert_int_equal(
            ledger_merkle_tree_inclusion_proof(h, &t, iv->index, iv->size, made, &count), 0);
        assert_int_equal(count, iv->count);
        assert_memory_equal(made, published, count * HL);
        const uint8_t *leaf = leaves + iv->index * HL;
        assert_true(inclusion_ok(h, iv->index, iv->size, leaf, published, iv->count, root));
        expect_inclusion_probes_fail(h, iv->index, iv->size, leaf, published, iv->count, root);
    }
    ledger_merkle_tree_free(&t);
    ledger_hasher_free(h);
}

/* TestVerifyInclusion's edge probes: index 0 of size 0, 1 of 0, 2 of 1. */
static void test_inclusion_out_of_range(void **state)
{
    (void)state;
    ledger_hasher *h = ledger_hasher_new(LEDGER_HASH_SHA256);
    uint8_t some[HL], empty[HL];
    memset(some, 0xab, sizeof(some));
    assert_int_equal(ledger_hash_empty(h, empty), 0);
    const uint64_t probes[][2] = {{0, 0}, {1, 0}, {2, 1}};
    for (size_t i = 0; i < 3; i++) {
        assert_false(inclusion_ok(h, probes[i][0], probes[i][1], some, NULL, 0, empty));
        assert_false(inclusion_ok(h, probes[i][0], probes[i][1], some, NULL, 0, some));
    }
    /* A single entry: the proof is empty, the root is the leaf. */
    assert_true(inclusion_ok(h, 0, 1, some, NULL, 0, some));
    assert_false(inclusion_ok(h, 0, 1, some, NULL, 0, empty));
    /* More hashes than any proof has. */
    uint8_t *big = calloc(LEDGER_MERKLE_MAX_PROOF + 1, HL);
    assert_false(inclusion_ok(h, 0, UINT64_MAX, some, big, LEDGER_MERKLE_MAX_PROOF + 1, some));
    free(big);
    ledger_hasher_free(h);
}

static int consistency_ok(ledger_hasher *h, uint64_t m, uint64_t n, const uint8_t *r1,
                          const uint8_t *r2, const uint8_t *proof, size_t count)
{
    return ledger_merkle_verify_consistency(h, m, n, r1, r2, proof, count) == 0;
}

static void expect_consistency_probes_fail(ledger_hasher *h, uint64_t m, uint64_t n,
                                           const uint8_t *r1, const uint8_t *r2,
                                           const uint8_t *proof, size_t count)
{
    uint8_t other[HL], buf[(LEDGER_MERKLE_MAX_PROOF + 1) * HL];
    memset(other, 0xa5, sizeof(other));
    assert_false(consistency_ok(h, m - 1, n, r1, r2, proof, count));
    assert_false(consistency_ok(h, m + 1, n, r1, r2, proof, count));
    assert_false(consistency_ok(h, m ^ 2, n, r1, r2, proof, count));
    assert_false(consistency_ok(h, m, n * 2, r1, r2, proof, count));
    assert_false(consistency_ok(h, m, n / 2, r1, r2, proof, count));
    assert_false(consistency_ok(h, m, n, other, r2, proof, count));
    assert_false(consistency_ok(h, m, n, r1, other, proof, count));
    assert_false(consistency_ok(h, m, n, r2, r1, proof, count));
    assert_false(consistency_ok(h, m, n, r1, r2, proof, 0));
    const uint8_t *extras[] = {other, r1, r2, proof};
    for (size_t e = 0; e < 4; e++) {
        memcpy(buf, proof, count * HL);
        memcpy(buf + count * HL, extras[e], HL);
        assert_false(consistency_ok(h, m, n, r1, r2, buf, count + 1));
        memcpy(buf, extras[e], HL);
        memcpy(buf + HL, proof, count * HL);
        assert_false(consistency_ok(h, m, n, r1, r2, buf, count + 1));
    }
    assert_false(consistency_ok(h, m, n, r1, r2, proof, count - 1));
    for (size_t i = 0; i < count; i++) {
        memcpy(buf, proof, count * HL);
        buf[i * HL] ^= 16;
        assert_false(consistency_ok(h, m, n, r1, r2, buf, count));
    }
}

static void test_consistency_vectors(void **state)
{
    (void)state;
    ledger_hasher *h = ledger_hasher_new(LEDGER_HASH_SHA256);
    uint8_t leaves[8 * HL];
    vector_leaves(h, leaves);
    ledger_merkle_tree t;
    build_tree(h, &t, leaves, 8);
    for (size_t v = 0; v < sizeof(consistency_vectors) / sizeof(consistency_vectors[0]); v++) {
        const consistency_vector *cv = &consistency_vectors[v];
        uint8_t published[3 * HL], made[LEDGER_MERKLE_MAX_PROOF * HL], r1[HL], r2[HL];
        for (size_t i = 0; i < cv->count; i++)
            hash_from_hex(cv->proof[i], published + i * HL);
        hash_from_hex(sha256_roots[cv->old_size - 1], r1);
        hash_from_hex(sha256_roots[cv->new_size - 1], r2);
        size_t count = 99;
        assert_int_equal(
            ledger_merkle_tree_consistency_proof(h, &t, cv->old_size, cv->new_size, made, &count),
            0);
        assert_int_equal(count, cv->count);
        assert_memory_equal(made, published, count * HL);
        assert_true(consistency_ok(h, cv->old_size, cv->new_size, r1, r2, published, cv->count));
        if (cv->count > 0)
            expect_consistency_probes_fail(h, cv->old_size, cv->new_size, r1, r2, published,
                                           cv->count);
    }
    ledger_merkle_tree_free(&t);
    ledger_hasher_free(h);
}

/* TestVerifyConsistency's special cases. From size 0 the rule here is
 * stricter than there: the old root must be the empty tree's. */
static void test_consistency_special_cases(void **state)
{
    (void)state;
    ledger_hasher *h = ledger_hasher_new(LEDGER_HASH_SHA256);
    uint8_t r1[HL], r2[HL], empty[HL];
    memset(r1, 1, sizeof(r1));
    memset(r2, 2, sizeof(r2));
    assert_int_equal(ledger_hash_empty(h, empty), 0);
    const uint8_t *one_hash = empty;

    assert_false(consistency_ok(h, 0, 0, r1, r2, NULL, 0));
    assert_false(consistency_ok(h, 1, 1, r1, r2, NULL, 0));
    assert_true(consistency_ok(h, 0, 0, r1, r1, NULL, 0));
    assert_true(consistency_ok(h, 1, 1, r2, r2, NULL, 0));
    assert_true(consistency_ok(h, 0, 1, empty, r2, NULL, 0));
    assert_true(consistency_ok(h, 0, 12345, empty, r2, NULL, 0));
    assert_false(consistency_ok(h, 0, 1, r1, r2, NULL, 0));
    /* Back in time. */
    assert_false(consistency_ok(h, 1, 0, r1, r2, NULL, 0));
    assert_false(consistency_ok(h, 2, 1, r1, r2, NULL, 0));
    /* No proof where one is needed. */
    assert_false(consistency_ok(h, 1, 2, r1, r2, NULL, 0));
    /* Roots agree but a proof is given where none belongs. */
    assert_false(consistency_ok(h, 0, 0, empty, empty, one_hash, 1));
    assert_false(consistency_ok(h, 0, 1, empty, empty, one_hash, 1));
    assert_false(consistency_ok(h, 1, 1, empty, empty, one_hash, 1));
    ledger_hasher_free(h);
}

/* ---- generated trees -------------------------------------------------- */

static uint8_t *generated_leaves(ledger_hasher *h, uint64_t n)
{
    uint8_t *leaves = malloc((size_t)n * HL);
    assert_non_null(leaves);
    for (uint64_t i = 0; i < n; i++) {
        char data[32];
        int len = snprintf(data, sizeof(data), "entry-%llu", (unsigned long long)i);
        assert_int_equal(ledger_hash_leaf(h, data, (size_t)len, leaves + i * HL), 0);
    }
    return leaves;
}

/* Proof of leaf index in the tree of size, and every way to spoil it:
 * every byte of every hash flipped when all_bytes, else one byte per
 * hash; every other index; neighbouring sizes. */
static void check_inclusion(ledger_hasher *h, const ledger_merkle_tree *t, const uint8_t *leaves,
                            const uint8_t *roots, uint64_t index, uint64_t size, int all_bytes,
                            int with_ref)
{
    uint8_t proof[LEDGER_MERKLE_MAX_PROOF * HL], ref[LEDGER_MERKLE_MAX_PROOF * HL];
    size_t count = 0, ref_count = 0;
    assert_int_equal(ledger_merkle_tree_inclusion_proof(h, t, index, size, proof, &count), 0);
    if (with_ref) {
        ref_path(h, index, leaves, size, ref, &ref_count);
        assert_int_equal(count, ref_count);
        assert_memory_equal(proof, ref, count * HL);
    }
    const uint8_t *root = roots + size * HL;
    const uint8_t *leaf = leaves + index * HL;
    assert_true(inclusion_ok(h, index, size, leaf, proof, count, root));

    for (size_t i = 0; i < count; i++) {
        for (size_t b = 0; b < HL; b++) {
            if (!all_bytes && b != (i * 7 + index) % HL)
                continue;
            proof[i * HL + b] ^= 0x01;
            assert_false(inclusion_ok(h, index, size, leaf, proof, count, root));
            proof[i * HL + b] ^= 0x01;
        }
    }
    /* The proof is for this index only, and for this size only: not for
     * the root a tree of another size has. (With this size's root, a
     * neighbouring size whose path has the same shape passes; a checkpoint
     * states size and root together, which rules that out.) */
    const uint64_t others[] = {0, index - 1, index + 1, index ^ 2, size - 1};
    for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++)
        if (others[k] != index && others[k] < size)
            assert_false(inclusion_ok(h, others[k], size, leaf, proof, count, root));
    for (uint64_t s = size > 1 ? size - 1 : 1; s <= size + 1 && s <= t->size; s++)
        if (s != size && s > index)
            assert_false(inclusion_ok(h, index, s, leaf, proof, count, roots + s * HL));
    assert_false(inclusion_ok(h, index, size * 2, leaf, proof, count, root));
    assert_false(inclusion_ok(h, index, size / 2, leaf, proof, count, root));
    if (count > 0)
        assert_false(inclusion_ok(h, index, size, leaf, proof, count - 1, root));
}

static void check_consistency(ledger_hasher *h, const ledger_merkle_tree *t, const uint8_t *leaves,
                              const uint8_t *roots, uint64_t m, uint64_t n, int with_ref)
{
    uint8_t proof[(LEDGER_MERKLE_MAX_PROOF + 1) * HL], ref[LEDGER_MERKLE_MAX_PROOF * HL];
    size_t count = 0, ref_count = 0;
    assert_int_equal(ledger_merkle_tree_consistency_proof(h, t, m, n, proof, &count), 0);
    if (with_ref) {
        if (m > 0 && m < n)
            ref_subproof(h, m, leaves, n, 1, ref, &ref_count);
        assert_int_equal(count, ref_count);
        assert_memory_equal(proof, ref, count * HL);
    }
    const uint8_t *r1 = roots + m * HL, *r2 = roots + n * HL;
    assert_true(consistency_ok(h, m, n, r1, r2, proof, count));
    if (count == 0) {
        /* m == 0 or m == n: no other old root passes. */
        uint8_t other[HL];
        memset(other, 0x77, sizeof(other));
        assert_false(consistency_ok(h, m, n, other, r2, proof, 0));
        return;
    }
    for (size_t i = 0; i < count; i++) {
        size_t b = (i * 11 + m + n) % HL;
        proof[i * HL + b] ^= 0x80;
        assert_false(consistency_ok(h, m, n, r1, r2, proof, count));
        proof[i * HL + b] ^= 0x80;
    }
    /* Not a proof between other sizes, with those sizes' own roots. */
    for (uint64_t s = m > 1 ? m - 1 : 1; s <= m + 1 && s < n; s++)
        if (s != m)
            assert_false(consistency_ok(h, s, n, roots + s * HL, r2, proof, count));
    for (uint64_t s = n - 1; s <= n + 1 && s <= t->size; s++)
        if (s != n && s > m)
            assert_false(consistency_ok(h, m, s, r1, roots + s * HL, proof, count));
    assert_false(consistency_ok(h, m + 1, n, r1, r2, proof, count));
    assert_false(consistency_ok(h, m, n * 2, r1, r2, proof, count));
    assert_false(consistency_ok(h, m, n, r2, r1, proof, count));
    assert_false(consistency_ok(h, m, n, r1, r2, proof, count - 1));
    memcpy(proof + count * HL, r2, HL);
    assert_false(consistency_ok(h, m, n, r1, r2, proof, count + 1));
}

static void check_tree(ledger_hash_alg alg, uint64_t n, int every_proof, int all_bytes)
{
    ledger_hasher *h = ledger_hasher_new(alg);
    uint8_t *leaves = generated_leaves(h, n);
    ledger_merkle_tree t;
    build_tree(h, &t, leaves, n);
    ledger_merkle_compact c;
    ledger_merkle_compact_init(&c);
    /* roots[s]: the root of the first s leaves, from the tree and from the
     * compact range after each append, which must agree, and with the
     * reference (which costs O(s); the leaves are the same in every tree,
     * so the small trees check each size once as their own). */
    uint8_t *roots = malloc((size_t)(n + 1) * HL);
    assert_non_null(roots);
    for (uint64_t s = 0; s <= n; s++) {
        uint8_t *a = roots + s * HL, b[HL], r[HL];
        assert_int_equal(ledger_merkle_tree_root(h, &t, s, a), 0);
        if (n <= 1000 || s % 16 == 0) {
            assert_int_equal(ledger_merkle_compact_root(h, &c, b), 0);
            assert_memory_equal(a, b, HL);
        }
        if (s % 512 == 0 || s + 2 > n) {
            ref_mth(h, leaves, s, r);
            assert_memory_equal(a, r, HL);
        }
        if (s < n)
            assert_int_equal(ledger_merkle_compact_append(h, &c, leaves + s * HL), 0);
    }
    /* Otherwise the ends, powers of two and a few places between: the
     * reference proof costs O(n) hashes. */
    uint64_t stride = n / 4 + 1;
    for (uint64_t i = 0; i < n; i++) {
        int ref = n <= 40 || i == 0 || i + 1 == n || i % stride == 5;
        if (every_proof || ref || (i & (i - 1)) == 0 || i + 2 == n)
            check_inclusion(h, &t, leaves, roots, i, n, all_bytes, ref);
    }
    for (uint64_t m = 0; m <= n; m++) {
        int ref = n <= 40 || m == 1 || m + 1 == n || m % stride == 7;
        if (every_proof || ref || (m & (m - 1)) == 0 || m + 2 == n)
            check_consistency(h, &t, leaves, roots, m, n, ref);
    }
    /* Proofs of sizes beyond the tree are refused. */
    uint8_t proof[LEDGER_MERKLE_MAX_PROOF * HL];
    size_t count;
    assert_int_equal(ledger_merkle_tree_inclusion_proof(h, &t, 0, n + 1, proof, &count), -1);
    assert_int_equal(ledger_merkle_tree_inclusion_proof(h, &t, n, n, proof, &count), -1);
    assert_int_equal(ledger_merkle_tree_consistency_proof(h, &t, 0, n + 1, proof, &count), -1);
    assert_int_equal(ledger_merkle_tree_consistency_proof(h, &t, n, n - 1, proof, &count), -1);
    ledger_merkle_tree_free(&t);
    free(roots);
    free(leaves);
    ledger_hasher_free(h);
}

/* Every tree of 1..70 leaves: every inclusion and consistency proof. */
static void test_every_small_tree(void **state)
{
    (void)state;
    for (uint64_t n = 1; n <= 70; n++)
        check_tree(LEDGER_HASH_SHA256, n, 1, n <= 8);
}

static void test_small_trees_sm3(void **state)
{
    (void)state;
    /* The tree code does not depend on the hash: a few SM3 trees suffice. */
    for (uint64_t n = 1; n <= 70; n += 9)
        check_tree(LEDGER_HASH_SM3, n, 1, 0);
}

static void test_larger_trees(void **state)
{
    (void)state;
    check_tree(LEDGER_HASH_SHA256, 300, 1, 0);
    const uint64_t sizes[] = {127, 128, 129, 255, 256, 257, 513, 1000, 4097};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        check_tree(LEDGER_HASH_SHA256, sizes[i], 0, 0);
}

/* The tree of complete subtrees keeps under 2 hashes per leaf. */
static void test_tree_memory(void **state)
{
    (void)state;
    ledger_hasher *h = ledger_hasher_new(LEDGER_HASH_SM3);
    ledger_merkle_tree t;
    ledger_merkle_tree_init(&t);
    uint8_t leaf[HL] = {0};
    for (uint32_t i = 0; i < 5000; i++) {
        memcpy(leaf, &i, sizeof(i));
        assert_int_equal(ledger_merkle_tree_append(h, &t, leaf), 0);
    }
    uint64_t stored = 0;
    for (int l = 0; l < LEDGER_MERKLE_MAX_DEPTH; l++)
        stored += t.size >> l;
    assert_true(stored < 2 * t.size);
    assert_memory_equal(ledger_merkle_tree_leaf(&t, 4999), leaf, HL);
    assert_null(ledger_merkle_tree_leaf(&t, 5000));
    ledger_merkle_tree_free(&t);
    ledger_hasher_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roots_of_vectors),
        cmocka_unit_test(test_sm3_root_of_vectors),
        cmocka_unit_test(test_inclusion_vectors),
        cmocka_unit_test(test_inclusion_out_of_range),
        cmocka_unit_test(test_consistency_vectors),
        cmocka_unit_test(test_consistency_special_cases),
        cmocka_unit_test(test_every_small_tree),
        cmocka_unit_test(test_small_trees_sm3),
        cmocka_unit_test(test_larger_trees),
        cmocka_unit_test(test_tree_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
