/* Request line -> ingest operation (docs/design.md §3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>

#include <string.h>

#include "ingest/routes.h"

static void assert_submit(const char *url, request_type type)
{
    route r = ingest_route_request("POST", url);
    if (r.kind != ROUTE_SUBMIT || r.type != type || !r.method_allowed)
        fail_msg("POST %s: kind %d type %d allowed %d", url, (int)r.kind, (int)r.type,
                 r.method_allowed);
}

static void assert_not_found(const char *method, const char *url)
{
    route r = ingest_route_request(method, url);
    if (r.kind != ROUTE_NOT_FOUND)
        fail_msg("%s %s: expected not found, got kind %d", method, url, (int)r.kind);
    /* Not found is 404, never 405. */
    assert_true(r.method_allowed);
}

static void assert_method_not_allowed(const char *method, const char *url, route_kind kind)
{
    route r = ingest_route_request(method, url);
    if (r.kind != kind || r.method_allowed)
        fail_msg("%s %s: expected kind %d not allowed, got kind %d allowed %d", method, url,
                 (int)kind, (int)r.kind, r.method_allowed);
}

/* ---- record submissions --------------------------------------------------------- */

static void post_each_record_path(void **state)
{
    (void)state;
    assert_submit("/v1/elders", REQ_ELDER);
    assert_submit("/v1/caregivers", REQ_CAREGIVER);
    assert_submit("/v1/contracts", REQ_CONTRACT);
    assert_submit("/v1/orders", REQ_ORDER);
    assert_submit("/v1/visits/check-in", REQ_CHECK_IN);
    assert_submit("/v1/visits/check-out", REQ_CHECK_OUT);
    assert_submit("/v1/visits/evidence", REQ_EVIDENCE);
}

static void get_on_record_paths_is_405(void **state)
{
    (void)state;
    assert_method_not_allowed("GET", "/v1/orders", ROUTE_SUBMIT);
    assert_method_not_allowed("GET", "/v1/elders", ROUTE_SUBMIT);
    assert_method_not_allowed("GET", "/v1/caregivers", ROUTE_SUBMIT);
    assert_method_not_allowed("GET", "/v1/contracts", ROUTE_SUBMIT);
    assert_method_not_allowed("GET", "/v1/visits/check-in", ROUTE_SUBMIT);
    assert_method_not_allowed("GET", "/v1/visits/check-out", ROUTE_SUBMIT);
    assert_method_not_allowed("GET", "/v1/visits/evidence", ROUTE_SUBMIT);
}

static void other_methods_on_record_paths_are_405(void **state)
{
    (void)state;
    assert_method_not_allowed("PUT", "/v1/orders", ROUTE_SUBMIT);
    assert_method_not_allowed("DELETE", "/v1/orders", ROUTE_SUBMIT);
    assert_method_not_allowed("PATCH", "/v1/elders", ROUTE_SUBMIT);
    assert_method_not_allowed("HEAD", "/v1/orders", ROUTE_SUBMIT);
    assert_method_not_allowed("OPTIONS", "/v1/visits/check-in", ROUTE_SUBMIT);
    /* Methods are case-sensitive (RFC 9110). */
    assert_method_not_allowed("post", "/v1/orders", ROUTE_SUBMIT);
}

static void method_not_allowed_keeps_record_type(void **state)
{
    (void)state;
    route r = ingest_route_request("GET", "/v1/visits/check-out");
    assert_int_equal(r.kind, ROUTE_SUBMIT);
    assert_int_equal(r.type, REQ_CHECK_OUT);
    assert_false(r.method_allowed);
}

/* ---- batch --------------------------------------------------------------------- */

static void batch_post_only(void **state)
{
    (void)state;
    route r = ingest_route_request("POST", "/v1/batch");
    assert_int_equal(r.kind, ROUTE_BATCH);
    assert_true(r.method_allowed);
    assert_method_not_allowed("GET", "/v1/batch", ROUTE_BATCH);
    assert_method_not_allowed("PUT", "/v1/batch", ROUTE_BATCH);
}

/* ---- unfreeze ------------------------------------------------------------------ */

static void unfreeze_extracts_id(void **state)
{
    (void)state;
    route r = ingest_route_request("POST", "/v1/caregivers/CG-001/unfreeze");
    assert_int_equal(r.kind, ROUTE_UNFREEZE);
    assert_true(r.method_allowed);
    assert_string_equal(r.path_id, "CG-001");
    r = ingest_route_request("POST", "/v1/caregivers/a.b_c:d-9/unfreeze");
    assert_int_equal(r.kind, ROUTE_UNFREEZE);
    assert_string_equal(r.path_id, "a.b_c:d-9");
    r = ingest_route_request("POST", "/v1/caregivers/X/unfreeze");
    assert_int_equal(r.kind, ROUTE_UNFREEZE);
    assert_string_equal(r.path_id, "X");
}

