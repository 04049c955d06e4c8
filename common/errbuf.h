/* The error text every fallible call of carewatch hands back: a caller's
 * buffer (err, errlen) filled with a printf-style message. */
#ifndef CW_ERRBUF_H
#define CW_ERRBUF_H

#include <stddef.h>

/* Writes the message into err, cut to errlen; nothing when err is NULL or
 * errlen 0. */
void cw_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
