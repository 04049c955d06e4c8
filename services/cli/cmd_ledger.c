/* carewatch ledger verify | prove | check-proof | consistency |
 * check-consistency: the offline audit of the ledger (docs/ledger.md). The
 * work is done by the ledger-writer's logic library (ledger_verify.h,
 * ledger_proof_json.h); this file only handles arguments and output. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/commands.h"
#include "ledger-writer/ledger_log.h"
#include "ledger-writer/ledger_proof_json.h"
#include "ledger-writer/ledger_sign.h"
#include "ledger-writer/ledger_verify.h"

/* A proof is at most a few MiB (an entry is at most 1 MiB). */
#define PROOF_FILE_MAX (8u << 20)

static const char ledger_help[] =
    "usage: carewatch ledger <subcommand> [arguments]\n"
    "\n"
    "  verify <dir> [--pubkey FILE]\n"
    "      Re-derives the root of every checkpoint of the log in <dir> from its\n"
    "      entries, checks that every entry is an OrderFinalized at its index and\n"
    "      that no order is there twice, and with --pubkey every signature. Names\n"
    "      the first bad entry or checkpoint.\n"
    "  prove <dir> <order_id>\n"
    "      Prints (JSON) the inclusion proof of the order's entry in the tree of\n"
    "      the log's last checkpoint.\n"
    "  check-proof <proof.json|-> [--pubkey FILE]\n"
    "      Checks an inclusion proof offline, from a file or standard input.\n"
    "  consistency <dir> <old_size> <new_size>\n"
    "      Prints (JSON) the proof that the log's checkpoint of old_size entries\n"
    "      is a prefix of its checkpoint of new_size entries.\n"
    "  check-consistency <proof.json|-> [--pubkey FILE]\n"
    "      Checks a consistency proof offline.\n"
    "\n"
    "--pubkey FILE is the log's public key (PEM, Ed25519 or SM2); without it the\n"
    "signatures are not checked, and the output says so.\n"
    "Exit codes: 0 ok; 1 verification failed, or no such order or checkpoint;\n"
    "2 usage or I/O error.\n";

typedef struct {
    const char *pos[3];
    int npos;
    const char *pubkey;
    int help;
} ledger_args;

typedef struct {
    const char *name;
    int npos;         /* positional arguments it takes */
    int takes_pubkey; /* accepts --pubkey */
    const char *synopsis;
    int (*run)(const ledger_args *a);
} ledger_sub;

static int usage_error(const char *synopsis, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const char *synopsis, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "carewatch ledger: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nusage: carewatch ledger %s\n", synopsis);
    va_end(ap);
    return CW_EXIT_USAGE;
}

static int parse_args(const ledger_sub *sub, int argc, char **argv, ledger_args *a)
{
    memset(a, 0, sizeof(*a));
    int options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = 1;
        } else if (!options_done && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)) {
            a->help = 1;
        } else if (!options_done && sub->takes_pubkey && strcmp(arg, "--pubkey") == 0) {
            if (i + 1 >= argc)
                return usage_error(sub->synopsis, "%s needs a file", arg);
            a->pubkey = argv[++i];
        } else if (!options_done && sub->takes_pubkey && strncmp(arg, "--pubkey=", 9) == 0) {
            a->pubkey = arg + 9;
        } else if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            return usage_error(sub->synopsis, "unknown option %s", arg);
        } else if (a->npos < sub->npos) {
            a->pos[a->npos++] = arg;
        } else {
            return usage_error(sub->synopsis, "unexpected argument \"%s\"", arg);
        }
    }
    if (!a->help && a->npos < sub->npos)
        return usage_error(sub->synopsis, "%s", "missing arguments");
    if (a->pubkey != NULL && a->pubkey[0] == '\0')
        return usage_error(sub->synopsis, "%s", "--pubkey needs a file");
    return CW_EXIT_OK;
}

