#include "ledger-writer/ledger_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger-writer/ledger_encoding.h"

typedef struct {
    uint64_t tree_size;
    uint64_t offset; /* of the note in the checkpoints file */
    size_t len;      /* of the note, without the blank line after it */
} checkpoint_ref;

struct ledger_log {
    char *dir;
    int read_only;
    int broken; /* a failed write or fsync: the disk state is unknown */
    int entries_fd;     /* writer only */
    int checkpoints_fd; /* writer: appends; both: reads notes back */
    char log_id[LEDGER_LOG_ID_MAX + 1];
    char origin[LEDGER_ORIGIN_MAX + 1];
    ledger_hash_alg hash;
    ledger_hasher *hasher;
    const ledger_key *signer;

    uint8_t *data; /* the entries file as on disk, torn tail left out */
    size_t data_len, data_cap;
    uint64_t *offsets; /* offset in data of each entry's length prefix */
    uint64_t count, offsets_cap;
    ledger_merkle_tree tree;

    checkpoint_ref *cps;
    uint64_t cp_count, cp_cap;
    uint64_t checkpoints_len; /* bytes of the checkpoints file in use */

    uint64_t torn_entry_bytes, torn_checkpoint_bytes;
};

/* ---- record framing --------------------------------------------------- */

int ledger_next_entry(const uint8_t *data, size_t len, size_t *pos, const uint8_t **entry,
                      size_t *entry_len)
{
    size_t left = len - *pos;
    if (left == 0)
        return LEDGER_RECORD_END;
    if (left < LEDGER_FRAME_LEN)
        return LEDGER_RECORD_TORN;
    const uint8_t *p = data + *pos;
    uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (n == 0 || n > LEDGER_ENTRY_MAX)
        return LEDGER_RECORD_BAD;
    if (left - LEDGER_FRAME_LEN < n)
        return LEDGER_RECORD_TORN;
    *entry = p + LEDGER_FRAME_LEN;
    *entry_len = n;
    *pos += LEDGER_FRAME_LEN + n;
    return LEDGER_RECORD_OK;
}

int ledger_next_checkpoint(const char *text, size_t len, size_t *pos, size_t *note_len)
{
    size_t left = len - *pos;
    if (left == 0)
        return LEDGER_RECORD_END;
    const char *p = text + *pos;
    /* The blank line between text and signatures, then the one after the
     * signatures: the second "\n\n". */
    size_t seen = 0, i;
    for (i = 0; i + 1 < left; i++)
        if (p[i] == '\n' && p[i + 1] == '\n' && ++seen == 2)
            break;
    if (seen < 2) {
        if (left > LEDGER_NOTE_MAX)
            return LEDGER_RECORD_BAD;
        return LEDGER_RECORD_TORN;
    }
    if (i + 1 >= LEDGER_NOTE_MAX)
        return LEDGER_RECORD_BAD;
    *note_len = i + 1;
    *pos += i + 2;
    return LEDGER_RECORD_OK;
}

