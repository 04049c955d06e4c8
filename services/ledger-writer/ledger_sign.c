#include "ledger-writer/ledger_sign.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

struct ledger_key {
    EVP_PKEY *pkey;
    ledger_sig_alg alg;
    int is_private;
};

/* The name after 0xFF in the key ID of an SM2 key. */
static const char sm2_key_id_name[] = "carewatch-sm2";

const char *ledger_sig_alg_name(ledger_sig_alg alg)
{
    return alg == LEDGER_SIG_SM2 ? "sm2" : "ed25519";
}

int ledger_sig_alg_parse(const char *name, ledger_sig_alg *alg)
{
    if (name != NULL && strcasecmp(name, "ed25519") == 0) {
        *alg = LEDGER_SIG_ED25519;
        return 0;
    }
    if (name != NULL && strcasecmp(name, "sm2") == 0) {
        *alg = LEDGER_SIG_SM2;
        return 0;
    }
    return -1;
}

/* "what: <OpenSSL's first queued error>", and empties OpenSSL's queue. */
static void ssl_error(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char reason[256] = "";
    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s%s%s", what, reason[0] ? ": " : "", reason);
}

/* Encrypted key files are refused rather than prompting on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static int wrap_key(EVP_PKEY *pkey, int is_private, ledger_key **out, char *err, size_t errlen)
{
    ledger_sig_alg alg;
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        alg = LEDGER_SIG_ED25519;
    } else if (EVP_PKEY_is_a(pkey, "SM2")) {
        alg = LEDGER_SIG_SM2;
    } else {
        snprintf(err, errlen, "the key is %s; the ledger signs with Ed25519 or SM2",
                 EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "of another type");
        EVP_PKEY_free(pkey);
        return -1;
    }
    ledger_key *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        snprintf(err, errlen, "out of memory");
        EVP_PKEY_free(pkey);
        return -1;
    }
    k->pkey = pkey;
    k->alg = alg;
    k->is_private = is_private;
    *out = k;
    return 0;
}

int ledger_key_from_pem(const char *pem, size_t len, int want_private, ledger_key **out,
                        char *err, size_t errlen)
{
    *out = NULL;
    if (len > INT32_MAX) {
        snprintf(err, errlen, "key text too long");
        return -1;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) {
        ssl_error(err, errlen, "cannot read the key");
        return -1;
    }
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    int is_private = pkey != NULL;
    if (pkey == NULL && !want_private) {
        ERR_clear_error();
        if (BIO_reset(bio) == 1)
            pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    }
    BIO_free(bio);
    if (pkey == NULL) {
        ssl_error(err, errlen,
                  want_private ? "no PEM private key (BEGIN PRIVATE KEY) found"
                               : "no PEM public key (BEGIN PUBLIC KEY) found");
        return -1;
    }
    return wrap_key(pkey, is_private, out, err, errlen);
}

int ledger_key_load(const char *path, int want_private, ledger_key **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char buf[16384];
    size_t n = fread(buf, 1, sizeof(buf), f);
    int too_long = n == sizeof(buf);
    int failed = ferror(f);
    fclose(f);
    if (failed || too_long) {
        snprintf(err, errlen, "%s: %s", path, failed ? "read error" : "too long for a key file");
        return -1;
    }
    char why[256];
    int rc = ledger_key_from_pem(buf, n, want_private, out, why, sizeof(why));
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}

int ledger_key_generate(ledger_sig_alg alg, ledger_key **out, char *err, size_t errlen)
{
    *out = NULL;
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, alg == LEDGER_SIG_SM2 ? "SM2" : "ED25519");
    if (pkey == NULL) {
        ssl_error(err, errlen, "key generation failed");
        return -1;
    }
    return wrap_key(pkey, 1, out, err, errlen);
}

int ledger_key_to_pem(const ledger_key *k, int private_part, char **pem, size_t *len,
                      char *err, size_t errlen)
{
    *pem = NULL;
    if (private_part && !k->is_private) {
        snprintf(err, errlen, "a public key has no private part");
        return -1;
    }
    BIO *bio = BIO_new(BIO_s_mem());
    int ok = bio != NULL && (private_part ? PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0,
                                                                     NULL, NULL)
                                          : PEM_write_bio_PUBKEY(bio, k->pkey));
    char *data = NULL;
    long n = ok ? BIO_get_mem_data(bio, &data) : 0;
    char *copy = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (copy == NULL) {
        ssl_error(err, errlen, "cannot write the key as PEM");
        BIO_free(bio);
        return -1;
    }
    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
    BIO_free(bio);
    *pem = copy;
    *len = (size_t)n;
    return 0;
}

void ledger_key_free(ledger_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

ledger_sig_alg ledger_key_alg(const ledger_key *k)
{
    return k->alg;
}

int ledger_key_is_private(const ledger_key *k)
{
    return k->is_private;
}

int ledger_key_id(const ledger_key *k, const char *key_name, uint8_t id[LEDGER_KEY_ID_LEN])
{
    uint8_t raw[32];
    unsigned char *der = NULL;
    const uint8_t *pub;
    size_t pub_len;
    if (k->alg == LEDGER_SIG_ED25519) {
        pub_len = sizeof(raw);
        if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &pub_len) != 1 || pub_len != sizeof(raw)) {
            ERR_clear_error();
            return -1;
        }
        pub = raw;
    } else {
        int n = i2d_PUBKEY(k->pkey, &der);
        if (n <= 0) {
            ERR_clear_error();
            return -1;
        }
        pub = der;
        pub_len = (size_t)n;
    }
    uint8_t digest[32];
    unsigned int dlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const uint8_t sep[2] = {0x0A, k->alg == LEDGER_SIG_ED25519 ? 0x01 : 0xFF};
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, key_name, strlen(key_name)) == 1 &&
             EVP_DigestUpdate(ctx, sep, sizeof(sep)) == 1 &&
             (k->alg == LEDGER_SIG_ED25519 ||
              EVP_DigestUpdate(ctx, sm2_key_id_name, strlen(sm2_key_id_name)) == 1) &&
             EVP_DigestUpdate(ctx, pub, pub_len) == 1 &&
             EVP_DigestFinal_ex(ctx, digest, &dlen) == 1 && dlen == sizeof(digest);
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    if (!ok) {
        ERR_clear_error();
        return -1;
    }
    memcpy(id, digest, LEDGER_KEY_ID_LEN);
    return 0;
}

/* A digest context set up to sign or verify with k: Ed25519 signs the
 * message itself (no digest), SM2 hashes Z(ID, key) || message with SM3.
 * *pctx is owned by the caller (freed after *mctx). */
