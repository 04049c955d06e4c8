/* Hex and base64 of the ledger: RFC 4648 section 10 test vectors, and the
 * strictness that gives every value a single accepted spelling. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ledger-writer/ledger_encoding.h"

static void test_base64_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",     "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        size_t n = strlen(plain[i]);
        assert_int_equal(ledger_base64_len(n), strlen(coded[i]));
        ledger_base64_encode((const uint8_t *)plain[i], n, out);
        assert_string_equal(out, coded[i]);
        uint8_t back[16];
        size_t len = 99;
        assert_int_equal(ledger_base64_decode(coded[i], strlen(coded[i]), back, sizeof(back), &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(back, plain[i], n);
    }
}

static void test_base64_round_trip_all_bytes(void **state)
{
    (void)state;
    uint8_t data[256], back[256];
    char text[400];
    for (int i = 0; i < 256; i++)
        data[i] = (uint8_t)(255 - i);
    for (size_t n = 0; n <= sizeof(data); n += 17) {
        ledger_base64_encode(data, n, text);
        size_t len = 0;
        assert_int_equal(ledger_base64_decode(text, strlen(text), back, sizeof(back), &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(back, data, n);
    }
}

static void test_base64_rejects_non_canonical(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t len;
    static const char *const bad[] = {
        "Zg=",      /* length not a multiple of 4 */
        "Zh==",     /* unused bits set */
        "Zm9=",     /* unused bits set */
        "Zg==Zg==", /* padding inside */
        "Z===",     /* too much padding */
        "====",     /* padding only */
        "Zm 9v",    /* space */
        "Zm9v\n",   /* newline */
        "Zm-v",     /* URL alphabet */
        "Zm_v",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ledger_base64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &len), -1);
    /* Too little room. */
    assert_int_equal(ledger_base64_decode("Zm9vYmFy", 8, out, 5, &len), -1);
    assert_int_equal(ledger_base64_decode("Zm9vYmFy", 8, out, 6, &len), 0);
}

static void test_hex(void **state)
{
    (void)state;
    const uint8_t data[] = {0x00, 0x01, 0xab, 0xff};
    char text[9];
    ledger_hex_encode(data, sizeof(data), text);
    assert_string_equal(text, "0001abff");
    uint8_t back[4];
    assert_int_equal(ledger_hex_decode("0001ABff", back, 4), 0);
    assert_memory_equal(back, data, 4);
    assert_int_equal(ledger_hex_decode("0001abf", back, 4), -1);   /* odd, short */
    assert_int_equal(ledger_hex_decode("0001abff00", back, 4), -1); /* long */
    assert_int_equal(ledger_hex_decode("0001abfg", back, 4), -1);   /* not hex */
    assert_int_equal(ledger_hex_decode(" 001abff", back, 4), -1);
    assert_int_equal(ledger_hex_decode(NULL, back, 4), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_round_trip_all_bytes),
        cmocka_unit_test(test_base64_rejects_non_canonical),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
