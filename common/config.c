#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

const cw_cfg_spec cw_config_common_spec[] = {
    {.key = "kafka.brokers", .type = CW_CFG_STRING, .default_value = "127.0.0.1:9092",
     .help = "bootstrap servers, host:port[,host:port...]"},
    {.key = "kafka.message_timeout_ms", .type = CW_CFG_INT, .default_value = "10000", .min = 100,
     .max = 600000, .help = "how long the producer keeps retrying a message"},
    {.key = "kafka.extra", .type = CW_CFG_LIST, .secret = 1,
     .help = "librdkafka properties as name=value, passed through (may hold SASL credentials)"},
    {.key = "redis.host", .type = CW_CFG_STRING, .default_value = "127.0.0.1",
     .help = "Redis server host"},
    {.key = "redis.port", .type = CW_CFG_INT, .default_value = "6379", .min = 1, .max = 65535,
     .help = "Redis server port"},
    {.key = "redis.password", .type = CW_CFG_STRING, .secret = 1,
     .help = "Redis AUTH password; empty = no AUTH"},
    {.key = "redis.timeout_ms", .type = CW_CFG_INT, .default_value = "2000", .min = 1,
     .max = 600000, .help = "connect and command timeout"},
    {.key = "admin.bind", .type = CW_CFG_STRING, .default_value = "127.0.0.1",
     .help = "address of the /livez, /readyz, /metrics listener"},
    {.key = "admin.port", .type = CW_CFG_INT, .default_value = "9100", .min = 0, .max = 65535,
     .help = "admin port (0 picks a free one)"},
    {.key = "log.level", .type = CW_CFG_STRING, .default_value = "info",
     .choices = "debug|info|warn|error", .help = "lowest level written"},
    {.key = "time.mode", .type = CW_CFG_STRING, .default_value = "live", .choices = "live|replay",
     .help = "live: wall clock; replay: receipt time is the stream clock"},
    {.key = "time.utc_offset_minutes", .type = CW_CFG_INT, .default_value = "480", .min = -720,
     .max = 840, .help = "local time offset used for days and months"},
    {.key = "avro.max_array_items", .type = CW_CFG_INT, .default_value = "10000", .min = 1,
     .max = 100000000, .help = "items one array or map of a decoded record may hold (more: "
             "dead-lettered)"},
    {.key = "avro.max_string_bytes", .type = CW_CFG_INT, .default_value = "65536", .min = 64,
     .max = 1073741824, .help = "bytes one string of a decoded record may hold"},
    {.key = "avro.max_decoded_bytes", .type = CW_CFG_INT, .default_value = "8388608",
     .min = 4096, .max = 4294967296LL,
     .help = "estimated memory one decoded record may take (128 bytes per array item plus its "
             "strings)"},
    {.key = "service.instance_id", .type = CW_CFG_STRING,
     .help = "name of this instance; empty = <hostname>-<pid>"},
    {.key = NULL},
};

#define ENV_PREFIX "CAREWATCH_"
#define FILE_SIZE_MAX (4u << 20)
#define SHOWN_VALUE_MAX 64

typedef struct {
    char **items; /* count strings, then NULL */
    size_t count;
} str_list;

typedef struct {
    const cw_cfg_spec *spec;
    char *str;
    int64_t int_value;
    double double_value;
    int bool_value;
    str_list list;
    unsigned long file_line; /* line of the file that set it; 0 = not from the file */
} cfg_entry;

struct cw_config {
    cfg_entry *entries;
    size_t count;
};

/* Where a value came from, for error messages. */
typedef struct {
    const char *file;
    unsigned long line;
    const char *env_name;
} origin;

typedef struct {
    cw_config *cfg;
    const char *file;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
} loader;

/* ---- errors ---- */

