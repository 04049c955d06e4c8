/* Signing keys of the ledger: Ed25519 (RFC 8032, the default) or SM2
 * (GB/T 32918 / GM/T 0003, with SM3 and always the signer ID
 * "1234567812345678", which GmSSL, BouncyCastle and other SM2
 * implementations expect; OpenSSL 3.0 would otherwise sign with an empty
 * ID). Keys come from PEM files: the private key (PKCS#8 "PRIVATE KEY",
 * as `openssl genpkey` writes it) for the ledger-writer, the public key
 * ("PUBLIC KEY", SubjectPublicKeyInfo) for verifiers.
 *
 * Key IDs follow C2SP signed-note: the first 4 bytes of
 *   Ed25519: SHA-256(key name || 0x0A || 0x01 || 32-byte public key)
 *   SM2:     SHA-256(key name || 0x0A || 0xFF || "carewatch-sm2"
 *                    || DER SubjectPublicKeyInfo of the public key)
 * (0xFF is signed-note's byte for signature types it assigns no byte to,
 * followed by a name). The ledger's key name is the log's origin, so an
 * Ed25519 checkpoint verifies with any signed-note implementation. */
#ifndef LEDGER_SIGN_H
#define LEDGER_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define LEDGER_KEY_ID_LEN 4
/* Longest signature: Ed25519 is 64 bytes, SM2 a DER SEQUENCE of two
 * 256-bit integers (at most 72). */
#define LEDGER_SIG_MAX 72
#define LEDGER_SM2_ID "1234567812345678"

typedef enum { LEDGER_SIG_ED25519 = 0, LEDGER_SIG_SM2 = 1 } ledger_sig_alg;

/* "ed25519" or "sm2". */
const char *ledger_sig_alg_name(ledger_sig_alg alg);
/* Accepts "ed25519" and "sm2", any case. 0, or -1. */
int ledger_sig_alg_parse(const char *name, ledger_sig_alg *alg);

/* A public key, or a private key with its public part. Free with
 * ledger_key_free; the functions below never keep the pointer. */
typedef struct ledger_key ledger_key;

/* Reads a PEM file. want_private: the file must hold a private key;
 * otherwise a public key (a private key file is accepted too, and only
 * its public part is used). Any other key type than Ed25519 and SM2 is
 * refused. Returns 0 and *out, or -1 with a message in err. */
int ledger_key_load(const char *path, int want_private, ledger_key **out, char *err,
                    size_t errlen);
/* The same from PEM text in memory. */
int ledger_key_from_pem(const char *pem, size_t len, int want_private, ledger_key **out,
                        char *err, size_t errlen);
/* A fresh random key pair. */
int ledger_key_generate(ledger_sig_alg alg, ledger_key **out, char *err, size_t errlen);
/* PEM of the private key (PKCS#8, unencrypted; fails on a public key) or
 * of the public key. *pem is malloc'd, NUL-terminated, and the caller
 * frees it. */
int ledger_key_to_pem(const ledger_key *k, int private_part, char **pem, size_t *len,
                      char *err, size_t errlen);
void ledger_key_free(ledger_key *k);

ledger_sig_alg ledger_key_alg(const ledger_key *k);
int ledger_key_is_private(const ledger_key *k);

/* The key ID of k under key_name (see above). 0, or -1. */
int ledger_key_id(const ledger_key *k, const char *key_name, uint8_t id[LEDGER_KEY_ID_LEN]);

/* Signs msg with the private key k into sig (room for LEDGER_SIG_MAX
 * bytes). Returns 0 and *sig_len, or -1 with a message in err. */
int ledger_sign(const ledger_key *k, const void *msg, size_t len, uint8_t *sig, size_t *sig_len,
                char *err, size_t errlen);
/* 0 when sig is k's valid signature of msg, -1 otherwise. */
int ledger_verify(const ledger_key *k, const void *msg, size_t len, const uint8_t *sig,
                  size_t sig_len);

#endif
