#include "ledger-writer/merkle.h"

#include <stdlib.h>
#include <string.h>

#define HL LEDGER_HASH_LEN

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

static unsigned bit_length(uint64_t n)
{
    return n == 0 ? 0 : 64 - (unsigned)__builtin_clzll(n);
}

int ledger_merkle_root(ledger_hasher *h, const uint8_t *leaves, uint64_t n, uint8_t root[HL])
{
    ledger_merkle_compact c;
    ledger_merkle_compact_init(&c);
    for (uint64_t i = 0; i < n; i++)
        if (ledger_merkle_compact_append(h, &c, leaves + i * HL) != 0)
            return -1;
    return ledger_merkle_compact_root(h, &c, root);
}

/* ---- compact range ------------------------------------------------------ */

void ledger_merkle_compact_init(ledger_merkle_compact *c)
{
    c->size = 0;
    c->count = 0;
}

int ledger_merkle_compact_append(ledger_hasher *h, ledger_merkle_compact *c, const uint8_t leaf[HL])
{
    if (c->size == UINT64_MAX)
        return -1;
    uint8_t cur[HL];
    memcpy(cur, leaf, HL);
    unsigned n = c->count;
    /* Each trailing one bit of size is a complete subtree the new leaf's
     * subtree now pairs with; nothing changes until all hashes are in. */
    for (uint64_t s = c->size; s & 1; s >>= 1) {
        if (ledger_hash_node(h, c->nodes[n - 1], cur, cur) != 0)
            return -1;
        n--;
    }
    memcpy(c->nodes[n], cur, HL);
    c->count = n + 1;
    c->size++;
    return 0;
}

int ledger_merkle_compact_root(ledger_hasher *h, const ledger_merkle_compact *c, uint8_t root[HL])
{
    if (c->count == 0)
        return ledger_hash_empty(h, root);
    uint8_t r[HL];
    memcpy(r, c->nodes[c->count - 1], HL);
    for (unsigned i = c->count - 1; i-- > 0;)
        if (ledger_hash_node(h, c->nodes[i], r, r) != 0)
            return -1;
    memcpy(root, r, HL);
    return 0;
}

/* ---- tree of complete subtrees ------------------------------------------- */

void ledger_merkle_tree_init(ledger_merkle_tree *t)
{
    memset(t, 0, sizeof(*t));
}

void ledger_merkle_tree_free(ledger_merkle_tree *t)
{
    for (int l = 0; l < LEDGER_MERKLE_MAX_DEPTH; l++)
        free(t->level[l]);
    memset(t, 0, sizeof(*t));
}

int ledger_merkle_tree_reserve(ledger_merkle_tree *t, uint64_t extra)
{
    if (extra > UINT64_MAX - t->size)
        return -1;
    uint64_t size = t->size + extra;
    for (int l = 0; l < LEDGER_MERKLE_MAX_DEPTH && (size >> l) > 0; l++) {
        uint64_t need = size >> l;
        if (need <= t->capacity[l])
            continue;
        uint64_t cap = t->capacity[l] ? t->capacity[l] : 64;
        while (cap < need)
            cap *= 2;
        if (cap > SIZE_MAX / HL)
            return -1;
        uint8_t *grown = realloc(t->level[l], (size_t)cap * HL);
        if (grown == NULL)
            return -1;
        t->level[l] = grown;
        t->capacity[l] = cap;
    }
    return 0;
}

int ledger_merkle_tree_append(ledger_hasher *h, ledger_merkle_tree *t, const uint8_t leaf[HL])
{
    if (ledger_merkle_tree_reserve(t, 1) != 0)
        return -1;
    /* fresh[l]: the new complete subtree at level l, if the new leaf
     * completes one there. */
    uint8_t fresh[LEDGER_MERKLE_MAX_DEPTH][HL];
    unsigned levels = 1;
    memcpy(fresh[0], leaf, HL);
    for (uint64_t idx = t->size; idx & 1; idx >>= 1) {
        unsigned l = levels - 1;
        if (levels == LEDGER_MERKLE_MAX_DEPTH)
            return -1;
        if (ledger_hash_node(h, t->level[l] + (idx - 1) * HL, fresh[l], fresh[l + 1]) != 0)
            return -1;
        levels++;
    }
    for (unsigned l = 0; l < levels; l++)
        memcpy(t->level[l] + (t->size >> l) * HL, fresh[l], HL);
    t->size++;
    return 0;
}

