#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"

#define DATA_DIR CW_SOURCE_DIR "/tests/unit/data/"

static const cw_cfg_spec test_spec[] = {
    {.key = "test.name", .type = CW_CFG_STRING, .default_value = "anonymous"},
    {.key = "test.count", .type = CW_CFG_INT, .default_value = "3", .min = 1, .max = 100},
    {.key = "test.ratio", .type = CW_CFG_DOUBLE, .default_value = "0.5", .min = 0, .max = 1},
    {.key = "test.enabled", .type = CW_CFG_BOOL, .default_value = "false"},
    {.key = "test.tags", .type = CW_CFG_LIST, .default_value = " a, b ,,"},
    {.key = "test.mode", .type = CW_CFG_STRING, .default_value = "slow", .choices = "slow|fast"},
    {.key = "test.dash-key", .type = CW_CFG_STRING},
    {.key = "test.pin", .type = CW_CFG_INT, .default_value = "1234", .min = 1000, .max = 9999,
     .secret = 1},
    {.key = "test.big", .type = CW_CFG_INT},
    {.key = NULL},
};

static const cw_cfg_spec *const all_specs[] = {cw_config_common_spec, test_spec, NULL};

static char *no_env[] = {NULL};

static char err[512];

static cw_config *load(const char *path, char **envp)
{
    err[0] = '\0';
    return cw_config_load(all_specs, path, envp, err, sizeof(err));
}

/* Loading must fail; returns the message. */
static const char *load_error(const char *path, char **envp)
{
    cw_config *cfg = load(path, envp);
    if (cfg) {
        cw_config_free(cfg);
        fail_msg("expected %s to be rejected", path ? path : "the environment");
    }
    assert_true(err[0] != '\0');
    return err;
}

static void assert_file_error(const char *fixture, const char *expected_after_path)
{
    char path[512];
    char expected[1024];
    snprintf(path, sizeof(path), DATA_DIR "%s", fixture);
    snprintf(expected, sizeof(expected), "%s%s", path, expected_after_path);
    assert_string_equal(load_error(path, no_env), expected);
}

static void assert_env_error(const char *assignment, const char *expected)
{
    char *envp[] = {(char *)assignment, NULL};
    assert_string_equal(load_error(NULL, envp), expected);
}

