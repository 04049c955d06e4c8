/* Signing keys and checkpoint notes of the ledger: Ed25519 (RFC 8032 7.1
 * TEST 1), SM2 (the GM/T 0003.5 Annex A signature, with the signer ID
 * 1234567812345678), C2SP signed-note key IDs and signatures (the example
 * note of golang.org/x/mod/sumdb/note), checkpoint notes made, parsed,
 * verified, and refused when anything in them is altered. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ledger-writer/ledger_checkpoint.h"
#include "ledger-writer/ledger_encoding.h"
#include "ledger-writer/ledger_sign.h"

static void unhex(const char *hex, uint8_t *out, size_t len)
{
    assert_int_equal(ledger_hex_decode(hex, out, len), 0);
}

/* A ledger key from an OpenSSL key, through its PEM text as a file would
 * hold it. Takes pkey. */
static ledger_key *key_via_pem(EVP_PKEY *pkey, int private_part)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_non_null(bio);
    if (private_part)
        assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
    else
        assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    ledger_key *k = NULL;
    char err[256];
    assert_int_equal(ledger_key_from_pem(data, (size_t)n, private_part, &k, err, sizeof(err)), 0);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return k;
}

static ledger_key *ed25519_from_seed(const uint8_t seed[32])
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    assert_non_null(pkey);
    return key_via_pem(pkey, 1);
}

static ledger_key *ed25519_public_from_raw(const uint8_t pub[32])
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    assert_non_null(pkey);
    return key_via_pem(pkey, 0);
}

/* The public part of k as raw Ed25519 bytes, read back from its PEM. */
static void ed25519_raw_public(const ledger_key *k, uint8_t out[32])
{
    char *pem;
    size_t len;
    char err[256];
    assert_int_equal(ledger_key_to_pem(k, 0, &pem, &len, err, sizeof(err)), 0);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    assert_non_null(pkey);
    size_t n = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, out, &n), 1);
    assert_int_equal(n, 32);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    free(pem);
}

/* ---- Ed25519 ---------------------------------------------------------------- */

static void test_ed25519_rfc8032_test1(void **state)
{
    (void)state;
    uint8_t seed[32], pub[32], expect_pub[32], expect_sig[64];
    unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32);
    unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", expect_pub, 32);
    unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
          "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
          expect_sig, 64);
    ledger_key *k = ed25519_from_seed(seed);
    assert_int_equal(ledger_key_alg(k), LEDGER_SIG_ED25519);
    assert_true(ledger_key_is_private(k));
    ed25519_raw_public(k, pub);
    assert_memory_equal(pub, expect_pub, 32);

    uint8_t sig[LEDGER_SIG_MAX];
    size_t sig_len = 0;
    char err[256];
    assert_int_equal(ledger_sign(k, "", 0, sig, &sig_len, err, sizeof(err)), 0);
    assert_int_equal(sig_len, 64);
    assert_memory_equal(sig, expect_sig, 64);

    ledger_key *pk = ed25519_public_from_raw(expect_pub);
    assert_false(ledger_key_is_private(pk));
    assert_int_equal(ledger_verify(pk, "", 0, expect_sig, 64), 0);
    assert_int_equal(ledger_verify(pk, "x", 1, expect_sig, 64), -1);
    expect_sig[10] ^= 1;
    assert_int_equal(ledger_verify(pk, "", 0, expect_sig, 64), -1);
    assert_int_equal(ledger_verify(pk, "", 0, expect_sig, 63), -1);
    /* A public key cannot sign. */
    assert_int_equal(ledger_sign(pk, "", 0, sig, &sig_len, err, sizeof(err)), -1);
    ledger_key_free(pk);
    ledger_key_free(k);
}

/* The example note of golang.org/x/mod/sumdb/note: key "PeterNeumann",
 * verifier key PeterNeumann+c74f20a3+ARpc2Q..., signer key PRIVATE+KEY+
 * PeterNeumann+c74f20a3+AYEKFA... (type byte 0x01, then the 32-byte key).
 * Our key IDs and signatures are those of C2SP signed-note. */