const uint8_t *ledger_merkle_tree_leaf(const ledger_merkle_tree *t, uint64_t i)
{
    return i < t->size ? t->level[0] + i * HL : NULL;
}

/* MTH(D[begin:end]) for a subtree of the tree: begin is a multiple of the
 * largest power of two not above end - begin, so the range is a run of
 * complete aligned subtrees of decreasing size (the set bits of its
 * length), hashed together right to left as the RFC's split rule does. */
static int subtree_hash(ledger_hasher *h, const ledger_merkle_tree *t, uint64_t begin, uint64_t end,
                        uint8_t out[HL])
{
    if (end <= begin || end > t->size)
        return -1;
    uint64_t n = end - begin;
    unsigned top = bit_length(n) - 1;
    if (begin & ((UINT64_C(1) << top) - 1))
        return -1;
    const uint8_t *blocks[LEDGER_MERKLE_MAX_DEPTH];
    unsigned count = 0;
    uint64_t at = begin;
    for (unsigned l = top + 1; l-- > 0;) {
        if (!(n >> l & 1))
            continue;
        blocks[count++] = t->level[l] + (at >> l) * HL;
        at += UINT64_C(1) << l;
    }
    uint8_t r[HL];
    memcpy(r, blocks[count - 1], HL);
    for (unsigned i = count - 1; i-- > 0;)
        if (ledger_hash_node(h, blocks[i], r, r) != 0)
            return -1;
    memcpy(out, r, HL);
    return 0;
}

int ledger_merkle_tree_root(ledger_hasher *h, const ledger_merkle_tree *t, uint64_t size,
                            uint8_t root[HL])
{
    if (size > t->size)
        return -1;
    if (size == 0)
        return ledger_hash_empty(h, root);
    return subtree_hash(h, t, 0, size, root);
}

/* Reverses count hashes in place: the walks below collect top-down, the
 * proofs list bottom-up. */
static void reverse_hashes(uint8_t *proof, size_t count)
{
    uint8_t tmp[HL];
    for (size_t i = 0, j = count; i + 1 < j; i++, j--) {
        memcpy(tmp, proof + i * HL, HL);
        memcpy(proof + i * HL, proof + (j - 1) * HL, HL);
        memcpy(proof + (j - 1) * HL, tmp, HL);
    }
}

int ledger_merkle_tree_inclusion_proof(ledger_hasher *h, const ledger_merkle_tree *t,
                                       uint64_t index, uint64_t size, uint8_t *proof, size_t *count)
{
    if (index >= size || size > t->size)
        return -1;
    size_t n = 0;
    uint64_t begin = 0, end = size;
    while (end - begin > 1) {
        uint64_t k = split_point(end - begin);
        int rc;
        if (index < begin + k) {
            rc = subtree_hash(h, t, begin + k, end, proof + n * HL);
            end = begin + k;
        } else {
            rc = subtree_hash(h, t, begin, begin + k, proof + n * HL);
            begin += k;
        }
        if (rc != 0)
            return -1;
        n++;
    }
    reverse_hashes(proof, n);
    *count = n;
    return 0;
}

