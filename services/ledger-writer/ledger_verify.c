#include "ledger-writer/ledger_verify.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "id_set.h"
#include "ledger-writer/ledger_encoding.h"
#include "ledger-writer/merkle.h"

/* What verification learned of one checkpoint of the file. */
typedef struct {
    int parsed; /* its size and root are known */
    uint64_t size;
    uint8_t root[LEDGER_HASH_LEN];
    ledger_problem problem;
} checkpoint_state;

typedef struct {
    ledger_verify_report *rep;
    ledger_hasher *hasher;
    char log_origin[LEDGER_ORIGIN_MAX + 1];
    checkpoint_state *cps;
    uint64_t cp_count;
    uint64_t *by_size; /* indices of parsed checkpoints, smallest tree first */
    uint64_t by_size_count;
    cw_idset orders; /* order id -> its entry */
    cw_idset corrected;   /* "<index>" of a corrected entry -> the entry correcting it */
    cw_idset corrections; /* correction id -> its entry */
} verify_run;

static void entry_problem(verify_run *run, ledger_problem p, uint64_t index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void entry_problem(verify_run *run, ledger_problem p, uint64_t index, const char *fmt, ...)
{
    ledger_verify_report *rep = run->rep;
    if (rep->entry_problem != LEDGER_PROBLEM_NONE)
        return;
    rep->entry_problem = p;
    rep->bad_entry = index;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->entry_message, sizeof(rep->entry_message), fmt, ap);
    va_end(ap);
}

/* Records a problem of checkpoint i; the message is kept when i is the
 * first bad checkpoint so far. Problems found while streaming the entries
 * (root, beyond) come after those found in the file, so the lowest index
 * wins, not the first found. */
static void checkpoint_problem(verify_run *run, uint64_t i, ledger_problem p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void checkpoint_problem(verify_run *run, uint64_t i, ledger_problem p, const char *fmt, ...)
{
    ledger_verify_report *rep = run->rep;
    if (i < run->cp_count && run->cps[i].problem == LEDGER_PROBLEM_NONE)
        run->cps[i].problem = p;
    if (rep->checkpoint_problem != LEDGER_PROBLEM_NONE && rep->bad_checkpoint <= i)
        return;
    rep->checkpoint_problem = p;
    rep->bad_checkpoint = i;
    rep->bad_checkpoint_size = i < run->cp_count ? run->cps[i].size : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->checkpoint_message, sizeof(rep->checkpoint_message), fmt, ap);
    va_end(ap);
}

static int add_state(verify_run *run, uint64_t *cap)
{
    if (run->cp_count == *cap) {
        uint64_t n = *cap ? *cap * 2 : 64;
        checkpoint_state *grown = realloc(run->cps, (size_t)n * sizeof(*grown));
        if (grown == NULL)
            return -1;
        run->cps = grown;
        *cap = n;
    }
    memset(&run->cps[run->cp_count++], 0, sizeof(checkpoint_state));
    return 0;
}

/* Reads every note of the checkpoints file: form, origin, signature and
 * order are checked here, roots later against the entries. */
