/* Hex and base64 as the ledger writes them: lowercase hex for hashes in
 * proofs, standard padded base64 (RFC 4648 section 4) for roots in
 * checkpoint notes, signatures and entries in proofs. Decoding is strict,
 * so every value has exactly one accepted spelling. */
#ifndef LEDGER_ENCODING_H
#define LEDGER_ENCODING_H

#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of len bytes into out (2 * len + 1 bytes, NUL-terminated). */
void ledger_hex_encode(const uint8_t *data, size_t len, char *out);
/* Decodes text, which must be exactly 2 * len hex digits (either case),
 * into out. Returns 0, or -1. */
int ledger_hex_decode(const char *text, uint8_t *out, size_t len);

/* Characters (without the NUL) of the encoding of len bytes. */
size_t ledger_base64_len(size_t len);
/* Writes ledger_base64_len(len) characters and a NUL into out. */
void ledger_base64_encode(const uint8_t *data, size_t len, char *out);
/* Decodes text[0..text_len) into out (room for cap bytes). Only the
 * canonical padded encoding is accepted: no spaces or line breaks, padding
 * exactly where needed, unused bits zero. Returns 0 and *out_len, or -1. */
int ledger_base64_decode(const char *text, size_t text_len, uint8_t *out, size_t cap,
                         size_t *out_len);

#endif
