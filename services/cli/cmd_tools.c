/* `carewatch simulate` and `carewatch import`: the district simulator and
 * the historical import are client tools of ingest's HTTP API written in
 * Python, in the package carewatch_py (tools/pyproject.toml); these
 * commands run `<python> -m carewatch_py.simulate|importer <arguments>`.
 *
 * The interpreter is the first of: $CAREWATCH_PYTHON; $CAREWATCH_VENV/bin/python
 * (the virtualenv deploy/local/env.sh names); the .venv/bin/python of the
 * checkout this binary was built from (deploy/local/install-deps installs
 * carewatch_py there, editable); python3. It must have carewatch_py
 * installed: the commands check that first and say how to install it. The
 * service image holds no Python. */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"

extern char **environ;

/* The checkout this file was compiled from: CMake hands the compiler
 * absolute source paths, so __FILE__ is <checkout>/services/cli/cmd_tools.c.
 * 0 with the checkout in root, -1 when __FILE__ is not such a path. */
static int source_checkout(char *root, size_t len)
{
    const char *file = __FILE__;
    if (file[0] != '/')
        return -1;
    int n = snprintf(root, len, "%s", file);
    if (n < 0 || (size_t)n >= len)
        return -1;
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(root, '/');
        if (slash == NULL || slash == root)
            return -1;
        *slash = '\0';
    }
    return 0;
}

/* path into out when it is an executable file; 0, or -1 (not one, or too long). */
static int executable(const char *path, char *out, size_t len)
{
    int n = snprintf(out, len, "%s", path);
    return n >= 0 && (size_t)n < len && access(out, X_OK) == 0 ? 0 : -1;
}

/* The interpreter to run (see the top of this file) into python. */
static void find_python(char *python, size_t len)
{
    char path[PATH_MAX + 32], root[PATH_MAX];
    const char *env_python = getenv("CAREWATCH_PYTHON");
    const char *venv = getenv("CAREWATCH_VENV");
    if (env_python != NULL && env_python[0] != '\0') {
        int n = snprintf(python, len, "%s", env_python);
        if (n >= 0 && (size_t)n < len)
            return;
    }
    if (venv != NULL && venv[0] != '\0') {
        int n = snprintf(path, sizeof(path), "%s/bin/python", venv);
        if (n >= 0 && (size_t)n < sizeof(path) && executable(path, python, len) == 0)
            return;
    }
    if (source_checkout(root, sizeof(root)) == 0) {
        int n = snprintf(path, sizeof(path), "%s/.venv/bin/python", root);
        if (n >= 0 && (size_t)n < sizeof(path) && executable(path, python, len) == 0)
            return;
    }
    snprintf(python, len, "python3");
}

/* Runs python -c <probe> and waits: 0 carewatch_py imports, 1 it does not,
 * -1 the interpreter could not be run (the reason in *why). */
static int probe_package(const char *python, int *why)
{
    static const char probe[] =
        "import importlib.util, sys\n"
        "sys.exit(0 if importlib.util.find_spec('carewatch_py') else 3)\n";
    char *const args[] = {(char *)python, "-c", (char *)probe, NULL};
    pid_t pid;
    /* glibc's posix_spawnp reports a failed exec (no such file) itself. */
    int rc = posix_spawnp(&pid, python, NULL, NULL, args, environ);
    if (rc != 0) {
        *why = rc;
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            *why = errno;
            return -1;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        *why = ENOENT;
        return -1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static int run_python_tool(const char *module, const char *what, int argc, char **argv)
{
    char python[PATH_MAX + 32], root[PATH_MAX];
    find_python(python, sizeof(python));

    int why = 0;
    int found = probe_package(python, &why);
    if (found < 0) {
        fprintf(stderr,
                "carewatch %s: cannot run %s: %s (set CAREWATCH_PYTHON to a Python 3 "
                "with carewatch_py installed)\n",
                what, python, strerror(why));
        return CW_EXIT_USAGE;
    }
    if (found > 0) {
        const char *tools = source_checkout(root, sizeof(root)) == 0 ? root : "<checkout>";
        fprintf(stderr,
                "carewatch %s: %s has no carewatch_py (the Python package in tools/); "
                "install it with `%s -m pip install -e %s/tools` (deploy/local/install-deps "
                "does that for the checkout's .venv), or set CAREWATCH_PYTHON to a Python "
                "that has it\n",
                what, python, python, tools);
        return CW_EXIT_USAGE;
    }

    /* python -m <module> <the command's arguments> */
    char **args = calloc((size_t)argc + 3, sizeof(*args));
    if (args == NULL) {
        perror("carewatch");
        return CW_EXIT_USAGE;
    }
    args[0] = python;
    args[1] = "-m";
    args[2] = (char *)module;
    for (int i = 1; i < argc; i++)
        args[i + 2] = argv[i];
    execvp(python, args);
    fprintf(stderr, "carewatch %s: cannot run %s: %s\n", what, python, strerror(errno));
    free(args);
    return CW_EXIT_USAGE;
}

int cmd_simulate(int argc, char **argv)
{
    return run_python_tool("carewatch_py.simulate", "simulate", argc, argv);
}

int cmd_import(int argc, char **argv)
{
    return run_python_tool("carewatch_py.importer", "import", argc, argv);
}
