/* The subcommands of the `carewatch` operator command line. Each takes the
 * arguments after its own name (argv[0] is the subcommand's name) and
 * returns the process exit code: 0 success, 1 a check failed, 2 a usage
 * or I/O error. */
#ifndef CW_CLI_COMMANDS_H
#define CW_CLI_COMMANDS_H

#define CW_EXIT_OK 0
#define CW_EXIT_FAILED 1
#define CW_EXIT_USAGE 2

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* one line for `carewatch --help` */
} cw_command;

int cmd_ledger(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_import(int argc, char **argv);

#endif
