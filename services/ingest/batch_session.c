#include "ingest/batch_session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PIPELINE_MAX 1000 /* commands per round trip */

typedef enum { ENTRY_UNKNOWN, ENTRY_MISSING, ENTRY_STRING, ENTRY_HASH } entry_kind;
typedef enum { WANT_NONE, WANT_HASH, WANT_STRING } want_kind;

typedef struct {
    char *name, *value;
} hash_field;

typedef struct {
    char *key; /* NULL: a free slot */
    want_kind want;
    entry_kind kind;
    int unwritten; /* changed by a line of the batch, not yet in Redis */
    char *str;
    hash_field *fields;
    size_t nfields, capfields;
} entry;

typedef struct {
    size_t line;
    char *topic, *key, *value;
    size_t key_len, value_len;
} kept_record;

typedef struct {
    size_t line;
    int argc;
    char **argv;
} kept_write;

typedef struct {
    size_t line;
    int64_t at_ms;
} clock_step;

struct batch_session {
    entry *table; /* open addressing; cap is a power of two */
    size_t cap, count;
    kept_record *records;
    size_t nrecords, caprecords;
    kept_write *writes;
    size_t nwrites, capwrites;
    clock_step *clock_steps;
    size_t nsteps, capsteps;
    int64_t clock;
    size_t failed_from; /* first line a flush could not make durable; 0: none */
};

/* ---- growable arrays ---------------------------------------------------- */

static int reserve(void **items, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap)
        return 0;
    size_t next = *cap ? *cap * 2 : 64;
    while (next < want)
        next *= 2;
    void *grown = realloc(*items, next * size);
    if (!grown)
        return -1;
    *items = grown;
    *cap = next;
    return 0;
}

static char *copy_bytes(const void *data, size_t len)
{
    char *out = malloc(len + 1);
    if (out) {
        if (len)
            memcpy(out, data, len);
        out[len] = '\0';
    }
    return out;
}

/* ---- the key table ---------------------------------------------------------- */