static void unfreeze_id_of_64_chars(void **state)
{
    (void)state;
    const char *id = "C123456789012345678901234567890123456789012345678901234567890ABC";
    char url[128];
    assert_int_equal(strlen(id), 64);
    snprintf(url, sizeof(url), "/v1/caregivers/%s/unfreeze", id);
    route r = ingest_route_request("POST", url);
    assert_int_equal(r.kind, ROUTE_UNFREEZE);
    assert_string_equal(r.path_id, id);
}

static void unfreeze_overlong_id_does_not_overflow(void **state)
{
    (void)state;
    char url[512], id[301];
    memset(id, 'A', 300);
    id[300] = '\0';
    snprintf(url, sizeof(url), "/v1/caregivers/%s/unfreeze", id);
    route r = ingest_route_request("POST", url);
    /* Either refused here or left for id validation; never truncated. */
    if (r.kind == ROUTE_UNFREEZE)
        assert_string_equal(r.path_id, id);
    else
        assert_int_equal(r.kind, ROUTE_NOT_FOUND);
}

static void elder_status_extracts_id(void **state)
{
    (void)state;
    route r = ingest_route_request("POST", "/v1/elders/E-001/status");
    assert_int_equal(r.kind, ROUTE_ELDER_STATUS);
    assert_true(r.method_allowed);
    assert_string_equal(r.path_id, "E-001");
    assert_int_equal(ingest_route_request("POST", "/v1/elders//status").kind, ROUTE_NOT_FOUND);
    assert_int_equal(ingest_route_request("POST", "/v1/elders/E/1/status").kind, ROUTE_NOT_FOUND);
    assert_int_equal(ingest_route_request("POST", "/v1/elders/E-001").kind, ROUTE_NOT_FOUND);
    assert_method_not_allowed("GET", "/v1/elders/E-001/status", ROUTE_ELDER_STATUS);
}

static void unfreeze_get_is_405(void **state)
{
    (void)state;
    route r = ingest_route_request("GET", "/v1/caregivers/CG-001/unfreeze");
    assert_int_equal(r.kind, ROUTE_UNFREEZE);
    assert_false(r.method_allowed);
    assert_method_not_allowed("DELETE", "/v1/caregivers/CG-001/unfreeze", ROUTE_UNFREEZE);
}

static void unfreeze_ids_with_slashes_rejected(void **state)
{
    (void)state;
    assert_not_found("POST", "/v1/caregivers/a/b/unfreeze");
    assert_not_found("POST", "/v1/caregivers/CG-001/x/unfreeze");
    assert_not_found("POST", "/v1/caregivers/../unfreeze/unfreeze");
    assert_not_found("POST", "/v1/caregivers//unfreeze");
    assert_not_found("POST", "/v1/caregivers///unfreeze");
}

static void unfreeze_malformed_paths(void **state)
{
    (void)state;
    assert_not_found("POST", "/v1/caregivers/unfreeze");
    assert_not_found("POST", "/v1/caregivers/CG-001");
    assert_not_found("POST", "/v1/caregivers/CG-001/unfreeze/");
    assert_not_found("POST", "/v1/caregivers/CG-001/unfreezeX");
    assert_not_found("POST", "/v1/caregivers/CG-001/freeze");
    assert_not_found("POST", "/v1/caregiver/CG-001/unfreeze");
    assert_not_found("POST", "/caregivers/CG-001/unfreeze");
    assert_not_found("POST", "v1/caregivers/CG-001/unfreeze");
}

/* ---- probes -------------------------------------------------------------------- */

static void probes_get(void **state)
{
    (void)state;
    static const char *const probes[] = {"/livez", "/healthz", "/readyz", "/metrics"};
    for (size_t i = 0; i < 4; i++) {
        route r = ingest_route_request("GET", probes[i]);
        assert_int_equal(r.kind, ROUTE_PROBE);
        assert_true(r.method_allowed);
        r = ingest_route_request("HEAD", probes[i]);
        assert_int_equal(r.kind, ROUTE_PROBE);
        assert_true(r.method_allowed);
    }
}

static void probes_post_not_allowed(void **state)
{
    (void)state;
    assert_method_not_allowed("POST", "/livez", ROUTE_PROBE);
    assert_method_not_allowed("POST", "/healthz", ROUTE_PROBE);
    assert_method_not_allowed("POST", "/readyz", ROUTE_PROBE);
    assert_method_not_allowed("POST", "/metrics", ROUTE_PROBE);
    assert_method_not_allowed("DELETE", "/metrics", ROUTE_PROBE);
}

