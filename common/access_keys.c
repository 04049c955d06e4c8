#include "access_keys.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ID_MAX_LEN 64

int cw_id_is_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > ID_MAX_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != ':' && c != '-')
            return 0;
    }
    return 1;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int parse_hash(const char *hex, size_t len, unsigned char out[32])
{
    if (len != 64)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* A scoped id: an id without ':' (':' begins a provider's own ids). */
static int is_scope_id(const char *s)
{
    return cw_id_is_valid(s) && strchr(s, ':') == NULL;
}

/* text is "<role>" or "<role>#<label>". */
static int parse_role(const char *text, cw_role *role)
{
    char kind[160];
    const char *hash = strchr(text, '#');
    size_t kind_len = hash ? (size_t)(hash - text) : strlen(text);
    memset(role, 0, sizeof(*role));
    if (kind_len == 0 || kind_len >= sizeof(kind))
        return -1;
    memcpy(kind, text, kind_len);
    kind[kind_len] = '\0';
    if (strcmp(kind, "registry") == 0)
        role->kind = CW_ROLE_REGISTRY;
    else if (strcmp(kind, "importer") == 0)
        role->kind = CW_ROLE_IMPORTER;
    else if (strcmp(kind, "admin") == 0)
        role->kind = CW_ROLE_ADMIN;
    else if (strcmp(kind, "command") == 0)
        role->kind = CW_ROLE_COMMAND;
    else if (strncmp(kind, "provider:", 9) == 0 && is_scope_id(kind + 9)) {
        role->kind = CW_ROLE_PROVIDER;
        memcpy(role->provider_id, kind + 9, strlen(kind + 9) + 1); /* <= 64 bytes */
    } else if (strncmp(kind, "street:", 7) == 0 && is_scope_id(kind + 7)) {
        role->kind = CW_ROLE_STREET;
        memcpy(role->street_id, kind + 7, strlen(kind + 7) + 1); /* <= 64 bytes */
    } else
        return -1;
    const char *label = hash ? hash + 1 : kind;
    size_t label_len = strlen(label);
    if (label_len == 0 || label_len >= sizeof(role->label))
        return -1;
    for (size_t i = 0; i < label_len; i++)
        if (iscntrl((unsigned char)label[i]) || label[i] == '"' || label[i] == '\\')
            return -1;
    memcpy(role->label, label, label_len + 1);
    return 0;
}

int cw_key_table_load(cw_key_table *table, const char *const *entries, size_t n, char *err,
                      size_t errlen)
{
    table->keys = n ? calloc(n, sizeof(cw_key)) : NULL;
    table->count = 0;
    if (n && !table->keys) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(entries[i], '=');
        cw_key *key = &table->keys[i];
        if (!eq || parse_hash(entries[i], (size_t)(eq - entries[i]), key->sha256) ||
            parse_role(eq + 1, &key->role)) {
            snprintf(err, errlen,
                     "auth.keys entry %zu: expected <64 hex sha256>=<registry|importer|admin|"
                     "command|provider:<id>|street:<id>>[#<label>] (ids without ':', a label "
                     "of at most 96 bytes without quotes or control characters)",
                     i + 1);
            cw_key_table_free(table);
            return -1;
        }
        table->count++;
    }
    return 0;
}

void cw_key_table_free(cw_key_table *table)
{
    free(table->keys);
    table->keys = NULL;
    table->count = 0;
}

int cw_key_lookup(const cw_key_table *table, const char *authorization, cw_role *role,
                  const char **reason)
{
    if (!authorization) {
        *reason = "missing Authorization: Bearer <key>";
        return -1;
    }
    if (strncasecmp(authorization, "Bearer ", 7) != 0 || authorization[7] == '\0') {
        *reason = "Authorization must be 'Bearer <key>'";
        return -1;
    }
    const char *key = authorization + 7;
    unsigned char digest[32];
    SHA256((const unsigned char *)key, strlen(key), digest);
    for (size_t i = 0; i < table->count; i++) {
        if (CRYPTO_memcmp(digest, table->keys[i].sha256, 32) == 0) {
            *role = table->keys[i].role;
            return 0;
        }
    }
    *reason = "unknown key";
    return -1;
}

const char *cw_role_kind_name(cw_role_kind kind)
{
    switch (kind) {
    case CW_ROLE_REGISTRY: return "registry";
    case CW_ROLE_PROVIDER: return "provider";
    case CW_ROLE_IMPORTER: return "importer";
    case CW_ROLE_ADMIN: return "admin";
    case CW_ROLE_STREET: return "street";
    case CW_ROLE_COMMAND: return "command";
    case CW_ROLE_NONE: break;
    }
    return "none";
}
