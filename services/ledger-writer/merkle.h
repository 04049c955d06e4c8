/* The Merkle tree of RFC 6962 / RFC 9162 section 2.1 over leaf hashes
 * (ledger_hash_leaf of each entry): its root, an incremental tree that
 * gives the root and proofs at any size, and the verification of
 * inclusion and consistency proofs.
 *
 * Hashes are LEDGER_HASH_LEN (32) bytes. A proof is a flat buffer of
 * count * 32 bytes, lowest level first, as RFC 9162 orders it. Proofs of
 * trees below 2^63 leaves never hold more than LEDGER_MERKLE_MAX_PROOF hashes.
 *
 * Every function returns 0, or -1: the proof does not verify, an argument
 * is out of range, or OpenSSL failed. */
#ifndef MERKLE_H
#define MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger-writer/ledger_hash.h"

#define LEDGER_MERKLE_MAX_DEPTH 64
#define LEDGER_MERKLE_MAX_PROOF 65

/* MTH of n leaf hashes leaves[0 .. n * 32): split at the largest power of
 * two below n; the empty tree's root is H(""). */
int ledger_merkle_root(ledger_hasher *h, const uint8_t *leaves, uint64_t n,
                       uint8_t root[LEDGER_HASH_LEN]);

/* The left edge of a growing tree (a compact range from 0): one hash per
 * set bit of size, the largest subtree first. Appending and taking the root
 * cost O(log n) and allocate nothing; verifying a whole log streams its
 * entries through one of these. */
typedef struct {
    uint64_t size;
    unsigned count;
    uint8_t nodes[LEDGER_MERKLE_MAX_DEPTH][LEDGER_HASH_LEN];
} ledger_merkle_compact;

void ledger_merkle_compact_init(ledger_merkle_compact *c);
int ledger_merkle_compact_append(ledger_hasher *h, ledger_merkle_compact *c,
                                 const uint8_t leaf[LEDGER_HASH_LEN]);
int ledger_merkle_compact_root(ledger_hasher *h, const ledger_merkle_compact *c,
                               uint8_t root[LEDGER_HASH_LEN]);

/* Every complete subtree of a growing tree: level[l] holds the
 * size >> l hashes of the aligned subtrees of 2^l leaves (level 0 are the
 * leaf hashes), under 2 * size hashes in all. The hash of any subtree the
 * proofs need, and the root at any size, take O(log n).
 * Zero-initialize (or ledger_merkle_tree_init), free with ledger_merkle_tree_free. */
typedef struct {
    uint64_t size;
    uint8_t *level[LEDGER_MERKLE_MAX_DEPTH];
    uint64_t capacity[LEDGER_MERKLE_MAX_DEPTH]; /* hashes each level has room for */
} ledger_merkle_tree;

void ledger_merkle_tree_init(ledger_merkle_tree *t);
void ledger_merkle_tree_free(ledger_merkle_tree *t);
/* Makes room for extra more leaves, so the next appends cannot fail for
 * memory. */
int ledger_merkle_tree_reserve(ledger_merkle_tree *t, uint64_t extra);
/* On failure the tree is unchanged. */
int ledger_merkle_tree_append(ledger_hasher *h, ledger_merkle_tree *t,
                              const uint8_t leaf[LEDGER_HASH_LEN]);
/* Leaf hash i (i < size), borrowed from the tree until the next append. */
const uint8_t *ledger_merkle_tree_leaf(const ledger_merkle_tree *t, uint64_t i);
/* Root of the first size leaves (size <= t->size). */
int ledger_merkle_tree_root(ledger_hasher *h, const ledger_merkle_tree *t, uint64_t size,
                            uint8_t root[LEDGER_HASH_LEN]);

/* PATH(index, D[0:size]) of RFC 9162 2.1.3.1 into proof (room for
 * LEDGER_MERKLE_MAX_PROOF hashes); index < size <= t->size. */
int ledger_merkle_tree_inclusion_proof(ledger_hasher *h, const ledger_merkle_tree *t,
                                       uint64_t index, uint64_t size, uint8_t *proof,
                                       size_t *count);
/* PROOF(old_size, D[0:new_size]) of RFC 9162 2.1.4.1 (old_size <= new_size
 * <= t->size); empty when old_size is 0 or equals new_size. */
int ledger_merkle_tree_consistency_proof(ledger_hasher *h, const ledger_merkle_tree *t,
                                         uint64_t old_size, uint64_t new_size, uint8_t *proof,
                                         size_t *count);

/* RFC 9162 2.1.3.2: 0 when proof proves that leaf_hash is leaf index of
 * the tree of size leaves whose root is root. */
int ledger_merkle_verify_inclusion(ledger_hasher *h, uint64_t index, uint64_t size,
                                   const uint8_t leaf_hash[LEDGER_HASH_LEN], const uint8_t *proof,
                                   size_t count, const uint8_t root[LEDGER_HASH_LEN]);

/* RFC 9162 2.1.4.2 for 0 < old_size < new_size: 0 when proof proves that
 * the tree of old_size leaves with old_root is a prefix of the tree of
 * new_size leaves with new_root. The cases outside it, by their own rule:
 *   old_size == new_size: the proof is empty and the roots are equal;
 *   old_size == 0: the proof is empty and old_root is H("") (the empty
 *                  tree is a prefix of every tree; there is nothing to prove);
 *   old_size > new_size: never. */
int ledger_merkle_verify_consistency(ledger_hasher *h, uint64_t old_size, uint64_t new_size,
                                     const uint8_t old_root[LEDGER_HASH_LEN],
                                     const uint8_t new_root[LEDGER_HASH_LEN], const uint8_t *proof,
                                     size_t count);

#endif
