/* Scratch directory of a fuzzer process (fuzz_files.h). Every name written
 * is remembered so that the exit handler can remove exactly those files. */
#include "fuzz_files.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NAMES 8

static char dir[4096];
static char path[4096 + 64];
static char names[MAX_NAMES][64];
static size_t name_count;

static void remove_scratch(void)
{
    for (size_t i = 0; i < name_count; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

const char *fuzz_scratch_dir(void)
{
    if (dir[0] != '\0')
        return dir;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/cw-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("fuzz_scratch_dir: mkdtemp");
        abort();
    }
    atexit(remove_scratch);
    return dir;
}

static void remember(const char *name)
{
    for (size_t i = 0; i < name_count; i++)
        if (strcmp(names[i], name) == 0)
            return;
    if (name_count == MAX_NAMES || strlen(name) >= sizeof(names[0]))
        abort();
    strcpy(names[name_count++], name);
}

const char *fuzz_write_file(const char *name, const void *data, size_t len)
{
    remember(name);
    snprintf(path, sizeof(path), "%s/%s", fuzz_scratch_dir(), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror("fuzz_write_file: open");
        abort();
    }
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) {
            perror("fuzz_write_file: write");
            abort();
        }
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    return path;
}