/* ---- small file helpers ------------------------------------------------ */

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, uint8_t **out, size_t *out_len)
{
    struct stat st;
    *out = NULL;
    *out_len = 0;
    if (fstat(fd, &st) != 0)
        return -1;
    size_t cap = (size_t)st.st_size + 1;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return -1;
    size_t len = 0;
    /* The file may grow while it is read: read until read() says the end
     * is reached, keeping one byte free for the NUL. */
    for (;;) {
        uint8_t probe;
        int full = len + 1 == cap;
        ssize_t n = full ? pread(fd, &probe, 1, (off_t)len)
                         : pread(fd, buf + len, cap - 1 - len, (off_t)len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            return -1;
        }
        if (n == 0)
            break;
        if (full) {
            uint8_t *grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                free(buf);
                return -1;
            }
            buf = grown;
            cap *= 2;
            buf[len] = probe;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

int ledger_read_file(const char *dir, const char *name, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    char *path = join_path(dir, name);
    if (path == NULL)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return -1;
    uint8_t *buf;
    size_t n;
    int rc = read_all(fd, &buf, &n);
    int saved = errno;
    close(fd);
    if (rc != 0) {
        errno = saved;
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int file_exists(const char *dir, const char *name, off_t *size)
{
    char *path = join_path(dir, name);
    struct stat st;
    int rc = path != NULL && stat(path, &st) == 0;
    if (rc && size != NULL)
        *size = st.st_size;
    free(path);
    return rc;
}

/* ---- creation ------------------------------------------------------------- */

static int create_empty(const char *dir, const char *name, char *err, size_t errlen)
{
    char *path = join_path(dir, name);
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640) : -1;
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path ? path : name, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* Creates a new log in dir: the empty data files, then the origin file
 * (through a temporary file and a rename), then syncs the directory. The
 * origin file is what makes a directory a log, so a crash half-way leaves
 * a directory that the next open creates again. */
static int create_log(const char *dir, const char *origin, char *err, size_t errlen)
{
    if (create_empty(dir, LEDGER_FILE_ENTRIES, err, errlen) != 0 ||
        create_empty(dir, LEDGER_FILE_CHECKPOINTS, err, errlen) != 0)
        return LEDGER_ERR_IO;
    char *tmp = join_path(dir, LEDGER_FILE_ORIGIN ".tmp");
    char *path = join_path(dir, LEDGER_FILE_ORIGIN);
    int rc = LEDGER_ERR_IO;
    int fd = tmp && path ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640) : -1;
    if (fd >= 0 && write_all(fd, origin, strlen(origin)) == 0 && write_all(fd, "\n", 1) == 0 &&
        fsync(fd) == 0 && close(fd) == 0) {
        fd = -1;
        if (rename(tmp, path) == 0 && fsync_dir(dir) == 0)
            rc = 0;
    }
    if (rc != 0)
        snprintf(err, errlen, "cannot create the log in %s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(tmp);
    free(path);
    return rc;
}

static int ensure_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        snprintf(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    if (errno != ENOENT || mkdir(dir, 0750) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    /* The new directory's own entry must be durable too. */
    char *parent = strdup(dir);
    if (parent == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *slash = strrchr(parent, '/');
    const char *p = ".";
    if (slash == parent)
        p = "/";
    else if (slash != NULL) {
        *slash = '\0';
        p = parent;
    }
    int rc = fsync_dir(p);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", p, strerror(errno));
    free(parent);
    return rc;
}

/* ---- opening -------------------------------------------------------------- */

static int read_origin(ledger_log *log, char *err, size_t errlen)
{
    char *path = join_path(log->dir, LEDGER_FILE_ORIGIN);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path ? path : log->dir, strerror(errno));
        free(path);
        return LEDGER_ERR_IO;
    }
    uint8_t *buf;
    size_t len;
    int rc = read_all(fd, &buf, &len);
    close(fd);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(path);
        return LEDGER_ERR_IO;
    }
    rc = LEDGER_ERR_CORRUPT;
    if (len >= 2 && len <= LEDGER_ORIGIN_MAX + 1 && buf[len - 1] == '\n' &&
        memchr(buf, '\n', len - 1) == NULL && memchr(buf, '\0', len) == NULL) {
        memcpy(log->origin, buf, len - 1);
        log->origin[len - 1] = '\0';
        if (ledger_origin_parse(log->origin, log->log_id, &log->hash) == 0)
            rc = 0;
    }
    if (rc != 0)
        snprintf(err, errlen, "%s: not one line \"%s<log id>/<sm3|sha256>\"", path,
                 LEDGER_ORIGIN_PREFIX);
    free(buf);
    free(path);
    return rc;
}

static int grow_offsets(ledger_log *log, uint64_t need)
{
    if (need <= log->offsets_cap)
        return 0;
    uint64_t cap = log->offsets_cap ? log->offsets_cap * 2 : 1024;
    while (cap < need)
        cap *= 2;
    uint64_t *grown = realloc(log->offsets, (size_t)cap * sizeof(*grown));
    if (grown == NULL)
        return -1;
    log->offsets = grown;
    log->offsets_cap = cap;
    return 0;
}

static int grow_data(ledger_log *log, size_t need)
{
    if (need <= log->data_cap)
        return 0;
    size_t cap = log->data_cap ? log->data_cap * 2 : 65536;
    while (cap < need)
        cap *= 2;
    uint8_t *grown = realloc(log->data, cap);
    if (grown == NULL)
        return -1;
    log->data = grown;
    log->data_cap = cap;
    return 0;
}

/* Cuts a file back to len bytes and syncs it: the torn tail of a crash. */
static int cut_file(int fd, uint64_t len)
{
    return ftruncate(fd, (off_t)len) == 0 && fdatasync(fd) == 0 ? 0 : -1;
}

static int load_entries(ledger_log *log, char *err, size_t errlen)
{
    char *path = join_path(log->dir, LEDGER_FILE_ENTRIES);
    int fd = path ? open(path, (log->read_only ? O_RDONLY : O_RDWR | O_APPEND) | O_CLOEXEC) : -1;
    int rc = LEDGER_ERR_IO;
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path ? path : log->dir, strerror(errno));
        goto out;
    }
    if (!log->read_only && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == EWOULDBLOCK ? "the log is open for writing in another process"
                                      : strerror(errno));
        goto out;
    }
    if (read_all(fd, &log->data, &log->data_len) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    log->data_cap = log->data_len;

    size_t pos = 0;
    for (;;) {
        const uint8_t *entry;
        size_t n;
        size_t at = pos;
        int r = ledger_next_entry(log->data, log->data_len, &pos, &entry, &n);
        if (r == LEDGER_RECORD_END)
            break;
        if (r == LEDGER_RECORD_BAD) {
            snprintf(err, errlen,
                     "%s: entry %" PRIu64 " at byte %zu has a length outside 1..%u: the file "
                     "is damaged",
                     path, log->count, at, LEDGER_ENTRY_MAX);
            rc = LEDGER_ERR_CORRUPT;
            goto out;
        }
        if (r == LEDGER_RECORD_TORN) {
            /* Cut only once the whole log has checked out (cut_torn_tails). */
            log->torn_entry_bytes = log->data_len - at;
            log->data_len = at;
            break;
        }
        uint8_t leaf[LEDGER_HASH_LEN];
        if (grow_offsets(log, log->count + 1) != 0 ||
            ledger_hash_leaf(log->hasher, entry, n, leaf) != 0 ||
            ledger_merkle_tree_append(log->hasher, &log->tree, leaf) != 0) {
            snprintf(err, errlen, "%s: out of memory or hashing failed at entry %" PRIu64, path,
                     log->count);
            goto out;
        }
        log->offsets[log->count++] = at;
    }
    if (!log->read_only) {
        log->entries_fd = fd;
        fd = -1;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* Checks checkpoint i against the entries: origin, order of sizes, size
 * within the log, root, and the signature when a key is given. */
static int check_checkpoint(ledger_log *log, uint64_t i, const ledger_checkpoint *cp,
                            uint64_t prev_size, const ledger_key *key, char *why, size_t whylen)
{
    if (strcmp(cp->origin, log->origin) != 0) {
        snprintf(why, whylen, "its origin is %s, the log's is %s", cp->origin, log->origin);
        return -1;
    }
    if (i > 0 && cp->tree_size < prev_size) {
        snprintf(why, whylen, "its tree size %" PRIu64 " is below the previous checkpoint's %" PRIu64,
                 cp->tree_size, prev_size);
        return -1;
    }
    if (cp->tree_size > log->count) {
        snprintf(why, whylen,
                 "it covers %" PRIu64 " entries but the entries file holds %" PRIu64
                 ": entries are missing",
                 cp->tree_size, log->count);
        return -1;
    }
    uint8_t root[LEDGER_HASH_LEN];
    if (ledger_merkle_tree_root(log->hasher, &log->tree, cp->tree_size, root) != 0) {
        snprintf(why, whylen, "hashing failed");
        return -1;
    }
    if (memcmp(root, cp->root_hash, LEDGER_HASH_LEN) != 0) {
        snprintf(why, whylen,
                 "its root is not the root of entries 0..%" PRIu64 ": an entry below %" PRIu64
                 " was changed",
                 cp->tree_size, cp->tree_size);
        return -1;
    }
    if (key != NULL && ledger_checkpoint_verify(cp, key, why, whylen) != 0)
        return -1;
    return 0;
}

/* Opens the checkpoints file and reads it. It is read before the entries
 * file: the writer appends entries before the checkpoint that covers them,
 * so entries read afterwards hold everything the checkpoints read cover,
 * even while a writer is appending. */
static int read_checkpoints(ledger_log *log, uint8_t **text, size_t *len, char *err,
                            size_t errlen)
{
    char *path = join_path(log->dir, LEDGER_FILE_CHECKPOINTS);
    int fd = path ? open(path, (log->read_only ? O_RDONLY : O_RDWR | O_APPEND) | O_CLOEXEC) : -1;
    if (fd < 0 || read_all(fd, text, len) != 0) {
        snprintf(err, errlen, "%s: %s", path ? path : log->dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(path);
        return LEDGER_ERR_IO;
    }
    log->checkpoints_fd = fd;
    free(path);
    return 0;
}

static int add_checkpoint_ref(ledger_log *log, checkpoint_ref ref)
{
    if (log->cp_count == log->cp_cap) {
        uint64_t cap = log->cp_cap ? log->cp_cap * 2 : 64;
        checkpoint_ref *grown = realloc(log->cps, (size_t)cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        log->cps = grown;
        log->cp_cap = cap;
    }
    log->cps[log->cp_count++] = ref;
    return 0;
}

/* Parses and checks every note of the checkpoints file text[0..len). */
static int load_checkpoints(ledger_log *log, const uint8_t *text, size_t len,
                            const ledger_key *verify_key, char *err, size_t errlen)
{
    size_t pos = 0;
    uint64_t prev_size = 0;
    for (;;) {
        size_t at = pos, note_len = 0;
        int r = ledger_next_checkpoint((const char *)text, len, &pos, &note_len);
        if (r == LEDGER_RECORD_END)
            break;
        if (r == LEDGER_RECORD_TORN) {
            log->torn_checkpoint_bytes = len - at;
            len = at;
            break;
        }
        ledger_checkpoint cp;
        char why[256] = "not a checkpoint note";
        if (r == LEDGER_RECORD_BAD ||
            ledger_checkpoint_parse((const char *)text + at, note_len, &cp, why, sizeof(why)) != 0 ||
            check_checkpoint(log, log->cp_count, &cp, prev_size, verify_key, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s/%s: checkpoint %" PRIu64 " at byte %zu: %s", log->dir,
                     LEDGER_FILE_CHECKPOINTS, log->cp_count, at, why);
            return LEDGER_ERR_CORRUPT;
        }
        if (add_checkpoint_ref(log, (checkpoint_ref){cp.tree_size, at, note_len}) != 0) {
            snprintf(err, errlen, "out of memory");
            return LEDGER_ERR_IO;
        }
        prev_size = cp.tree_size;
    }
    log->checkpoints_len = len;
    return 0;
}

/* A writer cuts the torn tails found at open, once everything before them
 * checked out: a log in any other trouble is left exactly as found. */
static int cut_torn_tails(ledger_log *log, char *err, size_t errlen)
{
    if (log->read_only)
        return 0;
    if (log->torn_entry_bytes > 0 && cut_file(log->entries_fd, log->data_len) != 0) {
        snprintf(err, errlen, "%s/%s: cannot cut the torn tail: %s", log->dir, LEDGER_FILE_ENTRIES,
                 strerror(errno));
        return LEDGER_ERR_IO;
    }
    if (log->torn_checkpoint_bytes > 0 &&
        cut_file(log->checkpoints_fd, log->checkpoints_len) != 0) {
        snprintf(err, errlen, "%s/%s: cannot cut the torn tail: %s", log->dir,
                 LEDGER_FILE_CHECKPOINTS, strerror(errno));
        return LEDGER_ERR_IO;
    }
    return 0;
}

/* Finds or makes the log's origin file; on return log->origin is set. */
static int open_origin(ledger_log *log, const ledger_log_options *opt, char *err, size_t errlen)
{
    if (!file_exists(log->dir, LEDGER_FILE_ORIGIN, NULL)) {
        if (log->read_only) {
            snprintf(err, errlen, "%s is not a ledger: it has no %s file", log->dir,
                     LEDGER_FILE_ORIGIN);
            return LEDGER_ERR_IO;
        }
        off_t n1 = 0, n2 = 0;
        if ((file_exists(log->dir, LEDGER_FILE_ENTRIES, &n1) && n1 > 0) ||
            (file_exists(log->dir, LEDGER_FILE_CHECKPOINTS, &n2) && n2 > 0)) {
            snprintf(err, errlen, "%s holds ledger data but no %s file", log->dir,
                     LEDGER_FILE_ORIGIN);
            return LEDGER_ERR_CORRUPT;
        }
        char origin[LEDGER_ORIGIN_MAX + 1];
        if (ledger_origin_format(origin, sizeof(origin), opt->log_id, opt->hash) != 0) {
            snprintf(err, errlen, "invalid log id");
            return LEDGER_ERR_CONFIG;
        }
        int rc = create_log(log->dir, origin, err, errlen);
        if (rc != 0)
            return rc;
    }
    int rc = read_origin(log, err, errlen);
    if (rc != 0)
        return rc;
    if (opt->log_id != NULL && (strcmp(opt->log_id, log->log_id) != 0 || opt->hash != log->hash)) {
        char want[LEDGER_ORIGIN_MAX + 1] = "";
        ledger_origin_format(want, sizeof(want), opt->log_id, opt->hash);
        snprintf(err, errlen, "%s holds the log %s, not %s", log->dir, log->origin,
                 want[0] ? want : opt->log_id);
        return LEDGER_ERR_CONFIG;
    }
    return 0;
}

int ledger_log_open(const char *dir, const ledger_log_options *opt, ledger_log **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    if (opt->signer != NULL && (opt->log_id == NULL || !ledger_key_is_private(opt->signer))) {
        snprintf(err, errlen, "a writer needs a log id and a private key");
        return LEDGER_ERR_CONFIG;
    }
    ledger_log *log = calloc(1, sizeof(*log));
    if (log == NULL || (log->dir = strdup(dir)) == NULL) {
        free(log);
        snprintf(err, errlen, "out of memory");
        return LEDGER_ERR_IO;
    }
    log->read_only = opt->signer == NULL;
    log->signer = opt->signer;
    log->entries_fd = -1;
    log->checkpoints_fd = -1;
    ledger_merkle_tree_init(&log->tree);

    int rc = 0;
    if (!log->read_only && ensure_dir(dir, err, errlen) != 0)
        rc = LEDGER_ERR_IO;
    if (rc == 0)
        rc = open_origin(log, opt, err, errlen);
    if (rc == 0 && (log->hasher = ledger_hasher_new(log->hash)) == NULL) {
        snprintf(err, errlen, "OpenSSL provides no %s", ledger_hash_name(log->hash));
        rc = LEDGER_ERR_IO;
    }
    uint8_t *cp_text = NULL;
    size_t cp_len = 0;
    if (rc == 0)
        rc = read_checkpoints(log, &cp_text, &cp_len, err, errlen);
    if (rc == 0)
        rc = load_entries(log, err, errlen);
    if (rc == 0)
        rc = load_checkpoints(log, cp_text, cp_len, opt->verify_key, err, errlen);
    free(cp_text);
    if (rc == 0)
        rc = cut_torn_tails(log, err, errlen);
    if (rc != 0) {
        ledger_log_close(log);
        return rc;
    }
    *out = log;
    return 0;
}

void ledger_log_close(ledger_log *log)
{
    if (log == NULL)
        return;
    if (log->entries_fd >= 0)
        close(log->entries_fd);
    if (log->checkpoints_fd >= 0)
        close(log->checkpoints_fd);
    ledger_merkle_tree_free(&log->tree);
    ledger_hasher_free(log->hasher);
    free(log->data);
    free(log->offsets);
    free(log->cps);
    free(log->dir);
    free(log);
}

/* ---- reading ---------------------------------------------------------------- */

const char *ledger_log_id(const ledger_log *log)
{
    return log->log_id;
}

const char *ledger_log_origin(const ledger_log *log)
{
    return log->origin;
}

ledger_hash_alg ledger_log_hash(const ledger_log *log)
{
    return log->hash;
}

uint64_t ledger_log_size(const ledger_log *log)
{
    return log->count;
}

uint64_t ledger_log_torn_entry_bytes(const ledger_log *log)
{
    return log->torn_entry_bytes;
}

uint64_t ledger_log_torn_checkpoint_bytes(const ledger_log *log)
{
    return log->torn_checkpoint_bytes;
}

int ledger_log_entry(const ledger_log *log, uint64_t index, const uint8_t **entry, size_t *len)
{
    if (index >= log->count)
        return -1;
    const uint8_t *p = log->data + log->offsets[index];
    *len = (size_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
    *entry = p + LEDGER_FRAME_LEN;
    return 0;
}

const uint8_t *ledger_log_leaf_hash(const ledger_log *log, uint64_t index)
{
    return ledger_merkle_tree_leaf(&log->tree, index);
}

int ledger_log_root(const ledger_log *log, uint64_t size, uint8_t root[LEDGER_HASH_LEN])
{
    return ledger_merkle_tree_root(log->hasher, &log->tree, size, root);
}

int ledger_log_inclusion_proof(const ledger_log *log, uint64_t index, uint64_t size,
                               uint8_t *proof, size_t *count)
{
    return ledger_merkle_tree_inclusion_proof(log->hasher, &log->tree, index, size, proof, count);
}

int ledger_log_consistency_proof(const ledger_log *log, uint64_t old_size, uint64_t new_size,
                                 uint8_t *proof, size_t *count)
{
    return ledger_merkle_tree_consistency_proof(log->hasher, &log->tree, old_size, new_size, proof,
                                                count);
}

uint64_t ledger_log_checkpoint_count(const ledger_log *log)
{
    return log->cp_count;
}

uint64_t ledger_log_checkpoint_size(const ledger_log *log, uint64_t i)
{
    return i < log->cp_count ? log->cps[i].tree_size : 0;
}

int ledger_log_checkpoint_get(const ledger_log *log, uint64_t i, ledger_checkpoint *out,
                              char *err, size_t errlen)
{
    if (i >= log->cp_count) {
        snprintf(err, errlen, "no checkpoint %" PRIu64, i);
        return -1;
    }
    const checkpoint_ref *ref = &log->cps[i];
    char buf[LEDGER_NOTE_MAX];
    size_t got = 0;
    while (got < ref->len) {
        ssize_t n = pread(log->checkpoints_fd, buf + got, ref->len - got,
                          (off_t)(ref->offset + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s/%s: cannot read checkpoint %" PRIu64 ": %s", log->dir,
                     LEDGER_FILE_CHECKPOINTS, i, n < 0 ? strerror(errno) : "file shrank");
            return -1;
        }
        got += (size_t)n;
    }
    char why[256] = "another tree size";
    if (ledger_checkpoint_parse(buf, ref->len, out, why, sizeof(why)) != 0 ||
        out->tree_size != ref->tree_size) {
        snprintf(err, errlen, "%s/%s: checkpoint %" PRIu64 " changed on disk since the log was "
                 "opened: %s", log->dir, LEDGER_FILE_CHECKPOINTS, i, why);
        return -1;
    }
    return 0;
}

int ledger_log_checkpoint_find(const ledger_log *log, uint64_t size, ledger_checkpoint *out,
                               char *err, size_t errlen)
{
    for (uint64_t i = log->cp_count; i-- > 0;) {
        if (log->cps[i].tree_size == size)
            return ledger_log_checkpoint_get(log, i, out, err, errlen) == 0 ? 0 : -1;
        if (log->cps[i].tree_size < size)
            break;
    }
    return 1;
}

/* ---- writing ------------------------------------------------------------------ */

static int check_writable(const ledger_log *log, char *err, size_t errlen)
{
    if (log->read_only) {
        snprintf(err, errlen, "the log is open read-only");
        return -1;
    }
    if (log->broken) {
        snprintf(err, errlen, "an earlier write to the log failed; open it again");
        return -1;
    }
    return 0;
}

/* Appends buf to fd (at file length len) and syncs it. A failed write is
 * undone when it can be; a failed sync, or an undo that fails, breaks the
 * log. */
static int durable_append(ledger_log *log, int fd, uint64_t len, const void *buf, size_t n,
                          const char *file, char *err, size_t errlen)
{
    if (write_all(fd, buf, n) != 0) {
        int saved = errno;
        if (ftruncate(fd, (off_t)len) != 0)
            log->broken = 1;
        snprintf(err, errlen, "%s/%s: write failed: %s", log->dir, file, strerror(saved));
        return -1;
    }
    if (fdatasync(fd) != 0) {
        log->broken = 1;
        snprintf(err, errlen, "%s/%s: fsync failed: %s", log->dir, file, strerror(errno));
        return -1;
    }
    return 0;
}

int ledger_log_append_many(ledger_log *log, const uint8_t *const *entries, const size_t *lens,
                           size_t n, uint64_t *first_index, char *err, size_t errlen)
{
    if (check_writable(log, err, errlen) != 0)
        return -1;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] == 0 || lens[i] > LEDGER_ENTRY_MAX) {
            snprintf(err, errlen, "an entry is 1 to %u bytes, not %zu", LEDGER_ENTRY_MAX, lens[i]);
            return -1;
        }
        if (total > SIZE_MAX - LEDGER_FRAME_LEN - lens[i]) {
            snprintf(err, errlen, "too much at once");
            return -1;
        }
        total += LEDGER_FRAME_LEN + lens[i];
    }
    if (n == 0) {
        if (first_index != NULL)
            *first_index = log->count;
        return 0;
    }
    /* Everything that can fail for memory or hashing happens before the
     * write, so a durable entry is always also in memory. */
    uint8_t *leaves = malloc(n * LEDGER_HASH_LEN);
    int ok = leaves != NULL && grow_data(log, log->data_len + total) == 0 &&
             grow_offsets(log, log->count + n) == 0 &&
             ledger_merkle_tree_reserve(&log->tree, n) == 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = ledger_hash_leaf(log->hasher, entries[i], lens[i], leaves + i * LEDGER_HASH_LEN) == 0;
    if (!ok) {
        free(leaves);
        snprintf(err, errlen, "out of memory or hashing failed");
        return -1;
    }
    uint8_t *p = log->data + log->data_len;
    for (size_t i = 0; i < n; i++) {
        size_t len = lens[i];
        p[0] = (uint8_t)(len >> 24);
        p[1] = (uint8_t)(len >> 16);
        p[2] = (uint8_t)(len >> 8);
        p[3] = (uint8_t)len;
        memcpy(p + LEDGER_FRAME_LEN, entries[i], len);
        p += LEDGER_FRAME_LEN + len;
    }
    if (durable_append(log, log->entries_fd, log->data_len, log->data + log->data_len, total,
                       LEDGER_FILE_ENTRIES, err, errlen) != 0) {
        free(leaves);
        return -1;
    }
    if (first_index != NULL)
        *first_index = log->count;
    for (size_t i = 0; i < n; i++) {
        if (ledger_merkle_tree_append(log->hasher, &log->tree, leaves + i * LEDGER_HASH_LEN) != 0) {
            log->broken = 1;
            free(leaves);
            snprintf(err, errlen, "hashing failed after the entries were written; open the log "
                     "again");
            return -1;
        }
        log->offsets[log->count++] = log->data_len;
        log->data_len += LEDGER_FRAME_LEN + lens[i];
    }
    free(leaves);
    return 0;
}

int ledger_log_append(ledger_log *log, const uint8_t *entry, size_t len, uint64_t *index_out,
                      char *err, size_t errlen)
{
    return ledger_log_append_many(log, &entry, &len, 1, index_out, err, errlen);
}

int ledger_log_checkpoint(ledger_log *log, int64_t timestamp_ms, ledger_checkpoint *out,
                          char *err, size_t errlen)
{
    if (check_writable(log, err, errlen) != 0)
        return -1;
    uint8_t root[LEDGER_HASH_LEN];
    ledger_checkpoint cp;
    if (ledger_log_root(log, log->count, root) != 0) {
        snprintf(err, errlen, "hashing failed");
        return -1;
    }
    if (ledger_checkpoint_sign(log->signer, log->log_id, log->hash, log->count, root,
                               timestamp_ms, &cp, err, errlen) != 0)
        return -1;
    /* Room for the reference first, so a durable checkpoint is always
     * also known in memory. */
    if (log->cp_count == log->cp_cap) {
        uint64_t cap = log->cp_cap ? log->cp_cap * 2 : 64;
        checkpoint_ref *grown = realloc(log->cps, (size_t)cap * sizeof(*grown));
        if (grown == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        log->cps = grown;
        log->cp_cap = cap;
    }
    char record[LEDGER_NOTE_MAX + 1];
    memcpy(record, cp.signed_note, cp.signed_note_len);
    record[cp.signed_note_len] = '\n';
    if (durable_append(log, log->checkpoints_fd, log->checkpoints_len, record,
                       cp.signed_note_len + 1, LEDGER_FILE_CHECKPOINTS, err, errlen) != 0)
        return -1;
    (void)add_checkpoint_ref(log, (checkpoint_ref){cp.tree_size, log->checkpoints_len,
                                             cp.signed_note_len});
    log->checkpoints_len += cp.signed_note_len + 1;
    if (out != NULL)
        *out = cp;
    return 0;
}
