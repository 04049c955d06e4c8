/* The one result vocabulary of carewatch's stream path: what a handler,
 * a store call or a Kafka transaction step tells its caller.
 *
 *   CW_OK      done; its results (if any) are in the outbox or written
 *   CW_REJECT  the input itself is bad: dead-letter it with the reason; a
 *              retry would fail the same way
 *   CW_RETRY   a transient failure (Redis or Kafka away, a transaction
 *              aborted): nothing was changed that a retry would repeat
 *   CW_FATAL   this process cannot go on (a fenced producer): shut down
 *
 * Functions with only success and failure return 0 / -1 as the C library
 * does; cw_result is for those with these four outcomes (or a subset, which
 * their comment names). Only main() exits. */
#ifndef CW_RESULT_H
#define CW_RESULT_H

typedef enum { CW_OK = 0, CW_REJECT = 1, CW_RETRY = -1, CW_FATAL = -2 } cw_result;

const char *cw_result_name(cw_result r);

#endif
