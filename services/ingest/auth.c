#include "auth.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_fields.h"

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

static int parse_role(const char *text, auth_role *role)
{
    memset(role, 0, sizeof(*role));
    if (strcmp(text, "registry") == 0)
        role->kind = ROLE_REGISTRY;
    else if (strcmp(text, "importer") == 0)
        role->kind = ROLE_IMPORTER;
    else if (strcmp(text, "admin") == 0)
        role->kind = ROLE_ADMIN;
    else if (strncmp(text, "provider:", 9) == 0 && is_valid_id(text + 9) &&
             strchr(text + 9, ':') == NULL) { /* ':' begins the provider's ids */
        role->kind = ROLE_PROVIDER;
        snprintf(role->provider_id, sizeof(role->provider_id), "%s", text + 9);
    } else
        return -1;
    return 0;
}

int auth_table_load(auth_table *table, const char *const *entries, size_t n, char *err,
                    size_t errlen)
{
    table->keys = n ? calloc(n, sizeof(auth_key)) : NULL;
    table->count = 0;
    if (n && !table->keys) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(entries[i], '=');
        auth_key *key = &table->keys[i];
        if (!eq || parse_hash(entries[i], (size_t)(eq - entries[i]), key->sha256) ||
            parse_role(eq + 1, &key->role)) {
            snprintf(err, errlen,
                     "auth.keys entry %zu: expected <64 hex sha256>=<registry|importer|admin|"
                     "provider:<id without ':'>>",
                     i + 1);
            auth_table_free(table);
            return -1;
        }
        table->count++;
    }
    return 0;
}

void auth_table_free(auth_table *table)
{
    free(table->keys);
    table->keys = NULL;
    table->count = 0;
}

int auth_authenticate(const auth_table *table, const char *authorization, auth_role *role,
                      api_error *err)
{
    if (!authorization)
        return api_fail(err, 401, "unauthorized", "", "missing Authorization: Bearer <key>");
    if (strncasecmp(authorization, "Bearer ", 7) != 0 || authorization[7] == '\0')
        return api_fail(err, 401, "unauthorized", "", "Authorization must be 'Bearer <key>'");
    const char *key = authorization + 7;
    unsigned char digest[32];
    SHA256((const unsigned char *)key, strlen(key), digest);
    for (size_t i = 0; i < table->count; i++) {
        if (CRYPTO_memcmp(digest, table->keys[i].sha256, 32) == 0) {
            *role = table->keys[i].role;
            return 0;
        }
    }
    return api_fail(err, 401, "unauthorized", "", "unknown key");
}

int auth_may_post_reference(const auth_role *role)
{
    return role->kind == ROLE_REGISTRY || role->kind == ROLE_IMPORTER || role->kind == ROLE_ADMIN;
}

int auth_may_unfreeze(const auth_role *role)
{
    return role->kind == ROLE_ADMIN;
}

int auth_may_act_for_provider(const auth_role *role, const char *provider_id)
{
    if (role->kind == ROLE_IMPORTER || role->kind == ROLE_ADMIN)
        return 1;
    return role->kind == ROLE_PROVIDER && strcmp(role->provider_id, provider_id) == 0;
}
