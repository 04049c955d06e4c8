/* The admin listener: /livez (alias /healthz), /readyz and /metrics.
 *
 *   static int ready(void *ud, char *reason, size_t len)
 *   {
 *       if (!kafka_connected(ud)) {
 *           snprintf(reason, len, "kafka unreachable");
 *           return 1;
 *       }
 *       return 0;
 *   }
 *
 *   if (cw_admin_start("127.0.0.1", 9100, ready, ctx, err, sizeof(err)))
 *       ... err says why ...
 *   while (!cw_shutdown_requested()) {
 *       cw_admin_heartbeat();
 *       ... one turn of the main loop ...
 *   }
 *   cw_admin_stop();
 *
 * GET /livez, /healthz: 200 {"status":"ok"} while the main loop has called
 *   cw_admin_heartbeat within the stall timeout (60 s by default), else
 *   503 {"status":"stalled","reason":"..."}. The timeout is counted from the
 *   first heartbeat, start or probe, whichever came first.
 * GET /readyz: asks the readiness callback (from the server's thread, so it
 *   must be thread-safe and quick): 200 {"status":"ready"}, or
 *   503 {"status":"not ready","reason":"..."}. No callback means ready.
 * GET /metrics: 200, cw_metrics_render's text.
 * HEAD is answered like GET without the body. Another path is 404, another
 * method on these paths 405, both as {"error","message","field"} JSON. */
#ifndef CW_ADMIN_HTTP_H
#define CW_ADMIN_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0 when ready; otherwise non-zero with a short reason written to
 * reason (reason_len bytes, NUL-terminated). */
typedef int (*cw_readiness_fn)(void *user_data, char *reason, size_t reason_len);

#define CW_ADMIN_DEFAULT_STALL_TIMEOUT_MS 60000

/* Listens on bind_addr (an IPv4 or IPv6 literal; NULL means 127.0.0.1) and
 * port (0 picks a free one), served by one internal thread. readiness may be
 * NULL. Returns 0, or -1 with a message in err. Call start and stop from one
 * thread; one listener per process. */
int cw_admin_start(const char *bind_addr, int port, cw_readiness_fn readiness, void *user_data,
                   char *err, size_t errlen);

/* Closes the listener and waits for its thread. Safe when not started. */
void cw_admin_stop(void);

/* The bound port, or -1 when not started. */
int cw_admin_port(void);

/* Marks the main loop alive. Cheap (one atomic store); call every turn. */
void cw_admin_heartbeat(void);

/* Liveness fails once the last heartbeat is older than ms; ms <= 0 turns
 * the check off. */
void cw_admin_set_stall_timeout_ms(int64_t ms);

/* Replaces the readiness callback (also usable without cw_admin_start, for
 * a service answering the probes on its own port). */
void cw_admin_set_readiness(cw_readiness_fn readiness, void *user_data);

/* True for /livez, /healthz, /readyz and /metrics. */
int cw_admin_is_probe_path(const char *url);

/* Answers GET url as the admin listener would, for a service that serves
 * the probes on its own HTTP port: sets *status, *body (malloc'd, the caller
 * frees it) and *content_type (static). An unknown url gives 404. *body is
 * NULL only when out of memory. */
void cw_admin_probe(const char *url, int *status, char **body, const char **content_type);

#endif