int ledger_merkle_tree_consistency_proof(ledger_hasher *h, const ledger_merkle_tree *t,
                                         uint64_t old_size, uint64_t new_size, uint8_t *proof,
                                         size_t *count)
{
    if (old_size > new_size || new_size > t->size)
        return -1;
    size_t n = 0;
    if (old_size == 0 || old_size == new_size) {
        *count = 0;
        return 0;
    }
    /* SUBPROOF(m, D[begin:end], whole) unrolled: whole stays true while
     * the old tree is a left part of the current subtree. */
    uint64_t begin = 0, end = new_size, m = old_size;
    int whole = 1;
    for (;;) {
        if (m == end - begin) {
            if (!whole) {
                if (subtree_hash(h, t, begin, end, proof + n * HL) != 0)
                    return -1;
                n++;
            }
            break;
        }
        uint64_t k = split_point(end - begin);
        int rc;
        if (m <= k) {
            rc = subtree_hash(h, t, begin + k, end, proof + n * HL);
            end = begin + k;
        } else {
            rc = subtree_hash(h, t, begin, begin + k, proof + n * HL);
            begin += k;
            m -= k;
            whole = 0;
        }
        if (rc != 0)
            return -1;
        n++;
    }
    reverse_hashes(proof, n);
    *count = n;
    return 0;
}

/* ---- verification (RFC 9162 2.1.3.2 and 2.1.4.2) -------------------------- */

int ledger_merkle_verify_inclusion(ledger_hasher *h, uint64_t index, uint64_t size,
                                   const uint8_t leaf_hash[HL], const uint8_t *proof, size_t count,
                                   const uint8_t root[HL])
{
    if (index >= size || count > LEDGER_MERKLE_MAX_PROOF)
        return -1;
    uint64_t fn = index, sn = size - 1;
    uint8_t r[HL];
    memcpy(r, leaf_hash, HL);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *p = proof + i * HL;
        if (sn == 0)
            return -1;
        if ((fn & 1) || fn == sn) {
            if (ledger_hash_node(h, p, r, r) != 0)
                return -1;
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else if (ledger_hash_node(h, r, p, r) != 0) {
            return -1;
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, HL) == 0 ? 0 : -1;
}

/* Element i of a consistency path, with the old root in front when lead. */
static const uint8_t *path_at(const uint8_t *old_root, const uint8_t *proof, int lead, size_t i)
{
    if (lead)
        return i == 0 ? old_root : proof + (i - 1) * HL;
    return proof + i * HL;
}

int ledger_merkle_verify_consistency(ledger_hasher *h, uint64_t old_size, uint64_t new_size,
                                     const uint8_t old_root[HL], const uint8_t new_root[HL],
                                     const uint8_t *proof, size_t count)
{
    if (old_size > new_size || count > LEDGER_MERKLE_MAX_PROOF)
        return -1;
    if (old_size == new_size)
        return count == 0 && memcmp(old_root, new_root, HL) == 0 ? 0 : -1;
    if (old_size == 0) {
        uint8_t empty[HL];
        if (count != 0 || ledger_hash_empty(h, empty) != 0)
            return -1;
        return memcmp(old_root, empty, HL) == 0 ? 0 : -1;
    }
    if (count == 0)
        return -1;
    /* When old_size is a power of two the old root is the first element
     * of the path (the RFC prepends it); the path is read through at(). */
    int lead = (old_size & (old_size - 1)) == 0;
    size_t total = count + (size_t)lead;
    uint64_t fn = old_size - 1, sn = new_size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[HL], sr[HL];
    memcpy(fr, path_at(old_root, proof, lead, 0), HL);
    memcpy(sr, path_at(old_root, proof, lead, 0), HL);
    for (size_t i = 1; i < total; i++) {
        const uint8_t *c = path_at(old_root, proof, lead, i);
        if (sn == 0)
            return -1;
        if ((fn & 1) || fn == sn) {
            if (ledger_hash_node(h, c, fr, fr) != 0 || ledger_hash_node(h, c, sr, sr) != 0)
                return -1;
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else if (ledger_hash_node(h, sr, c, sr) != 0) {
            return -1;
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(fr, old_root, HL) == 0 && memcmp(sr, new_root, HL) == 0 ? 0 : -1;
}