static void test_signed_note_interop(void **state)
{
    (void)state;
    uint8_t blob[64];
    size_t n;
    const char *pub_b64 = "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const char *seed_b64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const char *sig_b64 =
        "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";
    const char *text = "If you think cryptography is the answer to your problem,\n"
                       "then you don't know what your problem is.\n";

    assert_int_equal(ledger_base64_decode(pub_b64, strlen(pub_b64), blob, sizeof(blob), &n), 0);
    assert_int_equal(n, 33);
    assert_int_equal(blob[0], 0x01);
    ledger_key *pk = ed25519_public_from_raw(blob + 1);
    assert_int_equal(ledger_base64_decode(seed_b64, strlen(seed_b64), blob, sizeof(blob), &n), 0);
    assert_int_equal(n, 33);
    ledger_key *sk = ed25519_from_seed(blob + 1);

    uint8_t id[LEDGER_KEY_ID_LEN], id2[LEDGER_KEY_ID_LEN], expect_id[LEDGER_KEY_ID_LEN];
    unhex("c74f20a3", expect_id, 4);
    assert_int_equal(ledger_key_id(pk, "PeterNeumann", id), 0);
    assert_memory_equal(id, expect_id, 4);
    assert_int_equal(ledger_key_id(sk, "PeterNeumann", id2), 0);
    assert_memory_equal(id2, expect_id, 4);
    /* The name is part of the id. */
    assert_int_equal(ledger_key_id(pk, "PeterNeumann2", id2), 0);
    assert_memory_not_equal(id2, expect_id, 4);

    uint8_t sig_blob[80];
    assert_int_equal(ledger_base64_decode(sig_b64, strlen(sig_b64), sig_blob, sizeof(sig_blob), &n), 0);
    assert_int_equal(n, 68);
    assert_memory_equal(sig_blob, expect_id, 4);
    assert_int_equal(ledger_verify(pk, text, strlen(text), sig_blob + 4, 64), 0);
    uint8_t sig[LEDGER_SIG_MAX];
    size_t sig_len;
    char err[256];
    assert_int_equal(ledger_sign(sk, text, strlen(text), sig, &sig_len, err, sizeof(err)), 0);
    assert_int_equal(sig_len, 64);
    assert_memory_equal(sig, sig_blob + 4, 64);
    ledger_key_free(pk);
    ledger_key_free(sk);
}

/* ---- SM2 ----------------------------------------------------------------------- */

/* The key of GM/T 0003.5 Annex A from its private scalar: an SEC1
 * ECPrivateKey on the SM2 curve (OID 1.2.156.10197.1.301) without the
 * public point, which OpenSSL derives. */
static EVP_PKEY *sm2_annex_key(void)
{
    uint8_t der[51] = {0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20};
    unhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8", der + 7, 32);
    const uint8_t curve[] = {0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d};
    memcpy(der + 39, curve, sizeof(curve));
    const unsigned char *p = der;
    EVP_PKEY *pkey = d2i_AutoPrivateKey(NULL, &p, sizeof(der));
    assert_non_null(pkey);
    return pkey;
}

/* DER SEQUENCE { r, s } of the annex's signature of "message digest". */
static size_t sm2_annex_signature(uint8_t *out, size_t cap, int alter_s)
{
    uint8_t r[32], s[32];
    unhex("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3", r, 32);
    unhex("B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA", s, 32);
    if (alter_s)
        s[31] ^= 1;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    assert_int_equal(ECDSA_SIG_set0(sig, BN_bin2bn(r, 32, NULL), BN_bin2bn(s, 32, NULL)), 1);
    unsigned char *der = NULL;
    int n = i2d_ECDSA_SIG(sig, &der);
    assert_true(n > 0 && (size_t)n <= cap);
    memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return (size_t)n;
}