/* A temporary YAML file with the given text; the caller unlinks it. */
static void write_temp_yaml(char *path, size_t len, const char *text)
{
    snprintf(path, len, "/tmp/cw_test_config_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static void test_defaults(void **state)
{
    (void)state;
    cw_config *cfg = load(NULL, no_env);
    assert_non_null(cfg);
    assert_string_equal(cw_config_str(cfg, "kafka.brokers"), "127.0.0.1:9092");
    assert_int_equal(cw_config_int(cfg, "kafka.message_timeout_ms"), 10000);
    size_t n = 99;
    const char *const *extra = cw_config_list(cfg, "kafka.extra", &n);
    assert_int_equal(n, 0);
    assert_null(extra[0]);
    assert_string_equal(cw_config_str(cfg, "redis.host"), "127.0.0.1");
    assert_int_equal(cw_config_int(cfg, "redis.port"), 6379);
    assert_string_equal(cw_config_str(cfg, "redis.password"), "");
    assert_int_equal(cw_config_int(cfg, "redis.timeout_ms"), 2000);
    assert_string_equal(cw_config_str(cfg, "admin.bind"), "127.0.0.1");
    assert_int_equal(cw_config_int(cfg, "admin.port"), 9100);
    assert_string_equal(cw_config_str(cfg, "log.level"), "info");
    assert_string_equal(cw_config_str(cfg, "time.mode"), "live");
    assert_int_equal(cw_config_int(cfg, "time.utc_offset_minutes"), 480);

    assert_string_equal(cw_config_str(cfg, "test.name"), "anonymous");
    assert_int_equal(cw_config_int(cfg, "test.count"), 3);
    assert_true(cw_config_double(cfg, "test.ratio") == 0.5);
    assert_false(cw_config_bool(cfg, "test.enabled"));
    const char *const *tags = cw_config_list(cfg, "test.tags", &n);
    assert_int_equal(n, 2);
    assert_string_equal(tags[0], "a");
    assert_string_equal(tags[1], "b");
    assert_null(tags[2]);
    assert_string_equal(cw_config_str(cfg, "test.dash-key"), "");
    assert_int_equal(cw_config_int(cfg, "test.big"), 0);
    cw_config_free(cfg);
}

static void test_instance_id_defaults_to_host_and_pid(void **state)
{
    (void)state;
    cw_config *cfg = load(NULL, no_env);
    assert_non_null(cfg);
    char suffix[32];
    snprintf(suffix, sizeof(suffix), "-%ld", (long)getpid());
    const char *id = cw_config_str(cfg, "service.instance_id");
    assert_true(strlen(id) > strlen(suffix));
    assert_string_equal(id + strlen(id) - strlen(suffix), suffix);
    cw_config_free(cfg);
}

static void test_file_sets_every_type(void **state)
{
    (void)state;
    cw_config *cfg = load(DATA_DIR "config_full.yaml", no_env);
    assert_non_null(cfg);
    assert_string_equal(cw_config_str(cfg, "kafka.brokers"), "kafka-1:9092,kafka-2:9092");
    assert_int_equal(cw_config_int(cfg, "kafka.message_timeout_ms"), 5000);
    size_t n = 0;
    const char *const *extra = cw_config_list(cfg, "kafka.extra", &n);
    assert_int_equal(n, 2);
    assert_string_equal(extra[0], "security.protocol=SASL_SSL");
    assert_string_equal(extra[1], "sasl.mechanism=PLAIN");
    assert_string_equal(cw_config_str(cfg, "redis.host"), "redis.internal");
    assert_int_equal(cw_config_int(cfg, "redis.port"), 6380);
    assert_string_equal(cw_config_str(cfg, "redis.password"), "s3cret-redis");
    assert_int_equal(cw_config_int(cfg, "redis.timeout_ms"), 1500);
    assert_string_equal(cw_config_str(cfg, "admin.bind"), "0.0.0.0");
    assert_int_equal(cw_config_int(cfg, "admin.port"), 0);
    assert_string_equal(cw_config_str(cfg, "log.level"), "debug");
    assert_string_equal(cw_config_str(cfg, "time.mode"), "replay");
    assert_int_equal(cw_config_int(cfg, "time.utc_offset_minutes"), -300);
    assert_string_equal(cw_config_str(cfg, "service.instance_id"), "ingest-7");

    assert_string_equal(cw_config_str(cfg, "test.name"), "护理员 Zhang");
    assert_int_equal(cw_config_int(cfg, "test.count"), 42);
    assert_true(cw_config_double(cfg, "test.ratio") == 0.25);
    assert_true(cw_config_bool(cfg, "test.enabled"));
    const char *const *tags = cw_config_list(cfg, "test.tags", &n);
    assert_int_equal(n, 3);
    assert_string_equal(tags[0], "red");
    assert_string_equal(tags[2], "yellow");
    assert_string_equal(cw_config_str(cfg, "test.mode"), "fast");
    assert_string_equal(cw_config_str(cfg, "test.dash-key"), "dashed");
    assert_int_equal(cw_config_int(cfg, "test.pin"), 4321);
    assert_true(cw_config_int(cfg, "test.big") == INT64_MIN);
    cw_config_free(cfg);
}

static void test_env_beats_file(void **state)
{
    (void)state;
    char *envp[] = {
        "PATH=/usr/bin",
        "CAREWATCH_REDIS_PORT=7000",
        "CAREWATCH_REDIS_PASSWORD=",
        "CAREWATCH_TEST_NAME=from env",
        "CAREWATCH_TEST_RATIO=1",
        "CAREWATCH_TEST_ENABLED=OFF",
        "CAREWATCH_TEST_TAGS= x , y,z ",
        "CAREWATCH_KAFKA_EXTRA=",
        "CAREWATCH_TEST_DASH_KEY=env-dash",
        "CAREWATCH_REDIS_PORT=7001",
        "CAREWATCH_UNRELATED_KEY=ignored",
        NULL,
    };
    cw_config *cfg = load(DATA_DIR "config_full.yaml", envp);
    assert_non_null(cfg);
    assert_int_equal(cw_config_int(cfg, "redis.port"), 7000);
    assert_string_equal(cw_config_str(cfg, "redis.password"), "");
    assert_string_equal(cw_config_str(cfg, "redis.host"), "redis.internal");
    assert_string_equal(cw_config_str(cfg, "test.name"), "from env");
    assert_true(cw_config_double(cfg, "test.ratio") == 1.0);
    assert_false(cw_config_bool(cfg, "test.enabled"));
    size_t n = 0;
    const char *const *tags = cw_config_list(cfg, "test.tags", &n);
    assert_int_equal(n, 3);
    assert_string_equal(tags[0], "x");
    assert_string_equal(tags[1], "y");
    assert_string_equal(tags[2], "z");
    assert_null(tags[3]);
    cw_config_list(cfg, "kafka.extra", &n);
    assert_int_equal(n, 0);
    assert_string_equal(cw_config_str(cfg, "test.dash-key"), "env-dash");
    cw_config_free(cfg);
}

static void test_env_name(void **state)
{
    (void)state;
    char name[CW_CFG_ENV_NAME_MAX];
    assert_int_equal(cw_config_env_name("kafka.message_timeout_ms", name, sizeof(name)), 0);
    assert_string_equal(name, "CAREWATCH_KAFKA_MESSAGE_TIMEOUT_MS");
    assert_int_equal(cw_config_env_name("test.dash-key", name, sizeof(name)), 0);
    assert_string_equal(name, "CAREWATCH_TEST_DASH_KEY");
    assert_int_equal(cw_config_env_name("kafka.brokers", name, 10), -1);
}

static void test_bools(void **state)
{
    (void)state;
    static const struct {
        const char *env;
        int value;
    } cases[] = {
        {"CAREWATCH_TEST_ENABLED=true", 1}, {"CAREWATCH_TEST_ENABLED=False", 0},
        {"CAREWATCH_TEST_ENABLED=yes", 1},  {"CAREWATCH_TEST_ENABLED=NO", 0},
        {"CAREWATCH_TEST_ENABLED=on", 1},   {"CAREWATCH_TEST_ENABLED=off", 0},
        {"CAREWATCH_TEST_ENABLED=1", 1},    {"CAREWATCH_TEST_ENABLED=0", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *envp[] = {(char *)cases[i].env, NULL};
        cw_config *cfg = load(NULL, envp);
        assert_non_null(cfg);
        assert_int_equal(cw_config_bool(cfg, "test.enabled"), cases[i].value);
        cw_config_free(cfg);
    }
}

static void test_numbers_edge_values(void **state)
{
    (void)state;
    char *envp[] = {"CAREWATCH_TEST_BIG=9223372036854775807", "CAREWATCH_TEST_COUNT=+100",
                    "CAREWATCH_TEST_RATIO=1e-1", NULL};
    cw_config *cfg = load(NULL, envp);
    assert_non_null(cfg);
    assert_true(cw_config_int(cfg, "test.big") == INT64_MAX);
    assert_int_equal(cw_config_int(cfg, "test.count"), 100);
    assert_true(cw_config_double(cfg, "test.ratio") == 0.1);
    cw_config_free(cfg);
}

static void test_env_wrong_types(void **state)
{
    (void)state;
    assert_env_error("CAREWATCH_REDIS_PORT=abc", "environment variable CAREWATCH_REDIS_PORT: "
                                                 "key 'redis.port': expected an integer, got 'abc'");
    assert_env_error("CAREWATCH_REDIS_PORT=", "environment variable CAREWATCH_REDIS_PORT: "
                                              "key 'redis.port': expected an integer, got ''");
    assert_env_error("CAREWATCH_REDIS_PORT= 80", "environment variable CAREWATCH_REDIS_PORT: "
                                                 "key 'redis.port': expected an integer, got ' 80'");
    assert_env_error("CAREWATCH_REDIS_PORT=80.5", "environment variable CAREWATCH_REDIS_PORT: "
                                                  "key 'redis.port': expected an integer, got "
                                                  "'80.5'");
    assert_env_error("CAREWATCH_TEST_BIG=9223372036854775808",
                     "environment variable CAREWATCH_TEST_BIG: key 'test.big': "
                     "'9223372036854775808' does not fit in a 64-bit integer");
    assert_env_error("CAREWATCH_TEST_RATIO=fast", "environment variable CAREWATCH_TEST_RATIO: "
                                                  "key 'test.ratio': expected a finite number, "
                                                  "got 'fast'");
    assert_env_error("CAREWATCH_TEST_RATIO=nan", "environment variable CAREWATCH_TEST_RATIO: "
                                                 "key 'test.ratio': expected a finite number, "
                                                 "got 'nan'");
    assert_env_error("CAREWATCH_TEST_RATIO=0.5x", "environment variable CAREWATCH_TEST_RATIO: "
                                                  "key 'test.ratio': expected a finite number, "
                                                  "got '0.5x'");
    assert_env_error("CAREWATCH_TEST_ENABLED=maybe",
                     "environment variable CAREWATCH_TEST_ENABLED: key 'test.enabled': expected "
                     "a boolean (true/false, yes/no, on/off, 1/0), got 'maybe'");
}

static void test_file_wrong_types(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        const char *expected;
    } cases[] = {
        {"test:\n  count: many\n", ":2: key 'test.count': expected an integer, got 'many'"},
        {"test:\n  count: 0x10\n", ":2: key 'test.count': expected an integer, got '0x10'"},
        {"test:\n  ratio: .inf\n", ":2: key 'test.ratio': expected a finite number, got '.inf'"},
        {"test:\n  enabled: sometimes\n",
         ":2: key 'test.enabled': expected a boolean (true/false, yes/no, on/off, 1/0), got "
         "'sometimes'"},
        {"test:\n  name: [a, b]\n", ":2: key 'test.name': expected a string, got a list"},
        {"test:\n  tags: {a: 1}\n", ":2: key 'test.tags': expected a list, got a mapping"},
        {"test:\n  tags:\n    - a\n    - [b]\n",
         ":4: key 'test.tags': list items must be single values, got a list"},
        {"test: 5\n", ":1: key 'test': expected a mapping of keys"},
        {"? [a]\n: 1\n", ":1: keys must be plain names, not a list"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[64];
        char expected[256];
        write_temp_yaml(path, sizeof(path), cases[i].yaml);
        snprintf(expected, sizeof(expected), "%s%s", path, cases[i].expected);
        const char *message = load_error(path, no_env);
        unlink(path);
        assert_string_equal(message, expected);
    }
}

static void test_list_from_yaml_forms(void **state)
{
    (void)state;
    char path[64];
    write_temp_yaml(path, sizeof(path),
                    "kafka:\n  extra:\n    - a=1\n    - \"b=2, still one item\"\n"
                    "test:\n  tags: []\n");
    cw_config *cfg = load(path, no_env);
    unlink(path);
    assert_non_null(cfg);
    size_t n = 0;
    const char *const *extra = cw_config_list(cfg, "kafka.extra", &n);
    assert_int_equal(n, 2);
    assert_string_equal(extra[0], "a=1");
    assert_string_equal(extra[1], "b=2, still one item");
    cw_config_list(cfg, "test.tags", &n);
    assert_int_equal(n, 0);
    cw_config_free(cfg);
}

static void test_dotted_keys_in_file(void **state)
{
    (void)state;
    char path[64];
    write_temp_yaml(path, sizeof(path), "redis.port: 6390\ntest:\n  dash-key: d\n");
    cw_config *cfg = load(path, no_env);
    unlink(path);
    assert_non_null(cfg);
    assert_int_equal(cw_config_int(cfg, "redis.port"), 6390);
    assert_string_equal(cw_config_str(cfg, "test.dash-key"), "d");
    cw_config_free(cfg);
}

static void test_empty_sections_and_file(void **state)
{
    (void)state;
    cw_config *cfg = load(DATA_DIR "config_empty_sections.yaml", no_env);
    assert_non_null(cfg);
    assert_string_equal(cw_config_str(cfg, "kafka.brokers"), "127.0.0.1:9092");
    size_t n = 9;
    cw_config_list(cfg, "test.tags", &n);
    assert_int_equal(n, 0);
    cw_config_free(cfg);

    char path[64];
    write_temp_yaml(path, sizeof(path), "# nothing set\n");
    cfg = load(path, no_env);
    unlink(path);
    assert_non_null(cfg);
    assert_int_equal(cw_config_int(cfg, "redis.port"), 6379);
    cw_config_free(cfg);
}

static void test_unknown_key_has_line(void **state)
{
    (void)state;
    assert_file_error("config_unknown_key.yaml", ":3: unknown key 'kafka.brokrs'");
    assert_file_error("config_unknown_section.yaml", ":3: unknown key 'kafak'");
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    assert_file_error("config_duplicate_key.yaml", ":4: duplicate key 'redis.port'");
    assert_file_error("config_duplicate_section.yaml", ":5: duplicate key 'redis'");
    assert_file_error("config_duplicate_dotted.yaml",
                      ":3: duplicate key 'redis.port' (first set on line 2)");
}

static void test_wrong_type_in_file_has_line(void **state)
{
    (void)state;
    assert_file_error("config_bad_int.yaml", ":3: key 'redis.port': expected an integer, got 'abc'");
    assert_file_error("config_mapping_for_scalar.yaml",
                      ":3: key 'redis.host': expected a string, got a mapping");
    assert_file_error("config_scalar_for_list.yaml",
                      ":2: key 'kafka.extra': expected a list (YAML sequence), got a single value");
}

static void test_range(void **state)
{
    (void)state;
    assert_file_error("config_out_of_range.yaml",
                      ":2: key 'redis.port': '70000' is out of range 1..65535");
    assert_env_error("CAREWATCH_TIME_UTC_OFFSET_MINUTES=-721",
                     "environment variable CAREWATCH_TIME_UTC_OFFSET_MINUTES: key "
                     "'time.utc_offset_minutes': '-721' is out of range -720..840");
    assert_env_error("CAREWATCH_TEST_RATIO=1.5", "environment variable CAREWATCH_TEST_RATIO: key "
                                                 "'test.ratio': '1.5' is out of range 0..1");

    char *edges[] = {"CAREWATCH_TIME_UTC_OFFSET_MINUTES=840", "CAREWATCH_ADMIN_PORT=65535", NULL};
    cw_config *cfg = load(NULL, edges);
    assert_non_null(cfg);
    assert_int_equal(cw_config_int(cfg, "time.utc_offset_minutes"), 840);
    assert_int_equal(cw_config_int(cfg, "admin.port"), 65535);
    cw_config_free(cfg);
}

static void test_choices(void **state)
{
    (void)state;
    assert_file_error("config_bad_choice.yaml",
                      ":2: key 'log.level': expected one of debug|info|warn|error, got 'verbose'");
    assert_env_error("CAREWATCH_TIME_MODE=realtime",
                     "environment variable CAREWATCH_TIME_MODE: key 'time.mode': expected one of "
                     "live|replay, got 'realtime'");
    assert_env_error("CAREWATCH_TIME_MODE=liv", "environment variable CAREWATCH_TIME_MODE: key "
                                                "'time.mode': expected one of live|replay, got "
                                                "'liv'");
    char *envp[] = {"CAREWATCH_TIME_MODE=replay", NULL};
    cw_config *cfg = load(NULL, envp);
    assert_non_null(cfg);
    assert_string_equal(cw_config_str(cfg, "time.mode"), "replay");
    cw_config_free(cfg);
}

static void test_list_choices(void **state)
{
    (void)state;
    static const cw_cfg_spec colour_spec[] = {
        {.key = "colours", .type = CW_CFG_LIST, .choices = "red|orange|yellow"},
        {.key = NULL},
    };
    const cw_cfg_spec *const specs[] = {colour_spec, NULL};
    char *good[] = {"CAREWATCH_COLOURS=red,yellow", NULL};
    cw_config *cfg = cw_config_load(specs, NULL, good, err, sizeof(err));
    assert_non_null(cfg);
    cw_config_free(cfg);
    char *bad[] = {"CAREWATCH_COLOURS=red,blue", NULL};
    assert_null(cw_config_load(specs, NULL, bad, err, sizeof(err)));
    assert_string_equal(err, "environment variable CAREWATCH_COLOURS: key 'colours': list item 2: "
                             "expected one of red|orange|yellow, got 'blue'");
}

static void test_secret_never_in_errors(void **state)
{
    (void)state;
    const char *message = load_error(DATA_DIR "config_secret_bad.yaml", no_env);
    assert_non_null(strstr(message, ":2: key 'test.pin'"));
    assert_null(strstr(message, "hunter2"));

    char *envp[] = {"CAREWATCH_TEST_PIN=hunter2", NULL};
    message = load_error(NULL, envp);
    assert_non_null(strstr(message, "CAREWATCH_TEST_PIN"));
    assert_null(strstr(message, "hunter2"));

    char *range[] = {"CAREWATCH_TEST_PIN=31337", NULL};
    message = load_error(NULL, range);
    assert_non_null(strstr(message, "out of range"));
    assert_null(strstr(message, "31337"));
}

static void test_yaml_syntax_error_has_line(void **state)
{
    (void)state;
    assert_file_error("config_syntax_error.yaml",
                      ":4:12: YAML syntax error: mapping values are not allowed in this context");
}

static void test_bad_files(void **state)
{
    (void)state;
    assert_string_equal(load_error(DATA_DIR "config_no_such_file.yaml", no_env),
                        DATA_DIR "config_no_such_file.yaml: cannot open: No such file or directory");
    assert_string_equal(load_error(DATA_DIR, no_env),
                        DATA_DIR ": cannot read: Is a directory");
    assert_file_error("config_two_documents.yaml", ":4: only one YAML document is allowed");
    assert_file_error("config_top_level_list.yaml", ":1: the top level must be a mapping of keys");

    char path[64];
    write_temp_yaml(path, sizeof(path), "redis:\n  host: \"\xff\"\n");
    const char *message = load_error(path, no_env);
    unlink(path);
    assert_non_null(strstr(message, "invalid YAML input"));
}

static void test_spec_mistakes(void **state)
{
    (void)state;
    static const cw_cfg_spec twice[] = {{.key = "redis.port", .type = CW_CFG_INT}, {.key = NULL}};
    const cw_cfg_spec *const twice_specs[] = {cw_config_common_spec, twice, NULL};
    assert_null(cw_config_load(twice_specs, NULL, no_env, err, sizeof(err)));
    assert_string_equal(err, "config spec: key 'redis.port' is declared twice");

    static const cw_cfg_spec bad_default[] = {
        {.key = "x.n", .type = CW_CFG_INT, .default_value = "ten"}, {.key = NULL}};
    const cw_cfg_spec *const bad_specs[] = {bad_default, NULL};
    assert_null(cw_config_load(bad_specs, NULL, no_env, err, sizeof(err)));
    assert_string_equal(err, "config spec: key 'x.n': expected an integer, got 'ten'");
}

static void test_small_error_buffer(void **state)
{
    (void)state;
    char small[8];
    char *envp[] = {"CAREWATCH_REDIS_PORT=abc", NULL};
    assert_null(cw_config_load(all_specs, NULL, envp, small, sizeof(small)));
    assert_string_equal(small, "environ");
    assert_null(cw_config_load(all_specs, NULL, envp, NULL, 0));
}

/* The child's stderr goes to /dev/null; the parent checks it died of abort(). */
static void assert_aborts(void (*call)(const cw_config *), const cw_config *cfg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO);
        call(cfg);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void read_unknown_key(const cw_config *cfg)
{
    cw_config_int(cfg, "redis.prot");
}

static void read_with_wrong_type(const cw_config *cfg)
{
    cw_config_str(cfg, "redis.port");
}

static void test_getter_aborts_on_programming_error(void **state)
{
    (void)state;
    cw_config *cfg = load(NULL, no_env);
    assert_non_null(cfg);
    assert_aborts(read_unknown_key, cfg);
    assert_aborts(read_with_wrong_type, cfg);
    cw_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_instance_id_defaults_to_host_and_pid),
        cmocka_unit_test(test_file_sets_every_type),
        cmocka_unit_test(test_env_beats_file),
        cmocka_unit_test(test_env_name),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_numbers_edge_values),
        cmocka_unit_test(test_env_wrong_types),
        cmocka_unit_test(test_file_wrong_types),
        cmocka_unit_test(test_list_from_yaml_forms),
        cmocka_unit_test(test_dotted_keys_in_file),
        cmocka_unit_test(test_empty_sections_and_file),
        cmocka_unit_test(test_unknown_key_has_line),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_wrong_type_in_file_has_line),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_choices),
        cmocka_unit_test(test_list_choices),
        cmocka_unit_test(test_secret_never_in_errors),
        cmocka_unit_test(test_yaml_syntax_error_has_line),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_spec_mistakes),
        cmocka_unit_test(test_small_error_buffer),
        cmocka_unit_test(test_getter_aborts_on_programming_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
