/* Maps a request line to an ingest operation. Pure. */
#ifndef INGEST_ROUTES_H
#define INGEST_ROUTES_H

#include <stddef.h>

#include "api.h"

typedef enum {
    ROUTE_NOT_FOUND,
    ROUTE_SUBMIT,   /* one record; type says which */
    ROUTE_UNFREEZE, /* caregiver id in path_id */
    ROUTE_BATCH,
    ROUTE_PROBE /* /livez, /healthz, /readyz, /metrics */
} route_kind;

typedef struct {
    route_kind kind;
    request_type type;
    int method_allowed; /* 0: the path exists but not for this method */
    char path_id[72];
} route;

route route_request(const char *method, const char *url);

#endif