static void test_sm2_annex_a_signature(void **state)
{
    (void)state;
    ledger_key *pk = key_via_pem(sm2_annex_key(), 0);
    assert_int_equal(ledger_key_alg(pk), LEDGER_SIG_SM2);
    uint8_t sig[LEDGER_SIG_MAX];
    size_t n = sm2_annex_signature(sig, sizeof(sig), 0);
    const char *msg = "message digest";
    assert_int_equal(ledger_verify(pk, msg, strlen(msg), sig, n), 0);
    assert_int_equal(ledger_verify(pk, "message digesT", strlen(msg), sig, n), -1);
    n = sm2_annex_signature(sig, sizeof(sig), 1);
    assert_int_equal(ledger_verify(pk, msg, strlen(msg), sig, n), -1);
    ledger_key_free(pk);
}

/* The signer ID is part of what SM2 signs: without "1234567812345678"
 * (OpenSSL's default is an empty ID) the annex's signature fails, so the
 * ledger's success above is due to the ID it sets. */
static void test_sm2_signer_id_matters(void **state)
{
    (void)state;
    EVP_PKEY *pkey = sm2_annex_key();
    uint8_t sig[LEDGER_SIG_MAX];
    size_t n = sm2_annex_signature(sig, sizeof(sig), 0);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(mctx, NULL, EVP_sm3(), NULL, pkey), 1);
    assert_int_not_equal(EVP_DigestVerify(mctx, sig, n, (const unsigned char *)"message digest", 14), 1);
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pkey);
}

static void round_trip(ledger_sig_alg alg)
{
    ledger_key *k, *other;
    char err[256];
    assert_int_equal(ledger_key_generate(alg, &k, err, sizeof(err)), 0);
    assert_int_equal(ledger_key_generate(alg, &other, err, sizeof(err)), 0);
    assert_int_equal(ledger_key_alg(k), alg);
    /* Through PEM both ways, as the writer and an auditor load them. */
    char *priv_pem, *pub_pem;
    size_t priv_len, pub_len;
    assert_int_equal(ledger_key_to_pem(k, 1, &priv_pem, &priv_len, err, sizeof(err)), 0);
    assert_int_equal(ledger_key_to_pem(k, 0, &pub_pem, &pub_len, err, sizeof(err)), 0);
    assert_non_null(strstr(priv_pem, "BEGIN PRIVATE KEY"));
    assert_non_null(strstr(pub_pem, "BEGIN PUBLIC KEY"));
    ledger_key *writer, *auditor, *wrong;
    assert_int_equal(ledger_key_from_pem(priv_pem, priv_len, 1, &writer, err, sizeof(err)), 0);
    assert_int_equal(ledger_key_from_pem(pub_pem, pub_len, 0, &auditor, err, sizeof(err)), 0);
    /* A public key file is no private key. */
    assert_int_equal(ledger_key_from_pem(pub_pem, pub_len, 1, &wrong, err, sizeof(err)), -1);
    assert_null(wrong);
    assert_non_null(strstr(err, "private key"));

    const char *msg = "carewatch.ledger/d1/sm3\n5\nAAAA\n";
    uint8_t sig[LEDGER_SIG_MAX];
    size_t n;
    assert_int_equal(ledger_sign(writer, msg, strlen(msg), sig, &n, err, sizeof(err)), 0);
    assert_int_equal(ledger_verify(auditor, msg, strlen(msg), sig, n), 0);
    assert_int_equal(ledger_verify(writer, msg, strlen(msg), sig, n), 0);
    assert_int_equal(ledger_verify(other, msg, strlen(msg), sig, n), -1);
    assert_int_equal(ledger_verify(auditor, msg, strlen(msg) - 1, sig, n), -1);
    sig[n - 1] ^= 0x40;
    assert_int_equal(ledger_verify(auditor, msg, strlen(msg), sig, n), -1);

    uint8_t id1[4], id2[4];
    assert_int_equal(ledger_key_id(writer, "a", id1), 0);
    assert_int_equal(ledger_key_id(auditor, "a", id2), 0);
    assert_memory_equal(id1, id2, 4);
    assert_int_equal(ledger_key_id(other, "a", id2), 0);
    assert_memory_not_equal(id1, id2, 4);

    free(priv_pem);
    free(pub_pem);
    ledger_key_free(writer);
    ledger_key_free(auditor);
    ledger_key_free(k);
    ledger_key_free(other);
}