static int read_checkpoints(verify_run *run, const char *text, size_t len, const ledger_key *key)
{
    uint64_t cap = 0;
    size_t pos = 0;
    int have_prev = 0;
    uint64_t prev_size = 0;
    for (;;) {
        size_t at = pos, note_len = 0;
        int r = ledger_next_checkpoint(text, len, &pos, &note_len);
        if (r == LEDGER_RECORD_END)
            break;
        if (add_state(run, &cap) != 0)
            return -1;
        uint64_t i = run->cp_count - 1;
        checkpoint_state *st = &run->cps[i];
        if (r == LEDGER_RECORD_TORN) {
            checkpoint_problem(run, i, LEDGER_PROBLEM_CHECKPOINT_TORN,
                               "the checkpoints file ends inside it (%zu bytes at byte %zu): an "
                               "interrupted append, or the file was cut",
                               len - at, at);
            break;
        }
        if (r == LEDGER_RECORD_BAD) {
            checkpoint_problem(run, i, LEDGER_PROBLEM_CHECKPOINT_FORMAT,
                               "at byte %zu: not a checkpoint note (no blank line after its "
                               "signatures within %d bytes)",
                               at, LEDGER_NOTE_MAX);
            break;
        }
        ledger_checkpoint cp;
        char why[256];
        if (ledger_checkpoint_parse(text + at, note_len, &cp, why, sizeof(why)) != 0) {
            checkpoint_problem(run, i, LEDGER_PROBLEM_CHECKPOINT_FORMAT, "at byte %zu: %s", at,
                               why);
            continue;
        }
        st->parsed = 1;
        st->size = cp.tree_size;
        memcpy(st->root, cp.root_hash, LEDGER_HASH_LEN);
        if (strcmp(cp.origin, run->log_origin) != 0)
            checkpoint_problem(run, i, LEDGER_PROBLEM_CHECKPOINT_ORIGIN,
                               "its origin is %s, the log's is %s", cp.origin, run->log_origin);
        else if (key != NULL && ledger_checkpoint_verify(&cp, key, why, sizeof(why)) != 0)
            checkpoint_problem(run, i, LEDGER_PROBLEM_CHECKPOINT_SIGNATURE, "%s", why);
        else if (have_prev && cp.tree_size < prev_size)
            checkpoint_problem(run, i, LEDGER_PROBLEM_CHECKPOINT_ORDER,
                               "its tree size %" PRIu64 " is below the previous checkpoint's %" PRIu64,
                               cp.tree_size, prev_size);
        have_prev = 1;
        prev_size = cp.tree_size;
        run->rep->checkpoints++;
    }
    return 0;
}

typedef struct {
    uint64_t size, index;
} size_and_index;

