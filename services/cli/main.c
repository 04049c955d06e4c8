/* carewatch: the operator's command line. Each subcommand is one entry of
 * the table below; its arguments are handled in its own file. */
#include <stdio.h>
#include <string.h>

#include "avro_codec.h"
#include "cli/commands.h"

static const cw_command commands[] = {
    {"ledger", cmd_ledger, "verify the tamper-evident ledger and prove what it holds"},
    {"simulate", cmd_simulate, "generate a simulated district with injected fraud, feed it"},
    {"import", cmd_import, "replay a historical export (CSV) and report per provider"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: carewatch <command> [arguments]\n"
                 "       carewatch --help | --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`carewatch <command> --help` describes a command.\n"
                 "Exit codes: 0 ok, 1 a verification failed, 2 usage or I/O error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CW_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CW_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("carewatch %s\n", CW_VERSION);
        return CW_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            int rc = commands[i].run(argc - 1, argv + 1);
            cw_avro_shutdown();
            return rc;
        }
    }
    fprintf(stderr, "carewatch: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return CW_EXIT_USAGE;
}
