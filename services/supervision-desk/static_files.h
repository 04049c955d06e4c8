/* The web console's files (console/), compiled into the binary by
 * cmake/embed_files.cmake: read-only, shared by every thread. */
#ifndef DESK_STATIC_FILES_H
#define DESK_STATIC_FILES_H

#include <stddef.h>

struct desk_static_file {
    const char *path;           /* "/index.html" */
    const unsigned char *bytes; /* followed by a 0 */
    size_t len;
};

extern const struct desk_static_file desk_console_files[];
extern const size_t desk_console_file_count;

/* The file served at url ("/" is /index.html), or NULL. */
const struct desk_static_file *desk_static_find(const char *url);
/* Its Content-Type, from the name's extension. */
const char *desk_static_type(const char *path);

#endif
