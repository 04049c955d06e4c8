#include "ingest/auth.h"

#include <string.h>

int ingest_authenticate(const cw_key_table *table, const char *authorization, cw_role *role,
                        api_error *err)
{
    const char *reason = "";
    if (cw_key_lookup(table, authorization, role, &reason) != 0)
        return ingest_fail(err, 401, "unauthorized", "", "%s", reason);
    return 0;
}

int ingest_may_post_reference(const cw_role *role)
{
    return role->kind == CW_ROLE_REGISTRY || role->kind == CW_ROLE_IMPORTER ||
           role->kind == CW_ROLE_ADMIN;
}

int ingest_may_unfreeze(const cw_role *role)
{
    return role->kind == CW_ROLE_ADMIN;
}

int ingest_may_act_for_provider(const cw_role *role, const char *provider_id)
{
    if (role->kind == CW_ROLE_IMPORTER || role->kind == CW_ROLE_ADMIN)
        return 1;
    return role->kind == CW_ROLE_PROVIDER && strcmp(role->provider_id, provider_id) == 0;
}

int ingest_may_post_orders(const cw_role *role)
{
    return role->kind == CW_ROLE_PROVIDER || role->kind == CW_ROLE_IMPORTER ||
           role->kind == CW_ROLE_ADMIN;
}

int ingest_may_approve_changes(const cw_role *role)
{
    return role->kind == CW_ROLE_STREET || role->kind == CW_ROLE_ADMIN;
}

int ingest_may_approve_for_street(const cw_role *role, const char *street_id)
{
    if (role->kind == CW_ROLE_ADMIN)
        return 1;
    return role->kind == CW_ROLE_STREET && strcmp(role->street_id, street_id) == 0;
}
