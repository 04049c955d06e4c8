/* Bearer-key authorization: the key table ("<sha256 hex>=<role>[#label]"), resolving
 * an Authorization header to a role, and what each role may do
 * (docs/design.md §3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ingest/auth.h"

/* sha256 of the key text, computed outside the code under test. */
#define SHA_TEST "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_REGISTRY "66bc0d7c87f66e07fd83f7035bab846ceb170def6953b629222ad467266c2430"
#define SHA_IMPORTER "742b794ba37e8a54b277011300440cfbe6319492b623d1c6ad0525150e91efaa"
#define SHA_ADMIN "16175223c8ddce5ace0493c948569c211b03c4c6bb3d3e484434999448cffe01"
#define SHA_P001 "f1e85b801b6794394279f953562ef940b61c466fff93fa8eedd1d49dbe2cbe78"
#define SHA_P002 "04c23ae9506f2e974b29a9f5fa6193f5dc49bbb28192cc9654fd7a512aab666a"

#define KEY_REGISTRY "registry-secret"
#define KEY_IMPORTER "importer-secret"
#define KEY_ADMIN "admin-secret"
#define KEY_P001 "provider-p001-secret"
#define KEY_P002 "provider-p002-secret"

static const char *const standard_entries[] = {
    SHA_REGISTRY "=registry",
    SHA_IMPORTER "=importer",
    SHA_ADMIN "=admin",
    SHA_P001 "=provider:P001",
    SHA_P002 "=provider:P002",
};

static cw_key_table table;
static char err[256];

static int load(const char *const *entries, size_t n)
{
    memset(err, 0, sizeof(err));
    return cw_key_table_load(&table, entries, n, err, sizeof(err));
}

static int load_standard(void **state)
{
    (void)state;
    if (load(standard_entries, 5) != 0)
        fail_msg("standard table rejected: %s", err);
    return 0;
}

static int free_table(void **state)
{
    (void)state;
    cw_key_table_free(&table);
    return 0;
}

/* Loading must fail at position `position` (1-based) without quoting the
 * entry's text. */
static void assert_load_rejected(const char *const *entries, size_t n, const char *position,
                                 const char *secret_part)
{
    assert_int_equal(load(entries, n), -1);
    assert_non_null(strstr(err, position));
    if (secret_part && strstr(err, secret_part))
        fail_msg("the error quotes the entry's content \"%s\": %s", secret_part, err);
    assert_null(table.keys);
    assert_int_equal(table.count, 0);
}

static cw_role_kind role_of(const char *authorization)
{
    cw_role role;
    api_error e;
    memset(&role, 0, sizeof(role));
    if (ingest_authenticate(&table, authorization, &role, &e) != 0)
        fail_msg("\"%s\" was refused: %d %s", authorization, e.status, e.message);
    return role.kind;
}

static void assert_unauthorized(const char *authorization)
{
    cw_role role;
    api_error e;
    memset(&role, 0, sizeof(role));
    memset(&e, 0, sizeof(e));
    if (ingest_authenticate(&table, authorization, &role, &e) != -1)
        fail_msg("\"%s\" was accepted as role %d", authorization ? authorization : "(null)",
                 (int)role.kind);
    assert_int_equal(e.status, 401);
    assert_string_equal(e.code, "unauthorized");
    assert_int_equal(role.kind, CW_ROLE_NONE);
}

/* ---- loading the table --------------------------------------------------------- */

static void load_valid_entries(void **state)
{
    (void)state;
    assert_int_equal(load(standard_entries, 5), 0);
    assert_int_equal(table.count, 5);
    assert_int_equal(table.keys[0].role.kind, CW_ROLE_REGISTRY);
    assert_int_equal(table.keys[1].role.kind, CW_ROLE_IMPORTER);
    assert_int_equal(table.keys[2].role.kind, CW_ROLE_ADMIN);
    assert_int_equal(table.keys[3].role.kind, CW_ROLE_PROVIDER);
    assert_string_equal(table.keys[3].role.provider_id, "P001");
    assert_int_equal(table.keys[4].role.kind, CW_ROLE_PROVIDER);
    assert_string_equal(table.keys[4].role.provider_id, "P002");
    /* The hash is held as bytes. */
    static const unsigned char test_hash_start[4] = {0x66, 0xbc, 0x0d, 0x7c};
    assert_memory_equal(table.keys[0].sha256, test_hash_start, 4);
    assert_int_equal(table.keys[0].sha256[31], 0x30);
}

