/* What a person asks of the desk, each behind the lock: reading cases,
 * working them, call-backs, complaints, figures. Every change is published
 * (one transaction) before it is applied to the book, so what is answered
 * is what cases.events holds.
 *
 * Each returns an HTTP status and sets *body to a new JSON reference the
 * caller owns: the answer, or {"error","message","field"}. A case another
 * street cannot see answers 404 exactly like a missing one. */
#ifndef DESK_OPS_H
#define DESK_OPS_H

#include <jansson.h>

#include "supervision-desk/desk.h"

typedef struct {
    int status; /* a cw_case_status; -1: any */
    int colour; /* a cw_case_colour; -1: any */
    const char *street_id;
    const char *kind;    /* NULL: any */
    int64_t since;       /* updated_at >= since; INT64_MIN: any */
    int attention;       /* red or escalated only */
    int overdue;         /* open past its deadline only */
    size_t limit;
    size_t cursor;       /* index in the book to start from */
} desk_case_filter;

/* A filter's status, colour or kind from its name: the enum's value, or
 * -1 for a name that is none. */
int desk_filter_status(const char *name);
int desk_filter_colour(const char *name);
int desk_filter_kind(const char *name);

int desk_ops_list_cases(desk *d, const cw_role *role, const desk_case_filter *f, json_t **body);
/* Whether role may see case_id (for the early 404, before a body is read). */
int desk_ops_may_see(desk *d, const cw_role *role, const char *case_id);
int desk_ops_get_case(desk *d, const cw_role *role, const char *case_id, json_t **body);
int desk_ops_deed(desk *d, const cw_role *role, const char *case_id, desk_deed deed,
                  json_t *request, json_t **body);
int desk_ops_callbacks(desk *d, const cw_role *role, const char *street_id, const char *day,
                       json_t **body);
int desk_ops_callback(desk *d, const cw_role *role, const char *order_id, json_t *request,
                      json_t **body);
int desk_ops_complaint(desk *d, const cw_role *role, json_t *request, json_t **body);
int desk_ops_order(desk *d, const cw_role *role, const char *order_id, json_t **body);
/* Maintenance requests (orders.changes) of a street, PENDING ones (waiting
 * for the street's approval at ingest) or all (state NULL). */
int desk_ops_changes(desk *d, const cw_role *role, const char *street_id, const char *state,
                     json_t **body);
/* A caregiver: status, freeze history, flagged verdicts and open cases
 * (a street key: its street's cases; 404 when none of the caregiver's
 * cases or orders is of its street). */
int desk_ops_caregiver(desk *d, const cw_role *role, const char *caregiver_id, json_t **body);
int desk_ops_stats(desk *d, const cw_role *role, const char *street_id, const char *from,
                   const char *to, const char *by, json_t **body);
/* The inclusion proof of the order's ledger entry (desk.ledger_dir),
 * checked before it is served: {proof, verified, message}. */
int desk_ops_proof(desk *d, const cw_role *role, const char *order_id, json_t **body);
/* {role, street_id, label} of the key. */
int desk_ops_whoami(const cw_role *role, json_t **body);
/* The caregivers the desk knows a status of (frozen first), for a street
 * those whose freeze case is its street's. */
int desk_ops_caregivers(desk *d, const cw_role *role, json_t **body);
/* An admin's unfreeze, passed on to ingest with the admin's key. */
int desk_ops_unfreeze(desk *d, const cw_role *role, const char *caregiver_id,
                      const char *authorization, json_t *request, json_t **body);
/* Whether the desk is rebuilt and streaming. */
int desk_ops_ready(desk *d);

/* {"error": code, "message": message, "field": field}: a new reference. */
json_t *desk_error(const char *code, const char *message, const char *field);

#endif
