#include "ledger-writer/ledger_hash.h"

#include <stdlib.h>
#include <strings.h>

#include <openssl/evp.h>

struct ledger_hasher {
    ledger_hash_alg alg;
    EVP_MD *md;
    EVP_MD_CTX *ctx;
};

const char *ledger_hash_name(ledger_hash_alg alg)
{
    return alg == LEDGER_HASH_SHA256 ? "sha256" : "sm3";
}

const char *ledger_hash_avro_name(ledger_hash_alg alg)
{
    return alg == LEDGER_HASH_SHA256 ? "SHA256" : "SM3";
}

int ledger_hash_parse(const char *name, ledger_hash_alg *alg)
{
    if (name == NULL)
        return -1;
    if (strcasecmp(name, "sm3") == 0) {
        *alg = LEDGER_HASH_SM3;
        return 0;
    }
    if (strcasecmp(name, "sha256") == 0 || strcasecmp(name, "sha-256") == 0) {
        *alg = LEDGER_HASH_SHA256;
        return 0;
    }
    return -1;
}

ledger_hasher *ledger_hasher_new(ledger_hash_alg alg)
{
    ledger_hasher *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->alg = alg;
    h->md = EVP_MD_fetch(NULL, alg == LEDGER_HASH_SHA256 ? "SHA2-256" : "SM3", NULL);
    h->ctx = EVP_MD_CTX_new();
    if (h->md == NULL || h->ctx == NULL || EVP_MD_get_size(h->md) != LEDGER_HASH_LEN) {
        ledger_hasher_free(h);
        return NULL;
    }
    return h;
}

void ledger_hasher_free(ledger_hasher *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    free(h);
}

ledger_hash_alg ledger_hasher_alg(const ledger_hasher *h)
{
    return h->alg;
}

/* H(prefix || a || b), the prefix left out when negative. */
static int hash_parts(ledger_hasher *h, int prefix, const void *a, size_t alen, const void *b,
                      size_t blen, uint8_t out[LEDGER_HASH_LEN])
{
    unsigned char p = (unsigned char)prefix;
    unsigned int n = 0;
    if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1)
        return -1;
    if (prefix >= 0 && EVP_DigestUpdate(h->ctx, &p, 1) != 1)
        return -1;
    if (alen > 0 && EVP_DigestUpdate(h->ctx, a, alen) != 1)
        return -1;
    if (blen > 0 && EVP_DigestUpdate(h->ctx, b, blen) != 1)
        return -1;
    if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != LEDGER_HASH_LEN)
        return -1;
    return 0;
}

int ledger_hash_data(ledger_hasher *h, const void *data, size_t len, uint8_t out[LEDGER_HASH_LEN])
{
    return hash_parts(h, -1, data, len, NULL, 0, out);
}

int ledger_hash_leaf(ledger_hasher *h, const void *entry, size_t len,
                     uint8_t out[LEDGER_HASH_LEN])
{
    return hash_parts(h, 0x00, entry, len, NULL, 0, out);
}

int ledger_hash_node(ledger_hasher *h, const uint8_t left[LEDGER_HASH_LEN],
                     const uint8_t right[LEDGER_HASH_LEN], uint8_t out[LEDGER_HASH_LEN])
{
    return hash_parts(h, 0x01, left, LEDGER_HASH_LEN, right, LEDGER_HASH_LEN, out);
}

int ledger_hash_empty(ledger_hasher *h, uint8_t out[LEDGER_HASH_LEN])
{
    return hash_parts(h, -1, NULL, 0, NULL, 0, out);
}
