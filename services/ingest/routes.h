/* Maps a request line to an ingest operation. Pure. */
#ifndef INGEST_ROUTES_H
#define INGEST_ROUTES_H

#include <stddef.h>

#include "ingest/ingest.h"
#include "ingest/auth.h"

typedef enum {
    ROUTE_NOT_FOUND,
    ROUTE_SUBMIT,   /* one record; type says which */
    ROUTE_UNFREEZE, /* caregiver id in path_id */
    ROUTE_ELDER_STATUS, /* elder id in path_id */
    ROUTE_ORDER_CHANGE, /* order id in path_id; change says which */
    ROUTE_BATCH,
    ROUTE_PROBE,  /* /livez, /healthz, /readyz, /metrics */
    ROUTE_OPENAPI /* GET /v1/openapi.json: the API's description, no key */
} route_kind;

typedef struct {
    route_kind kind;
    request_type type;
    change_action change;
    int method_allowed; /* 0: the path exists but not for this method */
    char path_id[72];
} route;

route ingest_route_request(const char *method, const char *url);

/* The OpenAPI 3.1 document of the API (docs/openapi/ingest.json), compiled
 * in by services/CMakeLists.txt and served at ROUTE_OPENAPI: len bytes,
 * followed by a 0. */
extern const unsigned char ingest_openapi_json[];
extern const size_t ingest_openapi_json_len;

/* Whether role may use the route at all, decided from the headers before
 * any body is read: reference data needs registry, importer or admin;
 * orders and visits a provider or the importer (a provider's own
 * caregivers and orders are checked per record, in submit.c and visits.c); unfreeze an
 * admin; an elder's status what an elder's registration needs; an
 * order's cancel, reschedule or reassign a provider, the importer or an
 * admin, its approve-change a street office or an admin; a batch any role
 * (each line is checked as its record would be).
 * 0, or -1 with a 403 in err. */
int ingest_route_role_check(const route *r, const cw_role *role, api_error *err);

#endif