static uint64_t hash_key(const char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

static entry *slot_for(entry *table, size_t cap, const char *key)
{
    size_t i = (size_t)hash_key(key) & (cap - 1);
    while (table[i].key != NULL && strcmp(table[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &table[i];
}

static int grow_table(batch_session *s)
{
    size_t cap = s->cap ? s->cap * 2 : 256;
    entry *table = calloc(cap, sizeof(*table));
    if (!table)
        return -1;
    for (size_t i = 0; i < s->cap; i++)
        if (s->table[i].key != NULL)
            *slot_for(table, cap, s->table[i].key) = s->table[i];
    free(s->table);
    s->table = table;
    s->cap = cap;
    return 0;
}

static entry *find(batch_session *s, const char *key)
{
    if (s->cap == 0)
        return NULL;
    entry *e = slot_for(s->table, s->cap, key);
    return e->key ? e : NULL;
}

static entry *find_or_add(batch_session *s, const char *key)
{
    if ((s->count + 1) * 2 > s->cap && grow_table(s) != 0)
        return NULL;
    entry *e = slot_for(s->table, s->cap, key);
    if (e->key == NULL) {
        e->key = copy_bytes(key, strlen(key));
        if (!e->key)
            return NULL;
        s->count++;
    }
    return e;
}

static void clear_value(entry *e)
{
    free(e->str);
    e->str = NULL;
    for (size_t i = 0; i < e->nfields; i++) {
        free(e->fields[i].name);
        free(e->fields[i].value);
    }
    e->nfields = 0;
}

static int set_field(entry *e, const char *name, size_t name_len, const char *value,
                     size_t value_len)
{
    for (size_t i = 0; i < e->nfields; i++) {
        if (strlen(e->fields[i].name) == name_len &&
            memcmp(e->fields[i].name, name, name_len) == 0) {
            char *v = copy_bytes(value, value_len);
            if (!v)
                return -1;
            free(e->fields[i].value);
            e->fields[i].value = v;
            return 0;
        }
    }
    if (reserve((void **)&e->fields, &e->capfields, e->nfields + 1, sizeof(hash_field)))
        return -1;
    hash_field *f = &e->fields[e->nfields];
    f->name = copy_bytes(name, name_len);
    f->value = copy_bytes(value, value_len);
    if (!f->name || !f->value) {
        free(f->name);
        free(f->value);
        return -1;
    }
    e->nfields++;
    return 0;
}

/* ---- public ----------------------------------------------------------------- */

batch_session *ingest_batch_session_new(void)
{
    return calloc(1, sizeof(batch_session));
}

void ingest_batch_session_free(batch_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++) {
        if (s->table[i].key) {
            clear_value(&s->table[i]);
            free(s->table[i].fields);
            free(s->table[i].key);
        }
    }
    free(s->table);
    for (size_t i = 0; i < s->nrecords; i++) {
        free(s->records[i].topic);
        free(s->records[i].key);
        free(s->records[i].value);
    }
    free(s->records);
    for (size_t i = 0; i < s->nwrites; i++) {
        for (int k = 0; k < s->writes[i].argc; k++)
            free(s->writes[i].argv[k]);
        free(s->writes[i].argv);
    }
    free(s->writes);
    free(s->clock_steps);
    free(s);
}

static int want(batch_session *s, const char *key, want_kind kind)
{
    entry *e = find_or_add(s, key);
    if (!e)
        return -1;
    if (e->want == WANT_NONE)
        e->want = kind;
    return 0;
}

int ingest_batch_session_want_hash(batch_session *s, const char *key)
{
    return want(s, key, WANT_HASH);
}

int ingest_batch_session_want_string(batch_session *s, const char *key)
{
    return want(s, key, WANT_STRING);
}

static int store_reply(entry *e, const redisReply *reply)
{
    if (reply->type == REDIS_REPLY_NIL ||
        (reply->type == REDIS_REPLY_ARRAY && reply->elements == 0)) {
        e->kind = ENTRY_MISSING;
        return 0;
    }
    if (e->want == WANT_STRING && reply->type == REDIS_REPLY_STRING) {
        e->str = copy_bytes(reply->str, reply->len);
        e->kind = ENTRY_STRING;
        return e->str ? 0 : -1;
    }
    if (e->want == WANT_HASH && reply->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            const redisReply *name = reply->element[i], *value = reply->element[i + 1];
            if (name->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING)
                continue;
            if (set_field(e, name->str, name->len, value->str, value->len))
                return -1;
        }
        e->kind = ENTRY_HASH;
        return 0;
    }
    return -1; /* a reply of an unexpected type (WRONGTYPE...): leave it to Redis */
}

int ingest_batch_session_prefetch(batch_session *s, cw_redis *r)
{
    entry **pending = malloc(PIPELINE_MAX * sizeof(*pending));
    const char *(*argvs)[2] = malloc(PIPELINE_MAX * sizeof(*argvs));
    const char *const **cmds = malloc(PIPELINE_MAX * sizeof(*cmds));
    int *argcs = malloc(PIPELINE_MAX * sizeof(*argcs));
    redisReply **replies = malloc(PIPELINE_MAX * sizeof(*replies));
    int rc = pending && argvs && cmds && argcs && replies ? 0 : -1;
    size_t i = 0;
    while (rc == 0 && i < s->cap) {
        size_t n = 0;
        for (; i < s->cap && n < PIPELINE_MAX; i++) {
            entry *e = &s->table[i];
            if (e->key == NULL || e->want == WANT_NONE || e->kind != ENTRY_UNKNOWN)
                continue;
            argvs[n][0] = e->want == WANT_HASH ? "HGETALL" : "GET";
            argvs[n][1] = e->key;
            cmds[n] = argvs[n];
            argcs[n] = 2;
            pending[n++] = e;
        }
        if (n == 0)
            break;
        if (cw_redis_pipeline(r, n, argcs, cmds, replies) != 0) {
            rc = -1;
            break;
        }
        for (size_t k = 0; k < n; k++) {
            if (store_reply(pending[k], replies[k]) != 0) {
                clear_value(pending[k]);
                pending[k]->kind = ENTRY_UNKNOWN;
            }
            freeReplyObject(replies[k]);
        }
    }
    free(pending);
    free(argvs);
    free(cmds);
    free(argcs);
    free(replies);
    return rc;
}

/* The value of a hash entry's field, or NULL. */
static const char *field_value(const entry *e, const char *name)
{
    for (size_t k = 0; k < e->nfields; k++)
        if (strcmp(e->fields[k].name, name) == 0)
            return e->fields[k].value;
    return NULL;
}

batch_lookup ingest_batch_session_lookup_hash(batch_session *s, const char *key,
                                              const char *const *fields, size_t n,
                                              char (*values)[128], int *unwritten)
{
    entry *e = find(s, key);
    *unwritten = e != NULL && e->unwritten;
    if (!e || e->kind == ENTRY_UNKNOWN || e->kind == ENTRY_STRING)
        return BATCH_NOT_HERE;
    if (e->kind == ENTRY_MISSING)
        return BATCH_MISSING;
    /* As HMGET reads it: the hash exists when its first asked field does
     * (every writer sets all of a row's fields). */
    for (size_t i = 0; i < n; i++) {
        const char *v = field_value(e, fields[i]);
        snprintf(values[i], 128, "%s", v ? v : "");
    }
    return field_value(e, fields[0]) ? BATCH_FOUND : BATCH_MISSING;
}

batch_lookup ingest_batch_session_lookup_string(batch_session *s, const char *key, char *buf,
                                                size_t len, int *unwritten)
{
    entry *e = find(s, key);
    *unwritten = e != NULL && e->unwritten;
    if (!e || e->kind == ENTRY_UNKNOWN || e->kind == ENTRY_HASH)
        return BATCH_NOT_HERE;
    if (e->kind == ENTRY_MISSING)
        return BATCH_MISSING;
    snprintf(buf, len, "%s", e->str);
    return BATCH_FOUND;
}

int ingest_batch_session_add_records(batch_session *s, size_t line,
                                     const cw_kafka_record *records, size_t n)
{
    if (reserve((void **)&s->records, &s->caprecords, s->nrecords + n, sizeof(kept_record)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        kept_record *k = &s->records[s->nrecords];
        k->line = line;
        k->topic = copy_bytes(records[i].topic, strlen(records[i].topic));
        k->key = copy_bytes(records[i].key, records[i].key_len);
        k->value = copy_bytes(records[i].value, records[i].value_len);
        k->key_len = records[i].key_len;
        k->value_len = records[i].value_len;
        if (!k->topic || !k->key || !k->value) {
            free(k->topic);
            free(k->key);
            free(k->value);
            return -1;
        }
        s->nrecords++;
    }
    return 0;
}

/* The field-value pairs of argv from `from` into the entry, as HSET. */
static int apply_hset(batch_session *s, const char *key, int argc, char *const *argv, int from)
{
    entry *e = find_or_add(s, key);
    if (!e)
        return -1;
    e->unwritten = 1;
    if (e->kind != ENTRY_HASH) {
        clear_value(e);
        e->kind = ENTRY_HASH;
    }
    for (int i = from; i + 1 < argc; i += 2)
        if (set_field(e, argv[i], strlen(argv[i]), argv[i + 1], strlen(argv[i + 1])))
            return -1;
    return 0;
}

/* What a SET, an HSET or the order's conditional HSET does, applied to the
 * batch's copy (batch_session.h). */
static int apply_write(batch_session *s, int argc, char *const *argv)
{
    if (strcmp(argv[0], "SET") == 0 && argc == 3) {
        entry *e = find_or_add(s, argv[1]);
        if (!e)
            return -1;
        e->unwritten = 1;
        clear_value(e);
        e->str = copy_bytes(argv[2], strlen(argv[2]));
        e->kind = ENTRY_STRING;
        return e->str ? 0 : -1;
    }
    if (strcmp(argv[0], "HSET") == 0 && argc >= 4 && argc % 2 == 0)
        return apply_hset(s, argv[1], argc, argv, 2);
    if (strcmp(argv[0], "EVAL") == 0 && argc >= 7 && argc % 2 == 1 &&
        strcmp(argv[2], "1") == 0) {
        const entry *held = find(s, argv[3]);
        const char *revision =
            held && held->kind == ENTRY_HASH ? field_value(held, "revision") : NULL;
        if (revision && strtol(argv[4], NULL, 10) < strtol(revision, NULL, 10))
            return 0; /* Redis keeps the newer revision too */
        return apply_hset(s, argv[3], argc, argv, 5);
    }
    return -1;
}

int ingest_batch_session_add_writes(batch_session *s, size_t line, cw_redis_batch *b)
{
    int rc = b->failed ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < b->count; i++) {
        if (apply_write(s, b->argc[i], b->argv[i]) != 0 ||
            reserve((void **)&s->writes, &s->capwrites, s->nwrites + 1, sizeof(kept_write))) {
            rc = -1;
            break;
        }
        kept_write *w = &s->writes[s->nwrites];
        w->line = line;
        w->argc = b->argc[i];
        w->argv = calloc((size_t)w->argc, sizeof(char *));
        if (!w->argv) {
            rc = -1;
            break;
        }
        /* The batch's copies change owner. */
        for (int k = 0; k < w->argc; k++) {
            w->argv[k] = b->argv[i][k];
            b->argv[i][k] = NULL;
        }
        s->nwrites++;
    }
    cw_redis_batch_clear(b);
    return rc;
}

int64_t ingest_batch_session_clock(const batch_session *s)
{
    return s->clock;
}

void ingest_batch_session_advance_clock(batch_session *s, size_t line, int64_t at_ms)
{
    if (at_ms > s->clock)
        s->clock = at_ms;
    if (line == 0 ||
        reserve((void **)&s->clock_steps, &s->capsteps, s->nsteps + 1, sizeof(clock_step)))
        return; /* the prefetched value, or out of memory: a later event raises it again */
    s->clock_steps[s->nsteps++] = (clock_step){line, at_ms};
}

static size_t produce_all(batch_session *s, cw_producer *p)
{
    if (s->nrecords == 0)
        return 0;
    cw_kafka_record *recs = calloc(s->nrecords, sizeof(*recs));
    if (!recs)
        return s->records[0].line;
    for (size_t i = 0; i < s->nrecords; i++)
        recs[i] = (cw_kafka_record){.topic = s->records[i].topic,
                                    .key = s->records[i].key,
                                    .key_len = s->records[i].key_len,
                                    .value = s->records[i].value,
                                    .value_len = s->records[i].value_len};
    size_t first_failed = 0;
    if (cw_producer_send_sync(p, recs, s->nrecords) != 0) {
        for (size_t i = 0; i < s->nrecords; i++)
            if (recs[i].err && (first_failed == 0 || s->records[i].line < first_failed))
                first_failed = s->records[i].line;
    }
    free(recs);
    return first_failed;
}

/* Sends the writes of lines before `upto` (0: all), at most PIPELINE_MAX a
 * round trip. 0, or -1 when a round trip failed or a command was refused. */
static int write_all(batch_session *s, cw_redis *r, size_t upto, const char *clock_key,
                     const char *clock_script)
{
    const char *const **cmds = malloc((PIPELINE_MAX + 1) * sizeof(*cmds));
    int *argcs = malloc((PIPELINE_MAX + 1) * sizeof(*argcs));
    redisReply **replies = malloc((PIPELINE_MAX + 1) * sizeof(*replies));
    int rc = cmds && argcs && replies ? 0 : -1;
    int64_t clock = 0;
    for (size_t i = 0; i < s->nsteps; i++)
        if ((upto == 0 || s->clock_steps[i].line < upto) && s->clock_steps[i].at_ms > clock)
            clock = s->clock_steps[i].at_ms;
    char sclock[24];
    snprintf(sclock, sizeof(sclock), "%" PRId64, clock);
    const char *clock_argv[] = {"EVAL", clock_script, "1", clock_key, sclock};
    size_t i = 0;
    int clock_sent = clock == 0 || clock_key == NULL;
    while (rc == 0 && (i < s->nwrites || !clock_sent)) {
        size_t n = 0;
        for (; i < s->nwrites && n < PIPELINE_MAX; i++) {
            if (upto != 0 && s->writes[i].line >= upto)
                continue;
            cmds[n] = (const char *const *)s->writes[i].argv;
            argcs[n++] = s->writes[i].argc;
        }
        if (i == s->nwrites && !clock_sent) {
            cmds[n] = clock_argv;
            argcs[n++] = 5;
            clock_sent = 1;
        }
        if (n == 0)
            break;
        if (cw_redis_pipeline(r, n, argcs, cmds, replies) != 0) {
            rc = -1;
            break;
        }
        for (size_t k = 0; k < n; k++) {
            if (replies[k]->type == REDIS_REPLY_ERROR) {
                cw_log_warn("a batch's Redis write was refused", "error", replies[k]->str, NULL);
                rc = -1;
            }
            freeReplyObject(replies[k]);
        }
    }
    free(cmds);
    free(argcs);
    free(replies);
    return rc;
}

/* Empties what was kept (the copy of Redis stays, now all written). */
static void forget_kept(batch_session *s)
{
    for (size_t i = 0; i < s->nrecords; i++) {
        free(s->records[i].topic);
        free(s->records[i].key);
        free(s->records[i].value);
    }
    s->nrecords = 0;
    for (size_t i = 0; i < s->nwrites; i++) {
        for (int k = 0; k < s->writes[i].argc; k++)
            free(s->writes[i].argv[k]);
        free(s->writes[i].argv);
    }
    s->nwrites = 0;
    s->nsteps = 0;
    for (size_t i = 0; i < s->cap; i++)
        s->table[i].unwritten = 0;
}

size_t ingest_batch_session_flush(batch_session *s, cw_producer *p, cw_redis *r,
                                  const char *clock_key,
                                  const char *clock_script)
{
    size_t failed = ingest_batch_session_finish(s, p, r, clock_key, clock_script);
    forget_kept(s);
    if (failed && (s->failed_from == 0 || failed < s->failed_from))
        s->failed_from = failed;
    return failed;
}

size_t ingest_batch_session_finish(batch_session *s, cw_producer *p, cw_redis *r,
                                   const char *clock_key, const char *clock_script)
{
    if (s->failed_from)
        return s->failed_from; /* nothing after a failed flush was kept for writing */
    size_t first_failed = produce_all(s, p);
    if (write_all(s, r, first_failed, clock_key, clock_script) != 0) {
        /* Which writes landed is unknown: every line with one is reported
         * unavailable (a retry of the same lines repeats them). */
        size_t first = 0;
        for (size_t i = 0; i < s->nwrites; i++)
            if (first == 0 || s->writes[i].line < first)
                first = s->writes[i].line;
        for (size_t i = 0; i < s->nsteps; i++)
            if (first == 0 || s->clock_steps[i].line < first)
                first = s->clock_steps[i].line;
        if (first != 0 && (first_failed == 0 || first < first_failed))
            first_failed = first;
    }
    return first_failed;
}