__attribute__((format(printf, 3, 4))) static int fail(loader *ld, const origin *from,
                                                      const char *fmt, ...)
{
    if (!ld->err || ld->errlen == 0)
        return -1;
    int n;
    if (from->env_name)
        n = snprintf(ld->err, ld->errlen, "environment variable %s: ", from->env_name);
    else if (from->file)
        n = snprintf(ld->err, ld->errlen, "%s:%lu: ", from->file, from->line);
    else
        n = snprintf(ld->err, ld->errlen, "config spec: ");
    if (n < 0 || (size_t)n >= ld->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int fail_out_of_memory(loader *ld)
{
    if (ld->err && ld->errlen > 0)
        snprintf(ld->err, ld->errlen, "out of memory loading the configuration");
    return -1;
}

/* The value as it may appear in an error: quoted and shortened, or hidden. */
static const char *shown_value(const cw_cfg_spec *spec, const char *text, char *buf, size_t len)
{
    if (spec->secret)
        return "[secret value hidden]";
    size_t n = strlen(text);
    if (n > SHOWN_VALUE_MAX)
        snprintf(buf, len, "'%.*s...'", SHOWN_VALUE_MAX, text);
    else
        snprintf(buf, len, "'%s'", text);
    return buf;
}

static const char *type_phrase(cw_cfg_type type)
{
    switch (type) {
    case CW_CFG_STRING:
        return "a string";
    case CW_CFG_INT:
        return "an integer";
    case CW_CFG_DOUBLE:
        return "a number";
    case CW_CFG_BOOL:
        return "a boolean (true/false, yes/no, on/off, 1/0)";
    case CW_CFG_LIST:
        return "a list";
    }
    return "a value";
}

/* ---- lists ---- */

static void list_clear(str_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

/* An empty list still has its NULL terminator. */
static int list_init(str_list *l)
{
    l->count = 0;
    l->items = calloc(1, sizeof(*l->items));
    return l->items ? 0 : -1;
}

static int list_push(str_list *l, const char *text, size_t len)
{
    char **grown = realloc(l->items, (l->count + 2) * sizeof(*grown));
    if (!grown)
        return -1;
    l->items = grown;
    l->items[l->count] = strndup(text, len);
    if (!l->items[l->count])
        return -1;
    l->count++;
    l->items[l->count] = NULL;
    return 0;
}

static int is_list_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Comma-separated text as used by the environment and spec defaults. */
static int list_from_csv(str_list *l, const char *text)
{
    if (list_init(l))
        return -1;
    while (*text) {
        size_t len = strcspn(text, ",");
        const char *start = text;
        const char *end = text + len;
        while (start < end && is_list_space(*start))
            start++;
        while (end > start && is_list_space(end[-1]))
            end--;
        if (end > start && list_push(l, start, (size_t)(end - start))) {
            list_clear(l);
            return -1;
        }
        text += len;
        if (*text == ',')
            text++;
    }
    return 0;
}

/* ---- spec lookups ---- */

static cfg_entry *find_entry(const cw_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->count; i++) {
        if (strcmp(cfg->entries[i].spec->key, key) == 0)
            return &cfg->entries[i];
    }
    return NULL;
}

/* True if some key continues "prefix." — the file may open a mapping there. */
static int is_section(const cw_config *cfg, const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < cfg->count; i++) {
        const char *key = cfg->entries[i].spec->key;
        if (strncmp(key, prefix, n) == 0 && key[n] == '.')
            return 1;
    }
    return 0;
}

static int in_choices(const char *choices, const char *value)
{
    size_t len = strlen(value);
    const char *p = choices;
    for (;;) {
        size_t n = strcspn(p, "|");
        if (n == len && strncmp(p, value, len) == 0)
            return 1;
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
}

int cw_config_env_name(const char *key, char *buf, size_t len)
{
    size_t prefix_len = strlen(ENV_PREFIX);
    size_t key_len = strlen(key);
    if (prefix_len + key_len + 1 > len)
        return -1;
    memcpy(buf, ENV_PREFIX, prefix_len);
    for (size_t i = 0; i < key_len; i++) {
        char c = key[i];
        if (c == '.' || c == '-')
            c = '_';
        else if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        buf[prefix_len + i] = c;
    }
    buf[prefix_len + key_len] = '\0';
    return 0;
}

static const char *find_env(char *const *envp, const char *name)
{
    if (!envp)
        return NULL;
    size_t n = strlen(name);
    for (; *envp; envp++) {
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    }
    return NULL;
}

/* ---- parsing one value ---- */

/* Whole-string decimal. Returns 0, -1 for not an integer, -2 for overflow. */
static int parse_int64(const char *text, int64_t *out)
{
    if (*text == '\0' || *text == ' ' || *text == '\t' || *text == '\n')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*end != '\0')
        return -1;
    if (errno == ERANGE)
        return -2;
    *out = v;
    return 0;
}

static int parse_finite_double(const char *text, double *out)
{
    if (*text == '\0' || *text == ' ' || *text == '\t' || *text == '\n')
        return -1;
    char *end;
    double v = strtod(text, &end);
    if (*end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *text, int *out)
{
    static const struct {
        const char *word;
        int value;
    } words[] = {{"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0},
                 {"on", 1},   {"off", 0},   {"1", 1},   {"0", 0}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcasecmp(text, words[i].word) == 0) {
            *out = words[i].value;
            return 0;
        }
    }
    return -1;
}

static int has_range(const cw_cfg_spec *spec)
{
    return spec->min < spec->max;
}

static int set_string(loader *ld, const origin *from, cfg_entry *e, const char *text)
{
    const cw_cfg_spec *spec = e->spec;
    if (spec->choices && !in_choices(spec->choices, text)) {
        char buf[SHOWN_VALUE_MAX + 8];
        return fail(ld, from, "key '%s': expected one of %s, got %s", spec->key, spec->choices,
                    shown_value(spec, text, buf, sizeof(buf)));
    }
    char *copy = strdup(text);
    if (!copy)
        return fail_out_of_memory(ld);
    free(e->str);
    e->str = copy;
    return 0;
}

static int set_int(loader *ld, const origin *from, cfg_entry *e, const char *text)
{
    const cw_cfg_spec *spec = e->spec;
    char buf[SHOWN_VALUE_MAX + 8];
    int64_t v = 0;
    int rc = parse_int64(text, &v);
    if (rc == -2)
        return fail(ld, from, "key '%s': %s does not fit in a 64-bit integer", spec->key,
                    shown_value(spec, text, buf, sizeof(buf)));
    if (rc != 0)
        return fail(ld, from, "key '%s': expected an integer, got %s", spec->key,
                    shown_value(spec, text, buf, sizeof(buf)));
    if (has_range(spec) && ((double)v < spec->min || (double)v > spec->max))
        return fail(ld, from, "key '%s': %s is out of range %lld..%lld", spec->key,
                    shown_value(spec, text, buf, sizeof(buf)), (long long)spec->min,
                    (long long)spec->max);
    e->int_value = v;
    return 0;
}

static int set_double(loader *ld, const origin *from, cfg_entry *e, const char *text)
{
    const cw_cfg_spec *spec = e->spec;
    char buf[SHOWN_VALUE_MAX + 8];
    double v = 0;
    if (parse_finite_double(text, &v))
        return fail(ld, from, "key '%s': expected a finite number, got %s", spec->key,
                    shown_value(spec, text, buf, sizeof(buf)));
    if (has_range(spec) && (v < spec->min || v > spec->max))
        return fail(ld, from, "key '%s': %s is out of range %.15g..%.15g", spec->key,
                    shown_value(spec, text, buf, sizeof(buf)), spec->min, spec->max);
    e->double_value = v;
    return 0;
}

static int set_bool(loader *ld, const origin *from, cfg_entry *e, const char *text)
{
    char buf[SHOWN_VALUE_MAX + 8];
    if (parse_bool(text, &e->bool_value))
        return fail(ld, from, "key '%s': expected %s, got %s", e->spec->key,
                    type_phrase(CW_CFG_BOOL), shown_value(e->spec, text, buf, sizeof(buf)));
    return 0;
}

/* Takes ownership of items: on success they replace the entry's list. */
static int set_list(loader *ld, const origin *from, cfg_entry *e, str_list *items)
{
    const cw_cfg_spec *spec = e->spec;
    for (size_t i = 0; spec->choices && i < items->count; i++) {
        if (!in_choices(spec->choices, items->items[i])) {
            char buf[SHOWN_VALUE_MAX + 8];
            fail(ld, from, "key '%s': list item %zu: expected one of %s, got %s", spec->key,
                 i + 1, spec->choices, shown_value(spec, items->items[i], buf, sizeof(buf)));
            list_clear(items);
            return -1;
        }
    }
    list_clear(&e->list);
    e->list = *items;
    return 0;
}

/* A value given as text: from the environment, a spec default or a YAML scalar. */
static int set_from_text(loader *ld, const origin *from, cfg_entry *e, const char *text)
{
    switch (e->spec->type) {
    case CW_CFG_STRING:
        return set_string(ld, from, e, text);
    case CW_CFG_INT:
        return set_int(ld, from, e, text);
    case CW_CFG_DOUBLE:
        return set_double(ld, from, e, text);
    case CW_CFG_BOOL:
        return set_bool(ld, from, e, text);
    case CW_CFG_LIST: {
        str_list items;
        if (list_from_csv(&items, text))
            return fail_out_of_memory(ld);
        return set_list(ld, from, e, &items);
    }
    }
    return fail(ld, from, "key '%s': unknown type in the spec", e->spec->key);
}

/* ---- the spec and defaults ---- */

static size_t count_spec_keys(const cw_cfg_spec *const *specs)
{
    size_t n = 0;
    for (size_t s = 0; specs && specs[s]; s++) {
        for (const cw_cfg_spec *spec = specs[s]; spec->key; spec++)
            n++;
    }
    return n;
}

static int check_spec_entry(loader *ld, const cw_cfg_spec *spec)
{
    static const origin from_spec = {0};
    char env_name[CW_CFG_ENV_NAME_MAX];
    if (find_entry(ld->cfg, spec->key))
        return fail(ld, &from_spec, "key '%s' is declared twice", spec->key);
    if (cw_config_env_name(spec->key, env_name, sizeof(env_name)))
        return fail(ld, &from_spec, "key '%s' is too long", spec->key);
    if ((unsigned)spec->type > CW_CFG_LIST)
        return fail(ld, &from_spec, "key '%s' has an unknown type", spec->key);
    if (spec->choices && spec->type != CW_CFG_STRING && spec->type != CW_CFG_LIST)
        return fail(ld, &from_spec, "key '%s': choices only apply to strings and lists",
                    spec->key);
    return 0;
}

static int apply_default(loader *ld, cfg_entry *e)
{
    static const origin from_spec = {0};
    if (e->spec->default_value)
        return set_from_text(ld, &from_spec, e, e->spec->default_value);
    if (e->spec->type == CW_CFG_STRING && !(e->str = strdup("")))
        return fail_out_of_memory(ld);
    if (e->spec->type == CW_CFG_LIST && list_init(&e->list))
        return fail_out_of_memory(ld);
    return 0;
}

static int load_defaults(loader *ld, const cw_cfg_spec *const *specs)
{
    cw_config *cfg = ld->cfg;
    for (size_t s = 0; specs && specs[s]; s++) {
        for (const cw_cfg_spec *spec = specs[s]; spec->key; spec++) {
            if (check_spec_entry(ld, spec))
                return -1;
            cfg_entry *e = &cfg->entries[cfg->count++];
            e->spec = spec;
            if (apply_default(ld, e))
                return -1;
        }
    }
    return 0;
}

/* ---- the YAML file ---- */

static int read_whole_file(loader *ld, char **text, size_t *len)
{
    FILE *f = fopen(ld->file, "rb");
    if (!f) {
        snprintf(ld->err, ld->errlen, "%s: cannot open: %s", ld->file, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap >= FILE_SIZE_MAX)
            break;
        char *grown = realloc(buf, cap * 2);
        if (!grown)
            free(buf);
        buf = grown;
        cap *= 2;
    }
    int read_error = ferror(f) ? errno : 0;
    fclose(f);
    if (!buf)
        return fail_out_of_memory(ld);
    if (read_error || n == cap) {
        snprintf(ld->err, ld->errlen, "%s: cannot read: %s", ld->file,
                 read_error ? strerror(read_error) : "file is larger than 4 MiB");
        free(buf);
        return -1;
    }
    *text = buf;
    *len = n;
    return 0;
}

static int report_yaml_error(loader *ld, const yaml_parser_t *parser)
{
    if (parser->error == YAML_MEMORY_ERROR)
        return fail_out_of_memory(ld);
    if (parser->error == YAML_READER_ERROR) {
        snprintf(ld->err, ld->errlen, "%s: invalid YAML input at byte %zu: %s", ld->file,
                 parser->problem_offset, parser->problem ? parser->problem : "unreadable");
        return -1;
    }
    const char *problem = parser->problem ? parser->problem : "malformed YAML";
    if (parser->context)
        snprintf(ld->err, ld->errlen, "%s:%zu:%zu: YAML syntax error: %s, %s at line %zu",
                 ld->file, parser->problem_mark.line + 1, parser->problem_mark.column + 1,
                 problem, parser->context, parser->context_mark.line + 1);
    else
        snprintf(ld->err, ld->errlen, "%s:%zu:%zu: YAML syntax error: %s", ld->file,
                 parser->problem_mark.line + 1, parser->problem_mark.column + 1, problem);
    return -1;
}

static origin node_origin(const loader *ld, const yaml_node_t *node)
{
    origin from = {.file = ld->file, .line = (unsigned long)node->start_mark.line + 1};
    return from;
}

static const char *scalar_text(const yaml_node_t *node)
{
    return (const char *)node->data.scalar.value;
}

/* Plain "", "~" or "null": YAML's null, an empty value. */
static int is_null_scalar(const yaml_node_t *node)
{
    if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *text = scalar_text(node);
    return text[0] == '\0' || strcmp(text, "~") == 0 || strcmp(text, "null") == 0 ||
           strcmp(text, "Null") == 0 || strcmp(text, "NULL") == 0;
}

static const char *node_kind(const yaml_node_t *node)
{
    return node->type == YAML_MAPPING_NODE ? "a mapping" : "a list";
}

static int collect_sequence(loader *ld, const cfg_entry *e, yaml_node_t *seq, str_list *items)
{
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node(ld->doc, *it);
        if (item->type != YAML_SCALAR_NODE) {
            origin from = node_origin(ld, item);
            return fail(ld, &from, "key '%s': list items must be single values, got %s",
                        e->spec->key, node_kind(item));
        }
        const char *text = is_null_scalar(item) ? "" : scalar_text(item);
        if (list_push(items, text, strlen(text)))
            return fail_out_of_memory(ld);
    }
    return 0;
}

static int set_list_from_node(loader *ld, cfg_entry *e, yaml_node_t *node)
{
    origin from = node_origin(ld, node);
    if (node->type == YAML_MAPPING_NODE)
        return fail(ld, &from, "key '%s': expected a list, got a mapping", e->spec->key);
    if (node->type == YAML_SCALAR_NODE && !is_null_scalar(node))
        return fail(ld, &from, "key '%s': expected a list (YAML sequence), got a single value",
                    e->spec->key);
    str_list items;
    if (list_init(&items))
        return fail_out_of_memory(ld);
    if (node->type == YAML_SEQUENCE_NODE && collect_sequence(ld, e, node, &items)) {
        list_clear(&items);
        return -1;
    }
    return set_list(ld, &from, e, &items);
}

static int set_from_node(loader *ld, cfg_entry *e, yaml_node_t *node)
{
    if (e->spec->type == CW_CFG_LIST)
        return set_list_from_node(ld, e, node);
    origin from = node_origin(ld, node);
    if (node->type != YAML_SCALAR_NODE)
        return fail(ld, &from, "key '%s': expected %s, got %s", e->spec->key,
                    type_phrase(e->spec->type), node_kind(node));
    return set_from_text(ld, &from, e, is_null_scalar(node) ? "" : scalar_text(node));
}

static char *join_key(const char *prefix, const char *name)
{
    size_t prefix_len = strlen(prefix);
    size_t name_len = strlen(name);
    char *key = malloc(prefix_len + name_len + 2);
    if (!key)
        return NULL;
    if (prefix_len == 0) {
        memcpy(key, name, name_len + 1);
        return key;
    }
    memcpy(key, prefix, prefix_len);
    key[prefix_len] = '.';
    memcpy(key + prefix_len + 1, name, name_len + 1);
    return key;
}

static int same_scalar(const yaml_node_t *a, const yaml_node_t *b)
{
    return a->data.scalar.length == b->data.scalar.length &&
           memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length) == 0;
}