static int compare_size_and_index(const void *a, const void *b)
{
    const size_and_index *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The parsed checkpoints by tree size (then by place), so one pass over
 * the entries meets each size once. */
static int sort_by_size(verify_run *run)
{
    size_t n = (size_t)(run->cp_count ? run->cp_count : 1);
    size_and_index *pairs = malloc(n * sizeof(*pairs));
    run->by_size = malloc(n * sizeof(uint64_t));
    if (pairs == NULL || run->by_size == NULL) {
        free(pairs);
        return -1;
    }
    size_t count = 0;
    for (uint64_t i = 0; i < run->cp_count; i++)
        if (run->cps[i].parsed)
            pairs[count++] = (size_and_index){run->cps[i].size, i};
    qsort(pairs, count, sizeof(*pairs), compare_size_and_index);
    for (size_t k = 0; k < count; k++)
        run->by_size[k] = pairs[k].index;
    run->by_size_count = count;
    free(pairs);
    return 0;
}

/* A correcting entry: it corrects the latest earlier entry of its order,
 * under a correction id no earlier entry has. */
static void check_correction(verify_run *run, avro_value_t *v, const char *order_id,
                             uint64_t index, int64_t corrects)
{
    const char *correction_id = NULL;
    avro_value_t f;
    uint64_t latest, next, earlier = 0;
    char key[24];
    if (cw_av_field(v, "correction_id", &f) != 0 ||
        cw_av_get_opt_str(v, "correction_id", &correction_id) != 0 || correction_id == NULL) {
        entry_problem(run, LEDGER_PROBLEM_ENTRY_CORRECTION, index,
                      "a correcting entry without correction_id");
        return;
    }
    if (!cw_idset_get(&run->orders, order_id, &latest)) {
        entry_problem(run, LEDGER_PROBLEM_ENTRY_CORRECTION, index,
                      "corrects entry %" PRId64 ", but order %s has no earlier entry", corrects,
                      order_id);
        return;
    }
    for (;;) {
        snprintf(key, sizeof(key), "%" PRIu64, latest);
        if (!cw_idset_get(&run->corrected, key, &next))
            break;
        latest = next;
    }
    if (corrects < 0 || (uint64_t)corrects != latest) {
        entry_problem(run, LEDGER_PROBLEM_ENTRY_CORRECTION, index,
                      "corrects entry %" PRId64 ", but the latest entry of order %s is entry %" PRIu64,
                      corrects, order_id, latest);
        return;
    }
    int rc = cw_idset_add(&run->corrections, correction_id, index);
    if (rc == 0 && cw_idset_get(&run->corrections, correction_id, &earlier) == 1) {
        entry_problem(run, LEDGER_PROBLEM_ENTRY_CORRECTION, index,
                      "correction %s is entry %" PRIu64 " already", correction_id, earlier);
    } else if (rc < 0 || cw_idset_add(&run->corrected, key, index) < 0) {
        entry_problem(run, LEDGER_PROBLEM_ENTRY_DECODE, index, "out of memory");
    } else {
        run->rep->corrections++;
    }
}

/* The first checks of entry index that only the entry itself can fail. */
static void check_order_entry(verify_run *run, const uint8_t *entry, size_t len, uint64_t index)
{
    const cw_avro_schema *schema;
    avro_value_t v;
    char err[256];
    if (cw_avro_decode(entry, len, &schema, &v, err, sizeof(err)) != 0) {
        entry_problem(run, LEDGER_PROBLEM_ENTRY_DECODE, index,
                      "not a single-object Avro record of a carewatch schema: %s", err);
        return;
    }
    const char *order_id = NULL;
    int64_t ledger_index = -1, corrects = 0;
    int has_corrects = 0;
    avro_value_t field;
    if (strcmp(schema->name, "OrderFinalized") != 0) {
        entry_problem(run, LEDGER_PROBLEM_ENTRY_DECODE, index, "a %s record, not an OrderFinalized",
                      schema->name);
    } else if (cw_av_get_str(&v, "order_id", &order_id) != 0 ||
               cw_av_get_long(&v, "ledger_index", &ledger_index) != 0) {
        entry_problem(run, LEDGER_PROBLEM_ENTRY_DECODE, index,
                      "an OrderFinalized without order_id or ledger_index");
    } else if (ledger_index < 0 || (uint64_t)ledger_index != index) {
        entry_problem(run, LEDGER_PROBLEM_ENTRY_INDEX, index,
                      "its ledger_index is %" PRId64 ": entries were removed, inserted or "
                      "reordered before it",
                      ledger_index);
    } else if (cw_av_field(&v, "corrects_index", &field) == 0 &&
               cw_av_get_opt_long(&v, "corrects_index", &has_corrects, &corrects) != 0) {
        entry_problem(run, LEDGER_PROBLEM_ENTRY_DECODE, index,
                      "an OrderFinalized whose corrects_index is not a long");
    } else if (has_corrects) {
        check_correction(run, &v, order_id, index, corrects);
    } else {
        int rc = cw_idset_add(&run->orders, order_id, index);
        uint64_t first = 0;
        if (rc == 0 && cw_idset_get(&run->orders, order_id, &first) == 1) {
            entry_problem(run, LEDGER_PROBLEM_ENTRY_DUPLICATE, index,
                          "order %s is entry %" PRIu64 " already: an order is finalized once",
                          order_id, first);
            run->rep->duplicate_of = first;
        } else if (rc < 0) {
            entry_problem(run, LEDGER_PROBLEM_ENTRY_DECODE, index, "out of memory");
        }
    }
    avro_value_decref(&v);
}

/* Compares the root of the first size entries with every parsed
 * checkpoint of that size; *next walks run->by_size. */
static int check_roots_at(verify_run *run, const ledger_merkle_compact *tree, uint64_t *next)
{
    uint8_t root[LEDGER_HASH_LEN];
    int have_root = 0;
    while (*next < run->by_size_count && run->cps[run->by_size[*next]].size == tree->size) {
        uint64_t i = run->by_size[(*next)++];
        if (!have_root) {
            if (ledger_merkle_compact_root(run->hasher, tree, root) != 0)
                return -1;
            have_root = 1;
        }
        /* A checkpoint already found bad in itself is not blamed twice;
         * summarize() words the root mismatch once the range is known. */
        if (memcmp(root, run->cps[i].root, LEDGER_HASH_LEN) != 0 &&
            run->cps[i].problem == LEDGER_PROBLEM_NONE)
            checkpoint_problem(run, i, LEDGER_PROBLEM_CHECKPOINT_ROOT, "root mismatch");
    }
    return 0;
}

static int read_entries(verify_run *run, const uint8_t *data, size_t len)
{
    ledger_merkle_compact tree;
    ledger_merkle_compact_init(&tree);
    uint64_t next = 0;
    if (check_roots_at(run, &tree, &next) != 0)
        return -1;
    size_t pos = 0;
    for (;;) {
        const uint8_t *entry;
        size_t n;
        size_t at = pos;
        uint64_t index = tree.size;
        int r = ledger_next_entry(data, len, &pos, &entry, &n);
        if (r == LEDGER_RECORD_END)
            break;
        if (r == LEDGER_RECORD_BAD) {
            const uint8_t *p = data + at;
            entry_problem(run, LEDGER_PROBLEM_ENTRY_FRAMING, index,
                          "its length field (byte %zu) says %" PRIu32 " bytes, outside 1..%u: "
                          "the entries file is damaged there",
                          at, (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3],
                          LEDGER_ENTRY_MAX);
            break;
        }
        if (r == LEDGER_RECORD_TORN) {
            entry_problem(run, LEDGER_PROBLEM_ENTRY_TORN, index,
                          "the entries file ends inside it (%zu bytes at byte %zu): an "
                          "interrupted append, a length field changed, or the file was cut",
                          len - at, at);
            break;
        }
        uint8_t leaf[LEDGER_HASH_LEN];
        if (ledger_hash_leaf(run->hasher, entry, n, leaf) != 0 ||
            ledger_merkle_compact_append(run->hasher, &tree, leaf) != 0)
            return -1;
        if (run->rep->entry_problem == LEDGER_PROBLEM_NONE)
            check_order_entry(run, entry, n, index);
        if (check_roots_at(run, &tree, &next) != 0)
            return -1;
    }
    run->rep->entries = tree.size;
    for (; next < run->by_size_count; next++) {
        uint64_t i = run->by_size[next];
        if (run->cps[i].problem == LEDGER_PROBLEM_NONE)
            checkpoint_problem(run, i, LEDGER_PROBLEM_CHECKPOINT_BEYOND,
                               "it covers %" PRIu64 " entries but only %" PRIu64
                               " could be read: entries are missing",
                               run->cps[i].size, tree.size);
    }
    return 0;
}

/* Fills in the range of a root mismatch, the coverage and the message. */
static void summarize(verify_run *run)
{
    ledger_verify_report *rep = run->rep;
    for (uint64_t i = 0; i < run->cp_count; i++) {
        const checkpoint_state *st = &run->cps[i];
        if (rep->checkpoint_problem != LEDGER_PROBLEM_NONE && i >= rep->bad_checkpoint)
            break;
        if (st->problem == LEDGER_PROBLEM_NONE && st->parsed && st->size > rep->covered)
            rep->covered = st->size;
    }
    if (rep->checkpoint_problem == LEDGER_PROBLEM_CHECKPOINT_ROOT) {
        rep->range_begin = rep->covered;
        rep->range_end = rep->bad_checkpoint_size;
        if (rep->range_begin < rep->range_end)
            snprintf(rep->checkpoint_message, sizeof(rep->checkpoint_message),
                     "its root is not the root of the first %" PRIu64
                     " entries: one of entries %" PRIu64 "..%" PRIu64
                     " was changed, removed, inserted or reordered, or the checkpoint's root was",
                     rep->range_end, rep->range_begin, rep->range_end - 1);
        else
            snprintf(rep->checkpoint_message, sizeof(rep->checkpoint_message),
                     "its root is not the root of the first %" PRIu64
                     " entries, which an earlier checkpoint confirms: the checkpoint was altered",
                     rep->range_end);
    }

    char entry_part[320] = "", cp_part[360] = "";
    if (rep->entry_problem != LEDGER_PROBLEM_NONE)
        snprintf(entry_part, sizeof(entry_part), "entry %" PRIu64 ": %s", rep->bad_entry,
                 rep->entry_message);
    if (rep->checkpoint_problem != LEDGER_PROBLEM_NONE) {
        if (run->cps[rep->bad_checkpoint].parsed)
            snprintf(cp_part, sizeof(cp_part), "checkpoint %" PRIu64 " (tree size %" PRIu64 "): %s",
                     rep->bad_checkpoint, rep->bad_checkpoint_size, rep->checkpoint_message);
        else
            snprintf(cp_part, sizeof(cp_part), "checkpoint %" PRIu64 ": %s", rep->bad_checkpoint,
                     rep->checkpoint_message);
    }
    if (entry_part[0] || cp_part[0]) {
        snprintf(rep->message, sizeof(rep->message), "%s%s%s", entry_part,
                 entry_part[0] && cp_part[0] ? "; " : "", cp_part);
        return;
    }
    char signatures[96];
    if (rep->signatures_checked)
        snprintf(signatures, sizeof(signatures), "every signature verified with key %s",
                 rep->key_id_hex);
    else
        snprintf(signatures, sizeof(signatures), "signatures not checked (no public key given)");
    char uncovered[96] = "";
    if (rep->entries > rep->covered)
        snprintf(uncovered, sizeof(uncovered), "; %" PRIu64 " newer entries not covered by a "
                 "checkpoint yet", rep->entries - rep->covered);
    char corrections[128] = "";
    if (rep->corrections > 0)
        snprintf(corrections, sizeof(corrections),
                 " (%" PRIu64 " of them correcting entries, each of its order's latest entry)",
                 rep->corrections);
    snprintf(rep->message, sizeof(rep->message),
             "%s: %" PRIu64 " entries, %" PRIu64 " checkpoints, the last covering %" PRIu64
             " entries; every entry is a distinct order at its index%s, every checkpoint root "
             "matches; %s%s",
             rep->origin, rep->entries, rep->checkpoints, rep->covered, corrections, signatures,
             uncovered);
}

static int io_error(ledger_verify_report *rep, const char *dir, const char *name)
{
    snprintf(rep->message, sizeof(rep->message), "%s/%s: %s", dir, name, strerror(errno));
    return LEDGER_AUDIT_ERROR;
}

int ledger_verify_dir(const char *dir, const ledger_key *key, ledger_verify_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    char err[256];
    if (cw_avro_init(err, sizeof(err)) != 0) {
        snprintf(rep->message, sizeof(rep->message), "%s", err);
        return LEDGER_AUDIT_ERROR;
    }
    verify_run run;
    memset(&run, 0, sizeof(run));
    run.rep = rep;
    uint8_t *origin_text = NULL, *cp_text = NULL, *entries = NULL;
    size_t origin_len, cp_len, entries_len;
    int rc = LEDGER_AUDIT_ERROR;

    if (ledger_read_file(dir, LEDGER_FILE_ORIGIN, &origin_text, &origin_len) != 0) {
        rc = io_error(rep, dir, LEDGER_FILE_ORIGIN);
        goto out;
    }
    char log_id[LEDGER_LOG_ID_MAX + 1];
    ledger_hash_alg alg;
    if (origin_len < 2 || origin_len > LEDGER_ORIGIN_MAX + 1 || origin_text[origin_len - 1] != '\n' ||
        memchr(origin_text, '\n', origin_len - 1) != NULL ||
        memchr(origin_text, '\0', origin_len) != NULL) {
        snprintf(rep->message, sizeof(rep->message), "%s/%s: not one line naming the log", dir,
                 LEDGER_FILE_ORIGIN);
        rc = LEDGER_AUDIT_FAILED;
        goto out;
    }
    memcpy(run.log_origin, origin_text, origin_len - 1);
    run.log_origin[origin_len - 1] = '\0';
    if (ledger_origin_parse(run.log_origin, log_id, &alg) != 0) {
        snprintf(rep->message, sizeof(rep->message), "%s/%s: \"%s\" is not %s<log id>/<sm3|sha256>",
                 dir, LEDGER_FILE_ORIGIN, run.log_origin, LEDGER_ORIGIN_PREFIX);
        rc = LEDGER_AUDIT_FAILED;
        goto out;
    }
    snprintf(rep->origin, sizeof(rep->origin), "%s", run.log_origin);
    if ((run.hasher = ledger_hasher_new(alg)) == NULL) {
        snprintf(rep->message, sizeof(rep->message), "OpenSSL provides no %s",
                 ledger_hash_name(alg));
        goto out;
    }
    if (key != NULL) {
        uint8_t id[LEDGER_KEY_ID_LEN];
        if (ledger_key_id(key, run.log_origin, id) != 0) {
            snprintf(rep->message, sizeof(rep->message), "cannot compute the key id");
            goto out;
        }
        ledger_hex_encode(id, LEDGER_KEY_ID_LEN, rep->key_id_hex);
        rep->signatures_checked = 1;
    }

    /* Checkpoints before entries: see ledger_log_open. */
    if (ledger_read_file(dir, LEDGER_FILE_CHECKPOINTS, &cp_text, &cp_len) != 0) {
        rc = io_error(rep, dir, LEDGER_FILE_CHECKPOINTS);
        goto out;
    }
    if (ledger_read_file(dir, LEDGER_FILE_ENTRIES, &entries, &entries_len) != 0) {
        rc = io_error(rep, dir, LEDGER_FILE_ENTRIES);
        goto out;
    }
    if (read_checkpoints(&run, (const char *)cp_text, cp_len, key) != 0 || sort_by_size(&run) != 0 ||
        read_entries(&run, entries, entries_len) != 0) {
        snprintf(rep->message, sizeof(rep->message), "out of memory or hashing failed");
        goto out;
    }
    summarize(&run);
    rc = rep->entry_problem == LEDGER_PROBLEM_NONE && rep->checkpoint_problem == LEDGER_PROBLEM_NONE
             ? LEDGER_AUDIT_OK
             : LEDGER_AUDIT_FAILED;
out:
    free(origin_text);
    free(cp_text);
    free(entries);
    free(run.cps);
    free(run.by_size);
    cw_idset_free(&run.orders);
    cw_idset_free(&run.corrected);
    cw_idset_free(&run.corrections);
    ledger_hasher_free(run.hasher);
    return rc;
}

/* True when needle[0..n) occurs in hay[0..len) (n > 0). */
static int contains(const uint8_t *hay, size_t len, const char *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        const uint8_t *p = memchr(hay + i, (unsigned char)needle[0], len - n - i + 1);
        if (p == NULL)
            return 0;
        i = (size_t)(p - hay);
        if (memcmp(p, needle, n) == 0)
            return 1;
    }
    return 0;
}

