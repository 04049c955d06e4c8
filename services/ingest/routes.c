#include "ingest/routes.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *path;
    request_type type;
} submit_routes[] = {
    {"/v1/elders", REQ_ELDER},
    {"/v1/caregivers", REQ_CAREGIVER},
    {"/v1/contracts", REQ_CONTRACT},
    {"/v1/orders", REQ_ORDER},
    {"/v1/visits/check-in", REQ_CHECK_IN},
    {"/v1/visits/check-out", REQ_CHECK_OUT},
    {"/v1/visits/evidence", REQ_EVIDENCE},
};

static int is_probe(const char *url)
{
    return strcmp(url, "/livez") == 0 || strcmp(url, "/healthz") == 0 ||
           strcmp(url, "/readyz") == 0 || strcmp(url, "/metrics") == 0;
}

/* "<prefix><id><suffix>" -> id (no '/' in it). */
static int match_path_id(const char *url, const char *prefix, const char *suffix, char *id,
                         size_t len)
{
    size_t n = strlen(url), plen = strlen(prefix), slen = strlen(suffix);
    if (n <= plen + slen || strncmp(url, prefix, plen) != 0 || strcmp(url + n - slen, suffix) != 0)
        return 0;
    size_t id_len = n - plen - slen;
    if (id_len >= len || memchr(url + plen, '/', id_len))
        return 0;
    memcpy(id, url + plen, id_len);
    id[id_len] = '\0';
    return 1;
}

static const struct {
    const char *suffix;
    change_action action;
} change_routes[] = {
    {"/cancel", CHANGE_CANCEL},
    {"/reschedule", CHANGE_RESCHEDULE},
    {"/reassign", CHANGE_REASSIGN},
    {"/approve-change", CHANGE_APPROVE},
};

route ingest_route_request(const char *method, const char *url)
{
    route r = {.kind = ROUTE_NOT_FOUND, .method_allowed = 1};
    int post = strcmp(method, "POST") == 0;
    if (is_probe(url)) {
        r.kind = ROUTE_PROBE;
        r.method_allowed = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
        return r;
    }
    for (size_t i = 0; i < sizeof(submit_routes) / sizeof(submit_routes[0]); i++) {
        if (strcmp(url, submit_routes[i].path) == 0) {
            r.kind = ROUTE_SUBMIT;
            r.type = submit_routes[i].type;
            r.method_allowed = post;
            return r;
        }
    }
    if (strcmp(url, "/v1/openapi.json") == 0) {
        r.kind = ROUTE_OPENAPI;
        r.method_allowed = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
        return r;
    }
    if (strcmp(url, "/v1/batch") == 0) {
        r.kind = ROUTE_BATCH;
        r.method_allowed = post;
    } else if (match_path_id(url, "/v1/caregivers/", "/unfreeze", r.path_id,
                             sizeof(r.path_id))) {
        r.kind = ROUTE_UNFREEZE;
        r.method_allowed = post;
    } else if (match_path_id(url, "/v1/elders/", "/status", r.path_id, sizeof(r.path_id))) {
        r.kind = ROUTE_ELDER_STATUS;
        r.method_allowed = post;
    }
    for (size_t i = 0; r.kind == ROUTE_NOT_FOUND && i < sizeof(change_routes) /
                                                          sizeof(change_routes[0]); i++) {
        if (match_path_id(url, "/v1/orders/", change_routes[i].suffix, r.path_id,
                          sizeof(r.path_id))) {
            r.kind = ROUTE_ORDER_CHANGE;
            r.change = change_routes[i].action;
            r.method_allowed = post;
        }
    }
    return r;
}

int ingest_route_role_check(const route *r, const cw_role *role, api_error *err)
{
    if (r->kind == ROUTE_UNFREEZE && !ingest_may_unfreeze(role))
        return ingest_fail(err, 403, "forbidden", "", "only an admin key may unfreeze");
    if (r->kind == ROUTE_ELDER_STATUS)
        return ingest_request_role_check(REQ_ELDER, role, err);
    if (r->kind == ROUTE_ORDER_CHANGE)
        return ingest_change_role_check(r->change, role, err);
    return r->kind == ROUTE_SUBMIT ? ingest_request_role_check(r->type, role, err) : 0;
}
