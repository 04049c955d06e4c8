/* Bearer keys and the roles they carry, shared by every HTTP service that
 * serves people (ingest, the supervision desk). Keys are configured as
 * "<sha256 hex>=<role>[#<label>]" (auth.keys): only hashes are held, so
 * neither config nor memory nor logs contain a usable key. The label names
 * the key's holder in audit records (who did what); it defaults to the role.
 *
 * Roles: registry, importer, admin, provider:<provider_id> (a provider id
 * holds no ':', which begins that provider's ids), street:<street_id> (a
 * street office), command (the district command).
 *
 * The table owns its keys; cw_key_table_free frees them. A looked-up role is
 * a copy the caller keeps. */
#ifndef CW_ACCESS_KEYS_H
#define CW_ACCESS_KEYS_H

#include <stddef.h>

typedef enum {
    CW_ROLE_NONE = 0,
    CW_ROLE_REGISTRY,
    CW_ROLE_PROVIDER,
    CW_ROLE_IMPORTER,
    CW_ROLE_ADMIN,
    CW_ROLE_STREET,
    CW_ROLE_COMMAND
} cw_role_kind;

typedef struct {
    cw_role_kind kind;
    char provider_id[65]; /* CW_ROLE_PROVIDER only */
    char street_id[65];   /* CW_ROLE_STREET only */
    char label[97];       /* who holds the key, for audit records; never the key */
} cw_role;

typedef struct {
    unsigned char sha256[32];
    cw_role role;
} cw_key;

typedef struct {
    cw_key *keys; /* owned; freed by cw_key_table_free */
    size_t count;
} cw_key_table;

/* Parses entries like "9f86d0...=provider:P001" or "...=street:S01#Wang Li".
 * Returns 0, or -1 with a message naming the entry's position (never its
 * content). */
int cw_key_table_load(cw_key_table *table, const char *const *entries, size_t n, char *err,
                      size_t errlen);
void cw_key_table_free(cw_key_table *table);

/* Resolves an Authorization header value ("Bearer <key>") to its role.
 * 0, or -1 with why in reason (missing header, malformed, unknown key). */
int cw_key_lookup(const cw_key_table *table, const char *authorization, cw_role *role,
                  const char **reason);

/* The role's kind as configured ("street", "provider", ...). */
const char *cw_role_kind_name(cw_role_kind kind);

/* Whether s is an id: 1-64 chars of [A-Za-z0-9_.:-]. */
int cw_id_is_valid(const char *s);

#endif
