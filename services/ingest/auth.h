/* Bearer-key authorization. Keys are configured as "<sha256 hex>=<role>"
 * (auth.keys); only hashes are held, so neither config nor memory nor logs
 * contain a usable key. Roles: registry, provider:<provider_id>, importer,
 * admin. */
#ifndef INGEST_AUTH_H
#define INGEST_AUTH_H

#include <stddef.h>

#include "api_error.h"

typedef enum { ROLE_NONE = 0, ROLE_REGISTRY, ROLE_PROVIDER, ROLE_IMPORTER, ROLE_ADMIN } role_kind;

typedef struct {
    role_kind kind;
    char provider_id[65]; /* ROLE_PROVIDER only */
} auth_role;

typedef struct {
    unsigned char sha256[32];
    auth_role role;
} auth_key;

typedef struct {
    auth_key *keys; /* owned; freed by auth_table_free */
    size_t count;
} auth_table;

/* Parses entries like "9f86d0...=provider:P001". Returns 0, or -1 with a
 * message naming the entry's position (never its content). */
int auth_table_load(auth_table *table, const char *const *entries, size_t n, char *err,
                    size_t errlen);
void auth_table_free(auth_table *table);

/* Resolves an Authorization header value to a role: 401 when missing,
 * not "Bearer <key>", or unknown. */
int auth_authenticate(const auth_table *table, const char *authorization, auth_role *role,
                      api_error *err);

/* What each role may do. */
int auth_may_post_reference(const auth_role *role);
int auth_may_unfreeze(const auth_role *role);
/* Orders and visit events: providers only for their own caregivers. */
int auth_may_act_for_provider(const auth_role *role, const char *provider_id);

#endif
