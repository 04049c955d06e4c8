/* `carewatch simulate` and `carewatch import`: the district simulator and
 * the historical import are client tools of ingest's HTTP API written in
 * Python (tools/carewatch_py/); these commands run them with the
 * repository's virtualenv, so they work from a checkout (deploy/local
 * installs the virtualenv), not from the service image.
 *
 * The tools directory is $CAREWATCH_TOOLS_DIR, else the checkout's tools/
 * found from this binary's path (<build dir>/services/cli/carewatch); the
 * interpreter $CAREWATCH_PYTHON, else the checkout's .venv/bin/python,
 * else python3. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

/* The checkout's root from /proc/self/exe (<root>/<build>/services/cli/
 * carewatch) into root. 0 or -1. */
static int checkout_root(char *root, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL)
            return -1;
        *slash = '\0';
    }
    return snprintf(root, len, "%s", exe) < (int)len ? 0 : -1;
}

static int run_python_tool(const char *module, const char *what, int argc, char **argv)
{
    char root[PATH_MAX] = "", tools[PATH_MAX + 16], probe[PATH_MAX + 96], python[PATH_MAX + 64];
    const char *env_tools = getenv("CAREWATCH_TOOLS_DIR");
    if (env_tools != NULL && env_tools[0] != '\0') {
        snprintf(tools, sizeof(tools), "%s", env_tools);
    } else if (checkout_root(root, sizeof(root)) == 0) {
        snprintf(tools, sizeof(tools), "%s/tools", root);
    } else {
        fprintf(stderr, "carewatch %s: cannot find the tools directory; set CAREWATCH_TOOLS_DIR\n",
                what);
        return CW_EXIT_USAGE;
    }
    snprintf(probe, sizeof(probe), "%s/carewatch_py/%s.py", tools, strrchr(module, '.') + 1);
    if (access(probe, R_OK) != 0) {
        fprintf(stderr,
                "carewatch %s: %s not found: it runs from a checkout of carewatch "
                "(set CAREWATCH_TOOLS_DIR to its tools/ directory)\n",
                what, probe);
        return CW_EXIT_USAGE;
    }
    const char *env_python = getenv("CAREWATCH_PYTHON");
    snprintf(python, sizeof(python), "python3");
    if (env_python != NULL && env_python[0] != '\0') {
        snprintf(python, sizeof(python), "%s", env_python);
    } else if (root[0] != '\0') {
        char venv[PATH_MAX + 32];
        snprintf(venv, sizeof(venv), "%s/.venv/bin/python", root);
        if (access(venv, X_OK) == 0)
            snprintf(python, sizeof(python), "%s", venv);
    }

    const char *old = getenv("PYTHONPATH");
    char path[2 * PATH_MAX + 40];
    if (old != NULL && old[0] != '\0')
        snprintf(path, sizeof(path), "%s:%s", tools, old);
    else
        snprintf(path, sizeof(path), "%s", tools);
    if (setenv("PYTHONPATH", path, 1) != 0) {
        perror("carewatch: setenv");
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