/* YAML forbids a key twice in one mapping; libyaml does not check it. */
static int key_seen_before(loader *ld, const yaml_node_t *map, const yaml_node_pair_t *pair)
{
    const yaml_node_t *key = yaml_document_get_node(ld->doc, pair->key);
    for (const yaml_node_pair_t *p = map->data.mapping.pairs.start; p < pair; p++) {
        const yaml_node_t *earlier = yaml_document_get_node(ld->doc, p->key);
        if (earlier->type == YAML_SCALAR_NODE && same_scalar(earlier, key))
            return 1;
    }
    return 0;
}

static int walk_mapping(loader *ld, yaml_node_t *map, const char *prefix);

static int walk_pair(loader *ld, const char *key, const origin *key_from, yaml_node_t *value)
{
    cfg_entry *e = find_entry(ld->cfg, key);
    if (e && e->file_line)
        return fail(ld, key_from, "duplicate key '%s' (first set on line %lu)", key,
                    e->file_line);
    if (e) {
        e->file_line = key_from->line;
        return set_from_node(ld, e, value);
    }
    if (is_section(ld->cfg, key) && value->type == YAML_MAPPING_NODE)
        return walk_mapping(ld, value, key);
    if (is_section(ld->cfg, key) && is_null_scalar(value))
        return 0;
    if (is_section(ld->cfg, key))
        return fail(ld, key_from, "key '%s': expected a mapping of keys", key);
    return fail(ld, key_from, "unknown key '%s'", key);
}

