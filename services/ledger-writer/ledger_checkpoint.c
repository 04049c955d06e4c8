#include "ledger-writer/ledger_checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ledger-writer/ledger_encoding.h"

#define EM_DASH "\xE2\x80\x94"
#define EM_DASH_LEN 3

int ledger_log_id_valid(const char *log_id)
{
    size_t n = log_id != NULL ? strlen(log_id) : 0;
    if (n == 0 || n > LEDGER_LOG_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = log_id[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

int ledger_origin_format(char *buf, size_t cap, const char *log_id, ledger_hash_alg alg)
{
    if (!ledger_log_id_valid(log_id))
        return -1;
    int n = snprintf(buf, cap, "%s%s/%s", LEDGER_ORIGIN_PREFIX, log_id, ledger_hash_name(alg));
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int ledger_origin_parse(const char *origin, char *log_id, ledger_hash_alg *alg)
{
    size_t plen = strlen(LEDGER_ORIGIN_PREFIX);
    if (strncmp(origin, LEDGER_ORIGIN_PREFIX, plen) != 0)
        return -1;
    const char *id = origin + plen;
    const char *slash = strrchr(id, '/');
    if (slash == NULL || (size_t)(slash - id) > LEDGER_LOG_ID_MAX)
        return -1;
    char copy[LEDGER_LOG_ID_MAX + 1];
    memcpy(copy, id, (size_t)(slash - id));
    copy[slash - id] = '\0';
    ledger_hash_alg a;
    /* Only the two lowercase spellings ledger_origin_format writes. */
    if (!ledger_log_id_valid(copy) || ledger_hash_parse(slash + 1, &a) != 0 ||
        strcmp(slash + 1, ledger_hash_name(a)) != 0)
        return -1;
    memcpy(log_id, copy, strlen(copy) + 1);
    *alg = a;
    return 0;
}

static void set_key_id(ledger_checkpoint *cp, const uint8_t id[LEDGER_KEY_ID_LEN])
{
    memcpy(cp->key_id, id, LEDGER_KEY_ID_LEN);
    ledger_hex_encode(id, LEDGER_KEY_ID_LEN, cp->key_id_hex);
}

int ledger_checkpoint_sign(const ledger_key *k, const char *log_id, ledger_hash_alg alg,
                           uint64_t tree_size, const uint8_t root[LEDGER_HASH_LEN],
                           int64_t timestamp_ms, ledger_checkpoint *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (ledger_origin_format(out->origin, sizeof(out->origin), log_id, alg) != 0) {
        snprintf(err, errlen, "invalid log id (1-%d characters of A-Z a-z 0-9 _ . : -)",
                 LEDGER_LOG_ID_MAX);
        return -1;
    }
    if (timestamp_ms < 0) {
        snprintf(err, errlen, "negative checkpoint timestamp");
        return -1;
    }
    memcpy(out->log_id, log_id, strlen(log_id) + 1);
    out->hash = alg;
    out->hash_alg = ledger_hash_avro_name(alg);
    out->tree_size = tree_size;
    memcpy(out->root_hash, root, LEDGER_HASH_LEN);
    out->timestamp_ms = timestamp_ms;

    char root_b64[64];
    ledger_base64_encode(root, LEDGER_HASH_LEN, root_b64);
    int n = snprintf(out->note, sizeof(out->note), "%s\n%" PRIu64 "\n%s\ntimestamp %" PRId64 "\n",
                     out->origin, tree_size, root_b64, timestamp_ms);
    if (n <= 0 || (size_t)n >= sizeof(out->note)) {
        snprintf(err, errlen, "checkpoint text too long");
        return -1;
    }
    out->note_len = (size_t)n;

    uint8_t id[LEDGER_KEY_ID_LEN];
    if (ledger_key_id(k, out->origin, id) != 0) {
        snprintf(err, errlen, "cannot compute the key id");
        return -1;
    }
    set_key_id(out, id);
    if (ledger_sign(k, out->note, out->note_len, out->signature, &out->signature_len, err,
                    errlen) != 0)
        return -1;

    uint8_t blob[LEDGER_KEY_ID_LEN + LEDGER_SIG_MAX];
    memcpy(blob, id, LEDGER_KEY_ID_LEN);
    memcpy(blob + LEDGER_KEY_ID_LEN, out->signature, out->signature_len);
    char sig_b64[2 * sizeof(blob)];
    ledger_base64_encode(blob, LEDGER_KEY_ID_LEN + out->signature_len, sig_b64);
    n = snprintf(out->signed_note, sizeof(out->signed_note), "%s\n" EM_DASH " %s %s\n", out->note,
                 out->origin, sig_b64);
    if (n <= 0 || (size_t)n >= sizeof(out->signed_note)) {
        snprintf(err, errlen, "checkpoint note too long");
        return -1;
    }
    out->signed_note_len = (size_t)n;
    return 0;
}

/* ---- parsing ----------------------------------------------------------- */

/* The line at *pos of text[0..len) without its newline; moves *pos past
 * the newline. -1 when no newline ends it. */
static int next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
    const char *start = text + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    if (nl == NULL)
        return -1;
    *line = start;
    *n = (size_t)(nl - start);
    *pos += *n + 1;
    return 0;
}

/* A decimal without sign or leading zeros that fits in max. */
static int parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Printable ASCII and newlines, plus an em dash at the start of a line. */
static int check_charset(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n' || (c >= 0x20 && c < 0x7f))
            continue;
        if ((i == 0 || text[i - 1] == '\n') && len - i >= EM_DASH_LEN &&
            memcmp(text + i, EM_DASH, EM_DASH_LEN) == 0) {
            i += EM_DASH_LEN - 1;
            continue;
        }
        return -1;
    }
    return 0;
}

static int parse_body(const char *text, size_t body_len, ledger_checkpoint *out, char *err,
                      size_t errlen)
{
    size_t pos = 0;
    const char *line;
    size_t n;

    if (next_line(text, body_len, &pos, &line, &n) != 0 || n == 0 || n > LEDGER_ORIGIN_MAX) {
        snprintf(err, errlen, "missing or overlong origin line");
        return -1;
    }
    memcpy(out->origin, line, n);
    out->origin[n] = '\0';
    if (ledger_origin_parse(out->origin, out->log_id, &out->hash) != 0) {
        snprintf(err, errlen, "origin \"%s\" is not %s<log id>/<sm3|sha256>", out->origin,
                 LEDGER_ORIGIN_PREFIX);
        return -1;
    }
    out->hash_alg = ledger_hash_avro_name(out->hash);

    if (next_line(text, body_len, &pos, &line, &n) != 0 ||
        parse_decimal(line, n, UINT64_MAX, &out->tree_size) != 0) {
        snprintf(err, errlen, "the second line is not a tree size");
        return -1;
    }

    size_t root_len = 0;
    if (next_line(text, body_len, &pos, &line, &n) != 0 ||
        ledger_base64_decode(line, n, out->root_hash, sizeof(out->root_hash), &root_len) != 0 ||
        root_len != LEDGER_HASH_LEN) {
        snprintf(err, errlen, "the third line is not a base64 root hash of %d bytes",
                 LEDGER_HASH_LEN);
        return -1;
    }

    static const char ts_key[] = "timestamp ";
    size_t klen = sizeof(ts_key) - 1;
    uint64_t ts;
    if (next_line(text, body_len, &pos, &line, &n) != 0 || n <= klen ||
        memcmp(line, ts_key, klen) != 0 ||
        parse_decimal(line + klen, n - klen, INT64_MAX, &ts) != 0) {
        snprintf(err, errlen, "the fourth line is not \"timestamp <milliseconds>\"");
        return -1;
    }
    out->timestamp_ms = (int64_t)ts;

    if (pos != body_len) {
        snprintf(err, errlen, "unexpected line after the timestamp");
        return -1;
    }
    return 0;
}

/* One line "— <name> <base64>": the log's own signature is kept. */
static int parse_signature_line(const char *line, size_t n, ledger_checkpoint *out, int *found,
                                char *err, size_t errlen)
{
    if (n < EM_DASH_LEN + 1 || memcmp(line, EM_DASH " ", EM_DASH_LEN + 1) != 0) {
        snprintf(err, errlen, "a signature line must start with an em dash and a space");
        return -1;
    }
    const char *name = line + EM_DASH_LEN + 1;
    const char *end = line + n;
    const char *space = memchr(name, ' ', (size_t)(end - name));
    if (space == NULL || space == name) {
        snprintf(err, errlen, "a signature line must be \"— <key name> <base64>\"");
        return -1;
    }
    size_t name_len = (size_t)(space - name);
    if (memchr(name, '+', name_len) != NULL) {
        snprintf(err, errlen, "a key name cannot contain '+'");
        return -1;
    }
    const char *b64 = space + 1;
    uint8_t blob[LEDGER_NOTE_MAX];
    size_t blob_len = 0;
    if (ledger_base64_decode(b64, (size_t)(end - b64), blob, sizeof(blob), &blob_len) != 0 ||
        blob_len <= LEDGER_KEY_ID_LEN) {
        snprintf(err, errlen, "a signature is not base64 of a key id and a signature");
        return -1;
    }
    if (*found || name_len != strlen(out->origin) || memcmp(name, out->origin, name_len) != 0)
        return 0;
    size_t sig_len = blob_len - LEDGER_KEY_ID_LEN;
    if (sig_len > LEDGER_SIG_MAX) {
        snprintf(err, errlen, "the signature by %s is %zu bytes, longer than any Ed25519 or SM2 "
                 "signature", out->origin, sig_len);
        return -1;
    }
    set_key_id(out, blob);
    memcpy(out->signature, blob + LEDGER_KEY_ID_LEN, sig_len);
    out->signature_len = sig_len;
    *found = 1;
    return 0;
}

int ledger_checkpoint_parse(const char *text, size_t len, ledger_checkpoint *out, char *err,
                            size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (len == 0 || len >= LEDGER_NOTE_MAX) {
        snprintf(err, errlen, "a checkpoint note is 1 to %d bytes, not %zu", LEDGER_NOTE_MAX - 1,
                 len);
        return -1;
    }
    if (check_charset(text, len) != 0) {
        snprintf(err, errlen, "a checkpoint note holds printable ASCII only");
        return -1;
    }
    const char *blank = NULL;
    for (size_t i = 0; i + 1 < len; i++)
        if (text[i] == '\n' && text[i + 1] == '\n') {
            blank = text + i;
            break;
        }
    if (blank == NULL) {
        snprintf(err, errlen, "no blank line between the checkpoint and its signatures");
        return -1;
    }
    size_t body_len = (size_t)(blank - text) + 1;
    if (body_len >= sizeof(out->note)) {
        snprintf(err, errlen, "checkpoint text too long");
        return -1;
    }
    if (parse_body(text, body_len, out, err, errlen) != 0)
        return -1;
    memcpy(out->note, text, body_len);
    out->note[body_len] = '\0';
    out->note_len = body_len;

    size_t pos = body_len + 1;
    int found = 0, lines = 0;
    while (pos < len) {
        const char *line;
        size_t n;
        if (next_line(text, len, &pos, &line, &n) != 0) {
            snprintf(err, errlen, "the last signature line has no newline");
            return -1;
        }
        if (parse_signature_line(line, n, out, &found, err, errlen) != 0)
            return -1;
        lines++;
    }
    if (lines == 0 || !found) {
        snprintf(err, errlen, "no signature by %s", out->origin);
        return -1;
    }
    memcpy(out->signed_note, text, len);
    out->signed_note[len] = '\0';
    out->signed_note_len = len;
    return 0;
}

int ledger_checkpoint_verify(const ledger_checkpoint *cp, const ledger_key *k, char *err,
                             size_t errlen)
{
    uint8_t id[LEDGER_KEY_ID_LEN];
    if (ledger_key_id(k, cp->origin, id) != 0) {
        snprintf(err, errlen, "cannot compute the key id");
        return -1;
    }
    if (memcmp(id, cp->key_id, LEDGER_KEY_ID_LEN) != 0) {
        char hex[2 * LEDGER_KEY_ID_LEN + 1];
        ledger_hex_encode(id, LEDGER_KEY_ID_LEN, hex);
        snprintf(err, errlen, "signed by key %s, not by the given key %s (%s)", cp->key_id_hex,
                 hex, ledger_sig_alg_name(ledger_key_alg(k)));
        return -1;
    }
    if (ledger_verify(k, cp->note, cp->note_len, cp->signature, cp->signature_len) != 0) {
        snprintf(err, errlen, "the signature of key %s does not verify", cp->key_id_hex);
        return -1;
    }
    return 0;
}