static int setup(const ledger_key *k, int signing, EVP_MD_CTX **mctx, EVP_PKEY_CTX **pctx)
{
    *pctx = NULL;
    *mctx = EVP_MD_CTX_new();
    if (*mctx == NULL)
        return -1;
    if (k->alg == LEDGER_SIG_ED25519)
        return (signing ? EVP_DigestSignInit(*mctx, NULL, NULL, NULL, k->pkey)
                        : EVP_DigestVerifyInit(*mctx, NULL, NULL, NULL, k->pkey)) == 1
                   ? 0
                   : -1;
    *pctx = EVP_PKEY_CTX_new(k->pkey, NULL);
    if (*pctx == NULL ||
        EVP_PKEY_CTX_set1_id(*pctx, LEDGER_SM2_ID, strlen(LEDGER_SM2_ID)) != 1)
        return -1;
    EVP_MD_CTX_set_pkey_ctx(*mctx, *pctx);
    return (signing ? EVP_DigestSignInit(*mctx, NULL, EVP_sm3(), NULL, k->pkey)
                    : EVP_DigestVerifyInit(*mctx, NULL, EVP_sm3(), NULL, k->pkey)) == 1
               ? 0
               : -1;
}

int ledger_sign(const ledger_key *k, const void *msg, size_t len, uint8_t *sig, size_t *sig_len,
                char *err, size_t errlen)
{
    if (!k->is_private) {
        snprintf(err, errlen, "signing needs a private key");
        return -1;
    }
    EVP_MD_CTX *mctx;
    EVP_PKEY_CTX *pctx;
    uint8_t scratch[256]; /* more than any Ed25519 or SM2 signature */
    size_t n = sizeof(scratch);
    int ok = setup(k, 1, &mctx, &pctx) == 0 &&
             EVP_DigestSign(mctx, scratch, &n, msg, len) == 1 && n > 0 && n <= LEDGER_SIG_MAX;
    if (ok)
        memcpy(sig, scratch, n);
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_CTX_free(pctx);
    if (!ok) {
        ssl_error(err, errlen, "signing failed");
        return -1;
    }
    *sig_len = n;
    return 0;
}

int ledger_verify(const ledger_key *k, const void *msg, size_t len, const uint8_t *sig,
                  size_t sig_len)
{
    if (sig_len == 0 || sig_len > LEDGER_SIG_MAX)
        return -1;
    EVP_MD_CTX *mctx;
    EVP_PKEY_CTX *pctx;
    int ok = setup(k, 0, &mctx, &pctx) == 0 &&
             EVP_DigestVerify(mctx, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_CTX_free(pctx);
    ERR_clear_error();
    return ok ? 0 : -1;
}