static void test_round_trip_ed25519(void **state)
{
    (void)state;
    round_trip(LEDGER_SIG_ED25519);
}

static void test_round_trip_sm2(void **state)
{
    (void)state;
    round_trip(LEDGER_SIG_SM2);
}

/* The SM2 key ID: SHA-256(name || 0x0A || 0xFF || "carewatch-sm2" ||
 * DER SubjectPublicKeyInfo)[:4], computed here apart. */
static void test_sm2_key_id(void **state)
{
    (void)state;
    EVP_PKEY *pkey = sm2_annex_key();
    unsigned char *spki = NULL;
    int spki_len = i2d_PUBKEY(pkey, &spki);
    assert_true(spki_len > 0);
    uint8_t buf[256];
    size_t n = 0;
    memcpy(buf, "origin.example/x", 16);
    n = 16;
    buf[n++] = 0x0A;
    buf[n++] = 0xFF;
    memcpy(buf + n, "carewatch-sm2", 13);
    n += 13;
    memcpy(buf + n, spki, (size_t)spki_len);
    n += (size_t)spki_len;
    uint8_t digest[32];
    unsigned int dlen;
    assert_int_equal(EVP_Digest(buf, n, digest, &dlen, EVP_sha256(), NULL), 1);
    OPENSSL_free(spki);

    ledger_key *k = key_via_pem(pkey, 1);
    uint8_t id[4];
    assert_int_equal(ledger_key_id(k, "origin.example/x", id), 0);
    assert_memory_equal(id, digest, 4);
    ledger_key_free(k);
}

/* ---- loading key files ------------------------------------------------------ */