static int walk_mapping(loader *ld, yaml_node_t *map, const char *prefix)
{
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *key_node = yaml_document_get_node(ld->doc, pair->key);
        yaml_node_t *value = yaml_document_get_node(ld->doc, pair->value);
        origin key_from = node_origin(ld, key_node);
        if (key_node->type != YAML_SCALAR_NODE)
            return fail(ld, &key_from, "keys must be plain names, not %s", node_kind(key_node));
        char *key = join_key(prefix, scalar_text(key_node));
        if (!key)
            return fail_out_of_memory(ld);
        int rc = key_seen_before(ld, map, pair)
                     ? fail(ld, &key_from, "duplicate key '%s'", key)
                     : walk_pair(ld, key, &key_from, value);
        free(key);
        if (rc)
            return rc;
    }
    return 0;
}

static int walk_document(loader *ld)
{
    yaml_node_t *root = yaml_document_get_root_node(ld->doc);
    if (!root || is_null_scalar(root))
        return 0;
    if (root->type != YAML_MAPPING_NODE) {
        origin from = node_origin(ld, root);
        return fail(ld, &from, "the top level must be a mapping of keys");
    }
    return walk_mapping(ld, root, "");
}

/* Anything after the first document is a mistake worth reporting. */
static int expect_end_of_stream(loader *ld, yaml_parser_t *parser)
{
    yaml_document_t next;
    if (!yaml_parser_load(parser, &next))
        return report_yaml_error(ld, parser);
    yaml_node_t *root = yaml_document_get_root_node(&next);
    unsigned long line = root ? (unsigned long)root->start_mark.line + 1 : 0;
    yaml_document_delete(&next);
    if (!root)
        return 0;
    origin from = {.file = ld->file, .line = line};
    return fail(ld, &from, "only one YAML document is allowed");
}

