#include "ledger-writer/ledger_proof_json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "ledger-writer/ledger_encoding.h"
#include "ledger-writer/merkle.h"
#include "timeutil.h"

#define HL LEDGER_HASH_LEN

/* ---- building -------------------------------------------------------------- */

static json_t *hex_string(const uint8_t *data, size_t len)
{
    char hex[2 * HL + 1];
    if (len > HL)
        return NULL;
    ledger_hex_encode(data, len, hex);
    return json_string(hex);
}

static json_t *hash_array(const uint8_t *hashes, size_t count)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < count; i++)
        if (json_array_append_new(a, hex_string(hashes + i * HL, HL)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* Sets each (key, value) pair, values stolen; NULL key ends the list. A
 * NULL value (an allocation that failed) fails the whole. */
static int set_fields(json_t *obj, ...)
{
    va_list ap;
    int rc = 0;
    va_start(ap, obj);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (key == NULL)
            break;
        json_t *value = va_arg(ap, json_t *);
        if (value == NULL || json_object_set_new(obj, key, value) != 0)
            rc = -1;
    }
    va_end(ap);
    return rc;
}

static json_t *log_header(const ledger_log *log, const char *format)
{
    json_t *obj = json_object();
    if (obj == NULL ||
        set_fields(obj, "format", json_string(format), "origin", json_string(ledger_log_origin(log)),
                   "log_id", json_string(ledger_log_id(log)), "hash_alg",
                   json_string(ledger_hash_name(ledger_log_hash(log))), NULL) != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

int ledger_inclusion_proof_json(const ledger_log *log, const char *order_id, json_t **out,
                                char *err, size_t errlen)
{
    *out = NULL;
    uint64_t index;
    int rc = ledger_find_order(log, order_id, &index, err, errlen);
    if (rc != LEDGER_AUDIT_OK)
        return rc;
    uint64_t n = ledger_log_checkpoint_count(log);
    if (n == 0 || ledger_log_checkpoint_size(log, n - 1) <= index) {
        snprintf(err, errlen,
                 "order %s is entry %" PRIu64 ", which no checkpoint covers yet (the last covers "
                 "%" PRIu64 " entries): ask again after the next checkpoint",
                 order_id, index, n ? ledger_log_checkpoint_size(log, n - 1) : 0);
        return LEDGER_AUDIT_FAILED;
    }
    ledger_checkpoint cp;
    if (ledger_log_checkpoint_get(log, n - 1, &cp, err, errlen) != 0)
        return LEDGER_AUDIT_ERROR;
    uint8_t proof[LEDGER_MERKLE_MAX_PROOF * HL];
    size_t count = 0;
    const uint8_t *entry;
    size_t len;
    if (ledger_log_inclusion_proof(log, index, cp.tree_size, proof, &count) != 0 ||
        ledger_log_entry(log, index, &entry, &len) != 0) {
        snprintf(err, errlen, "cannot compute the proof");
        return LEDGER_AUDIT_ERROR;
    }
    char *entry_b64 = malloc(ledger_base64_len(len) + 1);
    json_t *obj = log_header(log, LEDGER_INCLUSION_FORMAT);
    if (entry_b64 != NULL)
        ledger_base64_encode(entry, len, entry_b64);
    if (entry_b64 == NULL || obj == NULL ||
        set_fields(obj, "order_id", json_string(order_id), "leaf_index", json_integer((json_int_t)index),
                   "tree_size", json_integer((json_int_t)cp.tree_size), "entry",
                   json_string(entry_b64), "leaf_hash",
                   hex_string(ledger_log_leaf_hash(log, index), HL), "proof",
                   hash_array(proof, count), "root_hash", hex_string(cp.root_hash, HL),
                   "checkpoint", json_string(cp.signed_note), NULL) != 0) {
        free(entry_b64);
        json_decref(obj);
        snprintf(err, errlen, "out of memory");
        return LEDGER_AUDIT_ERROR;
    }
    free(entry_b64);
    *out = obj;
    return LEDGER_AUDIT_OK;
}

/* "a, b, c" of the distinct checkpoint sizes, only the last ones when
 * there are many. */
static void list_sizes(const ledger_log *log, char *buf, size_t cap)
{
    uint64_t n = ledger_log_checkpoint_count(log);
    uint64_t first = n > 12 ? n - 12 : 0;
    size_t used = (size_t)snprintf(buf, cap, "%s", n == 0 ? "none" : first > 0 ? "..." : "");
    for (uint64_t i = first; i < n && used < cap; i++) {
        uint64_t s = ledger_log_checkpoint_size(log, i);
        if (i > first && s == ledger_log_checkpoint_size(log, i - 1))
            continue;
        used += (size_t)snprintf(buf + used, cap - used, "%s%" PRIu64, used ? ", " : "", s);
    }
}

int ledger_consistency_proof_json(const ledger_log *log, uint64_t old_size, uint64_t new_size,
                                  json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (old_size > new_size) {
        snprintf(err, errlen, "the old size %" PRIu64 " is above the new size %" PRIu64, old_size,
                 new_size);
        return LEDGER_AUDIT_FAILED;
    }
    ledger_checkpoint old_cp, new_cp;
    uint64_t sizes[2] = {old_size, new_size};
    ledger_checkpoint *cps[2] = {&old_cp, &new_cp};
    for (int k = 0; k < 2; k++) {
        int rc = ledger_log_checkpoint_find(log, sizes[k], cps[k], err, errlen);
        if (rc < 0)
            return LEDGER_AUDIT_ERROR;
        if (rc > 0) {
            char list[256];
            list_sizes(log, list, sizeof(list));
            snprintf(err, errlen, "%s has no checkpoint of %" PRIu64 " entries (checkpoint sizes: %s)",
                     ledger_log_origin(log), sizes[k], list);
            return LEDGER_AUDIT_FAILED;
        }
    }
    uint8_t proof[LEDGER_MERKLE_MAX_PROOF * HL];
    size_t count = 0;
    if (ledger_log_consistency_proof(log, old_size, new_size, proof, &count) != 0) {
        snprintf(err, errlen, "cannot compute the proof");
        return LEDGER_AUDIT_ERROR;
    }
    json_t *obj = log_header(log, LEDGER_CONSISTENCY_FORMAT);
    if (obj == NULL ||
        set_fields(obj, "old_size", json_integer((json_int_t)old_size), "new_size",
                   json_integer((json_int_t)new_size), "old_root", hex_string(old_cp.root_hash, HL),
                   "new_root", hex_string(new_cp.root_hash, HL), "proof", hash_array(proof, count),
                   "old_checkpoint", json_string(old_cp.signed_note), "new_checkpoint",
                   json_string(new_cp.signed_note), NULL) != 0) {
        json_decref(obj);
        snprintf(err, errlen, "out of memory");
        return LEDGER_AUDIT_ERROR;
    }
    *out = obj;
    return LEDGER_AUDIT_OK;
}

/* ---- checking ------------------------------------------------------------------ */

static int fail(char *msg, size_t msglen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return LEDGER_AUDIT_FAILED;
}

static int get_string(const json_t *obj, const char *key, const char **out)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    /* A string with a NUL inside is not what it seems. */
    return strlen(*out) == json_string_length(v) ? 0 : -1;
}

static int get_size(const json_t *obj, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_hash(const json_t *obj, const char *key, uint8_t out[HL])
{
    const char *s;
    return get_string(obj, key, &s) == 0 && ledger_hex_decode(s, out, HL) == 0 ? 0 : -1;
}

static int get_path(const json_t *obj, const char *key, uint8_t *proof, size_t *count)
{
    const json_t *a = json_object_get(obj, key);
    if (!json_is_array(a) || json_array_size(a) > LEDGER_MERKLE_MAX_PROOF)
        return -1;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_string(v) || ledger_hex_decode(json_string_value(v), proof + i * HL, HL) != 0)
            return -1;
    }
    *count = json_array_size(a);
    return 0;
}

/* format, origin, log_id, hash_alg: consistent with each other. */
static int check_header(const json_t *p, const char *format, char *origin, ledger_hash_alg *alg,
                        char *msg, size_t msglen)
{
    const char *f, *o, *id, *h;
    if (!json_is_object(p))
        return fail(msg, msglen, "the proof is not a JSON object");
    if (get_string(p, "format", &f) != 0 || strcmp(f, format) != 0)
        return fail(msg, msglen, "\"format\" is not \"%s\"", format);
    if (get_string(p, "origin", &o) != 0 || get_string(p, "log_id", &id) != 0 ||
        get_string(p, "hash_alg", &h) != 0)
        return fail(msg, msglen, "the proof lacks \"origin\", \"log_id\" or \"hash_alg\"");
    char parsed_id[LEDGER_LOG_ID_MAX + 1];
    if (strlen(o) > LEDGER_ORIGIN_MAX || ledger_origin_parse(o, parsed_id, alg) != 0)
        return fail(msg, msglen, "\"origin\" is not %s<log id>/<sm3|sha256>", LEDGER_ORIGIN_PREFIX);
    if (strcmp(parsed_id, id) != 0 || strcmp(h, ledger_hash_name(*alg)) != 0)
        return fail(msg, msglen, "\"log_id\" and \"hash_alg\" do not match the origin %s", o);
    snprintf(origin, LEDGER_ORIGIN_MAX + 1, "%s", o);
    return LEDGER_AUDIT_OK;
}

/* The note under key parses, is the origin's, and states size and root. */
static int check_note(const json_t *p, const char *key, const char *origin, uint64_t size,
                      const uint8_t root[HL], ledger_checkpoint *cp, char *msg, size_t msglen)
{
    const char *text;
    char why[256];
    if (get_string(p, key, &text) != 0)
        return fail(msg, msglen, "the proof has no \"%s\" note", key);
    if (ledger_checkpoint_parse(text, strlen(text), cp, why, sizeof(why)) != 0)
        return fail(msg, msglen, "\"%s\" is not a checkpoint note: %s", key, why);
    if (strcmp(cp->origin, origin) != 0)
        return fail(msg, msglen, "\"%s\" is a checkpoint of %s, not of %s", key, cp->origin, origin);
    if (cp->tree_size != size)
        return fail(msg, msglen, "\"%s\" is of %" PRIu64 " entries, the proof of %" PRIu64, key,
                    cp->tree_size, size);
    if (memcmp(cp->root_hash, root, HL) != 0)
        return fail(msg, msglen, "\"%s\" states another root than the proof", key);
    return LEDGER_AUDIT_OK;
}

/* The entry is an OrderFinalized of order_id at index. */
static int check_entry_record(const uint8_t *entry, size_t len, const char *order_id,
                              uint64_t index, char *msg, size_t msglen)
{
    char err[256];
    if (cw_avro_init(err, sizeof(err)) != 0)
        return fail(msg, msglen, "%s", err);
    const cw_avro_schema *schema;
    avro_value_t v;
    if (cw_avro_decode(entry, len, &schema, &v, err, sizeof(err)) != 0)
        return fail(msg, msglen, "the entry is not a carewatch record: %s", err);
    const char *id = NULL;
    int64_t at = -1;
    int rc = LEDGER_AUDIT_OK;
    if (strcmp(schema->name, "OrderFinalized") != 0)
        rc = fail(msg, msglen, "the entry is a %s, not an OrderFinalized", schema->name);
    else if (cw_av_get_str(&v, "order_id", &id) != 0 || strcmp(id, order_id) != 0)
        rc = fail(msg, msglen, "the entry is of order %s, not %s", id ? id : "(none)", order_id);
    else if (cw_av_get_long(&v, "ledger_index", &at) != 0 || at < 0 || (uint64_t)at != index)
        rc = fail(msg, msglen, "the entry's ledger_index is %" PRId64 ", the proof's leaf_index %" PRIu64,
                  at, index);
    avro_value_decref(&v);
    return rc;
}

static void describe_signature(const ledger_checkpoint *cp, const ledger_key *key, char *buf,
                               size_t cap)
{
    char when[40];
    cw_time_format_rfc3339(cp->timestamp_ms, 0, when, sizeof(when));
    if (key != NULL)
        snprintf(buf, cap, "checkpoint of %s signed by key %s (%s): verified", when, cp->key_id_hex,
                 ledger_sig_alg_name(ledger_key_alg(key)));
    else
        snprintf(buf, cap, "checkpoint of %s by key %s: signature NOT checked (no public key given)",
                 when, cp->key_id_hex);
}

int ledger_check_inclusion_proof(const json_t *p, const ledger_key *key, char *msg, size_t msglen)
{
    char origin[LEDGER_ORIGIN_MAX + 1];
    ledger_hash_alg alg;
    int rc = check_header(p, LEDGER_INCLUSION_FORMAT, origin, &alg, msg, msglen);
    if (rc != LEDGER_AUDIT_OK)
        return rc;
    const char *order_id, *entry_b64;
    uint64_t index, size;
    uint8_t leaf[HL], root[HL], proof[LEDGER_MERKLE_MAX_PROOF * HL];
    size_t count = 0;
    if (get_string(p, "order_id", &order_id) != 0 || get_size(p, "leaf_index", &index) != 0 ||
        get_size(p, "tree_size", &size) != 0 || get_string(p, "entry", &entry_b64) != 0 ||
        get_hash(p, "leaf_hash", leaf) != 0 || get_hash(p, "root_hash", root) != 0 ||
        get_path(p, "proof", proof, &count) != 0)
        return fail(msg, msglen,
                    "the proof lacks a valid order_id, leaf_index, tree_size, entry, leaf_hash "
                    "(hex, %d bytes), root_hash or proof (at most %d hashes)",
                    HL, LEDGER_MERKLE_MAX_PROOF);
    ledger_checkpoint cp;
    rc = check_note(p, "checkpoint", origin, size, root, &cp, msg, msglen);
    if (rc != LEDGER_AUDIT_OK)
        return rc;

    size_t b64_len = strlen(entry_b64);
    uint8_t *entry = malloc(b64_len / 4 * 3 + 1);
    size_t len = 0;
    if (entry == NULL)
        return fail(msg, msglen, "out of memory");
    ledger_hasher *h = ledger_hasher_new(alg);
    uint8_t computed[HL];
    if (h == NULL)
        rc = fail(msg, msglen, "OpenSSL provides no %s", ledger_hash_name(alg));
    else if (ledger_base64_decode(entry_b64, b64_len, entry, b64_len / 4 * 3 + 1, &len) != 0 ||
             len == 0)
        rc = fail(msg, msglen, "\"entry\" is not base64");
    else if (ledger_hash_leaf(h, entry, len, computed) != 0 || memcmp(computed, leaf, HL) != 0)
        rc = fail(msg, msglen, "the entry does not hash to leaf_hash");
    else if (ledger_merkle_verify_inclusion(h, index, size, leaf, proof, count, root) != 0)
        rc = fail(msg, msglen,
                  "the proof does not lead from leaf %" PRIu64 " to the root of the tree of %" PRIu64
                  " entries",
                  index, size);
    else
        rc = check_entry_record(entry, len, order_id, index, msg, msglen);
    ledger_hasher_free(h);
    free(entry);
    if (rc != LEDGER_AUDIT_OK)
        return rc;

    char why[256];
    if (key != NULL && ledger_checkpoint_verify(&cp, key, why, sizeof(why)) != 0)
        return fail(msg, msglen, "checkpoint: %s", why);
    char sig[200], root_hex[2 * HL + 1];
    describe_signature(&cp, key, sig, sizeof(sig));
    ledger_hex_encode(root, HL, root_hex);
    snprintf(msg, msglen,
             "order %s is entry %" PRIu64 " of %s, included in its tree of %" PRIu64
             " entries with root %s; %s",
             order_id, index, origin, size, root_hex, sig);
    return LEDGER_AUDIT_OK;
}

int ledger_check_consistency_proof(const json_t *p, const ledger_key *key, char *msg,
                                   size_t msglen)
{
    char origin[LEDGER_ORIGIN_MAX + 1];
    ledger_hash_alg alg;
    int rc = check_header(p, LEDGER_CONSISTENCY_FORMAT, origin, &alg, msg, msglen);
    if (rc != LEDGER_AUDIT_OK)
        return rc;
    uint64_t old_size, new_size;
    uint8_t old_root[HL], new_root[HL], proof[LEDGER_MERKLE_MAX_PROOF * HL];
    size_t count = 0;
    if (get_size(p, "old_size", &old_size) != 0 || get_size(p, "new_size", &new_size) != 0 ||
        get_hash(p, "old_root", old_root) != 0 || get_hash(p, "new_root", new_root) != 0 ||
        get_path(p, "proof", proof, &count) != 0)
        return fail(msg, msglen,
                    "the proof lacks a valid old_size, new_size, old_root, new_root (hex, %d "
                    "bytes) or proof (at most %d hashes)",
                    HL, LEDGER_MERKLE_MAX_PROOF);
    ledger_checkpoint old_cp, new_cp;
    rc = check_note(p, "old_checkpoint", origin, old_size, old_root, &old_cp, msg, msglen);
    if (rc == LEDGER_AUDIT_OK)
        rc = check_note(p, "new_checkpoint", origin, new_size, new_root, &new_cp, msg, msglen);
    if (rc != LEDGER_AUDIT_OK)
        return rc;
    ledger_hasher *h = ledger_hasher_new(alg);
    if (h == NULL)
        return fail(msg, msglen, "OpenSSL provides no %s", ledger_hash_name(alg));
    int ok =
        ledger_merkle_verify_consistency(h, old_size, new_size, old_root, new_root, proof, count);
    ledger_hasher_free(h);
    if (ok != 0)
        return fail(msg, msglen,
                    "the proof does not show the tree of %" PRIu64 " entries to be a prefix of the "
                    "tree of %" PRIu64 " entries",
                    old_size, new_size);
    char why[256];
    if (key != NULL && ledger_checkpoint_verify(&old_cp, key, why, sizeof(why)) != 0)
        return fail(msg, msglen, "old_checkpoint: %s", why);
    if (key != NULL && ledger_checkpoint_verify(&new_cp, key, why, sizeof(why)) != 0)
        return fail(msg, msglen, "new_checkpoint: %s", why);
    char old_hex[2 * HL + 1], new_hex[2 * HL + 1], sig[200];
    ledger_hex_encode(old_root, HL, old_hex);
    ledger_hex_encode(new_root, HL, new_hex);
    if (key != NULL)
        snprintf(sig, sizeof(sig), "both checkpoints signed by key %s (%s): verified",
                 new_cp.key_id_hex, ledger_sig_alg_name(ledger_key_alg(key)));
    else
        snprintf(sig, sizeof(sig), "signatures NOT checked (no public key given)");
    snprintf(msg, msglen,
             "%s: the tree of %" PRIu64 " entries (root %s) is a prefix of the tree of %" PRIu64
             " entries (root %s); %s",
             origin, old_size, old_hex, new_size, new_hex, sig);
    return LEDGER_AUDIT_OK;
}