int ledger_find_order(const ledger_log *log, const char *order_id, uint64_t *index, char *err,
                      size_t errlen)
{
    if (cw_avro_init(err, errlen) != 0)
        return LEDGER_AUDIT_ERROR;
    size_t id_len = strlen(order_id);
    uint64_t n = ledger_log_size(log);
    int found = 0;
    /* The last match: a corrected order's latest entry. */
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *entry;
        size_t len;
        if (ledger_log_entry(log, i, &entry, &len) != 0)
            return LEDGER_AUDIT_ERROR;
        /* Only entries holding the id's bytes can be its order. */
        if (id_len == 0 || !contains(entry, len, order_id, id_len))
            continue;
        const cw_avro_schema *schema;
        avro_value_t v;
        char why[256];
        if (cw_avro_decode(entry, len, &schema, &v, why, sizeof(why)) != 0)
            continue;
        const char *id = NULL;
        int match = strcmp(schema->name, "OrderFinalized") == 0 &&
                    cw_av_get_str(&v, "order_id", &id) == 0 && strcmp(id, order_id) == 0;
        avro_value_decref(&v);
        if (match) {
            *index = i;
            found = 1;
        }
    }
    if (found)
        return LEDGER_AUDIT_OK;
    snprintf(err, errlen, "no entry of %s is order %s", ledger_log_origin(log), order_id);
    return LEDGER_AUDIT_FAILED;
}