static int load_file(loader *ld)
{
    char *text = NULL;
    size_t len = 0;
    if (read_whole_file(ld, &text, &len))
        return -1;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        return fail_out_of_memory(ld);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    yaml_document_t doc;
    int rc;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = report_yaml_error(ld, &parser);
    } else {
        ld->doc = &doc;
        rc = walk_document(ld);
        if (rc == 0)
            rc = expect_end_of_stream(ld, &parser);
        ld->doc = NULL;
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    free(text);
    return rc;
}

/* ---- environment and derived values ---- */

static int load_environment(loader *ld, char *const *envp)
{
    for (size_t i = 0; i < ld->cfg->count; i++) {
        cfg_entry *e = &ld->cfg->entries[i];
        char name[CW_CFG_ENV_NAME_MAX];
        cw_config_env_name(e->spec->key, name, sizeof(name));
        const char *value = find_env(envp, name);
        origin from = {.env_name = name};
        if (value && set_from_text(ld, &from, e, value))
            return -1;
    }
    return 0;
}

static int fill_instance_id(loader *ld)
{
    cfg_entry *e = find_entry(ld->cfg, "service.instance_id");
    if (!e || e->spec->type != CW_CFG_STRING || e->str[0] != '\0')
        return 0;
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    char id[300];
    snprintf(id, sizeof(id), "%s-%ld", host, (long)getpid());
    char *copy = strdup(id);
    if (!copy)
        return fail_out_of_memory(ld);
    free(e->str);
    e->str = copy;
    return 0;
}

