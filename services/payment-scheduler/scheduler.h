/* The streaming payment scheduler (the scheme is described at the top of
 * main.c): restore from the topics, then consume and publish in Kafka
 * transactions until SIGTERM, with /livez, /readyz and /metrics on
 * admin.port. */
#ifndef PAY_SCHEDULER_H
#define PAY_SCHEDULER_H

#include "config.h"

/* Runs until shutdown is requested. Returns the process exit code: 0 clean
 * stop, 1 fenced by another instance or a runtime failure, 2 bad
 * configuration. */
int pay_serve(const cw_config *cfg);

#endif