static void test_key_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-ledger-keys-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], err[512];
    ledger_key *k = NULL;

    snprintf(path, sizeof(path), "%s/missing.pem", dir);
    assert_int_equal(ledger_key_load(path, 0, &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "missing.pem"));

    snprintf(path, sizeof(path), "%s/text.pem", dir);
    FILE *f = fopen(path, "w");
    fputs("not a key\n", f);
    fclose(f);
    assert_int_equal(ledger_key_load(path, 0, &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "text.pem"));
    unlink(path);

    /* A P-256 key is a key, but not one the ledger signs with. */
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ec);
    snprintf(path, sizeof(path), "%s/p256.pem", dir);
    f = fopen(path, "w");
    assert_int_equal(PEM_write_PUBKEY(f, ec), 1);
    fclose(f);
    assert_int_equal(ledger_key_load(path, 0, &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Ed25519 or SM2"));
    unlink(path);

    /* An encrypted private key is refused at once, never prompted for. */
    snprintf(path, sizeof(path), "%s/locked.pem", dir);
    f = fopen(path, "w");
    assert_int_equal(PEM_write_PrivateKey(f, ec, EVP_aes_128_cbc(), (unsigned char *)"pw", 2, NULL,
                                          NULL),
                     1);
    fclose(f);
    assert_int_equal(ledger_key_load(path, 1, &k, err, sizeof(err)), -1);
    unlink(path);
    EVP_PKEY_free(ec);

    ledger_key *gen;
    assert_int_equal(ledger_key_generate(LEDGER_SIG_ED25519, &gen, err, sizeof(err)), 0);
    char *pem;
    size_t len;
    assert_int_equal(ledger_key_to_pem(gen, 0, &pem, &len, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/pub.pem", dir);
    f = fopen(path, "w");
    fwrite(pem, 1, len, f);
    fclose(f);
    free(pem);
    assert_int_equal(ledger_key_load(path, 0, &k, err, sizeof(err)), 0);
    assert_false(ledger_key_is_private(k));
    ledger_key_free(k);
    assert_int_equal(ledger_key_load(path, 1, &k, err, sizeof(err)), -1);
    unlink(path);
    ledger_key_free(gen);
    rmdir(dir);
}

static void test_alg_names(void **state)
{
    (void)state;
    ledger_sig_alg alg;
    assert_int_equal(ledger_sig_alg_parse("Ed25519", &alg), 0);
    assert_int_equal(alg, LEDGER_SIG_ED25519);
    assert_int_equal(ledger_sig_alg_parse("sm2", &alg), 0);
    assert_int_equal(alg, LEDGER_SIG_SM2);
    assert_int_equal(ledger_sig_alg_parse("rsa", &alg), -1);
    assert_string_equal(ledger_sig_alg_name(LEDGER_SIG_SM2), "sm2");
    assert_string_equal(ledger_sig_alg_name(LEDGER_SIG_ED25519), "ed25519");
}

/* ---- checkpoint notes --------------------------------------------------------- */

static void test_origins(void **state)
{
    (void)state;
    char buf[LEDGER_ORIGIN_MAX + 1], id[LEDGER_LOG_ID_MAX + 1];
    ledger_hash_alg alg;
    assert_int_equal(ledger_origin_format(buf, sizeof(buf), "district-7:2024", LEDGER_HASH_SM3), 0);
    assert_string_equal(buf, "carewatch.ledger/district-7:2024/sm3");
    assert_int_equal(ledger_origin_parse(buf, id, &alg), 0);
    assert_string_equal(id, "district-7:2024");
    assert_int_equal(alg, LEDGER_HASH_SM3);
    assert_int_equal(ledger_origin_parse("carewatch.ledger/x/sha256", id, &alg), 0);
    assert_int_equal(alg, LEDGER_HASH_SHA256);

    char long_id[LEDGER_LOG_ID_MAX + 2];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[LEDGER_LOG_ID_MAX + 1] = '\0';
    assert_int_equal(ledger_origin_format(buf, sizeof(buf), long_id, LEDGER_HASH_SM3), -1);
    long_id[LEDGER_LOG_ID_MAX] = '\0';
    assert_int_equal(ledger_origin_format(buf, sizeof(buf), long_id, LEDGER_HASH_SM3), 0);
    static const char *const bad_ids[] = {"", "a b", "a/b", "a+b", "\xe4\xb8\xad"};
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++)
        assert_int_equal(ledger_origin_format(buf, sizeof(buf), bad_ids[i], LEDGER_HASH_SM3), -1);
    static const char *const bad_origins[] = {
        "carewatch.ledger/x/SM3", "carewatch.ledger/x/md5", "carewatch.ledger//sm3",
        "carewatch.ledger/x", "other/x/sm3", "carewatch.ledger/a/b/sm3", "carewatch.ledger/x/sha-256",
    };
    for (size_t i = 0; i < sizeof(bad_origins) / sizeof(bad_origins[0]); i++)
        assert_int_equal(ledger_origin_parse(bad_origins[i], id, &alg), -1);
}

static ledger_key *generated(ledger_sig_alg alg)
{
    ledger_key *k;
    char err[256];
    assert_int_equal(ledger_key_generate(alg, &k, err, sizeof(err)), 0);
    return k;
}

static void sign_checkpoint(const ledger_key *k, ledger_hash_alg hash, uint64_t size,
                            ledger_checkpoint *cp)
{
    uint8_t root[LEDGER_HASH_LEN];
    for (int i = 0; i < LEDGER_HASH_LEN; i++)
        root[i] = (uint8_t)(i * 7 + 3);
    char err[256];
    assert_int_equal(
        ledger_checkpoint_sign(k, "district-1", hash, size, root, 1714521600123, cp, err, sizeof(err)),
        0);
}

static void check_checkpoint_round_trip(ledger_sig_alg sig_alg, ledger_hash_alg hash)
{
    ledger_key *k = generated(sig_alg), *other = generated(sig_alg);
    ledger_checkpoint cp, back;
    sign_checkpoint(k, hash, 127000, &cp);
    char err[256];
    char root_b64[64];
    ledger_base64_encode(cp.root_hash, LEDGER_HASH_LEN, root_b64);
    char expect[LEDGER_BODY_MAX];
    snprintf(expect, sizeof(expect), "carewatch.ledger/district-1/%s\n127000\n%s\ntimestamp 1714521600123\n",
             ledger_hash_name(hash), root_b64);
    assert_string_equal(cp.note, expect);
    assert_int_equal(cp.note_len, strlen(expect));
    assert_string_equal(cp.hash_alg, ledger_hash_avro_name(hash));
    assert_int_equal(strlen(cp.key_id_hex), 8);
    /* The signed note: text, blank line, "— <origin> <base64(id || sig)>". */
    assert_memory_equal(cp.signed_note, cp.note, cp.note_len);
    char line_start[128];
    snprintf(line_start, sizeof(line_start), "\n\xE2\x80\x94 %s ", cp.origin);
    assert_memory_equal(cp.signed_note + cp.note_len, line_start, strlen(line_start));
    assert_int_equal(cp.signed_note[cp.signed_note_len - 1], '\n');

    assert_int_equal(ledger_checkpoint_parse(cp.signed_note, cp.signed_note_len, &back, err, sizeof(err)), 0);
    assert_string_equal(back.origin, cp.origin);
    assert_string_equal(back.log_id, "district-1");
    assert_int_equal(back.hash, hash);
    assert_int_equal(back.tree_size, 127000);
    assert_memory_equal(back.root_hash, cp.root_hash, LEDGER_HASH_LEN);
    assert_int_equal(back.timestamp_ms, 1714521600123);
    assert_string_equal(back.key_id_hex, cp.key_id_hex);
    assert_int_equal(back.signature_len, cp.signature_len);
    assert_memory_equal(back.signature, cp.signature, cp.signature_len);
    assert_string_equal(back.note, cp.note);
    assert_string_equal(back.signed_note, cp.signed_note);

    assert_int_equal(ledger_checkpoint_verify(&back, k, err, sizeof(err)), 0);
    assert_int_equal(ledger_checkpoint_verify(&back, other, err, sizeof(err)), -1);
    assert_non_null(strstr(err, back.key_id_hex));

    /* Every altered byte of the note is refused, by the parser or by the
     * signature. */
    for (size_t i = 0; i < cp.signed_note_len; i++) {
        char text[LEDGER_NOTE_MAX];
        memcpy(text, cp.signed_note, cp.signed_note_len);
        text[i] ^= (i % 2) ? 0x01 : 0x02;
        if (ledger_checkpoint_parse(text, cp.signed_note_len, &back, err, sizeof(err)) == 0)
            assert_int_equal(ledger_checkpoint_verify(&back, k, err, sizeof(err)), -1);
    }
    /* A cosignature by another key is carried along and ignored. */
    char cosigned[LEDGER_NOTE_MAX];
    const char *cosignature = "\xE2\x80\x94 witness.example/finance AAAAAAAAAAAA\n";
    assert_true(cp.signed_note_len + strlen(cosignature) < sizeof(cosigned));
    memcpy(cosigned, cp.signed_note, cp.signed_note_len);
    memcpy(cosigned + cp.signed_note_len, cosignature, strlen(cosignature) + 1);
    assert_int_equal(ledger_checkpoint_parse(cosigned, strlen(cosigned), &back, err, sizeof(err)), 0);
    assert_int_equal(ledger_checkpoint_verify(&back, k, err, sizeof(err)), 0);
    assert_string_equal(back.signed_note, cosigned);
    ledger_key_free(k);
    ledger_key_free(other);
}

static void test_checkpoint_ed25519_sm3(void **state)
{
    (void)state;
    check_checkpoint_round_trip(LEDGER_SIG_ED25519, LEDGER_HASH_SM3);
}

static void test_checkpoint_sm2_sha256(void **state)
{
    (void)state;
    check_checkpoint_round_trip(LEDGER_SIG_SM2, LEDGER_HASH_SHA256);
}

/* Well-formed signature line for a given note text. */
static void expect_parse_fails(const char *body, const char *why_part)
{
    char text[LEDGER_NOTE_MAX];
    snprintf(text, sizeof(text), "%s\n\xE2\x80\x94 carewatch.ledger/d/sm3 AAAAAAAAAAAA\n", body);
    ledger_checkpoint cp;
    char err[256] = "";
    assert_int_equal(ledger_checkpoint_parse(text, strlen(text), &cp, err, sizeof(err)), -1);
    if (why_part != NULL && strstr(err, why_part) == NULL)
        fail_msg("parse of \"%s\" failed with \"%s\", expected \"%s\"", body, err, why_part);
}

static void test_checkpoint_parse_refuses(void **state)
{
    (void)state;
    const char *root = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    char body[512];
    /* The valid one, for contrast. */
    snprintf(body, sizeof(body), "carewatch.ledger/d/sm3\n12\n%s\ntimestamp 5\n", root);
    char text[LEDGER_NOTE_MAX];
    snprintf(text, sizeof(text), "%s\n\xE2\x80\x94 carewatch.ledger/d/sm3 AAAAAAAAAAAA\n", body);
    ledger_checkpoint cp;
    char err[256];
    assert_int_equal(ledger_checkpoint_parse(text, strlen(text), &cp, err, sizeof(err)), 0);
    assert_int_equal(cp.tree_size, 12);
    assert_int_equal(cp.signature_len, 5);

    snprintf(body, sizeof(body), "carewatch.ledger/d/sm3\n012\n%s\ntimestamp 5\n", root);
    expect_parse_fails(body, "tree size");
    snprintf(body, sizeof(body), "carewatch.ledger/d/sm3\n-1\n%s\ntimestamp 5\n", root);
    expect_parse_fails(body, "tree size");
    snprintf(body, sizeof(body), "carewatch.ledger/d/sm3\n18446744073709551616\n%s\ntimestamp 5\n", root);
    expect_parse_fails(body, "tree size");
    snprintf(body, sizeof(body), "carewatch.ledger/d/sm3\n12\n%s\ntimestamp 5\n",
             "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==");
    expect_parse_fails(body, "root");
    snprintf(body, sizeof(body), "carewatch.ledger/d/sm3\n12\n%s\ntimestamp 5\n",
             "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==");
    expect_parse_fails(body, "root");
    snprintf(body, sizeof(body), "carewatch.ledger/d/sm3\n12\n%s\n", root);
    expect_parse_fails(body, "timestamp");
    snprintf(body, sizeof(body), "carewatch.ledger/d/sm3\n12\n%s\ntimestamp 05\n", root);
    expect_parse_fails(body, "timestamp");
    snprintf(body, sizeof(body), "carewatch.ledger/d/sm3\n12\n%s\ntimestamp 5\nextra\n", root);
    expect_parse_fails(body, "after the timestamp");
    snprintf(body, sizeof(body), "carewatch.ledger/d/md5\n12\n%s\ntimestamp 5\n", root);
    expect_parse_fails(body, "origin");
    snprintf(body, sizeof(body), "carewatch.ledger/d/sm3\r\n12\n%s\ntimestamp 5\n", root);
    expect_parse_fails(body, "ASCII");
    snprintf(body, sizeof(body), "carewatch.ledger/d/sm3\n\t12\n%s\ntimestamp 5\n", root);
    expect_parse_fails(body, "ASCII");
    /* The signature is by another key name only. */
    snprintf(body, sizeof(body), "carewatch.ledger/e/sm3\n12\n%s\ntimestamp 5\n", root);
    expect_parse_fails(body, "no signature by carewatch.ledger/e/sm3");

    /* Broken signature blocks. */
    static const char *const blocks[] = {
        "",                                              /* none */
        "\xE2\x80\x94 carewatch.ledger/d/sm3 AAAAAAAAAAAA", /* no newline */
        "- carewatch.ledger/d/sm3 AAAAAAAAAAAA\n",         /* hyphen, not em dash */
        "\xE2\x80\x94 carewatch.ledger/d/sm3 AAAA\n",      /* key id only */
        "\xE2\x80\x94 carewatch.ledger/d/sm3 AAAAAAAAAAA\n", /* not base64 */
        "\xE2\x80\x94 carewatch.ledger/d/sm3\n",           /* no signature */
        "\xE2\x80\x94  AAAAAAAAAAAA\n",                    /* no name */
        "\xE2\x80\x94 carewatch.ledger/d/sm3 AAAAAAAAAAAA\n\n", /* blank line inside */
    };
    snprintf(body, sizeof(body), "carewatch.ledger/d/sm3\n12\n%s\ntimestamp 5\n", root);
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
        snprintf(text, sizeof(text), "%s\n%s", body, blocks[i]);
        assert_int_equal(ledger_checkpoint_parse(text, strlen(text), &cp, err, sizeof(err)), -1);
    }
    /* No blank line at all. */
    assert_int_equal(ledger_checkpoint_parse(body, strlen(body), &cp, err, sizeof(err)), -1);
    /* A signature longer than Ed25519's or SM2's by the log's name. */
    char big[200];
    memset(big, 'A', 120);
    big[120] = '\0';
    snprintf(text, sizeof(text), "%s\n\xE2\x80\x94 carewatch.ledger/d/sm3 %s\n", body, big);
    assert_int_equal(ledger_checkpoint_parse(text, strlen(text), &cp, err, sizeof(err)), -1);
}

static void test_checkpoint_sign_refuses(void **state)
{
    (void)state;
    ledger_key *k = generated(LEDGER_SIG_ED25519);
    uint8_t root[LEDGER_HASH_LEN] = {0};
    ledger_checkpoint cp;
    char err[256];
    assert_int_equal(ledger_checkpoint_sign(k, "bad id", LEDGER_HASH_SM3, 1, root, 0, &cp, err, sizeof(err)), -1);
    assert_int_equal(ledger_checkpoint_sign(k, "ok", LEDGER_HASH_SM3, 1, root, -1, &cp, err, sizeof(err)), -1);
    assert_int_equal(ledger_checkpoint_sign(k, "ok", LEDGER_HASH_SM3, 0, root, 0, &cp, err, sizeof(err)), 0);
    assert_int_equal(cp.tree_size, 0);
    ledger_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_rfc8032_test1),
        cmocka_unit_test(test_signed_note_interop),
        cmocka_unit_test(test_sm2_annex_a_signature),
        cmocka_unit_test(test_sm2_signer_id_matters),
        cmocka_unit_test(test_round_trip_ed25519),
        cmocka_unit_test(test_round_trip_sm2),
        cmocka_unit_test(test_sm2_key_id),
        cmocka_unit_test(test_key_files),
        cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_origins),
        cmocka_unit_test(test_checkpoint_ed25519_sm3),
        cmocka_unit_test(test_checkpoint_sm2_sha256),
        cmocka_unit_test(test_checkpoint_parse_refuses),
        cmocka_unit_test(test_checkpoint_sign_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