cw_config *cw_config_load(const cw_cfg_spec *const *specs, const char *path,
                          char *const *envp, char *err, size_t errlen)
{
    char ignored[1];
    if (!err || errlen == 0) {
        err = ignored;
        errlen = sizeof(ignored);
    }
    err[0] = '\0';
    cw_config *cfg = calloc(1, sizeof(*cfg));
    loader ld = {.cfg = cfg, .file = path, .err = err, .errlen = errlen};
    if (!cfg) {
        fail_out_of_memory(&ld);
        return NULL;
    }
    cfg->entries = calloc(count_spec_keys(specs) + 1, sizeof(*cfg->entries));
    int rc = cfg->entries ? 0 : fail_out_of_memory(&ld);
    if (rc == 0)
        rc = load_defaults(&ld, specs);
    if (rc == 0 && path)
        rc = load_file(&ld);
    if (rc == 0)
        rc = load_environment(&ld, envp);
    if (rc == 0)
        rc = fill_instance_id(&ld);
    if (rc != 0) {
        cw_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void cw_config_free(cw_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->count; i++) {
        free(cfg->entries[i].str);
        list_clear(&cfg->entries[i].list);
    }
    free(cfg->entries);
    free(cfg);
}

/* ---- getters ---- */

static const cfg_entry *entry_or_abort(const cw_config *cfg, const char *key, cw_cfg_type type)
{
    const cfg_entry *e = cfg && key ? find_entry(cfg, key) : NULL;
    if (!e) {
        fprintf(stderr, "cw_config: key '%s' is not in the config spec\n", key ? key : "(null)");
        abort();
    }
    if (e->spec->type != type) {
        fprintf(stderr, "cw_config: key '%s' is %s, read as %s\n", key,
                type_phrase(e->spec->type), type_phrase(type));
        abort();
    }
    return e;
}

const char *cw_config_str(const cw_config *cfg, const char *key)
{
    return entry_or_abort(cfg, key, CW_CFG_STRING)->str;
}

int64_t cw_config_int(const cw_config *cfg, const char *key)
{
    return entry_or_abort(cfg, key, CW_CFG_INT)->int_value;
}

double cw_config_double(const cw_config *cfg, const char *key)
{
    return entry_or_abort(cfg, key, CW_CFG_DOUBLE)->double_value;
}

int cw_config_bool(const cw_config *cfg, const char *key)
{
    return entry_or_abort(cfg, key, CW_CFG_BOOL)->bool_value;
}

const char *const *cw_config_list(const cw_config *cfg, const char *key, size_t *count)
{
    const cfg_entry *e = entry_or_abort(cfg, key, CW_CFG_LIST);
    if (count)
        *count = e->list.count;
    return (const char *const *)e->list.items;
}
