/* The hashes of the ledger's Merkle log (RFC 6962 / RFC 9162 section 2.1):
 *
 *   leaf hash  = H(0x00 || entry)
 *   node hash  = H(0x01 || left || right)
 *   empty tree = H("")
 *
 * with H = SM3 (GB/T 32905, the default) or SHA-256, both 32 bytes, through
 * OpenSSL 3's EVP interface.
 *
 * A ledger_hasher holds the fetched digest and one reusable digest context,
 * so hashing a whole log allocates nothing per hash. It is not thread-safe:
 * one hasher per thread. */
#ifndef LEDGER_HASH_H
#define LEDGER_HASH_H

#include <stddef.h>
#include <stdint.h>

#define LEDGER_HASH_LEN 32

typedef enum { LEDGER_HASH_SM3 = 0, LEDGER_HASH_SHA256 = 1 } ledger_hash_alg;

/* "sm3" or "sha256": the name in origins, proofs and options. */
const char *ledger_hash_name(ledger_hash_alg alg);
/* "SM3" or "SHA256": the value of LedgerCheckpoint.hash_alg. */
const char *ledger_hash_avro_name(ledger_hash_alg alg);
/* Accepts "sm3", "sha256" and "sha-256", any case. Returns 0, or -1. */
int ledger_hash_parse(const char *name, ledger_hash_alg *alg);

typedef struct ledger_hasher ledger_hasher;

/* NULL when OpenSSL cannot provide the digest. Free with ledger_hasher_free. */
ledger_hasher *ledger_hasher_new(ledger_hash_alg alg);
void ledger_hasher_free(ledger_hasher *h);
ledger_hash_alg ledger_hasher_alg(const ledger_hasher *h);

/* Each returns 0, or -1 when OpenSSL fails (out is then unspecified). */
int ledger_hash_data(ledger_hasher *h, const void *data, size_t len, uint8_t out[LEDGER_HASH_LEN]);
int ledger_hash_leaf(ledger_hasher *h, const void *entry, size_t len,
                     uint8_t out[LEDGER_HASH_LEN]);
int ledger_hash_node(ledger_hasher *h, const uint8_t left[LEDGER_HASH_LEN],
                     const uint8_t right[LEDGER_HASH_LEN], uint8_t out[LEDGER_HASH_LEN]);
int ledger_hash_empty(ledger_hasher *h, uint8_t out[LEDGER_HASH_LEN]);

#endif