/* Loads --pubkey when given; *key stays NULL otherwise. */
static int load_pubkey(const ledger_args *a, ledger_key **key)
{
    *key = NULL;
    if (a->pubkey == NULL)
        return CW_EXIT_OK;
    char err[512];
    if (ledger_key_load(a->pubkey, 0, key, err, sizeof(err)) != 0) {
        fprintf(stderr, "carewatch ledger: %s\n", err);
        return CW_EXIT_USAGE;
    }
    return CW_EXIT_OK;
}

static int parse_size(const char *text, uint64_t *out)
{
    if (text[0] == '\0' || strlen(text) > 20)
        return -1;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (errno != 0)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Opens the log read-only. A log that does not open cleanly fails the
 * command: its proofs could not be trusted either. */
static int open_log(const char *dir, ledger_log **log)
{
    ledger_log_options opt = {0};
    char err[512];
    int rc = ledger_log_open(dir, &opt, log, err, sizeof(err));
    if (rc == 0)
        return CW_EXIT_OK;
    if (rc == LEDGER_ERR_CORRUPT) {
        printf("FAILED: %s (run `carewatch ledger verify %s` for the full report)\n", err, dir);
        return CW_EXIT_FAILED;
    }
    fprintf(stderr, "carewatch ledger: %s\n", err);
    return CW_EXIT_USAGE;
}

static int print_json(json_t *obj)
{
    int rc = json_dumpf(obj, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) == 0 &&
                     fputc('\n', stdout) != EOF && fflush(stdout) == 0
                 ? CW_EXIT_OK
                 : CW_EXIT_USAGE;
    if (rc != CW_EXIT_OK)
        fprintf(stderr, "carewatch ledger: cannot write the proof: %s\n", strerror(errno));
    json_decref(obj);
    return rc;
}

/* Reads a proof from path, or standard input for "-", as one JSON object
 * with no duplicate keys. */
static int read_proof(const char *path, json_t **out)
{
    *out = NULL;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "carewatch ledger: %s: %s\n", path, strerror(errno));
        return CW_EXIT_USAGE;
    }
    char *buf = malloc(PROOF_FILE_MAX + 1);
    size_t len = buf ? fread(buf, 1, PROOF_FILE_MAX + 1, f) : 0;
    int failed = buf == NULL || ferror(f);
    if (f != stdin)
        fclose(f);
    if (failed || len > PROOF_FILE_MAX) {
        fprintf(stderr, "carewatch ledger: %s: %s\n", path,
                failed ? "cannot read it" : "too large for a proof");
        free(buf);
        return CW_EXIT_USAGE;
    }
    json_error_t jerr;
    *out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (*out == NULL) {
        fprintf(stderr, "carewatch ledger: %s: not JSON (line %d: %s)\n", path, jerr.line,
                jerr.text);
        return CW_EXIT_USAGE;
    }
    return CW_EXIT_OK;
}

static int print_result(int rc, const char *msg)
{
    if (rc == LEDGER_AUDIT_ERROR) {
        fprintf(stderr, "carewatch ledger: %s\n", msg);
        return CW_EXIT_USAGE;
    }
    printf("%s: %s\n", rc == LEDGER_AUDIT_OK ? "OK" : "FAILED", msg);
    return rc == LEDGER_AUDIT_OK ? CW_EXIT_OK : CW_EXIT_FAILED;
}

static int run_verify(const ledger_args *a)
{
    ledger_key *key;
    int rc = load_pubkey(a, &key);
    if (rc != CW_EXIT_OK)
        return rc;
    ledger_verify_report *rep = malloc(sizeof(*rep));
    if (rep == NULL) {
        ledger_key_free(key);
        fprintf(stderr, "carewatch ledger: out of memory\n");
        return CW_EXIT_USAGE;
    }
    rc = ledger_verify_dir(a->pos[0], key, rep);
    rc = print_result(rc, rep->message);
    free(rep);
    ledger_key_free(key);
    return rc;
}

