/* Scratch files for the targets whose code under test reads files only
 * (the YAML config loader, the ledger reader).
 *
 * Each fuzzer process makes one directory under $TMPDIR (or /tmp) on first
 * use and removes it, with the files written into it, at exit. Paths
 * returned are owned here; nothing is for the caller to free. */
#ifndef CW_FUZZ_FILES_H
#define CW_FUZZ_FILES_H

#include <stddef.h>

/* The process's scratch directory; aborts when it cannot be made. */
const char *fuzz_scratch_dir(void);

/* Replaces scratch file name (a plain file name) with data[0..len) and
 * returns its path (valid until the next call); aborts on I/O errors. */
const char *fuzz_write_file(const char *name, const void *data, size_t len);

#endif
