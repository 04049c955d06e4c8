/* Bearer-key authorization in ingest: the key table and roles are
 * common/access_keys.h; this file turns a refused key into ingest's 401
 * error and says what each role may post. */
#ifndef INGEST_AUTH_H
#define INGEST_AUTH_H

#include "access_keys.h"
#include "ingest/api_error.h"

/* Resolves an Authorization header value to a role: 401 when missing,
 * not "Bearer <key>", or unknown. */
int ingest_authenticate(const cw_key_table *table, const char *authorization, cw_role *role,
                        api_error *err);

/* What each role may do. */
int ingest_may_post_reference(const cw_role *role);
int ingest_may_unfreeze(const cw_role *role);
/* Orders and visit events: providers only for their own caregivers. */
int ingest_may_act_for_provider(const cw_role *role, const char *provider_id);
/* Orders, visits and an order's maintenance at all (a provider, the
 * importer, an admin: a street office or the command posts none). */
int ingest_may_post_orders(const cw_role *role);
/* The street's approval of a late change: a street office's key, for its
 * own street (an admin's for any). may_approve_changes judges the key
 * alone, from the headers; may_approve_for_street the order's street. */
int ingest_may_approve_changes(const cw_role *role);
int ingest_may_approve_for_street(const cw_role *role, const char *street_id);

#endif