/* ---- unknown paths ------------------------------------------------------------- */

static void unknown_paths_404(void **state)
{
    (void)state;
    assert_not_found("GET", "/");
    assert_not_found("POST", "/");
    assert_not_found("GET", "");
    assert_not_found("POST", "/v1");
    assert_not_found("POST", "/v1/");
    assert_not_found("POST", "/v1/orders/");
    assert_not_found("POST", "/v1/orders/O1");
    assert_not_found("POST", "/v1/Orders");
    assert_not_found("POST", "/V1/orders");
    assert_not_found("POST", "/v2/orders");
    assert_not_found("POST", "/v1/order");
    assert_not_found("POST", "/v1/visits");
    assert_not_found("POST", "/v1/visits/checkin");
    assert_not_found("POST", "/v1/visits/check-in/");
    assert_not_found("POST", "/v1//orders");
    assert_not_found("POST", "//v1/orders");
    assert_not_found("POST", "/v1/batch/");
    assert_not_found("GET", "/livez/");
    assert_not_found("GET", "/health");
    assert_not_found("GET", "/metrics.txt");
    assert_not_found("GET", "/v1/unfreeze");
}

static void unknown_paths_404_for_any_method(void **state)
{
    (void)state;
    assert_not_found("DELETE", "/nope");
    assert_not_found("PUT", "/v1/something");
    assert_not_found("BREW", "/coffee");
}

/* ---- which roles may use a route, from the headers alone ---------------------- */

static int allowed(const char *url, cw_role_kind kind)
{
    route r = ingest_route_request("POST", url);
    cw_role role = {.kind = kind};
    snprintf(role.provider_id, sizeof(role.provider_id), "P01");
    api_error err = {0};
    int rc = ingest_route_role_check(&r, &role, &err);
    if (rc != 0)
        assert_int_equal(err.status, 403);
    return rc == 0;
}

static void reference_data_needs_registry_importer_or_admin(void **state)
{
    (void)state;
    static const char *const urls[] = {"/v1/elders", "/v1/caregivers", "/v1/contracts"};
    for (size_t i = 0; i < 3; i++) {
        assert_true(allowed(urls[i], CW_ROLE_REGISTRY));
        assert_true(allowed(urls[i], CW_ROLE_IMPORTER));
        assert_true(allowed(urls[i], CW_ROLE_ADMIN));
        assert_false(allowed(urls[i], CW_ROLE_PROVIDER));
    }
}

static void orders_and_visits_refuse_the_registry(void **state)
{
    (void)state;
    static const char *const urls[] = {"/v1/orders", "/v1/visits/check-in",
                                       "/v1/visits/check-out", "/v1/visits/evidence"};
    for (size_t i = 0; i < 4; i++) {
        assert_false(allowed(urls[i], CW_ROLE_REGISTRY));
        assert_true(allowed(urls[i], CW_ROLE_PROVIDER));
        assert_true(allowed(urls[i], CW_ROLE_IMPORTER));
    }
}

static void orders_and_visits_refuse_street_and_command_keys(void **state)
{
    (void)state;
    static const char *const urls[] = {"/v1/orders", "/v1/visits/check-in",
                                       "/v1/visits/check-out", "/v1/visits/evidence"};
    for (size_t i = 0; i < 4; i++) {
        assert_false(allowed(urls[i], CW_ROLE_STREET));
        assert_false(allowed(urls[i], CW_ROLE_COMMAND));
        assert_true(allowed(urls[i], CW_ROLE_ADMIN));
    }
}

/* ---- an order's maintenance (docs/maintenance.md) -------------------------------- */

static void assert_change(const char *url, change_action action, const char *order_id)
{
    route r = ingest_route_request("POST", url);
    if (r.kind != ROUTE_ORDER_CHANGE || r.change != action || !r.method_allowed ||
        strcmp(r.path_id, order_id) != 0)
        fail_msg("POST %s: kind %d change %d allowed %d id %s", url, (int)r.kind,
                 (int)r.change, r.method_allowed, r.path_id);
}

static void change_paths_extract_the_order(void **state)
{
    (void)state;
    assert_change("/v1/orders/P01:O-1/cancel", CHANGE_CANCEL, "P01:O-1");
    assert_change("/v1/orders/P01:O-1/reschedule", CHANGE_RESCHEDULE, "P01:O-1");
    assert_change("/v1/orders/O.2/reassign", CHANGE_REASSIGN, "O.2");
    assert_change("/v1/orders/O_3/approve-change", CHANGE_APPROVE, "O_3");
    assert_method_not_allowed("GET", "/v1/orders/O1/cancel", ROUTE_ORDER_CHANGE);
    assert_method_not_allowed("PUT", "/v1/orders/O1/approve-change", ROUTE_ORDER_CHANGE);
    assert_not_found("POST", "/v1/orders//cancel");
    assert_not_found("POST", "/v1/orders/a/b/cancel");
    assert_not_found("POST", "/v1/orders/O1/cancel/");
    assert_not_found("POST", "/v1/orders/O1/approve");
    assert_not_found("POST", "/v1/orders/O1/Cancel");
}

