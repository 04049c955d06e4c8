/* Graceful shutdown on SIGTERM and SIGINT.
 *
 *   if (cw_shutdown_install())
 *       ... fatal ...
 *   while (!cw_shutdown_requested()) {
 *       ... poll with a short timeout, or include cw_shutdown_fd() ...
 *   }
 *   ... commit offsets, flush the producer, free ...
 *
 * The handlers only set a flag and write one byte to a pipe, so they are
 * async-signal-safe; the process stops at its own pace. SIGPIPE is ignored
 * (a peer closing a socket must be an error return, not a dead process).
 * Handlers are installed with SA_RESTART, so blocking calls are not cut
 * short: a loop that blocks watches cw_shutdown_fd() or uses a timeout. */
#ifndef CW_SHUTDOWN_H
#define CW_SHUTDOWN_H

/* Installs the handlers and creates the pipe. Idempotent. Returns 0, or -1
 * with errno set. */
int cw_shutdown_install(void);

/* True once SIGTERM or SIGINT arrived or cw_shutdown_request was called. */
int cw_shutdown_requested(void);

/* The signal that asked for shutdown, or 0 (none yet, or a request from
 * the program itself). */
int cw_shutdown_signal(void);

/* Asks for shutdown from the program (a fatal error in one thread, tests). */
void cw_shutdown_request(void);

/* A descriptor that becomes readable, and stays readable, once shutdown is
 * requested: add it to a poll() set to wake at once. -1 before install. */
int cw_shutdown_fd(void);

/* Sleeps up to ms milliseconds, returning early when shutdown is requested
 * (for retry back-off). Returns cw_shutdown_requested(). */
int cw_shutdown_sleep_ms(int ms);

#endif