static int run_prove(const ledger_args *a)
{
    ledger_log *log;
    int rc = open_log(a->pos[0], &log);
    if (rc != CW_EXIT_OK)
        return rc;
    json_t *proof = NULL;
    char err[512];
    rc = ledger_inclusion_proof_json(log, a->pos[1], &proof, err, sizeof(err));
    ledger_log_close(log);
    if (rc != LEDGER_AUDIT_OK) {
        fprintf(stderr, "carewatch ledger: %s\n", err);
        return rc == LEDGER_AUDIT_FAILED ? CW_EXIT_FAILED : CW_EXIT_USAGE;
    }
    return print_json(proof);
}

static int run_consistency(const ledger_args *a)
{
    uint64_t old_size, new_size;
    if (parse_size(a->pos[1], &old_size) != 0)
        return usage_error("consistency <dir> <old_size> <new_size>",
                           "old_size \"%s\" is not a number of entries", a->pos[1]);
    if (parse_size(a->pos[2], &new_size) != 0)
        return usage_error("consistency <dir> <old_size> <new_size>",
                           "new_size \"%s\" is not a number of entries", a->pos[2]);
    if (old_size > new_size)
        return usage_error("consistency <dir> <old_size> <new_size>", "%s",
                           "old_size is above new_size");
    ledger_log *log;
    int rc = open_log(a->pos[0], &log);
    if (rc != CW_EXIT_OK)
        return rc;
    json_t *proof = NULL;
    char err[512];
    rc = ledger_consistency_proof_json(log, old_size, new_size, &proof, err, sizeof(err));
    ledger_log_close(log);
    if (rc != LEDGER_AUDIT_OK) {
        fprintf(stderr, "carewatch ledger: %s\n", err);
        return rc == LEDGER_AUDIT_FAILED ? CW_EXIT_FAILED : CW_EXIT_USAGE;
    }
    return print_json(proof);
}

static int run_check(const ledger_args *a, int (*check)(const json_t *, const ledger_key *,
                                                        char *, size_t))
{
    ledger_key *key;
    int rc = load_pubkey(a, &key);
    if (rc != CW_EXIT_OK)
        return rc;
    json_t *proof;
    rc = read_proof(a->pos[0], &proof);
    if (rc == CW_EXIT_OK) {
        char msg[1024];
        rc = print_result(check(proof, key, msg, sizeof(msg)), msg);
        json_decref(proof);
    }
    ledger_key_free(key);
    return rc;
}

static int run_check_proof(const ledger_args *a)
{
    return run_check(a, ledger_check_inclusion_proof);
}

static int run_check_consistency(const ledger_args *a)
{
    return run_check(a, ledger_check_consistency_proof);
}

static const ledger_sub subs[] = {
    {"verify", 1, 1, "verify <dir> [--pubkey FILE]", run_verify},
    {"prove", 2, 0, "prove <dir> <order_id>", run_prove},
    {"check-proof", 1, 1, "check-proof <proof.json|-> [--pubkey FILE]", run_check_proof},
    {"consistency", 3, 0, "consistency <dir> <old_size> <new_size>", run_consistency},
    {"check-consistency", 1, 1, "check-consistency <proof.json|-> [--pubkey FILE]",
     run_check_consistency},
};

int cmd_ledger(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(ledger_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CW_EXIT_USAGE : CW_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(argv[1], subs[i].name) != 0)
            continue;
        ledger_args a;
        int rc = parse_args(&subs[i], argc - 1, argv + 1, &a);
        if (rc != CW_EXIT_OK)
            return rc;
        if (a.help) {
            printf("usage: carewatch ledger %s\n\n%s", subs[i].synopsis, ledger_help);
            return CW_EXIT_OK;
        }
        return subs[i].run(&a);
    }
    fprintf(stderr, "carewatch ledger: unknown subcommand \"%s\"\n\n%s", argv[1], ledger_help);
    return CW_EXIT_USAGE;
}