static void changes_are_the_providers_approvals_the_streets(void **state)
{
    (void)state;
    static const char *const asks[] = {"/v1/orders/O1/cancel", "/v1/orders/O1/reschedule",
                                       "/v1/orders/O1/reassign"};
    for (size_t i = 0; i < 3; i++) {
        assert_true(allowed(asks[i], CW_ROLE_PROVIDER));
        assert_true(allowed(asks[i], CW_ROLE_IMPORTER));
        assert_true(allowed(asks[i], CW_ROLE_ADMIN));
        assert_false(allowed(asks[i], CW_ROLE_REGISTRY));
        assert_false(allowed(asks[i], CW_ROLE_STREET));
        assert_false(allowed(asks[i], CW_ROLE_COMMAND));
    }
    const char *approve = "/v1/orders/O1/approve-change";
    assert_true(allowed(approve, CW_ROLE_STREET));
    assert_true(allowed(approve, CW_ROLE_ADMIN));
    assert_false(allowed(approve, CW_ROLE_PROVIDER));
    assert_false(allowed(approve, CW_ROLE_IMPORTER));
    assert_false(allowed(approve, CW_ROLE_REGISTRY));
    assert_false(allowed(approve, CW_ROLE_COMMAND));
}

static void a_street_approves_for_its_own_street(void **state)
{
    (void)state;
    cw_role street = {.kind = CW_ROLE_STREET}, admin = {.kind = CW_ROLE_ADMIN};
    cw_role provider = {.kind = CW_ROLE_PROVIDER};
    snprintf(street.street_id, sizeof(street.street_id), "S01");
    snprintf(provider.provider_id, sizeof(provider.provider_id), "S01");
    assert_true(ingest_may_approve_for_street(&street, "S01"));
    assert_false(ingest_may_approve_for_street(&street, "S02"));
    assert_false(ingest_may_approve_for_street(&street, "S0"));
    assert_true(ingest_may_approve_for_street(&admin, "S02"));
    assert_false(ingest_may_approve_for_street(&provider, "S01"));
}

static void unfreeze_is_for_admins_and_batches_for_all(void **state)
{
    (void)state;
    assert_true(allowed("/v1/caregivers/CG1/unfreeze", CW_ROLE_ADMIN));
    assert_false(allowed("/v1/caregivers/CG1/unfreeze", CW_ROLE_PROVIDER));
    assert_false(allowed("/v1/caregivers/CG1/unfreeze", CW_ROLE_IMPORTER));
    assert_true(allowed("/v1/batch", CW_ROLE_REGISTRY));
    assert_true(allowed("/v1/batch", CW_ROLE_PROVIDER));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(post_each_record_path),
        cmocka_unit_test(reference_data_needs_registry_importer_or_admin),
        cmocka_unit_test(orders_and_visits_refuse_the_registry),
        cmocka_unit_test(unfreeze_is_for_admins_and_batches_for_all),
        cmocka_unit_test(orders_and_visits_refuse_street_and_command_keys),
        cmocka_unit_test(change_paths_extract_the_order),
        cmocka_unit_test(changes_are_the_providers_approvals_the_streets),
        cmocka_unit_test(a_street_approves_for_its_own_street),
        cmocka_unit_test(get_on_record_paths_is_405),
        cmocka_unit_test(other_methods_on_record_paths_are_405),
        cmocka_unit_test(method_not_allowed_keeps_record_type),
        cmocka_unit_test(batch_post_only),
        cmocka_unit_test(unfreeze_extracts_id),
        cmocka_unit_test(unfreeze_id_of_64_chars),
        cmocka_unit_test(unfreeze_overlong_id_does_not_overflow),
        cmocka_unit_test(unfreeze_get_is_405),
        cmocka_unit_test(elder_status_extracts_id),
        cmocka_unit_test(unfreeze_ids_with_slashes_rejected),
        cmocka_unit_test(unfreeze_malformed_paths),
        cmocka_unit_test(probes_get),
        cmocka_unit_test(probes_post_not_allowed),
        cmocka_unit_test(unknown_paths_404),
        cmocka_unit_test(unknown_paths_404_for_any_method),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
