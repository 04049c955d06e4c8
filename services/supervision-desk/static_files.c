#include "supervision-desk/static_files.h"

#include <string.h>

const struct desk_static_file *desk_static_find(const char *url)
{
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    for (size_t i = 0; i < desk_console_file_count; i++)
        if (strcmp(desk_console_files[i].path, url) == 0)
            return &desk_console_files[i];
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *desk_static_type(const char *path)
{
    if (ends_with(path, ".html"))
        return "text/html; charset=utf-8";
    if (ends_with(path, ".js"))
        return "text/javascript; charset=utf-8";
    if (ends_with(path, ".css"))
        return "text/css; charset=utf-8";
    if (ends_with(path, ".svg"))
        return "image/svg+xml";
    if (ends_with(path, ".png"))
        return "image/png";
    return "application/octet-stream";
}