static void load_empty_table(void **state)
{
    (void)state;
    assert_int_equal(load(NULL, 0), 0);
    assert_int_equal(table.count, 0);
    assert_unauthorized("Bearer test");
}

static void load_accepts_upper_case_hex(void **state)
{
    (void)state;
    static const char *const entries[] = {
        "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08=admin"};
    assert_int_equal(load(entries, 1), 0);
    assert_int_equal(role_of("Bearer test"), CW_ROLE_ADMIN);
}

static void load_provider_id_of_64_chars(void **state)
{
    (void)state;
    static const char *const entries[] = {
        SHA_TEST "=provider:P123456789012345678901234567890123456789012345678901234567890ABC"};
    assert_int_equal(load(entries, 1), 0);
    assert_int_equal(strlen(table.keys[0].role.provider_id), 64);
    assert_string_equal(table.keys[0].role.provider_id,
                        "P123456789012345678901234567890123456789012345678901234567890ABC");
}

static void load_rejects_bad_hex(void **state)
{
    (void)state;
    static const char *const entries[] = {
        SHA_REGISTRY "=registry",
        "zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08=admin"};
    assert_load_rejected(entries, 2, "entry 2", "zz86d081");
}

static void load_rejects_short_hash(void **state)
{
    (void)state;
    static const char *const entries[] = {
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0=admin"};
    assert_load_rejected(entries, 1, "entry 1", "9f86d081");
}

static void load_rejects_long_hash(void **state)
{
    (void)state;
    static const char *const entries[] = {
        SHA_REGISTRY "=registry", SHA_ADMIN "=admin",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08a=admin"};
    assert_load_rejected(entries, 3, "entry 3", "9f86d081");
}

static void load_rejects_unknown_role(void **state)
{
    (void)state;
    static const char *const entries[] = {SHA_TEST "=superuser"};
    assert_load_rejected(entries, 1, "entry 1", "superuser");
}

static void load_rejects_role_in_wrong_case(void **state)
{
    (void)state;
    static const char *const entries[] = {SHA_TEST "=Admin"};
    assert_load_rejected(entries, 1, "entry 1", SHA_TEST);
}

static void load_rejects_provider_with_invalid_id(void **state)
{
    (void)state;
    static const char *const empty_id[] = {SHA_TEST "=provider:"};
    assert_load_rejected(empty_id, 1, "entry 1", SHA_TEST);
    static const char *const space[] = {SHA_REGISTRY "=registry", SHA_TEST "=provider:bad id"};
    assert_load_rejected(space, 2, "entry 2", "bad id");
    static const char *const slash[] = {SHA_TEST "=provider:P/001"};
    assert_load_rejected(slash, 1, "entry 1", "P/001");
    /* ':' begins the provider's own ids, so no provider id holds one. */
    static const char *const colon[] = {SHA_TEST "=provider:P:001"};
    assert_load_rejected(colon, 1, "entry 1", "P:001");
    static const char *const too_long[] = {
        SHA_TEST "=provider:P123456789012345678901234567890123456789012345678901234567890ABCD"};
    assert_load_rejected(too_long, 1, "entry 1", "P1234567890");
    static const char *const bare[] = {SHA_TEST "=provider"};
    assert_load_rejected(bare, 1, "entry 1", SHA_TEST);
}

static void load_rejects_missing_separator(void **state)
{
    (void)state;
    static const char *const no_eq[] = {SHA_TEST};
    assert_load_rejected(no_eq, 1, "entry 1", "9f86d081");
    static const char *const empty[] = {SHA_REGISTRY "=registry", ""};
    assert_load_rejected(empty, 2, "entry 2", NULL);
    static const char *const no_hash[] = {"=admin"};
    assert_load_rejected(no_hash, 1, "entry 1", NULL);
    static const char *const no_role[] = {SHA_TEST "="};
    assert_load_rejected(no_role, 1, "entry 1", "9f86d081");
}

static void load_error_does_not_quote_any_entry(void **state)
{
    (void)state;
    /* The valid entries before the bad one must not leak either. */
    static const char *const entries[] = {SHA_REGISTRY "=registry", SHA_P001 "=provider:P001",
                                          SHA_TEST "=root"};
    assert_load_rejected(entries, 3, "entry 3", "root");
    assert_null(strstr(err, "66bc0d7c"));
    assert_null(strstr(err, "f1e85b80"));
    assert_null(strstr(err, "9f86d081"));
    assert_null(strstr(err, "P001"));
}

/* ---- authenticating a request ------------------------------------------------ */

static void authenticate_each_role(void **state)
{
    (void)state;
    cw_role role;
    api_error e;
    assert_int_equal(role_of("Bearer " KEY_REGISTRY), CW_ROLE_REGISTRY);
    assert_int_equal(role_of("Bearer " KEY_IMPORTER), CW_ROLE_IMPORTER);
    assert_int_equal(role_of("Bearer " KEY_ADMIN), CW_ROLE_ADMIN);
    assert_int_equal(ingest_authenticate(&table, "Bearer " KEY_P001, &role, &e), 0);
    assert_int_equal(role.kind, CW_ROLE_PROVIDER);
    assert_string_equal(role.provider_id, "P001");
    assert_int_equal(ingest_authenticate(&table, "Bearer " KEY_P002, &role, &e), 0);
    assert_int_equal(role.kind, CW_ROLE_PROVIDER);
    assert_string_equal(role.provider_id, "P002");
}

static void authenticate_scheme_is_case_insensitive(void **state)
{
    (void)state;
    assert_int_equal(role_of("bearer " KEY_ADMIN), CW_ROLE_ADMIN);
    assert_int_equal(role_of("BEARER " KEY_ADMIN), CW_ROLE_ADMIN);
    assert_int_equal(role_of("BeArEr " KEY_REGISTRY), CW_ROLE_REGISTRY);
}

static void authenticate_missing_header(void **state)
{
    (void)state;
    assert_unauthorized(NULL);
    assert_unauthorized("");
}

static void authenticate_other_scheme(void **state)
{
    (void)state;
    assert_unauthorized("Basic YWRtaW46YWRtaW4=");
    assert_unauthorized("Basic x");
    assert_unauthorized("Token " KEY_ADMIN);
    assert_unauthorized(KEY_ADMIN);
}

static void authenticate_empty_key(void **state)
{
    (void)state;
    assert_unauthorized("Bearer ");
    assert_unauthorized("Bearer");
    assert_unauthorized("Bearer" KEY_ADMIN);
}

static void authenticate_unknown_key(void **state)
{
    (void)state;
    assert_unauthorized("Bearer test");
    assert_unauthorized("Bearer wrong-key");
    /* Near misses: prefix, extension, case, the hash itself. */
    assert_unauthorized("Bearer admin-secre");
    assert_unauthorized("Bearer admin-secret2");
    assert_unauthorized("Bearer ADMIN-SECRET");
    assert_unauthorized("Bearer " SHA_ADMIN);
}

static void authenticate_error_does_not_echo_key(void **state)
{
    (void)state;
    cw_role role;
    api_error e;
    assert_int_equal(ingest_authenticate(&table, "Bearer guessed-key-1234", &role, &e), -1);
    assert_null(strstr(e.message, "guessed-key-1234"));
    assert_string_equal(e.field, "");
}

/* ---- permissions --------------------------------------------------------------- */

static cw_role make_role(cw_role_kind kind, const char *provider_id)
{
    cw_role r;
    memset(&r, 0, sizeof(r));
    r.kind = kind;
    if (provider_id)
        strcpy(r.provider_id, provider_id);
    return r;
}

static void may_post_reference_per_role(void **state)
{
    (void)state;
    cw_role registry = make_role(CW_ROLE_REGISTRY, NULL), admin = make_role(CW_ROLE_ADMIN, NULL),
              importer = make_role(CW_ROLE_IMPORTER, NULL),
              provider = make_role(CW_ROLE_PROVIDER, "P001"), none = make_role(CW_ROLE_NONE, NULL);
    assert_true(ingest_may_post_reference(&registry));
    assert_true(ingest_may_post_reference(&admin));
    /* Imports of a past period carry their reference data. */
    assert_true(ingest_may_post_reference(&importer));
    assert_false(ingest_may_post_reference(&provider));
    assert_false(ingest_may_post_reference(&none));
}

static void may_unfreeze_only_admin(void **state)
{
    (void)state;
    cw_role registry = make_role(CW_ROLE_REGISTRY, NULL), admin = make_role(CW_ROLE_ADMIN, NULL),
              importer = make_role(CW_ROLE_IMPORTER, NULL),
              provider = make_role(CW_ROLE_PROVIDER, "P001"), none = make_role(CW_ROLE_NONE, NULL);
    assert_true(ingest_may_unfreeze(&admin));
    assert_false(ingest_may_unfreeze(&registry));
    assert_false(ingest_may_unfreeze(&importer));
    assert_false(ingest_may_unfreeze(&provider));
    assert_false(ingest_may_unfreeze(&none));
}

static void may_act_for_provider_own_only(void **state)
{
    (void)state;
    cw_role p1 = make_role(CW_ROLE_PROVIDER, "P001");
    assert_true(ingest_may_act_for_provider(&p1, "P001"));
    assert_false(ingest_may_act_for_provider(&p1, "P002"));
    assert_false(ingest_may_act_for_provider(&p1, "P0011"));
    assert_false(ingest_may_act_for_provider(&p1, "P00"));
    assert_false(ingest_may_act_for_provider(&p1, "p001"));
    assert_false(ingest_may_act_for_provider(&p1, ""));
}

static void may_act_for_provider_importer_and_admin_any(void **state)
{
    (void)state;
    cw_role importer = make_role(CW_ROLE_IMPORTER, NULL), admin = make_role(CW_ROLE_ADMIN, NULL);
    assert_true(ingest_may_act_for_provider(&importer, "P001"));
    assert_true(ingest_may_act_for_provider(&importer, "P999"));
    assert_true(ingest_may_act_for_provider(&admin, "P001"));
    assert_true(ingest_may_act_for_provider(&admin, "P999"));
}

static void may_act_for_provider_registry_and_none_never(void **state)
{
    (void)state;
    cw_role registry = make_role(CW_ROLE_REGISTRY, NULL), none = make_role(CW_ROLE_NONE, NULL);
    assert_false(ingest_may_act_for_provider(&registry, "P001"));
    assert_false(ingest_may_act_for_provider(&none, "P001"));
    /* A stale provider id on a non-provider role grants nothing. */
    cw_role odd = make_role(CW_ROLE_REGISTRY, "P001");
    assert_false(ingest_may_act_for_provider(&odd, "P001"));
}

static void authenticated_provider_acts_for_itself_only(void **state)
{
    (void)state;
    cw_role role;
    api_error e;
    assert_int_equal(ingest_authenticate(&table, "Bearer " KEY_P002, &role, &e), 0);
    assert_true(ingest_may_act_for_provider(&role, "P002"));
    assert_false(ingest_may_act_for_provider(&role, "P001"));
    assert_false(ingest_may_post_reference(&role));
    assert_false(ingest_may_unfreeze(&role));
}

/* Street and command keys (the supervision desk's roles), and labels: the
 * holder's name for audit records, the role's text when none is given. */
static void load_street_command_and_labels(void **state)
{
    (void)state;
    static const char *const entries[] = {
        SHA_TEST "=street:S01#Wang Li, street office",
        SHA_ADMIN "=command",
        SHA_P001 "=provider:P001",
    };
    assert_int_equal(load(entries, 3), 0);
    assert_int_equal(table.keys[0].role.kind, CW_ROLE_STREET);
    assert_string_equal(table.keys[0].role.street_id, "S01");
    assert_string_equal(table.keys[0].role.label, "Wang Li, street office");
    assert_int_equal(table.keys[1].role.kind, CW_ROLE_COMMAND);
    assert_string_equal(table.keys[1].role.label, "command");
    assert_string_equal(table.keys[2].role.label, "provider:P001");
    assert_string_equal(cw_role_kind_name(table.keys[0].role.kind), "street");
    assert_int_equal(role_of("Bearer " KEY_ADMIN), CW_ROLE_COMMAND);
}

static void load_rejects_bad_street_and_label(void **state)
{
    (void)state;
    static const char *const no_street[] = {SHA_TEST "=street:"};
    assert_load_rejected(no_street, 1, "entry 1", NULL);
    static const char *const colon[] = {SHA_TEST "=street:S:01"};
    assert_load_rejected(colon, 1, "entry 1", NULL);
    static const char *const empty_label[] = {SHA_TEST "=command#"};
    assert_load_rejected(empty_label, 1, "entry 1", NULL);
    static const char *const quote[] = {SHA_TEST "=admin#the \"boss\""};
    assert_load_rejected(quote, 1, "entry 1", NULL);
    static const char *const control[] = {SHA_TEST "=admin#a\nb"};
    assert_load_rejected(control, 1, "entry 1", NULL);
}

static void street_and_command_keys_post_nothing_to_ingest(void **state)
{
    (void)state;
    cw_role street = {.kind = CW_ROLE_STREET, .street_id = "S01"};
    cw_role command = {.kind = CW_ROLE_COMMAND};
    assert_false(ingest_may_post_reference(&street));
    assert_false(ingest_may_post_reference(&command));
    assert_false(ingest_may_unfreeze(&command));
    assert_false(ingest_may_act_for_provider(&street, "S01"));
    assert_false(ingest_may_act_for_provider(&command, "P001"));
}

#define WITH_TABLE(fn) cmocka_unit_test_setup_teardown(fn, load_standard, free_table)
#define FREES_TABLE(fn) cmocka_unit_test_teardown(fn, free_table)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FREES_TABLE(load_valid_entries),
        FREES_TABLE(load_empty_table),
        FREES_TABLE(load_accepts_upper_case_hex),
        FREES_TABLE(load_provider_id_of_64_chars),
        FREES_TABLE(load_rejects_bad_hex),
        FREES_TABLE(load_rejects_short_hash),
        FREES_TABLE(load_rejects_long_hash),
        FREES_TABLE(load_rejects_unknown_role),
        FREES_TABLE(load_rejects_role_in_wrong_case),
        FREES_TABLE(load_rejects_provider_with_invalid_id),
        FREES_TABLE(load_rejects_missing_separator),
        FREES_TABLE(load_error_does_not_quote_any_entry),
        FREES_TABLE(load_street_command_and_labels),
        FREES_TABLE(load_rejects_bad_street_and_label),
        cmocka_unit_test(street_and_command_keys_post_nothing_to_ingest),
        WITH_TABLE(authenticate_each_role),
        WITH_TABLE(authenticate_scheme_is_case_insensitive),
        WITH_TABLE(authenticate_missing_header),
        WITH_TABLE(authenticate_other_scheme),
        WITH_TABLE(authenticate_empty_key),
        WITH_TABLE(authenticate_unknown_key),
        WITH_TABLE(authenticate_error_does_not_echo_key),
        cmocka_unit_test(may_post_reference_per_role),
        cmocka_unit_test(may_unfreeze_only_admin),
        cmocka_unit_test(may_act_for_provider_own_only),
        cmocka_unit_test(may_act_for_provider_importer_and_admin_any),
        cmocka_unit_test(may_act_for_provider_registry_and_none_never),
        WITH_TABLE(authenticated_provider_acts_for_itself_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
